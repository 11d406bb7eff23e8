/* Retention, roll by age, flusher group commit, log dir checkpoints and lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <dirent.h>
#include <pthread.h>

#include "batch_builder.h"
#include "core/clock.h"
#include "core/err.h"
#include "storage/flusher.h"
#include "storage/logdir.h"
#include "storage/partition.h"

static struct rn_log_config cfg(void)
{
	struct rn_log_config c;
	rn_log_config_default(&c);
	c.segment_bytes = 4096;
	c.index_interval_bytes = 256;
	c.segment_index_bytes = 4096;
	return c;
}

static void append_ts(struct rn_partition *p, int n, int64_t ts, int vs)
{
	struct rn_buf b = {0};
	bb_batch(&b, n, ts, vs);
	struct rn_append_info info;
	assert_int_equal(rn_partition_append(p, b.data, b.len, &info), 0);
	rn_buf_free(&b);
}

static int count_logs(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while ((e = readdir(d)))
		n += strstr(e->d_name, ".log") != NULL;
	closedir(d);
	return n;
}

static void test_retention_bytes(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = cfg();
	c.retention_ms = -1;
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	for (int i = 0; i < 100; i++)
		append_ts(p, 2, rn_wall_ms(), 200);
	int segs = count_logs(dir);
	assert_true(segs > 5);
	int64_t now = rn_wall_ms();
	assert_int_equal(rn_partition_maintain(p, now), 0);
	assert_int_equal(count_logs(dir), segs); /* unlimited */
	/* a reader holds the first segment while retention deletes it */
	struct rn_read_info ri;
	assert_int_equal(rn_partition_read(p, 0, 1000, true, &ri), 0);
	c.retention_bytes = 10000;
	rn_partition_set_config(p, &c);
	assert_int_equal(rn_partition_maintain(p, now), 0);
	assert_true(rn_partition_size_bytes(p) >= 10000);
	assert_true(rn_partition_size_bytes(p) < 10000 + 4096);
	int64_t ls = rn_partition_log_start(p);
	assert_true(ls > 0);
	uint8_t hdr[61];
	assert_int_equal(pread(ri.file->fd, hdr, 61, (off_t)ri.pos), 61);
	rn_fileref_put(ri.file);
	struct rn_read_info r2;
	assert_int_equal(rn_partition_read(p, 0, 1000, true, &r2), RN_ERANGE);
	assert_int_equal(rn_partition_read(p, ls, 1000, true, &r2), 0);
	assert_true(r2.len > 0);
	rn_fileref_put(r2.file);
	int64_t end = rn_partition_log_end(p);
	rn_partition_close(p);
	assert_int_equal(rn_partition_open(dir, &c, end, 0, false, &p), 0);
	assert_int_equal(rn_partition_log_start(p), ls);
	assert_int_equal(rn_partition_log_end(p), end);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_retention_time_and_roll(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = cfg();
	c.retention_ms = 3600 * 1000;
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	int64_t now = rn_wall_ms();
	for (int i = 0; i < 40; i++) /* old timestamps: two hours ago */
		append_ts(p, 2, now - 7200 * 1000, 200);
	int64_t old_end = rn_partition_log_end(p);
	for (int i = 0; i < 40; i++)
		append_ts(p, 2, now, 200);
	assert_int_equal(rn_partition_maintain(p, now), 0);
	int64_t ls = rn_partition_log_start(p);
	assert_true(ls > 0 && ls <= old_end);
	/* restart: max timestamps of old segments come from their time index */
	int64_t end = rn_partition_log_end(p);
	rn_partition_close(p);
	assert_int_equal(rn_partition_open(dir, &c, end, ls, false, &p), 0);
	assert_int_equal(rn_partition_maintain(p, now + 1800 * 1000), 0);
	assert_int_equal(rn_partition_log_start(p), ls);
	/* roll by age: the active segment rolls; then everything but the active expires */
	c.roll_ms = 1000;
	rn_partition_set_config(p, &c);
	assert_int_equal(rn_partition_maintain(p, now + 7200 * 1000), 0);
	assert_int_equal(rn_partition_log_start(p), end);
	assert_int_equal(count_logs(dir), 1);
	assert_int_equal(rn_partition_size_bytes(p), 0);
	struct rn_read_info ri;
	assert_int_equal(rn_partition_read(p, end, 1000, true, &ri), 0);
	assert_int_equal(ri.len, 0);
	append_ts(p, 1, now, 10);
	assert_int_equal(rn_partition_log_end(p), end + 1);
	rn_partition_close(p);
	assert_int_equal(rn_partition_open(dir, &c, -1, end, false, &p), 0);
	assert_int_equal(rn_partition_log_start(p), end);
	assert_int_equal(rn_partition_log_end(p), end + 1);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

struct flush_ctx {
	pthread_mutex_t lock;
	int done;
	int errors;
	struct rn_partition *p;
	int64_t need; /* offsets that must be covered */
};

static void on_flush(void *arg, int err)
{
	struct flush_ctx *c = arg;
	pthread_mutex_lock(&c->lock);
	c->done++;
	if (err)
		c->errors++;
	pthread_mutex_unlock(&c->lock);
}

struct producer {
	struct rn_flusher *f;
	struct flush_ctx *ctx;
	int n;
};

static void *produce(void *arg)
{
	struct producer *pr = arg;
	for (int i = 0; i < pr->n; i++) {
		append_ts(pr->ctx->p, 1, 1, 100);
		rn_flusher_submit(pr->f, pr->ctx->p, on_flush, pr->ctx);
	}
	return NULL;
}

static void test_flusher(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = cfg();
	c.segment_bytes = 1 << 20;
	c.flush_messages = 1;
	struct rn_flusher *f;
	assert_int_equal(rn_flusher_start(&f), 0);
	struct flush_ctx ctx = {.lock = PTHREAD_MUTEX_INITIALIZER};
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &ctx.p), 0);
	pthread_t t[4];
	struct producer pr = {f, &ctx, 200};
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, produce, &pr);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 5000; i++) {
		pthread_mutex_lock(&ctx.lock);
		int d = ctx.done;
		pthread_mutex_unlock(&ctx.lock);
		if (d == 800)
			break;
		usleep(1000);
	}
	assert_int_equal(ctx.done, 800);
	assert_int_equal(ctx.errors, 0);
	assert_int_equal(rn_partition_recovery_point(ctx.p), 800);
	assert_int_equal(rn_partition_unflushed_bytes(ctx.p), 0);
	const struct rn_hist *h = rn_flusher_fsync_hist(f);
	/* group commit: fewer fdatasyncs than acks */
	assert_true(h->count > 0 && h->count <= 800);
	rn_flusher_stop(f);
	rn_partition_close(ctx.p);
	bb_rmrf(dir);
	free(dir);
}

