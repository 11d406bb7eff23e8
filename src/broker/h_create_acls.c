/*
 * CreateAcls: each creation is validated and stored as a security record (auth/acl.h); one
 * result per creation, in request order. Kafka's checks: ALTER on the cluster, else every
 * result is CLUSTER_AUTHORIZATION_FAILED; no authorizer, SECURITY_DISABLED; a malformed
 * binding, INVALID_REQUEST with the reason.
 */
#include "broker/acl_api.h"
#include "broker/authz.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "meta/store.h"
#include "proto/gen/rn_msg.h"

static int16_t create_one(struct rn_ctx *ctx, const struct rn_create_acls_request_acl_creation *c,
			  const char **why)
{
	struct rn_acl a = {
	    .type = rn_acl_wire_type(c->resource_type),
	    .pattern = rn_acl_wire_pattern(c->resource_pattern_type),
	    .name = rn_ctx_strdup(ctx, c->resource_name),
	    .principal = rn_ctx_strdup(ctx, c->principal),
	    .host = rn_ctx_strdup(ctx, c->host),
	    .op = rn_acl_wire_op(c->operation),
	    .perm = rn_acl_wire_perm(c->permission_type),
	};
	if (rn_acl_validate(&a, why) < 0)
		return RN_KERR_INVALID_REQUEST;
	char *rec = rn_acl_encode(&a);
	int rc = rn_meta_sec_put(ctx->b->meta, RN_ACL_NS, rec, rec);
	rn_free(rec);
	if (rc < 0) {
		rn_warn("CreateAcls: cannot store an ACL: %s", rn_strerror(rc));
		*why = "The ACL could not be stored";
		return RN_KERR_UNKNOWN_SERVER_ERROR;
	}
	rn_acl_audit_change(ctx, "CreateAcls", &a, "CREATED");
	return RN_KERR_NONE;
}

void rn_h_create_acls(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_create_acls_request rq;
	if (rn_create_acls_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed CreateAcls request");
		return;
	}
	struct rn_create_acls_response resp = {0};
	int32_t n = rq.creations_count > 0 ? rq.creations_count : 0;
	resp.results_count = n;
	resp.results = rn_arena_alloc(&ctx->req->arena, (size_t)(n + 1) * sizeof(*resp.results));
	bool allowed = rn_allowed_cluster(ctx, RN_OP_ALTER);
	for (int32_t i = 0; i < n; i++) {
		const char *why = NULL;
		int16_t e;
		if (!allowed) {
			e = RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
		} else if (!ctx->b->authorizer) {
			e = RN_KERR_SECURITY_DISABLED;
			why = "No Authorizer is configured on the broker";
		} else {
			e = create_one(ctx, &rq.creations[i], &why);
		}
		resp.results[i].error_code = e;
		resp.results[i].error_message = why ? rn_str_c(why) : RN_STR_NULL;
	}
	/* The store's watch reloads too; loading here makes the answer read-your-writes. */
	if (allowed && ctx->b->authorizer && n > 0)
		rn_authorizer_load(ctx->b->authorizer, ctx->b->meta);
	rn_respond_begin(ctx);
	rn_create_acls_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
