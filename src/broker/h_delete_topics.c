/* DeleteTopics: by name (v0-5) or by name or id (v6+). */
#include <stdio.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/groups.h"
#include "broker/handler.h"
#include "broker/topics.h"
#include "proto/gen/rn_msg.h"

static void delete_one(struct rn_ctx *ctx, struct rn_str name,
		       struct rn_delete_topics_response_deletable_topic_result *r)
{
	char msg[256] = "";
	r->name = name;
	r->error_message = RN_STR_NULL;
	if (name.len <= 0) {
		r->error_code = RN_KERR_UNKNOWN_TOPIC_ID;
		return;
	}
	if (!rn_config_get_bool(ctx->b->cfg, "delete.topic.enable")) {
		r->error_code = RN_KERR_TOPIC_DELETION_DISABLED;
		return;
	}
	if (!rn_allowed_view(ctx, RN_OP_DELETE, RN_RES_TOPIC, name.ptr, name.len)) {
		r->error_code = RN_KERR_TOPIC_AUTHORIZATION_FAILED;
		return;
	}
	/* The coordinators hold their internal topics' partitions for the broker's lifetime. */
	if (rn_str_eq(name, "__consumer_offsets") || rn_str_eq(name, "__transaction_state")) {
		r->error_code = RN_KERR_INVALID_REQUEST;
		r->error_message = rn_str_c("Internal topics cannot be deleted");
		return;
	}
	struct rn_topic *t = rn_topic_get(ctx->b, name.ptr, (size_t)name.len);
	if (t) {
		memcpy(r->topic_id.b, t->id, 16);
		rn_topic_put(ctx->b, t);
	}
	char *cname = rn_ctx_strdup(ctx, name);
	r->error_code = rn_topic_delete(ctx->b, cname, msg, sizeof(msg));
	if (r->error_code != RN_KERR_NONE)
		r->error_message = rn_ctx_str(ctx, msg);
	else if (!ctx->b->clustered) /* a cluster's brokers each do it as the store tells them */
		rn_groups_topic_deleted(cname);
}

/* v6+ may name a topic by id instead (Kafka: not both). Returns true when r is complete. */
static bool by_id(struct rn_ctx *ctx, const struct rn_delete_topics_request_delete_topic_state *q,
		  struct rn_delete_topics_response_deletable_topic_result *r)
{
	static const uint8_t zero[16];
	if (memcmp(q->topic_id.b, zero, 16) == 0)
		return false;
	r->topic_id = q->topic_id;
	r->error_message = RN_STR_NULL;
	if (q->name.len >= 0) {
		r->name = q->name;
		r->error_code = RN_KERR_INVALID_REQUEST;
		r->error_message = rn_str_c("Topic name and topic ID can not both be specified.");
		return true;
	}
	struct rn_topic *t = rn_topic_get_by_id(ctx->b, q->topic_id.b);
	if (!t) {
		r->name = RN_STR_NULL;
		r->error_code = RN_KERR_UNKNOWN_TOPIC_ID;
		return true;
	}
	struct rn_str name = rn_ctx_str(ctx, t->name);
	rn_topic_put(ctx->b, t);
	delete_one(ctx, name, r);
	return true;
}

void rn_h_delete_topics(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_delete_topics_request rq;
	if (rn_delete_topics_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed DeleteTopics request");
		return;
	}
	struct rn_delete_topics_response resp = {0};
	int32_t n = ver >= 6 ? rq.topics_count : rq.topic_names_count;
	n = n > 0 ? n : 0;
	resp.responses_count = n;
	resp.responses =
	    rn_arena_alloc(&ctx->req->arena, (size_t)(n + 1) * sizeof(*resp.responses));
	for (int32_t i = 0; i < n; i++) {
		if (ver >= 6 && by_id(ctx, &rq.topics[i], &resp.responses[i]))
			continue;
		delete_one(ctx, ver >= 6 ? rq.topics[i].name : rq.topic_names[i],
			   &resp.responses[i]);
	}
	rn_respond_begin(ctx);
	rn_delete_topics_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
