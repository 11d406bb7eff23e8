/*
 * The leader's replication quota (leader.replication.throttled.rate): a token bucket of bytes
 * per second over every throttled follower fetch this broker answers, kept lock-free in the
 * manager (several loop threads answer fetches at once). It holds at most one second's worth,
 * so an idle spell cannot buy a long burst; a fetch may overdraw it by one response, which
 * the next ones pay back, as Kafka's quota does by delaying after the fact.
 */
#include <stdatomic.h>

#include "core/clock.h"
#include "replica/isr_int.h"

/* A replica Kafka's reassignment would list as throttled: being added, not in sync. */
static bool throttled_replica(struct rn_replica_part *rp, int32_t replica_id)
{
	pthread_mutex_lock(&rp->lock);
	bool t = rn_pstate_has(rp->st.adding, rp->st.nadding, replica_id) &&
		 !rn_pstate_has(rp->st.isr, rp->st.nisr, replica_id);
	pthread_mutex_unlock(&rp->lock);
	return t;
}

static void refill(struct rn_replica_mgr *mgr, int64_t rate, int64_t now)
{
	int64_t last = atomic_load(&mgr->lq_last_ms);
	if (now <= last || !atomic_compare_exchange_strong(&mgr->lq_last_ms, &last, now))
		return; /* another thread refilled for this moment */
	int64_t add = now - last >= 1000 ? rate : rate * (now - last) / 1000;
	int64_t t = atomic_fetch_add(&mgr->lq_tokens, add) + add;
	if (t > rate)
		atomic_fetch_sub(&mgr->lq_tokens, t - rate);
}

bool rn_replica_leader_throttled(struct rn_replica_part *rp, int32_t replica_id)
{
	struct rn_replica_mgr *mgr = rp->mgr;
	int64_t rate = mgr->cfg.leader_throttle_bps;
	if (rate <= 0 || !throttled_replica(rp, replica_id))
		return false;
	refill(mgr, rate, rn_mono_ms());
	return atomic_load(&mgr->lq_tokens) <= 0;
}

void rn_replica_leader_sent(struct rn_replica_part *rp, int32_t replica_id, int64_t bytes)
{
	struct rn_replica_mgr *mgr = rp->mgr;
	if (mgr->cfg.leader_throttle_bps <= 0 || bytes <= 0 || !throttled_replica(rp, replica_id))
		return;
	atomic_fetch_sub(&mgr->lq_tokens, bytes);
}
