/* Replica placement: Kafka's documented examples, and the properties on many shapes (distinct
 * brokers, distinct racks, balanced leaders and replicas, rf = brokers, CreatePartitions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "replica/controller.h"

static int mk(struct rn_broker_reg *b, const int32_t *ids, const char *const *racks, int n)
{
	for (int i = 0; i < n; i++) {
		memset(&b[i], 0, sizeof(b[i]));
		b[i].id = ids[i];
		snprintf(b[i].rack, sizeof(b[i].rack), "%s", racks ? racks[i] : "");
	}
	return n;
}

static const char *rack_of(const struct rn_broker_reg *b, int n, int32_t id)
{
	for (int i = 0; i < n; i++)
		if (b[i].id == id)
			return b[i].rack;
	fail_msg("broker %d not in the list", id);
	return "";
}

/* AdminUtils' doc example: 5 brokers, 10 partitions, rf 3, start 0. */
static void test_rack_unaware_kafka_example(void **state)
{
	(void)state;
	struct rn_broker_reg b[5];
	const int32_t ids[] = {0, 1, 2, 3, 4};
	mk(b, ids, NULL, 5);
	int32_t a[30];
	assert_int_equal(rn_placement_assign_at(b, 5, 0, 10, 3, 0, a), 0);
	const int32_t want[30] = {0, 1, 2, 1, 2, 3, 2, 3, 4, 3, 4, 0, 4, 0, 1,
				  0, 2, 3, 1, 3, 4, 2, 4, 0, 3, 0, 1, 4, 1, 2};
	assert_memory_equal(a, want, sizeof(want));
}

/* The rack-aware doc example: racks 0->r1 1->r3 2->r3 3->r2 4->r2 5->r1 alternate as
 * 0,3,1,5,4,2; partition 6 starts the shifted round (0,4,2). */
static void test_rack_aware_kafka_example(void **state)
{
	(void)state;
	struct rn_broker_reg b[6];
	const int32_t ids[] = {0, 1, 2, 3, 4, 5};
	const char *racks[] = {"rack1", "rack3", "rack3", "rack2", "rack2", "rack1"};
	mk(b, ids, racks, 6);
	int32_t a[21];
	assert_int_equal(rn_placement_assign_at(b, 6, 0, 7, 3, 0, a), 0);
	const int32_t want[21] = {0, 3, 1, 3, 1, 5, 1, 5, 4, 5, 4, 2, 4, 2, 0, 2, 0, 3, 0, 4, 2};
	assert_memory_equal(a, want, sizeof(want));
}

/* Checks every partition of an assignment: distinct brokers, racks spread as Kafka promises
 * (rf <= racks: all distinct; rf >= racks: every rack present), leaders and replicas even. */
static void check(const struct rn_broker_reg *b, int nb, int32_t npart, int32_t rf,
		  const int32_t *a, bool even_replicas)
{
	int leaders[64] = {0}, replicas[64] = {0};
	char racks[64][64];
	int nracks = 0;
	for (int i = 0; i < nb; i++) {
		bool seen = false;
		for (int r = 0; r < nracks; r++)
			seen |= strcmp(racks[r], b[i].rack) == 0;
		if (!seen)
			snprintf(racks[nracks++], 64, "%s", b[i].rack);
	}
	for (int32_t p = 0; p < npart; p++) {
		const int32_t *r = &a[p * rf];
		int distinct_racks = 0;
		for (int32_t i = 0; i < rf; i++) {
			bool new_rack = true;
			for (int32_t j = 0; j < i; j++) {
				assert_int_not_equal(r[i], r[j]);
				new_rack &= strcmp(rack_of(b, nb, r[i]), rack_of(b, nb, r[j])) != 0;
			}
			distinct_racks += new_rack;
			int k = 0;
			while (b[k].id != r[i])
				k++;
			replicas[k]++;
			leaders[k] += i == 0;
		}
		int want = rf < nracks ? rf : nracks;
		assert_int_equal(distinct_racks, want);
	}
	int lmin = 1 << 30, lmax = 0, rmin = 1 << 30, rmax = 0;
	for (int i = 0; i < nb; i++) {
		lmin = leaders[i] < lmin ? leaders[i] : lmin;
		lmax = leaders[i] > lmax ? leaders[i] : lmax;
		rmin = replicas[i] < rmin ? replicas[i] : rmin;
		rmax = replicas[i] > rmax ? replicas[i] : rmax;
	}
	assert_true(lmax - lmin <= 1);
	if (even_replicas)
		assert_true(rmax - rmin <= 1);
}

static void test_shapes_without_racks(void **state)
{
	(void)state;
	struct rn_broker_reg b[9];
	const int32_t ids[] = {7, 3, 11, 1, 5, 9, 2, 8, 4}; /* unsorted on purpose */
	int32_t a[64 * 9];
	for (int nb = 1; nb <= 9; nb++) {
		mk(b, ids, NULL, nb);
		for (int32_t rf = 1; rf <= nb; rf++) {
			for (int32_t start = -1; start < nb; start++) {
				int32_t npart = nb * 4;
				assert_int_equal(
				    rn_placement_assign_at(b, nb, 0, npart, rf, start, a), 0);
				check(b, nb, npart, rf, a, true);
			}
		}
	}
}

