/* The leader side of one replicated partition with the real manager, store (a real etcd) and
 * log: leadership checks, follower fetches moving the HW, acks=all waits answered NONE,
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT or NOT_LEADER_OR_FOLLOWER, epoch fencing,
 * and the ISR shrunk (and expanded, once brokers can register) by CAS in the store. Followers
 * are played by calling rn_replica_follower_fetch as h_fetch does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "etcd_proc.h"
#include "meta/cluster.h"
#include "proto/kerr.h"
#include "replica/replica.h"
#include "replica_helpers.h"

#define LAG_MS  1500
#define WAIT_MS 20000

static struct etcd_cluster etcd;
static int test_no;

struct env {
	char *dir, metadir[256];
	struct rn_meta *meta;
	struct rn_partition *log;
	struct rn_log_config cfg;
	struct rn_replica_mgr *mgr;
	struct rn_replica_part *rp;
	struct rn_pstate st;
	char uri[600];
};

static atomic_int g_advanced;

static void on_advanced(void *arg, const char *topic, int32_t idx)
{
	(void)arg, (void)topic, (void)idx;
	atomic_fetch_add(&g_advanced, 1);
}

struct answer {
	atomic_int calls;
	atomic_int kerr;
};

static void answered(void *arg, int16_t kerr)
{
	struct answer *a = arg;
	atomic_store(&a->kerr, kerr);
	atomic_fetch_add(&a->calls, 1);
}

static bool wait_calls(struct answer *a, int n)
{
	for (int64_t end = rn_mono_ms() + WAIT_MS; rn_mono_ms() < end; etcd_sleep_ms(20))
		if (atomic_load(&a->calls) >= n)
			return true;
	return false;
}

static int group_setup(void **state)
{
	(void)state;
	return etcd_cluster_start(&etcd, 1);
}

static int group_teardown(void **state)
{
	(void)state;
	etcd_cluster_stop(&etcd);
	return 0;
}

static bool leads(struct env *e)
{
	int32_t epoch;
	for (int64_t end = rn_mono_ms() + WAIT_MS; rn_mono_ms() < end; etcd_sleep_ms(20))
		if (rn_replica_leader(e->rp, &epoch) == 0)
			return true;
	return false;
}

/* Topic "t", one partition on brokers 1 (this one, the leader), 2 and 3, ISR all three. */
static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	snprintf(e->uri, sizeof(e->uri), "etcd://%s/isr%d-%d", etcd.endpoints, getpid(), ++test_no);
	snprintf(e->metadir, sizeof(e->metadir), "%s/meta%d", etcd.root, test_no);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", e->metadir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(rn_meta_open_etcd(e->uri, e->metadir, 1, &e->meta), 0);
	/* A leader needs a valid session: this broker is registered under its lease. */
	struct rn_broker_reg self = {.id = 1, .port = 1};
	snprintf(self.host, sizeof(self.host), "127.0.0.1");
	assert_int_equal(rn_meta_register_broker(e->meta, &self, 10000), 0);
	int32_t assign[] = {1, 2, 3};
	uint8_t id[16];
	assert_int_equal(rn_meta_topic_create_assigned(e->meta, "t", 1, 3, assign, NULL, 0, id), 0);
	assert_int_equal(rn_meta_partition_get(e->meta, "t", 0, &e->st), 0);
	e->cfg = rh_cfg();
	e->dir = bb_tmpdir();
	e->log = rh_open(e->dir, &e->cfg);
	struct rn_replica_cfg rc = {.node_id = 1, .lag_time_max_ms = LAG_MS};
	struct rn_replica_hooks hooks = {.advanced = on_advanced};
	assert_int_equal(rn_replica_mgr_new(e->meta, &rc, &hooks, &e->mgr), 0);
	e->rp = rn_replica_attach(e->mgr, "t", 0, e->log);
	rn_replica_apply(e->mgr, e->rp, &e->st);
	assert_true(leads(e));
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	rn_replica_detach(e->mgr, e->rp);
	rn_replica_mgr_free(e->mgr);
	rn_partition_close(e->log);
	rn_meta_unregister_broker(e->meta);
	rn_meta_close(e->meta);
	bb_rmrf(e->dir);
	free(e->dir);
	free(e);
	return 0;
}

static int16_t fetch(struct env *e, int32_t id, int64_t offset)
{
	return rn_replica_follower_fetch(e->rp, id, offset, e->st.leader_epoch, rn_mono_ms());
}

static struct rn_replica_stats stats(struct env *e)
{
	struct rn_replica_stats s;
	rn_replica_mgr_stats(e->mgr, &s);
	return s;
}

static int64_t hw(struct env *e)
{
	return rn_partition_high_watermark(e->log);
}

