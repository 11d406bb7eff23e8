/* The controller's decisions as pure functions: failover with and without a live ISR member,
 * unclean allowed or not, offline and back, preferred elections (needed, not needed, not
 * available), controlled shutdown, reassignment begin / complete / cancel, and the epochs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proto/kerr.h"
#include "replica/election.h"

#define END (-100)

static int32_t fill(int32_t *dst, const int32_t *src)
{
	int32_t n = 0;
	while (src && src[n] != END) {
		dst[n] = src[n];
		n++;
	}
	return n;
}

/* A state: leader, replicas, isr (END-terminated lists), epochs 5 / 9. */
static struct rn_pstate st(int32_t leader, const int32_t *reps, const int32_t *isr)
{
	struct rn_pstate s;
	memset(&s, 0, sizeof(s));
	s.leader = leader;
	s.leader_epoch = 5;
	s.partition_epoch = 9;
	s.nreplicas = fill(s.replicas, reps);
	s.nisr = fill(s.isr, isr);
	return s;
}

#define L(...) ((const int32_t[]){__VA_ARGS__, END})

static void assert_set(const int32_t *got, int32_t n, const int32_t *want)
{
	int32_t w[RN_MAX_REPLICAS];
	int32_t nw = fill(w, want);
	assert_int_equal(n, nw);
	for (int32_t i = 0; i < n; i++)
		assert_int_equal(got[i], w[i]);
}

/* Everyone alive, leader valid: nothing to write. */
static void test_failover_nothing_to_do(void **state)
{
	(void)state;
	struct rn_pstate cur = st(1, L(1, 2, 3), L(1, 2, 3)), next;
	const int32_t live[] = {1, 2, 3};
	assert_false(rn_elect_failover(&cur, live, 3, false, &next));
	assert_false(rn_elect_failover(&cur, live, 3, true, &next));
	/* A non-preferred but valid leader stays (failover never moves a live leader). */
	cur = st(2, L(1, 2, 3), L(2, 1, 3));
	assert_false(rn_elect_failover(&cur, live, 3, false, &next));
}

/* The leader dies: the first live ISR member in replica order leads, both epochs bump, the
 * dead one leaves the ISR. */
static void test_failover_leader_dies(void **state)
{
	(void)state;
	struct rn_pstate cur = st(1, L(1, 2, 3), L(3, 1, 2)), next;
	const int32_t live[] = {2, 3};
	assert_true(rn_elect_failover(&cur, live, 2, false, &next));
	assert_int_equal(next.leader, 2); /* replica order, not ISR order */
	assert_int_equal(next.leader_epoch, 6);
	assert_int_equal(next.partition_epoch, 10);
	assert_set(next.isr, next.nisr, L(3, 2));
	assert_set(next.replicas, next.nreplicas, L(1, 2, 3));
}

/* A follower dies: it leaves the ISR; same leader, same leader epoch. */
static void test_failover_follower_dies(void **state)
{
	(void)state;
	struct rn_pstate cur = st(1, L(1, 2, 3), L(1, 2, 3)), next;
	const int32_t live[] = {1, 2};
	assert_true(rn_elect_failover(&cur, live, 2, false, &next));
	assert_int_equal(next.leader, 1);
	assert_int_equal(next.leader_epoch, 5);
	assert_int_equal(next.partition_epoch, 10);
	assert_set(next.isr, next.nisr, L(1, 2));
	/* A dead follower out of the ISR already: nothing. */
	cur = st(1, L(1, 2, 3), L(1, 2));
	assert_false(rn_elect_failover(&cur, live, 2, false, &next));
}

/* The only ISR member dies, an out-of-sync replica lives: without unclean the partition goes
 * offline and the ISR keeps its last member; with unclean the live replica leads alone. */
static void test_failover_no_live_isr(void **state)
{
	(void)state;
	struct rn_pstate cur = st(1, L(1, 2, 3), L(1)), next;
	const int32_t live[] = {3};
	assert_true(rn_elect_failover(&cur, live, 1, false, &next));
	assert_int_equal(next.leader, -1);
	assert_int_equal(next.leader_epoch, 6);
	assert_set(next.isr, next.nisr, L(1));
	/* Offline stays offline (no write) while only 3 lives. */
	struct rn_pstate off = next, again;
	assert_false(rn_elect_failover(&off, live, 1, false, &again));

	assert_true(rn_elect_failover(&cur, live, 1, true, &next));
	assert_int_equal(next.leader, 3);
	assert_int_equal(next.leader_epoch, 6);
	assert_set(next.isr, next.nisr, L(3));
	/* Unclean from offline too (the topic's setting changed). */
	assert_true(rn_elect_failover(&off, live, 1, true, &again));
	assert_int_equal(again.leader, 3);
	assert_set(again.isr, again.nisr, L(3));
	assert_int_equal(again.leader_epoch, 7);
}

