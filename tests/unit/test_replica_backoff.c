/* How long a follower partition waits after a fetch error: replica.fetch.backoff.ms, but only
 * a short retry while the new leader has not applied its own leadership yet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/kerr.h"
#include "replica/follower_int.h"

static void test_backoff_by_error(void **state)
{
	(void)state;
	struct rn_replica_mgr mgr = {.cfg = {.fetch_backoff_ms = 1000}};
	struct rn_fetcher f = {.mgr = &mgr};
	struct rn_replica_part rp = {0};
	rn__fetch_backoff_err(&f, &rp, RN_KERR_UNKNOWN_LEADER_EPOCH, 5000);
	assert_int_equal(rp.fetch_delay_until, 5000 + RN__LEADER_CATCHUP_MS);
	rn__fetch_backoff_err(&f, &rp, RN_KERR_NOT_LEADER_OR_FOLLOWER, 5000);
	assert_int_equal(rp.fetch_delay_until, 5000 + RN__LEADER_CATCHUP_MS);
	rn__fetch_backoff_err(&f, &rp, RN_KERR_FENCED_LEADER_EPOCH, 5000);
	assert_int_equal(rp.fetch_delay_until, 6000);
	rn__fetch_backoff_err(&f, &rp, RN_KERR_KAFKA_STORAGE_ERROR, 5000);
	assert_int_equal(rp.fetch_delay_until, 6000);
	/* A configured backoff shorter than the catch-up retry is kept. */
	mgr.cfg.fetch_backoff_ms = 20;
	rn__fetch_backoff_err(&f, &rp, RN_KERR_UNKNOWN_LEADER_EPOCH, 5000);
	assert_int_equal(rp.fetch_delay_until, 5020);
}

static void test_error_names(void **state)
{
	(void)state;
	assert_string_equal(rn__kerr_name(RN_KERR_FENCED_LEADER_EPOCH), "FENCED_LEADER_EPOCH");
	assert_string_equal(rn__kerr_name(RN_KERR_UNKNOWN_LEADER_EPOCH), "UNKNOWN_LEADER_EPOCH");
	assert_string_equal(rn__kerr_name(RN_KERR_NOT_LEADER_OR_FOLLOWER),
			    "NOT_LEADER_OR_FOLLOWER");
	assert_string_equal(rn__kerr_name(9999), "error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_by_error),
	    cmocka_unit_test(test_error_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
