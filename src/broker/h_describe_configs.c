/*
 * DescribeConfigs for topics (resource type 2) and this broker (4). Each config reports where
 * its value comes from, as Kafka does: a topic override (DYNAMIC_TOPIC_CONFIG), the broker's
 * file or --set (STATIC_BROKER_CONFIG) or the built-in default (DEFAULT_CONFIG); with
 * include_synonyms (v1+) the chain of values behind it.
 */
#include <stdio.h>
#include <string.h>

#include "broker/handler.h"
#include "broker/topic_config.h"
#include "broker/topics.h"
#include "proto/gen/rn_msg.h"

enum { SRC_TOPIC = 1, SRC_STATIC_BROKER = 4, SRC_DEFAULT = 5 };
enum { RES_TOPIC = 2, RES_BROKER = 4 };

static int8_t wire_type(enum rn_cfg_type t)
{
	switch (t) {
	case RN_CFG_BOOL: return 1;
	case RN_CFG_STRING: return 2;
	case RN_CFG_INT: return 3;
	case RN_CFG_LONG: return 5;
	case RN_CFG_DOUBLE: return 6;
	case RN_CFG_LIST: return 7;
	}
	return 0;
}

static bool wanted(struct rn_describe_configs_request_describe_configs_resource *res,
		   const char *name)
{
	if (res->configuration_keys_count < 0)
		return true;
	for (int32_t i = 0; i < res->configuration_keys_count; i++)
		if (rn_str_eq(res->configuration_keys[i], name))
			return true;
	return false;
}

static void add_synonyms(struct rn_ctx *ctx,
			 struct rn_describe_configs_response_describe_configs_resource_result *e,
			 const struct rn_cfg_kv *override, const char *synonym)
{
	struct rn_describe_configs_response_describe_configs_synonym *s =
	    rn_arena_alloc(&ctx->req->arena, 3 * sizeof(*s));
	int n = 0;
	if (override) {
		s[n].name = rn_ctx_str(ctx, override->key);
		s[n].value = rn_ctx_str(ctx, override->val);
		s[n++].source = SRC_TOPIC;
	}
	if (synonym && !rn_config_is_default(ctx->b->cfg, synonym)) {
		s[n].name = rn_ctx_str(ctx, synonym);
		s[n].value = rn_ctx_str(ctx, rn_config_get(ctx->b->cfg, synonym));
		s[n++].source = SRC_STATIC_BROKER;
	}
	if (synonym) {
		size_t nd;
		const struct rn_cfg_def *d = rn_config_defs(&nd);
		for (size_t i = 0; i < nd; i++) {
			if (strcmp(d[i].name, synonym) == 0 && d[i].def) {
				s[n].name = rn_ctx_str(ctx, synonym);
				s[n].value = rn_ctx_str(ctx, d[i].def);
				s[n++].source = SRC_DEFAULT;
			}
		}
	}
	e->synonyms = s;
	e->synonyms_count = n;
}

