/* Truncation of a follower's log: at a batch boundary and inside a batch, inside a segment
 * and across segment boundaries, at a segment's base, at or above the log end, below the log
 * start (truncate_fully), the epoch cache afterwards (as Kafka's endOffsetFor answers), the
 * high watermark and recovery point, readers holding a cut file, and restarts. The expected
 * log is always another follower that replicated only up to the cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/clock.h"
#include "replica_helpers.h"

struct env {
	char *ldir, *fdir, *mdir;
	struct rn_partition *l, *f, *m; /* leader, follower, model */
	struct rn_log_config cfg;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	e->cfg = rh_cfg();
	e->ldir = bb_tmpdir();
	e->fdir = bb_tmpdir();
	e->mdir = bb_tmpdir();
	e->l = rh_open(e->ldir, &e->cfg);
	e->f = rh_open(e->fdir, &e->cfg);
	e->m = rh_open(e->mdir, &e->cfg);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	rn_partition_close(e->l);
	rn_partition_close(e->f);
	rn_partition_close(e->m);
	bb_rmrf(e->ldir);
	bb_rmrf(e->fdir);
	bb_rmrf(e->mdir);
	free(e->ldir);
	free(e->fdir);
	free(e->mdir);
	free(e);
	return 0;
}

static void assert_same(struct rn_partition *a, struct rn_partition *b)
{
	int64_t end = rn_partition_log_end(a);
	assert_int_equal(rn_partition_log_end(b), end);
	struct rn_buf x = {0}, y = {0};
	int64_t from = rn_partition_log_start(a);
	if (from < end) {
		rh_leader_bytes(a, from, end, &x);
		rh_leader_bytes(b, from, end, &y);
	}
	assert_int_equal(x.len, y.len);
	if (x.len)
		assert_memory_equal(x.data, y.data, x.len);
	rn_buf_free(&x);
	rn_buf_free(&y);
}

static int count_files(const char *dir, const char *ext)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	size_t el = strlen(ext);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		n += len > el && !strcmp(de->d_name + len - el, ext);
	}
	closedir(d);
	return n;
}

static void reopen(struct env *e)
{
	rn_partition_close(e->f);
	e->f = rh_open(e->fdir, &e->cfg);
}

/* Leader: n batches of 3 records each (offset 3k is a batch start), several segments. */
static void fill(struct env *e, int n)
{
	for (int i = 0; i < n; i++)
		rh_put(e->l, 3, 90);
	rh_replicate(e->l, e->f, -1, 1 << 20);
}

/* Truncates the follower to off, checks it against a model replicated to expect, then lets
 * both catch up with the leader again. */
static void cut_and_check(struct env *e, int64_t off, int64_t expect)
{
	assert_int_equal(rn_partition_truncate_to(e->f, off), 0);
	assert_int_equal(rn_partition_log_end(e->f), expect);
	assert_true(rn_partition_high_watermark(e->f) <= expect);
	assert_true(rn_partition_recovery_point(e->f) <= expect);
	rn_partition_close(e->m);
	bb_rmrf(e->mdir);
	e->m = rh_open(e->mdir, &e->cfg);
	rh_replicate(e->l, e->m, expect, 1 << 20);
	assert_same(e->m, e->f);
	reopen(e);
	assert_same(e->m, e->f);
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_same(e->l, e->f);
}

static void test_inside_active_segment(void **state)
{
	struct env *e = *state;
	fill(e, 5);
	cut_and_check(e, 9, 9);   /* a batch boundary */
	cut_and_check(e, 13, 12); /* inside a batch: it goes whole */
	cut_and_check(e, 0, 0);   /* everything, at the first segment's base */
}

