/*
 * CreateTopics. One node: a replication factor above 1 is refused with Kafka's own message,
 * -1 (v4+) means the broker default; manual assignments must name this node only.
 * validate_only checks everything without creating. A cluster places the replicas over the
 * live brokers, or takes the manual assignment after Kafka's checks (topics_cluster.c).
 */
#include <stdio.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/topic_config.h"
#include "broker/topics.h"
#include "proto/gen/rn_msg.h"

static enum rn_kerr check_assignments(struct rn_ctx *ctx,
				      struct rn_create_topics_request_creatable_topic *ct,
				      int32_t *nparts, struct rn_assignment **out, char *msg,
				      size_t msglen)
{
	*out = NULL;
	if (ct->assignments_count <= 0)
		return RN_KERR_NONE;
	if (ct->num_partitions != -1 || ct->replication_factor != -1) {
		snprintf(msg, msglen,
			 "Both numPartitions or replicationFactor and "
			 "replicasAssignments were set. Both cannot be used at the "
			 "same time.");
		return RN_KERR_INVALID_REQUEST;
	}
	for (int32_t i = 0; i < ct->assignments_count; i++) {
		struct rn_create_topics_request_creatable_replica_assignment *as =
		    &ct->assignments[i];
		if (as->partition_index != i) {
			snprintf(msg, msglen,
				 "Partitions should be a consecutive 0-based integer "
				 "sequence");
			return RN_KERR_INVALID_REPLICA_ASSIGNMENT;
		}
		if (ctx->b->clustered)
			continue; /* the cluster's checks need the live brokers */
		if (as->broker_ids_count != 1 || as->broker_ids[0] != ctx->b->node_id) {
			snprintf(msg, msglen,
				 "Replica assignment must be [%d] on this single-node "
				 "cluster",
				 ctx->b->node_id);
			return RN_KERR_INVALID_REPLICA_ASSIGNMENT;
		}
	}
	*nparts = ct->assignments_count;
	if (ctx->b->clustered) {
		*out =
		    rn_arena_alloc(&ctx->req->arena, (size_t)ct->assignments_count * sizeof(**out));
		for (int32_t i = 0; i < ct->assignments_count; i++) {
			(*out)[i].n = ct->assignments[i].broker_ids_count;
			(*out)[i].ids = ct->assignments[i].broker_ids;
		}
	}
	return RN_KERR_NONE;
}

static void create_one(struct rn_ctx *ctx, struct rn_create_topics_request *rq,
		       struct rn_create_topics_request_creatable_topic *ct,
		       struct rn_create_topics_response_creatable_topic_result *r)
{
	struct rn_arena *a = &ctx->req->arena;
	char msg[512] = "";
	r->name = ct->name;
	r->error_message = RN_STR_NULL;
	r->num_partitions = -1;
	r->replication_factor = -1;
	r->configs_count = -1;
	int32_t nparts = ct->num_partitions;
	struct rn_assignment *assign;
	enum rn_kerr e = check_assignments(ctx, ct, &nparts, &assign, msg, sizeof(msg));
	bool clustered = ctx->b->clustered;
	if (e == RN_KERR_NONE && ct->replication_factor != -1 && ct->replication_factor <= 0) {
		e = RN_KERR_INVALID_REPLICATION_FACTOR;
		snprintf(msg, sizeof(msg),
			 "Replication factor must be larger than 0, or -1 to use "
			 "the default value.");
	} else if (e == RN_KERR_NONE && !clustered && ct->replication_factor > 1) {
		e = RN_KERR_INVALID_REPLICATION_FACTOR;
		snprintf(msg, sizeof(msg),
			 "Unable to replicate the partition %d time(s): The target replication "
			 "factor of %d cannot be reached because only 1 broker(s) are registered.",
			 ct->replication_factor, ct->replication_factor);
	}
	if (e == RN_KERR_NONE && nparts != -1 && nparts <= 0) {
		e = RN_KERR_INVALID_PARTITIONS;
		snprintf(msg, sizeof(msg),
			 "Number of partitions was set to an invalid non-positive "
			 "value.");
	}
	struct rn_cfg_kv *cfg = NULL;
	int ncfg = ct->configs_count > 0 ? ct->configs_count : 0;
	if (e == RN_KERR_NONE && ncfg) {
		cfg = rn_arena_alloc(a, (size_t)ncfg * sizeof(*cfg));
		for (int i = 0; i < ncfg; i++) {
			cfg[i].key = rn_ctx_strdup(ctx, ct->configs[i].name);
			cfg[i].val = rn_ctx_strdup(ctx, ct->configs[i].value);
			if (!cfg[i].key) {
				e = RN_KERR_INVALID_CONFIG;
				snprintf(msg, sizeof(msg), "Null config name");
				break;
			}
		}
	}
	int32_t rf = 1;
	if (e == RN_KERR_NONE) {
		char *name = rn_ctx_strdup(ctx, ct->name);
		if (clustered)
			e = rn_topic_create_replicated(ctx->b, name ? name : "", nparts,
						       ct->replication_factor, assign, cfg, ncfg,
						       rq->validate_only, &rf, msg, sizeof(msg));
		else
			e = rn_topic_create(ctx->b, name ? name : "", nparts, cfg, ncfg,
					    rq->validate_only, msg, sizeof(msg));
	}
	r->error_code = e;
	if (e != RN_KERR_NONE) {
		r->error_message = rn_ctx_str(ctx, msg);
		return;
	}
	struct rn_topic *t =
	    ct->name.len > 0 ? rn_topic_get(ctx->b, ct->name.ptr, (size_t)ct->name.len) : NULL;
	r->num_partitions = t ? t->npart : (nparts == -1 ? ctx->b->num_partitions : nparts);
	r->replication_factor = (int16_t)rf;
	if (t) {
		memcpy(r->topic_id.b, t->id, 16);
		rn_topic_put(ctx->b, t);
	}
	/* v5+ returns the topic's effective configs, to a principal that may describe them. */
	if (!rn_allowed_view(ctx, RN_OP_DESCRIBE_CONFIGS, RN_RES_TOPIC, ct->name.ptr,
			     ct->name.len)) {
		r->topic_config_error_code = RN_KERR_TOPIC_AUTHORIZATION_FAILED;
		r->configs_count = -1;
		return;
	}
	size_t ndefs;
	const struct rn_topic_cfg_def *defs = rn_topic_cfg_defs(&ndefs);
	r->configs = rn_arena_alloc(a, ndefs * sizeof(*r->configs));
	r->configs_count = (int32_t)ndefs;
	for (size_t i = 0; i < ndefs; i++) {
		bool is_def;
		const char *v = rn_topic_cfg_value(ctx->b->cfg, cfg, ncfg, defs[i].name, &is_def);
		r->configs[i].name = rn_str_c(defs[i].name);
		r->configs[i].value = rn_ctx_str(ctx, v);
		r->configs[i].read_only = false;
		r->configs[i].config_source =
		    (int8_t)rn_topic_cfg_source(ctx->b->cfg, cfg, ncfg, &defs[i]);
		r->configs[i].is_sensitive = false;
	}
}

