/* The leader's replication quota (replica/leader_quota.c, leader.replication.throttled.rate):
 * only replicas being added and out of sync are throttled, the bucket empties with the bytes
 * sent to them, refills with time, and a rate of 0 throttles nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <time.h>

#include "replica/replica_int.h"

struct env {
	struct rn_replica_mgr mgr;
	struct rn_replica_part rp;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	e->mgr.cfg.node_id = 1;
	e->mgr.cfg.leader_throttle_bps = 1000;
	e->rp.mgr = &e->mgr;
	pthread_mutex_init(&e->rp.lock, NULL);
	e->rp.st = (struct rn_pstate){.leader = 1,
				      .nreplicas = 3,
				      .replicas = {1, 2, 3},
				      .nisr = 2,
				      .isr = {1, 2},
				      .nadding = 1,
				      .adding = {3}};
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	pthread_mutex_destroy(&e->rp.lock);
	free(e);
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void test_only_adding_out_of_sync_replicas(void **state)
{
	struct env *e = *state;
	assert_false(rn_replica_leader_throttled(&e->rp, 3)); /* a full bucket */
	rn_replica_leader_sent(&e->rp, 3, 1500);
	assert_true(rn_replica_leader_throttled(&e->rp, 3));
	/* An in-sync follower is never throttled, nor charged. */
	assert_false(rn_replica_leader_throttled(&e->rp, 2));
	rn_replica_leader_sent(&e->rp, 2, 100000);
	/* Once the added replica is in sync, neither. */
	e->rp.st.isr[e->rp.st.nisr++] = 3;
	assert_false(rn_replica_leader_throttled(&e->rp, 3));
}

static void test_refills_with_time(void **state)
{
	struct env *e = *state;
	assert_false(rn_replica_leader_throttled(&e->rp, 3));
	rn_replica_leader_sent(&e->rp, 3, 1200); /* 200 bytes overdrawn */
	assert_true(rn_replica_leader_throttled(&e->rp, 3));
	sleep_ms(400); /* at least 400 bytes back */
	assert_false(rn_replica_leader_throttled(&e->rp, 3));
}

static void test_no_rate_no_throttle(void **state)
{
	struct env *e = *state;
	e->mgr.cfg.leader_throttle_bps = 0;
	rn_replica_leader_sent(&e->rp, 3, 1 << 30);
	assert_false(rn_replica_leader_throttled(&e->rp, 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_only_adding_out_of_sync_replicas, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refills_with_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_rate_no_throttle, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
