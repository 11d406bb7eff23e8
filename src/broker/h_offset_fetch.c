/*
 * OffsetFetch: committed offsets of a group (-1 and empty metadata where there is none; an
 * unknown group is not an error). v2+: null topics = every partition with a commit. v7+
 * require_stable: a partition whose transactional commit waits for its marker (a cluster's
 * TxnOffsetCommit) answers UNSTABLE_OFFSET_COMMIT, and the client asks again (KIP-447); a
 * single broker keeps such commits with the transaction, so it has none. v8+ ask for several
 * groups at once; v9's member id and epoch only matter to KIP-848 groups.
 */
#include <string.h>

#include "broker/authz.h"
#include "broker/groups.h"
#include "broker/handler.h"
#include "proto/gen/rn_msg.h"

static void fill(struct rn_offset_fetch_response_offset_fetch_response_partition *pr, int32_t idx,
		 const struct rn_gc_offset *o, struct rn_ctx *ctx)
{
	pr->partition_index = idx;
	pr->committed_offset = o ? o->offset : -1;
	pr->committed_leader_epoch = o ? o->leader_epoch : -1;
	pr->metadata = o && o->metadata ? rn_ctx_str(ctx, o->metadata) : rn_str_c("");
	pr->error_code = RN_KERR_NONE;
}

struct all {
	struct rn_ctx *ctx;
	struct rn_offset_fetch_response *resp;
	int cap;
	bool stable;
};

/* KIP-447: a read_committed consumer must not start from an offset a transaction is about to
 * replace. */
static void unstable(struct rn_offset_fetch_response_offset_fetch_response_partition *pr)
{
	pr->committed_offset = -1;
	pr->committed_leader_epoch = -1;
	pr->metadata = rn_str_c("");
	pr->error_code = RN_KERR_UNSTABLE_OFFSET_COMMIT;
}

static void add_all(struct rn_group *g, const char *topic, int32_t part,
		    const struct rn_gc_offset *o, void *arg)
{
	struct all *al = arg;
	struct rn_offset_fetch_response *r = al->resp;
	struct rn_arena *a = &al->ctx->req->arena;
	struct rn_offset_fetch_response_offset_fetch_response_topic *t = NULL;
	/* Every committed topic: the ones the principal may not describe are left out. */
	if (!rn_allowed_quiet(al->ctx, RN_OP_DESCRIBE, RN_RES_TOPIC, topic, strlen(topic)))
		return;
	for (int32_t i = 0; i < r->topics_count && !t; i++)
		if (rn_str_eq(r->topics[i].name, topic))
			t = &r->topics[i];
	if (!t) {
		t = &r->topics[r->topics_count++];
		t->name = rn_ctx_str(al->ctx, topic);
		t->partitions = rn_arena_alloc(a, (size_t)(al->cap + 1) * sizeof(*t->partitions));
	}
	fill(&t->partitions[t->partitions_count], part, o, al->ctx);
	if (al->stable && rn_gc_txn_pending(g, topic, part))
		unstable(&t->partitions[t->partitions_count]);
	t->partitions_count++;
}

/* One group's offsets into resp (the v0-7 shape), under the coordinator lock (gc NULL: not
 * available). ver decides only the v0-1 per-partition error copy. */
static void
fetch_group_locked(struct rn_ctx *ctx, struct rn_gc *gc, int16_t ver, char *group,
		   const struct rn_offset_fetch_request_offset_fetch_request_topic *topics,
		   int32_t ntopics, bool stable, struct rn_offset_fetch_response *resp)
{
	struct rn_arena *a = &ctx->req->arena;
	struct rn_group *g = gc && group ? rn_gc_group(gc, group) : NULL;
	if (!gc)
		; /* resp->error_code says why */
	else if (!group || !*group)
		resp->error_code = RN_KERR_INVALID_GROUP_ID;
	if (ntopics < 0) { /* all */
		int cap = g ? g->noffsets : 0;
		resp->topics = rn_arena_alloc(a, (size_t)(cap + 1) * sizeof(*resp->topics));
		struct all al = {ctx, resp, cap, stable};
		if (g && !resp->error_code)
			rn_gc_offsets_foreach(g, add_all, &al);
		return;
	}
	resp->topics_count = ntopics;
	resp->topics = rn_arena_alloc(a, (size_t)(ntopics + 1) * sizeof(*resp->topics));
	for (int32_t i = 0; i < ntopics; i++) {
		const struct rn_offset_fetch_request_offset_fetch_request_topic *rt = &topics[i];
		char *topic = rn_ctx_strdup(ctx, rt->name);
		int32_t n = rt->partition_indexes_count > 0 ? rt->partition_indexes_count : 0;
		resp->topics[i].name = rt->name;
		resp->topics[i].partitions_count = n;
		resp->topics[i].partitions =
		    rn_arena_alloc(a, (size_t)(n + 1) * sizeof(*resp->topics[i].partitions));
		bool denied =
		    gc && !resp->error_code &&
		    !rn_allowed_view(ctx, RN_OP_DESCRIBE, RN_RES_TOPIC, rt->name.ptr, rt->name.len);
		for (int32_t j = 0; j < n; j++) {
			int32_t idx = rt->partition_indexes[j];
			const struct rn_gc_offset *o =
			    g && topic && !denied ? rn_gc_offset_get(g, topic, idx) : NULL;
			fill(&resp->topics[i].partitions[j], idx, o, ctx);
			if (denied) {
				resp->topics[i].partitions[j].error_code =
				    RN_KERR_TOPIC_AUTHORIZATION_FAILED;
				continue;
			}
			if (stable && g && topic && rn_gc_txn_pending(g, topic, idx))
				unstable(&resp->topics[i].partitions[j]);
			/* v0-1 have no top-level error: it goes to every partition */
			if (ver < 2)
				resp->topics[i].partitions[j].error_code = resp->error_code;
		}
	}
}

