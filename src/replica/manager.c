/*
 * The replica manager (Kafka's ReplicaManager.applyDelta / makeLeaders / makeFollowers): the
 * local partitions of replicated topics, and one thread that applies the states the store
 * reports to them.
 *
 * rn_replica_apply runs on the store's listener thread and must not wait for disk or network:
 * it only records the state (a newer one replaces an older one still waiting) and queues the
 * partition. The manager's thread then makes the log leader or follower, hands followers to the
 * fetcher of their leader, and ticks the ISR of the partitions it leads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "replica/follower_int.h"
#include "storage/partition.h"

/* a came after b: leader_epoch first, then partition_epoch (Kafka's ordering of
 * PartitionRegistration changes: both only grow). */
bool rn__pstate_newer(const struct rn_pstate *a, const struct rn_pstate *b)
{
	if (a->leader_epoch != b->leader_epoch)
		return a->leader_epoch > b->leader_epoch;
	return a->partition_epoch > b->partition_epoch;
}

static bool same_version(const struct rn_pstate *a, const struct rn_pstate *b)
{
	return a->leader_epoch == b->leader_epoch && a->partition_epoch == b->partition_epoch;
}

/* A leadership change to tell the hooks once rp is no longer touched: a hook may end up
 * detaching rp (the last reference of a deleted topic). */
struct change {
	bool tell;
	bool leader;
	int32_t epoch;
};

static void tell(struct rn_replica_mgr *mgr, const char *topic, int32_t idx, const struct change *c)
{
	if (!c->tell)
		return;
	if (mgr->hooks.leadership)
		mgr->hooks.leadership(mgr->hooks.arg, topic, idx, c->leader, c->epoch);
	if (c->leader && mgr->hooks.advanced)
		mgr->hooks.advanced(mgr->hooks.arg, topic, idx);
}

static void become_leader(struct rn_replica_part *rp, const struct rn_pstate *st, struct change *c)
{
	rn__fetcher_remove(rp);
	pthread_mutex_lock(&rp->lock);
	rp->st = *st;
	rp->applied = true;
	rn_partition_set_replicated(rp->log, true);
	int r = rn_partition_set_leader_epoch(rp->log, st->leader_epoch);
	if (r < 0)
		rn_warn("partition %s-%d: cannot start leader epoch %d: %s", rp->topic, rp->idx,
			st->leader_epoch, rn_strerror(r));
	rp->leader = true;
	rn__isr_become_leader(rp, rn_mono_ms());
	pthread_mutex_unlock(&rp->lock);
	rn_info("partition %s-%d: leader in epoch %d (log end %lld)", rp->topic, rp->idx,
		st->leader_epoch, (long long)rn_partition_log_end(rp->log));
	*c = (struct change){.tell = true, .leader = true, .epoch = st->leader_epoch};
}

/* Follower of st->leader, or not a replica any more, or no leader at all. */
static void become_follower(struct rn_replica_mgr *mgr, struct rn_replica_part *rp,
			    const struct rn_pstate *st, bool changed, struct change *c)
{
	int32_t self = mgr->cfg.node_id;
	bool fetch = st->leader >= 0 && st->leader != self &&
		     rn_pstate_has(st->replicas, st->nreplicas, self);
	if (changed || !fetch)
		rn__fetcher_remove(rp);
	pthread_mutex_lock(&rp->lock);
	rp->st = *st;
	rp->applied = true;
	rp->leader = false;
	rn_partition_set_replicated(rp->log, true);
	if (changed)
		rn__isr_become_follower(rp);
	pthread_mutex_unlock(&rp->lock);
	if (changed) {
		rn_info("partition %s-%d: follower of %d in epoch %d%s", rp->topic, rp->idx,
			st->leader, st->leader_epoch, fetch ? "" : " (not fetching)");
		*c = (struct change){.tell = true, .leader = false, .epoch = st->leader_epoch};
	}
	if (fetch && (changed || !rn__fetcher_following(rp, st->leader)))
		rn__fetcher_add(mgr, rp, st->leader, true);
}

/* Applies st to rp on the manager's thread (no lock held); *c says what to tell the hooks. */
static void transition(struct rn_replica_mgr *mgr, struct rn_replica_part *rp,
		       const struct rn_pstate *st, struct change *c)
{
	c->tell = false;
	pthread_mutex_lock(&rp->lock);
	struct rn_pstate cur = rp->st;
	bool applied = rp->applied, was_leader = rp->leader;
	pthread_mutex_unlock(&rp->lock);
	bool stopped = rn__fetcher_stopped(rp);
	if (applied && (rn__pstate_newer(&cur, st) || (same_version(&cur, st) && !stopped)))
		return;
	int32_t self = mgr->cfg.node_id;
	bool lead = st->leader == self && rn_pstate_has(st->replicas, st->nreplicas, self);
	bool epoch_changed =
	    !applied || cur.leader_epoch != st->leader_epoch || cur.leader != st->leader;
	if (lead && was_leader && !epoch_changed) {
		/* Same leadership, another ISR or reassignment step: only the state moves. */
		pthread_mutex_lock(&rp->lock);
		rp->st = *st;
		pthread_mutex_unlock(&rp->lock);
		return;
	}
	if (lead)
		become_leader(rp, st, c);
	else
		become_follower(mgr, rp, st, epoch_changed || was_leader || stopped, c);
}

