/* Sessions and the authorization door (authz.h). */
#include "broker/authz.h"

#include <errno.h>
#include <stdio.h>

#include "broker/broker.h"
#include "broker/handler.h"
#include "broker/listeners.h"
#include "core/err.h"
#include "core/log.h"
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

static void audit_denied(struct rn_session *s, enum rn_acl_op op, enum rn_res_type type,
			 const char *name, size_t len)
{
	char res[512];
	snprintf(res, sizeof(res), "%s:%.*s", rn_res_type_name(type), (int)(len > 400 ? 400 : len),
		 name ? name : "");
	rn_audit(s->principal, s->peer, rn_acl_op_name(op), res, "DENIED");
}

bool rn_allowed(struct rn_ctx *ctx, enum rn_acl_op op, enum rn_res_type type, const char *name,
		size_t len)
{
	if (!ctx->b->authorizer)
		return true;
	struct rn_session *s = rn_ctx_session(ctx);
	bool ok = rn_authorize(ctx->b->authorizer, s, op, type, name, len);
	if (!ok)
		audit_denied(s, op, type, name, len);
	return ok;
}

bool rn_allowed_quiet(struct rn_ctx *ctx, enum rn_acl_op op, enum rn_res_type type,
		      const char *name, size_t len)
{
	return !ctx->b->authorizer ||
	       rn_authorize(ctx->b->authorizer, rn_ctx_session(ctx), op, type, name, len);
}

bool rn_allowed_any(struct rn_ctx *ctx, enum rn_acl_op op, enum rn_res_type type)
{
	if (!ctx->b->authorizer)
		return true;
	struct rn_session *s = rn_ctx_session(ctx);
	bool ok = rn_authorize_any(ctx->b->authorizer, s, op, type);
	if (!ok)
		audit_denied(s, op, type, "*", 1);
	return ok;
}

bool rn_allowed_cluster(struct rn_ctx *ctx, enum rn_acl_op op)
{
	return rn_allowed(ctx, op, RN_RES_CLUSTER, RN_CLUSTER_RESOURCE,
			  sizeof(RN_CLUSTER_RESOURCE) - 1);
}

int32_t rn_ctx_ops(struct rn_ctx *ctx, enum rn_res_type type, const char *name, size_t len)
{
	return rn_authorized_ops(ctx->b->authorizer, rn_ctx_session(ctx), type, name, len);
}

int rn_broker_authorizer_start(struct rn_broker *b)
{
	const char *cls = rn_config_get(b->cfg, "authorizer.class.name");
	if (!cls || !*cls)
		return 0;
	if (!rn_authorizer_class_known(cls)) {
		rn_error("authorizer.class.name: unknown authorizer '%s' (Runnel implements "
			 "kafka.security.authorizer.AclAuthorizer, "
			 "org.apache.kafka.metadata.authorizer.StandardAuthorizer and "
			 "kafka.security.auth.SimpleAclAuthorizer)",
			 cls);
		return -EINVAL;
	}
	const char *file = rn_config_get(b->cfg, "authorizer.audit.log.file");
	if (file && *file) {
		int rc = rn_audit_open(file);
		if (rc < 0) {
			rn_error("authorizer.audit.log.file: cannot open %s: %s", file,
				 rn_strerror(rc));
			return rc;
		}
	}
	b->authorizer =
	    rn_authorizer_new(rn_config_get(b->cfg, "super.users"),
			      rn_config_get_bool(b->cfg, "allow.everyone.if.no.acl.found"));
	rn_authorizer_follow(b->authorizer, b->meta);
	rn_info("authorizer %s: ACLs enforced (super.users: %s, allow.everyone.if.no.acl.found: "
		"%s)",
		cls,
		rn_config_get(b->cfg, "super.users") ? rn_config_get(b->cfg, "super.users")
						     : "none",
		rn_config_get_bool(b->cfg, "allow.everyone.if.no.acl.found") ? "true" : "false");
	return 0;
}

void rn_broker_authorizer_stop(struct rn_broker *b)
{
	/* The store's watch still names the authorizer: the store closes first. */
	rn_authorizer_free(b->authorizer);
	b->authorizer = NULL;
	rn_audit_close();
}
