/*
 * DescribeUserScramCredentials (KIP-554): each user's SCRAM mechanisms and iteration counts,
 * never salts or keys. Null or empty Users means every user with a credential. Kafka's
 * errors: RESOURCE_NOT_FOUND for a named user without one, DUPLICATE_RESOURCE for a user named
 * twice; DESCRIBE on the cluster is required.
 */
#include <string.h>

#include "auth/sasl.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "proto/gen/rn_msg.h"

typedef struct rn_describe_user_scram_credentials_response_describe_user_scram_credentials_result
    result_t;
typedef struct rn_describe_user_scram_credentials_response_credential_info info_t;

struct collect {
	struct rn_ctx *ctx;
	result_t *res;
	int n, cap;
	const char *only; /* NULL: everyone */
};

static result_t *result_for(struct collect *c, const char *user)
{
	for (int i = 0; i < c->n; i++)
		if ((size_t)c->res[i].user.len == strlen(user) &&
		    memcmp(c->res[i].user.ptr, user, strlen(user)) == 0)
			return &c->res[i];
	if (c->n == c->cap) {
		int ncap = c->cap ? 2 * c->cap : 8;
		result_t *nr = rn_arena_alloc(&c->ctx->req->arena, (size_t)ncap * sizeof(*nr));
		if (c->n)
			memcpy(nr, c->res, (size_t)c->n * sizeof(*nr));
		c->res = nr;
		c->cap = ncap;
	}
	result_t *r = &c->res[c->n++];
	memset(r, 0, sizeof(*r));
	r->user = rn_ctx_str(c->ctx, user);
	r->error_message = RN_STR_NULL;
	return r;
}

static void one(const char *user, enum rn_scram_mech m, int32_t iterations, void *arg)
{
	struct collect *c = arg;
	if (c->only && strcmp(c->only, user) != 0)
		return;
	result_t *r = result_for(c, user);
	/* At most two mechanisms per user. */
	info_t *ni = rn_arena_alloc(&c->ctx->req->arena,
				    (size_t)(r->credential_infos_count + 1) * sizeof(*ni));
	if (r->credential_infos_count)
		memcpy(ni, r->credential_infos, (size_t)r->credential_infos_count * sizeof(*ni));
	ni[r->credential_infos_count] = (info_t){.mechanism = (int8_t)m, .iterations = iterations};
	r->credential_infos = ni;
	r->credential_infos_count++;
}

void rn_h_describe_user_scram_credentials(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_describe_user_scram_credentials_request rq;
	if (rn_describe_user_scram_credentials_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed DescribeUserScramCredentials request");
		return;
	}
	struct rn_describe_user_scram_credentials_response resp = {.error_message = RN_STR_NULL};
	struct collect c = {.ctx = ctx};
	if (!rn_allowed(ctx, RN_OP_DESCRIBE, RN_RES_CLUSTER, "kafka-cluster", 13)) {
		resp.error_code = RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
	} else if (!ctx->b->sasl) {
		resp.error_code = RN_KERR_UNKNOWN_SERVER_ERROR;
	} else if (rq.users_count <= 0) {
		rn_sasl_scram_foreach(ctx->b->sasl, one, &c);
	} else {
		for (int32_t i = 0; i < rq.users_count; i++) {
			char *u = rn_ctx_strdup(ctx, rq.users[i].name);
			int dup = 0;
			for (int32_t j = 0; j < rq.users_count; j++)
				if (j != i && rq.users[j].name.len == rq.users[i].name.len &&
				    memcmp(rq.users[j].name.ptr, rq.users[i].name.ptr,
					   (size_t)rq.users[i].name.len) == 0)
					dup = 1;
			int before = c.n;
			result_t *r = result_for(&c, u ? u : "");
			if (c.n == before)
				continue; /* named twice: already answered */
			if (dup) {
				r->error_code = RN_KERR_DUPLICATE_RESOURCE;
				r->error_message = rn_ctx_str(
				    ctx,
				    "Cannot describe SCRAM credentials for the same user twice "
				    "in a single request");
				continue;
			}
			c.only = u ? u : "";
			rn_sasl_scram_foreach(ctx->b->sasl, one, &c);
			if (r->credential_infos_count == 0) {
				r->error_code = RN_KERR_RESOURCE_NOT_FOUND;
				r->error_message = rn_ctx_str(
				    ctx,
				    "Attempt to describe a user credential that does not exist");
			}
		}
	}
	resp.results = c.res;
	resp.results_count = c.n;
	rn_respond_begin(ctx);
	rn_describe_user_scram_credentials_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
