/*
 * The leader's periodic pass over one partition (rn__isr_tick, from the manager's thread):
 * refresh which followers' brokers are live, fence itself when its session is no longer
 * surely valid, move the HW for appends made by other paths, time out parked acks=all waits,
 * and shrink or expand the ISR. An ISR change is a compare-and-set of the stored partition
 * state (Kafka's AlterPartition, with etcd as the controller's log): partition_epoch + 1,
 * leader and leader epoch unchanged. While it is in flight the HW counts the maximal ISR; a
 * lost CAS (RN_ESTALE) means the controller moved on and its state arrives by rn_replica_apply.
 *
 * The store call is made without rp->lock: handlers keep running meanwhile.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/kerr.h"
#include "replica/isr_int.h"
#include "storage/partition.h"

static void refresh_live(struct rn_replica_part *rp)
{
	int32_t ids[RN_MAX_REPLICAS];
	pthread_mutex_lock(&rp->lock);
	int n = rp->nfol;
	for (int i = 0; i < n; i++)
		ids[i] = rp->fol[i].id;
	pthread_mutex_unlock(&rp->lock);
	uint32_t live = 0;
	for (int i = 0; i < n; i++)
		if (rn_meta_broker_live(rp->mgr->meta, ids[i]))
			live |= 1u << i;
	pthread_mutex_lock(&rp->lock);
	/* Followers may have changed meanwhile: map by id, unknown ones count as live. */
	uint32_t mask = 0;
	for (int i = 0; i < rp->nfol; i++) {
		int j = 0;
		while (j < n && ids[j] != rp->fol[i].id)
			j++;
		if (j == n || (live >> j & 1u))
			mask |= 1u << i;
	}
	rp->fol_live = mask;
	pthread_mutex_unlock(&rp->lock);
}

/* Under rp->lock: the ISR change due now, if any, into *out. Shrinking first, as Kafka's
 * ISR-shrink task and fetch-driven expansion never overlap on one partition. */
static bool decide(struct rn_replica_part *rp, int64_t now_ms, struct rn_pstate *out, bool *shrink)
{
	int64_t leo = rn_partition_log_end(rp->log);
	int32_t drop[RN_MAX_REPLICAS];
	int ndrop = rn__isr_out_of_sync(rp->mgr->cfg.node_id, rp->st.isr, rp->st.nisr, rp->fol,
					rp->nfol, leo, now_ms, rp->mgr->cfg.lag_time_max_ms, drop);
	if (ndrop > 0) {
		rn__isr_state_without(&rp->st, drop, ndrop, out);
		*shrink = true;
		return true;
	}
	int64_t hw = rn_partition_high_watermark(rp->log);
	struct rn_pstate next = rp->st;
	for (int i = 0; i < rp->nfol; i++) {
		const struct rn_replica_follower *f = &rp->fol[i];
		bool in_isr = rn_pstate_has(next.isr, next.nisr, f->id);
		if (rn__isr_may_join(f, in_isr, rp->fol_live >> i & 1u, hw, rp->epoch_start))
			rn__isr_state_with(&next, f->id, &next);
	}
	if (next.nisr == rp->st.nisr)
		return false;
	*out = next;
	out->partition_epoch = rp->st.partition_epoch + 1;
	*shrink = false;
	return true;
}

static void log_change(const struct rn_replica_part *rp, const struct rn_pstate *to, bool shrink)
{
	char from_s[RN_MAX_REPLICAS * 12 + 1] = "", to_s[RN_MAX_REPLICAS * 12 + 1] = "";
	size_t o = 0;
	for (int32_t i = 0; i < rp->st.nisr; i++)
		o += (size_t)snprintf(from_s + o, sizeof(from_s) - o, i ? ",%d" : "%d",
				      rp->st.isr[i]);
	o = 0;
	for (int32_t i = 0; i < to->nisr; i++)
		o += (size_t)snprintf(to_s + o, sizeof(to_s) - o, i ? ",%d" : "%d", to->isr[i]);
	rn_info("%s-%d: %s ISR from [%s] to [%s] (leader epoch %d, partition epoch %d, HW %lld, "
		"log end %lld)",
		rp->topic, rp->idx, shrink ? "shrinking" : "expanding", from_s, to_s,
		rp->st.leader_epoch, to->partition_epoch,
		(long long)rn_partition_high_watermark(rp->log),
		(long long)rn_partition_log_end(rp->log));
}

/* Writes the change decided under the lock and takes its result in. */
static void write_isr(struct rn_replica_part *rp, const struct rn_pstate *next, bool shrink)
{
	int32_t expect = next->partition_epoch - 1;
	int rc = rn_meta_partition_cas(rp->mgr->meta, rp->topic, rp->idx, expect, next);
	struct rn_hw_wait *done = NULL;
	bool moved = false;
	pthread_mutex_lock(&rp->lock);
	rp->isr_write_pending = false;
	if (rc == 0) {
		atomic_fetch_add(shrink ? &rp->mgr->isr_shrinks : &rp->mgr->isr_expands, 1);
		/* Ours unless a newer state was applied meanwhile (then that one stands). */
		if (rp->st.partition_epoch == expect)
			rp->st = *next;
		/* Counted above, whether or not the store's echo was applied first. */
		if (rp->st.partition_epoch == next->partition_epoch)
			rn__isr_seen(rp, false);
		if (rn__isr_leading(rp))
			moved = rn__isr_advance(rp, rn_mono_ms(), &done);
	} else if (rc == RN_ESTALE) {
		rn_debug("%s-%d: ISR change lost to a newer state (partition epoch %d)", rp->topic,
			 rp->idx, expect);
	} else {
		rn_log_every(5000, RN_LOG_WARN, "%s-%d: ISR change not written: %s", rp->topic,
			     rp->idx, rn_strerror(rc));
	}
	pthread_mutex_unlock(&rp->lock);
	rn__hw_wait_fire(done, RN_KERR_NONE);
	if (moved)
		rn__isr_advanced(rp);
}

void rn__isr_tick(struct rn_replica_part *rp, int64_t now_ms)
{
	(void)now_ms;
	bool valid = rn_meta_session_valid(rp->mgr->meta);
	if (valid)
		refresh_live(rp);
	int64_t now = rn_mono_ms();
	struct rn_hw_wait *done = NULL;
	bool moved = false, change = false, shrink = false;
	struct rn_pstate next;
	pthread_mutex_lock(&rp->lock);
	if (!rn__isr_leading(rp)) {
		pthread_mutex_unlock(&rp->lock);
		return;
	}
	if (!valid) {
		/* Fenced: acknowledge nothing more; the controller will elect another leader
		 * once the lease is gone, or the session comes back and clients retry. */
		done = rn__hw_wait_take_all(&rp->waits, RN_KERR_NOT_LEADER_OR_FOLLOWER);
	} else {
		moved = rn__isr_advance(rp, now, &done);
		if (!rp->isr_write_pending && rp->applied)
			change = decide(rp, now, &next, &shrink);
		if (change) {
			log_change(rp, &next, shrink);
			rp->isr_write_pending = true;
			rp->isr_pending = next;
		}
	}
	pthread_mutex_unlock(&rp->lock);
	rn__hw_wait_fire(done, RN_KERR_NONE);
	if (moved)
		rn__isr_advanced(rp);
	if (change)
		write_isr(rp, &next, shrink);
}
