/*
 * OffsetCommit: the coordinator admits the commit (generation, member, state), each partition
 * is checked (it exists, its metadata fits offset.metadata.max.bytes), the accepted ones are
 * appended to the group's __consumer_offsets partition in one write, applied in memory, and
 * acknowledged after the append -- or after the flusher when that partition's flush policy
 * requires it (as Produce does).
 */
#include <string.h>

#include "broker/coord_wait.h"
#include "broker/groups.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/topics.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "net/loop.h"
#include "proto/gen/rn_msg.h"
#include "storage/flusher.h"
#include "storage/partition.h"

struct commit {
	struct rn_ctx *ctx;
	struct rn_offset_commit_response resp;
	int16_t kerr; /* the acknowledgement's error */
};

static void respond(struct commit *c)
{
	struct rn_ctx *ctx = c->ctx;
	rn_respond_begin(ctx);
	rn_offset_commit_response_encode(&ctx->req->out, ctx->hdr.api_version, &c->resp);
	rn_respond_end(ctx);
}

static void acked_on_loop(void *arg)
{
	struct commit *c = arg;
	int16_t e = rn_coord_commit_error(c->kerr, c->ctx->b->clustered);
	if (e != RN_KERR_NONE) {
		for (int32_t i = 0; i < c->resp.topics_count; i++)
			for (int32_t j = 0; j < c->resp.topics[i].partitions_count; j++)
				if (!c->resp.topics[i].partitions[j].error_code)
					c->resp.topics[i].partitions[j].error_code = e;
	}
	respond(c);
}

static void acked(void *arg, int16_t kerr)
{
	struct commit *c = arg;
	c->kerr = kerr;
	rn_loop_post(c->ctx->req->loop, acked_on_loop, c);
}

static int16_t append_error(int rc)
{
	if (rc == RN_ENOTLEADER)
		return RN_KERR_NOT_COORDINATOR;
	return rc == RN_ETOOLARGE ? RN_KERR_INVALID_COMMIT_OFFSET_SIZE
				  : RN_KERR_COORDINATOR_NOT_AVAILABLE;
}

/* One accepted partition, kept to apply it in memory once written. */
struct accepted {
	const char *topic;
	int32_t part;
	struct rn_gc_offset o;
	int16_t *err;
};

static int16_t check_partition(struct rn_ctx *ctx, const char *topic, int32_t part,
			       struct rn_str meta)
{
	if (!topic)
		return RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
	struct rn_topic *t = rn_topic_get(ctx->b, topic, strlen(topic));
	bool ok = t && part >= 0 && part < t->npart;
	if (t)
		rn_topic_put(ctx->b, t);
	if (!ok)
		return RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
	if (meta.len > rn_groups_metadata_max())
		return RN_KERR_OFFSET_METADATA_TOO_LARGE;
	return RN_KERR_NONE;
}

/* Builds the response and the records; returns the number of accepted partitions. */
static int collect(struct commit *c, struct rn_offset_commit_request *rq, int16_t gerr, int64_t now,
		   struct accepted *acc, struct rn_buf *keys, struct rn_buf *vals,
		   struct rn_gc_rec *recs, size_t *klens, size_t *vlens)
{
	struct rn_ctx *ctx = c->ctx;
	struct rn_arena *a = &ctx->req->arena;
	char *group = rn_ctx_strdup(ctx, rq->group_id);
	int n = 0;
	for (int32_t i = 0; i < c->resp.topics_count; i++) {
		struct rn_offset_commit_request_offset_commit_request_topic *rt = &rq->topics[i];
		struct rn_offset_commit_response_offset_commit_response_topic *tr =
		    &c->resp.topics[i];
		char *topic = rn_ctx_strdup(ctx, rt->name);
		tr->name = rt->name;
		tr->partitions_count = rt->partitions_count > 0 ? rt->partitions_count : 0;
		tr->partitions =
		    rn_arena_alloc(a, (size_t)(tr->partitions_count + 1) * sizeof(*tr->partitions));
		/* Kafka: READ on each topic, after READ on the group. */
		int16_t terr = gerr || rn_allowed_view(ctx, RN_OP_READ, RN_RES_TOPIC, rt->name.ptr,
						       rt->name.len)
				   ? gerr
				   : RN_KERR_TOPIC_AUTHORIZATION_FAILED;
		for (int32_t j = 0; j < tr->partitions_count; j++) {
			struct rn_offset_commit_request_offset_commit_request_partition *rp =
			    &rt->partitions[j];
			tr->partitions[j].partition_index = rp->partition_index;
			int16_t e = terr ? terr
					 : check_partition(ctx, topic, rp->partition_index,
							   rp->committed_metadata);
			tr->partitions[j].error_code = e;
			if (e)
				continue;
			struct accepted *x = &acc[n];
			x->topic = topic;
			x->part = rp->partition_index;
			x->err = &tr->partitions[j].error_code;
			x->o = (struct rn_gc_offset){
			    .offset = rp->committed_offset,
			    .leader_epoch = rp->committed_leader_epoch,
			    .metadata = rn_ctx_strdup(ctx, rp->committed_metadata),
			    .commit_ts = now,
			    .expire_ts =
				rq->retention_time_ms >= 0 ? now + rq->retention_time_ms : -1};
			size_t k0 = keys->len, v0 = vals->len;
			rn_gc_key_offset(keys, group, topic, x->part);
			rn_gc_value_offset(vals, &x->o);
			klens[n] = keys->len - k0;
			vlens[n] = vals->len - v0;
			n++;
		}
	}
	size_t ko = 0, vo = 0;
	for (int i = 0; i < n; i++) {
		recs[i] = (struct rn_gc_rec){keys->data + ko, (int32_t)klens[i], vals->data + vo,
					     (int32_t)vlens[i]};
		ko += klens[i];
		vo += vlens[i];
	}
	return n;
}

