/*
 * AlterPartitionReassignments (KIP-455): per partition, start moving it to the given replicas
 * or cancel (null replicas) the move in flight, as Kafka's KRaft controller
 * (ReplicationControlManager.alterPartitionReassignment): UNKNOWN_TOPIC_OR_PARTITION,
 * INVALID_REPLICA_ASSIGNMENT (empty, duplicate or unregistered brokers; a cancel that would
 * need an unclean election where it is not enabled), NO_REASSIGNMENT_IN_PROGRESS (cancel
 * without one), else NONE once the first step is written; the controller finishes the move
 * (replica/reassign.c). A single broker has itself as only registered broker: [self] is a
 * no-op, any other broker is INVALID_REPLICA_ASSIGNMENT.
 */
#include <string.h>

#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/topic_config.h"
#include "broker/topics.h"
#include "meta/cluster.h"
#include "proto/gen/rn_msg.h"
#include "replica/controller.h"

static const char *message_for(int16_t kerr)
{
	switch (kerr) {
	case RN_KERR_UNKNOWN_TOPIC_OR_PARTITION: return "The partition does not exist.";
	case RN_KERR_INVALID_REPLICA_ASSIGNMENT:
		return "The replica list is empty, names a broker twice or a broker that is not "
		       "registered, or reverting it would need an unclean leader election.";
	case RN_KERR_NO_REASSIGNMENT_IN_PROGRESS:
		return "No partition reassignment is in progress.";
	case RN_KERR_REQUEST_TIMED_OUT: return "The metadata store did not answer.";
	default: return NULL;
	}
}

/* The topic's unclean.leader.election.enable, which a cancel may need. */
static bool unclean_enabled(struct rn_broker *b, struct rn_topic *t)
{
	rn_topics_cfg_lock(false);
	bool is_default;
	const char *v = rn_topic_cfg_value(b->cfg, t->configs, t->nconfigs,
					   "unclean.leader.election.enable", &is_default);
	bool on = v && strcmp(v, "true") == 0;
	rn_topics_cfg_unlock();
	return on;
}

static int16_t
single_broker(struct rn_broker *b,
	      const struct rn_alter_partition_reassignments_request_reassignable_partition *p)
{
	if (p->replicas_count < 0)
		return RN_KERR_NO_REASSIGNMENT_IN_PROGRESS;
	if (p->replicas_count != 1 || p->replicas[0] != b->node_id)
		return RN_KERR_INVALID_REPLICA_ASSIGNMENT;
	return RN_KERR_NONE;
}

static int16_t
alter_one(struct rn_ctx *ctx, const char *topic,
	  const struct rn_alter_partition_reassignments_request_reassignable_partition *p)
{
	struct rn_broker *b = ctx->b;
	struct rn_topic *t = rn_topic_get(b, topic, strlen(topic));
	if (!t || p->partition_index < 0 || p->partition_index >= t->npart) {
		if (t)
			rn_topic_put(b, t);
		return RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
	}
	int16_t kerr;
	if (!b->clustered)
		kerr = single_broker(b, p);
	else if (p->replicas_count > RN_MAX_REPLICAS)
		kerr = RN_KERR_INVALID_REPLICA_ASSIGNMENT;
	else
		kerr = rn_controller_reassign(b->meta, topic, p->partition_index,
					      p->replicas_count < 0 ? NULL : p->replicas,
					      p->replicas_count, unclean_enabled(b, t));
	rn_topic_put(b, t);
	return kerr;
}

void rn_h_alter_partition_reassignments(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_alter_partition_reassignments_request rq;
	if (rn_alter_partition_reassignments_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed AlterPartitionReassignments request");
		return;
	}
	struct rn_arena *a = &ctx->req->arena;
	struct rn_alter_partition_reassignments_response resp = {0};
	resp.error_message = RN_STR_NULL;
	int32_t nt = rq.topics_count > 0 ? rq.topics_count : 0;
	resp.responses_count = nt;
	resp.responses = rn_arena_alloc(a, (size_t)(nt + 1) * sizeof(*resp.responses));
	/* Kafka: ALTER on the cluster; the error at the top and on every partition. */
	bool allowed = rn_allowed_cluster(ctx, RN_OP_ALTER);
	if (!allowed)
		resp.error_code = RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
	for (int32_t i = 0; i < nt; i++) {
		const struct rn_alter_partition_reassignments_request_reassignable_topic *rt =
		    &rq.topics[i];
		struct rn_alter_partition_reassignments_response_reassignable_topic_response *out =
		    &resp.responses[i];
		char *name = rn_ctx_strdup(ctx, rt->name);
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
		out->name = rt->name;
		out->partitions_count = np;
		out->partitions = rn_arena_alloc(a, (size_t)(np + 1) * sizeof(*out->partitions));
		for (int32_t j = 0; j < np; j++) {
			int16_t kerr = allowed
					   ? alter_one(ctx, name ? name : "", &rt->partitions[j])
					   : RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
			out->partitions[j].partition_index = rt->partitions[j].partition_index;
			out->partitions[j].error_code = kerr;
			out->partitions[j].error_message = rn_ctx_str(ctx, message_for(kerr));
		}
	}
	rn_respond_begin(ctx);
	rn_alter_partition_reassignments_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
