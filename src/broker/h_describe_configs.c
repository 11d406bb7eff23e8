/*
 * DescribeConfigs (v0-v4) for topics (resource type 2) and this broker (4), as Kafka's
 * ConfigHelper answers. Each config reports where its value comes from: a topic override
 * (DYNAMIC_TOPIC_CONFIG), the broker's dynamic per-broker or cluster-wide value
 * (DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG, set by AlterConfigs), its file or --set
 * (STATIC_BROKER_CONFIG) or the built-in default (DEFAULT_CONFIG). With include_synonyms (v1+)
 * the whole chain behind it is listed, highest precedence first; the source is the head's.
 *
 * Broker resource names: "<node id>" describes every broker key; "" (the cluster default)
 * only the keys that have a cluster-wide dynamic value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/config_alter.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/topic_config.h"
#include "broker/topics.h"
#include "proto/gen/rn_msg.h"

enum { RES_TOPIC = 2, RES_BROKER = 4 };

#define ENTRY struct rn_describe_configs_response_describe_configs_resource_result
#define SYN   struct rn_describe_configs_response_describe_configs_synonym

#define MAX_SYN 16

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
	if (res->configuration_keys_count <= 0)
		return true; /* null or empty: every key, as Kafka's ConfigHelper */
	for (int32_t i = 0; i < res->configuration_keys_count; i++)
		if (rn_str_eq(res->configuration_keys[i], name))
			return true;
	return false;
}

static void add_syn(struct rn_ctx *ctx, SYN *s, int *n, const char *name, const char *v, int8_t src)
{
	if (!v || *n >= MAX_SYN)
		return;
	s[*n].name = rn_ctx_str(ctx, name);
	s[*n].value = rn_ctx_str(ctx, v);
	s[*n].source = src;
	(*n)++;
}

/* Every layer of one broker key that has a value, highest first. per_broker false leaves out
 * the per-broker layer (the cluster-default resource). */
static void broker_layers(struct rn_ctx *ctx, SYN *s, int *n, const char *name, bool per_broker)
{
	const struct rn_config *c = ctx->b->cfg;
	if (per_broker)
		add_syn(ctx, s, n, name, rn_config_layer_get(c, RN_CFG_DYN_BROKER, name),
			RN_CFG_SRC_DYNAMIC_BROKER);
	add_syn(ctx, s, n, name, rn_config_layer_get(c, RN_CFG_DYN_DEFAULT, name),
		RN_CFG_SRC_DYNAMIC_DEFAULT);
	add_syn(ctx, s, n, name, rn_config_static_get(c, name), RN_CFG_SRC_STATIC_BROKER);
	const struct rn_cfg_def *d = rn_config_def(name);
	if (d)
		add_syn(ctx, s, n, name, d->def, RN_CFG_SRC_DEFAULT);
}

static void finish_entry(struct rn_ctx *ctx, ENTRY *e, SYN *s, int n, bool synonyms, bool docs,
			 const char *doc)
{
	e->config_source = n > 0 ? s[0].source : RN_CFG_SRC_DEFAULT;
	e->is_default = e->config_source == RN_CFG_SRC_DEFAULT;
	e->synonyms = synonyms ? s : NULL;
	e->synonyms_count = synonyms ? n : 0;
	e->documentation = docs && doc && *doc ? rn_ctx_str(ctx, doc) : RN_STR_NULL;
}

static void topic_entry(struct rn_ctx *ctx, struct rn_topic *t, const struct rn_topic_cfg_def *d,
			bool synonyms, bool docs, ENTRY *e)
{
	SYN *s = rn_arena_alloc(&ctx->req->arena, MAX_SYN * sizeof(*s));
	int n = 0;
	for (int j = 0; j < t->nconfigs; j++)
		if (strcmp(t->configs[j].key, d->name) == 0)
			add_syn(ctx, s, &n, d->name, t->configs[j].val, RN_CFG_SRC_DYNAMIC_TOPIC);
	const char *names[3];
	int nn = rn_topic_cfg_synonyms(d, names);
	for (int j = 0; j < nn; j++)
		broker_layers(ctx, s, &n, names[j], true);
	e->name = rn_str_c(d->name);
	e->value = rn_ctx_str(
	    ctx, rn_topic_cfg_value(ctx->b->cfg, t->configs, t->nconfigs, d->name, NULL));
	e->read_only = false;
	e->is_sensitive = d->sensitive;
	e->config_type = wire_type(d->type);
	finish_entry(ctx, e, s, n, synonyms, docs, d->doc);
}

static void describe_topic(struct rn_ctx *ctx, const struct rn_describe_configs_request *rq,
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
	rn_topics_cfg_lock(false);
	for (size_t i = 0; i < nd; i++)
		if (wanted(res, defs[i].name))
			topic_entry(ctx, t, &defs[i], rq->include_synonyms,
				    rq->include_documentation, &r->configs[r->configs_count++]);
	rn_topics_cfg_unlock();
	rn_topic_put(ctx->b, t);
}