/* Offline partition: the last ISR member returns and is elected; an out-of-sync one is not. */
static void test_offline_member_returns(void **state)
{
	(void)state;
	struct rn_pstate cur = st(-1, L(1, 2, 3), L(1)), next;
	const int32_t only2[] = {2};
	assert_false(rn_elect_failover(&cur, only2, 1, false, &next));
	const int32_t back[] = {1, 2};
	assert_true(rn_elect_failover(&cur, back, 2, false, &next));
	assert_int_equal(next.leader, 1);
	assert_int_equal(next.leader_epoch, 6);
	assert_set(next.isr, next.nisr, L(1));
}

/* Everything dead: offline, ISR kept whole (every member was in sync when last seen). */
static void test_failover_all_dead(void **state)
{
	(void)state;
	struct rn_pstate cur = st(2, L(1, 2, 3), L(2, 3)), next;
	assert_true(rn_elect_failover(&cur, NULL, 0, true, &next));
	assert_int_equal(next.leader, -1);
	assert_set(next.isr, next.nisr, L(2, 3));
	struct rn_pstate again;
	assert_false(rn_elect_failover(&next, NULL, 0, true, &again));
}

/* Leader dies with two dead ISR members: the one live ISR member wins even if it is last in
 * replica order; a live out-of-sync replica earlier in order does not (clean election). */
static void test_failover_prefers_isr_over_order(void **state)
{
	(void)state;
	struct rn_pstate cur = st(1, L(1, 2, 3, 4), L(1, 4)), next;
	const int32_t live[] = {2, 3, 4};
	assert_true(rn_elect_failover(&cur, live, 3, true, &next));
	assert_int_equal(next.leader, 4);
	assert_set(next.isr, next.nisr, L(4));
}

static void test_preferred(void **state)
{
	(void)state;
	const int32_t all[] = {1, 2, 3};
	struct rn_pstate next;
	struct rn_pstate cur = st(1, L(1, 2, 3), L(1, 2, 3));
	assert_int_equal(rn_elect_preferred(&cur, all, 3, &next), RN_KERR_ELECTION_NOT_NEEDED);

	cur = st(2, L(1, 2, 3), L(2, 3, 1));
	assert_int_equal(rn_elect_preferred(&cur, all, 3, &next), RN_KERR_NONE);
	assert_int_equal(next.leader, 1);
	assert_int_equal(next.leader_epoch, 6);
	assert_int_equal(next.partition_epoch, 10);
	assert_set(next.isr, next.nisr, L(2, 3, 1));

	/* Preferred live but out of sync. */
	cur = st(2, L(1, 2, 3), L(2, 3));
	assert_int_equal(rn_elect_preferred(&cur, all, 3, &next),
			 RN_KERR_PREFERRED_LEADER_NOT_AVAILABLE);
	/* Preferred in the ISR but dead. */
	const int32_t no1[] = {2, 3};
	cur = st(2, L(1, 2, 3), L(2, 3));
	assert_int_equal(rn_elect_preferred(&cur, no1, 2, &next),
			 RN_KERR_PREFERRED_LEADER_NOT_AVAILABLE);
	/* Offline, preferred unavailable, another ISR member live: Kafka elects it. */
	cur = st(-1, L(1, 2, 3), L(1, 3));
	assert_int_equal(rn_elect_preferred(&cur, no1, 2, &next), RN_KERR_NONE);
	assert_int_equal(next.leader, 3);
	/* Preferred "leads" but is dead (its fencing not processed yet): not
	 * ELECTION_NOT_NEEDED; as after Kafka's fencing, the live ISR member 2 is elected. */
	cur = st(1, L(1, 2, 3), L(1, 2));
	assert_int_equal(rn_elect_preferred(&cur, no1, 2, &next), RN_KERR_NONE);
	assert_int_equal(next.leader, 2);
}

