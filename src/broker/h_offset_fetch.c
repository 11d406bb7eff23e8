/*
 * OffsetFetch: committed offsets of a group (-1 and empty metadata where there is none; an
 * unknown group is not an error). v2+: null topics = every partition with a commit. v7's
 * require_stable would wait for pending transactional commits; there are none yet.
 */
#include <string.h>

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
};

static void add_all(struct rn_group *g, const char *topic, int32_t part,
		    const struct rn_gc_offset *o, void *arg)
{
	(void)g;
	struct all *al = arg;
	struct rn_offset_fetch_response *r = al->resp;
	struct rn_arena *a = &al->ctx->req->arena;
	struct rn_offset_fetch_response_offset_fetch_response_topic *t = NULL;
	for (int32_t i = 0; i < r->topics_count && !t; i++)
		if (rn_str_eq(r->topics[i].name, topic))
			t = &r->topics[i];
	if (!t) {
		t = &r->topics[r->topics_count++];
		t->name = rn_ctx_str(al->ctx, topic);
		t->partitions = rn_arena_alloc(a, (size_t)(al->cap + 1) * sizeof(*t->partitions));
	}
	fill(&t->partitions[t->partitions_count++], part, o, al->ctx);
}

void rn_h_offset_fetch(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_offset_fetch_request rq;
	if (rn_offset_fetch_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed OffsetFetch request");
		return;
	}
	struct rn_arena *a = &ctx->req->arena;
	struct rn_offset_fetch_response resp = {0};
	char *group = rn_ctx_strdup(ctx, rq.group_id);
	struct rn_gc *gc = rn_groups_lock();
	struct rn_group *g = gc && group ? rn_gc_group(gc, group) : NULL;
	if (!gc)
		resp.error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
	else if (!group || !*group)
		resp.error_code = RN_KERR_INVALID_GROUP_ID;
	if (rq.topics_count < 0) { /* all */
		int cap = g ? g->noffsets : 0;
		resp.topics = rn_arena_alloc(a, (size_t)(cap + 1) * sizeof(*resp.topics));
		struct all al = {ctx, &resp, cap};
		if (g && !resp.error_code)
			rn_gc_offsets_foreach(g, add_all, &al);
	} else {
		resp.topics_count = rq.topics_count;
		resp.topics =
		    rn_arena_alloc(a, (size_t)(rq.topics_count + 1) * sizeof(*resp.topics));
		for (int32_t i = 0; i < rq.topics_count; i++) {
			struct rn_offset_fetch_request_offset_fetch_request_topic *rt =
			    &rq.topics[i];
			char *topic = rn_ctx_strdup(ctx, rt->name);
			int32_t n =
			    rt->partition_indexes_count > 0 ? rt->partition_indexes_count : 0;
			resp.topics[i].name = rt->name;
			resp.topics[i].partitions_count = n;
			resp.topics[i].partitions =
			    rn_arena_alloc(a, (size_t)(n + 1) * sizeof(*resp.topics[i].partitions));
			for (int32_t j = 0; j < n; j++) {
				int32_t idx = rt->partition_indexes[j];
				const struct rn_gc_offset *o =
				    g && topic ? rn_gc_offset_get(g, topic, idx) : NULL;
				fill(&resp.topics[i].partitions[j], idx, o, ctx);
				/* v0-1 have no top-level error: it goes to every partition */
				if (ver < 2)
					resp.topics[i].partitions[j].error_code = resp.error_code;
			}
		}
	}
	if (gc)
		rn_groups_unlock();
	rn_respond_begin(ctx);
	rn_offset_fetch_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
