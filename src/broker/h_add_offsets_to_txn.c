/*
 * AddOffsetsToTxn: the producer will commit offsets of this group in its transaction (the
 * TxnOffsetCommit that follows goes to the group coordinator, h_txn_offset_commit.c).
 */
#include <string.h>

#include "broker/groups.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/topics.h"
#include "broker/txns.h"
#include "group/records.h"
#include "core/clock.h"
#include "proto/gen/rn_msg.h"

struct answer {
	struct rn_add_offsets_to_txn_response resp;
};

static void respond(struct rn_ctx *ctx, void *arg, int16_t err)
{
	struct answer *a = arg;
	if (a->resp.error_code == RN_KERR_NONE)
		a->resp.error_code = err;
	rn_respond_begin(ctx);
	rn_add_offsets_to_txn_response_encode(&ctx->req->out, ctx->hdr.api_version, &a->resp);
	rn_respond_end(ctx);
}

/* A cluster: the group's __consumer_offsets partition joins the transaction, so its marker
 * completes the TxnOffsetCommit the group coordinator writes there (Kafka's
 * handleAddOffsetsToTransaction). */
static int16_t add_offsets_partition(struct rn_ctx *ctx, struct rn_txn *t, const char *group,
				     bool *changed)
{
	/* Before the topic exists, the count it will be created with (as Kafka's
	 * getGroupMetadataTopicPartitionCount falls back to offsets.topic.num.partitions). */
	struct rn_topic *top = rn_topic_get(ctx->b, RN_OFFSETS_TOPIC, strlen(RN_OFFSETS_TOPIC));
	int32_t n = top ? top->npart
			: (int32_t)rn_config_get_i64(ctx->b->cfg, "offsets.topic.num.partitions");
	if (top)
		rn_topic_put(ctx->b, top);
	if (n <= 0)
		return RN_KERR_COORDINATOR_NOT_AVAILABLE;
	int32_t idx = rn_gc_partition_for(group, n);
	*changed |= rn_tc_add_partition(t, RN_OFFSETS_TOPIC, idx, rn_wall_ms());
	return RN_KERR_NONE;
}

void rn_h_add_offsets_to_txn(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_add_offsets_to_txn_request rq;
	if (rn_add_offsets_to_txn_request_decode(&ctx->rd, ver, &rq) < 0 || ctx->rd.err ||
	    rq.transactional_id.len < 0 || rq.group_id.len < 0) {
		rn_close_conn(ctx, "malformed AddOffsetsToTxn request");
		return;
	}
	struct answer *a = rn_arena_alloc(&ctx->req->arena, sizeof(*a));
	if (!rn_allowed_view(ctx, RN_OP_WRITE, RN_RES_TRANSACTIONAL_ID, rq.transactional_id.ptr,
			     rq.transactional_id.len) ||
	    !rn_allowed_view(ctx, RN_OP_READ, RN_RES_GROUP, rq.group_id.ptr, rq.group_id.len)) {
		/* Kafka checks the transactional id first, then READ on the group. */
		a->resp.error_code =
		    rn_allowed_quiet(ctx, RN_OP_WRITE, RN_RES_TRANSACTIONAL_ID,
				     rq.transactional_id.ptr, (size_t)rq.transactional_id.len)
			? RN_KERR_GROUP_AUTHORIZATION_FAILED
			: RN_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
		rn_txns_respond_after(ctx, NULL, respond, a);
		return;
	}
	struct rn_txns_flushes *fl = NULL;
	struct rn_tc *tc = rn_txns_lock(&fl);
	if (!tc) {
		a->resp.error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
		rn_txns_respond_after(ctx, NULL, respond, a);
		return;
	}
	struct rn_txn *t;
	int16_t fenced = ver >= 2 ? RN_KERR_PRODUCER_FENCED : RN_KERR_INVALID_PRODUCER_EPOCH;
	int16_t err = rn_tc_check(tc, rn_ctx_strdup(ctx, rq.transactional_id), rq.producer_id,
				  rq.producer_epoch, fenced, &t);
	if (err == RN_KERR_NONE && rq.group_id.len == 0)
		err = RN_KERR_INVALID_GROUP_ID;
	char *group = rn_ctx_strdup(ctx, rq.group_id);
	bool changed = false;
	if (err == RN_KERR_NONE && ctx->b->clustered)
		err = add_offsets_partition(ctx, t, group, &changed);
	if (err == RN_KERR_NONE)
		changed |= rn_tc_add_group(t, group, rn_wall_ms());
	if (err == RN_KERR_NONE && changed && rn_txns_store(t, fl) < 0)
		err = RN_KERR_COORDINATOR_NOT_AVAILABLE;
	a->resp.error_code = err;
	rn_txns_unlock();
	rn_txns_respond_after(ctx, fl, respond, a);
}
