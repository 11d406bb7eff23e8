/*
 * The transaction coordinator service (see txns.h): __transaction_state, the coordinator lock,
 * markers, transactional offsets, and the timer thread. docs/internals/transactions.md.
 */
#include "broker/txns.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "broker/coord_wait.h"
#include "broker/groups.h"
#include "broker/handler.h"
#include "broker/topics.h"
#include "broker/txn_markers.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "group/parts.h"
#include "group/persist.h"
#include "net/loop.h"
#include "proto/kerr.h"
#include "proto/record_batch.h"
#include "replica/replica.h"
#include "storage/flusher.h"
#include "storage/partition.h"

/* A Prepare* record's replication finished (a cluster): the thread sends its markers. */
struct kick {
	char *id;
	int64_t pid;
	int16_t epoch;
	enum rn_txn_state state;
	int16_t err;
	struct kick *next;
};

static struct {
	struct rn_broker *b;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stop, closed;
	struct rn_tc *tc;
	struct rn_tc_config tcfg;
	/* __transaction_state, referenced while running; in a cluster NULL until it exists */
	struct rn_topic *topic;
	int32_t nparts;
	struct rn_gc_parts parts; /* the partitions coordinated here */
	int64_t check_every_ms;
	/* From replica threads and replication waits, handled by the thread. */
	pthread_mutex_t evlock;
	struct rn_gc_part_events ev;
	struct kick *kicks;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .cond = PTHREAD_COND_INITIALIZER,
       .evlock = PTHREAD_MUTEX_INITIALIZER};

/* A write the answer waits for: flushed when needs_flush, replicated below end when the
 * partition has an rp (a cluster). */
struct flush_item {
	struct rn_topic *t;
	int32_t idx;
	int64_t end;
	bool needs_flush;
};

struct rn_txns_flushes {
	struct flush_item *v;
	int n, cap;
	/* respond_after */
	struct rn_ctx *ctx;
	void (*respond)(struct rn_ctx *ctx, void *arg, int16_t err);
	void *arg;
	int pending;
	_Atomic int16_t err; /* the first failed wait's code, as the coordinator maps it */
};

/* Under the lock: __transaction_state once it exists, with the partition table sized. */
static bool have_topic(void)
{
	if (S.topic)
		return true;
	S.topic = rn_topic_get(S.b, RN_TXN_TOPIC, strlen(RN_TXN_TOPIC));
	if (!S.topic)
		return false;
	S.nparts = S.topic->npart;
	rn_gc_parts_init(&S.parts, S.nparts, !S.b->clustered);
	return true;
}

/* The coordinator lookup (rn_tc_config.owns), under the lock. */
static int16_t owns(void *arg, const char *id)
{
	(void)arg;
	if (!have_topic())
		return RN_KERR_NOT_COORDINATOR;
	return rn_gc_parts_status(&S.parts, rn_tc_partition_for(id, S.nparts));
}

static struct rn_txns_flushes *flushes_new(void)
{
	return rn_calloc(1, sizeof(struct rn_txns_flushes));
}

/* Keeps a reference on t until the wait completed (rn_txns_respond_after). */
static void flushes_add(struct rn_txns_flushes *fl, struct rn_topic *t, int32_t idx,
			const struct rn_append_info *ai)
{
	if (!fl || (!ai->needs_flush && !t->parts[idx].rp))
		return;
	int64_t end = ai->last_offset + 1;
	for (int i = 0; i < fl->n; i++) {
		struct flush_item *x = &fl->v[i];
		if (x->t == t && x->idx == idx) {
			x->end = end > x->end ? end : x->end;
			x->needs_flush |= ai->needs_flush;
			return;
		}
	}
	if (fl->n == fl->cap) {
		fl->cap = fl->cap ? fl->cap * 2 : 4;
		fl->v = rn_realloc(fl->v, (size_t)fl->cap * sizeof(*fl->v));
	}
	atomic_fetch_add(&t->refs, 1);
	fl->v[fl->n++] = (struct flush_item){t, idx, end, ai->needs_flush};
}

