/*
 * EndTxn: commit or abort. PrepareCommit/PrepareAbort is written to __transaction_state, then
 * a control batch (COMMIT/ABORT marker) to every partition of the transaction, the pending
 * transactional offsets go to the group coordinator (commit) or are dropped (abort), and
 * Complete* is written; the answer follows the flushes those writes need by the partitions'
 * policies. If a marker cannot be written (partition offline, disk full) the transaction stays
 * Prepare*, which is durable: the coordinator's thread retries, and the producer's next
 * requests get CONCURRENT_TRANSACTIONS until it is done, as with Kafka's asynchronous markers.
 */
#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/txns.h"
#include "core/clock.h"
#include "core/log.h"
#include "proto/gen/rn_msg.h"

struct answer {
	struct rn_end_txn_response resp;
};

static void respond(struct rn_ctx *ctx, void *arg, int16_t err)
{
	struct answer *a = arg;
	if (a->resp.error_code == RN_KERR_NONE)
		a->resp.error_code = err;
	rn_respond_begin(ctx);
	rn_end_txn_response_encode(&ctx->req->out, ctx->hdr.api_version, &a->resp);
	rn_respond_end(ctx);
}

void rn_h_end_txn(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_end_txn_request rq;
	if (rn_end_txn_request_decode(&ctx->rd, ver, &rq) < 0 || ctx->rd.err ||
	    rq.transactional_id.len < 0) {
		rn_close_conn(ctx, "malformed EndTxn request");
		return;
	}
	struct answer *a = rn_arena_alloc(&ctx->req->arena, sizeof(*a));
	if (!rn_allowed_view(ctx, RN_OP_WRITE, RN_RES_TRANSACTIONAL_ID, rq.transactional_id.ptr,
			     rq.transactional_id.len)) {
		a->resp.error_code = RN_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
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
	int16_t err = rn_tc_end(tc, rn_ctx_strdup(ctx, rq.transactional_id), rq.producer_id,
				rq.producer_epoch, rq.committed, fenced, rn_wall_ms(), &t);
	if (err == RN_KERR_NONE &&
	    (t->state == RN_TXN_PREPARE_COMMIT || t->state == RN_TXN_PREPARE_ABORT)) {
		if (rn_txns_store(t, fl) < 0) {
			/* Nothing durable yet: back to Ongoing, the client may retry. */
			t->state = RN_TXN_ONGOING;
			err = RN_KERR_COORDINATOR_NOT_AVAILABLE;
		} else if (rn_txns_finish(t, fl) < 0) {
			rn_debug("transactional id %s: markers pending, retried later", t->id);
		}
	}
	a->resp.error_code = err;
	rn_txns_unlock();
	rn_txns_respond_after(ctx, fl, respond, a);
}
