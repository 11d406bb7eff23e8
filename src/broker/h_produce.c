/*
 * Produce: validate and append each partition's record batches, then answer. With acks=0 no
 * response is sent at all. When a partition's flush policy is reached (flush.messages, e.g. 1
 * for "every ack is on disk") the answer waits for the group-commit flusher: the request keeps
 * its topic references until every flush it asked for has completed.
 *
 *   loop: append -> flusher_submit ... flusher thread: fdatasync -> cb -> post ... loop: respond
 *
 * In a cluster (the partition has a replication state, rp) only its leader appends: acks=0/1
 * need leadership, acks=all also an ISR of at least min.insync.replicas before the append
 * (NOT_ENOUGH_REPLICAS) and, after it, the high watermark past the appended records
 * (rn_replica_wait_hw: NOT_ENOUGH_REPLICAS_AFTER_APPEND, NOT_LEADER_OR_FOLLOWER,
 * REQUEST_TIMED_OUT after the request's timeout_ms, as Kafka's DelayedProduce). That wait and
 * the flush wait run side by side; the answer goes when both are done.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/legacy.h"
#include "broker/produce_errors.h"
#include "broker/quotas.h"
#include "broker/recompress.h"
#include "broker/topic_config.h"
#include "broker/topics.h"
#include "broker/txns.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "net/loop.h"
#include "proto/gen/rn_msg.h"
#include "proto/record_batch.h"
#include "replica/replica.h"
#include "storage/flusher.h"
#include "storage/partition.h"

struct produce {
	struct rn_ctx *ctx;
	struct rn_produce_response resp;
	struct rn_topic **held; /* referenced until the response: flushes use their partitions */
	int nheld;
	int pending; /* flushes and replication waits not completed yet; loop thread only */
	int16_t acks;
	int32_t timeout_ms;
};

struct flush_wait {
	struct produce *pr;
	struct rn_produce_response_partition_produce_response *pp;
	int err;
};

static void finish(struct produce *pr)
{
	struct rn_ctx *ctx = pr->ctx;
	rn__produce_v10_defaults(&pr->resp);
	pr->resp.throttle_time_ms = rn_quota_produce(ctx);
	rn_respond_begin(ctx);
	rn_produce_response_encode(&ctx->req->out, ctx->hdr.api_version, &pr->resp);
	for (int i = 0; i < pr->nheld; i++)
		rn_topic_put(ctx->b, pr->held[i]);
	rn_respond_end(ctx);
}

static void flushed_on_loop(void *arg)
{
	struct flush_wait *fw = arg;
	if (fw->err) {
		fw->pp->error_code = RN_KERR_KAFKA_STORAGE_ERROR;
		fw->pp->base_offset = -1;
	}
	if (--fw->pr->pending == 0)
		finish(fw->pr);
}

static void flushed(void *arg, int err)
{
	struct flush_wait *fw = arg;
	fw->err = err;
	rn_loop_post(fw->pr->ctx->req->loop, flushed_on_loop, fw);
}

struct repl_wait {
	struct produce *pr;
	struct rn_produce_response_partition_produce_response *pp;
	int16_t kerr;
};

static void replicated_on_loop(void *arg)
{
	struct repl_wait *rw = arg;
	/* A failed flush (KAFKA_STORAGE_ERROR) stands over what replication says. */
	if (rw->pp->error_code == RN_KERR_NONE)
		rw->pp->error_code = rw->kerr;
	if (--rw->pr->pending == 0)
		finish(rw->pr);
}

/* From any thread (rn_replica_wait_hw's completion). */
static void replicated(void *arg, int16_t kerr)
{
	struct repl_wait *rw = arg;
	rw->kerr = kerr;
	rn_loop_post(rw->pr->ctx->req->loop, replicated_on_loop, rw);
}

/* The topic's min.insync.replicas (override, else the broker's), for acks=all in a cluster. */
static int32_t min_isr_of(struct rn_broker *b, struct rn_topic *t)
{
	bool is_default;
	rn_topics_cfg_lock(false);
	const char *v =
	    rn_topic_cfg_value(b->cfg, t->configs, t->nconfigs, "min.insync.replicas", &is_default);
	long n = v ? strtol(v, NULL, 10) : 1;
	rn_topics_cfg_unlock();
	return n >= 1 && n <= INT32_MAX ? (int32_t)n : 1;
}

/* Before the append, on a replicated partition: this broker must lead it (and, for acks=all,
 * have enough in-sync replicas). NONE to go on. */
static int16_t replica_check(struct produce *pr, struct rn_replica_part *rp, int32_t min_isr)
{
	if (pr->acks == -1)
		return rn_replica_produce_check(rp, min_isr);
	int32_t epoch;
	return rn_replica_leader(rp, &epoch) < 0 ? RN_KERR_NOT_LEADER_OR_FOLLOWER : RN_KERR_NONE;
}