static void flushes_free(struct rn_txns_flushes *fl)
{
	for (int i = 0; i < fl->n; i++)
		rn_topic_put(S.b, fl->v[i].t);
	rn_free(fl->v);
	rn_free(fl);
}

static void flushed_on_loop(void *arg)
{
	struct rn_txns_flushes *fl = arg;
	if (--fl->pending > 0)
		return;
	fl->respond(fl->ctx, fl->arg, atomic_load(&fl->err));
	flushes_free(fl);
}

static void waited(void *arg, int16_t kerr)
{
	struct rn_txns_flushes *fl = arg;
	int16_t e = rn_coord_txn_error(kerr, S.b->clustered), none = RN_KERR_NONE;
	if (e != RN_KERR_NONE)
		atomic_compare_exchange_strong(&fl->err, &none, e);
	rn_loop_post(fl->ctx->req->loop, flushed_on_loop, fl);
}

void rn_txns_respond_after(struct rn_ctx *ctx, struct rn_txns_flushes *fl,
			   void (*respond)(struct rn_ctx *ctx, void *arg, int16_t err), void *arg)
{
	if (!fl || fl->n == 0) {
		respond(ctx, arg, RN_KERR_NONE);
		if (fl)
			flushes_free(fl);
		return;
	}
	fl->ctx = ctx;
	fl->respond = respond;
	fl->arg = arg;
	fl->pending = fl->n;
	/* The callbacks complete on this loop, so none can free fl before the loop is done. */
	int n = fl->n;
	for (int i = 0; i < n; i++) {
		struct flush_item *x = &fl->v[i];
		rn_coord_wait(S.b, x->t, x->idx, x->end, x->needs_flush, waited, fl);
	}
}

struct rn_tc *rn_txns_lock(struct rn_txns_flushes **fl)
{
	pthread_mutex_lock(&S.lock);
	if (!S.tc || S.closed) {
		pthread_mutex_unlock(&S.lock);
		return NULL;
	}
	if (fl)
		*fl = flushes_new();
	return S.tc;
}

void rn_txns_unlock(void)
{
	pthread_mutex_unlock(&S.lock);
}

int rn_txns_alloc_pid(void *arg, int64_t *pid)
{
	struct rn_broker *b = arg;
	return rn_meta_next_producer_id(b->meta, pid);
}

/* Appends one record to id's partition; *end (optional) gets the offset after it. In a
 * cluster only the partition's leader writes it. */
static int write_recs(const char *id, const struct rn_gc_rec *r, struct rn_txns_flushes *fl,
		      int64_t *end)
{
	if (!have_topic())
		return RN_EOFFLINE;
	int32_t i = rn_tc_partition_for(id, S.nparts);
	struct rn_topic_part *tp = &S.topic->parts[i];
	struct rn_partition *p = tp->log;
	if (!p)
		return RN_EOFFLINE;
	int32_t epoch;
	if (S.b->clustered &&
	    (!rn_gc_parts_owned(&S.parts, i) || !tp->rp || rn_replica_leader(tp->rp, &epoch) != 0))
		return RN_ENOTLEADER;
	struct rn_append_info ai;
	int rc = rn_gc_write(p, r, 1, rn_wall_ms(), &ai);
	if (rc < 0) {
		rn_log_every(5000, RN_LOG_WARN, "transactional id %s: cannot write to %s: %s", id,
			     RN_TXN_TOPIC, rn_strerror(rc));
		return rc;
	}
	flushes_add(fl, S.topic, i, &ai);
	if (end)
		*end = ai.last_offset + 1;
	return 0;
}

