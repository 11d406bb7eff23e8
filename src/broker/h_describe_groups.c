/*
 * DescribeGroups: state, protocol and members of each group. As in Kafka, an unknown group is
 * described as Dead without an error, and member metadata/assignments are only shown while
 * the group is Stable (ProtocolData is the chosen protocol then).
 */
#include <stdint.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/groups.h"
#include "broker/handler.h"
#include "core/alloc.h"
#include "proto/gen/rn_msg.h"

static struct rn_bytes bytes(struct rn_ctx *ctx, const uint8_t *p, int32_t n)
{
	if (!p || n <= 0)
		return (struct rn_bytes){(const uint8_t *)"", 0};
	uint8_t *c = rn_arena_alloc(&ctx->req->arena, (size_t)n);
	memcpy(c, p, (size_t)n);
	return (struct rn_bytes){c, n};
}

static void describe(struct rn_ctx *ctx, struct rn_group *g,
		     struct rn_describe_groups_response_described_group *d)
{
	bool stable = g->state == RN_GROUP_STABLE;
	d->group_state = rn_str_c(rn_group_state_name(g->state));
	d->protocol_type = rn_ctx_str(ctx, g->protocol_type ? g->protocol_type : "");
	d->protocol_data = rn_ctx_str(ctx, stable && g->protocol_name ? g->protocol_name : "");
	d->members_count = g->nmembers;
	d->members =
	    rn_arena_alloc(&ctx->req->arena, (size_t)(g->nmembers + 1) * sizeof(*d->members));
	int i = 0;
	for (struct rn_gc_member *m = g->members; m; m = m->next, i++) {
		struct rn_describe_groups_response_described_group_member *dm = &d->members[i];
		dm->member_id = rn_ctx_str(ctx, m->id);
		dm->group_instance_id =
		    m->instance_id ? rn_ctx_str(ctx, m->instance_id) : RN_STR_NULL;
		dm->client_id = rn_ctx_str(ctx, m->client_id ? m->client_id : "");
		dm->client_host = rn_ctx_str(ctx, m->client_host ? m->client_host : "");
		dm->member_metadata = bytes(ctx, NULL, 0);
		dm->member_assignment = bytes(ctx, NULL, 0);
		if (!stable)
			continue;
		for (int j = 0; j < m->nprotos; j++)
			if (strcmp(m->protos[j].name, g->protocol_name) == 0)
				dm->member_metadata =
				    bytes(ctx, m->protos[j].meta, m->protos[j].meta_len);
		dm->member_assignment = bytes(ctx, m->assignment, m->assignment_len);
	}
}

void rn_h_describe_groups(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_describe_groups_request rq;
	if (rn_describe_groups_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed DescribeGroups request");
		return;
	}
	struct rn_describe_groups_response resp = {0};
	int32_t n = rq.groups_count > 0 ? rq.groups_count : 0;
	resp.groups_count = n;
	resp.groups = rn_arena_alloc(&ctx->req->arena, (size_t)(n + 1) * sizeof(*resp.groups));
	for (int32_t i = 0; i < n; i++) {
		struct rn_describe_groups_response_described_group *d = &resp.groups[i];
		char *id = rn_ctx_strdup(ctx, rq.groups[i]);
		d->group_id = rq.groups[i];
		d->group_state = rn_str_c("Dead");
		d->protocol_type = rn_str_c("");
		d->protocol_data = rn_str_c("");
		d->authorized_operations = INT32_MIN;
		size_t idl = rq.groups[i].len > 0 ? (size_t)rq.groups[i].len : 0;
		if (!rn_allowed(ctx, RN_OP_DESCRIBE, RN_RES_GROUP, rq.groups[i].ptr, idl)) {
			d->error_code = RN_KERR_GROUP_AUTHORIZATION_FAILED;
			d->group_state = rn_str_c("");
			continue;
		}
		if (rq.include_authorized_operations)
			d->authorized_operations =
			    rn_ctx_ops(ctx, RN_RES_GROUP, rq.groups[i].ptr, idl);
		struct rn_gc *gc = rn_groups_lock_group(id, &d->error_code);
		if (!gc)
			continue;
		if (!id || !*id) {
			d->error_code = RN_KERR_INVALID_GROUP_ID;
			rn_groups_unlock();
			continue;
		}
		struct rn_group *g = rn_gc_group(gc, id);
		if (g)
			describe(ctx, g, d);
		rn_groups_unlock();
	}
	rn_respond_begin(ctx);
	rn_describe_groups_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