void rn_h_offset_commit(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_offset_commit_request rq;
	if (rn_offset_commit_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed OffsetCommit request");
		return;
	}
	struct rn_arena *a = &ctx->req->arena;
	struct commit *c = rn_arena_alloc(a, sizeof(*c));
	c->ctx = ctx;
	c->resp.topics_count = rq.topics_count > 0 ? rq.topics_count : 0;
	c->resp.topics =
	    rn_arena_alloc(a, (size_t)(c->resp.topics_count + 1) * sizeof(*c->resp.topics));
	int total = 0;
	for (int32_t i = 0; i < c->resp.topics_count; i++)
		total += rq.topics[i].partitions_count > 0 ? rq.topics[i].partitions_count : 0;
	struct accepted *acc = rn_arena_alloc(a, (size_t)(total + 1) * sizeof(*acc));
	struct rn_gc_rec *recs = rn_arena_alloc(a, (size_t)(total + 1) * sizeof(*recs));
	size_t *klens = rn_arena_alloc(a, (size_t)(total + 1) * sizeof(size_t));
	size_t *vlens = rn_arena_alloc(a, (size_t)(total + 1) * sizeof(size_t));
	struct rn_buf keys = {0}, vals = {0};
	char *group = rn_ctx_strdup(ctx, rq.group_id);
	char *member = rn_ctx_strdup(ctx, rq.member_id);
	int64_t now = rn_wall_ms();
	struct rn_append_info ai = {0};
	struct rn_partition *p = NULL;
	int16_t gerr = RN_KERR_GROUP_AUTHORIZATION_FAILED;
	struct rn_gc *gc =
	    rn_allowed_view(ctx, RN_OP_READ, RN_RES_GROUP, rq.group_id.ptr, rq.group_id.len)
		? rn_groups_lock_group(group, &gerr)
		: NULL;
	struct rn_group *g = NULL;
	if (gc)
		gerr = rn_gc_commit_check(
		    gc, now, group, ver >= 1 ? rq.generation_id_or_member_epoch : -1,
		    member ? member : "", rn_ctx_strdup(ctx, rq.group_instance_id), &g);
	int n = collect(c, &rq, gerr, now, acc, &keys, &vals, recs, klens, vlens);
	bool wait = false;
	if (gc && n > 0) {
		int rc = rn_groups_write(group, recs, n, &ai, &p);
		for (int i = 0; i < n; i++) {
			if (rc < 0)
				*acc[i].err = append_error(rc);
			else
				rn_gc_offset_set(g, acc[i].topic, acc[i].part, &acc[i].o);
		}
		/* Acknowledged once flushed (flush policy) and, in a cluster, replicated. */
		if (rc == 0 && p && (ai.needs_flush || rn_groups_rp(group))) {
			wait = true;
			rn_groups_wait(group, ai.last_offset + 1, ai.needs_flush, acked, c);
		}
	}
	if (gc)
		rn_groups_unlock();
	rn_buf_free(&keys);
	rn_buf_free(&vals);
	if (!wait)
		respond(c);
}
