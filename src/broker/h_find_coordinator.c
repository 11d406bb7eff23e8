/*
 * FindCoordinator: on one node this broker coordinates every group and transactional id.
 * Answered even before the group coordinator exists, because librdkafka enables LZ4 (and its
 * group-coordinator feature) only when FindCoordinator v0 is in the broker's ApiVersions.
 */
#include "broker/handler.h"
#include "proto/gen/rn_msg.h"

void rn_h_find_coordinator(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_find_coordinator_request rq;
	if (rn_find_coordinator_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed FindCoordinator request");
		return;
	}
	struct rn_broker *b = ctx->b;
	struct rn_find_coordinator_response resp = {0};
	bool bad_type = rq.key_type != 0 && rq.key_type != 1;
	resp.error_code = bad_type ? RN_KERR_INVALID_REQUEST : RN_KERR_NONE;
	resp.error_message = bad_type ? rn_str_c("Invalid coordinator type") : RN_STR_NULL;
	resp.node_id = bad_type ? -1 : b->node_id;
	resp.host = bad_type ? rn_str_c("") : rn_str_c(b->adv_host);
	resp.port = bad_type ? -1 : b->adv_port;
	int32_t n = rq.coordinator_keys_count > 0 ? rq.coordinator_keys_count : 0;
	resp.coordinators_count = n;
	resp.coordinators =
	    rn_arena_alloc(&ctx->req->arena, (size_t)(n + 1) * sizeof(*resp.coordinators));
	for (int32_t i = 0; i < n; i++) {
		resp.coordinators[i].key = rq.coordinator_keys[i];
		resp.coordinators[i].node_id = resp.node_id;
		resp.coordinators[i].host = resp.host;
		resp.coordinators[i].port = resp.port;
		resp.coordinators[i].error_code = resp.error_code;
		resp.coordinators[i].error_message = resp.error_message;
	}
	rn_respond_begin(ctx);
	rn_find_coordinator_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
