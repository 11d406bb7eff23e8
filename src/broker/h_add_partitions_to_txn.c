/*
 * AddPartitionsToTxn: the partitions a transactional producer is about to write to.
 * Every partition must exist, else it gets UNKNOWN_TOPIC_OR_PARTITION and the others
 * OPERATION_NOT_ATTEMPTED, as in Kafka; then the producer's id and epoch are checked and the
 * partitions join the transaction (which becomes Ongoing), durable in __transaction_state
 * before the answer. Only then does a transactional Produce to them pass (h_produce.c).
 * v4 (KIP-890, what brokers send each other) carries several transactions, each answered as
 * v3 would be, and VerifyOnly ones that only ask whether the partitions are already in.
 */
#include <string.h>

#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/topics.h"
#include "broker/txns.h"
#include "core/clock.h"
#include "proto/gen/rn_msg.h"

#define OPERATION_NOT_ATTEMPTED 55

struct answer {
	struct rn_add_partitions_to_txn_response resp;
};

/* A write that failed to replicate: its code in place of every NONE. */
static void fail_none(struct rn_add_partitions_to_txn_response *r, int16_t err)
{
	for (int32_t i = 0; i < r->results_count; i++)
		for (int32_t j = 0; j < r->results[i].results_count; j++)
			if (r->results[i].results[j].partition_error_code == RN_KERR_NONE)
				r->results[i].results[j].partition_error_code = err;
	for (int32_t t = 0; t < r->results_by_transaction_count; t++) {
		struct rn_add_partitions_to_txn_response_add_partitions_to_txn_result *x =
		    &r->results_by_transaction[t];
		for (int32_t i = 0; i < x->topic_results_count; i++)
			for (int32_t j = 0; j < x->topic_results[i].results_by_partition_count; j++)
				if (x->topic_results[i]
					.results_by_partition[j]
					.partition_error_code == RN_KERR_NONE)
					x->topic_results[i]
					    .results_by_partition[j]
					    .partition_error_code = err;
	}
}

static void respond(struct rn_ctx *ctx, void *arg, int16_t err)
{
	struct answer *a = arg;
	if (err != RN_KERR_NONE)
		fail_none(&a->resp, err);
	rn_respond_begin(ctx);
	rn_add_partitions_to_txn_response_encode(&ctx->req->out, ctx->hdr.api_version, &a->resp);
	rn_respond_end(ctx);
}

/* One transaction's part of a request, in the v0-3 shapes (v4 entries are converted). */
struct one {
	struct rn_str id;
	int64_t pid;
	int16_t epoch;
	bool verify_only;
	const struct rn_add_partitions_to_txn_request_add_partitions_to_txn_topic *topics;
	struct rn_add_partitions_to_txn_response_add_partitions_to_txn_topic_result *results;
	int32_t n;
};

/* Fills every partition's error with err, or (err < 0) checks existence: returns true if all
 * exist. */
static bool fill(struct rn_ctx *ctx, struct one *o, int16_t err)
{
	bool all = true;
	for (int32_t i = 0; i < o->n; i++) {
		const struct rn_add_partitions_to_txn_request_add_partitions_to_txn_topic *rt =
		    &o->topics[i];
		struct rn_topic *t = err < 0 && rt->name.len > 0
					 ? rn_topic_get(ctx->b, rt->name.ptr, (size_t)rt->name.len)
					 : NULL;
		for (int32_t j = 0; j < o->results[i].results_count; j++) {
			int32_t idx = rt->partitions[j];
			struct
			    rn_add_partitions_to_txn_response_add_partitions_to_txn_partition_result
				*pr = &o->results[i].results[j];
			pr->partition_index = idx;
			if (err >= 0) {
				pr->partition_error_code = err;
			} else if (pr->partition_error_code == RN_KERR_NONE &&
				   (!t || idx < 0 || idx >= t->npart)) {
				pr->partition_error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
				all = false;
			}
		}
		if (t)
			rn_topic_put(ctx->b, t);
	}
	return all;
}

static void not_attempted(struct one *o)
{
	for (int32_t i = 0; i < o->n; i++)
		for (int32_t j = 0; j < o->results[i].results_count; j++)
			if (o->results[i].results[j].partition_error_code == 0)
				o->results[i].results[j].partition_error_code =
				    OPERATION_NOT_ATTEMPTED;
}

