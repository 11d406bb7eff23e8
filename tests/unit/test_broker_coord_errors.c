/* What clients get when a coordinator write or a transaction marker fails (Kafka's
 * GroupMetadataManager, TransactionStateManager and TransactionMarkerRequestCompletionHandler
 * mappings; broker/coord_wait.c, broker/txn_markers.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "broker/coord_wait.h"
#include "broker/txn_markers.h"
#include "proto/kerr.h"

static void test_commit_errors(void **state)
{
	(void)state;
	assert_int_equal(rn_coord_commit_error(RN_KERR_NONE, true), RN_KERR_NONE);
	assert_int_equal(rn_coord_commit_error(RN_KERR_NOT_ENOUGH_REPLICAS, true),
			 RN_KERR_COORDINATOR_NOT_AVAILABLE);
	assert_int_equal(rn_coord_commit_error(RN_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, true),
			 RN_KERR_COORDINATOR_NOT_AVAILABLE);
	assert_int_equal(rn_coord_commit_error(RN_KERR_UNKNOWN_TOPIC_OR_PARTITION, true),
			 RN_KERR_COORDINATOR_NOT_AVAILABLE);
	assert_int_equal(rn_coord_commit_error(RN_KERR_NOT_LEADER_OR_FOLLOWER, true),
			 RN_KERR_NOT_COORDINATOR);
	assert_int_equal(rn_coord_commit_error(RN_KERR_KAFKA_STORAGE_ERROR, true),
			 RN_KERR_NOT_COORDINATOR);
	assert_int_equal(rn_coord_commit_error(RN_KERR_KAFKA_STORAGE_ERROR, false),
			 RN_KERR_COORDINATOR_NOT_AVAILABLE);
	assert_int_equal(rn_coord_commit_error(RN_KERR_MESSAGE_TOO_LARGE, true),
			 RN_KERR_INVALID_COMMIT_OFFSET_SIZE);
	/* Kafka passes the rest on, a timeout included. */
	assert_int_equal(rn_coord_commit_error(RN_KERR_REQUEST_TIMED_OUT, true),
			 RN_KERR_REQUEST_TIMED_OUT);
	assert_int_equal(rn_coord_commit_error(RN_KERR_INVALID_PRODUCER_EPOCH, true),
			 RN_KERR_INVALID_PRODUCER_EPOCH);
}

static void test_txn_errors(void **state)
{
	(void)state;
	assert_int_equal(rn_coord_txn_error(RN_KERR_NONE, true), RN_KERR_NONE);
	assert_int_equal(rn_coord_txn_error(RN_KERR_REQUEST_TIMED_OUT, true),
			 RN_KERR_COORDINATOR_NOT_AVAILABLE);
	assert_int_equal(rn_coord_txn_error(RN_KERR_NOT_ENOUGH_REPLICAS, true),
			 RN_KERR_COORDINATOR_NOT_AVAILABLE);
	assert_int_equal(rn_coord_txn_error(RN_KERR_NOT_LEADER_OR_FOLLOWER, true),
			 RN_KERR_NOT_COORDINATOR);
	assert_int_equal(rn_coord_txn_error(RN_KERR_KAFKA_STORAGE_ERROR, false), RN_KERR_NONE);
	assert_int_equal(rn_coord_txn_error(RN_KERR_CORRUPT_MESSAGE, true),
			 RN_KERR_UNKNOWN_SERVER_ERROR);
}

static void test_marker_answers(void **state)
{
	(void)state;
	assert_true(rn_txn_marker_final(RN_KERR_NONE));
	assert_false(rn_txn_marker_final(-1)); /* no answer: the connection failed */
	assert_false(rn_txn_marker_final(RN_KERR_NOT_LEADER_OR_FOLLOWER));
	assert_false(rn_txn_marker_final(RN_KERR_NOT_ENOUGH_REPLICAS));
	assert_false(rn_txn_marker_final(RN_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND));
	assert_false(rn_txn_marker_final(RN_KERR_REQUEST_TIMED_OUT));
	assert_false(rn_txn_marker_final(RN_KERR_UNKNOWN_TOPIC_OR_PARTITION));
	assert_false(rn_txn_marker_final(RN_KERR_KAFKA_STORAGE_ERROR));
	assert_true(rn_txn_marker_final(RN_KERR_INVALID_PRODUCER_EPOCH));
	assert_true(rn_txn_marker_final(RN_KERR_TRANSACTION_COORDINATOR_FENCED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commit_errors),
	    cmocka_unit_test(test_txn_errors),
	    cmocka_unit_test(test_marker_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