static void kicked(void *arg, int16_t kerr)
{
	struct kick *k = arg;
	k->err = kerr;
	pthread_mutex_lock(&S.evlock);
	k->next = S.kicks;
	S.kicks = k;
	pthread_mutex_unlock(&S.evlock);
	pthread_cond_signal(&S.cond);
}

/* A cluster: markers follow a Prepare* record only once it is replicated, so that a
 * coordinator taking over finds the decision they carry out. The wait's end is handled by
 * the thread (it may complete under our lock). */
static void kick_when_replicated(struct rn_txn *t, int64_t end)
{
	struct kick *k = rn_calloc(1, sizeof(*k));
	k->id = rn_strdup(t->id);
	k->pid = t->pid;
	k->epoch = t->epoch;
	k->state = t->state;
	t->repl_waiting = true;
	rn_coord_wait(S.b, S.topic, rn_tc_partition_for(t->id, S.nparts), end, false, kicked, k);
}

int rn_txns_store(struct rn_txn *t, struct rn_txns_flushes *fl)
{
	struct rn_buf k = {0}, v = {0};
	rn_tc_key(&k, t->id);
	rn_tc_value(&v, t);
	struct rn_gc_rec r = {k.data, (int32_t)k.len, v.data, (int32_t)v.len};
	bool prepare = t->state == RN_TXN_PREPARE_COMMIT || t->state == RN_TXN_PREPARE_ABORT;
	if (S.b->clustered && prepare)
		t->unreplicated = true;
	int64_t end = 0;
	int rc = write_recs(t->id, &r, fl, &end);
	if (rc == 0 && S.b->clustered && prepare)
		kick_when_replicated(t, end);
	rn_buf_free(&k);
	rn_buf_free(&v);
	return rc;
}

static int write_marker(struct rn_txn *t, const struct rn_txn_part *tp, bool commit,
			int32_t coord_epoch, struct rn_txns_flushes *fl)
{
	struct rn_topic *top = rn_topic_get(S.b, tp->topic, strlen(tp->topic));
	if (!top || tp->partition >= top->npart) {
		/* Deleted meanwhile: nothing left to mark. */
		if (top)
			rn_topic_put(S.b, top);
		return 0;
	}
	struct rn_partition *p = top->parts[tp->partition].log;
	int rc = p ? 0 : RN_EOFFLINE;
	struct rn_append_info ai;
	if (p)
		rc = rn_partition_append_marker(p, t->pid, t->epoch, commit, coord_epoch, &ai);
	if (rc == 0) {
		rn_topic_notify(top, tp->partition);
		flushes_add(fl, top, tp->partition, &ai);
	} else {
		rn_log_every(5000, RN_LOG_WARN,
			     "transactional id %s: cannot write the %s marker "
			     "to %s-%d: %s",
			     t->id, commit ? "COMMIT" : "ABORT", tp->topic, tp->partition,
			     rn_strerror(rc));
	}
	rn_topic_put(S.b, top);
	return rc;
}

/* Commit: the transaction's offsets become the groups' committed offsets, written to
 * __consumer_offsets like any commit. Without a group coordinator they are lost (logged). */
static void apply_offsets(struct rn_txn *t)
{
	if (!t->noffsets)
		return;
	struct rn_gc *gc = rn_groups_lock();
	if (!gc) {
		rn_warn("transactional id %s: group coordinator unavailable, %d transactional "
			"offset(s) dropped",
			t->id, t->noffsets);
		return;
	}
	int64_t now = rn_wall_ms();
	for (int i = 0; i < t->noffsets; i++) {
		const struct rn_txn_offset *o = &t->offsets[i];
		/* A topic deleted during the transaction took its offsets with it (Kafka removes
		 * the pending ones too, handleDeletedPartitions). */
		struct rn_topic *top = rn_topic_get(S.b, o->topic, strlen(o->topic));
		if (!top)
			continue;
		rn_topic_put(S.b, top);
		struct rn_gc_offset go = {.offset = o->offset,
					  .leader_epoch = o->leader_epoch,
					  .metadata = o->metadata,
					  .commit_ts = now,
					  .expire_ts = -1};
		struct rn_group *g = rn_gc_group_get_or_create(gc, o->group, now);
		rn_gc_offset_set(g, o->topic, o->partition, &go);
		struct rn_buf k = {0}, v = {0};
		rn_gc_key_offset(&k, o->group, o->topic, o->partition);
		rn_gc_value_offset(&v, &go);
		struct rn_gc_rec r = {k.data, (int32_t)k.len, v.data, (int32_t)v.len};
		rn_groups_write(o->group, &r, 1, NULL, NULL);
		rn_buf_free(&k);
		rn_buf_free(&v);
	}
	rn_groups_unlock();
}

