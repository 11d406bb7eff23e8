/* ListOffsets lookups in storage: the found batch's leader epoch, the max timestamp (KIP-734)
 * and the v0 legacy offsets by segment mtime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <sys/stat.h>
#include <utime.h>

#include "batch_builder.h"
#include "core/arena.h"
#include "core/err.h"
#include "storage/partition.h"

static int64_t append_ts(struct rn_partition *p, int64_t ts)
{
	struct rn_buf b = {0};
	bb_batch(&b, 1, ts, 300);
	struct rn_append_info info;
	assert_int_equal(rn_partition_append(p, b.data, b.len, &info), 0);
	rn_buf_free(&b);
	return info.base_offset;
}

static void test_max_timestamp_and_epochs(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c;
	rn_log_config_default(&c);
	c.segment_bytes = 1024;
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	struct rn_offset_found f;
	assert_int_equal(rn_partition_find_max_timestamp(p, &f), 0);
	assert_int_equal(f.offset, -1); /* empty log */
	assert_int_equal(f.timestamp, -1);
	append_ts(p, 1000);
	append_ts(p, 9000); /* 1: the maximum */
	assert_int_equal(rn_partition_set_leader_epoch(p, 4), 0);
	append_ts(p, 3000);
	append_ts(p, 9000); /* the maximum again: the first one wins */
	append_ts(p, 2000);
	assert_int_equal(rn_partition_find_max_timestamp(p, &f), 0);
	assert_int_equal(f.offset, 1);
	assert_int_equal(f.timestamp, 9000);
	assert_int_equal(f.leader_epoch, 0);
	assert_int_equal(rn_partition_find_offset(p, 2500, &f), 0);
	assert_int_equal(f.offset, 1);
	assert_int_equal(rn_partition_find_offset(p, 9500, &f), 0);
	assert_int_equal(f.offset, -1);
	/* the log start hides the first maximum */
	int64_t low;
	assert_int_equal(rn_partition_delete_records(p, 2, &low), 0);
	assert_int_equal(rn_partition_find_max_timestamp(p, &f), 0);
	assert_int_equal(f.offset, 3);
	assert_int_equal(f.leader_epoch, 4);
	assert_int_equal(rn_partition_find_offset(p, 1500, &f), 0);
	assert_int_equal(f.offset, 2);
	assert_int_equal(f.timestamp, 3000);
	assert_int_equal(f.leader_epoch, 4);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void set_mtime(const char *dir, int64_t base, time_t sec)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%020lld.log", dir, (long long)base);
	struct utimbuf u = {sec, sec};
	assert_int_equal(utime(path, &u), 0);
}

static void test_legacy(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c;
	rn_log_config_default(&c);
	c.segment_bytes = 1024;
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	struct rn_arena a = {0};
	int64_t *o;
	/* empty log: one segment, no tail candidate */
	assert_int_equal(rn_partition_legacy_offsets(p, -1, 5, &o, &a), 1);
	assert_int_equal(o[0], 0);
	for (int i = 0; i < 9; i++)
		append_ts(p, 1000 + i); /* ~3 batches a segment */
	assert_int_equal(rn_partition_log_end(p), 9);
	int n = rn_partition_legacy_offsets(p, -1, 100, &o, &a);
	assert_true(n >= 4);
	assert_int_equal(o[0], 9); /* the log end first */
	assert_int_equal(o[n - 1], 0);
	int64_t bases[16];
	for (int i = 0; i < n - 1; i++)
		bases[i] = o[n - 1 - i]; /* ascending segment bases */
	/* segment i modified at 1000 + 100 i seconds */
	for (int i = 0; i < n - 1; i++)
		set_mtime(dir, bases[i], 1000 + 100 * i);
	assert_int_equal(rn_partition_legacy_offsets(p, 1150 * 1000LL, 100, &o, &a), 2);
	assert_int_equal(o[0], bases[1]);
	assert_int_equal(o[1], bases[0]);
	assert_int_equal(rn_partition_legacy_offsets(p, 999 * 1000LL, 100, &o, &a), 0);
	assert_int_equal(rn_partition_legacy_offsets(p, -2, 3, &o, &a), 1);
	assert_int_equal(o[0], 0);
	assert_int_equal(rn_partition_legacy_offsets(p, -1, 2, &o, &a), 2);
	assert_int_equal(o[0], 9);
	assert_int_equal(o[1], bases[n - 2]);
	assert_int_equal(rn_partition_legacy_offsets(p, -1, 0, &o, &a), 0);
	/* the log start caps the bases below it */
	int64_t low;
	assert_int_equal(rn_partition_delete_records(p, bases[1] + 1, &low), 0);
	assert_int_equal(rn_partition_legacy_offsets(p, -2, 1, &o, &a), 1);
	assert_int_equal(o[0], bases[1] + 1);
	rn_arena_free(&a);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_max_timestamp_and_epochs),
	    cmocka_unit_test(test_legacy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