static void test_across_segments(void **state)
{
	struct env *e = *state;
	fill(e, 60); /* about 20 batches a segment */
	int segs = count_files(e->fdir, ".log");
	assert_true(segs >= 3);
	cut_and_check(e, 151, 150);
	cut_and_check(e, 31, 30);
	/* Into the first segment (offsets 0..32): the others are gone, files and all. */
	assert_int_equal(rn_partition_truncate_to(e->f, 20), 0);
	assert_int_equal(count_files(e->fdir, ".log"), 1);
	assert_int_equal(count_files(e->fdir, ".index"), 1);
	assert_int_equal(count_files(e->fdir, ".timeindex"), 1);
	assert_int_equal(count_files(e->fdir, ".snapshot"), 0);
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_same(e->l, e->f);
	/* Again after the follower rolled further. */
	cut_and_check(e, 100, 99);
}

static void test_at_segment_base(void **state)
{
	struct env *e = *state;
	fill(e, 60);
	/* The base of the second segment: found through a read there. */
	struct rn_read_info ri;
	int64_t base = -1;
	for (int64_t o = 0; o < rn_partition_log_end(e->f) && base < 0; o += 3) {
		assert_int_equal(rn_partition_read_replica(e->f, o, 1 << 20, true, &ri), 0);
		if (ri.pos == 0 && o > 0)
			base = o;
		rn_fileref_put(ri.file);
	}
	assert_true(base > 0);
	int segs = count_files(e->fdir, ".log");
	cut_and_check(e, base, base);
	(void)segs;
}

static void test_at_or_above_log_end(void **state)
{
	struct env *e = *state;
	fill(e, 4);
	/* A leadership this follower had without data: its entry at the log end goes. */
	int32_t ep = rn_partition_become_leader(e->f);
	int32_t le;
	int64_t ls;
	rn_partition_latest_epoch(e->f, &le, &ls);
	assert_int_equal(le, ep);
	assert_int_equal(ls, 12);
	assert_int_equal(rn_partition_truncate_to(e->f, 100), 0);
	rn_partition_latest_epoch(e->f, &le, &ls);
	assert_int_equal(le, ep);
	assert_int_equal(rn_partition_truncate_to(e->f, 12), 0);
	rn_partition_latest_epoch(e->f, &le, &ls);
	assert_int_equal(le, 0);
	assert_int_equal(ls, 0);
	assert_int_equal(rn_partition_log_end(e->f), 12);
	assert_int_equal(rn_partition_truncate_to(e->f, -1), RN_EINVALID);
}

static void test_below_log_start(void **state)
{
	struct env *e = *state;
	fill(e, 10);
	/* Log start inside the first segment: data below it is still there, the start moves
	 * down to the cut (Kafka: min(target, log start)). */
	assert_int_equal(rn_partition_advance_log_start(e->f, 21), 0);
	assert_int_equal(rn_partition_truncate_to(e->f, 15), 0);
	assert_int_equal(rn_partition_log_end(e->f), 15);
	assert_int_equal(rn_partition_log_start(e->f), 15);
	/* Below the first segment's base: emptied and restarted there. */
	assert_int_equal(rn_partition_truncate_fully(e->f, 300), 0);
	assert_int_equal(rn_partition_log_start(e->f), 300);
	assert_int_equal(rn_partition_log_end(e->f), 300);
	assert_int_equal(rn_partition_high_watermark(e->f), 300);
	assert_int_equal(count_files(e->fdir, ".log"), 1);
	int32_t le;
	int64_t ls;
	rn_partition_latest_epoch(e->f, &le, &ls);
	assert_int_equal(le, -1);
	assert_int_equal(rn_partition_truncate_to(e->f, 100), 0);
	assert_int_equal(rn_partition_log_start(e->f), 100);
	assert_int_equal(rn_partition_log_end(e->f), 100);
	struct rn_read_info ri;
	assert_int_equal(rn_partition_read(e->f, 99, 100, true, &ri), RN_ERANGE);
	assert_int_equal(rn_partition_read(e->f, 100, 100, true, &ri), 0);
	assert_int_equal(ri.len, 0);
	reopen(e);
	assert_int_equal(rn_partition_log_start(e->f), 100);
	assert_int_equal(rn_partition_log_end(e->f), 100);
	rn_partition_latest_epoch(e->f, &le, &ls);
	assert_int_equal(le, -1);
	/* A fresh start from a leader whose log starts at 102: its batches from there. */
	for (int i = 0; i < 30; i++)
		rh_put(e->l, 3, 90);
	struct rn_buf b = {0};
	rh_leader_bytes(e->l, 102, rn_partition_log_end(e->l), &b);
	size_t used;
	struct rn_append_info ai;
	int64_t first = (int64_t)rn_be64(b.data);
	assert_int_equal(first, 102);
	assert_int_equal(rn_partition_append_replica(e->f, b.data, b.len, &used, &ai), RN_ERANGE);
	assert_int_equal(rn_partition_truncate_fully(e->f, first), 0);
	assert_int_equal(rn_partition_append_replica(e->f, b.data, b.len, &used, &ai), 0);
	assert_int_equal(ai.base_offset, first);
	rn_buf_free(&b);
}