/* One group, looked up and locked for the time of the answer. */
static void fetch_group(struct rn_ctx *ctx, int16_t ver, struct rn_str group_id,
			const struct rn_offset_fetch_request_offset_fetch_request_topic *topics,
			int32_t ntopics, bool stable, struct rn_offset_fetch_response *resp)
{
	char *group = rn_ctx_strdup(ctx, group_id);
	resp->error_code = RN_KERR_GROUP_AUTHORIZATION_FAILED;
	struct rn_gc *gc =
	    rn_allowed_view(ctx, RN_OP_DESCRIBE, RN_RES_GROUP, group_id.ptr, group_id.len)
		? rn_groups_lock_group(group, &resp->error_code)
		: NULL;
	fetch_group_locked(ctx, gc, ver, group, topics, ntopics, stable, resp);
	if (gc)
		rn_groups_unlock();
}

/* v8+: several groups per request; each answered as a v7 request for it would be. */
static void fetch_groups(struct rn_ctx *ctx, const struct rn_offset_fetch_request *rq,
			 struct rn_offset_fetch_response *out)
{
	struct rn_arena *a = &ctx->req->arena;
	int32_t ng = rq->groups_count > 0 ? rq->groups_count : 0;
	out->groups_count = ng;
	out->groups = rn_arena_alloc(a, (size_t)(ng + 1) * sizeof(*out->groups));
	for (int32_t i = 0; i < ng; i++) {
		const struct rn_offset_fetch_request_offset_fetch_request_group *rg =
		    &rq->groups[i];
		int32_t nt = rg->topics_count;
		struct rn_offset_fetch_request_offset_fetch_request_topic *ts =
		    rn_arena_alloc(a, (size_t)(nt > 0 ? nt + 1 : 1) * sizeof(*ts));
		for (int32_t j = 0; j < nt; j++)
			ts[j] = (struct rn_offset_fetch_request_offset_fetch_request_topic){
			    rg->topics[j].name, rg->topics[j].partition_indexes,
			    rg->topics[j].partition_indexes_count};
		struct rn_offset_fetch_response r = {0};
		fetch_group(ctx, 7, rg->group_id, ts, nt, rq->require_stable, &r);
		struct rn_offset_fetch_response_offset_fetch_response_group *og = &out->groups[i];
		og->group_id = rg->group_id;
		og->error_code = r.error_code;
		og->topics_count = r.topics_count;
		og->topics = rn_arena_alloc(a, (size_t)(r.topics_count + 1) * sizeof(*og->topics));
		for (int32_t j = 0; j < r.topics_count; j++) {
			struct rn_offset_fetch_response_offset_fetch_response_topic *src =
			    &r.topics[j];
			struct rn_offset_fetch_response_offset_fetch_response_topics *dst =
			    &og->topics[j];
			dst->name = src->name;
			dst->partitions_count = src->partitions_count;
			dst->partitions = rn_arena_alloc(a, (size_t)(src->partitions_count + 1) *
								sizeof(*dst->partitions));
			for (int32_t k = 0; k < src->partitions_count; k++) {
				struct rn_offset_fetch_response_offset_fetch_response_partition
				    *sp = &src->partitions[k];
				dst->partitions[k] =
				    (struct
				     rn_offset_fetch_response_offset_fetch_response_partitions){
					sp->partition_index, sp->committed_offset,
					sp->committed_leader_epoch, sp->metadata, sp->error_code};
			}
		}
	}
}

void rn_h_offset_fetch(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_offset_fetch_request rq;
	if (rn_offset_fetch_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed OffsetFetch request");
		return;
	}
	struct rn_offset_fetch_response resp = {0};
	if (ver >= 8)
		fetch_groups(ctx, &rq, &resp);
	else
		fetch_group(ctx, ver, rq.group_id, rq.topics, rq.topics_count,
			    ver >= 7 && rq.require_stable, &resp);
	rn_respond_begin(ctx);
	rn_offset_fetch_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
