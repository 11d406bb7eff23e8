/* CreatePartitions: grow a topic (never shrink); manual assignments must name this node. A
 * cluster places the new replicas over the live brokers, or checks the manual assignment as
 * Kafka does (topics_cluster.c). */
#include <stdio.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/topics.h"
#include "proto/gen/rn_msg.h"

static enum rn_kerr add_replicated(struct rn_ctx *ctx, bool validate_only,
				   struct rn_create_partitions_request_create_partitions_topic *ct,
				   char *msg, size_t msglen)
{
	struct rn_assignment *as = NULL;
	int32_t n = ct->assignments_count;
	if (n >= 0) {
		as = rn_arena_alloc(&ctx->req->arena, ((size_t)n + 1) * sizeof(*as));
		for (int32_t j = 0; j < n; j++) {
			as[j].n = ct->assignments[j].broker_ids_count;
			as[j].ids = ct->assignments[j].broker_ids;
		}
	}
	char *name = rn_ctx_strdup(ctx, ct->name);
	return rn_topic_add_partitions_replicated(ctx->b, name ? name : "", ct->count, as,
						  n > 0 ? n : 0, validate_only, msg, msglen);
}

void rn_h_create_partitions(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_create_partitions_request rq;
	if (rn_create_partitions_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed CreatePartitions request");
		return;
	}
	struct rn_arena *a = &ctx->req->arena;
	struct rn_create_partitions_response resp = {0};
	int32_t n = rq.topics_count > 0 ? rq.topics_count : 0;
	resp.results_count = n;
	resp.results = rn_arena_alloc(a, (size_t)(n + 1) * sizeof(*resp.results));
	for (int32_t i = 0; i < n; i++) {
		struct rn_create_partitions_request_create_partitions_topic *ct = &rq.topics[i];
		struct rn_create_partitions_response_create_partitions_topic_result *r =
		    &resp.results[i];
		char msg[256] = "";
		r->name = ct->name;
		r->error_message = RN_STR_NULL;
		enum rn_kerr e = RN_KERR_NONE;
		if (!rn_allowed_view(ctx, RN_OP_ALTER, RN_RES_TOPIC, ct->name.ptr, ct->name.len)) {
			r->error_code = RN_KERR_TOPIC_AUTHORIZATION_FAILED;
			continue;
		}
		if (ctx->b->clustered) {
			r->error_code = add_replicated(ctx, rq.validate_only, ct, msg, sizeof(msg));
			if (r->error_code != RN_KERR_NONE)
				r->error_message = rn_ctx_str(ctx, msg);
			continue;
		}
		for (int32_t j = 0; j < ct->assignments_count && e == RN_KERR_NONE; j++) {
			struct rn_create_partitions_request_create_partitions_assignment *as =
			    &ct->assignments[j];
			if (as->broker_ids_count != 1 || as->broker_ids[0] != ctx->b->node_id) {
				e = RN_KERR_INVALID_REPLICA_ASSIGNMENT;
				snprintf(msg, sizeof(msg), "Replica assignment must be [%d]",
					 ctx->b->node_id);
			}
		}
		if (e == RN_KERR_NONE) {
			char *name = rn_ctx_strdup(ctx, ct->name);
			e = rn_topic_add_partitions(ctx->b, name ? name : "", ct->count,
						    rq.validate_only, msg, sizeof(msg));
		}
		r->error_code = e;
		if (e != RN_KERR_NONE)
			r->error_message = rn_ctx_str(ctx, msg);
	}
	rn_respond_begin(ctx);
	rn_create_partitions_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
