/*
 * InitProducerId: hands an idempotent producer its (producer id, epoch).
 *
 * Without a transactional id Kafka always answers with a new producer id and epoch 0, also at
 * v3+ when the client names its current (id, epoch) to recover (KIP-360): the new id has no
 * sequence state anywhere, so the producer restarts at sequence 0 everywhere. We do the same.
 * Ids come from the metadata store, which never hands one out twice, even across crashes.
 *
 * With a transactional id the transaction coordinator would answer; it does not exist yet. We
 * answer TRANSACTIONAL_ID_AUTHORIZATION_FAILED: librdkafka treats it as fatal, so
 * init_transactions() fails at once with a clear message, where COORDINATOR_NOT_AVAILABLE (the
 * "not ready yet" answer) would make it retry until its timeout.
 */
#include "broker/handler.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/gen/rn_msg.h"

void rn_h_init_producer_id(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_init_producer_id_request rq;
	if (rn_init_producer_id_request_decode(&ctx->rd, ver, &rq) < 0 || ctx->rd.err) {
		rn_close_conn(ctx, "malformed InitProducerId request");
		return;
	}
	struct rn_init_producer_id_response resp = {.producer_id = -1, .producer_epoch = -1};
	if (rq.transactional_id.len >= 0) {
		resp.error_code = RN_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
		rn_debug("InitProducerId for transactional id %.*s refused: transactions are not "
			 "supported yet",
			 rq.transactional_id.len, rq.transactional_id.ptr);
	} else {
		int64_t pid;
		int rc = rn_meta_next_producer_id(ctx->b->meta, &pid);
		if (rc < 0) {
			resp.error_code = RN_KERR_UNKNOWN_SERVER_ERROR;
		} else {
			resp.producer_id = pid;
			resp.producer_epoch = 0;
		}
	}
	rn_respond_begin(ctx);
	rn_init_producer_id_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
