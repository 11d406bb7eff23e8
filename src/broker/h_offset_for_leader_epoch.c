/*
 * OffsetForLeaderEpoch: the end offset of a leader epoch, from the partition's leader-epoch
 * cache (storage's rn_partition_epoch_end_offset, Kafka's LeaderEpochFileCache.endOffsetFor).
 * Consumers use it after a leader change to detect log truncation (KIP-320), followers to
 * truncate. current_leader_epoch (v2+, -1 = not given) fences as Kafka's Partition does:
 * FENCED_LEADER_EPOCH when ours is newer, UNKNOWN_LEADER_EPOCH when theirs is. replica_id (v3+)
 * is accepted and, as in Kafka 3.7, changes nothing.
 */
#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/leader.h"
#include "broker/topics.h"
#include "proto/gen/rn_msg.h"
#include "storage/partition.h"

static void one(struct rn_broker *b, struct rn_topic *t,
		const struct rn_offset_for_leader_epoch_request_offset_for_leader_partition *rp,
		struct rn_offset_for_leader_epoch_response_epoch_end_offset *pr)
{
	pr->partition = rp->partition;
	pr->leader_epoch = -1;
	pr->end_offset = -1;
	struct rn_partition *p;
	int32_t cur;
	pr->error_code = rn_leader_partition_in(b, t, rp->partition, &p);
	if (!pr->error_code)
		pr->error_code =
		    rn_leader_fence(t, rp->partition, p, rp->current_leader_epoch, &cur);
	if (pr->error_code)
		return;
	rn_partition_epoch_end_offset(p, rp->leader_epoch, &pr->leader_epoch, &pr->end_offset);
}

void rn_h_offset_for_leader_epoch(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_offset_for_leader_epoch_request rq;
	if (rn_offset_for_leader_epoch_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed OffsetForLeaderEpoch request");
		return;
	}
	struct rn_arena *a = &ctx->req->arena;
	struct rn_offset_for_leader_epoch_response resp = {0};
	int32_t nt = rq.topics_count > 0 ? rq.topics_count : 0;
	resp.topics_count = nt;
	resp.topics = rn_arena_alloc(a, (size_t)(nt + 1) * sizeof(*resp.topics));
	/* Kafka: CLUSTER_ACTION (followers) covers every topic, else DESCRIBE per topic. */
	bool every = rn_allowed_quiet(ctx, RN_OP_CLUSTER_ACTION, RN_RES_CLUSTER,
				      RN_CLUSTER_RESOURCE, sizeof(RN_CLUSTER_RESOURCE) - 1);
	for (int32_t i = 0; i < nt; i++) {
		struct rn_offset_for_leader_epoch_request_offset_for_leader_topic *rt =
		    &rq.topics[i];
		struct rn_offset_for_leader_epoch_response_offset_for_leader_topic_result *tr =
		    &resp.topics[i];
		tr->topic = rt->topic;
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
		tr->partitions_count = np;
		tr->partitions = rn_arena_alloc(a, (size_t)(np + 1) * sizeof(*tr->partitions));
		if (!every && !rn_allowed_view(ctx, RN_OP_DESCRIBE, RN_RES_TOPIC, rt->topic.ptr,
					       rt->topic.len)) {
			for (int32_t j = 0; j < np; j++)
				tr->partitions[j] =
				    (struct rn_offset_for_leader_epoch_response_epoch_end_offset){
					.error_code = RN_KERR_TOPIC_AUTHORIZATION_FAILED,
					.partition = rt->partitions[j].partition,
					.leader_epoch = -1,
					.end_offset = -1};
			continue;
		}
		struct rn_topic *t =
		    rt->topic.len > 0 ? rn_topic_get(ctx->b, rt->topic.ptr, (size_t)rt->topic.len)
				      : NULL;
		for (int32_t j = 0; j < np; j++)
			one(ctx->b, t, &rt->partitions[j], &tr->partitions[j]);
		if (t)
			rn_topic_put(ctx->b, t);
	}
	rn_respond_begin(ctx);
	rn_offset_for_leader_epoch_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
