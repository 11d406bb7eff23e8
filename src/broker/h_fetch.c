/*
 * Fetch: whole record batches straight from the segment files (sendfile; the response holds
 * file ranges, never copies of the data), with Kafka's sizing rules and long polling:
 *
 * - KIP-74: the first batch of the first non-empty partition is returned whole even when it
 *   is larger than max_bytes or partition_max_bytes, otherwise a consumer could never progress;
 * - if fewer than min_bytes are available the request parks until an append to one of its
 *   partitions (rn_topic_notify) or max_wait_ms, then answers with whatever there is; it never
 *   answers REQUEST_TIMED_OUT.
 *
 * In a cluster (the partition has a replication state, rp): a follower's fetch (replica_id >=
 * 0: the field up to v14, ReplicaState.ReplicaId from v15) needs this broker to lead the
 * partition in the follower's epoch; a last fetched epoch that diverges from the leader's log
 * is answered with DivergingEpoch (no data, no progress); otherwise the fetch offset is the
 * follower's progress (rn_replica_follower_fetch: the HW may move) and it reads up to the log
 * end. A consumer reads below the HW only; from v11 it may read from a follower (KIP-392),
 * bounded by the follower's HW, and the leader may send it to a follower in its rack
 * (replica.selector.class = RackAwareReplicaSelector, PreferredReadReplica). An offset
 * between the HW and the log end answers empty, as Kafka's log read does. A parked
 * follower's fetch also answers when the HW moves (no sooner than HW_ANSWER_MIN_MS after it
 * arrived), so followers learn it without waiting for data.
 *
 * A parked fetch lives on the heap (not the request arena) with a reference count: one for
 * itself and one per wake-up posted to its loop, because a wake-up may be in flight when the
 * fetch completes. Waiters are unregistered before completion, so no new wake-ups follow.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/quotas.h"
#include "broker/leader.h"
#include "broker/legacy.h"
#include "broker/topics.h"
#include "broker/waiter.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/clock.h"
#include "core/log.h"
#include "net/loop.h"
#include "proto/compress.h"
#include "proto/gen/rn_msg.h"
#include "replica/replica.h"
#include "storage/partition.h"

#define RACK_AWARE_SELECTOR "org.apache.kafka.common.replica.RackAwareReplicaSelector"

struct fetch;

struct fwait {
	struct rn_topic_waiter w;
	struct fetch *f;
	struct rn_topic *t;
	int32_t idx;
};

struct fetch {
	struct rn_ctx *ctx;
	struct rn_fetch_request rq;
	struct rn_topic **topics; /* per request topic, referenced, or NULL */
	int16_t *deny;            /* per request topic: an authorization error, or 0 */
	int64_t **next;           /* [topic][partition]: offset after the data returned */
	struct fwait *waits;
	int nwaits;
	struct rn_timer *timer;
	_Atomic int refs;
	_Atomic bool wake_pending;
	bool done;
	int32_t replica_id;      /* >= 0: a follower's fetch */
	bool built;              /* hw_seen holds the first build's HWs */
	int64_t hw_sum, hw_seen; /* sum of the HWs answered (follower fetches) */
	int64_t arrived_ms;      /* monotonic */
	bool hw_timer;           /* the timer was brought forward for a HW-only answer */
};

/* A follower's parked fetch answers a HW change without data at most this soon after it
 * arrived: followers learn the HW promptly without a round trip per HW step. */
#define HW_ANSWER_MIN_MS 100

static void fetch_unref(struct fetch *f)
{
	if (atomic_fetch_sub(&f->refs, 1) == 1) {
		rn_free(f->waits);
		rn_free(f);
	}
}

static void put_records(struct rn_fetch_response *resp)
{
	for (int32_t i = 0; i < resp->responses_count; i++) {
		struct rn_fetch_response_fetchable_topic_response *tr = &resp->responses[i];
		for (int32_t j = 0; j < tr->partitions_count; j++) {
			struct rn_records *r = &tr->partitions[j].records;
			if (r->file)
				rn_fileref_put(r->file);
			r->file = NULL;
		}
	}
}

/* read_committed: the aborted transactions overlapping the returned range, so the client can
 * drop their records (it reads up to each one's ABORT marker). */
