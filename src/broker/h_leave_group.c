/*
 * LeaveGroup: v0-2 name one member (its error is the response's error), v3+ a batch of members
 * (by member id, or by group.instance.id with an empty member id), each with its own error.
 */
#include "broker/groups.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "core/clock.h"
#include "proto/gen/rn_msg.h"

void rn_h_leave_group(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_leave_group_request rq;
	if (rn_leave_group_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed LeaveGroup request");
		return;
	}
	struct rn_leave_group_response resp = {0};
	char *group = rn_ctx_strdup(ctx, rq.group_id);
	resp.error_code = RN_KERR_GROUP_AUTHORIZATION_FAILED;
	struct rn_gc *gc =
	    rn_allowed_view(ctx, RN_OP_READ, RN_RES_GROUP, rq.group_id.ptr, rq.group_id.len)
		? rn_groups_lock_group(group, &resp.error_code)
		: NULL;
	if (!gc) {
		/* resp.error_code says why */
	} else if (ver < 3) {
		char *member = rn_ctx_strdup(ctx, rq.member_id);
		resp.error_code = rn_gc_leave(gc, rn_wall_ms(), group, member ? member : "", NULL);
	} else {
		int n = rq.members_count > 0 ? rq.members_count : 0;
		resp.members_count = n;
		resp.members =
		    rn_arena_alloc(&ctx->req->arena, (size_t)(n + 1) * sizeof(*resp.members));
		for (int i = 0; i < n; i++) {
			struct rn_leave_group_request_member_identity *mi = &rq.members[i];
			char *member = rn_ctx_strdup(ctx, mi->member_id);
			resp.members[i].member_id = mi->member_id;
			resp.members[i].group_instance_id = mi->group_instance_id;
			resp.members[i].error_code =
			    rn_gc_leave(gc, rn_wall_ms(), group, member ? member : "",
					rn_ctx_strdup(ctx, mi->group_instance_id));
		}
	}
	if (gc)
		rn_groups_unlock();
	rn_respond_begin(ctx);
	rn_leave_group_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