/* A cluster: every marker goes through the sender (to this broker too, as Kafka's
 * TransactionMarkerChannelManager does), which acknowledges each once the partition's leader
 * has it replicated; the last one completes the transaction (marker_done). */
static void send_markers(struct rn_txn *t, bool commit)
{
	int32_t idx = rn_tc_partition_for(t->id, S.nparts);
	if (t->nparts == 0) {
		rn_tc_complete(t, rn_wall_ms());
		rn_txns_store(t, NULL);
		return;
	}
	t->markers_inflight = t->nparts;
	for (int i = 0; i < t->nparts; i++) {
		struct rn_txn_marker m = {.txn_id = t->id,
					  .pid = t->pid,
					  .epoch = t->epoch,
					  .commit = commit,
					  .coord_epoch = S.parts.v[idx].epoch,
					  .coord_idx = idx,
					  .gen = S.parts.v[idx].gen,
					  .topic = t->parts[i].topic,
					  .partition = t->parts[i].partition};
		rn_txn_markers_send(&m);
	}
}

int rn_txns_finish(struct rn_txn *t, struct rn_txns_flushes *fl)
{
	bool commit = t->state == RN_TXN_PREPARE_COMMIT;
	if (!commit && t->state != RN_TXN_PREPARE_ABORT)
		return 0;
	if (S.b->clustered) {
		/* Not before the Prepare* record is replicated, nor twice. */
		if (!t->unreplicated && t->markers_inflight == 0)
			send_markers(t, commit);
		return 0;
	}
	struct rn_partition *sp = S.topic->parts[rn_tc_partition_for(t->id, S.nparts)].log;
	int32_t coord_epoch = sp ? rn_partition_leader_epoch(sp) : 0;
	int rc = 0;
	for (int i = 0; i < t->nparts; i++) {
		int r = write_marker(t, &t->parts[i], commit, coord_epoch, fl);
		if (r < 0 && rc == 0)
			rc = r;
	}
	if (rc < 0)
		return rc; /* markers already written are harmless when written again */
	if (commit)
		apply_offsets(t);
	rn_tc_complete(t, rn_wall_ms());
	rn_txns_store(t, fl);
	return 0;
}

int16_t rn_txns_produce_begin(int64_t pid, int16_t epoch, const char *topic, int32_t partition,
			      bool *locked)
{
	*locked = false;
	pthread_mutex_lock(&S.lock);
	if (!S.tc || S.closed) {
		pthread_mutex_unlock(&S.lock);
		return RN_KERR_NONE;
	}
	struct rn_txn *t = rn_tc_find_pid(S.tc, pid);
	if (!t && S.b->clustered) {
		/* Coordinated by another broker: not verified here (Kafka before KIP-890). */
		pthread_mutex_unlock(&S.lock);
		return RN_KERR_NONE;
	}
	int16_t err = RN_KERR_NONE;
	if (!t)
		err = RN_KERR_INVALID_TXN_STATE;
	else if (epoch < t->epoch)
		err = RN_KERR_INVALID_PRODUCER_EPOCH;
	else if (epoch > t->epoch || !rn_tc_has_partition(t, topic, partition))
		err = RN_KERR_INVALID_TXN_STATE;
	if (err != RN_KERR_NONE) {
		pthread_mutex_unlock(&S.lock);
		return err;
	}
	*locked = true;
	return RN_KERR_NONE;
}