static void add_aborted(struct fetch *f, struct rn_partition *p, int64_t from, int64_t upto,
			struct rn_fetch_response_partition_data *pd)
{
	struct rn_aborted_txn *at;
	int n = rn_partition_aborted_txns(p, from, upto, &at, &f->ctx->req->arena);
	if (n <= 0)
		return;
	pd->aborted_transactions =
	    rn_arena_alloc(&f->ctx->req->arena, (size_t)n * sizeof(*pd->aborted_transactions));
	for (int i = 0; i < n; i++) {
		pd->aborted_transactions[i].producer_id = at[i].pid;
		pd->aborted_transactions[i].first_offset = at[i].first_offset;
	}
	pd->aborted_transactions_count = n;
}

/* Where a partition's records come from for this fetch. */
enum fetch_src {
	SRC_HW,        /* consumers: below the high watermark */
	SRC_COMMITTED, /* read_committed consumers: below the last stable offset */
	SRC_LOG_END,   /* followers: up to the log end */
	SRC_NONE,      /* a throttled follower: no data this time */
};

static void offsets_now(struct rn_partition *p, struct rn_fetch_response_partition_data *pd)
{
	pd->high_watermark = rn_partition_high_watermark(p);
	pd->last_stable_offset = rn_partition_last_stable(p);
	pd->log_start_offset = rn_partition_log_start(p);
}

/* The v12+ hint that comes with a leadership or epoch error: who leads, in which epoch. */
static void leader_hint(struct fetch *f, struct rn_replica_part *rp, int32_t epoch,
			struct rn_fetch_response_partition_data *pd)
{
	pd->current_leader.leader_id = f->ctx->b->node_id;
	pd->current_leader.leader_epoch = epoch;
	if (rp) {
		struct rn_pstate st;
		rn_replica_state(rp, &st);
		pd->current_leader.leader_id = st.leader;
		pd->current_leader.leader_epoch = st.leader_epoch;
	}
}

/* This broker follows rp in a known state (a KIP-392 consumer may read here). */
static bool follows(struct fetch *f, struct rn_replica_part *rp)
{
	struct rn_pstate st;
	rn_replica_state(rp, &st);
	int32_t self = f->ctx->b->node_id;
	return st.leader >= 0 && st.leader != self &&
	       rn_pstate_has(st.replicas, st.nreplicas, self);
}

/* Kafka's readRecords check of the follower's last fetched epoch: true (and pd answered, no
 * data) when our log diverges from its below the fetch offset. */
static bool diverging(struct rn_partition *p, struct rn_fetch_request_fetch_partition *fp,
		      struct rn_fetch_response_partition_data *pd)
{
	if (fp->last_fetched_epoch < 0)
		return false;
	int32_t epoch;
	int64_t end;
	rn_partition_epoch_end_offset(p, fp->last_fetched_epoch, &epoch, &end);
	if (epoch < 0 || end < 0 || fp->fetch_offset < rn_partition_log_start(p)) {
		pd->error_code = RN_KERR_OFFSET_OUT_OF_RANGE;
		return true;
	}
	if (epoch >= fp->last_fetched_epoch && end >= fp->fetch_offset)
		return false;
	pd->diverging_epoch.epoch = epoch;
	pd->diverging_epoch.end_offset = end;
	return true;
}

/* The replication checks of one partition (rp set). NONE with *src set to read; else the
 * error, or NONE with *answered when pd is complete without data. */
