/*
 * DescribeLogDirs, as Kafka's ReplicaManager.describeLogDirs: one result for the log
 * directory (its absolute path), listing each requested partition that has a log there
 * (topics null = every partition, internal topics included) with its size on disk. One broker
 * has no future logs (AlterReplicaLogDirs) and no followers, so is_future_key is false and
 * offset_lag 0. v4 adds the volume's total and usable bytes (statvfs: f_blocks and f_bavail).
 * A topic with no listed partition is left out; unknown topics are simply absent, as in Kafka.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/topics.h"
#include "broker/tp.h"
#include "proto/gen/rn_msg.h"
#include "storage/partition.h"

/* The requested (topic, partition) pairs, sorted, so a request naming many of them costs
 * n log n rather than a scan per partition of the table. */
struct collect {
	struct rn_ctx *ctx;
	bool all;         /* topics null */
	struct rn_tp *tp; /* sorted */
	size_t ntp;
	struct rn_describe_log_dirs_response_describe_log_dirs_topic *topics;
	int32_t n, cap;
};

static void index_request(struct collect *c, const struct rn_describe_log_dirs_request *rq)
{
	c->all = rq->topics_count < 0;
	size_t n = 0;
	for (int32_t i = 0; i < rq->topics_count; i++)
		n += (size_t)(rq->topics[i].partitions_count > 0 ? rq->topics[i].partitions_count
								 : 0);
	c->tp = rn_arena_alloc(&c->ctx->req->arena, (n + 1) * sizeof(*c->tp));
	for (int32_t i = 0; i < rq->topics_count; i++)
		for (int32_t j = 0; j < rq->topics[i].partitions_count; j++)
			c->tp[c->ntp++] =
			    (struct rn_tp){rq->topics[i].topic, rq->topics[i].partitions[j]};
	qsort(c->tp, c->ntp, sizeof(*c->tp), rn_tp_cmp);
}

static bool wanted(const struct collect *c, const char *name, int32_t idx)
{
	if (c->all)
		return true;
	struct rn_tp key = {rn_str_c(name), idx};
	return c->ntp && bsearch(&key, c->tp, c->ntp, sizeof(*c->tp), rn_tp_cmp);
}

/* Under the topic table's read lock: copies what it needs into the request arena. */
static void add_topic(struct rn_topic *t, void *arg)
{
	struct collect *c = arg;
	struct rn_arena *a = &c->ctx->req->arena;
	struct rn_describe_log_dirs_response_describe_log_dirs_partition *parts = NULL;
	int32_t np = 0;
	for (int32_t i = 0; i < t->npart; i++) {
		struct rn_partition *p = t->parts[i].log;
		if (!p || !wanted(c, t->name, i))
			continue;
		if (!parts)
			parts = rn_arena_alloc(a, (size_t)t->npart * sizeof(*parts));
		parts[np++] = (struct rn_describe_log_dirs_response_describe_log_dirs_partition){
		    .partition_index = i,
		    .partition_size = (int64_t)rn_partition_size_bytes(p),
		    .offset_lag = 0,
		    .is_future_key = false};
	}
	if (!np)
		return;
	if (c->n == c->cap) {
		int32_t cap = c->cap ? c->cap * 2 : 16;
		void *nt = rn_arena_alloc(a, (size_t)cap * sizeof(*c->topics));
		if (c->n)
			memcpy(nt, c->topics, (size_t)c->n * sizeof(*c->topics));
		c->topics = nt;
		c->cap = cap;
	}
	c->topics[c->n++] = (struct rn_describe_log_dirs_response_describe_log_dirs_topic){
	    .name = rn_ctx_str(c->ctx, t->name), .partitions = parts, .partitions_count = np};
}

void rn_h_describe_log_dirs(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_describe_log_dirs_request rq;
	if (rn_describe_log_dirs_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed DescribeLogDirs request");
		return;
	}
	if (!rn_allowed_cluster(ctx, RN_OP_DESCRIBE)) {
		/* Kafka: no results, and (v3+) CLUSTER_AUTHORIZATION_FAILED. */
		struct rn_describe_log_dirs_response denied = {
		    .error_code = RN_KERR_CLUSTER_AUTHORIZATION_FAILED};
		rn_respond_begin(ctx);
		rn_describe_log_dirs_response_encode(&ctx->req->out, ver, &denied);
		rn_respond_end(ctx);
		return;
	}
	struct collect c = {.ctx = ctx};
	index_request(&c, &rq);
	rn_topics_foreach(ctx->b, add_topic, &c);
	struct rn_describe_log_dirs_response_describe_log_dirs_result *r =
	    rn_arena_alloc(&ctx->req->arena, sizeof(*r));
	char abs[PATH_MAX];
	const char *dir = realpath(ctx->b->log_dir, abs) ? abs : ctx->b->log_dir;
	*r = (struct rn_describe_log_dirs_response_describe_log_dirs_result){
	    .log_dir = rn_ctx_str(ctx, dir),
	    .topics = c.topics,
	    .topics_count = c.n,
	    .total_bytes = -1,
	    .usable_bytes = -1};
	struct statvfs sv;
	if (statvfs(dir, &sv) == 0) {
		r->total_bytes = (int64_t)((uint64_t)sv.f_blocks * sv.f_frsize);
		r->usable_bytes = (int64_t)((uint64_t)sv.f_bavail * sv.f_frsize);
	} else {
		r->error_code = RN_KERR_KAFKA_STORAGE_ERROR;
		r->topics_count = 0;
	}
	struct rn_describe_log_dirs_response resp = {.results = r, .results_count = 1};
	rn_respond_begin(ctx);
	rn_describe_log_dirs_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
