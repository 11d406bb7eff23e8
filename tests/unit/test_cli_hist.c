/* Percentiles of the bench latency histogram against exact answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cli/hist.h"

/* Reported values may exceed the exact one by the bucket width: at most 1/128 relative. */
static void assert_close(int64_t got, int64_t want)
{
	int64_t tol = want / 128 + 1;
	if (got < want || got > want + tol)
		fail_msg("got %lld, want %lld (+%lld)", (long long)got, (long long)want,
			 (long long)tol);
}

static void test_empty(void **state)
{
	(void)state;
	struct rn_cli_hist *h = malloc(sizeof(*h));
	rn_cli_hist_init(h);
	assert_int_equal(rn_cli_hist_percentile(h, 50), 0);
	assert_true(rn_cli_hist_mean(h) == 0.0);
	free(h);
}

/* 1..100000 us uniformly: the p-th percentile is p% of 100000. */
static void test_uniform(void **state)
{
	(void)state;
	struct rn_cli_hist *h = malloc(sizeof(*h));
	rn_cli_hist_init(h);
	for (int64_t v = 1; v <= 100000; v++)
		rn_cli_hist_record(h, v);
	assert_int_equal(h->count, 100000);
	assert_close(rn_cli_hist_percentile(h, 50), 50000);
	assert_close(rn_cli_hist_percentile(h, 99), 99000);
	assert_close(rn_cli_hist_percentile(h, 99.9), 99900);
	assert_int_equal(rn_cli_hist_percentile(h, 100), 100000);
	assert_int_equal(rn_cli_hist_percentile(h, 0), 1);
	assert_true(rn_cli_hist_mean(h) > 50000.0 && rn_cli_hist_mean(h) < 50001.0);
	free(h);
}

/* Small values are exact; the top percentile is the exact maximum, not a bucket edge. */
static void test_exact_small_and_max(void **state)
{
	(void)state;
	struct rn_cli_hist *h = malloc(sizeof(*h));
	rn_cli_hist_init(h);
	for (int i = 0; i < 990; i++)
		rn_cli_hist_record(h, 120);
	for (int i = 0; i < 9; i++)
		rn_cli_hist_record(h, 2000);
	rn_cli_hist_record(h, 123457);
	assert_int_equal(rn_cli_hist_percentile(h, 50), 120);
	assert_int_equal(rn_cli_hist_percentile(h, 99), 120);
	assert_close(rn_cli_hist_percentile(h, 99.9), 2000);
	assert_int_equal(rn_cli_hist_percentile(h, 99.99), 123457);
	assert_int_equal(h->max, 123457);
	assert_int_equal(h->min, 120);
	free(h);
}

/* Out-of-range values: negatives count as 0, huge ones land in the top bucket. */
static void test_range(void **state)
{
	(void)state;
	struct rn_cli_hist *h = malloc(sizeof(*h));
	rn_cli_hist_init(h);
	rn_cli_hist_record(h, -5);
	rn_cli_hist_record(h, 3600LL * 1000000);
	assert_int_equal(rn_cli_hist_percentile(h, 50), 0);
	assert_int_equal(rn_cli_hist_percentile(h, 100), 3600LL * 1000000);
	assert_int_equal(h->count, 2);
	free(h);
}

/* Every value maps into a bucket whose reported value is within the error bound. */
static void test_error_bound(void **state)
{
	(void)state;
	struct rn_cli_hist *h = malloc(sizeof(*h));
	for (int64_t v = 1; v <= RN_CLI_HIST_MAX_US; v = v * 3 / 2 + 1) {
		rn_cli_hist_init(h);
		rn_cli_hist_record(h, v);
		rn_cli_hist_record(h, RN_CLI_HIST_MAX_US);
		assert_close(rn_cli_hist_percentile(h, 50), v);
	}
	free(h);
}

static void test_merge(void **state)
{
	(void)state;
	struct rn_cli_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	rn_cli_hist_init(a);
	rn_cli_hist_init(b);
	for (int i = 0; i < 50; i++)
		rn_cli_hist_record(a, 10);
	for (int i = 0; i < 50; i++)
		rn_cli_hist_record(b, 1000);
	rn_cli_hist_merge(a, b);
	assert_int_equal(a->count, 100);
	assert_int_equal(rn_cli_hist_percentile(a, 50), 10);
	assert_close(rn_cli_hist_percentile(a, 51), 1000);
	assert_int_equal(a->max, 1000);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_uniform),
	    cmocka_unit_test(test_exact_small_and_max),
	    cmocka_unit_test(test_range),
	    cmocka_unit_test(test_error_bound),
	    cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