static int16_t replica_gate(struct fetch *f, struct rn_topic *t,
			    struct rn_fetch_request_fetch_partition *fp,
			    struct rn_fetch_response_partition_data *pd, struct rn_partition *p,
			    enum fetch_src *src, bool *answered)
{
	struct rn_replica_part *rp = t->parts[fp->partition].rp;
	int32_t epoch;
	bool leads = rn_replica_leader(rp, &epoch) == 0;
	/* Consumers may read from a follower from v11 on (Kafka's fetchOnlyLeader). */
	if (!leads && (f->replica_id >= 0 || f->ctx->hdr.api_version < 11 || !follows(f, rp))) {
		leader_hint(f, rp, epoch, pd);
		return RN_KERR_NOT_LEADER_OR_FOLLOWER;
	}
	int16_t e = rn_leader_fence(t, fp->partition, p, fp->current_leader_epoch, &epoch);
	if (e) {
		leader_hint(f, rp, epoch, pd);
		return e;
	}
	if (f->replica_id < 0) {
		int32_t pref = -1;
		const char *sel = rn_config_get(f->ctx->b->cfg, "replica.selector.class");
		if (leads && f->ctx->hdr.api_version >= 11 && f->rq.rack_id.len > 0 && sel &&
		    strcmp(sel, RACK_AWARE_SELECTOR) == 0) {
			char rack[64];
			size_t n = (size_t)f->rq.rack_id.len < sizeof(rack) - 1
				       ? (size_t)f->rq.rack_id.len
				       : sizeof(rack) - 1;
			memcpy(rack, f->rq.rack_id.ptr, n);
			rack[n] = 0;
			pref = rn_replica_preferred_read_at(rp, rack, fp->fetch_offset);
		}
		if (pref >= 0) {
			/* Kafka answers at once, without data, and the consumer goes there. */
			pd->preferred_read_replica = pref;
			offsets_now(p, pd);
			*answered = true;
		}
		return RN_KERR_NONE;
	}
	if (diverging(p, fp, pd)) {
		offsets_now(p, pd);
		*answered = true;
		return pd->error_code;
	}
	*src = SRC_LOG_END;
	/* Progress counts once per request, not again on every wake-up (Kafka's
	 * readFromPurgatory). */
	int16_t e2 = f->built ? RN_KERR_NONE
			      : rn_replica_follower_fetch(rp, f->replica_id, fp->fetch_offset,
							  fp->current_leader_epoch, rn_mono_ms());
	/* leader.replication.throttled.rate: an empty answer, after the usual wait. */
	if (e2 == RN_KERR_NONE && rn_replica_leader_throttled(rp, f->replica_id))
		*src = SRC_NONE;
	return e2;
}

static int read_src(enum fetch_src src, struct rn_partition *p, int64_t offset, uint32_t limit,
		    bool min_one, struct rn_read_info *ri)
{
	switch (src) {
	case SRC_COMMITTED: return rn_partition_read_committed(p, offset, limit, min_one, ri);
	case SRC_LOG_END: return rn_partition_read_replica(p, offset, limit, min_one, ri);
	default: return rn_partition_read(p, offset, limit, min_one, ri);
	}
}

/* The partition's records for this fetch into pd: the read, then what the version demands. */
static void read_partition(struct fetch *f, struct rn_topic *t, struct rn_partition *p,
			   enum fetch_src src, struct rn_fetch_request_fetch_partition *fp,
			   struct rn_fetch_response_partition_data *pd, int64_t *next,
			   int64_t *total, bool *error)
{
	struct rn_fetch_request *rq = &f->rq;
	int64_t room = (int64_t)rq->max_bytes - *total;
	int64_t limit = fp->partition_max_bytes < room ? fp->partition_max_bytes : room;
	bool min_one = *total == 0;
	if (limit < 0)
		limit = 0;
	struct rn_read_info ri = {0};
	int rc = 0;
	if (limit > 0 || min_one)
		rc = read_src(src, p, fp->fetch_offset, (uint32_t)limit, min_one, &ri);
	/* Replicated: between the HW and the log end is a valid position with no data yet (a
	 * new leader's HW may trail what consumers saw from the old one). */
	bool between = rc == RN_ERANGE && t->parts[fp->partition].rp &&
		       fp->fetch_offset >= rn_partition_log_start(p) &&
		       fp->fetch_offset <= rn_partition_log_end(p);
	if ((limit <= 0 && !min_one) || between) {
		rc = 0;
		ri = (struct rn_read_info){.next_offset = fp->fetch_offset};
		ri.high_watermark = rn_partition_high_watermark(p);
		ri.last_stable_offset = rn_partition_last_stable(p);
		ri.log_start_offset = rn_partition_log_start(p);
	}
	if (rc < 0) {
		pd->error_code = (int16_t)rn_kerr_from(rc);
		offsets_now(p, pd);
		*error = true;
		return;
	}
	pd->high_watermark = ri.high_watermark;
	pd->last_stable_offset = ri.last_stable_offset;
	pd->log_start_offset = ri.log_start_offset;
	if (f->ctx->hdr.api_version < 10 && atomic_load(&t->compression) == RN_CODEC_ZSTD) {
		/* Fetch < v10 predates zstd: Kafka refuses it on a topic whose compression.type
		 * is zstd, and only there (zstd batches a producer chose are served as stored). */
		if (ri.file)
			rn_fileref_put(ri.file);
		pd->error_code = RN_KERR_UNSUPPORTED_COMPRESSION_TYPE;
		*error = true;
		return;
	}
	/* Fetch v0-v3 reads magic 0/1: converted copies, never the log's bytes. */
	if (f->ctx->hdr.api_version <= 3 &&
	    rn_downconvert_fetch(t, p, f->ctx->hdr.api_version, fp->fetch_offset, limit, min_one,
				 &ri, pd) < 0) {
		*error = true;
		return;
	}
	if (ri.len > 0 && ri.file) {
		pd->records.file = ri.file; /* our reference, dropped by put_records */
		pd->records.file_off = ri.pos;
		pd->records.len = (int32_t)ri.len;
		*next = ri.next_offset;
		*total += (int64_t)ri.len;
		if (src == SRC_COMMITTED)
			add_aborted(f, p, fp->fetch_offset, ri.next_offset, pd);
	}
}

