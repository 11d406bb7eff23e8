/*
 * ListOffsets v0-v8, as Kafka 3.7's KafkaApis and Partition.fetchOffsetForTimestamp:
 *
 *   -1 latest          the high watermark (the last stable offset for read_committed),
 *                      with the current leader epoch
 *   -2 earliest        the log start offset, with the epoch of the first leader-epoch entry
 *   -4 earliest local  (KIP-405, v8) the same: there is no tiered storage
 *   -3 max timestamp   (KIP-734, v7) the first record with the largest timestamp
 *   other              the first record whose timestamp is >= it (KIP-79)
 *
 * Time lookups answer only offsets below the last fetchable one (high watermark, or LSO for
 * read_committed) and carry the found batch's leader epoch; -1/-1 when nothing qualifies.
 * Requests from a consumer (replica_id -1) honour isolation_level; others (replicas, debug
 * tools) read up to the log end, which is the high watermark on one broker.
 * current_leader_epoch (v4+) fences: FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH. A partition
 * named twice in one request gets INVALID_REQUEST on each occurrence (v1+).
 * v0 answers the legacy offsets array (MaxNumOffsets of segment start offsets, by mtime).
 */
#include <stdlib.h>

#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/leader.h"
#include "broker/topics.h"
#include "broker/tp.h"
#include "core/err.h"
#include "proto/gen/rn_msg.h"
#include "storage/partition.h"

static void legacy(struct rn_ctx *ctx, struct rn_partition *p,
		   const struct rn_list_offsets_request_list_offsets_partition *rp,
		   struct rn_list_offsets_response_list_offsets_partition_response *pr)
{
	int64_t *offs;
	int n = rn_partition_legacy_offsets(p, rp->timestamp, rp->max_num_offsets, &offs,
					    &ctx->req->arena);
	pr->old_style_offsets = offs;
	pr->old_style_offsets_count = n;
}

/* The answer of a v1+ request for p (error already checked). */
static void lookup(struct rn_partition *p, int32_t replica_id, int8_t isolation, int64_t ts,
		   struct rn_list_offsets_response_list_offsets_partition_response *pr)
{
	/* Kafka's lastFetchableOffset: a consumer's (replica -1) ends at the LSO or the high
	 * watermark, a replica's or the debug id's (-2) at the log end (one broker: the same). */
	int64_t fetchable = replica_id != -1 ? rn_partition_log_end(p)
			    : isolation == 1 ? rn_partition_last_stable(p)
					     : rn_partition_high_watermark(p);
	struct rn_offset_found f = {-1, -1, -1};
	int rc = 0;
	if (ts == -1) {
		f = (struct rn_offset_found){fetchable, -1, rn_partition_leader_epoch(p)};
	} else if (ts == -2 || ts == -4) {
		f = (struct rn_offset_found){rn_partition_log_start(p), -1,
					     rn_partition_earliest_epoch(p)};
	} else {
		rc = ts == -3 ? rn_partition_find_max_timestamp(p, &f)
			      : rn_partition_find_offset(p, ts, &f);
		if (rc == 0 && f.offset >= fetchable)
			f = (struct rn_offset_found){-1, -1, -1};
	}
	pr->error_code = (int16_t)rn_kerr_from(rc);
	if (rc == 0) {
		pr->offset = f.offset;
		pr->timestamp = f.timestamp;
		pr->leader_epoch = f.leader_epoch;
	}
}

static void one(struct rn_ctx *ctx, struct rn_topic *t, const struct rn_list_offsets_request *rq,
		const struct rn_list_offsets_request_list_offsets_partition *rp,
		struct rn_list_offsets_response_list_offsets_partition_response *pr)
{
	pr->partition_index = rp->partition_index;
	if (pr->error_code) /* a duplicate */
		return;
	struct rn_partition *p;
	pr->error_code = rn_leader_partition_in(ctx->b, t, rp->partition_index, &p);
	if (pr->error_code)
		return;
	if (ctx->hdr.api_version == 0) {
		legacy(ctx, p, rp, pr);
		return;
	}
	int32_t cur;
	pr->error_code = rn_leader_fence(t, rp->partition_index, p, rp->current_leader_epoch, &cur);
	if (pr->error_code)
		return;
	lookup(p, rq->replica_id, rq->isolation_level, rp->timestamp, pr);
}