void rn_h_create_topics(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_create_topics_request rq;
	if (rn_create_topics_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed CreateTopics request");
		return;
	}
	struct rn_create_topics_response resp = {0};
	resp.topics_count = rq.topics_count > 0 ? rq.topics_count : 0;
	resp.topics = rn_arena_alloc(&ctx->req->arena,
				     (size_t)(resp.topics_count + 1) * sizeof(*resp.topics));
	bool cluster_ok = rn_allowed_quiet(ctx, RN_OP_CREATE, RN_RES_CLUSTER, RN_CLUSTER_RESOURCE,
					   sizeof(RN_CLUSTER_RESOURCE) - 1);
	for (int32_t i = 0; i < resp.topics_count; i++) {
		/* Kafka refuses a name given twice in one request, for every copy. */
		bool dup = false;
		for (int32_t j = 0; j < resp.topics_count; j++)
			if (j != i && rq.topics[j].name.len == rq.topics[i].name.len &&
			    rq.topics[i].name.len > 0 &&
			    !memcmp(rq.topics[j].name.ptr, rq.topics[i].name.ptr,
				    (size_t)rq.topics[i].name.len))
				dup = true;
		if (dup) {
			resp.topics[i].name = rq.topics[i].name;
			resp.topics[i].error_code = RN_KERR_INVALID_REQUEST;
			resp.topics[i].error_message =
			    rn_str_c("Create topics request from client contains duplicate "
				     "topic names");
			resp.topics[i].num_partitions = -1;
			resp.topics[i].replication_factor = -1;
			resp.topics[i].configs_count = -1;
			continue;
		}
		/* Kafka: CREATE on the cluster covers every topic, else CREATE on each. */
		if (!cluster_ok && !rn_allowed_view(ctx, RN_OP_CREATE, RN_RES_TOPIC,
						    rq.topics[i].name.ptr, rq.topics[i].name.len)) {
			resp.topics[i].name = rq.topics[i].name;
			resp.topics[i].error_code = RN_KERR_TOPIC_AUTHORIZATION_FAILED;
			resp.topics[i].error_message = rn_str_c("Authorization failed.");
			resp.topics[i].num_partitions = -1;
			resp.topics[i].replication_factor = -1;
			resp.topics[i].configs_count = -1;
			continue;
		}
		create_one(ctx, &rq, &rq.topics[i], &resp.topics[i]);
	}
	rn_respond_begin(ctx);
	rn_create_topics_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