static void fill_partition(struct fetch *f, struct rn_topic *t,
			   struct rn_fetch_request_fetch_partition *fp,
			   struct rn_fetch_response_partition_data *pd, int64_t *next,
			   int64_t *total, bool *error, int16_t deny)
{
	struct rn_fetch_request *rq = &f->rq;
	*next = fp->fetch_offset;
	pd->partition_index = fp->partition;
	pd->high_watermark = -1;
	pd->last_stable_offset = -1;
	pd->log_start_offset = -1;
	pd->preferred_read_replica = -1;
	pd->records = (struct rn_records){NULL, 0, NULL, 0};
	pd->aborted_transactions_count = rq->isolation_level == 1 ? 0 : -1;
	pd->diverging_epoch.epoch = -1;
	pd->diverging_epoch.end_offset = -1;
	pd->current_leader.leader_id = -1;
	pd->current_leader.leader_epoch = -1;
	pd->snapshot_id.end_offset = -1;
	pd->snapshot_id.epoch = -1;
	if (deny) {
		pd->error_code = deny;
		*error = true;
		return;
	}
	if (!t || atomic_load(&t->deleted) || fp->partition < 0 || fp->partition >= t->npart) {
		/* v13+ name topics by id: an id that names nothing is UNKNOWN_TOPIC_ID. */
		bool no_id = f->ctx->hdr.api_version >= 13 && (!t || atomic_load(&t->deleted));
		pd->error_code =
		    no_id ? RN_KERR_UNKNOWN_TOPIC_ID : RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
		*error = true;
		return;
	}
	struct rn_partition *p = t->parts[fp->partition].log;
	struct rn_replica_part *rp = t->parts[fp->partition].rp;
	if (!p) {
		/* In a cluster: no replica of it here. */
		pd->error_code = f->ctx->b->clustered && !rp ? RN_KERR_NOT_LEADER_OR_FOLLOWER
							     : RN_KERR_KAFKA_STORAGE_ERROR;
		*error = true;
		return;
	}
	enum fetch_src src = rq->isolation_level == 1 ? SRC_COMMITTED : SRC_HW;
	if (rp) {
		bool answered = false;
		pd->error_code = replica_gate(f, t, fp, pd, p, &src, &answered);
		if (pd->error_code || answered || src == SRC_NONE) {
			if (src == SRC_NONE && !pd->error_code)
				offsets_now(p, pd);
			/* Answer now: Kafka does for errors, divergence and redirects. */
			if (pd->error_code || answered)
				*error = true;
			f->hw_sum += pd->high_watermark;
			return;
		}
	} else {
		/* KIP-320: a client that knows the leader epoch (v9+) is fenced when its epoch is
		 * older than the partition's and told UNKNOWN_LEADER_EPOCH when it is newer; it
		 * refreshes its metadata and validates its position. */
		int32_t epoch;
		pd->error_code = rn_leader_epoch_fence(p, fp->current_leader_epoch, &epoch);
		if (pd->error_code) {
			pd->current_leader.leader_id = f->ctx->b->node_id; /* v12+ leader hint */
			pd->current_leader.leader_epoch = epoch;
			*error = true;
			return;
		}
	}
	read_partition(f, t, p, src, fp, pd, next, total, error);
	f->hw_sum += pd->high_watermark;
	if (src == SRC_LOG_END && pd->records.len > 0)
		rn_replica_leader_sent(rp, f->replica_id, pd->records.len);
}

