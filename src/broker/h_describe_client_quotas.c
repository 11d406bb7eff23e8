/*
 * DescribeClientQuotas (KIP-546): the stored quota entities a filter matches, with their values,
 * as Kafka's ClientQuotaCache answers: per entity type a component matches a name exactly
 * (match type 0), the <default> (1) or any entity of that type, default included (2); with
 * user and client-id components an entity must match both, with one the entity's other part
 * is free unless strict (then entities with a part the filter does not name are left out). An
 * empty filter matches everything, or nothing when strict. Needs DESCRIBE_CONFIGS on the
 * cluster.
 */
#include <string.h>

#include "auth/quota_store.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "core/alloc.h"
#include "proto/gen/rn_msg.h"

struct comp {
	bool set;
	int8_t match_type; /* 0 exact, 1 default, 2 any */
	const char *name;
};

struct collect {
	struct rn_ctx *ctx;
	struct comp user, client;
	bool strict, all;
	struct rn_describe_client_quotas_response_entry_data *entries;
	int32_t n, cap;
};

static bool str_is(struct rn_str s, const char *lit)
{
	return s.len >= 0 && (size_t)s.len == strlen(lit) && memcmp(s.ptr, lit, (size_t)s.len) == 0;
}

static bool comp_matches(const struct comp *c, enum rn_quota_part k, const char *name)
{
	if (k == RN_QP_NONE)
		return false;
	switch (c->match_type) {
	case 0: return k == RN_QP_NAME && strcmp(name, c->name) == 0;
	case 1: return k == RN_QP_DEFAULT;
	default: return true;
	}
}

static bool matches(const struct collect *c, const struct rn_quota_entity *e)
{
	if (c->all)
		return true;
	bool ok;
	if (c->user.set && c->client.set)
		ok = comp_matches(&c->user, e->user_kind, e->user) &&
		     comp_matches(&c->client, e->client_kind, e->client);
	else if (c->user.set)
		ok = comp_matches(&c->user, e->user_kind, e->user);
	else
		ok = comp_matches(&c->client, e->client_kind, e->client);
	if (ok && c->strict && e->user_kind != RN_QP_NONE && e->client_kind != RN_QP_NONE)
		ok = c->user.set && c->client.set;
	return ok;
}

static struct rn_str name_of(struct rn_ctx *ctx, enum rn_quota_part k, const char *name)
{
	return k == RN_QP_DEFAULT ? RN_STR_NULL : rn_ctx_str(ctx, name);
}

static void add(const struct rn_quota_entity *e, const bool has[RN_QUOTA_NTYPES],
		const double val[RN_QUOTA_NTYPES], void *arg)
{
	struct collect *c = arg;
	if (!matches(c, e))
		return;
	struct rn_arena *a = &c->ctx->req->arena;
	if (c->n == c->cap) {
		int32_t cap = c->cap ? c->cap * 2 : 16;
		void *grown = rn_arena_alloc(a, (size_t)cap * sizeof(*c->entries));
		if (c->n)
			memcpy(grown, c->entries, (size_t)c->n * sizeof(*c->entries));
		c->entries = grown;
		c->cap = cap;
	}
	struct rn_describe_client_quotas_response_entry_data *out = &c->entries[c->n++];
	out->entity = rn_arena_alloc(a, 2 * sizeof(*out->entity));
	if (e->user_kind != RN_QP_NONE) {
		out->entity[out->entity_count].entity_type = rn_str_c("user");
		out->entity[out->entity_count++].entity_name =
		    name_of(c->ctx, e->user_kind, e->user);
	}
	if (e->client_kind != RN_QP_NONE) {
		out->entity[out->entity_count].entity_type = rn_str_c("client-id");
		out->entity[out->entity_count++].entity_name =
		    name_of(c->ctx, e->client_kind, e->client);
	}
	out->values = rn_arena_alloc(a, RN_QUOTA_NTYPES * sizeof(*out->values));
	for (int i = 0; i < RN_QUOTA_NTYPES; i++)
		if (has[i]) {
			out->values[out->values_count].key = rn_str_c(rn_quota_key(i));
			out->values[out->values_count++].value = val[i];
		}
}

