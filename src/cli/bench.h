/*
 * `runnel bench`: the load generator of bench/run.sh, shaped like rdkafka_performance and
 * kafka-{producer,consumer}-perf-test. Private to src/cli.
 */
#ifndef RN_CLI_BENCH_H
#define RN_CLI_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/common.h"

struct rn_bench_args {
	struct rn_cli_common common;
	const char *mode; /* "produce" or "consume" */
	const char *topic;
	long long size;            /* produce: value bytes */
	long long count;           /* records to produce / consume */
	const char *acks;          /* produce */
	bool acks_set;             /* -a given: idempotence must not silently override it */
	long long rate;            /* produce: records/s, 0 = as fast as possible */
	int partitions;            /* produce: create the topic with this many (-1: don't) */
	int partition;             /* produce/consume: fixed partition, -1: all / partitioner */
	long long linger_ms;       /* -1: librdkafka default */
	long long batch_size;      /* -1: librdkafka default */
	int interval_ms;           /* progress line period */
	bool idempotence;          /* produce: enable.idempotence=true */
	const char *txn_id;        /* produce: transactional.id, NULL: not transactional */
	long long txn_interval_ms; /* produce: commit a transaction every this many ms */
	bool json;
};

/* Each returns the exit code: 0, or 1 if records failed or the run could not complete. */
int rn__bench_produce(struct rn_bench_args *a);
int rn__bench_consume(struct rn_bench_args *a);

/* CPU time (user + system) this process used so far, in seconds: shows when the client, not the
 * broker, is the bottleneck. */
double rn__bench_cpu_s(void);

/* Megabytes are 10^6 bytes throughout, as in docs/performance.md (Kafka's tools use 2^20). */
#define RN_BENCH_MB 1e6

#endif