/* Builds the response from the logs as they are now. Returns the bytes of log data in it. */
static int64_t build(struct fetch *f, struct rn_fetch_response *resp, bool *error)
{
	struct rn_fetch_request *rq = &f->rq;
	struct rn_arena *a = &f->ctx->req->arena;
	int64_t total = 0;
	memset(resp, 0, sizeof(*resp));
	resp->responses_count = rq->topics_count > 0 ? rq->topics_count : 0;
	resp->responses =
	    rn_arena_alloc(a, (size_t)(resp->responses_count + 1) * sizeof(*resp->responses));
	f->next = rn_arena_alloc(a, (size_t)(resp->responses_count + 1) * sizeof(*f->next));
	for (int32_t i = 0; i < resp->responses_count; i++) {
		struct rn_fetch_request_fetch_topic *ft = &rq->topics[i];
		struct rn_fetch_response_fetchable_topic_response *tr = &resp->responses[i];
		tr->topic = ft->topic;
		tr->topic_id = ft->topic_id;
		int32_t np = ft->partitions_count > 0 ? ft->partitions_count : 0;
		tr->partitions_count = np;
		tr->partitions = rn_arena_alloc(a, (size_t)(np + 1) * sizeof(*tr->partitions));
		f->next[i] = rn_arena_alloc(a, (size_t)(np + 1) * sizeof(int64_t));
		for (int32_t j = 0; j < np; j++)
			fill_partition(f, f->topics[i], &ft->partitions[j], &tr->partitions[j],
				       &f->next[i][j], &total, error, f->deny[i]);
	}
	return total;
}

static void account(struct fetch *f, struct rn_fetch_response *resp)
{
	for (int32_t i = 0; i < resp->responses_count; i++) {
		struct rn_topic *t = f->topics[i];
		if (!t)
			continue;
		atomic_fetch_add_explicit(&t->stats.fetch_requests, 1, memory_order_relaxed);
		for (int32_t j = 0; j < resp->responses[i].partitions_count; j++) {
			struct rn_fetch_response_partition_data *pd =
			    &resp->responses[i].partitions[j];
			if (pd->records.len <= 0)
				continue;
			atomic_fetch_add_explicit(&t->stats.bytes_out, (uint64_t)pd->records.len,
						  memory_order_relaxed);
			int64_t from = f->rq.topics[i].partitions[j].fetch_offset;
			int64_t to = f->next[i] ? f->next[i][j] : from;
			if (to > from)
				atomic_fetch_add_explicit(&t->stats.records_out,
							  (uint64_t)(to - from),
							  memory_order_relaxed);
		}
	}
}

static int64_t record_bytes(const struct rn_fetch_response *resp)
{
	int64_t n = 0;
	for (int32_t i = 0; i < resp->responses_count; i++)
		for (int32_t j = 0; j < resp->responses[i].partitions_count; j++)
			if (resp->responses[i].partitions[j].records.len > 0)
				n += resp->responses[i].partitions[j].records.len;
	return n;
}

/* A throttled fetch answers its partitions without records. */
static void drop_records(struct rn_fetch_response *resp)
{
	put_records(resp);
	for (int32_t i = 0; i < resp->responses_count; i++)
		for (int32_t j = 0; j < resp->responses[i].partitions_count; j++) {
			struct rn_fetch_response_partition_data *pd =
			    &resp->responses[i].partitions[j];
			pd->records = (struct rn_records){NULL, 0, NULL, 0};
			if (pd->aborted_transactions_count > 0)
				pd->aborted_transactions_count = 0;
		}
}

