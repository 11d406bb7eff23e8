/*
 * InitProducerId: hands a producer its (producer id, epoch).
 *
 * Without a transactional id Kafka always answers with a new producer id and epoch 0, also at
 * v3+ when the client names its current (id, epoch) to recover (KIP-360): the new id has no
 * sequence state anywhere, so the producer restarts at sequence 0 everywhere. We do the same.
 * Ids come from the metadata store, which never hands one out twice, even across crashes.
 *
 * With a transactional id the transaction coordinator (broker/txns.c) answers: the id keeps its
 * producer id and gets the next epoch, which fences the previous producer. A transaction the
 * previous epoch left open is aborted first, under a bumped epoch, with its markers written
 * before we answer; Kafka answers CONCURRENT_TRANSACTIONS meanwhile and lets the client retry,
 * we do the same only when the markers cannot be written now.
 */
#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/txns.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/gen/rn_msg.h"

struct answer {
	struct rn_init_producer_id_response resp;
};

static void respond(struct rn_ctx *ctx, void *arg, int16_t err)
{
	struct answer *a = arg;
	if (a->resp.error_code == RN_KERR_NONE && err != RN_KERR_NONE) {
		a->resp.error_code = err;
		a->resp.producer_id = -1;
		a->resp.producer_epoch = -1;
	}
	rn_respond_begin(ctx);
	rn_init_producer_id_response_encode(&ctx->req->out, ctx->hdr.api_version, &a->resp);
	rn_respond_end(ctx);
}

/* Under the coordinator lock. */
static int16_t init_txn(struct rn_ctx *ctx, struct rn_tc *tc, const char *id,
			const struct rn_init_producer_id_request *rq, struct rn_txns_flushes *fl,
			struct rn_init_producer_id_response *resp)
{
	int64_t now = rn_wall_ms();
	struct rn_txn *t;
	bool abort;
	int16_t err =
	    rn_tc_init_pid(tc, id, rq->transaction_timeout_ms, rq->producer_id, rq->producer_epoch,
			   now, rn_txns_alloc_pid, ctx->b, &t, &abort);
	if (err == RN_KERR_CONCURRENT_TRANSACTIONS) {
		/* Finish what the previous epoch left (abort), or a completion that failed
		 * before, then start over once. */
		if (abort && rn_txns_store(t, fl) < 0)
			return RN_KERR_CONCURRENT_TRANSACTIONS;
		if (rn_txns_finish(t, fl) < 0)
			return RN_KERR_CONCURRENT_TRANSACTIONS;
		err =
		    rn_tc_init_pid(tc, id, rq->transaction_timeout_ms, rq->producer_id,
				   rq->producer_epoch, now, rn_txns_alloc_pid, ctx->b, &t, &abort);
		if (err == RN_KERR_PRODUCER_FENCED && rq->producer_id >= 0)
			err = RN_KERR_NONE; /* it named the epoch we just fenced: it is the owner */
	}
	if (err != RN_KERR_NONE)
		return err;
	if (rn_txns_store(t, fl) < 0)
		return RN_KERR_COORDINATOR_NOT_AVAILABLE;
	resp->producer_id = t->pid;
	resp->producer_epoch = t->epoch;
	return RN_KERR_NONE;
}

void rn_h_init_producer_id(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_init_producer_id_request rq;
	if (rn_init_producer_id_request_decode(&ctx->rd, ver, &rq) < 0 || ctx->rd.err) {
		rn_close_conn(ctx, "malformed InitProducerId request");
		return;
	}
	struct answer *a = rn_arena_alloc(&ctx->req->arena, sizeof(*a));
	a->resp = (struct rn_init_producer_id_response){.producer_id = -1, .producer_epoch = -1};
	struct rn_init_producer_id_response *resp = &a->resp;
	struct rn_txns_flushes *fl = NULL;
	/* Kafka: WRITE on the transactional id; an idempotent producer needs IDEMPOTENT_WRITE on
	 * the cluster or WRITE on some topic. */
	int16_t deny = RN_KERR_NONE;
	if (rq.transactional_id.len >= 0) {
		if (!rn_allowed_view(ctx, RN_OP_WRITE, RN_RES_TRANSACTIONAL_ID,
				     rq.transactional_id.ptr, rq.transactional_id.len))
			deny = RN_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
	} else if (!rn_allowed_quiet(ctx, RN_OP_IDEMPOTENT_WRITE, RN_RES_CLUSTER,
				     RN_CLUSTER_RESOURCE, sizeof(RN_CLUSTER_RESOURCE) - 1) &&
		   !rn_allowed_any(ctx, RN_OP_WRITE, RN_RES_TOPIC)) {
		deny = RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
	}
	if (deny) {
		resp->error_code = deny;
	} else if (rq.transactional_id.len > 0) {
		struct rn_tc *tc = rn_txns_lock(&fl);
		if (!tc) {
			resp->error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
		} else {
			char *id = rn_ctx_strdup(ctx, rq.transactional_id);
			resp->error_code = init_txn(ctx, tc, id, &rq, fl, resp);
			rn_txns_unlock();
			/* PRODUCER_FENCED is new in v4 (KIP-588); older clients know 47. */
			if (resp->error_code == RN_KERR_PRODUCER_FENCED && ver < 4)
				resp->error_code = RN_KERR_INVALID_PRODUCER_EPOCH;
			if (resp->error_code != RN_KERR_NONE) {
				resp->producer_id = -1;
				resp->producer_epoch = -1;
				rn_debug("InitProducerId for transactional id %s: error %d", id,
					 resp->error_code);
			}
		}
	} else if (rq.transactional_id.len == 0) {
		resp->error_code = RN_KERR_INVALID_REQUEST; /* Kafka: an empty id is invalid */
	} else {
		int64_t pid;
		int rc = rn_meta_next_producer_id(ctx->b->meta, &pid);
		if (rc < 0) {
			resp->error_code = RN_KERR_UNKNOWN_SERVER_ERROR;
		} else {
			resp->producer_id = pid;
			resp->producer_epoch = 0;
		}
	}
	rn_txns_respond_after(ctx, fl, respond, a);
}
