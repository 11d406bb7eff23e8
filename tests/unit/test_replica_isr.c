/* The leader's ISR and high-watermark rules (replica/isr_rules.c), as Kafka's Partition and
 * Replica decide them: follower progress and caught-up times, the HW over the maximal ISR,
 * joining at the HW and the epoch start, shrinking after the lag time, the ISR state written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/kerr.h"
#include "replica/isr_rules.h"

#define LAG 10000

static struct rn_replica_follower fol_at(int32_t id, int64_t leo, int64_t caught_up)
{
	struct rn_replica_follower f = {0};
	f.id = id;
	f.leo = leo;
	f.last_caught_up_ms = caught_up;
	f.last_fetch_leader_leo = RN_ISR_UNKNOWN;
	return f;
}

static void test_reset_isr_member_caught_up_now(void **state)
{
	(void)state;
	struct rn_replica_follower in, out;
	rn__isr_follower_reset(&in, 2, true, 5000);
	rn__isr_follower_reset(&out, 3, false, 5000);
	assert_int_equal(in.id, 2);
	assert_int_equal(in.leo, RN_ISR_UNKNOWN);
	assert_int_equal(in.last_caught_up_ms, 5000);
	assert_int_equal(out.last_caught_up_ms, RN_ISR_NEVER);
	/* Unknown progress is not the log end: only the clock keeps an ISR member in. */
	assert_true(rn__isr_caught_up(&in, 100, 5000 + LAG, LAG));
	assert_false(rn__isr_caught_up(&in, 100, 5001 + LAG, LAG));
	assert_false(rn__isr_caught_up(&out, 100, 5000, LAG));
}

static void test_fetch_at_log_end_is_caught_up_now(void **state)
{
	(void)state;
	struct rn_replica_follower f;
	rn__isr_follower_reset(&f, 2, false, 0);
	rn__isr_follower_fetched(&f, 100, 100, 7000);
	assert_int_equal(f.leo, 100);
	assert_int_equal(f.last_caught_up_ms, 7000);
	assert_int_equal(f.last_fetch_ms, 7000);
	assert_int_equal(f.last_fetch_leader_leo, 100);
}

static void test_fetch_reaching_previous_log_end_caught_up_then(void **state)
{
	(void)state;
	/* Small produces at a high rate: the follower never equals the log end, but each fetch
	 * reaches what the log end was at its previous fetch. */
	struct rn_replica_follower f;
	rn__isr_follower_reset(&f, 2, false, 0);
	rn__isr_follower_fetched(&f, 90, 100, 1000); /* behind: not caught up */
	assert_int_equal(f.last_caught_up_ms, RN_ISR_NEVER);
	rn__isr_follower_fetched(&f, 100, 110, 2000); /* reached 100, the log end at 1000 */
	assert_int_equal(f.last_caught_up_ms, 1000);
	rn__isr_follower_fetched(&f, 105, 120, 3000); /* short of 110: no news */
	assert_int_equal(f.last_caught_up_ms, 1000);
	assert_int_equal(f.last_fetch_leader_leo, 120);
	rn__isr_follower_fetched(&f, 120, 130, 4000);
	assert_int_equal(f.last_caught_up_ms, 3000);
}

static void test_caught_up_time_never_goes_back(void **state)
{
	(void)state;
	struct rn_replica_follower f = fol_at(2, 50, 9000);
	f.last_fetch_ms = 500;
	f.last_fetch_leader_leo = 40;
	rn__isr_follower_fetched(&f, 60, 80, 9500); /* >= 40: caught up at 500, but 9000 stands */
	assert_int_equal(f.last_caught_up_ms, 9000);
}

static void test_hw_is_min_of_isr(void **state)
{
	(void)state;
	struct rn_replica_follower fol[2] = {fol_at(2, 80, 0), fol_at(3, 95, 0)};
	int32_t isr[] = {1, 2, 3};
	assert_int_equal(rn__isr_hw_candidate(100, fol, 2, isr, 3, 3u, 50000, LAG), 80);
	/* The leader's own log end bounds it. */
	fol[0].leo = 120;
	fol[1].leo = 130;
	assert_int_equal(rn__isr_hw_candidate(100, fol, 2, isr, 3, 3u, 50000, LAG), 100);
}

