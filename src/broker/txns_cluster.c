/*
 * The transaction coordinator in a cluster (see docs/internals/cluster.md, "Coordinators"):
 * the __transaction_state partitions this broker leads are loaded (to the log end) and adopted,
 * those it stops leading dropped; a Prepare* record's markers go to the sender
 * (broker/txn_markers.c) only once the record is replicated, and the last acknowledged marker
 * completes the transaction. Runs under the service's lock (broker/txns.c).
 */
#include <string.h>

#include "broker/coord_wait.h"
#include "broker/topics.h"
#include "broker/txns_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "group/persist.h"
#include "proto/kerr.h"
#include "replica/replica.h"
#include "storage/partition.h"

static struct rn__txns *const S = &rn__txns;

/* A Prepare* record's replication finished (a cluster): the thread sends its markers. */
struct kick {
	char *id;
	int64_t pid;
	int16_t epoch;
	enum rn_txn_state state;
	int16_t err;
	struct kick *next;
};

static void kicked(void *arg, int16_t kerr)
{
	struct kick *k = arg;
	k->err = kerr;
	pthread_mutex_lock(&S->evlock);
	k->next = S->kicks;
	S->kicks = k;
	pthread_mutex_unlock(&S->evlock);
	pthread_cond_signal(&S->cond);
}

/* A cluster: markers follow a Prepare* record only once it is replicated, so that a
 * coordinator taking over finds the decision they carry out. The wait's end is handled by
 * the thread (it may complete under our lock). */
void rn__txns_kick_when_replicated(struct rn_txn *t, int64_t end)
{
	struct kick *k = rn_calloc(1, sizeof(*k));
	k->id = rn_strdup(t->id);
	k->pid = t->pid;
	k->epoch = t->epoch;
	k->state = t->state;
	t->repl_waiting = true;
	rn_coord_wait(S->b, S->topic, rn_tc_partition_for(t->id, S->nparts), end, false, kicked, k);
}

/* A cluster: every marker goes through the sender (to this broker too, as Kafka's
 * TransactionMarkerChannelManager does), which acknowledges each once the partition's leader
 * has it replicated; the last one completes the transaction (marker_done). */
void rn__txns_send_markers(struct rn_txn *t, bool commit)
{
	int32_t idx = rn_tc_partition_for(t->id, S->nparts);
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
					  .coord_epoch = S->parts.v[idx].epoch,
					  .coord_idx = idx,
					  .gen = S->parts.v[idx].gen,
					  .topic = t->parts[i].topic,
					  .partition = t->parts[i].partition};
		rn_txn_markers_send(&m);
	}
}

struct in_part {
	int32_t idx;
	int n;
};

static void drop_txn(struct rn_txn *t, void *arg)
{
	struct in_part *d = arg;
	if (rn_tc_partition_for(t->id, S->nparts) != d->idx)
		return;
	rn_tc_remove(S->tc, t);
	d->n++;
}

/* A coordinator taking over a transaction in Prepare* sends its markers again (they are
 * idempotent at the partitions: a second marker closes nothing). */
static void resume_txn(struct rn_txn *t, void *arg)
{
	struct in_part *d = arg;
	if (rn_tc_partition_for(t->id, S->nparts) != d->idx)
		return;
	d->n++;
	t->unreplicated = false;
	t->repl_waiting = false;
	t->markers_inflight = 0;
	if (rn__txns_preparing(t))
		rn_txns_finish(t, NULL);
}

/* Under the lock, released while the log is read: loads partition idx into a scratch
 * coordinator (Kafka's loadTransactionsForTxnTopicPartition, to the log end) and adopts it
 * unless the partition moved on meanwhile. */
static void load_partition(int32_t idx, uint64_t gen)
{
	struct rn_partition *p = S->topic->parts[idx].log;
	if (!p) {
		rn_error("%s-%d: led here but its log is not open: its transactions stay "
			 "unavailable",
			 RN_TXN_TOPIC, idx);
		return;
	}
	struct rn_tc *scratch = rn_tc_new(&S->tcfg);
	pthread_mutex_unlock(&S->lock);
	int64_t n = 0, t0 = rn_mono_us();
	int rc = rn_gc_log_replay(p, rn__txns_tc_apply, scratch, &n);
	pthread_mutex_lock(&S->lock);
	if (rc < 0) {
		rn_error("loading %s-%d: %s", RN_TXN_TOPIC, idx, rn_strerror(rc));
	} else if (rn_gc_parts_loaded(&S->parts, idx, gen)) {
		rn_tc_adopt(S->tc, scratch);
		struct in_part d = {idx, 0};
		rn_tc_foreach(S->tc, resume_txn, &d);
		rn_info("transaction coordinator for %s-%d (epoch %d): %d transactional id(s) "
			"loaded from %lld record(s) in %.1f ms",
			RN_TXN_TOPIC, idx, S->parts.v[idx].epoch, d.n, (long long)n,
			(double)(rn_mono_us() - t0) / 1000.0);
	}
	rn_tc_free(scratch);
}

