/* The transaction coordinator's state machine: epochs and fencing, the transitions of
 * AddPartitions/EndTxn/InitProducerId/timeouts, KIP-360 retries, and the record round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "proto/kerr.h"
#include "txn/txn.h"

static int64_t next_pid = 1000;

static int alloc(void *arg, int64_t *pid)
{
	(void)arg;
	*pid = next_pid++;
	return 0;
}

static struct rn_tc *new_tc(void)
{
	struct rn_tc_config c = {.max_timeout_ms = 900000, .id_expiration_ms = 604800000};
	return rn_tc_new(&c);
}

static struct rn_txn *init_ok(struct rn_tc *tc, const char *id)
{
	struct rn_txn *t;
	bool abort;
	assert_int_equal(rn_tc_init_pid(tc, id, 60000, -1, -1, 1, alloc, NULL, &t, &abort),
			 RN_KERR_NONE);
	assert_false(abort);
	assert_int_equal(t->state, RN_TXN_EMPTY);
	return t;
}

static void test_lifecycle(void **state)
{
	(void)state;
	struct rn_tc *tc = new_tc();
	struct rn_txn *t = init_ok(tc, "a"), *x;
	int64_t pid = t->pid;
	assert_int_equal(t->epoch, 0);
	assert_ptr_equal(rn_tc_find_pid(tc, pid), t);
	assert_int_equal(init_ok(tc, "a")->epoch, 1);
	/* Fenced and unknown producers. */
	assert_int_equal(rn_tc_check(tc, "a", pid, 0, RN_KERR_PRODUCER_FENCED, &x),
			 RN_KERR_PRODUCER_FENCED);
	assert_int_equal(rn_tc_check(tc, "a", pid + 1, 1, RN_KERR_PRODUCER_FENCED, &x),
			 RN_KERR_INVALID_PRODUCER_ID_MAPPING);
	assert_int_equal(rn_tc_check(tc, "b", pid, 1, RN_KERR_PRODUCER_FENCED, &x),
			 RN_KERR_INVALID_PRODUCER_ID_MAPPING);
	/* EndTxn without a transaction. */
	assert_int_equal(rn_tc_end(tc, "a", pid, 1, true, 90, 2, &x), RN_KERR_INVALID_TXN_STATE);
	assert_int_equal(rn_tc_check(tc, "a", pid, 1, 90, &x), RN_KERR_NONE);
	assert_true(rn_tc_add_partition(t, "topic", 3, 5));
	assert_false(rn_tc_add_partition(t, "topic", 3, 6));
	assert_true(rn_tc_add_group(t, "g", 6));
	assert_int_equal(t->state, RN_TXN_ONGOING);
	assert_int_equal(t->start_ms, 5);
	assert_true(rn_tc_has_partition(t, "topic", 3));
	assert_false(rn_tc_has_partition(t, "topic", 4));
	assert_false(rn_tc_has_partition(t, "topix", 3));
	struct rn_txn_offset o = {(char *)"g", (char *)"src", 0, 42, -1, NULL};
	rn_tc_add_offset(t, &o);
	o.offset = 43;
	rn_tc_add_offset(t, &o);
	assert_int_equal(t->noffsets, 1);
	assert_int_equal(t->offsets[0].offset, 43);
	assert_int_equal(rn_tc_end(tc, "a", pid, 1, true, 90, 7, &x), RN_KERR_NONE);
	assert_int_equal(t->state, RN_TXN_PREPARE_COMMIT);
	/* While markers are written: retries and new work wait. */
	assert_int_equal(rn_tc_end(tc, "a", pid, 1, true, 90, 7, &x),
			 RN_KERR_CONCURRENT_TRANSACTIONS);
	assert_int_equal(rn_tc_end(tc, "a", pid, 1, false, 90, 7, &x), RN_KERR_INVALID_TXN_STATE);
	bool abort;
	assert_int_equal(rn_tc_init_pid(tc, "a", 60000, -1, -1, 8, alloc, NULL, &x, &abort),
			 RN_KERR_CONCURRENT_TRANSACTIONS);
	assert_false(abort);
	rn_tc_complete(t, 9);
	assert_int_equal(t->state, RN_TXN_COMPLETE_COMMIT);
	assert_int_equal(t->nparts + t->ngroups + t->noffsets, 0);
	/* A retried commit after completion succeeds, an abort does not. */
	assert_int_equal(rn_tc_end(tc, "a", pid, 1, true, 90, 10, &x), RN_KERR_NONE);
	assert_int_equal(rn_tc_end(tc, "a", pid, 1, false, 90, 10, &x), RN_KERR_INVALID_TXN_STATE);
	rn_tc_free(tc);
}

static void count_cb(struct rn_txn *t, void *arg)
{
	(void)t;
	(*(int *)arg)++;
}

