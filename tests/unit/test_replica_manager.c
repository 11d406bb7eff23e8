/*
 * The replica manager's state handling on a real partition log, without a cluster: states
 * apply in order (older ones ignored), leadership moves the log's leader epoch and calls the
 * hooks, detach and free are safe with work queued, stats count what the states say.
 * Following needs a leader to fetch from: the fetcher only fails to reach it here (the
 * embedded store lists no brokers), which must stay harmless.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_builder.h"
#include "core/clock.h"
#include "meta/store.h"
#include "replica/follower_int.h"
#include "storage/partition.h"

enum { SELF = 2, OTHER = 1 };

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_nev;
static struct {
	bool leader;
	int32_t epoch;
} g_ev[64];

/* When set, the leadership hook detaches this partition, as the glue does when it drops the
 * last reference of a deleted topic from inside a hook. */
static struct rn_replica_mgr *g_detach_mgr;
static struct rn_replica_part *_Atomic g_detach_rp;
static _Atomic bool g_detached;

static void on_leadership(void *arg, const char *topic, int32_t idx, bool leader, int32_t epoch)
{
	(void)arg, (void)topic, (void)idx;
	struct rn_replica_part *rp = atomic_exchange(&g_detach_rp, NULL);
	if (rp) {
		rn_replica_detach(g_detach_mgr, rp);
		atomic_store(&g_detached, true);
	}
	pthread_mutex_lock(&g_lock);
	if (g_nev < 64)
		g_ev[g_nev].leader = leader, g_ev[g_nev].epoch = epoch;
	g_nev++;
	pthread_mutex_unlock(&g_lock);
}

static int nev(void)
{
	pthread_mutex_lock(&g_lock);
	int n = g_nev;
	pthread_mutex_unlock(&g_lock);
	return n;
}

/* Hooks run after the state is visible: wait for the n-th one. */
static void wait_events(int n)
{
	int64_t deadline = rn_mono_ms() + 20000;
	while (nev() < n && rn_mono_ms() < deadline)
		usleep(2000);
	assert_int_equal(nev(), n);
}

struct fx {
	char *dir;
	struct rn_meta *meta;
	struct rn_partition *log;
	struct rn_replica_mgr *mgr;
};

static void fx_open(struct fx *x)
{
	x->dir = bb_tmpdir();
	char d[4096];
	snprintf(d, sizeof(d), "%s/meta", x->dir);
	mkdir(d, 0755);
	assert_int_equal(rn_meta_open(d, SELF, &x->meta), 0);
	snprintf(d, sizeof(d), "%s/t-0", x->dir);
	struct rn_log_config c;
	rn_log_config_default(&c);
	assert_int_equal(rn_partition_open(d, &c, -1, 0, true, &x->log), 0);
	struct rn_replica_cfg cfg = {.node_id = SELF,
				     .lag_time_max_ms = 30000,
				     .fetch_max_bytes = 1 << 20,
				     .fetch_response_max_bytes = 10 << 20,
				     .fetch_min_bytes = 1,
				     .fetch_wait_max_ms = 100,
				     .fetch_backoff_ms = 50,
				     .socket_timeout_ms = 1000,
				     .num_fetchers = 1};
	struct rn_replica_hooks hooks = {.leadership = on_leadership};
	assert_int_equal(rn_replica_mgr_new(x->meta, &cfg, &hooks, &x->mgr), 0);
	g_nev = 0;
}

static void fx_close(struct fx *x)
{
	rn_replica_mgr_free(x->mgr);
	rn_partition_close(x->log);
	rn_meta_close(x->meta);
	bb_rmrf(x->dir);
	free(x->dir);
}

static struct rn_pstate pst(int32_t leader, int32_t le, int32_t pe, int nisr)
{
	struct rn_pstate st = {.leader = leader, .leader_epoch = le, .partition_epoch = pe};
	st.nreplicas = 3;
	st.replicas[0] = OTHER, st.replicas[1] = SELF, st.replicas[2] = 3;
	st.nisr = nisr;
	for (int i = 0; i < nisr; i++)
		st.isr[i] = st.replicas[i];
	return st;
}

/* Polls until rp's applied state has partition_epoch pe (generous for sanitizer builds). */
static void wait_applied(struct rn_replica_part *rp, int32_t pe)
{
	int64_t deadline = rn_mono_ms() + 20000;
	struct rn_pstate st;
	do {
		rn_replica_state(rp, &st);
		if (st.partition_epoch == pe)
			return;
		usleep(2000);
	} while (rn_mono_ms() < deadline);
	fail_msg("state with partition_epoch %d never applied (at %d)", pe, st.partition_epoch);
}

static void test_ordering(void **state)
{
	(void)state;
	struct rn_pstate a = pst(1, 3, 7, 3), b = pst(1, 3, 8, 3), c = pst(1, 4, 1, 3);
	assert_true(rn__pstate_newer(&b, &a));
	assert_false(rn__pstate_newer(&a, &b));
	assert_true(rn__pstate_newer(&c, &b)); /* a leader epoch outranks partition epochs */
	assert_false(rn__pstate_newer(&b, &c));
	assert_false(rn__pstate_newer(&a, &a));
}

