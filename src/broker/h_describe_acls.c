/*
 * DescribeAcls: the cached bindings that match the filter, grouped by resource pattern.
 * Kafka's checks: DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED), an authorizer
 * (SECURITY_DISABLED), a filter without UNKNOWN codes (INVALID_REQUEST).
 */
#include <string.h>

#include "broker/acl_api.h"
#include "broker/authz.h"
#include "proto/gen/rn_msg.h"

typedef struct rn_describe_acls_response_describe_acls_resource res_t;
typedef struct rn_describe_acls_response_acl_description desc_t;

struct collect {
	struct rn_ctx *ctx;
	const rn_acl_filter *f;
	struct rn_acl *hits; /* arena copies */
	size_t n, cap;
};

static void collect(const struct rn_acl *a, void *arg)
{
	struct collect *c = arg;
	if (!rn_acl_filter_match(c->f, a))
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct rn_acl *h = rn_arena_alloc(&c->ctx->req->arena, cap * sizeof(*h));
		if (c->n)
			memcpy(h, c->hits, c->n * sizeof(*h));
		c->hits = h;
		c->cap = cap;
	}
	struct rn_arena *ar = &c->ctx->req->arena;
	struct rn_acl *h = &c->hits[c->n++];
	*h = *a;
	h->name = rn_arena_strndup(ar, a->name, strlen(a->name));
	h->principal = rn_arena_strndup(ar, a->principal, strlen(a->principal));
	h->host = rn_arena_strndup(ar, a->host, strlen(a->host));
}

static void fill(struct rn_ctx *ctx, struct collect *c, struct rn_describe_acls_response *resp)
{
	struct rn_arena *ar = &ctx->req->arena;
	res_t *res = rn_arena_alloc(ar, (c->n + 1) * sizeof(*res));
	int32_t nres = 0;
	int32_t *of = rn_arena_alloc(ar, (c->n + 1) * sizeof(*of)); /* resource of each hit */
	for (size_t i = 0; i < c->n; i++) {
		const struct rn_acl *a = &c->hits[i];
		int32_t r = 0;
		while (r < nres && !(res[r].resource_type == (int8_t)a->type &&
				     res[r].pattern_type == (int8_t)a->pattern &&
				     strcmp(res[r].resource_name.ptr, a->name) == 0))
			r++;
		if (r == nres) {
			res[nres] = (res_t){.resource_type = (int8_t)a->type,
					    .resource_name = rn_str_c(a->name),
					    .pattern_type = (int8_t)a->pattern};
			nres++;
		}
		res[r].acls_count++;
		of[i] = r;
	}
	for (int32_t r = 0; r < nres; r++) {
		res[r].acls = rn_arena_alloc(ar, (size_t)res[r].acls_count * sizeof(desc_t));
		res[r].acls_count = 0;
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct rn_acl *a = &c->hits[i];
		res[of[i]].acls[res[of[i]].acls_count++] =
		    (desc_t){.principal = rn_str_c(a->principal),
			     .host = rn_str_c(a->host),
			     .operation = (int8_t)a->op,
			     .permission_type = (int8_t)a->perm};
	}
	resp->resources = res;
	resp->resources_count = nres;
}

void rn_h_describe_acls(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_describe_acls_request rq;
	if (rn_describe_acls_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed DescribeAcls request");
		return;
	}
	struct rn_describe_acls_response resp = {0};
	resp.error_message = RN_STR_NULL;
	rn_acl_filter f = {
	    .type = rn_acl_wire_type(rq.resource_type_filter),
	    .pattern = rn_acl_wire_pattern(rq.pattern_type_filter),
	    .name = rn_ctx_strdup(ctx, rq.resource_name_filter),
	    .principal = rn_ctx_strdup(ctx, rq.principal_filter),
	    .host = rn_ctx_strdup(ctx, rq.host_filter),
	    .op = rn_acl_wire_op(rq.operation),
	    .perm = rn_acl_wire_perm(rq.permission_type),
	};
	const char *why = NULL;
	if (!rn_allowed_cluster(ctx, RN_OP_DESCRIBE)) {
		resp.error_code = RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
	} else if (!ctx->b->authorizer) {
		resp.error_code = RN_KERR_SECURITY_DISABLED;
		why = "No Authorizer is configured on the broker";
	} else if (rn_acl_filter_validate(&f, &why) < 0) {
		resp.error_code = RN_KERR_INVALID_REQUEST;
	} else {
		struct collect c = {.ctx = ctx, .f = &f};
		rn_authorizer_foreach(ctx->b->authorizer, collect, &c);
		fill(ctx, &c, &resp);
	}
	if (why)
		resp.error_message = rn_str_c(why);
	rn_respond_begin(ctx);
	rn_describe_acls_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
