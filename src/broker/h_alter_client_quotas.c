/*
 * AlterClientQuotas (KIP-546): sets or removes quota values of user / client-id entities, each
 * entry on its own (one entry's error does not stop the others), durably in the metadata
 * store; the manager reloads and the new quotas apply from the next request on. Needs
 * ALTER_CONFIGS on the cluster. Errors as Kafka's: an empty or repeated entity type and bad
 * keys or values are INVALID_REQUEST, an unknown entity type UNSUPPORTED_VERSION.
 */
#include <math.h>
#include <string.h>

#include "auth/quota_store.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/quotas.h"
#include "core/err.h"
#include "proto/gen/rn_msg.h"

static bool str_is(struct rn_str s, const char *lit)
{
	return s.len >= 0 && (size_t)s.len == strlen(lit) && memcmp(s.ptr, lit, (size_t)s.len) == 0;
}

/* Fills e from the entry's entity parts; a Kafka error code and *msg when they are invalid. */
static int16_t parse_entity(struct rn_ctx *ctx,
			    const struct rn_alter_client_quotas_request_entry_data *en,
			    struct rn_quota_entity *e, const char **msg)
{
	memset(e, 0, sizeof(*e));
	if (en->entity_count <= 0) {
		*msg = "Invalid empty client quota entity";
		return RN_KERR_INVALID_REQUEST;
	}
	for (int32_t i = 0; i < en->entity_count; i++) {
		struct rn_str t = en->entity[i].entity_type, n = en->entity[i].entity_name;
		enum rn_quota_part *kind;
		const char **name;
		if (str_is(t, "user")) {
			kind = &e->user_kind;
			name = &e->user;
		} else if (str_is(t, "client-id")) {
			kind = &e->client_kind;
			name = &e->client;
		} else if (str_is(t, "ip")) {
			*msg = "ip entities (connection_creation_rate) are not supported";
			return RN_KERR_INVALID_REQUEST;
		} else {
			*msg = t.len > 0 ? "Unhandled client quota entity type"
					 : "Unexpected empty entity type";
			return t.len > 0 ? RN_KERR_UNSUPPORTED_VERSION : RN_KERR_INVALID_REQUEST;
		}
		if (*kind != RN_QP_NONE) {
			*msg = "Duplicate entity type in the client quota entity";
			return RN_KERR_INVALID_REQUEST;
		}
		if (n.len == 0) {
			*msg = "Invalid empty entity name";
			return RN_KERR_INVALID_REQUEST;
		}
		*kind = n.len < 0 ? RN_QP_DEFAULT : RN_QP_NAME;
		*name = n.len < 0 ? NULL : rn_ctx_strdup(ctx, n);
	}
	return RN_KERR_NONE;
}

static int16_t parse_ops(const struct rn_alter_client_quotas_request_entry_data *en,
			 struct rn_quota_op *ops, const char **msg)
{
	bool seen[RN_QUOTA_NTYPES] = {false};
	for (int32_t i = 0; i < en->ops_count; i++) {
		struct rn_str k = en->ops[i].key;
		int t = k.len > 0 ? rn_quota_key_parse(k.ptr, (size_t)k.len) : -1;
		if (t < 0) {
			*msg = str_is(k, "controller_mutation_rate")
				   ? "controller_mutation_rate is not supported"
				   : "Invalid configuration key";
			return RN_KERR_INVALID_REQUEST;
		}
		if (seen[t]) {
			*msg = "Duplicate quota key in the entry's ops";
			return RN_KERR_INVALID_REQUEST;
		}
		seen[t] = true;
		double v = en->ops[i].value;
		if (!en->ops[i].remove) {
			if (!isfinite(v) || v <= 0) {
				*msg = "Quota values must be positive numbers";
				return RN_KERR_INVALID_REQUEST;
			}
			/* The byte rates are Kafka LONG configs. */
			if (t != RN_QUOTA_REQUEST && (v != floor(v) || v > 9.2e18)) {
				*msg = "Byte rate quotas must be whole numbers (bytes per second)";
				return RN_KERR_INVALID_REQUEST;
			}
		}
		ops[i] = (struct rn_quota_op){(enum rn_quota_type)t, v, en->ops[i].remove};
	}
	return RN_KERR_NONE;
}

void rn_h_alter_client_quotas(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_alter_client_quotas_request rq;
	if (rn_alter_client_quotas_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed AlterClientQuotas request");
		return;
	}
	struct rn_arena *a = &ctx->req->arena;
	struct rn_alter_client_quotas_response resp = {0};
	int32_t n = rq.entries_count > 0 ? rq.entries_count : 0;
	resp.entries_count = n;
	resp.entries = rn_arena_alloc(a, (size_t)(n + 1) * sizeof(*resp.entries));
	bool allowed = rn_allowed(ctx, RN_OP_ALTER_CONFIGS, RN_RES_CLUSTER, RN_CLUSTER_RESOURCE,
				  strlen(RN_CLUSTER_RESOURCE));
	bool changed = false;
	for (int32_t i = 0; i < n; i++) {
		struct rn_alter_client_quotas_request_entry_data *en = &rq.entries[i];
		struct rn_alter_client_quotas_response_entry_data *out = &resp.entries[i];
		int32_t ne = en->entity_count > 0 ? en->entity_count : 0;
		out->entity_count = ne;
		out->entity = rn_arena_alloc(a, (size_t)(ne + 1) * sizeof(*out->entity));
		for (int32_t j = 0; j < ne; j++) {
			out->entity[j].entity_type = en->entity[j].entity_type;
			out->entity[j].entity_name = en->entity[j].entity_name;
		}
		out->error_message = RN_STR_NULL;
		const char *msg = NULL;
		struct rn_quota_entity e;
		int32_t nops = en->ops_count > 0 ? en->ops_count : 0;
		struct rn_quota_op *ops = rn_arena_alloc(a, (size_t)(nops + 1) * sizeof(*ops));
		int16_t err = RN_KERR_NONE;
		if (!allowed) {
			err = RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
			msg = "Cluster authorization failed";
		}
		if (!err)
			err = parse_entity(ctx, en, &e, &msg);
		if (!err)
			err = parse_ops(en, ops, &msg);
		if (!err && !rq.validate_only && nops > 0) {
			int rc = rn_quota_store_alter(ctx->b->meta, &e, ops, nops);
			if (rc < 0) {
				err = rc == RN_ESTALE ? RN_KERR_UNKNOWN_SERVER_ERROR
						      : rn_kerr_from(rc);
				msg = rn_strerror(rc);
			} else {
				changed = true;
			}
		}
		out->error_code = err;
		if (msg)
			out->error_message = rn_ctx_str(ctx, msg);
	}
	if (changed)
		rn_broker_quotas_reload(ctx->b);
	rn_respond_begin(ctx);
	rn_alter_client_quotas_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