/* After the append: the HW may move (alone in the ISR it follows the log end); acks=all waits
 * for it to pass the records, acks=1 answers at once if this broker still leads. */
static void replica_after(struct produce *pr, struct rn_replica_part *rp,
			  struct rn_produce_response_partition_produce_response *pp,
			  int64_t last_offset, int32_t min_isr)
{
	rn_replica_leader_appended(rp);
	if (pr->acks == -1) {
		struct repl_wait *rw = rn_arena_alloc(&pr->ctx->req->arena, sizeof(*rw));
		rw->pr = pr;
		rw->pp = pp;
		pr->pending++;
		rn_replica_wait_hw(rp, last_offset + 1, min_isr, pr->timeout_ms, replicated, rw);
		return;
	}
	int32_t epoch;
	if (pr->acks == 1 && rn_replica_leader(rp, &epoch) < 0)
		pp->error_code = RN_KERR_NOT_LEADER_OR_FOLLOWER;
}

static void append_one(struct produce *pr, struct rn_topic *t,
		       struct rn_produce_request_partition_produce_data *pd,
		       struct rn_produce_response_partition_produce_response *pp, bool wait_flush,
		       int32_t min_isr)
{
	struct rn_ctx *ctx = pr->ctx;
	pp->index = pd->index;
	pp->base_offset = -1;
	pp->log_append_time_ms = -1;
	pp->log_start_offset = -1;
	pp->error_message = RN_STR_NULL;
	if (!t || pd->index < 0 || pd->index >= t->npart) {
		pp->error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	struct rn_partition *p = t->parts[pd->index].log;
	struct rn_replica_part *rp = t->parts[pd->index].rp;
	atomic_fetch_add_explicit(&t->stats.produce_requests, 1, memory_order_relaxed);
	if (!p) {
		/* In a cluster: no replica of it here. */
		pp->error_code = ctx->b->clustered && !rp ? RN_KERR_NOT_LEADER_OR_FOLLOWER
							  : RN_KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	if (rp && (pp->error_code = replica_check(pr, rp, min_isr)) != RN_KERR_NONE) {
		atomic_fetch_add_explicit(&t->stats.failed_produce, 1, memory_order_relaxed);
		return;
	}
	if (pd->records.len <= 0) {
		pp->error_code = RN_KERR_CORRUPT_MESSAGE;
		return;
	}
	/* The magic byte before anything else: a legacy set has no v2 header to look at. */
	pp->error_code = rn_legacy_produce(ctx, t, p, &pd->records);
	if (pp->error_code != RN_KERR_NONE) {
		atomic_fetch_add_explicit(&t->stats.failed_produce, 1, memory_order_relaxed);
		return;
	}
	/* compression.type other than producer: store the topic's codec (before any lock), after
	 * a legacy set became v2 batches. */
	int rrc = rn_recompress(&ctx->req->arena, atomic_load(&t->compression), &pd->records);
	if (rrc < 0) {
		pp->error_code = (int16_t)rn_kerr_from(rrc);
		atomic_fetch_add_explicit(&t->stats.failed_produce, 1, memory_order_relaxed);
		return;
	}
	/* A transactional batch must belong to the producer's ongoing transaction, checked with
	 * the coordinator held across the append (txns.h). One byte test for everyone else. */
	const uint8_t *rb = pd->records.ptr;
	bool txn = pd->records.len >= RN_BATCH_HEADER_SIZE &&
		   (rb[RN_BATCH_OFF_ATTRIBUTES + 1] & RN_BATCH_ATTR_TRANSACTIONAL);
	bool locked = false;
	if (txn) {
		int16_t e = rn_txns_produce_begin((int64_t)rn_be64(rb + RN_BATCH_OFF_PRODUCER_ID),
						  (int16_t)(rb[RN_BATCH_OFF_PRODUCER_EPOCH] << 8 |
							    rb[RN_BATCH_OFF_PRODUCER_EPOCH + 1]),
						  t->name, pd->index, &locked);
		if (e != RN_KERR_NONE) {
			pp->error_code = e;
			atomic_fetch_add_explicit(&t->stats.failed_produce, 1,
						  memory_order_relaxed);
			return;
		}
	}
	struct rn_append_info ai = {0};
	int rc = rn_partition_append(p, pd->records.ptr, (size_t)pd->records.len, &ai);
	if (locked)
		rn_txns_unlock();
	if (rc < 0) {
		pp->error_code = (int16_t)rn_kerr_from(rc);
		rn__produce_fill_errors(ctx, pp, &ai.record_errors, t->name, pd->index);
		atomic_fetch_add_explicit(&t->stats.failed_produce, 1, memory_order_relaxed);
		if (pp->error_code == RN_KERR_KAFKA_STORAGE_ERROR ||
		    pp->error_code == RN_KERR_UNKNOWN_SERVER_ERROR)
			rn_log_every(5000, RN_LOG_WARN, "produce to %s-%d failed: %s", t->name,
				     pd->index, rn_strerror(rc));
		else
			rn_debug("produce to %s-%d rejected: %s", t->name, pd->index,
				 rn_strerror(rc));
		return;
	}
	/* An idempotent retry of a batch already in the log is answered with the original's base
	 * offset and no error, as Kafka does: librdkafka would accept DUPLICATE_SEQUENCE_NUMBER
	 * too, kafkajs would not. */
	pp->base_offset = ai.base_offset;
	pp->log_append_time_ms = ai.log_append_time;
	pp->log_start_offset = ai.log_start_offset;
	if (!ai.duplicate) {
		atomic_fetch_add_explicit(&t->stats.records_in, (uint64_t)ai.nrecords,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&t->stats.bytes_in, (uint64_t)pd->records.len,
					  memory_order_relaxed);
		rn_topic_notify(t, pd->index);
	}
	if (ai.needs_flush && wait_flush) {
		struct flush_wait *fw = rn_arena_alloc(&ctx->req->arena, sizeof(*fw));
		fw->pr = pr;
		fw->pp = pp;
		pr->pending++;
		rn_flusher_submit(ctx->b->flusher, p, flushed, fw);
	}
	if (rp)
		replica_after(pr, rp, pp, ai.last_offset, min_isr);
}

void rn_h_produce(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_produce_request rq;
	if (rn_produce_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed Produce request");
		return;
	}
	struct rn_arena *a = &ctx->req->arena;
	struct produce *pr = rn_arena_alloc(a, sizeof(*pr));
	pr->ctx = ctx;
	pr->acks = rq.acks;
	pr->timeout_ms = rq.timeout_ms;
	pr->resp.responses_count = rq.topic_data_count > 0 ? rq.topic_data_count : 0;
	pr->resp.responses =
	    rn_arena_alloc(a, (size_t)(pr->resp.responses_count + 1) * sizeof(*pr->resp.responses));
	pr->held = rn_arena_alloc(a, (size_t)(pr->resp.responses_count + 1) * sizeof(*pr->held));
	bool acks_ok = rq.acks == 0 || rq.acks == 1 || rq.acks == -1;
	/* Nobody waits for acks=0 data: flush.ms and the next acknowledged write cover it. */
	bool wait_flush = rq.acks != 0;
	bool txn_denied = rq.transactional_id.len >= 0 &&
			  !rn_allowed(ctx, RN_OP_WRITE, RN_RES_TRANSACTIONAL_ID,
				      rq.transactional_id.ptr, (size_t)rq.transactional_id.len);
	pr->pending = 1; /* released below, so flushes completing early cannot finish first */
	for (int32_t i = 0; i < pr->resp.responses_count; i++) {
		struct rn_produce_request_topic_produce_data *td = &rq.topic_data[i];
		struct rn_produce_response_topic_produce_response *tr = &pr->resp.responses[i];
		tr->name = td->name;
		int32_t np = td->partition_data_count > 0 ? td->partition_data_count : 0;
		tr->partition_responses_count = np;
		tr->partition_responses =
		    rn_arena_alloc(a, (size_t)(np + 1) * sizeof(*tr->partition_responses));
		/* Kafka: the transactional id first (every partition), then WRITE per topic. */
		int16_t deny = txn_denied ? RN_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED
			       : !rn_allowed(ctx, RN_OP_WRITE, RN_RES_TOPIC, td->name.ptr,
					     td->name.len > 0 ? (size_t)td->name.len : 0)
				   ? RN_KERR_TOPIC_AUTHORIZATION_FAILED
				   : RN_KERR_NONE;
		struct rn_topic *t = NULL;
		if (!deny && acks_ok && td->name.len > 0)
			t = rn_topic_get(ctx->b, td->name.ptr, (size_t)td->name.len);
		if (t)
			pr->held[pr->nheld++] = t;
		int32_t min_isr =
		    t && rq.acks == -1 && ctx->b->clustered ? min_isr_of(ctx->b, t) : 1;
		for (int32_t j = 0; j < np; j++) {
			struct rn_produce_response_partition_produce_response *pp =
			    &tr->partition_responses[j];
			if (deny || !acks_ok) {
				pp->index = td->partition_data[j].index;
				pp->error_code = deny ? deny : RN_KERR_INVALID_REQUIRED_ACKS;
				pp->base_offset = -1;
				pp->log_append_time_ms = -1;
				pp->log_start_offset = -1;
				pp->error_message = RN_STR_NULL;
				continue;
			}
			append_one(pr, t, &td->partition_data[j], pp, wait_flush, min_isr);
		}
	}
	if (rq.acks == 0) {
		for (int i = 0; i < pr->nheld; i++)
			rn_topic_put(ctx->b, pr->held[i]);
		/* No response to carry it, but the connection is still muted (Kafka's acks=0). */
		rn_quota_produce(ctx);
		rn_respond_none(ctx);
		return;
	}
	if (--pr->pending == 0)
		finish(pr);
}