static void test_fence_ongoing_and_timeout(void **state)
{
	(void)state;
	struct rn_tc *tc = new_tc();
	struct rn_txn *t = init_ok(tc, "z"), *x;
	int64_t pid = t->pid;
	rn_tc_add_partition(t, "t", 0, 100);
	bool abort;
	/* A new producer with the same id: the old epoch's transaction is aborted first. */
	assert_int_equal(rn_tc_init_pid(tc, "z", 60000, -1, -1, 200, alloc, NULL, &x, &abort),
			 RN_KERR_CONCURRENT_TRANSACTIONS);
	assert_true(abort);
	assert_int_equal(t->state, RN_TXN_PREPARE_ABORT);
	assert_int_equal(t->epoch, 1); /* markers carry the fencing epoch */
	rn_tc_complete(t, 201);
	assert_int_equal(rn_tc_init_pid(tc, "z", 60000, -1, -1, 202, alloc, NULL, &x, &abort),
			 RN_KERR_NONE);
	assert_int_equal(t->epoch, 2);
	assert_int_equal(t->pid, pid);
	/* KIP-360: a retry naming the previous epoch gets the current one; others are fenced. */
	assert_int_equal(rn_tc_init_pid(tc, "z", 60000, pid, 1, 203, alloc, NULL, &x, &abort),
			 RN_KERR_NONE);
	assert_int_equal(t->epoch, 2);
	assert_int_equal(rn_tc_init_pid(tc, "z", 60000, pid, 0, 203, alloc, NULL, &x, &abort),
			 RN_KERR_PRODUCER_FENCED);
	/* Timeout. */
	rn_tc_add_partition(t, "t", 0, 1000);
	int hits = 0;
	rn_tc_timed_out(tc, 1000 + 60000, count_cb, &hits);
	assert_int_equal(hits, 0);
	rn_tc_timed_out(tc, 1000 + 60001, count_cb, &hits);
	assert_int_equal(hits, 1);
	assert_true(rn_tc_fence_abort(t, 70000));
	assert_int_equal(t->epoch, 3);
	assert_int_equal(t->state, RN_TXN_PREPARE_ABORT);
	assert_false(rn_tc_fence_abort(t, 70001));
	/* Timeouts beyond transaction.max.timeout.ms. */
	assert_int_equal(rn_tc_init_pid(tc, "y", 900001, -1, -1, 1, alloc, NULL, &x, &abort),
			 RN_KERR_INVALID_TRANSACTION_TIMEOUT);
	rn_tc_free(tc);
}

static void test_epoch_exhaustion(void **state)
{
	(void)state;
	struct rn_tc *tc = new_tc();
	struct rn_txn *t = init_ok(tc, "e");
	int64_t pid = t->pid;
	t->epoch = INT16_MAX - 1;
	init_ok(tc, "e");
	assert_int_not_equal(t->pid, pid);
	assert_int_equal(t->epoch, 0);
	assert_null(rn_tc_find_pid(tc, pid));
	assert_ptr_equal(rn_tc_find_pid(tc, t->pid), t);
	rn_tc_free(tc);
}

static void test_records_round_trip(void **state)
{
	(void)state;
	struct rn_tc *tc = new_tc();
	struct rn_txn *t = init_ok(tc, "r");
	rn_tc_add_partition(t, "a", 1, 10);
	rn_tc_add_partition(t, "b", 0, 10);
	rn_tc_add_partition(t, "a", 2, 10);
	rn_tc_add_group(t, "grp", 10);
	struct rn_txn_offset o = {(char *)"grp", (char *)"src", 4, 77, 3, (char *)"meta"};
	rn_tc_add_offset(t, &o);
	struct rn_buf k = {0}, v = {0};
	rn_tc_key(&k, t->id);
	rn_tc_value(&v, t);
	struct rn_tc *tc2 = new_tc();
	assert_int_equal(rn_tc_apply(tc2, k.data, (int32_t)k.len, v.data, (int32_t)v.len), 0);
	struct rn_txn *u = rn_tc_find(tc2, "r");
	assert_non_null(u);
	assert_int_equal(u->pid, t->pid);
	assert_int_equal(u->epoch, t->epoch);
	assert_int_equal(u->state, RN_TXN_ONGOING);
	assert_int_equal(u->nparts, 3);
	assert_true(rn_tc_has_partition(u, "a", 2));
	assert_true(rn_tc_has_partition(u, "b", 0));
	assert_true(rn_tc_has_group(u, "grp"));
	assert_int_equal(u->noffsets, 1);
	assert_int_equal(u->offsets[0].offset, 77);
	assert_string_equal(u->offsets[0].metadata, "meta");
	assert_ptr_equal(rn_tc_find_pid(tc2, t->pid), u);
	/* Tombstone. */
	assert_int_equal(rn_tc_apply(tc2, k.data, (int32_t)k.len, NULL, -1), 0);
	assert_null(rn_tc_find(tc2, "r"));
	assert_int_equal(rn_tc_apply(tc2, k.data, 1, NULL, -1), RN_ECORRUPT);
	rn_buf_free(&k);
	rn_buf_free(&v);
	rn_tc_free(tc);
	rn_tc_free(tc2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lifecycle),
	    cmocka_unit_test(test_fence_ongoing_and_timeout),
	    cmocka_unit_test(test_epoch_exhaustion),
	    cmocka_unit_test(test_records_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
