/* What a follower knows besides its records: the idempotent producers' state (a follower
 * promoted to leader answers retries as its leader would, also after a truncation and a
 * restart), transactions (open ones, markers, the aborted index, the last stable offset,
 * a truncation that removes a marker reopening its transaction) and the high watermark
 * checkpoint of the log dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/arena.h"
#include "replica_helpers.h"
#include "storage/logdir.h"

static void reopen(struct rh_pair *e)
{
	rn_partition_close(e->f);
	e->f = rh_open(e->fdir, &e->cfg);
}

/* A retry of (pid, epoch, seq, n records) on p: 1 if a duplicate with base offset *base, 0 if
 * appended, else the error. */
static int retry(struct rn_partition *p, int64_t pid, int32_t seq, int n, int64_t *base)
{
	struct rn_append_info ai;
	int rc = rh_put_pid(p, n, pid, 0, seq, false, &ai);
	if (rc < 0)
		return rc;
	*base = ai.base_offset;
	return ai.duplicate ? 1 : 0;
}

static void test_idempotent_state(void **state)
{
	struct rh_pair *e = *state;
	struct rn_append_info ai;
	for (int i = 0; i < 4; i++)
		assert_int_equal(rh_put_pid(e->l, 3, 7, 0, 3 * i, false, &ai), 0); /* 0..11 */
	rh_replicate(e->l, e->f, -1, 1 << 20);
	int64_t base;
	/* Promoted: the leader's last batches are known. */
	assert_int_equal(retry(e->f, 7, 6, 3, &base), 1);
	assert_int_equal(base, 6);
	assert_int_equal(retry(e->f, 7, 9, 3, &base), 1);
	assert_int_equal(base, 9);
	/* Truncated: the removed batches are no longer duplicates, the kept ones are. */
	assert_int_equal(rn_partition_truncate_to(e->f, 6), 0);
	assert_int_equal(retry(e->f, 7, 9, 3, &base), RN_EOUTOFORDER);
	assert_int_equal(retry(e->f, 7, 3, 3, &base), 1);
	assert_int_equal(base, 3);
	reopen(e);
	assert_int_equal(retry(e->f, 7, 3, 3, &base), 1);
	assert_int_equal(retry(e->f, 7, 6, 3, &base), 0);
	assert_int_equal(base, 6);
	assert_int_equal(retry(e->f, 7, 6, 3, &base), 1);
}

/* The producer's batches spread over many segments: truncating below every snapshot
 * rebuilds the state from the log. */
static void test_idempotent_state_across_segments(void **state)
{
	struct rh_pair *e = *state;
	struct rn_append_info ai;
	for (int i = 0; i < 120; i++)
		assert_int_equal(rh_put_pid(e->l, 3, 7, 0, 3 * i, false, &ai), 0);
	assert_int_equal(rh_put_pid(e->l, 2, 8, 0, 0, false, &ai), 0); /* another producer */
	rh_replicate(e->l, e->f, -1, 1 << 20);
	int64_t base;
	assert_int_equal(rn_partition_truncate_to(e->f, 31), 0); /* inside seq 30..32 */
	assert_int_equal(rn_partition_log_end(e->f), 30);
	assert_int_equal(retry(e->f, 7, 27, 3, &base), 1);
	assert_int_equal(base, 27);
	assert_int_equal(retry(e->f, 7, 33, 3, &base), RN_EOUTOFORDER);
	/* The other producer's only batch is gone: it starts afresh (any sequence). */
	assert_int_equal(retry(e->f, 8, 0, 2, &base), 0);
	assert_int_equal(base, 30);
	reopen(e);
	assert_int_equal(retry(e->f, 8, 0, 2, &base), 1);
	assert_int_equal(retry(e->f, 7, 30, 3, &base), 0);
	assert_int_equal(base, 32);
}

/* A crash right after a truncation below every producer snapshot: the next open must still
 * know a producer whose only batch is older than the last two segments (the open's replay
 * without a snapshot), so truncation snapshots the rebuilt state. The crash image is a copy
 * of the directory while the partition is open (what SIGKILL leaves in the page cache). */
static void test_crash_after_deep_truncation(void **state)
{
	struct rh_pair *e = *state;
	struct rn_append_info ai;
	assert_int_equal(rh_put_pid(e->l, 2, 8, 0, 0, false, &ai), 0); /* 0..1 */
	for (int i = 0; i < 150; i++)
		assert_int_equal(rh_put_pid(e->l, 3, 7, 0, 3 * i, false, &ai), 0);
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_int_equal(rn_partition_truncate_to(e->f, 302), 0);
	char *copy = bb_tmpdir(), cmd[600];
	snprintf(cmd, sizeof(cmd), "cp -a %s/. %s/", e->fdir, copy);
	assert_int_equal(system(cmd), 0);
	struct rn_partition *c;
	assert_int_equal(rn_partition_open(copy, &e->cfg, -1, 0, false, &c), 0);
	assert_int_equal(rn_partition_log_end(c), 302);
	int64_t base;
	assert_int_equal(retry(c, 8, 0, 2, &base), 1);
	assert_int_equal(base, 0);
	assert_int_equal(retry(c, 7, 297, 3, &base), 1);
	rn_partition_close(c);
	bb_rmrf(copy);
	free(copy);
}