/* A leader's log start inside a batch (DeleteRecords): a follower restarted there gets that
 * whole batch and restarts its empty log at the batch's base, as Kafka's follower does. */
static void test_log_start_inside_batch(void **state)
{
	struct env *e = *state;
	for (int i = 0; i < 40; i++)
		rh_put(e->l, 3, 90);
	int64_t low;
	assert_int_equal(rn_partition_delete_records(e->l, 100, &low), 0); /* batch 99..101 */
	assert_int_equal(low, 100);
	assert_int_equal(rn_partition_truncate_fully(e->f, 100), 0);
	struct rn_buf b = {0};
	rh_leader_bytes(e->l, 100, rn_partition_log_end(e->l), &b);
	assert_int_equal((int64_t)rn_be64(b.data), 99);
	size_t used;
	struct rn_append_info ai;
	assert_int_equal(rn_partition_append_replica(e->f, b.data, b.len, &used, &ai), 0);
	assert_int_equal(used, b.len);
	assert_int_equal(ai.base_offset, 99);
	assert_int_equal(rn_partition_log_start(e->f), 99);
	rn_buf_free(&b);
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_int_equal(rn_partition_log_end(e->f), rn_partition_log_end(e->l));
	assert_int_equal(rn_partition_advance_log_start(e->f, 100), 0);
	assert_int_equal(rn_partition_log_start(e->f), 100);
	/* Not on a log with data: that is an overlap. */
	struct rn_buf c = {0};
	rh_leader_bytes(e->l, 100, 102, &c);
	assert_int_equal(rn_partition_append_replica(e->f, c.data, c.len, &used, &ai), RN_ERANGE);
	rn_buf_free(&c);
}