static void free_part(struct rn_replica_part *rp);

/* Ends the manager thread's unlocked work on busy (im->lock held): wakes a detach waiting for
 * it, or frees it when a hook already detached it. */
static void unbusy(struct rn__mgr_impl *im)
{
	struct rn_replica_part *rp = im->busy;
	im->busy = NULL;
	if (im->busy_freed) {
		im->busy_freed = false;
		free_part(rp);
	}
	pthread_cond_broadcast(&im->busy_cond);
}

/* One queued state: applied, then told, with rp busy so that a detach waits, or (from inside
 * a hook, on this thread) leaves the free to unbusy. */
static void run_one(struct rn_replica_mgr *mgr, struct rn__mgr_impl *im, struct rn_replica_part *rp)
{
	rp->queued = false;
	rp->has_pending = false;
	struct rn_pstate st = rp->pending;
	im->busy = rp;
	pthread_mutex_unlock(&im->lock);
	struct change c;
	transition(mgr, rp, &st, &c);
	if (c.tell) {
		char topic[256];
		snprintf(topic, sizeof(topic), "%s", rp->topic);
		tell(mgr, topic, rp->idx, &c); /* rp may be detached from here on */
	}
	pthread_mutex_lock(&im->lock);
	unbusy(im);
}

static void tick_leaders(struct rn__mgr_impl *im)
{
	/* im->lock held; each partition is busy while ticked unlocked (a detach waits for it),
	 * and the cursor is moved on by a detach of the next one. */
	for (struct rn_replica_part *rp = im->parts; rp && !im->stop; rp = im->tick_next) {
		im->tick_next = rp->anext;
		pthread_mutex_lock(&rp->lock);
		bool leader = rp->leader;
		pthread_mutex_unlock(&rp->lock);
		if (!leader)
			continue;
		im->busy = rp;
		pthread_mutex_unlock(&im->lock);
		rn__isr_tick(rp, rn_mono_ms());
		pthread_mutex_lock(&im->lock);
		unbusy(im);
	}
	im->tick_next = NULL;
}

static void wait_until(struct rn__mgr_impl *im, int64_t deadline_ms)
{
	int64_t left = deadline_ms - rn_mono_ms();
	if (left <= 0)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += left / 1000;
	ts.tv_nsec += (left % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&im->cond, &im->lock, &ts);
}

static void *manager_main(void *arg)
{
	struct rn_replica_mgr *mgr = arg;
	struct rn__mgr_impl *im = rn__impl(mgr);
	int64_t period = mgr->cfg.lag_time_max_ms / 2;
	if (period <= 0 || period > 250)
		period = 250;
	int64_t next_tick = rn_mono_ms() + period;
	pthread_mutex_lock(&im->lock);
	while (!im->stop) {
		if (!im->qhead)
			wait_until(im, next_tick);
		while (im->qhead && !im->stop) {
			struct rn_replica_part *rp = im->qhead;
			im->qhead = rp->qnext;
			if (!im->qhead)
				im->qtail = NULL;
			rp->qnext = NULL;
			run_one(mgr, im, rp);
		}
		if (rn_mono_ms() >= next_tick) {
			tick_leaders(im);
			next_tick = rn_mono_ms() + period;
		}
	}
	pthread_mutex_unlock(&im->lock);
	return NULL;
}

int rn_replica_mgr_new(struct rn_meta *meta, const struct rn_replica_cfg *cfg,
		       const struct rn_replica_hooks *hooks, struct rn_replica_mgr **out)
{
	struct rn_replica_mgr *mgr = rn_calloc(1, sizeof(*mgr));
	mgr->meta = meta;
	mgr->cfg = *cfg;
	if (hooks)
		mgr->hooks = *hooks;
	struct rn__mgr_impl *im = rn_calloc(1, sizeof(*im));
	mgr->impl = im;
	pthread_mutex_init(&im->lock, NULL);
	pthread_mutex_init(&im->flock, NULL);
	pthread_mutex_init(&im->throttle_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&im->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&im->busy_cond, NULL);
	rn__bucket_init(&im->throttle, cfg->follower_throttle_bps, rn_mono_ms());
	int r = pthread_create(&im->th, NULL, manager_main, mgr);
	if (r != 0) {
		rn_error("replica manager: cannot start its thread");
		pthread_cond_destroy(&im->cond);
		pthread_cond_destroy(&im->busy_cond);
		pthread_mutex_destroy(&im->lock);
		pthread_mutex_destroy(&im->flock);
		pthread_mutex_destroy(&im->throttle_lock);
		rn_free(im);
		rn_free(mgr);
		*out = NULL;
		return -r;
	}
	*out = mgr;
	return 0;
}