static void test_unclean_election(void **state)
{
	(void)state;
	struct rn_pstate next;
	const int32_t all[] = {1, 2, 3};
	struct rn_pstate cur = st(1, L(1, 2, 3), L(1));
	assert_int_equal(rn_elect_unclean(&cur, all, 3, &next), RN_KERR_ELECTION_NOT_NEEDED);
	const int32_t only3[] = {3};
	cur = st(-1, L(1, 2, 3), L(1));
	assert_int_equal(rn_elect_unclean(&cur, only3, 1, &next), RN_KERR_NONE);
	assert_int_equal(next.leader, 3);
	assert_set(next.isr, next.nisr, L(3));
	/* A live ISR member is preferred over an out-of-sync one even for UNCLEAN. */
	const int32_t l23[] = {2, 3};
	cur = st(-1, L(1, 2, 3), L(1, 3));
	assert_int_equal(rn_elect_unclean(&cur, l23, 2, &next), RN_KERR_NONE);
	assert_int_equal(next.leader, 3);
	assert_set(next.isr, next.nisr, L(3));
	/* No replica live. */
	const int32_t other[] = {9};
	assert_int_equal(rn_elect_unclean(&cur, other, 1, &next),
			 RN_KERR_ELIGIBLE_LEADERS_NOT_AVAILABLE);
}

static void test_shutdown(void **state)
{
	(void)state;
	struct rn_pstate next;
	const int32_t all[] = {1, 2, 3};
	/* Leader 1 shuts down: 2 (replica order) leads, 1 leaves the ISR. */
	struct rn_pstate cur = st(1, L(1, 2, 3), L(1, 3, 2));
	assert_true(rn_elect_shutdown(&cur, 1, all, 3, &next));
	assert_int_equal(next.leader, 2);
	assert_int_equal(next.leader_epoch, 6);
	assert_set(next.isr, next.nisr, L(3, 2));
	/* Follower 3 shuts down: leaves the ISR, leader and leader epoch stay. */
	cur = st(1, L(1, 2, 3), L(1, 2, 3));
	assert_true(rn_elect_shutdown(&cur, 3, all, 3, &next));
	assert_int_equal(next.leader, 1);
	assert_int_equal(next.leader_epoch, 5);
	assert_set(next.isr, next.nisr, L(1, 2));
	/* Sole ISR member leading: it keeps leading (nothing to write). */
	cur = st(1, L(1, 2, 3), L(1));
	assert_false(rn_elect_shutdown(&cur, 1, all, 3, &next));
	/* Not involved: nothing. */
	cur = st(2, L(1, 2, 3), L(2, 3));
	assert_false(rn_elect_shutdown(&cur, 1, all, 3, &next));
	/* Another ISR member exists but is dead: keep leading. */
	const int32_t l13[] = {1, 3};
	cur = st(1, L(1, 2, 3), L(1, 2));
	assert_false(rn_elect_shutdown(&cur, 1, l13, 2, &next));
}

static void test_reassign_begin_and_complete(void **state)
{
	(void)state;
	const int32_t live[] = {1, 2, 3, 4};
	struct rn_pstate next;
	bool changed;
	/* {1,2,3} -> {2,3,4}: replicas = T then removing; adding {4}; leader 1 stays. */
	struct rn_pstate cur = st(1, L(1, 2, 3), L(1, 2, 3));
	const int32_t t[] = {2, 3, 4};
	assert_int_equal(rn_reassign_begin(&cur, t, 3, live, 4, &next, &changed), RN_KERR_NONE);
	assert_true(changed);
	assert_set(next.replicas, next.nreplicas, L(2, 3, 4, 1));
	assert_set(next.adding, next.nadding, L(4));
	assert_set(next.removing, next.nremoving, L(1));
	assert_int_equal(next.leader, 1);
	assert_int_equal(next.leader_epoch, 5);
	assert_int_equal(next.partition_epoch, 10);
	assert_true(rn_pstate_reassigning(&next));

	/* 4 not yet in the ISR: the sweep does nothing. */
	struct rn_pstate mid = next, done;
	assert_false(rn_elect_failover(&mid, live, 4, false, &done));
	/* 4 joins the ISR (the leader's write): the sweep completes, 1 goes, 2 leads. */
	mid.isr[mid.nisr++] = 4;
	mid.partition_epoch++;
	assert_true(rn_elect_failover(&mid, live, 4, false, &done));
	assert_set(done.replicas, done.nreplicas, L(2, 3, 4));
	assert_set(done.isr, done.nisr, L(2, 3, 4));
	assert_int_equal(done.nadding, 0);
	assert_int_equal(done.nremoving, 0);
	assert_int_equal(done.leader, 2);
	assert_int_equal(done.leader_epoch, 6);
	assert_int_equal(done.partition_epoch, mid.partition_epoch + 1);
}