static void test_lead_then_follow(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	struct rn_replica_part *rp = rn_replica_attach(x.mgr, "t", 0, x.log);
	struct rn_pstate st;
	rn_replica_state(rp, &st);
	assert_int_equal(st.leader, -1);

	struct rn_pstate lead = pst(SELF, 5, 10, 2);
	rn_replica_apply(x.mgr, rp, &lead);
	wait_applied(rp, 10);
	wait_events(1);
	assert_int_equal(rn_partition_leader_epoch(x.log), 5);
	assert_true(g_ev[0].leader);
	assert_int_equal(g_ev[0].epoch, 5);

	struct rn_replica_stats s;
	rn_replica_mgr_stats(x.mgr, &s);
	assert_int_equal(s.leaders, 1);
	assert_int_equal(s.under_replicated, 1); /* ISR 2 of 3 replicas */
	assert_int_equal(s.under_min_isr, 0);
	rn_replica_set_min_isr(rp, 3);
	rn_replica_mgr_stats(x.mgr, &s);
	assert_int_equal(s.under_min_isr, 1);

	/* An ISR change in the same leader epoch: the state moves, leadership does not. */
	struct rn_pstate grown = pst(SELF, 5, 11, 3);
	rn_replica_apply(x.mgr, rp, &grown);
	wait_applied(rp, 11);
	assert_int_equal(nev(), 1);
	rn_replica_mgr_stats(x.mgr, &s);
	assert_int_equal(s.under_replicated, 0);

	/* An older state (epoch 4) is ignored; the newer follower one after it applies. */
	struct rn_pstate old = pst(OTHER, 4, 20, 3), follow = pst(OTHER, 6, 12, 3);
	rn_replica_apply(x.mgr, rp, &old);
	rn_replica_apply(x.mgr, rp, &follow);
	wait_applied(rp, 12);
	rn_replica_state(rp, &st);
	assert_int_equal(st.leader, OTHER);
	assert_int_equal(st.leader_epoch, 6);
	wait_events(2);
	assert_false(g_ev[1].leader);
	assert_int_equal(g_ev[1].epoch, 6);
	rn_replica_mgr_stats(x.mgr, &s);
	assert_int_equal(s.leaders, 0);

	/* Now older than what is applied: ignored even on its own. */
	rn_replica_apply(x.mgr, rp, &old);
	struct rn_pstate later = pst(OTHER, 6, 13, 2);
	rn_replica_apply(x.mgr, rp, &later);
	wait_applied(rp, 13);
	assert_int_equal(nev(), 2);

	rn_replica_detach(x.mgr, rp);
	fx_close(&x);
}

/* Detach with states queued, and stop_fetchers / free while a fetcher retries a leader it
 * cannot reach. */
static void test_detach_and_stop(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	struct rn_replica_part *rp = rn_replica_attach(x.mgr, "t", 0, x.log);
	struct rn_pstate follow = pst(OTHER, 1, 1, 3);
	rn_replica_apply(x.mgr, rp, &follow);
	wait_applied(rp, 1);
	rn_replica_mgr_stop_fetchers(x.mgr);
	/* The same state again resumes fetching after stop_fetchers. */
	rn_replica_apply(x.mgr, rp, &follow);
	int64_t deadline = rn_mono_ms() + 20000;
	while (!rn__fetcher_following(rp, OTHER) && rn_mono_ms() < deadline)
		usleep(2000);
	assert_true(rn__fetcher_following(rp, OTHER));
	for (int i = 2; i < 50; i++) {
		struct rn_pstate st = pst(i % 2 ? SELF : OTHER, i, i, 3);
		rn_replica_apply(x.mgr, rp, &st);
	}
	rn_replica_detach(x.mgr, rp);
	/* A second partition left attached is freed by rn_replica_mgr_free. */
	struct rn_replica_part *rp2 = rn_replica_attach(x.mgr, "t", 1, x.log);
	rn_replica_apply(x.mgr, rp2, &follow);
	fx_close(&x);
}

/* Under min ISR counts the topic's min.insync.replicas override from the store. */
static void test_min_isr_from_topic(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	struct rn_cfg_kv kv = {.key = "min.insync.replicas", .val = "3"};
	uint8_t id[16];
	assert_int_equal(rn_meta_topic_create(x.meta, "t", 1, &kv, 1, id), 0);
	struct rn_replica_part *rp = rn_replica_attach(x.mgr, "t", 0, x.log);
	struct rn_pstate lead = pst(SELF, 1, 1, 2);
	rn_replica_apply(x.mgr, rp, &lead);
	wait_applied(rp, 1);
	struct rn_replica_stats s;
	rn_replica_mgr_stats(x.mgr, &s);
	assert_int_equal(s.leaders, 1);
	assert_int_equal(s.under_min_isr, 1); /* ISR 2 < 3 */
	rn_replica_set_min_isr(rp, 2);        /* a pinned value wins */
	rn_replica_mgr_stats(x.mgr, &s);
	assert_int_equal(s.under_min_isr, 0);
	rn_replica_detach(x.mgr, rp);
	fx_close(&x);
}

/* A hook on the manager's thread detaching the very partition it is told about: no deadlock,
 * and the manager goes on with the others. */
static void test_detach_from_hook(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	struct rn_replica_part *rp = rn_replica_attach(x.mgr, "t", 0, x.log);
	struct rn_replica_part *other = rn_replica_attach(x.mgr, "t", 1, x.log);
	g_detach_mgr = x.mgr;
	atomic_store(&g_detached, false);
	atomic_store(&g_detach_rp, rp);
	struct rn_pstate lead = pst(SELF, 1, 1, 3);
	rn_replica_apply(x.mgr, rp, &lead);
	int64_t deadline = rn_mono_ms() + 20000;
	while (!atomic_load(&g_detached) && rn_mono_ms() < deadline)
		usleep(2000);
	assert_true(atomic_load(&g_detached));
	struct rn_pstate st2 = pst(SELF, 2, 2, 3);
	rn_replica_apply(x.mgr, other, &st2);
	wait_applied(other, 2);
	rn_replica_detach(x.mgr, other);
	fx_close(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ordering),         cmocka_unit_test(test_lead_then_follow),
	    cmocka_unit_test(test_detach_and_stop),  cmocka_unit_test(test_min_isr_from_topic),
	    cmocka_unit_test(test_detach_from_hook),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
