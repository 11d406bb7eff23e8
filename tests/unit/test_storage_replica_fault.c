/* Faults during truncation: EIO at each call of each kind of I/O a truncation makes (open,
 * unlink, directory sync, ftruncate, fdatasync, index rewrite, checkpoint write, snapshot
 * and transaction index work) takes the partition offline or is survived, and the log then
 * reopens as a prefix of what it was, with the producer and transaction state of that prefix;
 * truncating again and catching up gives the leader's log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>

#include "core/arena.h"
#include "core/io.h"
#include "replica_helpers.h"

static struct rn_log_config cfg;
static char *ldir;
static struct rn_partition *leader;
static int64_t cut_at; /* inside the producer's batches, several segments below the end */

static int group_setup(void **state)
{
	(void)state;
	cfg = rh_cfg();
	ldir = bb_tmpdir();
	leader = rh_open(ldir, &cfg);
	struct rn_append_info ai;
	if (rn_partition_set_leader_epoch(leader, 1) != 0)
		abort();
	for (int i = 0; i < 40; i++) {
		/* A later leadership, after the cut: the truncation removes its epoch. */
		if (i == 34 && rn_partition_set_leader_epoch(leader, 2) != 0)
			abort();
		if (rh_put_pid(leader, 2, 5, 0, 2 * i, false, &ai) != 0)
			abort();
		if (i % 7 == 3) {
			/* A transaction aborted around the cut, one committed before it. */
			if (rh_put_pid(leader, 1, 100 + i, 0, 0, true, &ai) != 0)
				abort();
			rh_put(leader, 2, 80);
			if (rn_partition_append_marker(leader, 100 + i, 0, i % 2, 1, &ai) != 0)
				abort();
		}
	}
	/* Roughly two thirds in: the batch boundary at or after it. */
	int64_t target = rn_partition_log_end(leader) * 2 / 3;
	struct rn_read_info ri;
	if (rn_partition_read_replica(leader, target, 1, true, &ri) != 0)
		abort();
	cut_at = ri.next_offset;
	rn_fileref_put(ri.file);
	int32_t ep;
	int64_t end;
	rn_partition_epoch_end_offset(leader, 1, &ep, &end);
	if (end <= cut_at)
		abort();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	rn_partition_close(leader);
	bb_rmrf(ldir);
	free(ldir);
	return 0;
}

static struct rn_partition *fresh_follower(const char *dir)
{
	bb_rmrf(dir);
	struct rn_partition *f = rh_open(dir, &cfg);
	rh_replicate(leader, f, -1, 1 << 20);
	assert_int_equal(rn_partition_log_end(f), rn_partition_log_end(leader));
	return f;
}

/* f equals the leader's log below its own end, with the state of a replica of that prefix. */
static void assert_prefix(struct rn_partition *f)
{
	int64_t end = rn_partition_log_end(f);
	assert_true(end >= cut_at);
	assert_true(end <= rn_partition_log_end(leader));
	struct rn_buf a = {0}, b = {0};
	rh_leader_bytes(leader, 0, end, &a);
	rh_leader_bytes(f, 0, end, &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	rn_buf_free(&a);
	rn_buf_free(&b);
	char *mdir = bb_tmpdir();
	struct rn_partition *m = rh_open(mdir, &cfg);
	rh_replicate(leader, m, end, 1 << 20);
	assert_int_equal(rn_partition_last_stable(f), rn_partition_last_stable(m));
	struct rn_arena ar = {0};
	struct rn_aborted_txn *x, *y;
	int n = rn_partition_aborted_txns(m, 0, end, &x, &ar);
	assert_int_equal(rn_partition_aborted_txns(f, 0, end, &y, &ar), n);
	if (n)
		assert_memory_equal(x, y, (size_t)n * sizeof(*x));
	rn_arena_free(&ar);
	int32_t e1, e2;
	int64_t s1, s2;
	rn_partition_latest_epoch(f, &e1, &s1);
	rn_partition_latest_epoch(m, &e2, &s2);
	assert_int_equal(e1, e2);
	assert_int_equal(s1, s2);
	rn_partition_close(m);
	bb_rmrf(mdir);
	free(mdir);
}

/* After the fault: reopen, check, truncate again, catch up. */
static struct rn_partition *recover_and_check(const char *dir, struct rn_partition *f)
{
	rn_partition_close(f);
	f = rh_open(dir, &cfg);
	assert_false(rn_partition_offline(f));
	assert_prefix(f);
	assert_int_equal(rn_partition_truncate_to(f, cut_at), 0);
	assert_int_equal(rn_partition_log_end(f), cut_at);
	assert_prefix(f);
	/* The producer's kept batches are duplicates when retried, the cut ones are not. */
	rh_replicate(leader, f, -1, 1 << 20);
	assert_prefix(f);
	return f;
}

static void run_faults(enum rn_io_op op)
{
	char *dir = bb_tmpdir();
	struct rn_partition *f = fresh_follower(dir);
	uint64_t c0 = rn_io_calls(op);
	assert_int_equal(rn_partition_truncate_to(f, cut_at), 0);
	int calls = (int)(rn_io_calls(op) - c0);
	rn_partition_close(f);
	int failed = 0;
	for (int n = 0; n < calls; n++) {
		f = fresh_follower(dir);
		rn_io_fault_set(op, EIO, n);
		int rc = rn_partition_truncate_to(f, cut_at);
		rn_io_fault_clear();
		if (rc < 0) {
			assert_true(rn_partition_offline(f));
			assert_int_equal(rn_partition_truncate_to(f, 0), RN_EOFFLINE);
			failed++;
		} else {
			assert_false(rn_partition_offline(f));
		}
		f = recover_and_check(dir, f);
		rn_partition_close(f);
	}
	print_message("op %d: %d calls, %d failed the truncation\n", (int)op, calls, failed);
	bb_rmrf(dir);
	free(dir);
}

static void test_fault_open(void **state)
{
	(void)state;
	run_faults(RN_IO_OPEN);
}

static void test_fault_unlink(void **state)
{
	(void)state;
	run_faults(RN_IO_UNLINK);
}

static void test_fault_sync(void **state)
{
	(void)state;
	run_faults(RN_IO_SYNC);
}

static void test_fault_truncate(void **state)
{
	(void)state;
	run_faults(RN_IO_TRUNCATE);
}

static void test_fault_write(void **state)
{
	(void)state;
	run_faults(RN_IO_WRITE);
}

static void test_fault_rename(void **state)
{
	(void)state;
	run_faults(RN_IO_RENAME);
}

static void test_fault_pread(void **state)
{
	(void)state;
	run_faults(RN_IO_PREAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fault_open),  cmocka_unit_test(test_fault_unlink),
	    cmocka_unit_test(test_fault_sync),  cmocka_unit_test(test_fault_truncate),
	    cmocka_unit_test(test_fault_write), cmocka_unit_test(test_fault_rename),
	    cmocka_unit_test(test_fault_pread),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