static void test_hw_alone_in_isr_follows_log_end(void **state)
{
	(void)state;
	/* Followers out of the ISR and long not caught up hold nothing back. */
	struct rn_replica_follower fol[2] = {fol_at(2, 10, 0), fol_at(3, RN_ISR_UNKNOWN, 0)};
	int32_t isr[] = {1};
	assert_int_equal(rn__isr_hw_candidate(100, fol, 2, isr, 1, 3u, 50000, LAG), 100);
	assert_int_equal(rn__isr_hw_candidate(100, NULL, 0, isr, 1, 0, 50000, LAG), 100);
}

static void test_hw_waits_for_unknown_isr_member(void **state)
{
	(void)state;
	/* A new leader: until each ISR follower fetched, the HW cannot pass what it had. */
	struct rn_replica_follower fol[1] = {fol_at(2, RN_ISR_UNKNOWN, 50000)};
	int32_t isr[] = {1, 2};
	assert_true(rn__isr_hw_candidate(100, fol, 1, isr, 2, 1u, 50000, LAG) < 0);
}

static void test_hw_waits_for_caught_up_live_joiner(void **state)
{
	(void)state;
	/* Not in the ISR but caught up recently and live: waited for, so it can join. */
	struct rn_replica_follower fol[1] = {fol_at(3, 90, 45000)};
	int32_t isr[] = {1};
	assert_int_equal(rn__isr_hw_candidate(100, fol, 1, isr, 1, 1u, 50000, LAG), 90);
	/* Its broker gone: no longer waited for. */
	assert_int_equal(rn__isr_hw_candidate(100, fol, 1, isr, 1, 0u, 50000, LAG), 100);
	/* Caught up too long ago: not waited for either. */
	fol[0].last_caught_up_ms = 50000 - LAG - 1;
	assert_int_equal(rn__isr_hw_candidate(100, fol, 1, isr, 1, 1u, 50000, LAG), 100);
}

static void test_hw_counts_member_being_added(void **state)
{
	(void)state;
	/* The maximal ISR (a member being added while its write is in flight) holds the HW. */
	struct rn_replica_follower fol[1] = {fol_at(3, 90, 0)};
	int32_t maximal[] = {1, 3};
	assert_int_equal(rn__isr_hw_candidate(100, fol, 1, maximal, 2, 0u, 50000, LAG), 90);
}

static void test_join_needs_hw_and_epoch_start(void **state)
{
	(void)state;
	struct rn_replica_follower f = fol_at(3, 100, 0);
	assert_true(rn__isr_may_join(&f, false, true, 100, 100));
	assert_true(rn__isr_may_join(&f, false, true, 90, 50));
	assert_false(rn__isr_may_join(&f, false, true, 101, 50)); /* below the HW */
	/* At the HW, but short of the epoch start: committed records between may be missing. */
	assert_false(rn__isr_may_join(&f, false, true, 100, 101));
	assert_false(rn__isr_may_join(&f, true, true, 100, 100));   /* already in */
	assert_false(rn__isr_may_join(&f, false, false, 100, 100)); /* broker not live */
	f.leo = RN_ISR_UNKNOWN;
	assert_false(rn__isr_may_join(&f, false, true, 0, 0));
}

static void test_out_of_sync_after_lag(void **state)
{
	(void)state;
	int32_t isr[] = {1, 2, 3};
	struct rn_replica_follower fol[2] = {fol_at(2, 100, 0), fol_at(3, 90, 40000)};
	int32_t out[3];
	/* 2 is at the log end: in sync however old its caught-up time. 3 is within the lag. */
	assert_int_equal(rn__isr_out_of_sync(1, isr, 3, fol, 2, 100, 50000, LAG, out), 0);
	assert_int_equal(rn__isr_out_of_sync(1, isr, 3, fol, 2, 100, 50001, LAG, out), 1);
	assert_int_equal(out[0], 3);
	/* The leader appends: 2 is behind too now, and was last caught up at 0. */
	assert_int_equal(rn__isr_out_of_sync(1, isr, 3, fol, 2, 101, 50001, LAG, out), 2);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 3);
}

static void test_out_of_sync_never_self_and_unknown_member(void **state)
{
	(void)state;
	int32_t isr[] = {1, 4};
	struct rn_replica_follower fol[1] = {fol_at(2, 0, 0)};
	int32_t out[2];
	/* 4 is in the ISR but not a follower the leader knows: out. The leader never is. */
	assert_int_equal(rn__isr_out_of_sync(1, isr, 2, fol, 1, 0, 0, LAG, out), 1);
	assert_int_equal(out[0], 4);
}

