/*
 * AddPartitionsToTxn (v0-3): the partitions a transactional producer is about to write to.
 * Every partition must exist, else it gets UNKNOWN_TOPIC_OR_PARTITION and the others
 * OPERATION_NOT_ATTEMPTED, as in Kafka; then the producer's id and epoch are checked and the
 * partitions join the transaction (which becomes Ongoing), durable in __transaction_state
 * before the answer. Only then does a transactional Produce to them pass (h_produce.c).
 */
#include <string.h>

#include "broker/handler.h"
#include "broker/topics.h"
#include "broker/txns.h"
#include "core/clock.h"
#include "proto/gen/rn_msg.h"

#define OPERATION_NOT_ATTEMPTED 55

struct answer {
	struct rn_add_partitions_to_txn_response resp;
};

static void respond(struct rn_ctx *ctx, void *arg)
{
	struct answer *a = arg;
	rn_respond_begin(ctx);
	rn_add_partitions_to_txn_response_encode(&ctx->req->out, ctx->hdr.api_version, &a->resp);
	rn_respond_end(ctx);
}

/* Fills every partition's error with err, or (err < 0) checks existence: returns true if all
 * exist. */
static bool fill(struct rn_ctx *ctx, const struct rn_add_partitions_to_txn_request *rq,
		 struct rn_add_partitions_to_txn_response *resp, int16_t err)
{
	bool all = true;
	for (int32_t i = 0; i < resp->results_count; i++) {
		struct rn_add_partitions_to_txn_request_add_partitions_to_txn_topic *rt =
		    &rq->topics[i];
		struct rn_topic *t = err < 0 && rt->name.len > 0
					 ? rn_topic_get(ctx->b, rt->name.ptr, (size_t)rt->name.len)
					 : NULL;
		for (int32_t j = 0; j < resp->results[i].results_count; j++) {
			int32_t idx = rt->partitions[j];
			struct
			    rn_add_partitions_to_txn_response_add_partitions_to_txn_partition_result
				*pr = &resp->results[i].results[j];
			pr->partition_index = idx;
			if (err >= 0) {
				pr->partition_error_code = err;
			} else if (!t || idx < 0 || idx >= t->npart) {
				pr->partition_error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
				all = false;
			}
		}
		if (t)
			rn_topic_put(ctx->b, t);
	}
	return all;
}

static void not_attempted(struct rn_add_partitions_to_txn_response *resp)
{
	for (int32_t i = 0; i < resp->results_count; i++)
		for (int32_t j = 0; j < resp->results[i].results_count; j++)
			if (resp->results[i].results[j].partition_error_code == 0)
				resp->results[i].results[j].partition_error_code =
				    OPERATION_NOT_ATTEMPTED;
}

void rn_h_add_partitions_to_txn(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_add_partitions_to_txn_request rq;
	if (rn_add_partitions_to_txn_request_decode(&ctx->rd, ver, &rq) < 0 || ctx->rd.err ||
	    rq.transactional_id.len < 0) {
		rn_close_conn(ctx, "malformed AddPartitionsToTxn request");
		return;
	}
	struct rn_arena *ar = &ctx->req->arena;
	struct answer *a = rn_arena_alloc(ar, sizeof(*a));
	struct rn_add_partitions_to_txn_response *resp = &a->resp;
	resp->results_count = rq.topics_count > 0 ? rq.topics_count : 0;
	resp->results =
	    rn_arena_alloc(ar, (size_t)(resp->results_count + 1) * sizeof(*resp->results));
	for (int32_t i = 0; i < resp->results_count; i++) {
		int32_t np = rq.topics[i].partitions_count > 0 ? rq.topics[i].partitions_count : 0;
		resp->results[i].name = rq.topics[i].name;
		resp->results[i].results_count = np;
		resp->results[i].results =
		    rn_arena_alloc(ar, (size_t)(np + 1) * sizeof(*resp->results[i].results));
	}
	struct rn_txns_flushes *fl = NULL;
	struct rn_tc *tc = rn_txns_lock(&fl);
	if (!tc) {
		fill(ctx, &rq, resp, RN_KERR_COORDINATOR_NOT_AVAILABLE);
		rn_txns_respond_after(ctx, NULL, respond, a);
		return;
	}
	char *id = rn_ctx_strdup(ctx, rq.transactional_id);
	struct rn_txn *t;
	int16_t fenced = ver >= 2 ? RN_KERR_PRODUCER_FENCED : RN_KERR_INVALID_PRODUCER_EPOCH;
	int16_t err = rn_tc_check(tc, id, rq.producer_id, rq.producer_epoch, fenced, &t);
	if (err != RN_KERR_NONE) {
		fill(ctx, &rq, resp, err);
	} else if (!fill(ctx, &rq, resp, -1)) {
		not_attempted(resp);
	} else {
		bool changed = false;
		int64_t now = rn_wall_ms();
		for (int32_t i = 0; i < rq.topics_count; i++) {
			char *topic = rn_ctx_strdup(ctx, rq.topics[i].name);
			for (int32_t j = 0; j < rq.topics[i].partitions_count; j++)
				changed |=
				    rn_tc_add_partition(t, topic, rq.topics[i].partitions[j], now);
		}
		if (changed && rn_txns_store(t, fl) < 0)
			fill(ctx, &rq, resp, RN_KERR_COORDINATOR_NOT_AVAILABLE);
	}
	rn_txns_unlock();
	rn_txns_respond_after(ctx, fl, respond, a);
}
