/*
 * AlterConfigs (v0-v2) and IncrementalAlterConfigs (v0-v1) for topics (resource type 2) and
 * the broker's dynamic keys (4): each resource is decoded into a list of changes and handed to
 * config_alter.c, which validates, persists and applies them. AlterConfigs replaces a
 * resource's whole override set (Kafka's legacy semantics); IncrementalAlterConfigs edits
 * single keys with SET, DELETE, APPEND and SUBTRACT.
 */
#include <stdio.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/config_alter.h"
#include "broker/handler.h"
#include "proto/gen/rn_msg.h"

enum { RES_TOPIC = 2, RES_BROKER = 4 };

/* One change as config_alter.c takes it: C strings in the request arena, a null value (a
 * key to unset) as NULL. Both APIs' config entries are a name and a nullable value. */
static struct rn_cfg_change change(struct rn_ctx *ctx, struct rn_str name, struct rn_str value,
				   int8_t op)
{
	return (struct rn_cfg_change){.key = rn_ctx_strdup(ctx, name),
				      .val = value.ptr ? rn_ctx_strdup(ctx, value) : NULL,
				      .op = op};
}

/* One resource, whichever API it came from. */
static void alter_resource(struct rn_ctx *ctx, int8_t type, struct rn_str name,
			   struct rn_cfg_change *ch, int n, bool replace, bool validate_only,
			   int16_t *err, struct rn_str *err_msg)
{
	char msg[512] = "";
	enum rn_kerr kerr;
	if (type == RES_TOPIC &&
	    !rn_allowed_view(ctx, RN_OP_ALTER_CONFIGS, RN_RES_TOPIC, name.ptr, name.len)) {
		kerr = RN_KERR_TOPIC_AUTHORIZATION_FAILED;
		snprintf(msg, sizeof(msg), "Topic authorization failed.");
	} else if (type == RES_BROKER && !rn_allowed_cluster(ctx, RN_OP_ALTER_CONFIGS)) {
		kerr = RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
		snprintf(msg, sizeof(msg), "Cluster authorization failed.");
	} else if (type == RES_TOPIC) {
		kerr = rn_topic_alter_configs(ctx->b, rn_ctx_strdup(ctx, name), ch, n, replace,
					      validate_only, msg, sizeof(msg));
	} else if (type == RES_BROKER) {
		int16_t e = 0;
		if (!rn_broker_resource_ok(ctx, name, &e, msg, sizeof(msg)))
			kerr = (enum rn_kerr)e;
		else
			kerr = rn_broker_alter_configs(ctx->b, name.len > 0, ch, n, replace,
						       validate_only, msg, sizeof(msg));
	} else {
		kerr = RN_KERR_INVALID_REQUEST;
		snprintf(msg, sizeof(msg), "Unsupported resource type %d", type);
	}
	*err = (int16_t)kerr;
	*err_msg = kerr == RN_KERR_NONE ? RN_STR_NULL : rn_ctx_str(ctx, msg);
}

void rn_h_alter_configs(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_alter_configs_request rq;
	if (rn_alter_configs_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed AlterConfigs request");
		return;
	}
	struct rn_arena *a = &ctx->req->arena;
	struct rn_alter_configs_response resp = {0};
	int32_t n = rq.resources_count > 0 ? rq.resources_count : 0;
	resp.responses_count = n;
	resp.responses = rn_arena_alloc(a, (size_t)(n + 1) * sizeof(*resp.responses));
	for (int32_t i = 0; i < n; i++) {
		struct rn_alter_configs_request_alter_configs_resource *res = &rq.resources[i];
		struct rn_alter_configs_response_alter_configs_resource_response *r =
		    &resp.responses[i];
		r->resource_type = res->resource_type;
		r->resource_name = res->resource_name;
		int nc = res->configs_count > 0 ? res->configs_count : 0;
		struct rn_cfg_change *ch = rn_arena_alloc(a, (size_t)(nc + 1) * sizeof(*ch));
		for (int j = 0; j < nc; j++)
			ch[j] =
			    change(ctx, res->configs[j].name, res->configs[j].value, RN_CFG_OP_SET);
		alter_resource(ctx, res->resource_type, res->resource_name, ch, nc, true,
			       rq.validate_only, &r->error_code, &r->error_message);
	}
	rn_respond_begin(ctx);
	rn_alter_configs_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}

void rn_h_incremental_alter_configs(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_incremental_alter_configs_request rq;
	if (rn_incremental_alter_configs_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed IncrementalAlterConfigs request");
		return;
	}
	struct rn_arena *a = &ctx->req->arena;
	struct rn_incremental_alter_configs_response resp = {0};
	int32_t n = rq.resources_count > 0 ? rq.resources_count : 0;
	resp.responses_count = n;
	resp.responses = rn_arena_alloc(a, (size_t)(n + 1) * sizeof(*resp.responses));
	for (int32_t i = 0; i < n; i++) {
		struct rn_incremental_alter_configs_request_alter_configs_resource *res =
		    &rq.resources[i];
		struct rn_incremental_alter_configs_response_alter_configs_resource_response *r =
		    &resp.responses[i];
		r->resource_type = res->resource_type;
		r->resource_name = res->resource_name;
		int nc = res->configs_count > 0 ? res->configs_count : 0;
		struct rn_cfg_change *ch = rn_arena_alloc(a, (size_t)(nc + 1) * sizeof(*ch));
		for (int j = 0; j < nc; j++)
			ch[j] = change(ctx, res->configs[j].name, res->configs[j].value,
				       res->configs[j].config_operation);
		alter_resource(ctx, res->resource_type, res->resource_name, ch, nc, false,
			       rq.validate_only, &r->error_code, &r->error_message);
	}
	rn_respond_begin(ctx);
	rn_incremental_alter_configs_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
