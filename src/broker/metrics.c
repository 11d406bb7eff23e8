#include "broker/metrics.h"

#include <stdio.h>

#include "broker/broker.h"
#include "broker/topics.h"
#include "core/clock.h"
#include "proto/api.h"
#include "storage/flusher.h"
#include "storage/partition.h"

static unsigned long long ld(_Atomic uint64_t *v)
{
	return (unsigned long long)atomic_load_explicit(v, memory_order_relaxed);
}

static void topic_counters(struct rn_topic *t, void *arg)
{
	struct rn_buf *out = arg;
	struct rn_topic_stats *s = &t->stats;
	rn_buf_printf(out, "kafka_server_brokertopicmetrics_messagesin_total{topic=\"%s\"} %llu\n",
		      t->name, ld(&s->records_in));
	rn_buf_printf(out, "kafka_server_brokertopicmetrics_bytesin_total{topic=\"%s\"} %llu\n",
		      t->name, ld(&s->bytes_in));
	rn_buf_printf(out, "kafka_server_brokertopicmetrics_bytesout_total{topic=\"%s\"} %llu\n",
		      t->name, ld(&s->bytes_out));
	rn_buf_printf(out, "runnel_topic_messages_out_total{topic=\"%s\"} %llu\n", t->name,
		      ld(&s->records_out));
	rn_buf_printf(out,
		      "kafka_server_brokertopicmetrics_totalproducerequests_total{topic=\"%s\"} "
		      "%llu\n",
		      t->name, ld(&s->produce_requests));
	rn_buf_printf(out,
		      "kafka_server_brokertopicmetrics_totalfetchrequests_total{topic=\"%s\"} "
		      "%llu\n",
		      t->name, ld(&s->fetch_requests));
	rn_buf_printf(
	    out,
	    "kafka_server_brokertopicmetrics_producemessageconversions_total{topic=\"%s\"} "
	    "%llu\n",
	    t->name, ld(&s->produce_conversions));
	rn_buf_printf(out,
		      "kafka_server_brokertopicmetrics_fetchmessageconversions_total{topic=\"%s\"} "
		      "%llu\n",
		      t->name, ld(&s->fetch_conversions));
}

static void partition_gauges(struct rn_topic *t, void *arg)
{
	struct rn_buf *out = arg;
	for (int32_t i = 0; i < t->npart; i++) {
		struct rn_partition *p = t->parts[i].log;
		if (!p)
			continue;
		const char *n = t->name;
		rn_buf_printf(out, "kafka_log_log_size{topic=\"%s\",partition=\"%d\"} %llu\n", n, i,
			      (unsigned long long)rn_partition_size_bytes(p));
		rn_buf_printf(out,
			      "kafka_log_log_logendoffset{topic=\"%s\",partition=\"%d\"} %lld\n", n,
			      i, (long long)rn_partition_log_end(p));
		rn_buf_printf(out,
			      "kafka_log_log_logstartoffset{topic=\"%s\",partition=\"%d\"} %lld\n",
			      n, i, (long long)rn_partition_log_start(p));
		rn_buf_printf(out,
			      "runnel_log_high_watermark{topic=\"%s\",partition=\"%d\"} %lld\n", n,
			      i, (long long)rn_partition_high_watermark(p));
		rn_buf_printf(out,
			      "runnel_log_unflushed_bytes{topic=\"%s\",partition=\"%d\"} %llu\n", n,
			      i, (unsigned long long)rn_partition_unflushed_bytes(p));
	}
}

static void count_parts(struct rn_topic *t, void *arg)
{
	*(long long *)arg += t->npart;
}

/* A cluster's topic table lists every topic; this broker holds the partitions with a log. */
static void count_local_parts(struct rn_topic *t, void *arg)
{
	for (int32_t i = 0; i < t->npart; i++)
		*(long long *)arg += t->parts[i].log != NULL;
}

static void collect(struct rn_buf *out, void *arg)
{
	struct rn_broker *b = arg;
	long long nparts = 0;
	rn_topics_foreach(b, b->clustered ? count_local_parts : count_parts, &nparts);
	rn_buf_printf(out,
		      "# HELP kafka_server_replicamanager_partitioncount Partitions on this "
		      "broker.\n# TYPE kafka_server_replicamanager_partitioncount gauge\n"
		      "kafka_server_replicamanager_partitioncount %lld\n",
		      nparts);
	rn__metrics_replication(out, b, nparts);
	rn_buf_printf(out, "# TYPE runnel_topics gauge\nrunnel_topics %u\n", b->ntopics);
	rn_buf_printf(out, "# TYPE runnel_uptime_seconds gauge\nrunnel_uptime_seconds %.3f\n",
		      (double)(rn_wall_ms() - b->started_ms) / 1000.0);

	rn_buf_printf(out, "# HELP kafka_server_brokertopicmetrics_messagesin_total Records "
			   "appended per topic.\n"
			   "# TYPE kafka_server_brokertopicmetrics_messagesin_total counter\n");
	rn_topics_foreach(b, topic_counters, out);
	rn_buf_printf(out, "# HELP kafka_log_log_size Bytes on disk per partition.\n"
			   "# TYPE kafka_log_log_size gauge\n");
	rn_topics_foreach(b, partition_gauges, out);

	rn_buf_printf(out, "# HELP kafka_network_requestmetrics_requests_total Requests per API.\n"
			   "# TYPE kafka_network_requestmetrics_requests_total counter\n");
	for (int k = 0; k < RN_API_KEYS; k++) {
		uint64_t n = ld(&b->api[k].requests);
		const struct rn_api_info *ai = rn_api_info((int16_t)k);
		if (n && ai)
			rn_buf_printf(out,
				      "kafka_network_requestmetrics_requests_total{request=\"%s\"} "
				      "%llu\n",
				      ai->name, (unsigned long long)n);
	}
	rn_buf_printf(out, "# HELP runnel_request_latency_seconds Time from a complete request "
			   "to its response being queued.\n"
			   "# TYPE runnel_request_latency_seconds histogram\n");
	for (int k = 0; k < RN_API_KEYS; k++) {
		const struct rn_api_info *ai = rn_api_info((int16_t)k);
		if (!ai || !ld(&b->api[k].latency.count))
			continue;
		char labels[96];
		snprintf(labels, sizeof(labels), "request=\"%s\"", ai->name);
		rn_hist_render(out, "runnel_request_latency_seconds", labels, &b->api[k].latency);
	}
	rn_buf_printf(out,
		      "# TYPE runnel_unknown_api_requests_total counter\n"
		      "runnel_unknown_api_requests_total %llu\n",
		      ld(&b->unknown_api_requests));
	if (b->flusher) {
		rn_buf_printf(out, "# HELP runnel_fsync_latency_seconds fdatasync latency of the "
				   "group-commit flusher.\n"
				   "# TYPE runnel_fsync_latency_seconds histogram\n");
		rn_hist_render(out, "runnel_fsync_latency_seconds", "",
			       rn_flusher_fsync_hist(b->flusher));
	}
}

void rn_broker_metrics_register(struct rn_broker *b)
{
	rn_metrics_register(collect, b);
}

void rn_broker_metrics_unregister(struct rn_broker *b)
{
	rn_metrics_unregister(collect, b);
}
