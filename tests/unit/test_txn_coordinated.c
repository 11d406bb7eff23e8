/* Which internal-topic partitions a broker coordinates (group/parts.c, Kafka's
 * ownedPartitions/loadingPartitions/epochForPartitionId), and moving a partition's groups and
 * transactions loaded into a scratch coordinator into the live one (rn_gc_adopt,
 * rn_tc_adopt), and the transaction coordinator's lookup hook (owns). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "group/group.h"
#include "group/parts.h"
#include "proto/kerr.h"
#include "txn/txn.h"

static void test_single_broker_owns_all(void **state)
{
	(void)state;
	struct rn_gc_parts t;
	rn_gc_parts_init(&t, 3, true);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rn_gc_parts_status(&t, i), RN_KERR_NONE);
	assert_int_equal(rn_gc_parts_status(&t, 3), RN_KERR_NOT_COORDINATOR);
	assert_int_equal(rn_gc_parts_status(&t, -1), RN_KERR_NOT_COORDINATOR);
	rn_gc_parts_free(&t);
}

static void test_lead_load_resign(void **state)
{
	(void)state;
	struct rn_gc_parts t;
	rn_gc_parts_init(&t, 2, false);
	assert_int_equal(rn_gc_parts_status(&t, 0), RN_KERR_NOT_COORDINATOR);
	uint64_t g = rn_gc_parts_lead(&t, 0, 4);
	assert_true(g != 0);
	assert_int_equal(rn_gc_parts_status(&t, 0), RN_KERR_COORDINATOR_LOAD_IN_PROGRESS);
	assert_int_equal(rn_gc_parts_epoch(&t, 0), -1); /* not owned yet */
	/* The same epoch again (a duplicate event) or an older one: ignored. */
	assert_int_equal(rn_gc_parts_lead(&t, 0, 4), 0);
	assert_int_equal(rn_gc_parts_lead(&t, 0, 3), 0);
	assert_true(rn_gc_parts_loaded(&t, 0, g));
	assert_int_equal(rn_gc_parts_status(&t, 0), RN_KERR_NONE);
	assert_int_equal(rn_gc_parts_epoch(&t, 0), 4);
	assert_false(rn_gc_parts_loaded(&t, 0, g)); /* only once */
	/* A resignation from an older epoch is late: ignored. */
	assert_false(rn_gc_parts_resign(&t, 0, 3));
	assert_true(rn_gc_parts_owned(&t, 0));
	assert_true(rn_gc_parts_resign(&t, 0, 5));
	assert_int_equal(rn_gc_parts_status(&t, 0), RN_KERR_NOT_COORDINATOR);
	assert_false(rn_gc_parts_resign(&t, 0, 5)); /* nothing left to drop */
	/* A late election in an epoch older than the one another broker leads in. */
	assert_int_equal(rn_gc_parts_lead(&t, 0, 4), 0);
	assert_true(rn_gc_parts_lead(&t, 0, 6) != 0);
	/* Out of range. */
	assert_int_equal(rn_gc_parts_lead(&t, 2, 1), 0);
	assert_false(rn_gc_parts_resign(&t, 7, 1));
	rn_gc_parts_free(&t);
}

static void test_stale_load_is_dropped(void **state)
{
	(void)state;
	struct rn_gc_parts t;
	rn_gc_parts_init(&t, 1, false);
	uint64_t g1 = rn_gc_parts_lead(&t, 0, 1);
	/* Resigned while loading: the load's result must go. */
	assert_true(rn_gc_parts_resign(&t, 0, 2));
	assert_false(rn_gc_parts_loaded(&t, 0, g1));
	/* Led again in a newer epoch while the first load still runs. */
	uint64_t g2 = rn_gc_parts_lead(&t, 0, 3);
	uint64_t g3 = rn_gc_parts_lead(&t, 0, 4);
	assert_true(g2 && g3 && g2 != g3);
	assert_false(rn_gc_parts_loaded(&t, 0, g2));
	assert_true(rn_gc_parts_loaded(&t, 0, g3));
	assert_int_equal(rn_gc_parts_epoch(&t, 0), 4);
	rn_gc_parts_free(&t);
}

static void test_events_queue(void **state)
{
	(void)state;
	struct rn_gc_part_events q = {0}, out;
	for (int i = 0; i < 40; i++)
		rn_gc_part_events_push(&q, i, i % 2 == 0, i + 1);
	rn_gc_part_events_take(&q, &out);
	assert_int_equal(q.n, 0);
	assert_null(q.v);
	assert_int_equal(out.n, 40);
	assert_int_equal(out.v[39].idx, 39);
	assert_false(out.v[39].leader);
	assert_int_equal(out.v[38].epoch, 39);
	/* Kept for later from index 38 on, ahead of one queued since. */
	rn_gc_part_events_push(&q, 99, true, 7);
	rn_gc_part_events_requeue(&q, &out, 38);
	free(out.v);
	rn_gc_part_events_take(&q, &out);
	assert_int_equal(out.n, 3);
	assert_int_equal(out.v[0].idx, 38);
	assert_int_equal(out.v[1].idx, 39);
	assert_int_equal(out.v[2].idx, 99);
	free(out.v);
}