static int64_t txn_batch(struct rn_partition *l, int64_t pid, int32_t seq, int n)
{
	struct rn_append_info ai;
	assert_int_equal(rh_put_pid(l, n, pid, 0, seq, true, &ai), 0);
	return ai.base_offset;
}

static int64_t end_txn(struct rn_partition *l, int64_t pid, bool commit)
{
	struct rn_append_info ai;
	assert_int_equal(rn_partition_append_marker(l, pid, 0, commit, 3, &ai), 0);
	return ai.base_offset;
}

static void assert_same_aborted(struct rn_partition *a, struct rn_partition *b)
{
	struct rn_arena ars = {0}, *ar = &ars;
	struct rn_aborted_txn *x, *y;
	int64_t end = rn_partition_log_end(a);
	int n = rn_partition_aborted_txns(a, 0, end, &x, ar);
	assert_int_equal(rn_partition_aborted_txns(b, 0, end, &y, ar), n);
	if (n)
		assert_memory_equal(x, y, (size_t)n * sizeof(*x));
	rn_arena_free(ar);
}

static void test_transactions(void **state)
{
	struct rh_pair *e = *state;
	txn_batch(e->l, 9, 0, 3); /* 0..2 open */
	rh_put(e->l, 2, 20);      /* 3..4 */
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_int_equal(rn_partition_last_stable(e->f), 0);
	struct rn_read_info ri;
	assert_int_equal(rn_partition_read_committed(e->f, 0, 1 << 20, true, &ri), 0);
	assert_int_equal(ri.len, 0);
	assert_int_equal(ri.last_stable_offset, 0);
	int64_t commit = end_txn(e->l, 9, true); /* 5 */
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_int_equal(rn_partition_last_stable(e->f), commit + 1);

	int64_t first = txn_batch(e->l, 10, 0, 2); /* 6..7 */
	txn_batch(e->l, 11, 0, 2);                 /* 8..9 */
	int64_t abort1 = end_txn(e->l, 10, false); /* 10 */
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_int_equal(rn_partition_last_stable(e->f), 8); /* pid 11 still open */
	assert_same_aborted(e->l, e->f);
	struct rn_arena ars = {0}, *ar = &ars;
	struct rn_aborted_txn *x;
	assert_int_equal(rn_partition_aborted_txns(e->f, 0, 100, &x, ar), 1);
	assert_int_equal(x[0].pid, 10);
	assert_int_equal(x[0].first_offset, first);
	assert_int_equal(x[0].last_offset, abort1);
	assert_int_equal(x[0].lso, 8);
	rn_arena_free(ar);
	reopen(e);
	assert_same_aborted(e->l, e->f);
	assert_int_equal(rn_partition_last_stable(e->f), 8);

	/* The abort marker truncated away: pid 10's transaction is open again, not aborted. */
	assert_int_equal(rn_partition_truncate_to(e->f, abort1), 0);
	assert_int_equal(rn_partition_last_stable(e->f), first);
	ars = (struct rn_arena){0};
	assert_int_equal(rn_partition_aborted_txns(e->f, 0, 100, &x, ar), 0);
	rn_arena_free(ar);
	reopen(e);
	assert_int_equal(rn_partition_last_stable(e->f), first);
	ars = (struct rn_arena){0};
	assert_int_equal(rn_partition_aborted_txns(e->f, 0, 100, &x, ar), 0);
	rn_arena_free(ar);
	/* The commit truncated too: pid 9 reopens, the oldest. */
	assert_int_equal(rn_partition_truncate_to(e->f, commit), 0);
	assert_int_equal(rn_partition_last_stable(e->f), 0);
	/* Catching up gives the leader's state back. */
	end_txn(e->l, 11, true);
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_same_aborted(e->l, e->f);
	assert_int_equal(rn_partition_last_stable(e->f), rn_partition_last_stable(e->l));
	assert_int_equal(rn_partition_last_stable(e->f), rn_partition_log_end(e->f));
	/* Promoted, the follower closes an open transaction as its leader would. */
	txn_batch(e->l, 12, 0, 1);
	rh_replicate(e->l, e->f, -1, 1 << 20);
	int64_t open12 = rn_partition_log_end(e->f) - 1;
	assert_int_equal(rn_partition_last_stable(e->f), open12);
	end_txn(e->f, 12, false);
	assert_int_equal(rn_partition_last_stable(e->f), rn_partition_log_end(e->f));
}

