/* Heartbeat: keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin. */
#include "broker/groups.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "core/clock.h"
#include "proto/gen/rn_msg.h"

void rn_h_heartbeat(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_heartbeat_request rq;
	if (rn_heartbeat_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed Heartbeat request");
		return;
	}
	struct rn_heartbeat_response resp = {0};
	char *group = rn_ctx_strdup(ctx, rq.group_id);
	resp.error_code = RN_KERR_GROUP_AUTHORIZATION_FAILED;
	struct rn_gc *gc =
	    rn_allowed_view(ctx, RN_OP_READ, RN_RES_GROUP, rq.group_id.ptr, rq.group_id.len)
		? rn_groups_lock_group(group, &resp.error_code)
		: NULL;
	if (gc) {
		char *member = rn_ctx_strdup(ctx, rq.member_id);
		resp.error_code =
		    rn_gc_heartbeat(gc, rn_wall_ms(), group, member ? member : "",
				    rn_ctx_strdup(ctx, rq.group_instance_id), rq.generation_id);
		rn_groups_unlock();
	}
	rn_respond_begin(ctx);
	rn_heartbeat_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
