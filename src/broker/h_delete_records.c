/*
 * DeleteRecords: moves each partition's log start offset up to the requested offset (-1: the
 * high watermark), as Kafka's ReplicaManager.deleteRecords. Per partition, in Kafka's order:
 * internal topic -> INVALID_TOPIC_EXCEPTION, unknown -> UNKNOWN_TOPIC_OR_PARTITION, offline ->
 * KAFKA_STORAGE_ERROR, cleanup.policy without delete -> POLICY_VIOLATION, offset below -1 or
 * above the high watermark -> OFFSET_OUT_OF_RANGE; low_watermark is the new log start (-1 on
 * error). One broker is every replica, so Kafka's purgatory wait (for followers to reach the
 * new start, up to timeout_ms) is never needed and the answer comes at once -- but only after
 * the log dir's log-start-offset-checkpoint is on disk, written on the flusher thread so the
 * loop never blocks on fsync.
 */
#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/leader.h"
#include "broker/topics.h"
#include "core/err.h"
#include "core/log.h"
#include "net/loop.h"
#include "proto/gen/rn_msg.h"
#include "storage/flusher.h"
#include "storage/logdir.h"
#include "storage/partition.h"

struct del {
	struct rn_ctx *ctx;
	struct rn_delete_records_response resp;
	struct rn_topic *held; /* keeps the flushed partition open until the callback ran */
	int err;
};

static void respond(struct del *d)
{
	struct rn_ctx *ctx = d->ctx;
	if (d->held)
		rn_topic_put(ctx->b, d->held);
	rn_respond_begin(ctx);
	rn_delete_records_response_encode(&ctx->req->out, ctx->hdr.api_version, &d->resp);
	rn_respond_end(ctx);
}

/* The checkpoint failed: the new starts may not survive a crash, so none is acknowledged. */
static void fail_all(struct del *d)
{
	for (int32_t i = 0; i < d->resp.topics_count; i++) {
		struct rn_delete_records_response_delete_records_topic_result *tr =
		    &d->resp.topics[i];
		for (int32_t j = 0; j < tr->partitions_count; j++) {
			if (tr->partitions[j].error_code == RN_KERR_NONE) {
				tr->partitions[j].error_code = RN_KERR_KAFKA_STORAGE_ERROR;
				tr->partitions[j].low_watermark = -1;
			}
		}
	}
}

static void checkpointed_on_loop(void *arg)
{
	struct del *d = arg;
	if (d->err)
		fail_all(d);
	respond(d);
}

/* On the flusher thread. */
static void write_checkpoint(void *arg, int err)
{
	struct del *d = arg;
	(void)err; /* the partition's own data need not be flushed for this */
	d->err = rn_logdir_checkpoint(d->ctx->b->logdir);
	rn_loop_post(d->ctx->req->loop, checkpointed_on_loop, d);
}

static bool internal_topic(struct rn_str name)
{
	return rn_str_eq(name, "__consumer_offsets") || rn_str_eq(name, "__transaction_state");
}

/* Returns the partition whose start moved (for the flusher), else NULL. */
static struct rn_partition *
one(struct rn_topic *t, struct rn_str name,
    const struct rn_delete_records_request_delete_records_partition *rp,
    struct rn_delete_records_response_delete_records_partition_result *pr)
{
	pr->partition_index = rp->partition_index;
	pr->low_watermark = -1;
	if (internal_topic(name)) {
		pr->error_code = RN_KERR_INVALID_TOPIC_EXCEPTION;
		return NULL;
	}
	struct rn_partition *p;
	pr->error_code = rn_leader_partition(t, rp->partition_index, &p);
	if (pr->error_code)
		return NULL;
	if (!t->logcfg.cleanup_delete) {
		pr->error_code = RN_KERR_POLICY_VIOLATION;
		return NULL;
	}
	int rc = rn_partition_delete_records(p, rp->offset, &pr->low_watermark);
	pr->error_code = (int16_t)rn_kerr_from(rc);
	return rc == 0 ? p : NULL;
}

void rn_h_delete_records(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_delete_records_request rq;
	if (rn_delete_records_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed DeleteRecords request");
		return;
	}
	struct rn_arena *a = &ctx->req->arena;
	struct del *d = rn_arena_alloc(a, sizeof(*d));
	*d = (struct del){.ctx = ctx};
	struct rn_partition *flush = NULL;
	int32_t nt = rq.topics_count > 0 ? rq.topics_count : 0;
	d->resp.topics_count = nt;
	d->resp.topics = rn_arena_alloc(a, (size_t)(nt + 1) * sizeof(*d->resp.topics));
	for (int32_t i = 0; i < nt; i++) {
		struct rn_delete_records_request_delete_records_topic *rt = &rq.topics[i];
		struct rn_delete_records_response_delete_records_topic_result *tr =
		    &d->resp.topics[i];
		tr->name = rt->name;
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
		tr->partitions_count = np;
		tr->partitions = rn_arena_alloc(a, (size_t)(np + 1) * sizeof(*tr->partitions));
		if (!rn_allowed_view(ctx, RN_OP_DELETE, RN_RES_TOPIC, rt->name.ptr, rt->name.len)) {
			for (int32_t j = 0; j < np; j++)
				tr->partitions[j] =
				    (struct
				     rn_delete_records_response_delete_records_partition_result){
					.partition_index = rt->partitions[j].partition_index,
					.low_watermark = -1,
					.error_code = RN_KERR_TOPIC_AUTHORIZATION_FAILED};
			continue;
		}
		struct rn_topic *t = rt->name.len > 0
					 ? rn_topic_get(ctx->b, rt->name.ptr, (size_t)rt->name.len)
					 : NULL;
		bool moved = false;
		for (int32_t j = 0; j < np; j++) {
			struct rn_partition *p =
			    one(t, rt->name, &rt->partitions[j], &tr->partitions[j]);
			if (p && !flush) {
				flush = p;
				d->held = t; /* this reference of the topic moves to d */
				moved = true;
			}
		}
		if (t && !moved)
			rn_topic_put(ctx->b, t);
	}
	if (!flush) {
		respond(d);
		return;
	}
	rn_flusher_submit(ctx->b->flusher, flush, write_checkpoint, d);
}
