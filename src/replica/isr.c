/*
 * The leader side of replication for one partition (Kafka's Partition on its leader): the
 * followers' progress from their fetches, the high watermark they allow, the parked acks=all
 * produces it releases, and the leadership checks handlers make. The rules themselves are the
 * pure functions of isr_rules.c; ISR changes are written by isr_write.c from the manager's tick.
 *
 * Locking: everything here runs under rp->lock, which is only ever held briefly. Calls into the
 * store (session validity, live brokers) are made before taking it, so rp->lock never waits
 * on the store's cache lock. Completions (wait callbacks, hooks.advanced) only post work; they
 * run after the lock is dropped except where the manager already holds it (become_*).
 * Times: monotonic milliseconds (rn_mono_ms), read here rather than trusted from callers.
 */
#include <stdatomic.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/kerr.h"
#include "replica/isr_int.h"
#include "storage/partition.h"

int rn__isr_fol_index(const struct rn_replica_part *rp, int32_t id)
{
	for (int i = 0; i < rp->nfol; i++)
		if (rp->fol[i].id == id)
			return i;
	return -1;
}

bool rn__isr_leading(const struct rn_replica_part *rp)
{
	return rp->leader && rp->isr_leading && rp->st.leader == rp->mgr->cfg.node_id;
}

/* The maximal ISR (KIP-497): the stored one, plus the member being added while that write is in
 * flight. A shrink in flight still counts the old members. */
const int32_t *rn__isr_maximal(const struct rn_replica_part *rp, int *n)
{
	if (rp->isr_write_pending && rp->isr_pending.nisr > rp->st.nisr) {
		*n = rp->isr_pending.nisr;
		return rp->isr_pending.isr;
	}
	*n = rp->st.nisr;
	return rp->st.isr;
}

/* The followers of the stored replica set (every replica but this broker), keeping the
 * progress of those already known. reset: a new leader epoch (Kafka's resetReplicaState). */
static void sync_followers(struct rn_replica_part *rp, bool new_leader, int64_t now_ms)
{
	struct rn_replica_follower old[RN_MAX_REPLICAS];
	int nold = new_leader ? 0 : rp->nfol;
	for (int i = 0; i < nold; i++)
		old[i] = rp->fol[i];
	const struct rn_pstate *st = &rp->st;
	int n = 0;
	for (int32_t i = 0; i < st->nreplicas && n < RN_MAX_REPLICAS; i++) {
		int32_t id = st->replicas[i];
		if (id == rp->mgr->cfg.node_id)
			continue;
		struct rn_replica_follower *f = &rp->fol[n++];
		bool in_isr = rn_pstate_has(st->isr, st->nisr, id);
		int j = 0;
		while (j < nold && old[j].id != id)
			j++;
		if (j == nold) {
			rn__isr_follower_reset(f, id, in_isr, now_ms);
			continue;
		}
		*f = old[j];
	}
	rp->nfol = n;
}

static bool same_set(const int32_t *a, int na, const int32_t *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (!rn_pstate_has(b, nb, a[i]))
			return false;
	return true;
}

void rn__isr_seen(struct rn_replica_part *rp, bool count)
{
	const struct rn_pstate *st = &rp->st;
	/* Our own write, echoed by the store before write_isr took its result: it counts it. */
	bool ours = rp->isr_write_pending &&
		    same_set(st->isr, st->nisr, rp->isr_pending.isr, rp->isr_pending.nisr);
	if (count && !ours) {
		bool shrunk = false, grew = false;
		for (int i = 0; i < rp->nisr_seen; i++)
			shrunk |= !rn_pstate_has(st->isr, st->nisr, rp->isr_seen[i]);
		for (int32_t i = 0; i < st->nisr; i++)
			grew |= !rn_pstate_has(rp->isr_seen, rp->nisr_seen, st->isr[i]);
		if (shrunk)
			atomic_fetch_add(&rp->mgr->isr_shrinks, 1);
		if (grew)
			atomic_fetch_add(&rp->mgr->isr_expands, 1);
	}
	rp->nisr_seen = st->nisr;
	for (int32_t i = 0; i < st->nisr; i++)
		rp->isr_seen[i] = st->isr[i];
	rp->isr_synced_epoch = st->partition_epoch;
}

