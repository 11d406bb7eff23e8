/*
 * `runnel bench consume`: reads COUNT records from the start of the topic (all partitions, or
 * -p) without a consumer group, in batches, and prints kafka-consumer-perf-test's CSV line.
 * Payloads are only counted, never copied or inspected, so the client stays as cheap as it can.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "core/clock.h"
#include "cli/bench.h"

#define BATCH 4096

struct cons {
	struct rn_bench_args *a;
	rd_kafka_t *rk;
	long long records;
	long long bytes;
	int64_t start_us, first_us, last_us;
	int64_t start_wall_ms, end_wall_ms;
	char error[600];
};

/* "2026-11-26 13:49:36:123", the perf-test's date format. */
static void fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char tmp[32];

	localtime_r(&s, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, len, "%s:%03d", tmp, (int)(ms % 1000));
}

static void report(struct cons *c)
{
	struct rn_bench_args *a = c->a;
	double total_s = (double)(c->last_us - c->start_us) / 1e6;
	double fetch_s = (double)(c->last_us - c->first_us) / 1e6;
	double mb = (double)c->bytes / RN_BENCH_MB;
	char t0[40], t1[40];

	if (c->records == 0)
		total_s = fetch_s = 0;
	if (a->json) {
		printf("{\"mode\":\"consume\",\"topic\":\"%s\",\"records\":%lld,\"bytes\":%lld,"
		       "\"seconds\":%.6f,\"fetch_seconds\":%.6f,\"msgs_per_sec\":%.1f,"
		       "\"mb_per_sec\":%.3f,\"first_record_ms\":%.3f,\"client_cpu_s\":%.3f}\n",
		       a->topic, c->records, c->bytes, total_s, fetch_s,
		       fetch_s > 0 ? (double)c->records / fetch_s : 0,
		       fetch_s > 0 ? mb / fetch_s : 0, (double)(c->first_us - c->start_us) / 1000.0,
		       rn__bench_cpu_s());
		return;
	}
	fmt_time(c->start_wall_ms, t0, sizeof(t0));
	fmt_time(c->end_wall_ms, t1, sizeof(t1));
	printf("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, "
	       "nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n");
	printf("%s, %s, %.4f, %.4f, %lld, %.4f, %lld, %lld, %.4f, %.4f\n", t0, t1, mb,
	       total_s > 0 ? mb / total_s : 0, c->records,
	       total_s > 0 ? (double)c->records / total_s : 0,
	       (long long)((c->first_us - c->start_us) / 1000), (long long)(fetch_s * 1000),
	       fetch_s > 0 ? mb / fetch_s : 0, fetch_s > 0 ? (double)c->records / fetch_s : 0);
}

/* Returns the partitions to read, all starting at the beginning; NULL after an error line. */
static rd_kafka_topic_partition_list_t *partitions(struct cons *c)
{
	const struct rd_kafka_metadata *md;
	struct rn_bench_args *a = c->a;

	if (rn__cli_metadata(&a->common, c->rk, &md))
		return NULL;
	const struct rd_kafka_metadata_topic *t = rn__cli_find_topic(md, a->topic);
	rd_kafka_topic_partition_list_t *l = NULL;
	if (!t || t->err || t->partition_cnt == 0)
		rn__cli_err(&a->common, "topic '%s' does not exist", a->topic);
	else
		l = rd_kafka_topic_partition_list_new(t->partition_cnt);
	for (int i = 0; l && i < t->partition_cnt; i++)
		if (a->partition < 0 || a->partition == t->partitions[i].id)
			rd_kafka_topic_partition_list_add(l, a->topic, t->partitions[i].id);
	rd_kafka_metadata_destroy(md);
	if (l && l->cnt == 0) {
		rn__cli_err(&a->common, "topic '%s' has no partition %d", a->topic, a->partition);
		rd_kafka_topic_partition_list_destroy(l);
		l = NULL;
	}
	return l;
}

/* Consumes until the count, a signal, or timeout_ms without any record. */
static void consume(struct cons *c, rd_kafka_queue_t *q)
{
	rd_kafka_message_t *msgs[BATCH];
	int64_t idle_since = rn_mono_us();

	while (c->records < c->a->count && !rn__cli_stop) {
		ssize_t n = rd_kafka_consume_batch_queue(q, 100, msgs, BATCH);
		int64_t now = rn_mono_us();
		for (ssize_t i = 0; i < n; i++) {
			rd_kafka_message_t *m = msgs[i];
			if (!m->err) {
				if (c->records++ == 0)
					c->first_us = now;
				c->bytes += (long long)m->len;
			} else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && !c->error[0]) {
				snprintf(c->error, sizeof(c->error), "%s",
					 rd_kafka_message_errstr(m));
			}
			rd_kafka_message_destroy(m);
		}
		if (n > 0) {
			c->last_us = now;
			idle_since = now;
		} else if (now - idle_since > (int64_t)c->a->common.timeout_ms * 1000) {
			break;
		}
	}
}

int rn__bench_consume(struct rn_bench_args *a)
{
	struct cons c = {.a = a};
	int rc = 1;

	c.rk = rn__cli_client(&a->common, RD_KAFKA_CONSUMER, NULL, NULL, NULL, &rc);
	if (!c.rk)
		return rc;
	rd_kafka_topic_partition_list_t *l = partitions(&c);
	if (!l)
		goto out;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(c.rk, a->topic, NULL);
	rd_kafka_queue_t *q = rd_kafka_queue_new(c.rk);
	c.start_wall_ms = rn_wall_ms();
	c.start_us = c.first_us = c.last_us = rn_mono_us();
	for (int i = 0; i < l->cnt; i++)
		rd_kafka_consume_start_queue(rkt, l->elems[i].partition, RD_KAFKA_OFFSET_BEGINNING,
					     q);
	consume(&c, q);
	c.end_wall_ms = rn_wall_ms();
	for (int i = 0; i < l->cnt; i++)
		rd_kafka_consume_stop(rkt, l->elems[i].partition);
	report(&c);
	rc = 0;
	if (c.records < a->count) {
		rc = 1;
		rn__cli_err(&a->common, "only %lld of %lld records after %d ms idle%s%s", c.records,
			    a->count, a->common.timeout_ms, c.error[0] ? ": " : "", c.error);
	}
	rd_kafka_queue_destroy(q);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_topic_partition_list_destroy(l);
out:
	rd_kafka_destroy(c.rk);
	return rc;
}
