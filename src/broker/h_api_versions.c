/*
 * ApiVersions: the first request of every connection. An unknown (newer) version is answered
 * with a v0 body carrying UNSUPPORTED_VERSION and our ApiVersions range, so the client retries
 * with a version we speak ([K] ApiVersionsRequest / RequestContext); the response header is
 * always v0, even for the flexible v3.
 */
#include "broker/handler.h"
#include "proto/gen/rn_msg.h"

void rn_h_api_versions(struct rn_ctx *ctx)
{
	const struct rn_api_entry *self = rn_api_entry(18);
	int16_t ver = ctx->hdr.api_version;
	struct rn_api_versions_response resp = {0};
	resp.finalized_features_epoch = -1;
	if (ver > self->max_version || ver < 0) {
		struct rn_api_versions_response_api_version *k =
		    rn_arena_alloc(&ctx->req->arena, sizeof(*k));
		k->api_key = 18;
		k->min_version = self->min_version;
		k->max_version = self->max_version;
		resp.error_code = RN_KERR_UNSUPPORTED_VERSION;
		resp.api_keys = k;
		resp.api_keys_count = 1;
		rn_respond_begin(ctx);
		rn_api_versions_response_encode(&ctx->req->out, 0, &resp);
		rn_respond_end(ctx);
		return;
	}
	struct rn_api_versions_request rq;
	if (rn_api_versions_request_decode(&ctx->rd, ver, &rq) < 0) {
		/* Kafka answers INVALID_REQUEST here; librdkafka then retries with v0. */
		resp.error_code = RN_KERR_INVALID_REQUEST;
	}
	int n;
	const struct rn_api_entry *e = rn_api_entries(&n);
	resp.api_keys = rn_arena_alloc(&ctx->req->arena, (size_t)n * sizeof(*resp.api_keys));
	resp.api_keys_count = n;
	for (int i = 0; i < n; i++) {
		resp.api_keys[i].api_key = e[i].key;
		resp.api_keys[i].min_version = e[i].min_version;
		resp.api_keys[i].max_version = e[i].max_version;
	}
	rn_respond_begin(ctx);
	rn_api_versions_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
