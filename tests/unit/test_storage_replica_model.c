/* Property test of a follower's log: random leader appends (plain, idempotent, transactional
 * batches and markers), fetches of random sizes, truncations to random offsets, leader
 * changes (a new leader that has a prefix of the old one's log and a new epoch, the follower
 * truncating as OffsetForLeaderEpoch tells it) and restarts. After every step the follower's
 * log must be a prefix of its leader's, byte for byte, ending where the model says; every few
 * steps its transaction and epoch state must equal that of a fresh replica of the same prefix.
 * Seeds are fixed (printed on failure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/arena.h"
#include "replica_helpers.h"

struct model {
	uint64_t rng;
	struct rn_log_config cfg;
	char *ldir, *fdir, *mdir;
	struct rn_partition *l, *f;
	int gen;         /* leader generation (its epoch) */
	int32_t seq[2];  /* next sequence of this generation's idempotent producers */
	int32_t tseq[2]; /* and of its transactional ones */
	bool open[2];    /* this generation's transactional producers with an open transaction */
	int cuts;        /* truncations that removed data */
};

static uint32_t rnd(struct model *m, uint32_t n)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return (uint32_t)(m->rng % n);
}

static void leader_append(struct model *m)
{
	struct rn_append_info ai;
	int k = (int)rnd(m, 2);
	int64_t ipid = 100 + 10 * m->gen + k, tpid = 500 + 10 * m->gen + k;
	switch (rnd(m, 5)) {
	case 0:
	case 1: rh_put(m->l, 1 + (int)rnd(m, 4), 20 + (int)rnd(m, 200)); break;
	case 2: {
		int n = 1 + (int)rnd(m, 3);
		assert_int_equal(rh_put_pid(m->l, n, ipid, 0, m->seq[k], false, &ai), 0);
		m->seq[k] += n;
		break;
	}
	case 3: {
		int n = 1 + (int)rnd(m, 2);
		assert_int_equal(rh_put_pid(m->l, n, tpid, 0, m->tseq[k], true, &ai), 0);
		m->tseq[k] += n;
		m->open[k] = true;
		break;
	}
	default:
		if (m->open[k]) {
			assert_int_equal(
			    rn_partition_append_marker(m->l, tpid, 0, rnd(m, 2), 1, &ai), 0);
			m->open[k] = false;
		}
	}
}

/* The base of the batch of f holding off (off itself at or beyond the log end). */
static int64_t batch_start(struct rn_partition *f, int64_t off)
{
	if (off >= rn_partition_log_end(f))
		return rn_partition_log_end(f);
	struct rn_read_info ri;
	assert_int_equal(rn_partition_read_replica(f, off, 1, true, &ri), 0);
	uint8_t h[RN_BATCH_HEADER_SIZE];
	assert_int_equal(pread(ri.file->fd, h, sizeof(h), (off_t)ri.pos), (ssize_t)sizeof(h));
	rn_fileref_put(ri.file);
	return (int64_t)rn_be64(h + RN_BATCH_OFF_BASE_OFFSET);
}

