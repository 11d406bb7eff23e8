/* Transactions in a partition: the last stable offset, the aborted-transaction index that
 * read_committed fetches report, markers fencing older epochs, control batches refused from
 * clients, and the rebuild of all of it after a clean stop and after a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "batch_builder.h"
#include "core/arena.h"
#include "core/err.h"
#include "storage/partition.h"

static struct rn_log_config small_cfg(void)
{
	struct rn_log_config c;
	rn_log_config_default(&c);
	c.segment_bytes = 4096;
	c.index_interval_bytes = 512;
	c.segment_index_bytes = 4096;
	return c;
}

/* Appends a transactional batch of n records; returns its base offset. */
static int64_t put_txn(struct rn_partition *p, int n, int64_t pid, int16_t epoch, int32_t seq)
{
	struct rn_buf b = {0};
	bb_batch(&b, n, 1000, 100);
	uint8_t *d = b.data;
	d[RN_BATCH_OFF_ATTRIBUTES + 1] |= RN_BATCH_ATTR_TRANSACTIONAL;
	rn_put_be64(d + RN_BATCH_OFF_PRODUCER_ID, (uint64_t)pid);
	d[RN_BATCH_OFF_PRODUCER_EPOCH] = (uint8_t)((uint16_t)epoch >> 8);
	d[RN_BATCH_OFF_PRODUCER_EPOCH + 1] = (uint8_t)epoch;
	rn_put_be32(d + RN_BATCH_OFF_BASE_SEQUENCE, (uint32_t)seq);
	rn_put_be32(d + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, d + RN_BATCH_OFF_ATTRIBUTES, b.len - RN_BATCH_OFF_ATTRIBUTES));
	struct rn_append_info ai;
	int rc = rn_partition_append(p, b.data, b.len, &ai);
	rn_buf_free(&b);
	assert_int_equal(rc, 0);
	return ai.base_offset;
}

static int64_t put_plain(struct rn_partition *p, int n)
{
	struct rn_buf b = {0};
	bb_batch(&b, n, 1000, 100);
	struct rn_append_info ai;
	assert_int_equal(rn_partition_append(p, b.data, b.len, &ai), 0);
	rn_buf_free(&b);
	return ai.base_offset;
}

static int64_t marker(struct rn_partition *p, int64_t pid, int16_t epoch, bool commit)
{
	struct rn_append_info ai;
	assert_int_equal(rn_partition_append_marker(p, pid, epoch, commit, 7, &ai), 0);
	assert_int_equal(ai.base_offset, ai.last_offset);
	return ai.base_offset;
}

static struct rn_partition *open_dir(const char *dir, bool create)
{
	struct rn_log_config c = small_cfg();
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, create, &p), 0);
	return p;
}

static int aborted(struct rn_partition *p, int64_t from, int64_t upto, struct rn_aborted_txn **a,
		   struct rn_arena *ar)
{
	return rn_partition_aborted_txns(p, from, upto, a, ar);
}