static void test_even_racks(void **state)
{
	(void)state;
	struct rn_broker_reg b[6];
	const int32_t ids[] = {1, 2, 3, 4, 5, 6};
	const char *racks[] = {"a", "a", "b", "b", "c", "c"};
	mk(b, ids, racks, 6);
	int32_t a[36 * 3];
	for (int32_t start = 0; start < 6; start++) {
		assert_int_equal(rn_placement_assign_at(b, 6, 0, 36, 3, start, a), 0);
		check(b, 6, 36, 3, a, true);
	}
	/* rf 2 < 3 racks: two distinct racks per partition. */
	assert_int_equal(rn_placement_assign(b, 6, 0, 12, 2, a), 0);
	check(b, 6, 12, 2, a, false);
}

/* One rack holds 3 brokers, the other 1: with rf 2 every partition has the lone broker. */
static void test_uneven_racks(void **state)
{
	(void)state;
	struct rn_broker_reg b[4];
	const int32_t ids[] = {1, 2, 3, 4};
	const char *racks[] = {"big", "big", "big", "small"};
	mk(b, ids, racks, 4);
	int32_t a[16 * 3];
	assert_int_equal(rn_placement_assign_at(b, 4, 0, 16, 2, 0, a), 0);
	for (int p = 0; p < 16; p++)
		assert_true(a[p * 2] == 4 || a[p * 2 + 1] == 4);
	check(b, 4, 16, 2, a, false);
	/* rf 3 > 2 racks: both racks in every partition, still distinct brokers. */
	assert_int_equal(rn_placement_assign_at(b, 4, 0, 16, 3, 1, a), 0);
	check(b, 4, 16, 3, a, false);
}

/* Brokers without broker.rack next to brokers with one form a rack of their own. */
static void test_mixed_racks(void **state)
{
	(void)state;
	struct rn_broker_reg b[3];
	const int32_t ids[] = {1, 2, 3};
	const char *racks[] = {"a", "", "a"};
	mk(b, ids, racks, 3);
	int32_t a[6 * 2];
	assert_int_equal(rn_placement_assign_at(b, 3, 0, 6, 2, 0, a), 0);
	for (int p = 0; p < 6; p++)
		assert_true(a[p * 2] == 2 || a[p * 2 + 1] == 2);
	check(b, 3, 6, 2, a, false);
}

static void test_rf_equals_brokers(void **state)
{
	(void)state;
	struct rn_broker_reg b[3];
	const int32_t ids[] = {1, 2, 3};
	const char *racks[] = {"x", "y", "z"};
	for (int withracks = 0; withracks < 2; withracks++) {
		mk(b, ids, withracks ? racks : NULL, 3);
		int32_t a[9 * 3];
		assert_int_equal(rn_placement_assign(b, 3, 0, 9, 3, a), 0);
		for (int p = 0; p < 9; p++) {
			int32_t sum = a[p * 3] + a[p * 3 + 1] + a[p * 3 + 2];
			assert_int_equal(sum, 6);
		}
		check(b, 3, 9, 3, a, true);
	}
}

static void test_invalid(void **state)
{
	(void)state;
	struct rn_broker_reg b[2];
	const int32_t ids[] = {1, 2};
	mk(b, ids, NULL, 2);
	int32_t a[8];
	assert_int_equal(rn_placement_assign(b, 2, 0, 1, 3, a), RN_EINVALID);
	assert_int_equal(rn_placement_assign(b, 2, 0, 1, 0, a), RN_EINVALID);
	assert_int_equal(rn_placement_assign(b, 0, 0, 1, 1, a), RN_EINVALID);
	assert_int_equal(rn_placement_assign(b, 2, 0, 0, 1, a), 0);
}

/* CreatePartitions: partitions [first, first + n) placed alone equal the same partitions of
 * the whole assignment (same start), so a topic grows along its round robin. */
static void test_added_partitions_continue(void **state)
{
	(void)state;
	struct rn_broker_reg b[5];
	const int32_t ids[] = {10, 20, 30, 40, 50};
	const char *racks[] = {"a", "b", "a", "b", "c"};
	for (int withracks = 0; withracks < 2; withracks++) {
		mk(b, ids, withracks ? racks : NULL, 5);
		int32_t all[12 * 3], tail[9 * 3];
		assert_int_equal(rn_placement_assign_at(b, 5, 0, 12, 3, 2, all), 0);
		assert_int_equal(rn_placement_assign_at(b, 5, 3, 2, 3, 2, tail), 0);
		assert_memory_equal(tail, &all[3 * 3], 2 * 3 * sizeof(int32_t));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rack_unaware_kafka_example),
	    cmocka_unit_test(test_rack_aware_kafka_example),
	    cmocka_unit_test(test_shapes_without_racks),
	    cmocka_unit_test(test_even_racks),
	    cmocka_unit_test(test_uneven_racks),
	    cmocka_unit_test(test_mixed_racks),
	    cmocka_unit_test(test_rf_equals_brokers),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_added_partitions_continue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