static void test_epoch_cache(void **state)
{
	struct env *e = *state;
	assert_int_equal(rn_partition_set_leader_epoch(e->l, 1), 0);
	for (int i = 0; i < 4; i++)
		rh_put(e->l, 3, 90); /* 0..11 */
	assert_int_equal(rn_partition_set_leader_epoch(e->l, 3), 0);
	for (int i = 0; i < 4; i++)
		rh_put(e->l, 3, 90); /* 12..23 */
	assert_int_equal(rn_partition_set_leader_epoch(e->l, 5), 0);
	for (int i = 0; i < 4; i++)
		rh_put(e->l, 3, 90); /* 24..35 */
	rh_replicate(e->l, e->f, -1, 1 << 20);
	int32_t ep;
	int64_t end;
	rn_partition_epoch_end_offset(e->f, 3, &ep, &end);
	assert_int_equal(ep, 3);
	assert_int_equal(end, 24);

	assert_int_equal(rn_partition_truncate_to(e->f, 18), 0);
	rn_partition_latest_epoch(e->f, &ep, &end);
	assert_int_equal(ep, 3);
	assert_int_equal(end, 12);
	rn_partition_epoch_end_offset(e->f, 3, &ep, &end);
	assert_int_equal(ep, 3);
	assert_int_equal(end, 18); /* the current epoch ends at the log end */
	rn_partition_epoch_end_offset(e->f, 5, &ep, &end);
	assert_int_equal(ep, -1); /* above every known epoch */
	assert_int_equal(end, -1);
	rn_partition_epoch_end_offset(e->f, 2, &ep, &end);
	assert_int_equal(ep, 1);
	assert_int_equal(end, 12);
	rn_partition_epoch_end_offset(e->f, 0, &ep, &end);
	assert_int_equal(ep, 0); /* below every known: the requested one, ending at the first */
	assert_int_equal(end, 0);

	/* The checkpoint was rewritten: a restart sees the same cache. */
	char path[512], buf[128] = {0};
	snprintf(path, sizeof(path), "%s/leader-epoch-checkpoint", e->fdir);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	size_t got = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	assert_true(got > 0);
	assert_string_equal(buf, "0\n2\n1 0\n3 12\n");
	reopen(e);
	rn_partition_epoch_end_offset(e->f, 3, &ep, &end);
	assert_int_equal(end, 18);

	/* At an epoch's first offset: that epoch goes. */
	assert_int_equal(rn_partition_truncate_to(e->f, 12), 0);
	rn_partition_latest_epoch(e->f, &ep, &end);
	assert_int_equal(ep, 1);
	assert_int_equal(end, 0);
	/* Catching up brings epochs 3 and 5 back at their starts. */
	rh_replicate(e->l, e->f, -1, 1 << 20);
	rn_partition_epoch_end_offset(e->f, 3, &ep, &end);
	assert_int_equal(ep, 3);
	assert_int_equal(end, 24);
	rn_partition_latest_epoch(e->f, &ep, &end);
	assert_int_equal(ep, 5);
	assert_int_equal(end, 24);
}

static void test_high_watermark_lowered(void **state)
{
	struct env *e = *state;
	fill(e, 10);
	rn_partition_set_replicated(e->f, true);
	assert_int_equal(rn_partition_set_high_watermark(e->f, 27), 27);
	assert_int_equal(rn_partition_flush(e->f), 0);
	assert_int_equal(rn_partition_recovery_point(e->f), 30);
	assert_int_equal(rn_partition_truncate_to(e->f, 21), 0);
	assert_int_equal(rn_partition_high_watermark(e->f), 21);
	assert_int_equal(rn_partition_recovery_point(e->f), 21);
	/* Below it, the high watermark stays. */
	assert_int_equal(rn_partition_truncate_to(e->f, 100), 0);
	assert_int_equal(rn_partition_high_watermark(e->f), 21);
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_int_equal(rn_partition_high_watermark(e->f), 21);
	assert_int_equal(rn_partition_set_high_watermark(e->f, 30), 30);
}

/* A reader that holds a file reference of the cut segment keeps a valid fd. */
static void test_reader_of_cut_segment(void **state)
{
	struct env *e = *state;
	fill(e, 6);
	struct rn_read_info ri;
	assert_int_equal(rn_partition_read_replica(e->f, 0, 1 << 20, true, &ri), 0);
	assert_true(ri.len > 0);
	assert_int_equal(rn_partition_truncate_to(e->f, 6), 0);
	uint8_t *buf = malloc(ri.len);
	ssize_t got = pread(ri.file->fd, buf, ri.len, (off_t)ri.pos);
	assert_true(got >= 0 && (uint64_t)got < ri.len); /* the file is shorter now */
	free(buf);
	rn_fileref_put(ri.file);
	/* Across segments too: the deleted segment's reader. */
	fill(e, 60);
	int64_t last = rn_partition_log_end(e->f) - 1;
	assert_int_equal(rn_partition_read_replica(e->f, last, 1 << 20, true, &ri), 0);
	assert_int_equal(rn_partition_truncate_to(e->f, 6), 0);
	uint8_t h[RN_BATCH_HEADER_SIZE];
	assert_int_equal(pread(ri.file->fd, h, sizeof(h), (off_t)ri.pos), (ssize_t)sizeof(h));
	rn_fileref_put(ri.file);
}