static void check_prefix(struct model *m)
{
	int64_t end = rn_partition_log_end(m->f);
	assert_true(end <= rn_partition_log_end(m->l));
	assert_true(rn_partition_high_watermark(m->f) <= end);
	assert_true(rn_partition_recovery_point(m->f) <= end);
	if (end == 0)
		return;
	struct rn_buf a = {0}, b = {0};
	rh_leader_bytes(m->l, 0, end, &a);
	rh_leader_bytes(m->f, 0, end, &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	rn_buf_free(&a);
	rn_buf_free(&b);
}

static void check_state(struct model *m)
{
	int64_t end = rn_partition_log_end(m->f);
	bb_rmrf(m->mdir);
	struct rn_partition *r = rh_open(m->mdir, &m->cfg);
	rh_replicate(m->l, r, end, 1 << 20);
	assert_int_equal(rn_partition_last_stable(m->f), rn_partition_last_stable(r));
	struct rn_arena ar = {0};
	struct rn_aborted_txn *x, *y;
	int n = rn_partition_aborted_txns(r, 0, end, &x, &ar);
	assert_int_equal(rn_partition_aborted_txns(m->f, 0, end, &y, &ar), n);
	if (n)
		assert_memory_equal(x, y, (size_t)n * sizeof(*x));
	rn_arena_free(&ar);
	for (int32_t e = -1; e <= m->gen + 1; e++) {
		int32_t e1, e2;
		int64_t o1, o2;
		rn_partition_epoch_end_offset(m->f, e, &e1, &o1);
		rn_partition_epoch_end_offset(r, e, &e2, &o2);
		assert_int_equal(e1, e2);
		assert_int_equal(o1, o2);
	}
	rn_partition_close(r);
}

/* A new leader with the old one's log up to a random batch boundary and a new epoch; the
 * follower truncates to the end of its latest epoch on the new leader. */
static void leader_change(struct model *m)
{
	int64_t end = rn_partition_log_end(m->l);
	/* Mostly the last few batches differ, sometimes most of the log. */
	int64_t back = rnd(m, 16) ? (int64_t)rnd(m, 30) : (int64_t)rnd(m, (uint32_t)end + 1);
	int64_t keep = batch_start(m->l, end > back ? end - back : 0);
	char *ndir = bb_tmpdir();
	struct rn_partition *n = rh_open(ndir, &m->cfg);
	rh_replicate(m->l, n, keep, 1 << 20);
	rn_partition_close(m->l);
	bb_rmrf(m->ldir);
	free(m->ldir);
	m->ldir = ndir;
	m->l = n;
	m->gen++;
	assert_int_equal(rn_partition_set_leader_epoch(m->l, m->gen), 0);
	m->seq[0] = m->seq[1] = m->tseq[0] = m->tseq[1] = 0;
	m->open[0] = m->open[1] = false;
	int32_t fe, le;
	int64_t fs, lend;
	rn_partition_latest_epoch(m->f, &fe, &fs);
	if (fe < 0) {
		assert_int_equal(rn_partition_truncate_to(m->f, 0), 0);
		return;
	}
	rn_partition_epoch_end_offset(m->l, fe, &le, &lend);
	int64_t to = lend < rn_partition_log_end(m->f) ? lend : rn_partition_log_end(m->f);
	if (le < 0 || to < 0)
		to = 0;
	assert_int_equal(rn_partition_truncate_to(m->f, to), 0);
}

static void step(struct model *m)
{
	uint32_t op = rnd(m, 40);
	if (op < 22 || op >= 38) {
		leader_append(m);
	} else if (op < 32) {
		int64_t le = rn_partition_log_end(m->l), fe = rn_partition_log_end(m->f);
		if (le > fe) {
			int64_t upto = fe + 1 + (int64_t)rnd(m, (uint32_t)(le - fe));
			rh_replicate(m->l, m->f, upto, 100 + rnd(m, 5000));
		}
	} else if (op < 36) {
		int64_t fe = rn_partition_log_end(m->f);
		int64_t back = rnd(m, 16) ? (int64_t)rnd(m, 40) : (int64_t)rnd(m, (uint32_t)fe + 1);
		int64_t off = fe + 2 - back > 0 ? fe + 2 - back : 0;
		int64_t expect = batch_start(m->f, off);
		assert_int_equal(rn_partition_truncate_to(m->f, off), 0);
		assert_int_equal(rn_partition_log_end(m->f), expect);
		m->cuts += expect < fe;
	} else if (op == 36) {
		leader_change(m);
	} else {
		rn_partition_close(m->f);
		m->f = rh_open(m->fdir, &m->cfg);
	}
	check_prefix(m);
}

static void run_seed(uint64_t seed)
{
	struct model m = {.rng = seed};
	m.cfg = rh_cfg();
	m.cfg.segment_bytes = 2048;
	m.ldir = bb_tmpdir();
	m.fdir = bb_tmpdir();
	m.mdir = bb_tmpdir();
	m.l = rh_open(m.ldir, &m.cfg);
	m.f = rh_open(m.fdir, &m.cfg);
	assert_int_equal(rn_partition_set_leader_epoch(m.l, 0), 0);
	for (int i = 0; i < 800; i++) {
		step(&m);
		if (i % 50 == 49)
			check_state(&m);
	}
	rh_replicate(m.l, m.f, -1, 1 << 20);
	check_prefix(&m);
	check_state(&m);
	print_message("seed %llu: %d truncations, %d leaders, log end %lld\n",
		      (unsigned long long)seed, m.cuts, m.gen + 1,
		      (long long)rn_partition_log_end(m.f));
	rn_partition_close(m.l);
	rn_partition_close(m.f);
	bb_rmrf(m.ldir);
	bb_rmrf(m.fdir);
	bb_rmrf(m.mdir);
	free(m.ldir);
	free(m.fdir);
	free(m.mdir);
}

static void test_random_histories(void **state)
{
	(void)state;
	static const uint64_t seeds[] = {0x9e3779b97f4a7c15ull, 42, 7, 0xdeadbeef, 12345};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		run_seed(seeds[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_histories),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