/* ---- start-up: topic, replay, unfinished transactions ---- */

enum rn_kerr rn_txns_topic_create(struct rn_broker *b, char *msg, size_t msglen)
{
	struct rn_config *c = b->cfg;
	int32_t n = (int32_t)rn_config_get_i64(c, "transaction.state.log.num.partitions");
	char seg[32];
	snprintf(seg, sizeof(seg), "%lld",
		 (long long)rn_config_get_i64(c, "transaction.state.log.segment.bytes"));
	/* Kafka's transactionTopicConfigs: compacted (an expired transactional id gets a
	 * tombstone), uncompressed. */
	char isr[16];
	snprintf(isr, sizeof(isr), "%lld",
		 (long long)rn_config_get_i64(c, "transaction.state.log.min.isr"));
	const struct rn_cfg_kv cfg[] = {
	    {(char *)"cleanup.policy", (char *)"compact"},
	    {(char *)"min.insync.replicas", isr},
	    {(char *)"unclean.leader.election.enable", (char *)"false"},
	    {(char *)"compression.type", (char *)"uncompressed"},
	    {(char *)"segment.bytes", seg},
	};
	return rn_topic_create(b, RN_TXN_TOPIC, n > 0 ? n : 50, cfg,
			       (int)(sizeof(cfg) / sizeof(cfg[0])), false, msg, msglen);
}

static int ensure_topic(struct rn_broker *b)
{
	struct rn_topic *t = rn_topic_get(b, RN_TXN_TOPIC, strlen(RN_TXN_TOPIC));
	if (t) {
		rn_topic_put(b, t);
	} else {
		char msg[256];
		if (rn_txns_topic_create(b, msg, sizeof(msg)) != RN_KERR_NONE) {
			rn_error("cannot create %s: %s", RN_TXN_TOPIC, msg);
			return -EIO;
		}
	}
	return have_topic() ? 0 : -EIO;
}

static int tc_apply(void *arg, const uint8_t *key, int32_t klen, const uint8_t *val, int32_t vlen)
{
	return rn_tc_apply(arg, key, klen, val, vlen);
}

static bool preparing(const struct rn_txn *t)
{
	return t->state == RN_TXN_PREPARE_COMMIT || t->state == RN_TXN_PREPARE_ABORT;
}

/* The periodic retry: markers that could not be written (a single broker), a Prepare* record
 * whose replication failed (written again: its markers follow once it is replicated). */
static void finish_cb(struct rn_txn *t, void *arg)
{
	(void)arg;
	if (!preparing(t))
		return;
	if (t->unreplicated && !t->repl_waiting)
		rn_txns_store(t, NULL);
	else
		rn_txns_finish(t, NULL);
}

static void replay(void)
{
	int64_t t0 = rn_mono_us(), total = 0;
	for (int32_t i = 0; i < S.nparts; i++) {
		struct rn_partition *p = S.topic->parts[i].log;
		if (!p) {
			rn_error(
			    "%s-%d is offline: its transactional ids are lost until it recovers",
			    RN_TXN_TOPIC, i);
			continue;
		}
		int64_t n = 0;
		int rc = rn_gc_log_replay(p, tc_apply, S.tc, &n);
		total += n;
		if (rc < 0)
			rn_error("replaying %s-%d: %s", RN_TXN_TOPIC, i, rn_strerror(rc));
	}
	/* A crash between PrepareCommit/PrepareAbort and Complete*: finish now, before any client
	 * can see the partitions' LSO stuck or start a new transaction. */
	rn_tc_foreach(S.tc, finish_cb, NULL);
	rn_info("transaction coordinator: %d transactional id(s) loaded from %lld record(s) in "
		"%.1f ms",
		rn_tc_count(S.tc), (long long)total, (double)(rn_mono_us() - t0) / 1000.0);
}

