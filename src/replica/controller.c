/*
 * The controller thread. Every broker runs one; it campaigns with rn_meta_controller_acquire
 * (again whenever the store reports no controller) and, while it is the controller, sweeps the
 * partition states:
 *  - at acquisition, on every change of the live brokers, on states that need it (no leader,
 *    a leader that is not live, a reassignment in flight) and once a second as a safety net:
 *    rn_elect_failover for every partition (dead brokers out of ISRs, new leaders, offline
 *    partitions back, reassignments completed);
 *  - every leader.imbalance.check.interval with auto.leader.rebalance.enable: preferred
 *    elections for the partitions of each broker whose share of partitions it should lead
 *    but does not exceeds leader.imbalance.per.broker.percentage (ZooKeeper-era Kafka's
 *    checkAndTriggerAutoLeaderRebalance).
 * There is no delay anywhere on the failover path: the store's watch reports the lease's
 * expiry, the listener wakes the thread, the sweep writes at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/kerr.h"
#include "replica/controller.h"
#include "replica/controller_int.h"
#include "replica/election.h"

#define SWEEP_EVERY_MS   1000
#define CAMPAIGN_POLL_MS 1000

struct rn_controller {
	struct rn_meta *m;
	struct rn_controller_cfg cfg;
	pthread_t thr;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop, dirty, started;
	_Atomic bool active;
	int32_t epoch;
	int slot;
};

/*
 * The store has no way to remove a listener, so its arg must stay valid after the controller
 * is freed: it is a static slot that points at the controller while it runs and at nothing
 * afterwards (a listener of a stopped controller then does nothing).
 */
#define SLOTS 64
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rn_controller *slots[SLOTS];
static bool slot_taken[SLOTS];

