/* The follower replication quota's token bucket (follower.replication.throttled.rate). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "replica/follower_int.h"

static void test_unlimited(void **state)
{
	(void)state;
	struct rn__bucket b;
	rn__bucket_init(&b, 0, 1000);
	rn__bucket_take(&b, 1 << 30, 1000);
	assert_true(rn__bucket_allows(&b, 1000));
	assert_int_equal(rn__bucket_wait_ms(&b, 1000), 0);
}

static void test_spend_and_refill(void **state)
{
	(void)state;
	struct rn__bucket b;
	rn__bucket_init(&b, 1000, 0); /* 1000 B/s, starts with one second's worth */
	assert_true(rn__bucket_allows(&b, 0));
	rn__bucket_take(&b, 1500, 0); /* a fetch may overshoot: the debt is paid by waiting */
	assert_false(rn__bucket_allows(&b, 0));
	int64_t w = rn__bucket_wait_ms(&b, 0);
	assert_true(w >= 500 && w <= 502);
	assert_false(rn__bucket_allows(&b, 499));
	assert_true(rn__bucket_allows(&b, 500));
}

static void test_idle_caps_burst(void **state)
{
	(void)state;
	struct rn__bucket b;
	rn__bucket_init(&b, 1000, 0);
	rn__bucket_take(&b, 1000, 0);
	/* ten idle seconds buy one second's worth, not ten */
	assert_true(rn__bucket_allows(&b, 10000));
	rn__bucket_take(&b, 1001, 10000);
	assert_false(rn__bucket_allows(&b, 10000));
}

static void test_rate_over_time(void **state)
{
	(void)state;
	/* A follower fetching whenever allowed, 300 bytes a time, for 10 s at 1000 B/s moves
	 * about 11000 bytes (10 s of rate plus the initial second), never much more. */
	struct rn__bucket b;
	rn__bucket_init(&b, 1000, 0);
	int64_t moved = 0;
	for (int64_t t = 0; t <= 10000; t += 10)
		if (rn__bucket_allows(&b, t)) {
			rn__bucket_take(&b, 300, t);
			moved += 300;
		}
	assert_true(moved >= 10500 && moved <= 11400);
}

/* Which partitions the quota applies to: being added to this broker and not yet in sync. */
static void test_which_partitions(void **state)
{
	(void)state;
	struct rn_replica_mgr mgr = {.cfg = {.node_id = 4, .follower_throttle_bps = 1000}};
	struct rn_pstate st = {.leader = 1,
			       .nreplicas = 4,
			       .replicas = {1, 2, 3, 4},
			       .nisr = 3,
			       .isr = {1, 2, 3},
			       .nadding = 1,
			       .adding = {4}};
	assert_true(rn__throttled(&mgr, &st));
	st.isr[st.nisr++] = 4; /* caught up: no longer throttled */
	assert_false(rn__throttled(&mgr, &st));
	st.nisr = 3;
	st.nadding = 0; /* an ordinary follower */
	assert_false(rn__throttled(&mgr, &st));
	st.nadding = 1;
	mgr.cfg.follower_throttle_bps = 0; /* no rate set */
	assert_false(rn__throttled(&mgr, &st));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unlimited),        cmocka_unit_test(test_spend_and_refill),
	    cmocka_unit_test(test_idle_caps_burst),  cmocka_unit_test(test_rate_over_time),
	    cmocka_unit_test(test_which_partitions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