/* Kafka's duplicatePartitions: every (topic, partition) asked for more than once. */
struct tp_ref {
	struct rn_tp tp; /* first: rn_tp_cmp orders these */
	struct rn_list_offsets_response_list_offsets_partition_response *resp;
};

static void mark_duplicates(struct rn_ctx *ctx, const struct rn_list_offsets_request *rq,
			    struct rn_list_offsets_response *resp)
{
	size_t n = 0;
	for (int32_t i = 0; i < resp->topics_count; i++)
		n += (size_t)resp->topics[i].partitions_count;
	if (n < 2)
		return;
	struct tp_ref *v = rn_arena_alloc(&ctx->req->arena, n * sizeof(*v));
	size_t k = 0;
	for (int32_t i = 0; i < resp->topics_count; i++)
		for (int32_t j = 0; j < resp->topics[i].partitions_count; j++)
			v[k++] = (struct tp_ref){
			    {rq->topics[i].name, rq->topics[i].partitions[j].partition_index},
			    &resp->topics[i].partitions[j]};
	qsort(v, n, sizeof(*v), rn_tp_cmp);
	for (size_t i = 1; i < n; i++) {
		if (rn_tp_cmp(&v[i - 1], &v[i]) == 0) {
			v[i - 1].resp->error_code = RN_KERR_INVALID_REQUEST;
			v[i].resp->error_code = RN_KERR_INVALID_REQUEST;
		}
	}
}

void rn_h_list_offsets(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_list_offsets_request rq;
	if (rn_list_offsets_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed ListOffsets request");
		return;
	}
	struct rn_arena *a = &ctx->req->arena;
	struct rn_list_offsets_response resp = {0};
	resp.topics_count = rq.topics_count > 0 ? rq.topics_count : 0;
	resp.topics = rn_arena_alloc(a, (size_t)(resp.topics_count + 1) * sizeof(*resp.topics));
	for (int32_t i = 0; i < resp.topics_count; i++) {
		struct rn_list_offsets_response_list_offsets_topic_response *tr = &resp.topics[i];
		int32_t np = rq.topics[i].partitions_count > 0 ? rq.topics[i].partitions_count : 0;
		tr->name = rq.topics[i].name;
		tr->partitions_count = np;
		tr->partitions = rn_arena_alloc(a, (size_t)(np + 1) * sizeof(*tr->partitions));
		for (int32_t j = 0; j < np; j++)
			tr->partitions[j] =
			    (struct rn_list_offsets_response_list_offsets_partition_response){
				.timestamp = -1, .offset = -1, .leader_epoch = -1};
	}
	if (ver >= 1)
		mark_duplicates(ctx, &rq, &resp);
	/* Kafka: DESCRIBE per topic; one() keeps an error already set. */
	for (int32_t i = 0; i < resp.topics_count; i++)
		if (!rn_allowed_view(ctx, RN_OP_DESCRIBE, RN_RES_TOPIC, rq.topics[i].name.ptr,
				     rq.topics[i].name.len))
			for (int32_t j = 0; j < resp.topics[i].partitions_count; j++)
				resp.topics[i].partitions[j].error_code =
				    RN_KERR_TOPIC_AUTHORIZATION_FAILED;
	for (int32_t i = 0; i < resp.topics_count; i++) {
		struct rn_list_offsets_request_list_offsets_topic *rt = &rq.topics[i];
		struct rn_topic *t = rt->name.len > 0
					 ? rn_topic_get(ctx->b, rt->name.ptr, (size_t)rt->name.len)
					 : NULL;
		for (int32_t j = 0; j < resp.topics[i].partitions_count; j++)
			one(ctx, t, &rq, &rt->partitions[j], &resp.topics[i].partitions[j]);
		if (t)
			rn_topic_put(ctx->b, t);
	}
	rn_respond_begin(ctx);
	rn_list_offsets_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