static struct rn_add_partitions_to_txn_response_add_partitions_to_txn_topic_result *
alloc_results(struct rn_arena *ar,
	      const struct rn_add_partitions_to_txn_request_add_partitions_to_txn_topic *topics,
	      int32_t n)
{
	struct rn_add_partitions_to_txn_response_add_partitions_to_txn_topic_result *r =
	    rn_arena_alloc(ar, (size_t)(n + 1) * sizeof(*r));
	for (int32_t i = 0; i < n; i++) {
		int32_t np = topics[i].partitions_count > 0 ? topics[i].partitions_count : 0;
		r[i].name = topics[i].name;
		r[i].results_count = np;
		r[i].results = rn_arena_alloc(ar, (size_t)(np + 1) * sizeof(*r[i].results));
	}
	return r;
}

/* v4 VerifyOnly (KIP-890): are the partitions already in the ongoing transaction? Kafka's
 * handleVerifyPartitionsInTransaction: NONE or INVALID_TXN_STATE per partition. */
static void verify(struct rn_ctx *ctx, struct rn_txn *t, struct one *o)
{
	for (int32_t i = 0; i < o->n; i++) {
		char *topic = rn_ctx_strdup(ctx, o->topics[i].name);
		for (int32_t j = 0; j < o->results[i].results_count; j++) {
			struct
			    rn_add_partitions_to_txn_response_add_partitions_to_txn_partition_result
				*pr = &o->results[i].results[j];
			pr->partition_index = o->topics[i].partitions[j];
			pr->partition_error_code =
			    topic && rn_tc_has_partition(t, topic, pr->partition_index)
				? RN_KERR_NONE
				: RN_KERR_INVALID_TXN_STATE;
		}
	}
}

/* TOPIC_AUTHORIZATION_FAILED on the partitions of topics the principal may not write;
 * true if there was any. */
static bool deny_topics(struct rn_ctx *ctx, struct one *o)
{
	bool any = false;
	for (int32_t i = 0; i < o->n; i++) {
		if (rn_allowed_view(ctx, RN_OP_WRITE, RN_RES_TOPIC, o->topics[i].name.ptr,
				    o->topics[i].name.len))
			continue;
		any = true;
		for (int32_t j = 0; j < o->results[i].results_count; j++) {
			o->results[i].results[j].partition_index = o->topics[i].partitions[j];
			o->results[i].results[j].partition_error_code =
			    RN_KERR_TOPIC_AUTHORIZATION_FAILED;
		}
	}
	return any;
}