/* Kafka's DynamicBrokerConfig.brokerConfigSynonyms: the time keys share one chain. */
static int broker_synonyms(const char *name, const char *out[3])
{
	static const char *const chains[][4] = {
	    {"log.retention.ms", "log.retention.minutes", "log.retention.hours", NULL},
	    {"log.roll.ms", "log.roll.hours", NULL, NULL},
	    {"log.flush.interval.ms", "log.flush.scheduler.interval.ms", NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
		for (int j = 0; chains[i][j]; j++) {
			if (strcmp(chains[i][j], name) != 0)
				continue;
			int n = 0;
			for (; chains[i][n]; n++)
				out[n] = chains[i][n];
			return n;
		}
	}
	out[0] = name;
	return 1;
}

static void broker_entry(struct rn_ctx *ctx, const struct rn_cfg_def *d, bool per_broker,
			 bool synonyms, bool docs, ENTRY *e)
{
	SYN *s = rn_arena_alloc(&ctx->req->arena, MAX_SYN * sizeof(*s));
	int n = 0;
	const char *names[3];
	int nn = broker_synonyms(d->name, names);
	for (int j = 0; j < nn; j++)
		broker_layers(ctx, s, &n, names[j], per_broker);
	e->name = rn_str_c(d->name);
	const char *v = per_broker ? rn_config_get(ctx->b->cfg, d->name)
				   : rn_config_layer_get(ctx->b->cfg, RN_CFG_DYN_DEFAULT, d->name);
	e->value = rn_ctx_str(ctx, v);
	e->read_only = !rn_config_is_dynamic(d->name);
	e->is_sensitive = false;
	e->config_type = wire_type(d->type);
	finish_entry(ctx, e, s, n, synonyms, docs, d->doc);
}

/* Checks a broker resource name: "" or this node's id. Returns false with the error set. */
bool rn_broker_resource_ok(struct rn_ctx *ctx, struct rn_str name, int16_t *err, char *msg,
			   size_t msglen)
{
	if (name.len <= 0)
		return true;
	char buf[32];
	snprintf(buf, sizeof(buf), "%.*s", (int)(name.len < 31 ? name.len : 31), name.ptr);
	char *end;
	long id = strtol(buf, &end, 10);
	if (end == buf || *end) {
		snprintf(msg, msglen, "Broker id must be an integer, but it is: %s", buf);
		*err = RN_KERR_INVALID_REQUEST;
		return false;
	}
	if (id != ctx->b->node_id) {
		snprintf(msg, msglen,
			 "Unexpected broker id, expected %d or empty string, but received %s",
			 ctx->b->node_id, buf);
		*err = RN_KERR_INVALID_REQUEST;
		return false;
	}
	return true;
}

static void describe_broker(struct rn_ctx *ctx, const struct rn_describe_configs_request *rq,
			    struct rn_describe_configs_request_describe_configs_resource *res,
			    struct rn_describe_configs_response_describe_configs_result *r)
{
	char msg[160];
	if (!rn_broker_resource_ok(ctx, res->resource_name, &r->error_code, msg, sizeof(msg))) {
		r->error_message = rn_ctx_str(ctx, msg);
		return;
	}
	bool per_broker = res->resource_name.len > 0;
	size_t nd;
	const struct rn_cfg_def *defs = rn_config_defs(&nd);
	r->configs = rn_arena_alloc(&ctx->req->arena, (nd + 1) * sizeof(*r->configs));
	for (size_t i = 0; i < nd; i++) {
		if (!wanted(res, defs[i].name))
			continue;
		if (!per_broker &&
		    !rn_config_layer_get(ctx->b->cfg, RN_CFG_DYN_DEFAULT, defs[i].name))
			continue;
		broker_entry(ctx, &defs[i], per_broker, rq->include_synonyms,
			     rq->include_documentation, &r->configs[r->configs_count++]);
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
		if (res->resource_type == RES_TOPIC &&
		    !rn_allowed_view(ctx, RN_OP_DESCRIBE_CONFIGS, RN_RES_TOPIC,
				     res->resource_name.ptr, res->resource_name.len)) {
			r->error_code = RN_KERR_TOPIC_AUTHORIZATION_FAILED;
			r->error_message = rn_str_c("Topic authorization failed.");
		} else if (res->resource_type == RES_BROKER &&
			   !rn_allowed_cluster(ctx, RN_OP_DESCRIBE_CONFIGS)) {
			r->error_code = RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
			r->error_message = rn_str_c("Cluster authorization failed.");
		} else if (res->resource_type == RES_TOPIC) {
			describe_topic(ctx, &rq, res, r);
		} else if (res->resource_type == RES_BROKER) {
			describe_broker(ctx, &rq, res, r);
		} else {
			r->error_code = RN_KERR_INVALID_REQUEST;
			r->error_message = rn_str_c("Unsupported resource type");
		}
	}
	rn_respond_begin(ctx);
	rn_describe_configs_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