static void test_hw_moves_with_the_isr(void **state)
{
	struct env *e = *state;
	for (int i = 0; i < 3; i++)
		rh_put(e->log, 1, 20);
	rn_replica_leader_appended(e->rp);
	/* A new leader knows nothing of its followers: the HW waits for both. */
	assert_int_equal(hw(e), 0);
	struct answer a = {0};
	rn_replica_wait_hw(e->rp, 3, 2, WAIT_MS, answered, &a);
	assert_int_equal(atomic_load(&a.calls), 0);
	int before = atomic_load(&g_advanced);
	assert_int_equal(fetch(e, 2, 3), RN_KERR_NONE);
	assert_int_equal(hw(e), 0);
	assert_int_equal(fetch(e, 3, 2), RN_KERR_NONE);
	assert_int_equal(hw(e), 2);
	assert_true(atomic_load(&g_advanced) > before);
	assert_int_equal(atomic_load(&a.calls), 0);
	assert_int_equal(fetch(e, 3, 3), RN_KERR_NONE);
	assert_int_equal(hw(e), 3);
	assert_int_equal(atomic_load(&a.calls), 1); /* answered in the fetch's thread */
	assert_int_equal(atomic_load(&a.kerr), RN_KERR_NONE);
	/* Already replicated: answered at once. */
	struct answer b = {0};
	rn_replica_wait_hw(e->rp, 3, 2, WAIT_MS, answered, &b);
	assert_int_equal(atomic_load(&b.calls), 1);
	assert_int_equal(atomic_load(&b.kerr), RN_KERR_NONE);
	assert_int_equal(rn_replica_produce_check(e->rp, 3), RN_KERR_NONE);
	assert_int_equal(rn_replica_produce_check(e->rp, 5), RN_KERR_NONE); /* capped at RF */
}

/* The store moves to next (a CAS from the current state) and the manager applies it. */
static void store_and_apply(struct env *e, struct rn_pstate *next)
{
	next->partition_epoch = e->st.partition_epoch + 1;
	assert_int_equal(rn_meta_partition_cas(e->meta, "t", 0, e->st.partition_epoch, next), 0);
	rn_replica_apply(e->mgr, e->rp, next);
	for (int64_t end = rn_mono_ms() + WAIT_MS; rn_mono_ms() < end; etcd_sleep_ms(20)) {
		struct rn_pstate st;
		rn_replica_state(e->rp, &st);
		if (st.partition_epoch == next->partition_epoch)
			break;
	}
	e->st = *next;
}

static void test_fetch_errors(void **state)
{
	struct env *e = *state;
	/* Re-elected in epoch 3 (it leads on). */
	struct rn_pstate next = e->st;
	next.leader_epoch = 3;
	store_and_apply(e, &next);
	assert_true(leads(e));
	int32_t ep = e->st.leader_epoch;
	rh_put(e->log, 1, 20);
	int64_t now = rn_mono_ms();
	assert_int_equal(rn_replica_follower_fetch(e->rp, 2, 0, ep - 1, now),
			 RN_KERR_FENCED_LEADER_EPOCH);
	assert_int_equal(rn_replica_follower_fetch(e->rp, 2, 0, ep + 1, now),
			 RN_KERR_UNKNOWN_LEADER_EPOCH);
	assert_int_equal(rn_replica_follower_fetch(e->rp, 9, 0, -1, now),
			 RN_KERR_NOT_LEADER_OR_FOLLOWER);
	assert_int_equal(rn_replica_follower_fetch(e->rp, 9, 0, ep, now),
			 RN_KERR_UNKNOWN_LEADER_EPOCH);
	/* Beyond our log end: a diverged follower makes no progress. */
	assert_int_equal(rn_replica_follower_fetch(e->rp, 2, 5, ep, now),
			 RN_KERR_OFFSET_OUT_OF_RANGE);
	assert_int_equal(rn_replica_follower_fetch(e->rp, 2, 1, -1, now), RN_KERR_NONE);
	assert_int_equal(rn_replica_follower_fetch(e->rp, 3, 1, -1, now), RN_KERR_NONE);
	assert_int_equal(hw(e), 1);
}

static bool isr_is(struct env *e, int n, struct rn_pstate *st)
{
	for (int64_t end = rn_mono_ms() + WAIT_MS; rn_mono_ms() < end; etcd_sleep_ms(50)) {
		assert_int_equal(rn_meta_partition_get(e->meta, "t", 0, st), 0);
		if (st->nisr == n)
			return true;
		fetch(e, 2, rn_partition_log_end(e->log)); /* 2 keeps up, 3 is gone */
	}
	return false;
}