static void wake_locked(struct rn_controller *c)
{
	pthread_mutex_lock(&c->lock);
	c->dirty = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void wake_slot(void *arg)
{
	pthread_mutex_lock(&slots_lock);
	struct rn_controller *c = slots[(intptr_t)arg];
	if (c)
		wake_locked(c);
	pthread_mutex_unlock(&slots_lock);
}

static void on_brokers(void *arg)
{
	wake_slot(arg);
}

static void on_controller(void *arg, int32_t id, int32_t epoch)
{
	(void)id, (void)epoch;
	wake_slot(arg); /* none (campaign), or another one (step down) */
}

static void on_session(void *arg, bool valid)
{
	(void)valid;
	wake_slot(arg);
}

/* Only states the sweep would change wake it; the others (ISR changes by leaders, the replay
 * of the present) cost nothing. */
static void on_partition(void *arg, const char *topic, int32_t idx, const struct rn_pstate *st)
{
	(void)topic, (void)idx;
	pthread_mutex_lock(&slots_lock);
	struct rn_controller *c = slots[(intptr_t)arg];
	if (c && atomic_load(&c->active) &&
	    (st->leader < 0 || rn_pstate_reassigning(st) || !rn_meta_broker_live(c->m, st->leader)))
		wake_locked(c);
	pthread_mutex_unlock(&slots_lock);
}

/* True while this broker holds the controllership it won (same epoch) with a valid session. */
static bool still_active(struct rn_controller *c)
{
	int32_t epoch;
	int32_t id = rn_meta_controller(c->m, &epoch);
	return id == c->cfg.node_id && epoch == c->epoch && rn_meta_session_valid(c->m);
}

static bool campaign(struct rn_controller *c)
{
	int32_t epoch = -1;
	int32_t id = rn_meta_controller(c->m, &epoch);
	if (id >= 0 && id != c->cfg.node_id)
		return false;
	if (!rn_meta_session_valid(c->m))
		return false;
	int rc = id == c->cfg.node_id ? RN_EEXIST : rn_meta_controller_acquire(c->m, &epoch);
	/* An acquisition whose answer was lost shows up as our own id in the cache. */
	if (rc == RN_EEXIST && rn_meta_controller(c->m, &epoch) == c->cfg.node_id)
		rc = 0;
	if (rc != 0)
		return false;
	c->epoch = epoch;
	atomic_store(&c->active, true);
	rn_info("controller: broker %d is the controller (epoch %d)", c->cfg.node_id, epoch);
	return true;
}

/* One pass of the loop; returns how long to sleep (a wake-up cuts it short). */
static int64_t step(struct rn_controller *c, bool dirty, int64_t *next_sweep, int64_t *next_bal)
{
	int64_t now = rn_mono_ms();
	if (atomic_load(&c->active) && !still_active(c)) {
		atomic_store(&c->active, false);
		rn_info("controller: broker %d is no longer the controller", c->cfg.node_id);
	}
	if (!atomic_load(&c->active)) {
		if (!campaign(c))
			return CAMPAIGN_POLL_MS;
		dirty = true;
		*next_bal = now + c->cfg.imbalance_check_ms;
	}
	if (dirty || now >= *next_sweep) {
		rn__ctl_sweep(c->m, &c->cfg, &c->active);
		*next_sweep = now + SWEEP_EVERY_MS;
	}
	if (c->cfg.auto_rebalance && now >= *next_bal) {
		rn__ctl_rebalance(c->m, &c->cfg, &c->active);
		*next_bal = now + c->cfg.imbalance_check_ms;
	}
	int64_t until = *next_sweep;
	if (c->cfg.auto_rebalance && *next_bal < until)
		until = *next_bal;
	return until > now ? until - now : 0;
}

static void *ctl_main(void *arg)
{
	struct rn_controller *c = arg;
	int64_t next_sweep = 0, next_bal = 0;
	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		bool dirty = c->dirty;
		c->dirty = false;
		pthread_mutex_unlock(&c->lock);
		int64_t wait_ms = step(c, dirty, &next_sweep, &next_bal);
		pthread_mutex_lock(&c->lock);
		if (c->stop || c->dirty || wait_ms <= 0)
			continue;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (wait_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		while (!c->stop && !c->dirty)
			if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static int take_slot(struct rn_controller *c)
{
	pthread_mutex_lock(&slots_lock);
	int slot = -1;
	for (int i = 0; i < SLOTS && slot < 0; i++)
		if (!slot_taken[i])
			slot = i;
	if (slot >= 0) {
		slot_taken[slot] = true;
		slots[slot] = c;
	}
	pthread_mutex_unlock(&slots_lock);
	return slot;
}

static void release_slot(int slot)
{
	pthread_mutex_lock(&slots_lock);
	slots[slot] = NULL;
	slot_taken[slot] = false;
	pthread_mutex_unlock(&slots_lock);
}

int rn_controller_start(struct rn_meta *m, const struct rn_controller_cfg *cfg,
			struct rn_controller **out)
{
	*out = NULL;
	if (!rn_meta_clustered(m))
		return RN_EUNSUPPORTED;
	struct rn_controller *c = rn_calloc(1, sizeof(*c));
	c->m = m;
	c->cfg = *cfg;
	if (c->cfg.imbalance_check_ms <= 0)
		c->cfg.imbalance_check_ms = 300000;
	c->epoch = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	c->slot = take_slot(c);
	if (c->slot < 0) {
		rn_error("controller: too many controllers in one process");
		rn_controller_stop(c);
		return -ENOMEM;
	}
	struct rn_meta_listener l = {.partition = on_partition,
				     .brokers = on_brokers,
				     .controller = on_controller,
				     .session = on_session,
				     .arg = (void *)(intptr_t)c->slot};
	int rc = rn_meta_add_listener(m, &l);
	if (rc == 0) {
		rc = -pthread_create(&c->thr, NULL, ctl_main, c);
		c->started = rc == 0;
	}
	if (rc < 0) {
		rn_controller_stop(c);
		return rc;
	}
	*out = c;
	return 0;
}

void rn_controller_stop(struct rn_controller *c)
{
	if (!c)
		return;
	if (c->slot >= 0) /* the listener finds nothing from here on */
		release_slot(c->slot);
	if (c->started) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
		atomic_store(&c->active, false);
		pthread_join(c->thr, NULL);
	}
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	rn_free(c);
}

bool rn_controller_active(struct rn_controller *c)
{
	return c && atomic_load(&c->active);
}
