/*
 * Produce: validate and append each partition's record batches, then answer. With acks=0 no
 * response is sent at all. When a partition's flush policy is reached (flush.messages, e.g. 1
 * for "every ack is on disk") the answer waits for the group-commit flusher: the request keeps
 * its topic references until every flush it asked for has completed.
 *
 *   loop: append -> flusher_submit ... flusher thread: fdatasync -> cb -> post ... loop: respond
 */
#include <stdio.h>
#include <string.h>

#include "broker/handler.h"
#include "broker/legacy.h"
#include "broker/produce_errors.h"
#include "broker/recompress.h"
#include "broker/topics.h"
#include "broker/txns.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "net/loop.h"
#include "proto/gen/rn_msg.h"
#include "proto/record_batch.h"
#include "storage/flusher.h"
#include "storage/partition.h"

struct produce {
	struct rn_ctx *ctx;
	struct rn_produce_response resp;
	struct rn_topic **held; /* referenced until the response: flushes use their partitions */
	int nheld;
	int pending; /* flushes not completed yet; loop thread only */
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

static void append_one(struct produce *pr, struct rn_topic *t,
		       struct rn_produce_request_partition_produce_data *pd,
		       struct rn_produce_response_partition_produce_response *pp, bool wait_flush)
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
	atomic_fetch_add_explicit(&t->stats.produce_requests, 1, memory_order_relaxed);
	if (!p) {
		pp->error_code = RN_KERR_KAFKA_STORAGE_ERROR;
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
	pr->resp.responses_count = rq.topic_data_count > 0 ? rq.topic_data_count : 0;
	pr->resp.responses =
	    rn_arena_alloc(a, (size_t)(pr->resp.responses_count + 1) * sizeof(*pr->resp.responses));
	pr->held = rn_arena_alloc(a, (size_t)(pr->resp.responses_count + 1) * sizeof(*pr->held));
	bool acks_ok = rq.acks == 0 || rq.acks == 1 || rq.acks == -1;
	/* Nobody waits for acks=0 data: flush.ms and the next acknowledged write cover it. */
	bool wait_flush = rq.acks != 0;
	pr->pending = 1; /* released below, so flushes completing early cannot finish first */
	for (int32_t i = 0; i < pr->resp.responses_count; i++) {
		struct rn_produce_request_topic_produce_data *td = &rq.topic_data[i];
		struct rn_produce_response_topic_produce_response *tr = &pr->resp.responses[i];
		tr->name = td->name;
		int32_t np = td->partition_data_count > 0 ? td->partition_data_count : 0;
		tr->partition_responses_count = np;
		tr->partition_responses =
		    rn_arena_alloc(a, (size_t)(np + 1) * sizeof(*tr->partition_responses));
		struct rn_topic *t = NULL;
		if (acks_ok && td->name.len > 0)
			t = rn_topic_get(ctx->b, td->name.ptr, (size_t)td->name.len);
		if (t)
			pr->held[pr->nheld++] = t;
		for (int32_t j = 0; j < np; j++) {
			struct rn_produce_response_partition_produce_response *pp =
			    &tr->partition_responses[j];
			if (!acks_ok) {
				pp->index = td->partition_data[j].index;
				pp->error_code = RN_KERR_INVALID_REQUIRED_ACKS;
				pp->base_offset = -1;
				pp->log_append_time_ms = -1;
				pp->log_start_offset = -1;
				pp->error_message = RN_STR_NULL;
				continue;
			}
			append_one(pr, t, &td->partition_data[j], pp, wait_flush);
		}
	}
	if (rq.acks == 0) {
		for (int i = 0; i < pr->nheld; i++)
			rn_topic_put(ctx->b, pr->held[i]);
		rn_respond_none(ctx);
		return;
	}
	if (--pr->pending == 0)
		finish(pr);
}