/* Reads the filter into c; a Kafka error code and *msg if it is invalid. */
static int16_t parse_filter(struct rn_ctx *ctx, const struct rn_describe_client_quotas_request *rq,
			    struct collect *c, const char **msg, bool *ip)
{
	int32_t n = rq->components_count > 0 ? rq->components_count : 0;
	bool seen_ip = false;
	for (int32_t i = 0; i < n; i++) {
		const struct rn_describe_client_quotas_request_component_data *cd =
		    &rq->components[i];
		struct comp *dst = NULL;
		if (cd->entity_type.len <= 0) {
			*msg = "Unexpected empty filter component entity type";
			return RN_KERR_INVALID_REQUEST;
		}
		if (str_is(cd->entity_type, "user")) {
			dst = &c->user;
		} else if (str_is(cd->entity_type, "client-id")) {
			dst = &c->client;
		} else if (!str_is(cd->entity_type, "ip")) {
			*msg = "Custom entity type not supported";
			return RN_KERR_UNSUPPORTED_VERSION;
		}
		if ((dst && dst->set) || (!dst && seen_ip)) {
			*msg = "Duplicate filter component entity type";
			return RN_KERR_INVALID_REQUEST;
		}
		if (cd->match_type < 0 || cd->match_type > 2) {
			*msg = "Unexpected match type";
			return RN_KERR_INVALID_REQUEST;
		}
		if (cd->match_type == 0 && cd->match.len < 0) {
			*msg = "An exact match needs a name";
			return RN_KERR_INVALID_REQUEST;
		}
		if (!dst) {
			seen_ip = true;
			continue;
		}
		dst->set = true;
		dst->match_type = cd->match_type;
		dst->name = cd->match_type == 0 ? rn_ctx_strdup(ctx, cd->match) : NULL;
	}
	if (seen_ip && (c->user.set || c->client.set)) {
		*msg =
		    "Invalid entity filter component combination, IP filter component should not "
		    "be used with User or ClientId filter component.";
		return RN_KERR_INVALID_REQUEST;
	}
	*ip = seen_ip;
	c->all = n == 0 && !rq->strict;
	return RN_KERR_NONE;
}

void rn_h_describe_client_quotas(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_describe_client_quotas_request rq;
	if (rn_describe_client_quotas_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed DescribeClientQuotas request");
		return;
	}
	struct rn_describe_client_quotas_response resp = {0};
	resp.error_message = RN_STR_NULL;
	resp.entries_count = -1;
	struct collect c = {.ctx = ctx, .strict = rq.strict};
	const char *msg = NULL;
	bool ip = false;
	int16_t err = RN_KERR_NONE;
	if (!rn_allowed(ctx, RN_OP_DESCRIBE_CONFIGS, RN_RES_CLUSTER, RN_CLUSTER_RESOURCE,
			strlen(RN_CLUSTER_RESOURCE))) {
		err = RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
		msg = "Cluster authorization failed";
	}
	if (!err)
		err = parse_filter(ctx, &rq, &c, &msg, &ip);
	if (!err) {
		/* No ip quotas are stored, so an ip filter matches nothing. */
		bool some = c.all || c.user.set || c.client.set;
		if (some && !ip) {
			/* From the store itself: what was last written, also by another broker. */
			struct rn_quota_cfg *cfg = rn_quota_store_load(ctx->b->meta);
			rn_quota_cfg_foreach(cfg, add, &c);
			rn_quota_cfg_free(cfg);
		}
		resp.entries = c.entries;
		resp.entries_count = c.n;
	}
	resp.error_code = err;
	if (msg)
		resp.error_message = rn_ctx_str(ctx, msg);
	rn_respond_begin(ctx);
	rn_describe_client_quotas_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