static void test_isr_states(void **state)
{
	(void)state;
	struct rn_pstate st = {.leader = 1,
			       .leader_epoch = 4,
			       .partition_epoch = 9,
			       .nreplicas = 3,
			       .replicas = {1, 2, 3},
			       .nisr = 3,
			       .isr = {1, 2, 3}};
	struct rn_pstate out;
	int32_t drop[] = {2};
	rn__isr_state_without(&st, drop, 1, &out);
	assert_int_equal(out.nisr, 2);
	assert_int_equal(out.isr[0], 1);
	assert_int_equal(out.isr[1], 3);
	assert_int_equal(out.partition_epoch, 10);
	assert_int_equal(out.leader, 1);
	assert_int_equal(out.leader_epoch, 4);
	assert_int_equal(out.nreplicas, 3);
	struct rn_pstate back;
	rn__isr_state_with(&out, 2, &back);
	assert_int_equal(back.nisr, 3);
	assert_int_equal(back.isr[2], 2);
	assert_int_equal(back.partition_epoch, 11);
	rn__isr_state_with(&back, 2, &out); /* already in: only the epoch moves */
	assert_int_equal(out.nisr, 3);
}

static void test_effective_min_isr(void **state)
{
	(void)state;
	assert_int_equal(rn__isr_effective_min(2, 3), 2);
	assert_int_equal(rn__isr_effective_min(3, 1), 1); /* RF=1 topic, min.insync 3 */
	assert_int_equal(rn__isr_effective_min(1, 3), 1);
}

static void test_ack_done(void **state)
{
	(void)state;
	int16_t kerr = -1;
	assert_false(rn__isr_ack_done(99, 100, 3, 2, 3, &kerr));
	assert_true(rn__isr_ack_done(100, 100, 3, 2, 3, &kerr));
	assert_int_equal(kerr, RN_KERR_NONE);
	/* The ISR shrank below min.insync.replicas after the append: replicated to what is
	 * left, but not enough. */
	assert_true(rn__isr_ack_done(120, 100, 1, 2, 3, &kerr));
	assert_int_equal(kerr, RN_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
	/* min.insync above the replica count is capped at it. */
	assert_true(rn__isr_ack_done(120, 100, 1, 2, 1, &kerr));
	assert_int_equal(kerr, RN_KERR_NONE);
}

static void test_select_rack(void **state)
{
	(void)state;
	struct rn_isr_read_candidate c[3] = {
	    {2, "b", 100, 50},
	    {3, "b", 100, 10},
	    {4, "c", 200, 0},
	};
	assert_int_equal(rn__isr_select_rack("", 1, "a", c, 3), 1);
	assert_int_equal(rn__isr_select_rack(NULL, 1, "a", c, 3), 1);
	assert_int_equal(rn__isr_select_rack("z", 1, "a", c, 3), 1); /* nobody there */
	assert_int_equal(rn__isr_select_rack("a", 1, "a", c, 3), 1); /* the leader's rack */
	assert_int_equal(rn__isr_select_rack("b", 1, "a", c, 3), 3); /* same leo, fresher */
	assert_int_equal(rn__isr_select_rack("c", 1, "a", c, 3), 4);
	c[0].leo = 101;
	assert_int_equal(rn__isr_select_rack("b", 1, "a", c, 3), 2); /* highest log end */
	c[0].leo = 100;
	c[0].since_caught_up_ms = 10;
	assert_int_equal(rn__isr_select_rack("b", 1, "a", c, 3), 3); /* tie: highest id */
	assert_int_equal(rn__isr_select_rack("b", 1, "b", c, 3), 1); /* leader in the rack */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reset_isr_member_caught_up_now),
	    cmocka_unit_test(test_fetch_at_log_end_is_caught_up_now),
	    cmocka_unit_test(test_fetch_reaching_previous_log_end_caught_up_then),
	    cmocka_unit_test(test_caught_up_time_never_goes_back),
	    cmocka_unit_test(test_hw_is_min_of_isr),
	    cmocka_unit_test(test_hw_alone_in_isr_follows_log_end),
	    cmocka_unit_test(test_hw_waits_for_unknown_isr_member),
	    cmocka_unit_test(test_hw_waits_for_caught_up_live_joiner),
	    cmocka_unit_test(test_hw_counts_member_being_added),
	    cmocka_unit_test(test_join_needs_hw_and_epoch_start),
	    cmocka_unit_test(test_out_of_sync_after_lag),
	    cmocka_unit_test(test_out_of_sync_never_self_and_unknown_member),
	    cmocka_unit_test(test_isr_states),
	    cmocka_unit_test(test_effective_min_isr),
	    cmocka_unit_test(test_ack_done),
	    cmocka_unit_test(test_select_rack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