static void test_gc_adopt(void **state)
{
	(void)state;
	struct rn_gc_config cfg;
	rn_gc_config_default(&cfg);
	struct rn_gc_hooks hooks = {0};
	struct rn_gc *live = rn_gc_new(&cfg, &hooks), *scratch = rn_gc_new(&cfg, &hooks);
	struct rn_gc_offset o = {.offset = 7, .leader_epoch = -1, .commit_ts = 1, .expire_ts = -1};
	rn_gc_offset_set(rn_gc_group_get_or_create(live, "kept", 1), "t", 0, &o);
	rn_gc_group_get_or_create(live, "replaced", 1);
	char id[32];
	for (int i = 0; i < 200; i++) { /* enough to grow the live table */
		snprintf(id, sizeof(id), "g%d", i);
		rn_gc_group_get_or_create(scratch, id, 1);
	}
	o.offset = 9;
	rn_gc_offset_set(rn_gc_group_get_or_create(scratch, "replaced", 1), "t", 1, &o);
	assert_int_equal(rn_gc_adopt(live, scratch), 201);
	assert_int_equal(rn_gc_ngroups(scratch), 0);
	assert_int_equal(rn_gc_ngroups(live), 202);
	assert_int_equal(rn_gc_offset_get(rn_gc_group(live, "kept"), "t", 0)->offset, 7);
	assert_int_equal(rn_gc_offset_get(rn_gc_group(live, "replaced"), "t", 1)->offset, 9);
	assert_non_null(rn_gc_group(live, "g199"));
	assert_null(rn_gc_group(scratch, "g0"));
	rn_gc_free(scratch);
	rn_gc_free(live);
}

static int64_t next_pid = 100;

static int alloc(void *arg, int64_t *pid)
{
	(void)arg;
	*pid = next_pid++;
	return 0;
}

static int16_t owns(void *arg, const char *id)
{
	(void)arg;
	if (id[0] == 'x')
		return RN_KERR_NOT_COORDINATOR;
	return id[0] == 'l' ? RN_KERR_COORDINATOR_LOAD_IN_PROGRESS : RN_KERR_NONE;
}

static void test_tc_owns_and_adopt(void **state)
{
	(void)state;
	struct rn_tc_config c = {
	    .max_timeout_ms = 900000, .id_expiration_ms = 604800000, .owns = owns};
	struct rn_tc *live = rn_tc_new(&c), *scratch = rn_tc_new(&c);
	struct rn_txn *t;
	bool abort;
	assert_int_equal(rn_tc_init_pid(live, "x1", 60000, -1, -1, 1, alloc, NULL, &t, &abort),
			 RN_KERR_NOT_COORDINATOR);
	assert_int_equal(rn_tc_count(live), 0); /* no entry created for another's id */
	assert_int_equal(rn_tc_init_pid(live, "l1", 60000, -1, -1, 1, alloc, NULL, &t, &abort),
			 RN_KERR_COORDINATOR_LOAD_IN_PROGRESS);
	assert_int_equal(rn_tc_check(live, "x1", 1, 0, RN_KERR_PRODUCER_FENCED, &t),
			 RN_KERR_NOT_COORDINATOR);
	assert_null(t);
	assert_int_equal(rn_tc_end(live, "x1", 1, 0, true, 90, 1, &t), RN_KERR_NOT_COORDINATOR);
	assert_int_equal(rn_tc_init_pid(live, "a", 60000, -1, -1, 1, alloc, NULL, &t, &abort),
			 RN_KERR_NONE);
	int64_t old_pid = t->pid;
	assert_int_equal(rn_tc_init_pid(scratch, "a", 60000, -1, -1, 1, alloc, NULL, &t, &abort),
			 RN_KERR_NONE);
	int64_t new_pid = t->pid;
	assert_int_equal(rn_tc_init_pid(scratch, "b", 60000, -1, -1, 1, alloc, NULL, &t, &abort),
			 RN_KERR_NONE);
	assert_int_equal(rn_tc_adopt(live, scratch), 2);
	assert_int_equal(rn_tc_count(live), 2);
	assert_int_equal(rn_tc_count(scratch), 0);
	assert_null(rn_tc_find_pid(scratch, new_pid));
	assert_int_equal(rn_tc_find(live, "a")->pid, new_pid);
	assert_ptr_equal(rn_tc_find_pid(live, new_pid), rn_tc_find(live, "a"));
	assert_null(rn_tc_find_pid(live, old_pid));
	assert_non_null(rn_tc_find(live, "b"));
	rn_tc_free(scratch);
	rn_tc_free(live);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_broker_owns_all),
	    cmocka_unit_test(test_lead_load_resign),
	    cmocka_unit_test(test_stale_load_is_dropped),
	    cmocka_unit_test(test_events_queue),
	    cmocka_unit_test(test_gc_adopt),
	    cmocka_unit_test(test_tc_owns_and_adopt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
