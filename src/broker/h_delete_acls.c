/*
 * DeleteAcls: removes the stored bindings matching each filter and reports them, one result
 * per filter in request order; a binding matched by two filters is reported by the first.
 * Kafka's checks: ALTER on the cluster (every filter CLUSTER_AUTHORIZATION_FAILED), an
 * authorizer (SECURITY_DISABLED), filters without UNKNOWN codes (INVALID_REQUEST).
 */
#include <string.h>

#include "broker/acl_api.h"
#include "broker/authz.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "meta/store.h"
#include "proto/gen/rn_msg.h"

typedef struct rn_delete_acls_response_delete_acls_filter_result fres_t;
typedef struct rn_delete_acls_response_delete_acls_matching_acl match_t;

struct snap {
	struct rn_ctx *ctx;
	struct rn_acl *acls; /* arena copies of the cache */
	size_t n, cap;
};

static void snap_one(const struct rn_acl *a, void *arg)
{
	struct snap *s = arg;
	struct rn_arena *ar = &s->ctx->req->arena;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct rn_acl *v = rn_arena_alloc(ar, cap * sizeof(*v));
		if (s->n)
			memcpy(v, s->acls, s->n * sizeof(*v));
		s->acls = v;
		s->cap = cap;
	}
	struct rn_acl *c = &s->acls[s->n++];
	*c = *a;
	c->name = rn_arena_strndup(ar, a->name, strlen(a->name));
	c->principal = rn_arena_strndup(ar, a->principal, strlen(a->principal));
	c->host = rn_arena_strndup(ar, a->host, strlen(a->host));
}

static void delete_matching(struct rn_ctx *ctx, struct snap *s, bool *gone, const rn_acl_filter *f,
			    fres_t *out)
{
	match_t *m = rn_arena_alloc(&ctx->req->arena, (s->n + 1) * sizeof(*m));
	int32_t nm = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct rn_acl *a = &s->acls[i];
		if (gone[i] || !rn_acl_filter_match(f, a))
			continue;
		char *rec = rn_acl_encode(a);
		int rc = rn_meta_sec_put(ctx->b->meta, RN_ACL_NS, rec, NULL);
		rn_free(rec);
		if (rc == RN_ENOTFOUND) /* deleted meanwhile by someone else */
			continue;
		gone[i] = true;
		m[nm] = (match_t){.error_message = RN_STR_NULL,
				  .resource_type = (int8_t)a->type,
				  .resource_name = rn_str_c(a->name),
				  .pattern_type = (int8_t)a->pattern,
				  .principal = rn_str_c(a->principal),
				  .host = rn_str_c(a->host),
				  .operation = (int8_t)a->op,
				  .permission_type = (int8_t)a->perm};
		if (rc < 0) {
			rn_warn("DeleteAcls: cannot delete an ACL: %s", rn_strerror(rc));
			m[nm].error_code = RN_KERR_UNKNOWN_SERVER_ERROR;
			m[nm].error_message = rn_str_c("The ACL could not be deleted");
			gone[i] = false;
		} else {
			rn_acl_audit_change(ctx, "DeleteAcls", a, "DELETED");
		}
		nm++;
	}
	out->matching_acls = m;
	out->matching_acls_count = nm;
}

void rn_h_delete_acls(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_delete_acls_request rq;
	if (rn_delete_acls_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed DeleteAcls request");
		return;
	}
	struct rn_delete_acls_response resp = {0};
	int32_t n = rq.filters_count > 0 ? rq.filters_count : 0;
	resp.filter_results_count = n;
	resp.filter_results =
	    rn_arena_alloc(&ctx->req->arena, (size_t)(n + 1) * sizeof(*resp.filter_results));
	bool allowed = rn_allowed_cluster(ctx, RN_OP_ALTER);
	struct snap s = {.ctx = ctx};
	if (allowed && ctx->b->authorizer)
		rn_authorizer_foreach(ctx->b->authorizer, snap_one, &s);
	bool *gone = rn_arena_alloc(&ctx->req->arena, s.n + 1);
	memset(gone, 0, s.n + 1);
	bool changed = false;
	for (int32_t i = 0; i < n; i++) {
		const struct rn_delete_acls_request_delete_acls_filter *w = &rq.filters[i];
		fres_t *r = &resp.filter_results[i];
		*r = (fres_t){.error_message = RN_STR_NULL};
		const char *why = NULL;
		rn_acl_filter f = {
		    .type = rn_acl_wire_type(w->resource_type_filter),
		    .pattern = rn_acl_wire_pattern(w->pattern_type_filter),
		    .name = rn_ctx_strdup(ctx, w->resource_name_filter),
		    .principal = rn_ctx_strdup(ctx, w->principal_filter),
		    .host = rn_ctx_strdup(ctx, w->host_filter),
		    .op = rn_acl_wire_op(w->operation),
		    .perm = rn_acl_wire_perm(w->permission_type),
		};
		if (!allowed) {
			r->error_code = RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
		} else if (!ctx->b->authorizer) {
			r->error_code = RN_KERR_SECURITY_DISABLED;
			why = "No Authorizer is configured on the broker";
		} else if (rn_acl_filter_validate(&f, &why) < 0) {
			r->error_code = RN_KERR_INVALID_REQUEST;
		} else {
			delete_matching(ctx, &s, gone, &f, r);
			changed |= r->matching_acls_count > 0;
		}
		if (why)
			r->error_message = rn_str_c(why);
	}
	if (changed)
		rn_authorizer_load(ctx->b->authorizer, ctx->b->meta);
	rn_respond_begin(ctx);
	rn_delete_acls_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