static void test_shrink_then_after_append(void **state)
{
	struct env *e = *state;
	assert_int_equal(fetch(e, 2, 0), RN_KERR_NONE);
	assert_int_equal(fetch(e, 3, 0), RN_KERR_NONE);
	rh_put(e->log, 1, 20);
	rn_replica_leader_appended(e->rp);
	struct answer a = {0};
	rn_replica_wait_hw(e->rp, 1, 3, WAIT_MS * 2, answered, &a);
	int64_t shrinks = stats(e).isr_shrinks;
	struct rn_pstate st;
	/* Follower 3 stops fetching: after replica.lag.time.max.ms it leaves the ISR. */
	assert_true(isr_is(e, 2, &st));
	assert_int_equal(st.isr[0], 1);
	assert_int_equal(st.isr[1], 2);
	assert_int_equal(st.partition_epoch, e->st.partition_epoch + 1);
	assert_int_equal(st.leader, 1);
	assert_int_equal(st.leader_epoch, e->st.leader_epoch);
	/* The store may show the new ISR a moment before the leader took its write's result,
	 * which is when the shrink is counted. */
	for (int64_t end = rn_mono_ms() + WAIT_MS;
	     stats(e).isr_shrinks == shrinks && rn_mono_ms() < end;)
		etcd_sleep_ms(20);
	assert_int_equal(stats(e).isr_shrinks, shrinks + 1);
	/* Without 3 the HW passes the record, but two replicas are fewer than min.insync 3. */
	assert_true(wait_calls(&a, 1));
	assert_int_equal(atomic_load(&a.kerr), RN_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
	assert_int_equal(hw(e), 1);
	assert_int_equal(rn_replica_produce_check(e->rp, 3), RN_KERR_NOT_ENOUGH_REPLICAS);
	assert_int_equal(rn_replica_produce_check(e->rp, 2), RN_KERR_NONE);
	struct rn_pstate mine;
	rn_replica_state(e->rp, &mine);
	assert_int_equal(mine.nisr, 2);
}

static void test_expand_when_caught_up(void **state)
{
	struct env *e = *state;
	/* Broker 3 must be live to rejoin: register it from a store handle of its own. */
	struct rn_meta *m3;
	char dir[300];
	snprintf(dir, sizeof(dir), "%s3", e->metadir);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(rn_meta_open_etcd(e->uri, dir, 3, &m3), 0);
	struct rn_broker_reg reg = {.id = 3, .port = 1};
	snprintf(reg.host, sizeof(reg.host), "127.0.0.1");
	int rc = rn_meta_register_broker(m3, &reg, 10000);
	if (rc == RN_EUNSUPPORTED) {
		rn_meta_close(m3);
		skip(); /* the etcd store's sessions are not there yet */
	}
	assert_int_equal(rc, 0);
	struct rn_pstate st;
	assert_true(isr_is(e, 2, &st));
	int64_t expands = stats(e).isr_expands;
	rh_put(e->log, 2, 20);
	int64_t leo = rn_partition_log_end(e->log);
	/* 3 catches up to the log end (and so the HW and the epoch start): it rejoins. */
	for (int64_t end = rn_mono_ms() + WAIT_MS; rn_mono_ms() < end; etcd_sleep_ms(50)) {
		fetch(e, 2, leo);
		fetch(e, 3, leo);
		assert_int_equal(rn_meta_partition_get(e->meta, "t", 0, &st), 0);
		if (st.nisr == 3)
			break;
	}
	assert_int_equal(st.nisr, 3);
	assert_int_equal(st.isr[2], 3);
	assert_int_equal(stats(e).isr_expands, expands + 1);
	assert_int_equal(hw(e), leo);
	rn_meta_unregister_broker(m3);
	rn_meta_close(m3);
}

static void test_timeout_and_leadership_lost(void **state)
{
	struct env *e = *state;
	rh_put(e->log, 1, 20);
	struct answer t = {0}, lost = {0}, zero = {0};
	rn_replica_wait_hw(e->rp, 1, 1, 0, answered, &zero);
	assert_int_equal(atomic_load(&zero.calls), 1);
	assert_int_equal(atomic_load(&zero.kerr), RN_KERR_REQUEST_TIMED_OUT);
	rn_replica_wait_hw(e->rp, 1, 1, 300, answered, &t);
	rn_replica_wait_hw(e->rp, 1, 1, WAIT_MS * 2, answered, &lost);
	/* Nobody fetches: the manager's tick times the first one out. */
	assert_true(wait_calls(&t, 1));
	assert_int_equal(atomic_load(&t.kerr), RN_KERR_REQUEST_TIMED_OUT);
	assert_int_equal(atomic_load(&lost.calls), 0);
	/* The controller moves leadership to 2. */
	struct rn_pstate next = e->st;
	next.leader = 2;
	next.leader_epoch++;
	store_and_apply(e, &next);
	assert_true(wait_calls(&lost, 1));
	assert_int_equal(atomic_load(&lost.kerr), RN_KERR_NOT_LEADER_OR_FOLLOWER);
	int32_t epoch;
	assert_int_equal(rn_replica_leader(e->rp, &epoch), RN_ENOTLEADER);
	assert_int_equal(epoch, next.leader_epoch);
	assert_int_equal(fetch(e, 3, 1), RN_KERR_NOT_LEADER_OR_FOLLOWER);
	assert_int_equal(rn_replica_produce_check(e->rp, 1), RN_KERR_NOT_LEADER_OR_FOLLOWER);
	struct answer after = {0};
	rn_replica_wait_hw(e->rp, 1, 1, WAIT_MS, answered, &after);
	assert_int_equal(atomic_load(&after.calls), 1);
	assert_int_equal(atomic_load(&after.kerr), RN_KERR_NOT_LEADER_OR_FOLLOWER);
	assert_int_equal(rn_replica_preferred_read(e->rp, "r1"), -1);
}

static void test_alone_in_isr_hw_follows_log_end(void **state)
{
	struct env *e = *state;
	int64_t shrinks = stats(e).isr_shrinks;
	struct rn_pstate next = e->st;
	next.nisr = 1; /* the controller removed both followers */
	store_and_apply(e, &next);
	rh_put(e->log, 4, 20);
	rn_replica_leader_appended(e->rp);
	assert_int_equal(hw(e), 4);
	/* Kafka's docs: a broker going down shrinks ISRs; counted once on the leader. */
	assert_int_equal(stats(e).isr_shrinks, shrinks + 1);
	rn_replica_leader_appended(e->rp);
	assert_int_equal(stats(e).isr_shrinks, shrinks + 1);
	assert_int_equal(rn_replica_produce_check(e->rp, 2), RN_KERR_NOT_ENOUGH_REPLICAS);
	struct answer a = {0};
	rn_replica_wait_hw(e->rp, 4, 1, WAIT_MS, answered, &a);
	assert_int_equal(atomic_load(&a.kerr), RN_KERR_NONE);
	/* An append nobody reported (a coordinator's write): the wait itself moves the HW. */
	rh_put(e->log, 2, 20);
	struct answer b = {0};
	rn_replica_wait_hw(e->rp, 6, 1, WAIT_MS, answered, &b);
	assert_int_equal(atomic_load(&b.calls), 1);
	assert_int_equal(atomic_load(&b.kerr), RN_KERR_NONE);
	assert_int_equal(hw(e), 6);
}

static void test_reassignment_adds_a_follower(void **state)
{
	struct env *e = *state;
	rh_put(e->log, 3, 20);
	assert_int_equal(fetch(e, 2, 3), RN_KERR_NONE);
	assert_int_equal(fetch(e, 3, 3), RN_KERR_NONE);
	assert_int_equal(hw(e), 3);
	/* The controller adds broker 4 (KIP-455: replicas = old + adding), same leadership. */
	struct rn_pstate next = e->st;
	next.replicas[next.nreplicas++] = 4;
	next.adding[next.nadding++] = 4;
	store_and_apply(e, &next);
	/* The new follower is known at its first fetch, before any tick. */
	assert_int_equal(fetch(e, 4, 0), RN_KERR_NONE);
	assert_int_equal(hw(e), 3); /* not in the ISR: it holds nothing back */
	struct rn_meta *m4;
	char dir[300], cmd[400];
	snprintf(dir, sizeof(dir), "%s4", e->metadir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(rn_meta_open_etcd(e->uri, dir, 4, &m4), 0);
	struct rn_broker_reg reg = {.id = 4, .port = 1};
	snprintf(reg.host, sizeof(reg.host), "127.0.0.1");
	assert_int_equal(rn_meta_register_broker(m4, &reg, 10000), 0);
	struct rn_pstate st;
	for (int64_t end = rn_mono_ms() + WAIT_MS; rn_mono_ms() < end; etcd_sleep_ms(50)) {
		fetch(e, 2, 3);
		fetch(e, 3, 3);
		fetch(e, 4, 3);
		assert_int_equal(rn_meta_partition_get(e->meta, "t", 0, &st), 0);
		if (st.nisr == 4)
			break;
	}
	assert_int_equal(st.nisr, 4);
	assert_int_equal(st.nadding, 1); /* completing the move is the controller's */
	rn_meta_unregister_broker(m4);
	rn_meta_close(m4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_hw_moves_with_the_isr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fetch_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shrink_then_after_append, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expand_when_caught_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_and_leadership_lost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alone_in_isr_hw_follows_log_end, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reassignment_adds_a_follower, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