static void test_time_index_after_cut(void **state)
{
	struct env *e = *state;
	for (int i = 0; i < 40; i++) {
		struct rn_buf b = {0};
		bb_batch(&b, 2, 1000 + 10 * i, 100);
		struct rn_append_info ai;
		assert_int_equal(rn_partition_append(e->l, b.data, b.len, &ai), 0);
		rn_buf_free(&b);
	}
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_int_equal(rn_partition_truncate_to(e->f, 41), 0);
	assert_int_equal(rn_partition_log_end(e->f), 40);
	struct rn_offset_found of;
	assert_int_equal(rn_partition_find_max_timestamp(e->f, &of), 0);
	assert_int_equal(of.timestamp, 1000 + 10 * 19 + 1);
	assert_int_equal(of.offset, 39);
	assert_int_equal(rn_partition_find_offset(e->f, 1000 + 10 * 25, &of), 0);
	assert_int_equal(of.offset, -1);
	assert_int_equal(rn_partition_find_offset(e->f, 1000 + 10 * 12, &of), 0);
	assert_int_equal(of.offset, 24);
	reopen(e);
	assert_int_equal(rn_partition_find_max_timestamp(e->f, &of), 0);
	assert_int_equal(of.offset, 39);
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_int_equal(rn_partition_find_offset(e->f, 1000 + 10 * 25, &of), 0);
	assert_int_equal(of.offset, 50);
}

struct race {
	struct rn_partition *f;
	atomic_bool stop;
	atomic_long reads;
};

/* Reads at moving offsets while the log is cut and refilled: every read answers whole
 * batches or an error, never a crash, and a reference keeps its fd readable. */
static void *reader(void *arg)
{
	struct race *r = arg;
	uint8_t buf[RN_BATCH_HEADER_SIZE];
	for (int64_t o = 0; !atomic_load(&r->stop); o = (o + 7) % 200) {
		struct rn_read_info ri;
		int rc = o % 2 ? rn_partition_read_replica(r->f, o, 2000, true, &ri)
			       : rn_partition_read(r->f, o, 2000, true, &ri);
		if (rc == 0 && ri.len > 0) {
			ssize_t got = pread(ri.file->fd, buf, sizeof(buf), (off_t)ri.pos);
			(void)got;
			rn_fileref_put(ri.file);
		}
		atomic_fetch_add(&r->reads, 1);
	}
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	struct env *e = *state;
	for (int i = 0; i < 60; i++)
		rh_put(e->l, 3, 90);
	/* Maintenance closes idle files under the readers (no retention: the data is old). */
	struct rn_log_config c = e->cfg;
	c.retention_ms = -1;
	c.idle_close_ms = 1;
	rn_partition_set_config(e->f, &c);
	struct race r = {.f = e->f};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader, &r), 0);
	for (int i = 0; i < 30; i++) {
		rh_replicate(e->l, e->f, -1, 1000 + 97 * i);
		assert_int_equal(rn_partition_truncate_to(e->f, (i * 37) % 170), 0);
		if (i % 3 == 2)
			assert_int_equal(rn_partition_maintain(e->f, rn_wall_ms() + 10), 0);
	}
	atomic_store(&r.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_true(atomic_load(&r.reads) > 0);
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_same(e->l, e->f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_inside_active_segment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_across_segments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_at_segment_base, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_at_or_above_log_end, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_below_log_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_log_start_inside_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_epoch_cache, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_high_watermark_lowered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reader_of_cut_segment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_time_index_after_cut, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_readers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