/* ---- a cluster: partitions led here are coordinated here ---- */

struct in_part {
	int32_t idx;
	int n;
};

static void drop_txn(struct rn_txn *t, void *arg)
{
	struct in_part *d = arg;
	if (rn_tc_partition_for(t->id, S.nparts) != d->idx)
		return;
	rn_tc_remove(S.tc, t);
	d->n++;
}

/* A coordinator taking over a transaction in Prepare* sends its markers again (they are
 * idempotent at the partitions: a second marker closes nothing). */
static void resume_txn(struct rn_txn *t, void *arg)
{
	struct in_part *d = arg;
	if (rn_tc_partition_for(t->id, S.nparts) != d->idx)
		return;
	d->n++;
	t->unreplicated = false;
	t->repl_waiting = false;
	t->markers_inflight = 0;
	if (preparing(t))
		rn_txns_finish(t, NULL);
}

/* Under the lock, released while the log is read: loads partition idx into a scratch
 * coordinator (Kafka's loadTransactionsForTxnTopicPartition, to the log end) and adopts it
 * unless the partition moved on meanwhile. */
static void load_partition(int32_t idx, uint64_t gen)
{
	struct rn_partition *p = S.topic->parts[idx].log;
	if (!p) {
		rn_error("%s-%d: led here but its log is not open: its transactions stay "
			 "unavailable",
			 RN_TXN_TOPIC, idx);
		return;
	}
	struct rn_tc *scratch = rn_tc_new(&S.tcfg);
	pthread_mutex_unlock(&S.lock);
	int64_t n = 0, t0 = rn_mono_us();
	int rc = rn_gc_log_replay(p, tc_apply, scratch, &n);
	pthread_mutex_lock(&S.lock);
	if (rc < 0) {
		rn_error("loading %s-%d: %s", RN_TXN_TOPIC, idx, rn_strerror(rc));
	} else if (rn_gc_parts_loaded(&S.parts, idx, gen)) {
		rn_tc_adopt(S.tc, scratch);
		struct in_part d = {idx, 0};
		rn_tc_foreach(S.tc, resume_txn, &d);
		rn_info("transaction coordinator for %s-%d (epoch %d): %d transactional id(s) "
			"loaded from %lld record(s) in %.1f ms",
			RN_TXN_TOPIC, idx, S.parts.v[idx].epoch, d.n, (long long)n,
			(double)(rn_mono_us() - t0) / 1000.0);
	}
	rn_tc_free(scratch);
}

static void handle_event(const struct rn_gc_part_event *e)
{
	if (e->leader) {
		uint64_t gen = rn_gc_parts_lead(&S.parts, e->idx, e->epoch);
		if (gen)
			load_partition(e->idx, gen);
	} else if (rn_gc_parts_resign(&S.parts, e->idx, e->epoch)) {
		/* Markers in flight for them are dropped by the sender (stale generation). */
		struct in_part d = {e->idx, 0};
		rn_tc_foreach(S.tc, drop_txn, &d);
		rn_info("transaction coordinator for %s-%d resigned: %d transactional id(s) "
			"unloaded",
			RN_TXN_TOPIC, e->idx, d.n);
	}
}

static void handle_kick(struct kick *k)
{
	struct rn_txn *t = rn_tc_find(S.tc, k->id);
	if (!t || t->pid != k->pid || t->epoch != k->epoch || t->state != k->state)
		return;
	t->repl_waiting = false;
	if (k->err != RN_KERR_NONE) {
		/* Written again by the periodic retry; its markers wait for that. */
		rn_log_every(5000, RN_LOG_WARN,
			     "transactional id %s: %s record not replicated (error %d), retrying",
			     t->id, rn_txn_state_name(t->state), k->err);
		return;
	}
	t->unreplicated = false;
	rn_txns_finish(t, NULL);
}

