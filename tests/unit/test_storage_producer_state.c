/* Idempotent producers: sequence checks, the 5-batch dedup window, epochs, wrap, snapshots,
 * rebuild after a clean and an unclean stop, expiry; and the table itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "batch_builder.h"
#include "core/clock.h"
#include "core/err.h"
#include "storage/partition.h"
#include "storage/producer_state.h"

static struct rn_log_config small_cfg(void)
{
	struct rn_log_config c;
	rn_log_config_default(&c);
	c.segment_bytes = 4096;
	c.index_interval_bytes = 512;
	c.segment_index_bytes = 4096;
	return c;
}

/* A batch of n records from producer (pid, epoch) starting at sequence seq. */
static void idem_batch(struct rn_buf *b, int n, int64_t pid, int16_t epoch, int32_t seq)
{
	rn_buf_reset(b);
	bb_batch(b, n, 1000, 100);
	uint8_t *p = b->data;
	rn_put_be64(p + RN_BATCH_OFF_PRODUCER_ID, (uint64_t)pid);
	p[RN_BATCH_OFF_PRODUCER_EPOCH] = (uint8_t)((uint16_t)epoch >> 8);
	p[RN_BATCH_OFF_PRODUCER_EPOCH + 1] = (uint8_t)epoch;
	rn_put_be32(p + RN_BATCH_OFF_BASE_SEQUENCE, (uint32_t)seq);
	rn_put_be32(p + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, p + RN_BATCH_OFF_ATTRIBUTES, b->len - RN_BATCH_OFF_ATTRIBUTES));
}

/* Appends; returns the rn_partition_append code, *info filled. */
static int put(struct rn_partition *p, int n, int64_t pid, int16_t epoch, int32_t seq,
	       struct rn_append_info *info)
{
	struct rn_buf b = {0};
	idem_batch(&b, n, pid, epoch, seq);
	int rc = rn_partition_append(p, b.data, b.len, info);
	rn_buf_free(&b);
	return rc;
}

/* Appends and expects a fresh append; returns its base offset. */
static int64_t put_ok(struct rn_partition *p, int n, int64_t pid, int16_t epoch, int32_t seq)
{
	struct rn_append_info info;
	assert_int_equal(put(p, n, pid, epoch, seq, &info), 0);
	assert_false(info.duplicate);
	assert_int_equal(info.last_offset, info.base_offset + n - 1);
	return info.base_offset;
}

/* Expects a duplicate answered with base offset base, nothing written. */
static void put_dup(struct rn_partition *p, int n, int64_t pid, int16_t epoch, int32_t seq,
		    int64_t base)
{
	int64_t end = rn_partition_log_end(p);
	struct rn_append_info info;
	assert_int_equal(put(p, n, pid, epoch, seq, &info), 0);
	assert_true(info.duplicate);
	assert_int_equal(info.base_offset, base);
	assert_int_equal(info.last_offset, base + n - 1);
	assert_int_equal(rn_partition_log_end(p), end);
}

static void put_err(struct rn_partition *p, int n, int64_t pid, int16_t epoch, int32_t seq, int err)
{
	int64_t end = rn_partition_log_end(p);
	struct rn_append_info info;
	assert_int_equal(put(p, n, pid, epoch, seq, &info), err);
	assert_int_equal(rn_partition_log_end(p), end);
}

static struct rn_partition *open_dir(const char *dir, const struct rn_log_config *c, bool create)
{
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, c, -1, 0, create, &p), 0);
	return p;
}

