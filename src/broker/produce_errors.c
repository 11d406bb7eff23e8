#include "broker/produce_errors.h"

#include <stdio.h>

void rn__produce_fill_errors(struct rn_ctx *ctx,
			     struct rn_produce_response_partition_produce_response *pp,
			     const struct rn_record_errors *re, const char *topic, int32_t part)
{
	pp->record_errors_count = 0;
	pp->error_message = re->message ? rn_ctx_str(ctx, re->message) : RN_STR_NULL;
	if (re->n <= 0)
		return;
	if (!re->message && re->e[0].message) {
		char m[512];
		snprintf(m, sizeof(m), "%s in topic partition %s-%d", re->e[0].message, topic,
			 part);
		pp->error_message = rn_ctx_str(ctx, m);
	}
	pp->record_errors =
	    rn_arena_alloc(&ctx->req->arena, (size_t)re->n * sizeof(*pp->record_errors));
	for (int i = 0; i < re->n; i++) {
		pp->record_errors[i].batch_index = re->e[i].batch_index;
		pp->record_errors[i].batch_index_error_message =
		    re->e[i].message ? rn_ctx_str(ctx, re->e[i].message) : RN_STR_NULL;
	}
	pp->record_errors_count = re->n;
}

void rn__produce_v10_defaults(struct rn_produce_response *resp)
{
	for (int32_t i = 0; i < resp->responses_count; i++) {
		struct rn_produce_response_topic_produce_response *t = &resp->responses[i];
		for (int32_t j = 0; j < t->partition_responses_count; j++)
			t->partition_responses[j].current_leader =
			    (struct rn_produce_response_leader_id_and_epoch){-1, -1};
	}
}