/* Under the lock (released while partitions load). */
static void handle_events(void)
{
	struct rn_gc_part_events ev;
	pthread_mutex_lock(&S.evlock);
	rn_gc_part_events_take(&S.ev, &ev);
	struct kick *k = S.kicks;
	S.kicks = NULL;
	pthread_mutex_unlock(&S.evlock);
	int i = 0;
	/* The topic table learns of the topic before its partitions are attached, so this is
	 * only a moment: keep the events for the next pass. */
	for (; i < ev.n && !S.stop && have_topic(); i++)
		handle_event(&ev.v[i]);
	if (i < ev.n && !S.stop) {
		pthread_mutex_lock(&S.evlock);
		rn_gc_part_events_requeue(&S.ev, &ev, i);
		pthread_mutex_unlock(&S.evlock);
	}
	rn_free(ev.v);
	while (k) {
		struct kick *next = k->next;
		if (!S.stop)
			handle_kick(k);
		rn_free(k->id);
		rn_free(k);
		k = next;
	}
}

void rn_txns_partition_leadership(struct rn_broker *b, int32_t idx, bool leader, int32_t epoch)
{
	(void)b;
	pthread_mutex_lock(&S.evlock);
	rn_gc_part_events_push(&S.ev, idx, leader, epoch);
	pthread_mutex_unlock(&S.evlock);
	pthread_cond_signal(&S.cond);
}

/* The sender's hooks (its thread, without its own lock held). */
static bool marker_valid(void *arg, int32_t coord_idx, uint64_t gen)
{
	(void)arg;
	pthread_mutex_lock(&S.lock);
	bool ok = S.tc && !S.closed && coord_idx < S.parts.n &&
		  rn_gc_parts_owned(&S.parts, coord_idx) && S.parts.v[coord_idx].gen == gen;
	pthread_mutex_unlock(&S.lock);
	return ok;
}

/* One marker acknowledged (or its partition gone): the last one completes the transaction,
 * Kafka's TransactionMarkerChannelManager.completeSendMarkersForTxnId. */
static void marker_done(void *arg, const struct rn_txn_marker *m)
{
	(void)arg;
	pthread_mutex_lock(&S.lock);
	struct rn_txn *t = S.tc && !S.closed ? rn_tc_find(S.tc, m->txn_id) : NULL;
	bool same = t && t->pid == m->pid && t->epoch == m->epoch && preparing(t) &&
		    (t->state == RN_TXN_PREPARE_COMMIT) == m->commit &&
		    rn_gc_parts_owned(&S.parts, m->coord_idx) &&
		    S.parts.v[m->coord_idx].gen == m->gen && t->markers_inflight > 0;
	if (same && --t->markers_inflight == 0) {
		if (m->commit)
			apply_offsets(t);
		rn_tc_complete(t, rn_wall_ms());
		rn_txns_store(t, NULL);
	}
	pthread_mutex_unlock(&S.lock);
}

/* ---- the thread: timeouts, retries, expiry ---- */

static void timeout_cb(struct rn_txn *t, void *arg)
{
	(void)arg;
	rn_info("transactional id %s: transaction timed out after %d ms, aborting", t->id,
		t->timeout_ms);
	if (rn_tc_fence_abort(t, rn_wall_ms()) && rn_txns_store(t, NULL) == 0)
		rn_txns_finish(t, NULL);
}

static void expire_cb(struct rn_txn *t, void *arg)
{
	if (!rn_tc_expired(S.tc, t, *(int64_t *)arg))
		return;
	struct rn_buf k = {0};
	rn_tc_key(&k, t->id);
	struct rn_gc_rec r = {k.data, (int32_t)k.len, NULL, -1};
	if (write_recs(t->id, &r, NULL, NULL) == 0) {
		rn_info("transactional id %s expired", t->id);
		rn_tc_remove(S.tc, t);
	}
	rn_buf_free(&k);
}

