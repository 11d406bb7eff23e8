/*
 * AddOffsetsToTxn: the producer will commit offsets of this group in its transaction (the
 * TxnOffsetCommit that follows goes to the group coordinator, h_txn_offset_commit.c).
 */
#include "broker/handler.h"
#include "broker/txns.h"
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
	if (err == RN_KERR_NONE &&
	    rn_tc_add_group(t, rn_ctx_strdup(ctx, rq.group_id), rn_wall_ms()) &&
	    rn_txns_store(t, fl) < 0)
		err = RN_KERR_COORDINATOR_NOT_AVAILABLE;
	a->resp.error_code = err;
	rn_txns_unlock();
	rn_txns_respond_after(ctx, fl, respond, a);
}
