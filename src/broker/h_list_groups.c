/* ListGroups: every group the coordinator knows (simple-commit groups too); v4 filters by
 * state names, compared case-insensitively as Kafka parses them. */
#include <string.h>
#include <strings.h>

#include "broker/authz.h"
#include "broker/groups.h"
#include "broker/handler.h"
#include "proto/gen/rn_msg.h"

struct list {
	struct rn_ctx *ctx;
	struct rn_list_groups_request *rq;
	struct rn_list_groups_response *resp;
	bool all;
};

static bool wanted(const struct rn_list_groups_request *rq, const char *state)
{
	if (rq->states_filter_count <= 0)
		return true;
	size_t n = strlen(state);
	for (int32_t i = 0; i < rq->states_filter_count; i++) {
		struct rn_str s = rq->states_filter[i];
		if (s.len == (int32_t)n && strncasecmp(s.ptr, state, n) == 0)
			return true;
	}
	return false;
}

static void add(struct rn_group *g, void *arg)
{
	struct list *l = arg;
	const char *state = rn_group_state_name(g->state);
	if (g->state == RN_GROUP_DEAD || !wanted(l->rq, state))
		return;
	/* Kafka: DESCRIBE on the cluster lists every group, else those the principal may
	 * describe, silently. */
	if (!l->all &&
	    !rn_allowed_quiet(l->ctx, RN_OP_DESCRIBE, RN_RES_GROUP, g->id, strlen(g->id)))
		return;
	struct rn_list_groups_response_listed_group *lg = &l->resp->groups[l->resp->groups_count++];
	lg->group_id = rn_ctx_str(l->ctx, g->id);
	lg->protocol_type = rn_ctx_str(l->ctx, g->protocol_type ? g->protocol_type : "");
	lg->group_state = rn_str_c(state);
}

void rn_h_list_groups(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_list_groups_request rq;
	if (rn_list_groups_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed ListGroups request");
		return;
	}
	struct rn_list_groups_response resp = {0};
	struct rn_gc *gc = rn_groups_lock();
	if (gc) {
		int n = rn_gc_ngroups(gc);
		resp.groups =
		    rn_arena_alloc(&ctx->req->arena, (size_t)(n + 1) * sizeof(*resp.groups));
		struct list l = {ctx, &rq, &resp,
				 rn_allowed_quiet(ctx, RN_OP_DESCRIBE, RN_RES_CLUSTER,
						  RN_CLUSTER_RESOURCE,
						  sizeof(RN_CLUSTER_RESOURCE) - 1)};
		rn_gc_foreach(gc, add, &l);
		rn_groups_unlock();
	} else {
		resp.error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
	}
	rn_respond_begin(ctx);
	rn_list_groups_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
