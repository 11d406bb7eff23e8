/*
 * SyncGroup: the leader's assignments go to the coordinator; every member gets its own
 * assignment once the leader's has arrived (followers are parked until then). Answers are
 * posted to the request's loop, like JoinGroup's.
 */
#include <string.h>

#include "broker/groups.h"
#include "broker/handler.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "net/loop.h"
#include "proto/gen/rn_msg.h"

struct sync_answer {
	struct rn_ctx *ctx;
	int16_t error;
	char *protocol_type, *protocol_name;
	uint8_t *assignment;
	int32_t len;
};

static struct rn_str view(const char *s)
{
	return s ? rn_str_c(s) : RN_STR_NULL;
}

static void answer_on_loop(void *arg)
{
	struct sync_answer *a = arg;
	struct rn_ctx *ctx = a->ctx;
	struct rn_sync_group_response resp = {0};
	resp.error_code = a->error;
	resp.protocol_type = view(a->protocol_type);
	resp.protocol_name = view(a->protocol_name);
	resp.assignment = (struct rn_bytes){a->assignment, a->len};
	rn_respond_begin(ctx);
	rn_sync_group_response_encode(&ctx->req->out, ctx->hdr.api_version, &resp);
	rn_respond_end(ctx);
	rn_free(a->protocol_type);
	rn_free(a->protocol_name);
	rn_free(a->assignment);
	rn_free(a);
}

/* The request's completion (struct rn_gc_sync_wait); like JoinGroup's, it may run on any
 * thread holding the coordinator lock and posts the answer to the request's loop. */
static void sync_done(void *arg, const struct rn_gc_sync_result *r)
{
	struct sync_answer *a = rn_calloc(1, sizeof(*a));
	a->ctx = arg;
	a->error = r->error;
	a->protocol_type = r->protocol_type ? rn_strdup(r->protocol_type) : NULL;
	a->protocol_name = r->protocol_name ? rn_strdup(r->protocol_name) : NULL;
	a->len = r->assignment_len > 0 ? r->assignment_len : 0;
	a->assignment = rn_malloc((size_t)a->len + 1);
	if (a->len)
		memcpy(a->assignment, r->assignment, (size_t)a->len);
	rn_loop_post(a->ctx->req->loop, answer_on_loop, a);
}

void rn_h_sync_group(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_sync_group_request rq;
	if (rn_sync_group_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed SyncGroup request");
		return;
	}
	int n = rq.assignments_count > 0 ? rq.assignments_count : 0;
	struct rn_gc_assignment *as =
	    rn_arena_alloc(&ctx->req->arena, (size_t)(n + 1) * sizeof(*as));
	for (int i = 0; i < n; i++) {
		as[i].member_id = rn_ctx_strdup(ctx, rq.assignments[i].member_id);
		as[i].data = rq.assignments[i].assignment.ptr;
		as[i].len = rq.assignments[i].assignment.len;
	}
	char *member = rn_ctx_strdup(ctx, rq.member_id);
	struct rn_gc_sync_req sr = {
	    .group = rn_ctx_strdup(ctx, rq.group_id),
	    .member_id = member ? member : "",
	    .instance_id = rn_ctx_strdup(ctx, rq.group_instance_id),
	    .generation = rq.generation_id,
	    .protocol_type = rn_ctx_strdup(ctx, rq.protocol_type),
	    .protocol_name = rn_ctx_strdup(ctx, rq.protocol_name),
	    .assignments = as,
	    .nassignments = n,
	    .done = {sync_done, ctx},
	};
	int16_t err;
	struct rn_gc *gc = rn_groups_lock_group(sr.group, &err);
	if (!gc) {
		struct rn_gc_sync_result r = {.error = err};
		sync_done(ctx, &r);
		return;
	}
	rn_gc_sync(gc, rn_wall_ms(), &sr);
	rn_groups_unlock();
}