static void test_lso_and_aborted_index(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_partition *p = open_dir(dir, true);
	struct rn_arena ar = {0};
	struct rn_aborted_txn *a;
	assert_int_equal(put_plain(p, 2), 0);
	assert_int_equal(rn_partition_last_stable(p), 2);
	int64_t t1 = put_txn(p, 3, 10, 0, 0); /* 2..4 */
	int64_t t2 = put_txn(p, 1, 11, 0, 0); /* 5 */
	assert_int_equal(t1, 2);
	assert_int_equal(rn_partition_last_stable(p), 2);
	put_txn(p, 1, 10, 0, 3); /* 6: same transaction */
	assert_int_equal(marker(p, 10, 0, false), 7);
	/* The oldest open one is now pid 11's. */
	assert_int_equal(rn_partition_last_stable(p), t2);
	assert_int_equal(aborted(p, 0, 100, &a, &ar), 1);
	assert_int_equal(a[0].pid, 10);
	assert_int_equal(a[0].first_offset, 2);
	assert_int_equal(a[0].last_offset, 7);
	assert_int_equal(a[0].lso, t2);
	/* Outside the range: marker before from, or first offset at/after upto. */
	assert_int_equal(aborted(p, 8, 100, &a, &ar), 0);
	assert_int_equal(aborted(p, 0, 2, &a, &ar), 0);
	assert_int_equal(marker(p, 11, 0, true), 8);
	assert_int_equal(rn_partition_last_stable(p), 9);
	assert_int_equal(aborted(p, 0, 100, &a, &ar), 1);

	/* read_committed stops at the LSO. */
	put_txn(p, 2, 12, 0, 0); /* 9..10 */
	put_plain(p, 1);         /* 11 */
	struct rn_read_info ri;
	assert_int_equal(rn_partition_read_committed(p, 0, 1 << 20, true, &ri), 0);
	assert_int_equal(ri.last_stable_offset, 9);
	assert_int_equal(ri.high_watermark, 12);
	assert_int_equal(ri.next_offset, 9);
	rn_fileref_put(ri.file);
	assert_int_equal(rn_partition_read_committed(p, 10, 1 << 20, true, &ri), 0);
	assert_int_equal(ri.len, 0);
	assert_int_equal(rn_partition_read(p, 0, 1 << 20, true, &ri), 0);
	assert_int_equal(ri.next_offset, 12);
	rn_fileref_put(ri.file);

	/* A marker fences the older epoch: pid 12 bumped to 1 by the coordinator. */
	assert_int_equal(marker(p, 12, 1, false), 12);
	struct rn_buf b = {0};
	bb_batch(&b, 1, 1000, 10);
	uint8_t *d = b.data;
	rn_put_be64(d + RN_BATCH_OFF_PRODUCER_ID, 12);
	rn_put_be32(d + RN_BATCH_OFF_BASE_SEQUENCE, 2);
	rn_put_be32(d + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, d + RN_BATCH_OFF_ATTRIBUTES, b.len - RN_BATCH_OFF_ATTRIBUTES));
	struct rn_append_info ai;
	assert_int_equal(rn_partition_append(p, b.data, b.len, &ai), RN_EPRODUCER_EPOCH);
	/* Control batches come only from the coordinator. */
	rn_buf_reset(&b);
	bb_batch(&b, 1, 1000, 10);
	b.data[RN_BATCH_OFF_ATTRIBUTES + 1] |= RN_BATCH_ATTR_CONTROL;
	rn_put_be32(b.data + RN_BATCH_OFF_CRC, rn_crc32c(0, b.data + RN_BATCH_OFF_ATTRIBUTES,
							 b.len - RN_BATCH_OFF_ATTRIBUTES));
	assert_int_equal(rn_partition_append(p, b.data, b.len, &ai), RN_EINVALID);
	rn_buf_free(&b);
	assert_int_equal(aborted(p, 0, 100, &a, &ar), 2);
	assert_int_equal(rn_partition_last_stable(p), 13);
	rn_partition_close(p);
	rn_arena_free(&ar);
	bb_rmrf(dir);
	free(dir);
}

/* Rebuild: open transactions and aborted entries survive a clean stop (snapshot + .txnindex)
 * and a crash (replay of the log after the last roll snapshot), across segment rolls. */
static void rebuild(bool clean)
{
	char *dir = bb_tmpdir();
	struct rn_partition *p = open_dir(dir, true);
	struct rn_arena ar = {0};
	struct rn_aborted_txn *a;
	int32_t seq = 0;
	for (int i = 0; i < 30; i++) { /* several segments of aborted transactions */
		put_txn(p, 2, 20, 0, seq);
		seq += 2;
		marker(p, 20, 0, i % 2 == 0 ? false : true);
	}
	int64_t open_at = put_txn(p, 1, 21, 0, 0);
	put_plain(p, 3);
	int n = aborted(p, 0, INT64_MAX, &a, &ar);
	assert_int_equal(n, 15);
	int64_t lso = rn_partition_last_stable(p);
	assert_int_equal(lso, open_at);
	if (!clean) {
		/* Crash: as if the shutdown snapshot had never been written, so the open replays
		 * the log after the last roll snapshot. */
		rn_partition_close(p);
		char cmd[4096];
		snprintf(cmd, sizeof(cmd), "rm -f %s/*%020lld.snapshot", dir,
			 (long long)(open_at + 4));
		assert_int_equal(system(cmd), 0);
	} else {
		rn_partition_close(p);
	}
	p = open_dir(dir, false);
	assert_int_equal(rn_partition_last_stable(p), open_at);
	struct rn_aborted_txn *b;
	assert_int_equal(aborted(p, 0, INT64_MAX, &b, &ar), 15);
	/* Same entries as before. */
	for (int i = 0; i < 15; i++) {
		assert_int_equal(b[i].pid, 20);
		assert_int_equal(b[i].last_offset - b[i].first_offset, 2);
	}
	int64_t m = marker(p, 21, 0, true);
	assert_int_equal(m, rn_partition_log_end(p) - 1);
	assert_int_equal(rn_partition_last_stable(p), rn_partition_log_end(p));
	rn_partition_close(p);
	rn_arena_free(&ar);
	bb_rmrf(dir);
	free(dir);
}

static void test_rebuild_clean(void **state)
{
	(void)state;
	rebuild(true);
}

static void test_rebuild_crash(void **state)
{
	(void)state;
	rebuild(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lso_and_aborted_index),
	    cmocka_unit_test(test_rebuild_clean),
	    cmocka_unit_test(test_rebuild_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
