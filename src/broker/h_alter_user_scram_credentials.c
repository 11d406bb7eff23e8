/*
 * AlterUserScramCredentials (KIP-554): deletions and upsertions of SCRAM credentials, the
 * client sending the salted password (never the password). One result per user; a user's
 * changes apply only if all of them are valid, with Kafka's errors: UNACCEPTABLE_CREDENTIAL
 * (empty name, iterations outside 4096..16384, bad salt or salted password),
 * UNSUPPORTED_SASL_MECHANISM, DUPLICATE_RESOURCE (a user and mechanism twice),
 * RESOURCE_NOT_FOUND (deleting what is absent). ALTER on the cluster is required.
 * New authentications use the change at once (auth/sasl.h watches the store).
 */
#include <stdio.h>
#include <string.h>

#include "auth/acl.h"
#include "auth/sasl.h"
#include "auth/scram_msg.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "core/log.h"
#include "proto/gen/rn_msg.h"

typedef struct rn_alter_user_scram_credentials_response_alter_user_scram_credentials_result
    result_t;

struct op {
	struct rn_str name;
	int8_t mech;
	bool upsert;
	const struct rn_alter_user_scram_credentials_request_scram_credential_upsertion *u;
};

static bool same(struct rn_str a, struct rn_str b)
{
	return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

/* The first error of op, or NONE. */
static int16_t check(struct rn_ctx *ctx, const struct op *ops, int nops, int i, const char **msg)
{
	const struct op *o = &ops[i];
	if (o->name.len <= 0) {
		*msg = "Username must not be empty";
		return RN_KERR_UNACCEPTABLE_CREDENTIAL;
	}
	enum rn_scram_mech m = (enum rn_scram_mech)o->mech;
	if (!rn_scram_hash_len(m)) {
		*msg = "Unknown SCRAM mechanism";
		return RN_KERR_UNSUPPORTED_SASL_MECHANISM;
	}
	for (int j = 0; j < nops; j++)
		if (j != i && ops[j].mech == o->mech && same(ops[j].name, o->name)) {
			*msg = "A user credential cannot be altered twice in the same request";
			return RN_KERR_DUPLICATE_RESOURCE;
		}
	if (o->upsert) {
		if (o->u->iterations < RN_SCRAM_MIN_ITERATIONS) {
			*msg = "Too few iterations";
			return RN_KERR_UNACCEPTABLE_CREDENTIAL;
		}
		if (o->u->iterations > RN_SCRAM_MAX_ITERATIONS) {
			*msg = "Too many iterations";
			return RN_KERR_UNACCEPTABLE_CREDENTIAL;
		}
		if (o->u->salt.len <= 0 || o->u->salt.len > RN_SCRAM_MAX_SALT) {
			*msg = "Salt must be 1 to 128 bytes";
			return RN_KERR_UNACCEPTABLE_CREDENTIAL;
		}
		if (o->u->salted_password.len != (int32_t)rn_scram_hash_len(m)) {
			*msg = "Salted password has the wrong length for the mechanism";
			return RN_KERR_UNACCEPTABLE_CREDENTIAL;
		}
		return RN_KERR_NONE;
	}
	struct rn_scram_cred c;
	char *user = rn_ctx_strdup(ctx, o->name);
	if (rn_sasl_scram_get(ctx->b->sasl, m, user, &c) < 0) {
		*msg = "Attempt to delete a user credential that does not exist";
		return RN_KERR_RESOURCE_NOT_FOUND;
	}
	return RN_KERR_NONE;
}

void rn_h_alter_user_scram_credentials(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_alter_user_scram_credentials_request rq;
	if (rn_alter_user_scram_credentials_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed AlterUserScramCredentials request");
		return;
	}
	int nd = rq.deletions_count > 0 ? rq.deletions_count : 0;
	int nu = rq.upsertions_count > 0 ? rq.upsertions_count : 0;
	int nops = nd + nu;
	struct op *ops = rn_arena_alloc(&ctx->req->arena, (size_t)(nops + 1) * sizeof(*ops));
	for (int i = 0; i < nd; i++)
		ops[i] = (struct op){rq.deletions[i].name, rq.deletions[i].mechanism, false, NULL};
	for (int i = 0; i < nu; i++)
		ops[nd + i] = (struct op){rq.upsertions[i].name, rq.upsertions[i].mechanism, true,
					  &rq.upsertions[i]};
	result_t *res = rn_arena_alloc(&ctx->req->arena, (size_t)(nops + 1) * sizeof(*res));
	int nres = 0;
	bool allowed = rn_allowed(ctx, RN_OP_ALTER, RN_RES_CLUSTER, "kafka-cluster", 13);
	const char *who = rn_ctx_session(ctx)->principal;
	for (int i = 0; i < nops; i++) {
		bool seen = false;
		for (int k = 0; k < nres; k++)
			seen |= same(res[k].user, ops[i].name);
		if (seen)
			continue;
		result_t *r = &res[nres++];
		*r = (result_t){.user = ops[i].name, .error_message = RN_STR_NULL};
		const char *msg = NULL;
		if (!allowed) {
			r->error_code = RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
			continue;
		}
		if (!ctx->b->sasl) {
			r->error_code = RN_KERR_UNKNOWN_SERVER_ERROR;
			continue;
		}
		/* Every operation of this user first, then all of them or none. */
		for (int j = i; j < nops && !r->error_code; j++)
			if (same(ops[j].name, ops[i].name))
				r->error_code = check(ctx, ops, nops, j, &msg);
		if (r->error_code) {
			r->error_message = rn_ctx_str(ctx, msg);
			continue;
		}
		char *user = rn_ctx_strdup(ctx, ops[i].name);
		for (int j = i; j < nops && !r->error_code; j++) {
			if (!same(ops[j].name, ops[i].name))
				continue;
			enum rn_scram_mech m = (enum rn_scram_mech)ops[j].mech;
			struct rn_scram_cred c;
			int rc;
			if (ops[j].upsert) {
				const struct
				    rn_alter_user_scram_credentials_request_scram_credential_upsertion
					*u = ops[j].u;
				rc = rn_scram_cred_from_salted(m, u->salted_password.ptr,
							       u->salt.ptr, (size_t)u->salt.len,
							       u->iterations, &c);
				if (rc == 0)
					rc = rn_sasl_scram_set(ctx->b->sasl, m, user, &c);
			} else {
				rc = rn_sasl_scram_set(ctx->b->sasl, m, user, NULL);
			}
			if (rc < 0) {
				r->error_code = rn_kerr_from(rc);
				r->error_message = rn_ctx_str(ctx, "cannot store the credential");
			} else {
				/* A security change: one audit line (auth/acl.h). */
				char rsrc[320], what[64];
				snprintf(rsrc, sizeof(rsrc), "User:%.300s", user);
				snprintf(what, sizeof(what), "%s(mechanism=%s)",
					 ops[j].upsert ? "SET" : "DELETED", rn_scram_mech_name(m));
				rn_audit(who, rn_req_peer(ctx->req), "AlterUserScramCredentials",
					 rsrc, what);
			}
		}
	}
	struct rn_alter_user_scram_credentials_response resp = {.results = res,
								.results_count = nres};
	rn_respond_begin(ctx);
	rn_alter_user_scram_credentials_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
