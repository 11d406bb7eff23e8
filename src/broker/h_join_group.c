/*
 * JoinGroup: hands the member to the coordinator, which answers now or when the join phase
 * ends (all members rejoined, rebalance timeout, initial delay). The answer may be produced on
 * any thread holding the coordinator lock: it is copied to the heap and posted to the
 * request's loop, where it is encoded.
 */
#include <stdio.h>
#include <string.h>

#include "broker/groups.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "net/loop.h"
#include "proto/gen/rn_msg.h"

/* The coordinator's result, copied (owned by this struct, freed after encoding). */
struct join_answer {
	struct rn_ctx *ctx;
	int16_t error;
	int32_t generation;
	char *protocol_type, *protocol_name, *leader, *member_id;
	struct rn_gc_join_member *members;
	int nmembers;
};

static char *dup0(const char *s)
{
	return s ? rn_strdup(s) : NULL;
}

static struct rn_str view(const char *s)
{
	return s ? rn_str_c(s) : RN_STR_NULL;
}

static void answer_on_loop(void *arg)
{
	struct join_answer *a = arg;
	struct rn_ctx *ctx = a->ctx;
	struct rn_arena *ar = &ctx->req->arena;
	struct rn_join_group_response resp = {0};
	resp.error_code = a->error;
	resp.generation_id = a->generation;
	resp.protocol_type = view(a->protocol_type);
	/* v7+ null when there is no protocol; older versions cannot say null: "" */
	resp.protocol_name = view(a->protocol_name);
	resp.leader = rn_str_c(a->leader ? a->leader : "");
	resp.member_id = rn_str_c(a->member_id ? a->member_id : "");
	resp.members_count = a->nmembers;
	resp.members = rn_arena_alloc(ar, (size_t)(a->nmembers + 1) * sizeof(*resp.members));
	for (int i = 0; i < a->nmembers; i++) {
		resp.members[i].member_id = rn_str_c(a->members[i].id);
		resp.members[i].group_instance_id = view(a->members[i].instance_id);
		resp.members[i].metadata =
		    (struct rn_bytes){a->members[i].meta ? a->members[i].meta : (const uint8_t *)"",
				      a->members[i].meta_len};
	}
	rn_respond_begin(ctx);
	rn_join_group_response_encode(&ctx->req->out, ctx->hdr.api_version, &resp);
	rn_respond_end(ctx);
	for (int i = 0; i < a->nmembers; i++) {
		rn_free((char *)a->members[i].id);
		rn_free((char *)a->members[i].instance_id);
		rn_free((uint8_t *)a->members[i].meta);
	}
	rn_free(a->members);
	rn_free(a->protocol_type);
	rn_free(a->protocol_name);
	rn_free(a->leader);
	rn_free(a->member_id);
	rn_free(a);
}

/* The request's completion (struct rn_gc_join_wait): runs under the coordinator lock, on any
 * thread, so it copies the result and posts it to the request's loop. */
static void join_done(void *arg, const struct rn_gc_join_result *r)
{
	struct join_answer *a = rn_calloc(1, sizeof(*a));
	a->ctx = arg;
	a->error = r->error;
	a->generation = r->generation;
	a->protocol_type = dup0(r->protocol_type);
	a->protocol_name = dup0(r->protocol_name);
	a->leader = dup0(r->leader);
	a->member_id = dup0(r->member_id);
	a->nmembers = r->nmembers;
	a->members = rn_calloc((size_t)r->nmembers + 1, sizeof(*a->members));
	for (int i = 0; i < r->nmembers; i++) {
		const struct rn_gc_join_member *m = &r->members[i];
		uint8_t *meta = rn_malloc((size_t)m->meta_len + 1);
		if (m->meta_len > 0)
			memcpy(meta, m->meta, (size_t)m->meta_len);
		a->members[i] = (struct rn_gc_join_member){dup0(m->id), dup0(m->instance_id), meta,
							   m->meta_len > 0 ? m->meta_len : 0};
	}
	rn_loop_post(a->ctx->req->loop, answer_on_loop, a);
}

void rn_h_join_group(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_join_group_request rq;
	if (rn_join_group_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed JoinGroup request");
		return;
	}
	struct rn_arena *ar = &ctx->req->arena;
	int n = rq.protocols_count > 0 ? rq.protocols_count : 0;
	struct rn_gc_protocol_view *pv = rn_arena_alloc(ar, (size_t)(n + 1) * sizeof(*pv));
	for (int i = 0; i < n; i++) {
		pv[i].name = rn_ctx_strdup(ctx, rq.protocols[i].name);
		pv[i].meta = rq.protocols[i].metadata.ptr;
		pv[i].meta_len = rq.protocols[i].metadata.len;
		if (!pv[i].name)
			pv[i].name = "";
	}
	char host[80];
	const char *peer = rn_req_peer(ctx->req);
	const char *colon = strrchr(peer, ':');
	snprintf(host, sizeof(host), "/%.*s", colon ? (int)(colon - peer) : (int)strlen(peer),
		 peer);
	char *client = rn_ctx_strdup(ctx, ctx->hdr.client_id);
	struct rn_gc_join_req jr = {
	    .group = rn_ctx_strdup(ctx, rq.group_id),
	    .member_id = rn_ctx_strdup(ctx, rq.member_id),
	    .instance_id = rn_ctx_strdup(ctx, rq.group_instance_id),
	    .client_id = client ? client : "",
	    .client_host = host,
	    .protocol_type = rn_ctx_strdup(ctx, rq.protocol_type),
	    .session_ms = rq.session_timeout_ms,
	    /* v0 has no rebalance timeout: Kafka uses the session timeout */
	    .rebalance_ms = ver >= 1 ? rq.rebalance_timeout_ms : rq.session_timeout_ms,
	    .protos = pv,
	    .nprotos = n,
	    .require_known_id = ver >= 4,
	    .done = {join_done, ctx},
	};
	if (!jr.member_id)
		jr.member_id = "";
	int16_t err = RN_KERR_GROUP_AUTHORIZATION_FAILED;
	struct rn_gc *gc =
	    rn_allowed_view(ctx, RN_OP_READ, RN_RES_GROUP, rq.group_id.ptr, rq.group_id.len)
		? rn_groups_lock_group(jr.group, &err)
		: NULL;
	if (!gc) {
		struct rn_gc_join_result r = {
		    .error = err, .generation = -1, .member_id = jr.member_id};
		join_done(ctx, &r);
		return;
	}
	rn_gc_join(gc, rn_wall_ms(), &jr);
	rn_groups_unlock();
}
