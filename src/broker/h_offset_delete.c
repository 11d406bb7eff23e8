/*
 * OffsetDelete: removes committed offsets (tombstones). An Empty group loses any of them; a
 * consumer group with members keeps those of topics its members subscribe to
 * (GROUP_SUBSCRIBED_TO_TOPIC); a non-consumer group with members refuses (NON_EMPTY_GROUP).
 * An Empty group left without offsets is deleted (its metadata tombstone), as in Kafka.
 */
#include <string.h>

#include "broker/authz.h"
#include "broker/groups.h"
#include "broker/handler.h"
#include "broker/topics.h"
#include "core/alloc.h"
#include "group/tombstones.h"
#include "proto/gen/rn_msg.h"

static bool partition_exists(struct rn_ctx *ctx, const char *topic, int32_t part)
{
	struct rn_topic *t = topic ? rn_topic_get(ctx->b, topic, strlen(topic)) : NULL;
	bool ok = t && part >= 0 && part < t->npart;
	if (t)
		rn_topic_put(ctx->b, t);
	return ok;
}

static int16_t delete_one(struct rn_ctx *ctx, struct rn_group *g, const char *topic, int32_t part)
{
	if (!partition_exists(ctx, topic, part))
		return RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
	if (g->state != RN_GROUP_EMPTY && rn_gc_subscribed(g, topic))
		return RN_KERR_GROUP_SUBSCRIBED_TO_TOPIC;
	if (!rn_gc_offset_get(g, topic, part))
		return RN_KERR_NONE;
	struct rn_buf k = {0};
	rn_gc_key_offset(&k, g->id, topic, part);
	struct rn_gc_rec r = {k.data, (int32_t)k.len, NULL, -1};
	int rc = rn_groups_write(g->id, &r, 1, NULL, NULL);
	rn_buf_free(&k);
	if (rc < 0)
		return RN_KERR_COORDINATOR_NOT_AVAILABLE;
	rn_gc_offset_set(g, topic, part, NULL);
	return RN_KERR_NONE;
}

void rn_h_offset_delete(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_offset_delete_request rq;
	if (rn_offset_delete_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed OffsetDelete request");
		return;
	}
	struct rn_arena *a = &ctx->req->arena;
	struct rn_offset_delete_response resp = {0};
	char *id = rn_ctx_strdup(ctx, rq.group_id);
	resp.error_code = RN_KERR_GROUP_AUTHORIZATION_FAILED;
	struct rn_gc *gc =
	    rn_allowed_view(ctx, RN_OP_DELETE, RN_RES_GROUP, rq.group_id.ptr, rq.group_id.len)
		? rn_groups_lock_group(id, &resp.error_code)
		: NULL;
	struct rn_group *g = gc && id ? rn_gc_group(gc, id) : NULL;
	if (!gc)
		; /* resp.error_code says why */
	else if (!id || !*id)
		resp.error_code = RN_KERR_INVALID_GROUP_ID;
	else if (!g || g->state == RN_GROUP_DEAD)
		resp.error_code = RN_KERR_GROUP_ID_NOT_FOUND;
	else if (g->state != RN_GROUP_EMPTY &&
		 (!g->protocol_type || strcmp(g->protocol_type, "consumer")))
		resp.error_code = RN_KERR_NON_EMPTY_GROUP;
	if (!resp.error_code) {
		int32_t nt = rq.topics_count > 0 ? rq.topics_count : 0;
		resp.topics_count = nt;
		resp.topics = rn_arena_alloc(a, (size_t)(nt + 1) * sizeof(*resp.topics));
		for (int32_t i = 0; i < nt; i++) {
			char *topic = rn_ctx_strdup(ctx, rq.topics[i].name);
			int32_t np =
			    rq.topics[i].partitions_count > 0 ? rq.topics[i].partitions_count : 0;
			resp.topics[i].name = rq.topics[i].name;
			resp.topics[i].partitions_count = np;
			resp.topics[i].partitions = rn_arena_alloc(
			    a, (size_t)(np + 1) * sizeof(*resp.topics[i].partitions));
			bool denied =
			    !rn_allowed_view(ctx, RN_OP_READ, RN_RES_TOPIC, rq.topics[i].name.ptr,
					     rq.topics[i].name.len);
			for (int32_t j = 0; j < np; j++) {
				int32_t part = rq.topics[i].partitions[j].partition_index;
				resp.topics[i].partitions[j].partition_index = part;
				resp.topics[i].partitions[j].error_code =
				    denied ? RN_KERR_TOPIC_AUTHORIZATION_FAILED
					   : delete_one(ctx, g, topic, part);
			}
		}
	}
	/* Kafka's cleanupGroupMetadata: an Empty group whose last offset went is Dead at once. */
	if (!resp.error_code && rn_gc_group_dead(g))
		rn_groups_delete(g);
	if (gc)
		rn_groups_unlock();
	rn_respond_begin(ctx);
	rn_offset_delete_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