static void free_part(struct rn_replica_part *rp)
{
	/* Nothing may point at rp any more: not its fetcher, not the manager's lists. */
	pthread_mutex_destroy(&rp->lock);
	rn_free(rp->topic);
	rn_free(rp);
}

void rn_replica_mgr_free(struct rn_replica_mgr *mgr)
{
	if (!mgr)
		return;
	struct rn__mgr_impl *im = rn__impl(mgr);
	pthread_mutex_lock(&im->lock);
	im->stop = true;
	pthread_cond_broadcast(&im->cond);
	pthread_mutex_unlock(&im->lock);
	pthread_join(im->th, NULL);
	rn__fetchers_stop_all(mgr);
	/* Partitions still attached are forgotten without touching their logs, which their
	 * owner may have closed already. */
	while (im->parts) {
		struct rn_replica_part *rp = im->parts;
		im->parts = rp->anext;
		free_part(rp);
	}
	pthread_cond_destroy(&im->cond);
	pthread_cond_destroy(&im->busy_cond);
	pthread_mutex_destroy(&im->lock);
	pthread_mutex_destroy(&im->flock);
	pthread_mutex_destroy(&im->throttle_lock);
	rn_free(im);
	rn_free(mgr);
}

void rn__mgr_set_lookup(struct rn_replica_mgr *mgr,
			int (*lookup)(void *arg, int32_t id, char *host, size_t hostlen, int *port),
			void *arg)
{
	rn__impl(mgr)->lookup = lookup;
	rn__impl(mgr)->lookup_arg = arg;
}

void rn_replica_mgr_stop_fetchers(struct rn_replica_mgr *mgr)
{
	rn__fetchers_stop_all(mgr);
}

struct rn_replica_part *rn_replica_attach(struct rn_replica_mgr *mgr, const char *topic,
					  int32_t idx, struct rn_partition *log)
{
	struct rn_replica_part *rp = rn_calloc(1, sizeof(*rp));
	rp->mgr = mgr;
	rp->topic = rn_strdup(topic);
	rp->idx = idx;
	rp->log = log;
	pthread_mutex_init(&rp->lock, NULL);
	rp->st.leader = -1;
	rp->st.leader_epoch = -1;
	rp->st.partition_epoch = -1;
	rp->fslot = -1;
	rp->leader_leo = -1;
	rp->min_isr = 0;
	struct rn__mgr_impl *im = rn__impl(mgr);
	pthread_mutex_lock(&im->lock);
	rp->anext = im->parts;
	if (im->parts)
		im->parts->aprev = rp;
	im->parts = rp;
	pthread_mutex_unlock(&im->lock);
	return rp;
}

static void unqueue_locked(struct rn__mgr_impl *im, struct rn_replica_part *rp)
{
	struct rn_replica_part *prev = NULL;
	for (struct rn_replica_part *q = im->qhead; q; prev = q, q = q->qnext) {
		if (q != rp)
			continue;
		if (prev)
			prev->qnext = rp->qnext;
		else
			im->qhead = rp->qnext;
		if (im->qtail == rp)
			im->qtail = prev;
		break;
	}
	rp->qnext = NULL;
	rp->queued = false;
}

void rn_replica_detach(struct rn_replica_mgr *mgr, struct rn_replica_part *rp)
{
	if (!rp)
		return;
	struct rn__mgr_impl *im = rn__impl(mgr);
	pthread_mutex_lock(&im->lock);
	rp->detached = true;
	if (rp->queued)
		unqueue_locked(im, rp);
	if (rp->aprev)
		rp->aprev->anext = rp->anext;
	else
		im->parts = rp->anext;
	if (rp->anext)
		rp->anext->aprev = rp->aprev;
	if (im->tick_next == rp)
		im->tick_next = rp->anext;
	/* From a hook the manager's thread runs for rp itself, waiting would never end: the
	 * thread frees rp when the hook returns instead (it touches rp no more). */
	bool own = im->busy == rp && pthread_equal(pthread_self(), im->th);
	while (im->busy == rp && !own)
		pthread_cond_wait(&im->busy_cond, &im->lock);
	pthread_mutex_unlock(&im->lock);
	rn__fetcher_remove(rp);
	pthread_mutex_lock(&rp->lock);
	bool was_leader = rp->leader;
	rp->leader = false;
	rn__isr_become_follower(rp);
	pthread_mutex_unlock(&rp->lock);
	if (was_leader && mgr->hooks.leadership)
		mgr->hooks.leadership(mgr->hooks.arg, rp->topic, rp->idx, false,
				      rp->st.leader_epoch);
	if (own) {
		pthread_mutex_lock(&im->lock);
		im->busy_freed = true;
		pthread_mutex_unlock(&im->lock);
		return;
	}
	free_part(rp);
}

