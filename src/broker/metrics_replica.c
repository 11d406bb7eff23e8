/*
 * Replication and controller metrics on /metrics, under the names Kafka's JMX exporter gives
 * its MBeans (kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions becomes
 * kafka_server_replicamanager_underreplicatedpartitions; a *PerSec meter becomes a _total
 * counter). A single broker shows them too, as a single Kafka broker does: it leads every
 * partition with a full ISR of one, is the active controller, fetches from nobody; only its
 * offline count can be non-zero (a partition whose log went offline has no leader).
 * In a cluster the numbers come from the replica manager (partitions this broker leads,
 * its ISR changes, its fetchers' lag) and from the store's partition states, which only the
 * active controller counts, as in Kafka, so a sum over brokers is the cluster's figure.
 */
#include <stdio.h>

#include "broker/broker.h"
#include "broker/coord_wait.h"
#include "broker/metrics.h"
#include "broker/topics.h"
#include "meta/cluster.h"
#include "replica/replica.h"
#include "storage/partition.h"

struct offline_count {
	struct rn_broker_reg live[64];
	int nlive; /* may exceed 64: then only partitions with leader -1 count */
	long long offline;
};

static bool is_live(const struct offline_count *oc, int32_t id)
{
	for (int i = 0; i < oc->nlive && i < 64; i++)
		if (oc->live[i].id == id)
			return true;
	return false;
}

/* Under the store's read lock: counts only, no store calls. */
static void count_offline(const char *topic, int32_t idx, const struct rn_pstate *st, void *arg)
{
	(void)topic, (void)idx;
	struct offline_count *oc = arg;
	if (st->leader < 0 || (oc->nlive <= 64 && !is_live(oc, st->leader)))
		oc->offline++;
}

/* Partitions with no live leader, over the whole cluster (the controller's view). */
static long long cluster_offline(struct rn_broker *b)
{
	struct offline_count oc = {.offline = 0};
	oc.nlive = rn_meta_brokers(b->meta, oc.live, 64);
	rn_meta_partitions_foreach(b->meta, count_offline, &oc);
	return oc.offline;
}

static void local_offline(struct rn_topic *t, void *arg)
{
	for (int32_t i = 0; i < t->npart; i++)
		if (!t->parts[i].log || rn_partition_offline(t->parts[i].log))
			(*(long long *)arg)++;
}

/* The topic's min.insync.replicas can change at run time (AlterConfigs): handing the current
 * value to each replica at scrape time keeps the under-min-ISR gauge right without a hook on
 * every config change. */
static void refresh_min_isr(struct rn_topic *t, void *arg)
{
	struct rn_broker *b = arg;
	int32_t min_isr = rn_coord_min_isr(b, t);
	for (int32_t i = 0; i < t->npart; i++)
		if (t->parts[i].rp)
			rn_replica_set_min_isr(t->parts[i].rp, min_isr);
}

static void gauge(struct rn_buf *out, const char *name, const char *help, long long v)
{
	rn_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help, name, name, v);
}

static void counter(struct rn_buf *out, const char *name, const char *help, long long v)
{
	rn_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %lld\n", name, help, name, name, v);
}

void rn__metrics_replication(struct rn_buf *out, struct rn_broker *b, long long nparts)
{
	struct rn_replica_stats s = {0};
	long long active = 1, offline = 0;
	if (b->clustered && b->replica) {
		rn_topics_foreach(b, refresh_min_isr, b);
		rn_replica_mgr_stats(b->replica, &s);
		active = rn_meta_controller(b->meta, NULL) == b->node_id;
		offline = active ? cluster_offline(b) : 0;
	} else {
		s.leaders = (int32_t)nparts;
		rn_topics_foreach(b, local_offline, &offline);
	}
	gauge(out, "kafka_server_replicamanager_leadercount", "Partitions this broker leads.",
	      s.leaders);
	gauge(out, "kafka_server_replicamanager_underreplicatedpartitions",
	      "Partitions led here whose ISR is smaller than their replicas.", s.under_replicated);
	gauge(out, "kafka_server_replicamanager_underminisrpartitioncount",
	      "Partitions led here whose ISR is below min.insync.replicas.", s.under_min_isr);
	counter(out, "kafka_server_replicamanager_isrshrinks_total",
		"Replicas this broker removed from an ISR it leads.", s.isr_shrinks);
	counter(out, "kafka_server_replicamanager_isrexpands_total",
		"Replicas this broker added back to an ISR it leads.", s.isr_expands);
	gauge(out, "kafka_controller_kafkacontroller_activecontrollercount",
	      "1 on the active controller, else 0.", active);
	gauge(out, "kafka_controller_kafkacontroller_offlinepartitionscount",
	      "Partitions without a live leader (reported by the active controller only).",
	      offline);
	rn_buf_printf(out,
		      "# HELP kafka_server_replicafetchermanager_maxlag Largest lag in records of "
		      "a partition this broker follows.\n"
		      "# TYPE kafka_server_replicafetchermanager_maxlag gauge\n"
		      "kafka_server_replicafetchermanager_maxlag{clientId=\"Replica\"} %lld\n",
		      (long long)s.max_fetcher_lag);
}
