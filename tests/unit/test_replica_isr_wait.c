/* Parked acks=all waits (replica/hw_wait.c): completion when the HW passes their offset (NONE,
 * or NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank), REQUEST_TIMED_OUT at the deadline,
 * all at once when leadership goes, and a fenced leader never acknowledging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/kerr.h"
#include "replica/isr_rules.h"

struct answer {
	int calls;
	int16_t kerr;
	int order; /* position among answers */
};

static int g_seq;

static void answered(void *arg, int16_t kerr)
{
	struct answer *a = arg;
	a->calls++;
	a->kerr = kerr;
	a->order = g_seq++;
}

static struct rn_hw_wait *add(struct rn_hw_wait **list, int64_t offset, int32_t min_isr,
			      int64_t deadline, struct answer *a)
{
	struct rn_hw_wait *w = rn__hw_wait_new(offset, min_isr, deadline, answered, a);
	rn__hw_wait_insert(list, w);
	return w;
}

static void test_sorted_and_completed_by_hw(void **state)
{
	(void)state;
	struct rn_hw_wait *list = NULL;
	struct answer a[3] = {0};
	add(&list, 30, 2, 1000, &a[2]);
	add(&list, 10, 2, 1000, &a[0]);
	add(&list, 20, 2, 1000, &a[1]);
	assert_int_equal(rn__hw_wait_count(list), 3);
	assert_int_equal(list->offset, 10);
	assert_int_equal(list->next->offset, 20);
	g_seq = 0;
	struct rn_hw_wait *done = rn__hw_wait_take(&list, 9, 3, 3, 0);
	assert_null(done);
	done = rn__hw_wait_take(&list, 20, 3, 3, 0);
	assert_int_equal(rn__hw_wait_count(done), 2);
	assert_int_equal(rn__hw_wait_count(list), 1);
	rn__hw_wait_fire(done, RN_KERR_NONE);
	assert_int_equal(a[0].calls, 1);
	assert_int_equal(a[0].kerr, RN_KERR_NONE);
	assert_int_equal(a[1].calls, 1);
	assert_true(a[0].order < a[1].order);
	assert_int_equal(a[2].calls, 0);
	rn__hw_wait_fire(rn__hw_wait_take(&list, 30, 3, 3, 0), RN_KERR_NONE);
	assert_int_equal(a[2].calls, 1);
	assert_null(list);
}

static void test_after_append_when_isr_shrank(void **state)
{
	(void)state;
	struct rn_hw_wait *list = NULL;
	struct answer a = {0};
	add(&list, 10, 2, 1000, &a);
	/* The ISR is down to the leader: the HW passes the offset, but with one replica. */
	rn__hw_wait_fire(rn__hw_wait_take(&list, 10, 1, 3, 0), RN_KERR_NONE);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.kerr, RN_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
}

static void test_timeout(void **state)
{
	(void)state;
	struct rn_hw_wait *list = NULL;
	struct answer a[2] = {0};
	add(&list, 10, 2, 500, &a[0]);
	add(&list, 20, 2, 900, &a[1]);
	assert_null(rn__hw_wait_take(&list, 5, 3, 3, 499));
	rn__hw_wait_fire(rn__hw_wait_take(&list, 5, 3, 3, 500), RN_KERR_NONE);
	assert_int_equal(a[0].kerr, RN_KERR_REQUEST_TIMED_OUT);
	assert_int_equal(a[1].calls, 0);
	/* Reached and past the deadline at once: the HW wins, as Kafka tries before expiring. */
	rn__hw_wait_fire(rn__hw_wait_take(&list, 20, 3, 3, 5000), RN_KERR_NONE);
	assert_int_equal(a[1].kerr, RN_KERR_NONE);
}

static void test_leadership_lost(void **state)
{
	(void)state;
	struct rn_hw_wait *list = NULL;
	struct answer a[2] = {0};
	add(&list, 10, 2, 500, &a[0]);
	add(&list, 20, 2, 900, &a[1]);
	rn__hw_wait_fire(rn__hw_wait_take_all(&list, RN_KERR_NOT_LEADER_OR_FOLLOWER), RN_KERR_NONE);
	assert_null(list);
	assert_int_equal(a[0].calls, 1);
	assert_int_equal(a[0].kerr, RN_KERR_NOT_LEADER_OR_FOLLOWER);
	assert_int_equal(a[1].kerr, RN_KERR_NOT_LEADER_OR_FOLLOWER);
	assert_null(rn__hw_wait_take_all(&list, RN_KERR_NOT_LEADER_OR_FOLLOWER));
}

static void test_fenced_override_only_replaces_success(void **state)
{
	(void)state;
	struct rn_hw_wait *list = NULL;
	struct answer a[2] = {0};
	add(&list, 10, 2, 100, &a[0]);
	add(&list, 50, 2, 100, &a[1]);
	rn__hw_wait_fire(rn__hw_wait_take(&list, 10, 3, 3, 200), RN_KERR_NOT_LEADER_OR_FOLLOWER);
	assert_int_equal(a[0].kerr, RN_KERR_NOT_LEADER_OR_FOLLOWER);
	assert_int_equal(a[1].kerr, RN_KERR_REQUEST_TIMED_OUT);
}

static void test_equal_offsets_keep_arrival_order(void **state)
{
	(void)state;
	struct rn_hw_wait *list = NULL;
	struct answer a[2] = {0};
	struct rn_hw_wait *first = add(&list, 10, 1, 100, &a[0]);
	add(&list, 10, 1, 100, &a[1]);
	assert_ptr_equal(list, first);
	g_seq = 0;
	rn__hw_wait_fire(rn__hw_wait_take(&list, 10, 1, 1, 0), RN_KERR_NONE);
	assert_int_equal(a[0].order, 0);
	assert_int_equal(a[1].order, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sorted_and_completed_by_hw),
	    cmocka_unit_test(test_after_append_when_isr_shrank),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_leadership_lost),
	    cmocka_unit_test(test_fenced_override_only_replaces_success),
	    cmocka_unit_test(test_equal_offsets_keep_arrival_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