void rn_replica_apply(struct rn_replica_mgr *mgr, struct rn_replica_part *rp,
		      const struct rn_pstate *st)
{
	struct rn__mgr_impl *im = rn__impl(mgr);
	pthread_mutex_lock(&im->lock);
	if (rp->detached || im->stop) {
		pthread_mutex_unlock(&im->lock);
		return;
	}
	/* Only the newest waiting state matters; an equal one still goes through, so that
	 * fetching resumes after rn_replica_mgr_stop_fetchers. */
	if (!rp->has_pending || !rn__pstate_newer(&rp->pending, st)) {
		rp->pending = *st;
		rp->has_pending = true;
	}
	if (!rp->queued) {
		rp->queued = true;
		rp->qnext = NULL;
		if (im->qtail)
			im->qtail->qnext = rp;
		else
			im->qhead = rp;
		im->qtail = rp;
		pthread_cond_signal(&im->cond);
	}
	pthread_mutex_unlock(&im->lock);
}

void rn_replica_state(struct rn_replica_part *rp, struct rn_pstate *out)
{
	pthread_mutex_lock(&rp->lock);
	if (rp->applied) {
		*out = rp->st;
	} else {
		memset(out, 0, sizeof(*out));
		out->leader = -1;
	}
	pthread_mutex_unlock(&rp->lock);
}

void rn_replica_set_min_isr(struct rn_replica_part *rp, int32_t min_isr)
{
	pthread_mutex_lock(&rp->lock);
	rp->min_isr = min_isr > 0 ? min_isr : 0;
	pthread_mutex_unlock(&rp->lock);
}

/* The topics overriding min.insync.replicas, copied out of the store (under its lock). */
struct min_isr_map {
	char **names;
	int32_t *vals;
	int n;
};

static void collect_min_isr(const struct rn_meta_topic *t, void *arg)
{
	struct min_isr_map *m = arg;
	for (int i = 0; i < t->nconfigs; i++) {
		if (strcmp(t->configs[i].key, "min.insync.replicas") != 0)
			continue;
		m->names = rn_realloc(m->names, sizeof(*m->names) * (size_t)(m->n + 1));
		m->vals = rn_realloc(m->vals, sizeof(*m->vals) * (size_t)(m->n + 1));
		m->names[m->n] = rn_strdup(t->name);
		m->vals[m->n] = (int32_t)atoi(t->configs[i].val);
		m->n++;
	}
}

static int32_t min_isr_for(const struct rn_replica_mgr *mgr, const struct min_isr_map *m,
			   const struct rn_replica_part *rp)
{
	if (rp->min_isr > 0)
		return rp->min_isr;
	for (int i = 0; i < m->n; i++)
		if (strcmp(m->names[i], rp->topic) == 0 && m->vals[i] > 0)
			return m->vals[i];
	return mgr->cfg.min_insync_replicas > 0 ? mgr->cfg.min_insync_replicas : 1;
}

void rn_replica_mgr_stats(struct rn_replica_mgr *mgr, struct rn_replica_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->isr_shrinks = mgr->isr_shrinks;
	out->isr_expands = mgr->isr_expands;
	struct min_isr_map mins = {0};
	if (mgr->meta)
		rn_meta_topics_foreach(mgr->meta, collect_min_isr, &mins);
	struct rn__mgr_impl *im = rn__impl(mgr);
	pthread_mutex_lock(&im->lock);
	for (struct rn_replica_part *rp = im->parts; rp; rp = rp->anext) {
		pthread_mutex_lock(&rp->lock);
		if (rp->leader) {
			out->leaders++;
			if (rp->st.nisr < rp->st.nreplicas)
				out->under_replicated++;
			if (rp->st.nisr < min_isr_for(mgr, &mins, rp))
				out->under_min_isr++;
		} else if (rp->applied && rp->st.leader >= 0 && rp->leader_leo >= 0) {
			int64_t lag = rp->leader_leo - rn_partition_log_end(rp->log);
			if (lag > out->max_fetcher_lag)
				out->max_fetcher_lag = lag;
		}
		pthread_mutex_unlock(&rp->lock);
	}
	pthread_mutex_unlock(&im->lock);
	for (int i = 0; i < mins.n; i++)
		rn_free(mins.names[i]);
	rn_free(mins.names);
	rn_free(mins.vals);
}