bool rn__isr_advance(struct rn_replica_part *rp, int64_t now_ms, struct rn_hw_wait **done)
{
	struct rn_partition *log = rp->log;
	/* The manager applies a new ISR or a reassignment step of the same leadership without
	 * telling us: match the followers to the replicas it names. */
	if (rp->isr_synced_epoch != rp->st.partition_epoch) {
		sync_followers(rp, false, now_ms);
		rn__isr_seen(rp, true);
	}
	int nmax;
	const int32_t *max = rn__isr_maximal(rp, &nmax);
	int64_t cand = rn__isr_hw_candidate(rn_partition_log_end(log), rp->fol, rp->nfol, max, nmax,
					    rp->fol_live, now_ms, rp->mgr->cfg.lag_time_max_ms);
	int64_t old = rn_partition_high_watermark(log);
	int64_t hw = old;
	if (cand > old)
		hw = rn_partition_set_high_watermark(log, cand);
	*done = rn__hw_wait_take(&rp->waits, hw, nmax, rp->st.nreplicas, now_ms);
	return hw > old;
}

void rn__isr_advanced(struct rn_replica_part *rp)
{
	struct rn_replica_hooks *h = &rp->mgr->hooks;
	if (h->advanced)
		h->advanced(h->arg, rp->topic, rp->idx);
}

void rn__isr_become_leader(struct rn_replica_part *rp, int64_t now_ms)
{
	(void)now_ms;
	int64_t now = rn_mono_ms();
	bool new_epoch = !rp->isr_leading || rp->isr_epoch != rp->st.leader_epoch;
	sync_followers(rp, !rp->isr_leading, now);
	rn__isr_seen(rp, rp->isr_leading && !new_epoch);
	if (new_epoch) {
		/* A re-elected leader keeps what it knew of each follower but restarts the clocks:
		 * ISR members count as caught up now, others must fetch before they can join. */
		int64_t leo = rn_partition_log_end(rp->log);
		for (int i = 0; rp->isr_leading && i < rp->nfol; i++) {
			struct rn_replica_follower *f = &rp->fol[i];
			bool in_isr = rn_pstate_has(rp->st.isr, rp->st.nisr, f->id);
			f->last_fetch_leader_leo = leo;
			f->last_fetch_ms = in_isr ? now : RN_ISR_NEVER;
			f->last_caught_up_ms = in_isr ? now : RN_ISR_NEVER;
		}
		rp->epoch_start = leo;
		rp->isr_epoch = rp->st.leader_epoch;
		rp->fol_live = 0; /* the next tick asks the store (not under rp->lock) */
		rn_debug("%s-%d: leader in epoch %d from offset %lld (HW %lld, ISR of %d)",
			 rp->topic, rp->idx, rp->st.leader_epoch, (long long)leo,
			 (long long)rn_partition_high_watermark(rp->log), rp->st.nisr);
	}
	rp->isr_leading = true;
	/* The ISR may be down to this broker alone: the HW can move now. */
	struct rn_hw_wait *done;
	bool moved = rn__isr_advance(rp, now, &done);
	rn__hw_wait_fire(done, RN_KERR_NONE);
	if (moved)
		rn__isr_advanced(rp);
}

void rn__isr_become_follower(struct rn_replica_part *rp)
{
	struct rn_hw_wait *done = rn__hw_wait_take_all(&rp->waits, RN_KERR_NOT_LEADER_OR_FOLLOWER);
	rp->isr_leading = false;
	rp->nfol = 0;
	rn__hw_wait_fire(done, RN_KERR_NONE);
}

int rn_replica_leader(struct rn_replica_part *rp, int32_t *epoch)
{
	bool valid = rn_meta_session_valid(rp->mgr->meta);
	pthread_mutex_lock(&rp->lock);
	*epoch = rp->applied ? rp->st.leader_epoch : -1;
	bool ok = valid && rn__isr_leading(rp);
	pthread_mutex_unlock(&rp->lock);
	return ok ? 0 : RN_ENOTLEADER;
}

int16_t rn_replica_produce_check(struct rn_replica_part *rp, int32_t min_isr)
{
	int32_t epoch;
	if (rn_replica_leader(rp, &epoch) < 0)
		return RN_KERR_NOT_LEADER_OR_FOLLOWER;
	pthread_mutex_lock(&rp->lock);
	/* Kafka's appendRecordsToLeader: refuse before writing when the stored ISR is short. */
	bool short_isr = rp->st.nisr < rn__isr_effective_min(min_isr, rp->st.nreplicas);
	pthread_mutex_unlock(&rp->lock);
	return short_isr ? RN_KERR_NOT_ENOUGH_REPLICAS : RN_KERR_NONE;
}