static void complete(struct fetch *f, struct rn_fetch_response *resp)
{
	struct rn_ctx *ctx = f->ctx;
	f->done = true;
	for (int i = 0; i < f->nwaits; i++)
		rn_topic_unwait(f->waits[i].t, f->waits[i].idx, &f->waits[i].w);
	if (f->timer)
		rn_loop_timer_cancel(ctx->req->loop, f->timer);
	f->timer = NULL;
	/* Followers replicate under their own throttle, never a client quota (Kafka's). */
	bool drop = false;
	if (f->replica_id < 0)
		resp->throttle_time_ms = rn_quota_fetch(ctx, record_bytes(resp), &drop);
	if (drop)
		drop_records(resp);
	account(f, resp);
	rn_respond_begin(ctx);
	rn_fetch_response_encode(&ctx->req->out, ctx->hdr.api_version, resp);
	put_records(resp);
	for (int32_t i = 0; i < f->rq.topics_count; i++)
		if (f->topics[i])
			rn_topic_put(ctx->b, f->topics[i]);
	rn_respond_end(ctx);
	fetch_unref(f);
}

static void on_timeout(struct rn_loop *l, void *arg);

/* A HW change for a parked follower (hw_moved): true to answer now; else, when it came too
 * soon, the answer is scheduled for HW_ANSWER_MIN_MS after arrival. */
static bool hw_answer_now(struct fetch *f)
{
	int64_t now = rn_mono_ms(), waited = now - f->arrived_ms;
	if (waited >= HW_ANSWER_MIN_MS)
		return true;
	int64_t left = f->arrived_ms + f->rq.max_wait_ms - now;
	if (!f->hw_timer && f->timer && left > HW_ANSWER_MIN_MS - waited) {
		rn_loop_timer_cancel(f->ctx->req->loop, f->timer);
		f->timer =
		    rn_loop_timer_add(f->ctx->req->loop, HW_ANSWER_MIN_MS - waited, on_timeout, f);
		f->hw_timer = true;
	}
	return false;
}

/* Answers if enough data is there (or final); returns false if the fetch should keep waiting. */
static bool attempt(struct fetch *f, bool final)
{
	struct rn_fetch_response resp;
	bool error = false;
	f->hw_sum = 0;
	int64_t total = build(f, &resp, &error);
	/* A parked follower learns a new HW now rather than with the next data. */
	bool hw_moved =
	    f->replica_id >= 0 && f->ctx->b->clustered && f->built && f->hw_sum != f->hw_seen;
	if (!f->built) {
		f->built = true;
		f->hw_seen = f->hw_sum;
	}
	bool now = final || error || total >= f->rq.min_bytes || f->rq.max_wait_ms <= 0;
	if (!now && hw_moved)
		now = hw_answer_now(f);
	if (now) {
		complete(f, &resp);
		return true;
	}
	put_records(&resp);
	return false;
}

static void on_wake(void *arg)
{
	struct fetch *f = arg;
	atomic_store(&f->wake_pending, false);
	if (!f->done)
		attempt(f, atomic_load(&f->ctx->b->stopping));
	fetch_unref(f);
}

/* Called under the partition's waiter lock, from the appending thread. */
static void wake(struct rn_topic_waiter *w)
{
	struct fetch *f = ((struct fwait *)w)->f;
	if (atomic_exchange(&f->wake_pending, true))
		return;
	atomic_fetch_add(&f->refs, 1);
	rn_loop_post(w->loop, on_wake, f);
}

static void on_timeout(struct rn_loop *l, void *arg)
{
	(void)l;
	struct fetch *f = arg;
	f->timer = NULL;
	if (!f->done)
		attempt(f, true);
}