/* Consumers' last stable offset is below the high watermark of a replicated follower. */
static void test_lso_below_high_watermark(void **state)
{
	struct rh_pair *e = *state;
	rn_partition_set_replicated(e->f, true);
	rh_put(e->l, 3, 20);
	txn_batch(e->l, 9, 0, 3);
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_int_equal(rn_partition_last_stable(e->f), 0);
	rn_partition_set_high_watermark(e->f, 2);
	assert_int_equal(rn_partition_last_stable(e->f), 2);
	rn_partition_set_high_watermark(e->f, 6);
	assert_int_equal(rn_partition_last_stable(e->f), 3);
	struct rn_arena ars = {0}, *ar = &ars;
	struct rn_aborted_txn *x;
	end_txn(e->l, 9, false);
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_int_equal(rn_partition_last_stable(e->f), 6); /* the high watermark */
	assert_int_equal(rn_partition_aborted_txns(e->f, 0, 6, &x, ar), 1);
	rn_arena_free(ar);
}

static void read_file(const char *dir, const char *name, char *buf, size_t cap)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	memset(buf, 0, cap);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return;
	size_t n = fread(buf, 1, cap - 1, fp);
	(void)n;
	fclose(fp);
}

static void write_file(const char *dir, const char *name, const char *s)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "w");
	fputs(s, fp);
	fclose(fp);
}

static void test_high_watermark_checkpoint(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = rh_cfg();
	struct rn_logdir *d;
	struct rn_partition *p;
	char buf[256];
	/* A single broker never writes the file. */
	assert_int_equal(rn_logdir_open(dir, &d), 0);
	assert_int_equal(rn_logdir_open_partition(d, "t", 0, &c, true, &p), 0);
	rh_put(p, 10, 20);
	rn_logdir_close(d);
	read_file(dir, "replication-offset-checkpoint", buf, sizeof(buf));
	assert_string_equal(buf, "");

	assert_int_equal(rn_logdir_open(dir, &d), 0);
	assert_int_equal(rn_logdir_open_partition(d, "t", 0, &c, true, &p), 0);
	assert_int_equal(rn_partition_high_watermark(p), 10);
	rn_partition_set_replicated(p, true);
	assert_int_equal(rn_partition_high_watermark(p), 0); /* unknown: the log start */
	assert_int_equal(rn_partition_set_high_watermark(p, 6), 6);
	assert_int_equal(rn_logdir_checkpoint(d), 0);
	read_file(dir, "replication-offset-checkpoint", buf, sizeof(buf));
	assert_string_equal(buf, "0\n1\nt 0 6\n");
	rn_logdir_close(d);

	/* Not replicated in this run: the high watermark is the log end, the entry stays. */
	assert_int_equal(rn_logdir_open(dir, &d), 0);
	assert_int_equal(rn_logdir_open_partition(d, "t", 0, &c, true, &p), 0);
	assert_int_equal(rn_partition_high_watermark(p), 10);
	rn_logdir_close(d);
	read_file(dir, "replication-offset-checkpoint", buf, sizeof(buf));
	assert_string_equal(buf, "0\n1\nt 0 6\n");

	/* Replicated again: it starts at the checkpoint. */
	assert_int_equal(rn_logdir_open(dir, &d), 0);
	assert_int_equal(rn_logdir_open_partition(d, "t", 0, &c, true, &p), 0);
	rn_partition_set_replicated(p, true);
	assert_int_equal(rn_partition_high_watermark(p), 6);
	struct rn_read_info ri;
	assert_int_equal(rn_partition_read(p, 0, 1 << 20, true, &ri), 0);
	assert_int_equal(ri.next_offset, 6);
	rn_fileref_put(ri.file);
	rn_logdir_close(d);

	/* Above the log end (the data did not survive): clamped. */
	write_file(dir, "replication-offset-checkpoint", "0\n1\nt 0 50\n");
	assert_int_equal(rn_logdir_open(dir, &d), 0);
	assert_int_equal(rn_logdir_open_partition(d, "t", 0, &c, true, &p), 0);
	rn_partition_set_replicated(p, true);
	assert_int_equal(rn_partition_high_watermark(p), 10);
	rn_logdir_close(d);
	read_file(dir, "replication-offset-checkpoint", buf, sizeof(buf));
	assert_string_equal(buf, "0\n1\nt 0 10\n");

	/* A deleted partition leaves the file. */
	assert_int_equal(rn_logdir_open(dir, &d), 0);
	assert_int_equal(rn_logdir_delete_partition(d, "t", 0), 0);
	rn_logdir_close(d);
	read_file(dir, "replication-offset-checkpoint", buf, sizeof(buf));
	assert_string_equal(buf, "0\n0\n");
	bb_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_idempotent_state, rh_pair_setup, rh_pair_teardown),
	    cmocka_unit_test_setup_teardown(test_idempotent_state_across_segments, rh_pair_setup,
					    rh_pair_teardown),
	    cmocka_unit_test_setup_teardown(test_crash_after_deep_truncation, rh_pair_setup,
					    rh_pair_teardown),
	    cmocka_unit_test_setup_teardown(test_transactions, rh_pair_setup, rh_pair_teardown),
	    cmocka_unit_test_setup_teardown(test_lso_below_high_watermark, rh_pair_setup,
					    rh_pair_teardown),
	    cmocka_unit_test(test_high_watermark_checkpoint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