static void describe_topic(struct rn_ctx *ctx, bool synonyms,
			   struct rn_describe_configs_request_describe_configs_resource *res,
			   struct rn_describe_configs_response_describe_configs_result *r)
{
	struct rn_topic *t =
	    res->resource_name.len > 0
		? rn_topic_get(ctx->b, res->resource_name.ptr, (size_t)res->resource_name.len)
		: NULL;
	if (!t) {
		r->error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
		r->error_message = rn_str_c("The topic does not exist.");
		return;
	}
	size_t nd;
	const struct rn_topic_cfg_def *defs = rn_topic_cfg_defs(&nd);
	r->configs = rn_arena_alloc(&ctx->req->arena, (nd + 1) * sizeof(*r->configs));
	for (size_t i = 0; i < nd; i++) {
		if (!wanted(res, defs[i].name))
			continue;
		struct rn_describe_configs_response_describe_configs_resource_result *e =
		    &r->configs[r->configs_count++];
		bool is_def;
		const char *v =
		    rn_topic_cfg_value(ctx->b->cfg, t->configs, t->nconfigs, defs[i].name, &is_def);
		const struct rn_cfg_kv *ov = NULL;
		for (int j = 0; j < t->nconfigs; j++)
			if (strcmp(t->configs[j].key, defs[i].name) == 0)
				ov = &t->configs[j];
		e->name = rn_str_c(defs[i].name);
		e->value = rn_ctx_str(ctx, v);
		e->is_default = is_def;
		e->config_source =
		    ov ? SRC_TOPIC
		    : (defs[i].synonym && !rn_config_is_default(ctx->b->cfg, defs[i].synonym))
			? SRC_STATIC_BROKER
			: SRC_DEFAULT;
		e->config_type = wire_type(defs[i].type);
		e->documentation = RN_STR_NULL;
		if (synonyms)
			add_synonyms(ctx, e, ov, defs[i].synonym);
	}
	rn_topic_put(ctx->b, t);
}

static void describe_broker(struct rn_ctx *ctx, bool synonyms,
			    struct rn_describe_configs_request_describe_configs_resource *res,
			    struct rn_describe_configs_response_describe_configs_result *r)
{
	char id[16];
	snprintf(id, sizeof(id), "%d", ctx->b->node_id);
	if (res->resource_name.len > 0 && !rn_str_eq(res->resource_name, id)) {
		r->error_code = RN_KERR_INVALID_REQUEST;
		r->error_message = rn_str_c("Unexpected broker id");
		return;
	}
	size_t nd;
	const struct rn_cfg_def *defs = rn_config_defs(&nd);
	r->configs = rn_arena_alloc(&ctx->req->arena, (nd + 1) * sizeof(*r->configs));
	for (size_t i = 0; i < nd; i++) {
		if (defs[i].no_effect || !wanted(res, defs[i].name))
			continue;
		struct rn_describe_configs_response_describe_configs_resource_result *e =
		    &r->configs[r->configs_count++];
		bool is_def = rn_config_is_default(ctx->b->cfg, defs[i].name);
		e->name = rn_str_c(defs[i].name);
		e->value = rn_ctx_str(ctx, rn_config_get(ctx->b->cfg, defs[i].name));
		e->read_only = true; /* no dynamic broker configs yet */
		e->is_default = is_def;
		e->config_source = is_def ? SRC_DEFAULT : SRC_STATIC_BROKER;
		e->config_type = wire_type(defs[i].type);
		e->documentation = RN_STR_NULL;
		if (synonyms)
			add_synonyms(ctx, e, NULL, defs[i].name);
	}
}

void rn_h_describe_configs(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_describe_configs_request rq;
	if (rn_describe_configs_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed DescribeConfigs request");
		return;
	}
	struct rn_describe_configs_response resp = {0};
	int32_t n = rq.resources_count > 0 ? rq.resources_count : 0;
	resp.results_count = n;
	resp.results = rn_arena_alloc(&ctx->req->arena, (size_t)(n + 1) * sizeof(*resp.results));
	for (int32_t i = 0; i < n; i++) {
		struct rn_describe_configs_request_describe_configs_resource *res =
		    &rq.resources[i];
		struct rn_describe_configs_response_describe_configs_result *r = &resp.results[i];
		r->resource_type = res->resource_type;
		r->resource_name = res->resource_name;
		r->error_message = RN_STR_NULL;
		if (res->resource_type == RES_TOPIC) {
			describe_topic(ctx, rq.include_synonyms, res, r);
		} else if (res->resource_type == RES_BROKER) {
			describe_broker(ctx, rq.include_synonyms, res, r);
		} else {
			r->error_code = RN_KERR_INVALID_REQUEST;
			r->error_message = rn_str_c("Unsupported resource type");
		}
	}
	rn_respond_begin(ctx);
	rn_describe_configs_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