/* A removed follower (not the leader) still bumps the leader epoch, fencing its fetches. */
static void test_reassign_remove_follower_bumps_epoch(void **state)
{
	(void)state;
	const int32_t live[] = {1, 2, 3};
	struct rn_pstate next;
	bool changed;
	struct rn_pstate cur = st(1, L(1, 2, 3), L(1, 2, 3));
	const int32_t t[] = {1, 2};
	assert_int_equal(rn_reassign_begin(&cur, t, 2, live, 3, &next, &changed), RN_KERR_NONE);
	assert_true(changed);
	assert_set(next.replicas, next.nreplicas, L(1, 2));
	assert_set(next.isr, next.nisr, L(1, 2));
	assert_int_equal(next.leader, 1);
	assert_int_equal(next.leader_epoch, 6);
	assert_false(rn_pstate_reassigning(&next));
}

/* Reordering only completes at once: no adding, no removing, new order, same leader. */
static void test_reassign_reorder(void **state)
{
	(void)state;
	const int32_t live[] = {1, 2, 3};
	struct rn_pstate next;
	bool changed;
	struct rn_pstate cur = st(1, L(1, 2, 3), L(1, 2, 3));
	const int32_t t[] = {3, 1, 2};
	assert_int_equal(rn_reassign_begin(&cur, t, 3, live, 3, &next, &changed), RN_KERR_NONE);
	assert_true(changed);
	assert_set(next.replicas, next.nreplicas, L(3, 1, 2));
	assert_int_equal(next.nadding + next.nremoving, 0);
	assert_int_equal(next.leader, 1);
	assert_int_equal(next.leader_epoch, 5);
	/* The same target again: nothing to write. */
	struct rn_pstate again;
	assert_int_equal(rn_reassign_begin(&next, t, 3, live, 3, &again, &changed), RN_KERR_NONE);
	assert_false(changed);
}

static void test_reassign_invalid(void **state)
{
	(void)state;
	const int32_t live[] = {1, 2, 3};
	struct rn_pstate next;
	bool changed;
	struct rn_pstate cur = st(1, L(1, 2, 3), L(1, 2, 3));
	const int32_t dup[] = {1, 1, 2}, dead[] = {1, 2, 7};
	assert_int_equal(rn_reassign_begin(&cur, dup, 3, live, 3, &next, &changed),
			 RN_KERR_INVALID_REPLICA_ASSIGNMENT);
	assert_int_equal(rn_reassign_begin(&cur, dead, 3, live, 3, &next, &changed),
			 RN_KERR_INVALID_REPLICA_ASSIGNMENT);
	assert_int_equal(rn_reassign_begin(&cur, dup, 0, live, 3, &next, &changed),
			 RN_KERR_INVALID_REPLICA_ASSIGNMENT);
	assert_false(changed);
}

static void test_reassign_cancel(void **state)
{
	(void)state;
	const int32_t live[] = {1, 2, 3, 4};
	struct rn_pstate next, started;
	bool changed;
	struct rn_pstate cur = st(1, L(1, 2, 3), L(1, 2, 3));
	assert_int_equal(rn_reassign_cancel(&cur, false, live, 4, &next, &changed),
			 RN_KERR_NO_REASSIGNMENT_IN_PROGRESS);
	const int32_t t[] = {2, 3, 4};
	assert_int_equal(rn_reassign_begin(&cur, t, 3, live, 4, &started, &changed), RN_KERR_NONE);
	started.isr[started.nisr++] = 4; /* 4 caught up but not completed yet (no sweep) */
	assert_int_equal(rn_reassign_cancel(&started, false, live, 4, &next, &changed),
			 RN_KERR_NONE);
	assert_true(changed);
	assert_set(next.replicas, next.nreplicas, L(2, 3, 1));
	assert_set(next.isr, next.nisr, L(1, 2, 3));
	assert_int_equal(next.nadding + next.nremoving, 0);
	assert_int_equal(next.leader, 1);
	assert_int_equal(next.leader_epoch, 6); /* 4 left the replica set */

	/* Every ISR member is being added (the originals fell out): reverting is unclean. */
	struct rn_pstate odd = started;
	odd.nisr = 0;
	odd.isr[odd.nisr++] = 4;
	odd.leader = 4;
	assert_int_equal(rn_reassign_cancel(&odd, false, live, 4, &next, &changed),
			 RN_KERR_INVALID_REPLICA_ASSIGNMENT);
	assert_int_equal(rn_reassign_cancel(&odd, true, live, 4, &next, &changed), RN_KERR_NONE);
	assert_int_equal(next.leader, 2);
	assert_set(next.isr, next.nisr, L(2));
}

