/* Sessions and the authorization door (authz.h). */
#include "broker/authz.h"

#include "broker/broker.h"
#include "broker/handler.h"
#include "broker/listeners.h"
#include "net/server.h"

void *rn_broker_session_open(void *arg, int listener, const char *peer)
{
	struct rn_broker *b = arg;
	const struct rn_listeners *ls = b ? b->listeners : NULL;
	if (!ls || listener < 0 || listener >= ls->n)
		return rn_session_new(listener, "PLAINTEXT", RN_SEC_PLAINTEXT, peer);
	return rn_session_new(listener, ls->l[listener].name, ls->l[listener].proto, peer);
}

void rn_broker_session_close(void *arg, void *session)
{
	(void)arg;
	rn_session_free(session);
}

struct rn_session *rn_ctx_session(struct rn_ctx *ctx)
{
	static struct rn_session anonymous = {
	    .proto = RN_SEC_PLAINTEXT,
	    .listener_name = "PLAINTEXT",
	    .peer = "?",
	    .principal = RN_PRINCIPAL_ANONYMOUS,
	    .authenticated = true,
	};
	struct rn_session *s = ctx->req ? rn_req_session(ctx->req) : NULL;
	return s ? s : &anonymous;
}

bool rn_allowed(struct rn_ctx *ctx, enum rn_acl_op op, enum rn_res_type type, const char *name,
		size_t len)
{
	if (!ctx->b->authorizer)
		return true;
	return rn_authorize(ctx->b->authorizer, rn_ctx_session(ctx), op, type, name, len);
}