/* One transaction, under the coordinator lock (tc NULL: not available). */
static void add_one(struct rn_ctx *ctx, struct rn_tc *tc, struct rn_txns_flushes *fl, struct one *o)
{
	/* Kafka: WRITE on the transactional id, then on each topic (the others are then not
	 * attempted), before the coordinator looks at the producer. Verification comes from
	 * brokers, already checked for CLUSTER_ACTION. */
	if (!o->verify_only &&
	    !rn_allowed_view(ctx, RN_OP_WRITE, RN_RES_TRANSACTIONAL_ID, o->id.ptr, o->id.len)) {
		fill(ctx, o, RN_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
		return;
	}
	if (!o->verify_only && deny_topics(ctx, o)) {
		fill(ctx, o, -1);
		not_attempted(o);
		return;
	}
	if (!tc) {
		fill(ctx, o, RN_KERR_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	char *id = rn_ctx_strdup(ctx, o->id);
	struct rn_txn *t;
	int16_t fenced =
	    ctx->hdr.api_version >= 2 ? RN_KERR_PRODUCER_FENCED : RN_KERR_INVALID_PRODUCER_EPOCH;
	int16_t err = id ? rn_tc_check(tc, id, o->pid, o->epoch, fenced, &t)
			 : RN_KERR_INVALID_PRODUCER_ID_MAPPING;
	if (err != RN_KERR_NONE) {
		fill(ctx, o, err);
		return;
	}
	if (o->verify_only) {
		verify(ctx, t, o);
		return;
	}
	if (!fill(ctx, o, -1)) {
		not_attempted(o);
		return;
	}
	bool changed = false;
	int64_t now = rn_wall_ms();
	for (int32_t i = 0; i < o->n; i++) {
		char *topic = rn_ctx_strdup(ctx, o->topics[i].name);
		for (int32_t j = 0; j < o->topics[i].partitions_count; j++)
			changed |= rn_tc_add_partition(t, topic, o->topics[i].partitions[j], now);
	}
	if (changed && rn_txns_store(t, fl) < 0)
		fill(ctx, o, RN_KERR_COORDINATOR_NOT_AVAILABLE);
}

/* v4: each transaction converted to the v0-3 shapes, answered, and converted back. */
static void add_batch(struct rn_ctx *ctx, struct rn_tc *tc, struct rn_txns_flushes *fl,
		      const struct rn_add_partitions_to_txn_request *rq,
		      struct rn_add_partitions_to_txn_response *resp)
{
	struct rn_arena *ar = &ctx->req->arena;
	int32_t nt = rq->transactions_count > 0 ? rq->transactions_count : 0;
	resp->results_by_transaction_count = nt;
	resp->results_by_transaction =
	    rn_arena_alloc(ar, (size_t)(nt + 1) * sizeof(*resp->results_by_transaction));
	for (int32_t i = 0; i < nt; i++) {
		const struct rn_add_partitions_to_txn_request_add_partitions_to_txn_transaction *x =
		    &rq->transactions[i];
		int32_t n = x->topics_count > 0 ? x->topics_count : 0;
		struct rn_add_partitions_to_txn_request_add_partitions_to_txn_topic *topics =
		    rn_arena_alloc(ar, (size_t)(n + 1) * sizeof(*topics));
		for (int32_t j = 0; j < n; j++)
			topics[j] =
			    (struct rn_add_partitions_to_txn_request_add_partitions_to_txn_topic){
				x->topics[j].name, x->topics[j].partitions,
				x->topics[j].partitions_count};
		struct one o = {x->transactional_id,
				x->producer_id,
				x->producer_epoch,
				x->verify_only,
				topics,
				alloc_results(ar, topics, n),
				n};
		add_one(ctx, tc, fl, &o);
		struct rn_add_partitions_to_txn_response_add_partitions_to_txn_result *r =
		    &resp->results_by_transaction[i];
		r->transactional_id = x->transactional_id;
		r->topic_results_count = n;
		r->topic_results = rn_arena_alloc(ar, (size_t)(n + 1) * sizeof(*r->topic_results));
		for (int32_t j = 0; j < n; j++) {
			r->topic_results[j].name = o.results[j].name;
			int32_t np = o.results[j].results_count;
			r->topic_results[j].results_by_partition_count = np;
			r->topic_results[j].results_by_partition = rn_arena_alloc(
			    ar,
			    (size_t)(np + 1) * sizeof(*r->topic_results[j].results_by_partition));
			for (int32_t k = 0; k < np; k++)
				r->topic_results[j].results_by_partition[k] =
				    (struct
				     rn_add_partitions_to_txn_response_add_partitions_to_txn_partition_results){
					o.results[j].results[k].partition_index,
					o.results[j].results[k].partition_error_code};
		}
	}
}

void rn_h_add_partitions_to_txn(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_add_partitions_to_txn_request rq;
	if (rn_add_partitions_to_txn_request_decode(&ctx->rd, ver, &rq) < 0 || ctx->rd.err ||
	    (ver < 4 && rq.transactional_id.len < 0)) {
		rn_close_conn(ctx, "malformed AddPartitionsToTxn request");
		return;
	}
	struct rn_arena *ar = &ctx->req->arena;
	struct answer *a = rn_arena_alloc(ar, sizeof(*a));
	struct rn_add_partitions_to_txn_response *resp = &a->resp;
	struct rn_txns_flushes *fl = NULL;
	/* v4+ batches come from brokers (KIP-890): CLUSTER_ACTION, else a top-level error. */
	if (ver >= 4 && !rn_allowed_cluster(ctx, RN_OP_CLUSTER_ACTION)) {
		resp->error_code = RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
		rn_txns_respond_after(ctx, NULL, respond, a);
		return;
	}
	struct rn_tc *tc = rn_txns_lock(&fl);
	if (ver >= 4) {
		add_batch(ctx, tc, fl, &rq, resp);
	} else {
		int32_t n = rq.topics_count > 0 ? rq.topics_count : 0;
		struct one o = {rq.transactional_id,
				rq.producer_id,
				rq.producer_epoch,
				false,
				rq.topics,
				alloc_results(ar, rq.topics, n),
				n};
		add_one(ctx, tc, fl, &o);
		resp->results = o.results;
		resp->results_count = n;
	}
	if (tc)
		rn_txns_unlock();
	rn_txns_respond_after(ctx, tc ? fl : NULL, respond, a);
}