static void *thread_main(void *arg)
{
	(void)arg;
	int64_t last_check = rn_wall_ms(), last_expire = last_check;
	pthread_mutex_lock(&S.lock);
	while (!S.stop) {
		handle_events();
		int64_t now = rn_wall_ms();
		if (now - last_check >= S.check_every_ms) {
			rn_tc_timed_out(S.tc, now, timeout_cb, NULL);
			rn_tc_foreach(S.tc, finish_cb, NULL); /* markers that failed before */
			last_check = now;
		}
		if (now - last_expire >= 60000) {
			rn_tc_foreach(S.tc, expire_cb, &now);
			last_expire = now;
		}
		int64_t wait = S.check_every_ms < 100 ? S.check_every_ms : 100;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)wait * 1000000;
		ts.tv_sec += ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&S.cond, &S.lock, &ts);
	}
	pthread_mutex_unlock(&S.lock);
	return NULL;
}

int rn_txns_start(struct rn_broker *b)
{
	S.b = b;
	S.stop = false;
	S.closed = false;
	struct rn_config *c = b->cfg;
	S.tcfg = (struct rn_tc_config){
	    .max_timeout_ms = (int32_t)rn_config_get_i64(c, "transaction.max.timeout.ms"),
	    .id_expiration_ms = rn_config_get_i64(c, "transactional.id.expiration.ms"),
	    .owns = owns,
	};
	S.check_every_ms =
	    rn_config_get_i64(c, "transaction.abort.timed.out.transaction.cleanup.interval.ms");
	if (S.check_every_ms <= 0)
		S.check_every_ms = 10000;
	if (b->clustered) {
		/* Created on the first FindCoordinator; partitions load as leadership comes. */
		struct rn_txn_markers_hooks h = {marker_valid, marker_done, NULL};
		if (rn_txn_markers_start(b, &h) < 0) {
			rn_error("cannot start the transaction marker sender");
			return -EAGAIN;
		}
		pthread_mutex_lock(&S.lock);
		S.tc = rn_tc_new(&S.tcfg);
		have_topic();
		pthread_mutex_unlock(&S.lock);
	} else {
		int rc = ensure_topic(b);
		if (rc < 0)
			return rc;
		pthread_mutex_lock(&S.lock);
		S.tc = rn_tc_new(&S.tcfg);
		replay();
		pthread_mutex_unlock(&S.lock);
	}
	if (pthread_create(&S.thread, NULL, thread_main, NULL) != 0) {
		rn_error("cannot start the transaction coordinator thread");
		return -EAGAIN;
	}
	S.running = true;
	return 0;
}

void rn_txns_stop(struct rn_broker *b)
{
	if (!S.running)
		return;
	pthread_mutex_lock(&S.lock);
	S.stop = true;
	S.closed = true;
	pthread_cond_signal(&S.cond);
	pthread_mutex_unlock(&S.lock);
	pthread_join(S.thread, NULL);
	if (b->clustered)
		rn_txn_markers_stop();
	S.running = false;
}

void rn_txns_free(struct rn_broker *b)
{
	rn_txns_stop(b);
	pthread_mutex_lock(&S.lock);
	rn_tc_free(S.tc);
	S.tc = NULL;
	pthread_mutex_unlock(&S.lock);
	if (S.topic)
		rn_topic_put(b, S.topic);
	S.topic = NULL;
	rn_gc_parts_free(&S.parts);
	pthread_mutex_lock(&S.evlock);
	rn_free(S.ev.v);
	S.ev = (struct rn_gc_part_events){0};
	struct kick *k = S.kicks;
	S.kicks = NULL;
	pthread_mutex_unlock(&S.evlock);
	while (k) {
		struct kick *next = k->next;
		rn_free(k->id);
		rn_free(k);
		k = next;
	}
}