static void test_in_order_gap_epoch(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = small_cfg();
	struct rn_partition *p = open_dir(dir, &c, true);
	/* A plain batch first: producers without an id are not affected. */
	struct rn_buf b = {0};
	bb_batch(&b, 2, 1000, 10);
	struct rn_append_info info;
	assert_int_equal(rn_partition_append(p, b.data, b.len, &info), 0);
	assert_int_equal(rn_partition_append(p, b.data, b.len, &info), 0);
	assert_false(info.duplicate);
	rn_buf_free(&b);
	/* New producer: any first sequence. */
	assert_int_equal(put_ok(p, 3, 7, 0, 10), 4);
	assert_int_equal(put_ok(p, 2, 7, 0, 13), 7);
	put_err(p, 1, 7, 0, 16, RN_EOUTOFORDER); /* gap */
	put_err(p, 1, 7, 0, 14, RN_EOUTOFORDER); /* overlaps, not a cached batch */
	put_err(p, 1, 7, 0, 0, RN_EOUTOFORDER);
	assert_int_equal(put_ok(p, 1, 7, 0, 15), 9);
	/* Another producer is independent. */
	assert_int_equal(put_ok(p, 1, 8, 3, 0), 10);
	/* Epochs: older fenced, newer must restart at 0 (librdkafka bumps locally). */
	put_err(p, 1, 8, 2, 1, RN_EPRODUCER_EPOCH);
	put_err(p, 1, 8, 4, 1, RN_EOUTOFORDER);
	assert_int_equal(put_ok(p, 1, 8, 4, 0), 11);
	put_err(p, 1, 8, 3, 1, RN_EPRODUCER_EPOCH);
	/* The old epoch's batches are forgotten: its retry is fenced, not a duplicate. */
	put_err(p, 1, 8, 3, 0, RN_EPRODUCER_EPOCH);
	/* Two batches with a producer id in one append: refused as Kafka does. */
	struct rn_buf two = {0};
	idem_batch(&two, 1, 7, 0, 16);
	struct rn_buf one = {0};
	idem_batch(&one, 1, 7, 0, 17);
	rn_buf_append(&two, one.data, one.len);
	assert_int_equal(rn_partition_append(p, two.data, two.len, &info), RN_EINVALID);
	rn_buf_free(&two);
	rn_buf_free(&one);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_duplicates_window(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = small_cfg();
	struct rn_partition *p = open_dir(dir, &c, true);
	int64_t base[6];
	for (int i = 0; i < 6; i++)
		base[i] = put_ok(p, 2, 42, 1, 2 * i);
	/* Each of the last 5 batches: success with its original offsets, nothing appended. */
	for (int i = 1; i < 6; i++)
		put_dup(p, 2, 42, 1, 2 * i, base[i]);
	/* Older than the window: Kafka answers OUT_OF_ORDER_SEQUENCE_NUMBER. */
	put_err(p, 2, 42, 1, 0, RN_EOUTOFORDER);
	/* Same first sequence, different length: not the same batch. */
	put_err(p, 1, 42, 1, 10, RN_EOUTOFORDER);
	/* Continues normally. */
	assert_int_equal(put_ok(p, 1, 42, 1, 12), base[5] + 2);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_sequence_wrap(void **state)
{
	(void)state;
	assert_int_equal(rn_ps_last_seq(INT32_MAX, 0), INT32_MAX);
	assert_int_equal(rn_ps_last_seq(INT32_MAX, 1), 0);
	assert_int_equal(rn_ps_last_seq(INT32_MAX - 1, 3), 1);
	char *dir = bb_tmpdir();
	struct rn_log_config c = small_cfg();
	struct rn_partition *p = open_dir(dir, &c, true);
	put_ok(p, 1, 5, 0, INT32_MAX - 2);
	int64_t b = put_ok(p, 3, 5, 0, INT32_MAX - 1); /* INT32_MAX-1, INT32_MAX, 0 */
	put_dup(p, 3, 5, 0, INT32_MAX - 1, b);
	put_err(p, 1, 5, 0, 0, RN_EOUTOFORDER);
	put_ok(p, 1, 5, 0, 1);
	/* A single record at INT32_MAX is followed by 0. */
	put_ok(p, 1, 6, 0, INT32_MAX);
	put_ok(p, 1, 6, 0, 0);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_restart_clean(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = small_cfg();
	struct rn_partition *p = open_dir(dir, &c, true);
	int64_t b0 = put_ok(p, 2, 9, 0, 0);
	int64_t b1 = put_ok(p, 2, 9, 0, 2);
	rn_partition_close(p);
	p = open_dir(dir, &c, false);
	put_dup(p, 2, 9, 0, 2, b1);
	put_dup(p, 2, 9, 0, 0, b0);
	put_err(p, 1, 9, 0, 5, RN_EOUTOFORDER);
	int64_t b2 = put_ok(p, 1, 9, 0, 4);
	rn_partition_close(p);
	/* Again, with the snapshot now at a later offset. */
	p = open_dir(dir, &c, false);
	put_dup(p, 1, 9, 0, 4, b2);
	put_dup(p, 2, 9, 0, 2, b1);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void copy_dir(const char *from, const char *to)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", from, to);
	assert_int_equal(system(cmd), 0);
}

static int count_snapshots(const char *dir)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c '\\.snapshot$'", dir);
	FILE *f = popen(cmd, "r");
	int n = -1;
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	return n;
}

/* A crash: the directory as it is while the partition is open (everything written is in the
 * page cache, no shutdown snapshot), opened elsewhere. Rolls took snapshots; the batches after
 * the last one are replayed from the log. */
static void test_crash_snapshot_and_tail(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = small_cfg();
	char live[600], crashed[600];
	snprintf(live, sizeof(live), "%s/live", dir);
	snprintf(crashed, sizeof(crashed), "%s/crashed", dir);
	struct rn_partition *p = open_dir(live, &c, true);
	int64_t base[40];
	int32_t seq = 0;
	for (int i = 0; i < 40; i++) {
		/* Three producers interleaved: 1 and 2 stop early, 3 writes to the end. */
		int64_t pid = i < 10 ? 1 + i % 2 : 3;
		int32_t s = pid == 3 ? seq : i / 2;
		base[i] = put_ok(p, 2, pid, 0, pid == 3 ? s : 2 * s);
		if (pid == 3)
			seq += 2;
	}
	assert_true(count_snapshots(live) >= 1);
	assert_true(count_snapshots(live) <= 2);
	copy_dir(live, crashed);
	rn_partition_close(p);
	struct rn_partition *q = open_dir(crashed, &c, false);
	assert_int_equal(rn_partition_log_end(q), base[39] + 2);
	/* Last batch of producer 3 (after the last roll snapshot) and producers 1 and 2 (from the
	 * snapshot, written in the first segment). */
	put_dup(q, 2, 3, 0, seq - 2, base[39]);
	put_dup(q, 2, 1, 0, 8, base[8]);
	put_dup(q, 2, 2, 0, 8, base[9]);
	put_ok(q, 1, 3, 0, seq);
	rn_partition_close(q);
	bb_rmrf(crashed);
	/* Without any snapshot the last two segments are replayed: producer 3 still known. */
	copy_dir(live, crashed);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "rm -f '%s'/*.snapshot", crashed);
	assert_int_equal(system(cmd), 0);
	q = open_dir(crashed, &c, false);
	put_dup(q, 2, 3, 0, seq - 2, base[39]);
	rn_partition_close(q);
	/* A torn snapshot is ignored (an older one or the log is used instead). */
	bb_rmrf(crashed);
	copy_dir(live, crashed);
	snprintf(cmd, sizeof(cmd), "for f in '%s'/*.snapshot; do printf 'garbage' > \"$f\"; done",
		 crashed);
	assert_int_equal(system(cmd), 0);
	q = open_dir(crashed, &c, false);
	put_dup(q, 2, 3, 0, seq - 2, base[39]);
	rn_partition_close(q);
	bb_rmrf(dir);
	free(dir);
}

/* A snapshot above the log end (the log was cut by recovery) must not be used. */
static void test_snapshot_beyond_log_end(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = small_cfg();
	struct rn_partition *p = open_dir(dir, &c, true);
	put_ok(p, 2, 11, 0, 0);
	int64_t end = rn_partition_log_end(p);
	int64_t b = put_ok(p, 2, 11, 0, 2);
	rn_partition_close(p);
	/* Cut the last batch off, as recovery does with a torn tail. */
	char log[700];
	snprintf(log, sizeof(log), "%s/%020d.log", dir, 0);
	struct stat st;
	assert_int_equal(stat(log, &st), 0);
	assert_int_equal(truncate(log, st.st_size - 1), 0);
	p = open_dir(dir, &c, false);
	assert_int_equal(rn_partition_log_end(p), end);
	/* The batch is gone, so its retry is appended again rather than acknowledged. */
	assert_int_equal(put_ok(p, 2, 11, 0, 2), b);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_expiry(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = small_cfg();
	c.producer_id_expiration_ms = 60000;
	struct rn_partition *p = open_dir(dir, &c, true);
	int64_t b = put_ok(p, 1, 21, 0, 0);
	int64_t now = rn_wall_ms();
	assert_int_equal(rn_partition_maintain(p, now + 1000), 0);
	put_dup(p, 1, 21, 0, 0, b);
	assert_int_equal(rn_partition_maintain(p, now + 120000), 0);
	/* Forgotten: any sequence goes (Kafka: no OUT_OF_ORDER after expiry). */
	put_ok(p, 1, 21, 0, 77);
	put_ok(p, 1, 21, 0, 78);
	rn_partition_close(p);
	/* Expired producers in a snapshot are dropped when it is loaded. */
	c.producer_id_expiration_ms = 1;
	usleep(5000);
	p = open_dir(dir, &c, false);
	put_ok(p, 1, 21, 0, 500);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

/* The table alone: growth, removal with backward shifts, encode/decode. */
static void test_table(void **state)
{
	(void)state;
	struct rn_producer_state ps;
	rn_ps_init(&ps);
	for (int64_t pid = 0; pid < 1000; pid++) {
		struct rn_ps_batch b = {0, (int32_t)pid % 7, pid * 10, pid * 10 + pid % 7};
		rn_ps_record(&ps, rn_ps_find(&ps, pid), pid, (int16_t)(pid % 3), &b,
			     pid % 2 ? 1000 : 5000);
	}
	assert_int_equal(ps.n, 1000);
	struct rn_buf enc = {0};
	rn_ps_encode(&ps, &enc);
	ps.next_expiry_ms = 0;
	assert_int_equal(rn_ps_expire(&ps, 3000, 2000), 500);
	assert_int_equal(ps.n, 500);
	for (int64_t pid = 0; pid < 1000; pid++) {
		struct rn_ps_entry *e = rn_ps_find(&ps, pid);
		if (pid % 2) {
			assert_null(e);
			continue;
		}
		assert_non_null(e);
		struct rn_ps_batch dup;
		assert_int_equal(rn_ps_check(e, (int16_t)(pid % 3), 0, (int32_t)pid % 7, &dup),
				 RN_EDUPLICATE);
		assert_int_equal(dup.first_offset, pid * 10);
	}
	assert_int_equal(ps.next_expiry_ms, 7000);
	struct rn_producer_state ps2;
	rn_ps_init(&ps2);
	assert_int_equal(rn_ps_decode(&ps2, enc.data, enc.len, 3000, 2000), 0);
	assert_int_equal(ps2.n, 500);
	assert_non_null(rn_ps_find(&ps2, 998));
	assert_null(rn_ps_find(&ps2, 999));
	enc.data[enc.len - 1] ^= 1;
	assert_int_equal(rn_ps_decode(&ps2, enc.data, enc.len, 3000, 2000), RN_ECORRUPT);
	assert_int_equal(ps2.n, 0);
	assert_int_equal(rn_ps_decode(&ps2, enc.data, 10, 3000, 2000), RN_ECORRUPT);
	rn_buf_free(&enc);
	rn_ps_free(&ps);
	rn_ps_free(&ps2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_order_gap_epoch),
	    cmocka_unit_test(test_duplicates_window),
	    cmocka_unit_test(test_sequence_wrap),
	    cmocka_unit_test(test_restart_clean),
	    cmocka_unit_test(test_crash_snapshot_and_tail),
	    cmocka_unit_test(test_snapshot_beyond_log_end),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