void rn_replica_wait_hw(struct rn_replica_part *rp, int64_t offset, int32_t min_isr,
			int64_t timeout_ms, void (*cb)(void *arg, int16_t kerr), void *arg)
{
	bool valid = rn_meta_session_valid(rp->mgr->meta);
	int64_t now = rn_mono_ms();
	int16_t kerr = RN_KERR_NOT_LEADER_OR_FOLLOWER;
	struct rn_hw_wait *done = NULL;
	bool moved = false;
	pthread_mutex_lock(&rp->lock);
	if (!valid || !rn__isr_leading(rp))
		goto answer;
	/* Whoever appended may not have said so (rn_replica_leader_appended): look now. */
	moved = rn__isr_advance(rp, now, &done);
	int nmax;
	rn__isr_maximal(rp, &nmax);
	if (rn__isr_ack_done(rn_partition_high_watermark(rp->log), offset, nmax, min_isr,
			     rp->st.nreplicas, &kerr))
		goto answer;
	kerr = RN_KERR_REQUEST_TIMED_OUT;
	if (timeout_ms <= 0)
		goto answer;
	rn__hw_wait_insert(&rp->waits, rn__hw_wait_new(offset, min_isr, now + timeout_ms, cb, arg));
	kerr = -1;
answer:
	pthread_mutex_unlock(&rp->lock);
	rn__hw_wait_fire(done, RN_KERR_NONE);
	if (moved)
		rn__isr_advanced(rp);
	if (kerr >= 0)
		cb(arg, kerr);
}

/* Kafka's followerReplicaOrThrow: a fetch from a broker that is not a replica (yet: a
 * reassignment the leader has not seen) is told UNKNOWN_LEADER_EPOCH when it named an epoch. */
static int16_t not_a_replica(int32_t current_leader_epoch)
{
	return current_leader_epoch >= 0 ? RN_KERR_UNKNOWN_LEADER_EPOCH
					 : RN_KERR_NOT_LEADER_OR_FOLLOWER;
}

int16_t rn_replica_follower_fetch(struct rn_replica_part *rp, int32_t replica_id,
				  int64_t fetch_offset, int32_t current_leader_epoch,
				  int64_t now_ms)
{
	bool valid = rn_meta_session_valid(rp->mgr->meta);
	int16_t kerr = RN_KERR_NONE;
	struct rn_hw_wait *done = NULL;
	bool moved = false;
	pthread_mutex_lock(&rp->lock);
	int i = rn__isr_fol_index(rp, replica_id);
	int64_t leo = rn_partition_log_end(rp->log);
	if (!valid || !rn__isr_leading(rp))
		kerr = RN_KERR_NOT_LEADER_OR_FOLLOWER;
	else if (current_leader_epoch >= 0 && current_leader_epoch != rp->st.leader_epoch)
		kerr = current_leader_epoch < rp->st.leader_epoch ? RN_KERR_FENCED_LEADER_EPOCH
								  : RN_KERR_UNKNOWN_LEADER_EPOCH;
	else if (i < 0)
		kerr = not_a_replica(current_leader_epoch);
	else if (fetch_offset > leo || fetch_offset < rn_partition_log_start(rp->log))
		kerr = RN_KERR_OFFSET_OUT_OF_RANGE; /* no progress from a diverged or lost log */
	if (kerr == RN_KERR_NONE) {
		struct rn_replica_follower *f = &rp->fol[i];
		int64_t prev = f->leo;
		rn__isr_follower_fetched(f, fetch_offset, leo, now_ms);
		if (prev != f->leo)
			moved = rn__isr_advance(rp, now_ms, &done);
	}
	pthread_mutex_unlock(&rp->lock);
	rn__hw_wait_fire(done, RN_KERR_NONE);
	if (moved)
		rn__isr_advanced(rp);
	return kerr;
}

void rn_replica_leader_appended(struct rn_replica_part *rp)
{
	struct rn_hw_wait *done = NULL;
	bool moved = false;
	pthread_mutex_lock(&rp->lock);
	if (rn__isr_leading(rp))
		moved = rn__isr_advance(rp, rn_mono_ms(), &done);
	pthread_mutex_unlock(&rp->lock);
	rn__hw_wait_fire(done, RN_KERR_NONE);
	if (moved)
		rn__isr_advanced(rp);
}