static void park(struct fetch *f)
{
	int n = 0;
	for (int32_t i = 0; i < f->rq.topics_count; i++)
		if (f->topics[i])
			n += f->rq.topics[i].partitions_count;
	f->waits = rn_calloc((size_t)n + 1, sizeof(*f->waits));
	for (int32_t i = 0; i < f->rq.topics_count; i++) {
		struct rn_topic *t = f->topics[i];
		for (int32_t j = 0; t && j < f->rq.topics[i].partitions_count; j++) {
			int32_t idx = f->rq.topics[i].partitions[j].partition;
			if (idx < 0 || idx >= t->npart)
				continue;
			struct fwait *fw = &f->waits[f->nwaits++];
			fw->f = f;
			fw->t = t;
			fw->idx = idx;
			fw->w.loop = f->ctx->req->loop;
			fw->w.wake = wake;
			rn_topic_wait(t, idx, &fw->w);
		}
	}
	f->timer = rn_loop_timer_add(f->ctx->req->loop, f->rq.max_wait_ms, on_timeout, f);
	/* An append between the first attempt and the registration would be missed: look once
	 * more now that the waiters are in place (and shutdown may have begun meanwhile). */
	attempt(f, atomic_load(&f->ctx->b->stopping));
}

void rn_h_fetch(struct rn_ctx *ctx)
{
	struct fetch *f = rn_calloc(1, sizeof(*f));
	f->ctx = ctx;
	f->refs = 1;
	if (rn_fetch_request_decode(&ctx->rd, ctx->hdr.api_version, &f->rq) < 0) {
		rn_free(f);
		rn_close_conn(ctx, "malformed Fetch request");
		return;
	}
	if (f->rq.max_bytes <= 0)
		f->rq.max_bytes = INT32_MAX;
	f->replica_id =
	    ctx->hdr.api_version >= 15 ? f->rq.replica_state.replica_id : f->rq.replica_id;
	if (f->replica_id < 0) {
		int32_t qmax = rn_quota_fetch_max_bytes(ctx);
		if (qmax < f->rq.max_bytes)
			f->rq.max_bytes = qmax;
	}
	f->arrived_ms = rn_mono_ms();
	int32_t nt = f->rq.topics_count > 0 ? f->rq.topics_count : 0;
	f->topics = rn_arena_alloc(&ctx->req->arena, (size_t)(nt + 1) * sizeof(*f->topics));
	for (int32_t i = 0; i < nt; i++) {
		struct rn_str name = f->rq.topics[i].topic;
		if (ctx->hdr.api_version >= 13)
			f->topics[i] = rn_topic_get_by_id(ctx->b, f->rq.topics[i].topic_id.b);
		else if (name.len > 0)
			f->topics[i] = rn_topic_get(ctx->b, name.ptr, (size_t)name.len);
	}
	/* Kafka: a follower needs CLUSTER_ACTION (else every partition is denied), a consumer READ
	 * per topic; a topic id that names nothing stays UNKNOWN_TOPIC_ID. */
	f->deny = rn_arena_alloc(&ctx->req->arena, (size_t)(nt + 1) * sizeof(*f->deny));
	bool follower_ok = f->replica_id < 0 || rn_allowed_cluster(ctx, RN_OP_CLUSTER_ACTION);
	for (int32_t i = 0; i < nt; i++) {
		struct rn_str name = f->rq.topics[i].topic;
		const char *tn = ctx->hdr.api_version >= 13
				     ? (f->topics[i] ? f->topics[i]->name : NULL)
				     : name.ptr;
		size_t tl = ctx->hdr.api_version >= 13 ? (tn ? strlen(tn) : 0)
						       : (name.len > 0 ? (size_t)name.len : 0);
		f->deny[i] = 0;
		if (!follower_ok)
			f->deny[i] = RN_KERR_TOPIC_AUTHORIZATION_FAILED;
		else if (f->replica_id < 0 && (tn || ctx->hdr.api_version < 13) &&
			 !rn_allowed(ctx, RN_OP_READ, RN_RES_TOPIC, tn, tl))
			f->deny[i] = RN_KERR_TOPIC_AUTHORIZATION_FAILED;
	}
	if (!attempt(f, atomic_load(&ctx->b->stopping)))
		park(f);
}

static void wake_all(struct rn_topic *t, void *arg)
{
	(void)arg;
	for (int32_t i = 0; i < t->npart; i++)
		rn_topic_notify(t, i);
}

void rn_fetch_shutdown(struct rn_broker *b)
{
	atomic_store(&b->stopping, true);
	rn_topics_foreach(b, wake_all, NULL);
}