struct scan_ctx {
	int n;
	char seen[8][64];
};

static void on_scan(const char *topic, int32_t idx, void *arg)
{
	struct scan_ctx *s = arg;
	snprintf(s->seen[s->n++ % 8], 64, "%s/%d", topic, idx);
}

static void test_logdir(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_logdir *d, *d2;
	assert_int_equal(rn_logdir_open(dir, &d), 0);
	assert_int_equal(rn_logdir_open(dir, &d2), -EBUSY);
	struct rn_log_config c = cfg();
	struct rn_partition *p, *q;
	assert_int_equal(rn_logdir_open_partition(d, "a.b-c", 3, &c, false, &p), -ENOENT);
	assert_int_equal(rn_logdir_open_partition(d, "a.b-c", 3, &c, true, &p), 0);
	assert_int_equal(rn_logdir_open_partition(d, "x", 0, &c, true, &q), 0);
	for (int i = 0; i < 30; i++)
		append_ts(p, 3, 1, 100);
	append_ts(q, 1, 1, 1);
	assert_int_equal(rn_logdir_checkpoint(d), 0);
	char path[600], *buf;
	snprintf(path, sizeof(path), "%s/recovery-point-offset-checkpoint", dir);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char text[512] = {0};
	assert_true(fread(text, 1, sizeof(text) - 1, fp) > 0);
	fclose(fp);
	assert_non_null(strstr(text, "0\n2\n"));
	assert_non_null(strstr(text, "a.b-c 3 "));
	(void)buf;
	struct scan_ctx sc = {0};
	assert_int_equal(rn_logdir_scan(d, on_scan, &sc), 0);
	assert_int_equal(sc.n, 2);
	rn_logdir_close(d);
	snprintf(path, sizeof(path), "%s/log-start-offset-checkpoint", dir);
	assert_int_equal(access(path, F_OK), 0);
	/* reopen: checkpointed recovery point == log end, no recovery */
	assert_int_equal(rn_logdir_open(dir, &d), 0);
	assert_int_equal(rn_logdir_open_partition(d, "a.b-c", 3, &c, false, &p), 0);
	assert_int_equal(rn_partition_log_end(p), 90);
	assert_int_equal(rn_partition_recovery_point(p), 90);
	assert_int_equal(rn_logdir_delete_partition(d, "x", 0), 0);
	snprintf(path, sizeof(path), "%s/x-0", dir);
	assert_int_equal(access(path, F_OK), -1);
	rn_logdir_close(d);
	assert_int_equal(rn_logdir_open(dir, &d), 0);
	sc.n = 0;
	assert_int_equal(rn_logdir_scan(d, on_scan, &sc), 0);
	assert_int_equal(sc.n, 1);
	assert_string_equal(sc.seen[0], "a.b-c/3");
	rn_logdir_close(d);
	bb_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retention_bytes),
	    cmocka_unit_test(test_retention_time_and_roll),
	    cmocka_unit_test(test_flusher),
	    cmocka_unit_test(test_logdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