/* The leader dies while a reassignment is in flight: failover picks the first live ISR member
 * of the whole replica list (target first, then the replicas being removed), as KRaft's
 * electAnyLeader over targetReplicas; the move itself stays in flight. */
static void test_failover_during_reassignment(void **state)
{
	(void)state;
	const int32_t live[] = {1, 2, 3, 4};
	struct rn_pstate next, started;
	bool changed;
	struct rn_pstate cur = st(1, L(1, 2, 3), L(1, 2, 3));
	const int32_t t[] = {4, 3, 2};
	assert_int_equal(rn_reassign_begin(&cur, t, 3, live, 4, &started, &changed), RN_KERR_NONE);
	assert_set(started.replicas, started.nreplicas, L(4, 3, 2, 1));
	const int32_t no1[] = {2, 3, 4};
	assert_true(rn_elect_failover(&started, no1, 3, false, &next));
	assert_int_equal(next.leader, 3); /* 4 is not in sync yet */
	assert_set(next.isr, next.nisr, L(2, 3));
	assert_set(next.adding, next.nadding, L(4));
	assert_set(next.removing, next.nremoving, L(1));
	/* A preferred election cannot pick the added replica before it is in sync. */
	struct rn_pstate pref;
	assert_int_equal(rn_elect_preferred(&next, no1, 3, &pref),
			 RN_KERR_PREFERRED_LEADER_NOT_AVAILABLE);
	/* 4 joins: done, replicas = target, 1 gone (dead anyway), leader 3 stays. */
	next.isr[next.nisr++] = 4;
	next.partition_epoch++;
	struct rn_pstate done;
	assert_true(rn_elect_failover(&next, no1, 3, false, &done));
	assert_set(done.replicas, done.nreplicas, L(4, 3, 2));
	assert_set(done.isr, done.nisr, L(2, 3, 4));
	assert_int_equal(done.leader, 3);
	assert_int_equal(done.leader_epoch, next.leader_epoch + 1);
	assert_false(rn_pstate_reassigning(&done));
}

/* Only removed replicas are in sync when the move would complete: it waits (the ISR minus
 * removing must hold every remaining replica). */
static void test_reassign_waits_for_every_target(void **state)
{
	(void)state;
	const int32_t live[] = {1, 2, 3, 4};
	struct rn_pstate started, next;
	bool changed;
	struct rn_pstate cur = st(1, L(1, 2), L(1, 2));
	const int32_t t[] = {3, 4};
	assert_int_equal(rn_reassign_begin(&cur, t, 2, live, 4, &started, &changed), RN_KERR_NONE);
	assert_set(started.adding, started.nadding, L(3, 4));
	started.isr[started.nisr++] = 3; /* 3 in sync, 4 not yet */
	assert_false(rn_elect_failover(&started, live, 4, false, &next));
	started.isr[started.nisr++] = 4;
	assert_true(rn_elect_failover(&started, live, 4, false, &next));
	assert_set(next.replicas, next.nreplicas, L(3, 4));
	assert_set(next.isr, next.nisr, L(3, 4));
	assert_int_equal(next.leader, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_failover_nothing_to_do),
	    cmocka_unit_test(test_failover_leader_dies),
	    cmocka_unit_test(test_failover_follower_dies),
	    cmocka_unit_test(test_failover_no_live_isr),
	    cmocka_unit_test(test_offline_member_returns),
	    cmocka_unit_test(test_failover_all_dead),
	    cmocka_unit_test(test_failover_prefers_isr_over_order),
	    cmocka_unit_test(test_preferred),
	    cmocka_unit_test(test_unclean_election),
	    cmocka_unit_test(test_shutdown),
	    cmocka_unit_test(test_reassign_begin_and_complete),
	    cmocka_unit_test(test_reassign_remove_follower_bumps_epoch),
	    cmocka_unit_test(test_reassign_reorder),
	    cmocka_unit_test(test_reassign_invalid),
	    cmocka_unit_test(test_reassign_cancel),
	    cmocka_unit_test(test_failover_during_reassignment),
	    cmocka_unit_test(test_reassign_waits_for_every_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
