/*
 * SyncGroup: the leader's assignments go to the coordinator; every member gets its own
 * assignment once the leader's has arrived (followers are parked until then). Answers are
 * posted to the request's loop, like JoinGroup's. In a cluster a member's answer also waits
 * until the generation's group metadata record is replicated (Kafka's storeGroup callback);
 * a failed wait answers as Kafka maps it (COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
 * REBALANCE_IN_PROGRESS for a timeout), and the member joins again.
 */
#include <string.h>

#include "broker/coord_wait.h"
#include "broker/groups.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "net/loop.h"
#include "proto/gen/rn_msg.h"

/* What the completion needs of its request (in the request's arena: it lives until the
 * answer is sent). */
struct sync_waiter {
	struct rn_ctx *ctx;
	const char *group;
};

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

/* GroupMetadataManager.storeGroup's mapping of a failed append. */
static int16_t store_error(int16_t kerr)
{
	switch (kerr) {
	case RN_KERR_NONE: return RN_KERR_NONE;
	case RN_KERR_REQUEST_TIMED_OUT: return RN_KERR_REBALANCE_IN_PROGRESS;
	default: return rn_coord_commit_error(kerr, true);
	}
}

static void replicated(void *arg, int16_t kerr)
{
	struct sync_answer *a = arg;
	int16_t e = store_error(kerr);
	if (e != RN_KERR_NONE) {
		a->error = e;
		a->len = 0;
	}
	rn_loop_post(a->ctx->req->loop, answer_on_loop, a);
}

/* The request's completion (struct rn_gc_sync_wait); like JoinGroup's, it may run on any
 * thread holding the coordinator lock and posts the answer to the request's loop. */
static void sync_done(void *arg, const struct rn_gc_sync_result *r)
{
	struct sync_waiter *w = arg;
	struct rn_ctx *ctx = w->ctx;
	struct sync_answer *a = rn_calloc(1, sizeof(*a));
	a->ctx = ctx;
	a->error = r->error;
	a->protocol_type = r->protocol_type ? rn_strdup(r->protocol_type) : NULL;
	a->protocol_name = r->protocol_name ? rn_strdup(r->protocol_name) : NULL;
	a->len = r->assignment_len > 0 ? r->assignment_len : 0;
	a->assignment = rn_malloc((size_t)a->len + 1);
	if (a->len)
		memcpy(a->assignment, r->assignment, (size_t)a->len);
	int64_t end = ctx->b->clustered && r->error == RN_KERR_NONE && w->group
			  ? rn_groups_stored_end(w->group)
			  : 0;
	if (end > 0) {
		rn_groups_wait(w->group, end, false, replicated, a);
		return;
	}
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
	struct sync_waiter *w = rn_arena_alloc(&ctx->req->arena, sizeof(*w));
	w->ctx = ctx;
	w->group = rn_ctx_strdup(ctx, rq.group_id);
	struct rn_gc_sync_req sr = {
	    .group = w->group,
	    .member_id = member ? member : "",
	    .instance_id = rn_ctx_strdup(ctx, rq.group_instance_id),
	    .generation = rq.generation_id,
	    .protocol_type = rn_ctx_strdup(ctx, rq.protocol_type),
	    .protocol_name = rn_ctx_strdup(ctx, rq.protocol_name),
	    .assignments = as,
	    .nassignments = n,
	    .done = {sync_done, w},
	};
	int16_t err = RN_KERR_GROUP_AUTHORIZATION_FAILED;
	struct rn_gc *gc =
	    rn_allowed_view(ctx, RN_OP_READ, RN_RES_GROUP, rq.group_id.ptr, rq.group_id.len)
		? rn_groups_lock_group(sr.group, &err)
		: NULL;
	if (!gc) {
		struct rn_gc_sync_result r = {.error = err};
		sync_done(w, &r);
		return;
	}
	rn_gc_sync(gc, rn_wall_ms(), &sr);
	rn_groups_unlock();
}
