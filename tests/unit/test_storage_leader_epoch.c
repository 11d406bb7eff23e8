/* Leader-epoch cache: end offsets as Kafka's LeaderEpochFileCache.endOffsetFor, persistence,
 * truncation from the start (DeleteRecords) and the end (recovery), epochs learned from
 * batches when the checkpoint is behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_builder.h"
#include "core/err.h"
#include "storage/partition.h"

static void append_n(struct rn_partition *p, int n)
{
	for (int i = 0; i < n; i++) {
		struct rn_buf b = {0};
		bb_batch(&b, 1, 1000 + i, 10);
		struct rn_append_info info;
		assert_int_equal(rn_partition_append(p, b.data, b.len, &info), 0);
		rn_buf_free(&b);
	}
}

static void expect(struct rn_partition *p, int32_t req, int32_t epoch, int64_t end)
{
	int32_t e;
	int64_t o;
	rn_partition_epoch_end_offset(p, req, &e, &o);
	if (e != epoch || o != end)
		fail_msg("epoch %d: got (%d, %lld), want (%d, %lld)", req, e, (long long)o, epoch,
			 (long long)end);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_end_offsets(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c;
	rn_log_config_default(&c);
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	expect(p, 0, -1, -1); /* empty cache */
	assert_int_equal(rn_partition_become_leader(p), 0);
	append_n(p, 3); /* 0..2 at epoch 0 */
	expect(p, 0, 0, 3);
	assert_int_equal(rn_partition_set_leader_epoch(p, 2), 0);
	append_n(p, 2); /* 3..4 at epoch 2 */
	assert_int_equal(rn_partition_become_leader(p), 3);
	append_n(p, 1); /* 5 at epoch 3 */
	expect(p, -1, -1, -1);
	expect(p, 0, 0, 3);
	expect(p, 1, 0, 3); /* unknown epoch between two: the one below, ending at the next */
	expect(p, 2, 2, 5);
	expect(p, 3, 3, 6); /* current: the log end */
	expect(p, 4, -1, -1);
	assert_int_equal(rn_partition_earliest_epoch(p), 0);
	rn_partition_close(p);

	/* persisted at close */
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, false, &p), 0);
	assert_int_equal(rn_partition_leader_epoch(p), 3);
	expect(p, 1, 0, 3);
	expect(p, 3, 3, 6);
	assert_int_equal(rn_partition_become_leader(p), 4); /* at 6 */
	expect(p, 3, 3, 6);
	expect(p, 4, 4, 6);

	/* DeleteRecords to 4: the epoch covering it starts there; older ones are unknown */
	int64_t low;
	assert_int_equal(rn_partition_delete_records(p, 4, &low), 0);
	assert_int_equal(low, 4);
	expect(p, 0, 0, 4);
	expect(p, 1, 1, 4);
	expect(p, 2, 2, 5);
	assert_int_equal(rn_partition_earliest_epoch(p), 2);
	rn_partition_close(p);
	assert_int_equal(rn_partition_open(dir, &c, -1, 4, false, &p), 0);
	expect(p, 1, 1, 4);
	expect(p, 2, 2, 5);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_recovery(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c;
	rn_log_config_default(&c);
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	append_n(p, 2); /* 0..1 at epoch 0 (the first append makes the entry) */
	assert_int_equal(rn_partition_set_leader_epoch(p, 1), 0);
	append_n(p, 2); /* 2..3 */
	assert_int_equal(rn_partition_become_leader(p), 2);
	append_n(p, 1); /* 4 */
	rn_partition_close(p);

	/* A crash lost the newer checkpoints: recovery learns epochs 1 and 2 from the batches
	 * past the recovery point. */
	write_file(dir, "leader-epoch-checkpoint", "0\n1\n0 0\n");
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, false, &p), 0);
	assert_int_equal(rn_partition_leader_epoch(p), 2);
	expect(p, 0, 0, 2);
	expect(p, 1, 1, 4);
	expect(p, 2, 2, 5);
	/* epoch 3 starts at 5, its batch is torn by a crash: recovery truncates the log and the
	 * epoch goes with it */
	assert_int_equal(rn_partition_set_leader_epoch(p, 3), 0);
	append_n(p, 1);
	rn_partition_close(p);
	char path[4096];
	snprintf(path, sizeof(path), "%s/00000000000000000000.log", dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 3), 0);
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, false, &p), 0);
	assert_int_equal(rn_partition_log_end(p), 5);
	assert_int_equal(rn_partition_leader_epoch(p), 2);
	expect(p, 2, 2, 5);
	expect(p, 3, -1, -1);
	rn_partition_close(p);

	/* a damaged checkpoint is ignored, not fatal */
	write_file(dir, "leader-epoch-checkpoint", "0\n2\nxx\n");
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, false, &p), 0);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

/* A leadership no batch used is not worth a file write (10,000 partitions at start-up). */
static void test_unused_leadership_not_written(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	char path[4096];
	snprintf(path, sizeof(path), "%s/leader-epoch-checkpoint", dir);
	struct rn_log_config c;
	rn_log_config_default(&c);
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	assert_int_equal(rn_partition_become_leader(p), 0);
	assert_int_equal(rn_partition_maintain(p, 0), 0);
	rn_partition_close(p);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, false, &p), 0);
	assert_int_equal(rn_partition_become_leader(p), 0);
	append_n(p, 1);
	assert_int_equal(rn_partition_maintain(p, 0), 0); /* used now: written */
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(rn_partition_become_leader(p), 1);
	rn_partition_close(p);
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, false, &p), 0);
	assert_int_equal(rn_partition_leader_epoch(p), 0); /* epoch 1 carried no batch */
	assert_int_equal(rn_partition_become_leader(p), 1);
	expect(p, 0, 0, 1);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_end_offsets),
	    cmocka_unit_test(test_recovery),
	    cmocka_unit_test(test_unused_leadership_not_written),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
