/*
 * SaslHandshake: the client names a mechanism; the answer lists the listener's enabled ones.
 * Version 0 (kafka-python) means the tokens that follow are raw frames, not SaslAuthenticate
 * requests (broker/h_sasl_authenticate.c, rn_h_sasl_raw). As in Kafka, an unsupported
 * mechanism or a handshake in the middle of an exchange is answered and the connection closed.
 */
#include "auth/sasl.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/gen/rn_msg.h"

void rn_h_sasl_handshake(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_sasl_handshake_request rq;
	if (rn_sasl_handshake_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed SaslHandshake request");
		return;
	}
	struct rn_session *s = rn_ctx_session(ctx);
	struct rn_sasl_handshake_response resp = {0};
	struct rn_str names[8];
	const char *mechs[8];
	if (!rn_secproto_sasl(s->proto) || !ctx->b->sasl) {
		resp.error_code = RN_KERR_ILLEGAL_SASL_STATE;
	} else {
		int n = rn_sasl_mechanisms(ctx->b->sasl, s->listener, mechs, 8);
		for (int i = 0; i < n; i++)
			names[i] = rn_ctx_str(ctx, mechs[i]);
		resp.mechanisms = names;
		resp.mechanisms_count = n;
		char *mech = rn_ctx_strdup(ctx, rq.mechanism);
		int rc = rn_sasl_begin(ctx->b->sasl, s, mech, ver);
		if (rc == RN_EUNSUPPORTED) {
			resp.error_code = RN_KERR_UNSUPPORTED_SASL_MECHANISM;
			rn_warn("closing connection from %s: SASL mechanism %s is not enabled on "
				"listener %s",
				s->peer, mech ? mech : "(null)", s->listener_name);
			ctx->req->close_after = true;
		} else if (rc < 0) {
			resp.error_code = RN_KERR_ILLEGAL_SASL_STATE;
			rn_warn("closing connection from %s: SaslHandshake during a SASL exchange",
				s->peer);
			ctx->req->close_after = true;
		}
	}
	rn_respond_begin(ctx);
	rn_sasl_handshake_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
