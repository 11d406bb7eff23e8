/* DeleteGroups: only groups without members (Empty); their offsets and metadata get
 * tombstones in __consumer_offsets. Others answer NON_EMPTY_GROUP, unknown ones
 * GROUP_ID_NOT_FOUND. */
#include "broker/authz.h"
#include "broker/groups.h"
#include "broker/handler.h"
#include "proto/gen/rn_msg.h"

void rn_h_delete_groups(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_delete_groups_request rq;
	if (rn_delete_groups_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed DeleteGroups request");
		return;
	}
	struct rn_delete_groups_response resp = {0};
	int32_t n = rq.groups_names_count > 0 ? rq.groups_names_count : 0;
	resp.results_count = n;
	resp.results = rn_arena_alloc(&ctx->req->arena, (size_t)(n + 1) * sizeof(*resp.results));
	for (int32_t i = 0; i < n; i++) {
		char *id = rn_ctx_strdup(ctx, rq.groups_names[i]);
		resp.results[i].group_id = rq.groups_names[i];
		int16_t e;
		e = RN_KERR_GROUP_AUTHORIZATION_FAILED;
		struct rn_gc *gc = rn_allowed_view(ctx, RN_OP_DELETE, RN_RES_GROUP,
						   rq.groups_names[i].ptr, rq.groups_names[i].len)
				       ? rn_groups_lock_group(id, &e)
				       : NULL;
		struct rn_group *g = gc && id ? rn_gc_group(gc, id) : NULL;
		if (!gc)
			; /* e says why */
		else if (!id || !*id)
			e = RN_KERR_INVALID_GROUP_ID;
		else if (!g || g->state == RN_GROUP_DEAD)
			e = RN_KERR_GROUP_ID_NOT_FOUND;
		else if (g->state != RN_GROUP_EMPTY)
			e = RN_KERR_NON_EMPTY_GROUP;
		else
			e = rn_groups_delete(g) < 0 ? RN_KERR_COORDINATOR_NOT_AVAILABLE
						    : RN_KERR_NONE;
		resp.results[i].error_code = e;
		if (gc)
			rn_groups_unlock();
	}
	rn_respond_begin(ctx);
	rn_delete_groups_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
