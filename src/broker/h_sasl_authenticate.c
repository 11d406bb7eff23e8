/*
 * SaslAuthenticate: one SASL token in, one out (auth/sasl.h runs the exchange). A failed
 * exchange answers SASL_AUTHENTICATION_FAILED with Kafka's message and closes the connection.
 * rn_h_sasl_raw handles the same tokens as raw frames after SaslHandshake v0: no header on
 * either side, and a failure simply closes the connection, as Kafka does.
 */
#include "auth/sasl.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "core/log.h"
#include "proto/gen/rn_msg.h"

void rn_h_sasl_authenticate(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_sasl_authenticate_request rq;
	if (rn_sasl_authenticate_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed SaslAuthenticate request");
		return;
	}
	struct rn_session *s = rn_ctx_session(ctx);
	struct rn_sasl_authenticate_response resp = {.error_message = RN_STR_NULL};
	uint8_t *out = rn_arena_alloc(&ctx->req->arena, 1024);
	size_t outlen = 0;
	char msg[256];
	if (!rn_secproto_sasl(s->proto) || !ctx->b->sasl) {
		resp.error_code = RN_KERR_ILLEGAL_SASL_STATE;
		resp.error_message = rn_ctx_str(ctx, "SaslAuthenticate on a listener without SASL");
	} else if (!rn_sasl_expecting_token(s)) {
		resp.error_code = RN_KERR_ILLEGAL_SASL_STATE;
		resp.error_message = rn_ctx_str(ctx, "SaslAuthenticate before SaslHandshake");
		rn_warn("closing connection from %s: SaslAuthenticate without SaslHandshake",
			s->peer);
		ctx->req->close_after = true;
	} else {
		enum rn_sasl_result r =
		    rn_sasl_step(ctx->b->sasl, s, rq.auth_bytes.ptr,
				 rq.auth_bytes.len > 0 ? (size_t)rq.auth_bytes.len : 0, out, 1024,
				 &outlen, msg, sizeof(msg));
		if (r == RN_SASL_FAIL) {
			resp.error_code = RN_KERR_SASL_AUTHENTICATION_FAILED;
			resp.error_message = rn_ctx_str(ctx, msg);
			ctx->req->close_after = true;
		} else if (r == RN_SASL_DONE) {
			resp.session_lifetime_ms = rn_sasl_session_lifetime_ms(s);
		}
	}
	resp.auth_bytes = (struct rn_bytes){out, (int32_t)outlen};
	rn_respond_begin(ctx);
	rn_sasl_authenticate_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}

void rn_h_sasl_raw(struct rn_ctx *ctx)
{
	struct rn_session *s = rn_ctx_session(ctx);
	uint8_t out[1024];
	size_t outlen = 0;
	char msg[256];
	enum rn_sasl_result r = rn_sasl_step(ctx->b->sasl, s, ctx->req->frame, ctx->req->len, out,
					     sizeof(out), &outlen, msg, sizeof(msg));
	if (r == RN_SASL_FAIL) {
		rn_close_conn(ctx,
			      "SASL authentication failed (raw frames after SaslHandshake v0)");
		return;
	}
	/* No response header: the frame is the token alone (PLAIN's success is an empty one). */
	if (outlen)
		rn_iochain_add_mem(&ctx->req->out, out, outlen);
	rn_respond_end(ctx);
}