static void handle_event(const struct rn_gc_part_event *e)
{
	if (e->leader) {
		uint64_t gen = rn_gc_parts_lead(&S->parts, e->idx, e->epoch);
		if (gen)
			load_partition(e->idx, gen);
	} else if (rn_gc_parts_resign(&S->parts, e->idx, e->epoch)) {
		/* Markers in flight for them are dropped by the sender (stale generation). */
		struct in_part d = {e->idx, 0};
		rn_tc_foreach(S->tc, drop_txn, &d);
		rn_info("transaction coordinator for %s-%d resigned: %d transactional id(s) "
			"unloaded",
			RN_TXN_TOPIC, e->idx, d.n);
	}
}

static void handle_kick(struct kick *k)
{
	struct rn_txn *t = rn_tc_find(S->tc, k->id);
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
void rn__txns_handle_events(void)
{
	struct rn_gc_part_events ev;
	pthread_mutex_lock(&S->evlock);
	rn_gc_part_events_take(&S->ev, &ev);
	struct kick *k = S->kicks;
	S->kicks = NULL;
	pthread_mutex_unlock(&S->evlock);
	int i = 0;
	/* The topic table learns of the topic before its partitions are attached, so this is
	 * only a moment: keep the events for the next pass. */
	for (; i < ev.n && !S->stop && rn__txns_have_topic(); i++)
		handle_event(&ev.v[i]);
	if (i < ev.n && !S->stop) {
		pthread_mutex_lock(&S->evlock);
		rn_gc_part_events_requeue(&S->ev, &ev, i);
		pthread_mutex_unlock(&S->evlock);
	}
	rn_free(ev.v);
	while (k) {
		struct kick *next = k->next;
		if (!S->stop)
			handle_kick(k);
		rn_free(k->id);
		rn_free(k);
		k = next;
	}
}

void rn_txns_partition_leadership(struct rn_broker *b, int32_t idx, bool leader, int32_t epoch)
{
	(void)b;
	pthread_mutex_lock(&S->evlock);
	rn_gc_part_events_push(&S->ev, idx, leader, epoch);
	pthread_mutex_unlock(&S->evlock);
	pthread_cond_signal(&S->cond);
}

/* The sender's hooks (its thread, without its own lock held). */
int rn__txns_marker_valid(void *arg, int32_t coord_idx, uint64_t gen)
{
	(void)arg;
	pthread_mutex_lock(&S->lock);
	bool ours = S->tc && !S->closed && coord_idx < S->parts.n &&
		    rn_gc_parts_owned(&S->parts, coord_idx) && S->parts.v[coord_idx].gen == gen;
	/* The replica layer knows first when leadership (or the session that fences it) is
	 * gone: a coordinator that stood still past its lease sends nothing a successor may
	 * have decided otherwise; it waits until it hears whether it still coordinates. */
	int32_t epoch;
	struct rn_replica_part *rp = ours ? S->topic->parts[coord_idx].rp : NULL;
	bool leads = rp && rn_replica_leader(rp, &epoch) == 0;
	pthread_mutex_unlock(&S->lock);
	return !ours ? -1 : leads ? 1 : 0;
}

/* One marker acknowledged (or its partition gone): the last one completes the transaction,
 * Kafka's TransactionMarkerChannelManager.completeSendMarkersForTxnId. */
void rn__txns_marker_done(void *arg, const struct rn_txn_marker *m)
{
	(void)arg;
	pthread_mutex_lock(&S->lock);
	struct rn_txn *t = S->tc && !S->closed ? rn_tc_find(S->tc, m->txn_id) : NULL;
	bool same = t && t->pid == m->pid && t->epoch == m->epoch && rn__txns_preparing(t) &&
		    (t->state == RN_TXN_PREPARE_COMMIT) == m->commit &&
		    rn_gc_parts_owned(&S->parts, m->coord_idx) &&
		    S->parts.v[m->coord_idx].gen == m->gen && t->markers_inflight > 0;
	if (same && --t->markers_inflight == 0) {
		if (m->commit)
			rn__txns_apply_offsets(t);
		rn_tc_complete(t, rn_wall_ms());
		rn_txns_store(t, NULL);
	}
	pthread_mutex_unlock(&S->lock);
}

void rn__txns_kicks_free(void)
{
	pthread_mutex_lock(&S->evlock);
	struct kick *k = S->kicks;
	S->kicks = NULL;
	pthread_mutex_unlock(&S->evlock);
	while (k) {
		struct kick *next = k->next;
		rn_free(k->id);
		rn_free(k);
		k = next;
	}
}
