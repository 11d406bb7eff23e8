/*
 * ListOffsets: -1 = latest (the high watermark, or the last stable offset for read_committed),
 * -2 = earliest (log start offset), otherwise the first offset whose timestamp is >= the given
 * one (KIP-79), or -1/-1 when there is none. v0 answers with an array of offsets.
 */
#include "broker/handler.h"
#include "broker/topics.h"
#include "core/err.h"
#include "proto/gen/rn_msg.h"
#include "storage/partition.h"

static void one(struct rn_ctx *ctx, struct rn_topic *t, int8_t isolation,
		struct rn_list_offsets_request_list_offsets_partition *rp,
		struct rn_list_offsets_response_list_offsets_partition_response *pr)
{
	pr->partition_index = rp->partition_index;
	pr->timestamp = -1;
	pr->offset = -1;
	pr->leader_epoch = -1;
	if (!t || rp->partition_index < 0 || rp->partition_index >= t->npart) {
		pr->error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	struct rn_partition *p = t->parts[rp->partition_index].log;
	if (!p || rn_partition_offline(p)) {
		pr->error_code = RN_KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	pr->leader_epoch = rn_partition_leader_epoch(p);
	int64_t ts = rp->timestamp;
	if (ts == -1) {
		pr->offset =
		    isolation == 1 ? rn_partition_last_stable(p) : rn_partition_high_watermark(p);
	} else if (ts == -2) {
		pr->offset = rn_partition_log_start(p);
	} else if (ts < 0) {
		pr->error_code = RN_KERR_UNSUPPORTED_VERSION;
		return;
	} else {
		int64_t off, found_ts;
		int rc = rn_partition_offset_for_time(p, ts, &off, &found_ts);
		if (rc < 0) {
			pr->error_code = (int16_t)rn_kerr_from(rc);
			return;
		}
		pr->offset = off;
		pr->timestamp = found_ts;
	}
	if (ctx->hdr.api_version == 0) {
		pr->old_style_offsets = rn_arena_alloc(&ctx->req->arena, sizeof(int64_t));
		pr->old_style_offsets[0] = pr->offset;
		pr->old_style_offsets_count = pr->offset >= 0 ? 1 : 0;
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
		struct rn_list_offsets_request_list_offsets_topic *rt = &rq.topics[i];
		struct rn_list_offsets_response_list_offsets_topic_response *tr = &resp.topics[i];
		tr->name = rt->name;
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
		tr->partitions_count = np;
		tr->partitions = rn_arena_alloc(a, (size_t)(np + 1) * sizeof(*tr->partitions));
		struct rn_topic *t = rt->name.len > 0
					 ? rn_topic_get(ctx->b, rt->name.ptr, (size_t)rt->name.len)
					 : NULL;
		for (int32_t j = 0; j < np; j++)
			one(ctx, t, rq.isolation_level, &rt->partitions[j], &tr->partitions[j]);
		if (t)
			rn_topic_put(ctx->b, t);
	}
	rn_respond_begin(ctx);
	rn_list_offsets_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
