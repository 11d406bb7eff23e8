/* ListOffsets by time, record-precise (KIP-79): the first record with timestamp >= target, in
 * batches of every codec, LogAppendTime batches, batches whose header claims more than their
 * records hold, undecodable batches, and from the log start offset on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "batch_builder.h"
#include "core/err.h"
#include "storage/partition.h"

#define T0 1700000000000LL

static const int all_codecs[] = {RN_CODEC_NONE, RN_CODEC_GZIP, RN_CODEC_SNAPPY, RN_CODEC_LZ4,
				 RN_CODEC_ZSTD};
#define NCODECS (sizeof(all_codecs) / sizeof(all_codecs[0]))

static struct rn_log_config cfg(void)
{
	struct rn_log_config c;
	rn_log_config_default(&c);
	c.segment_bytes = 4096;
	c.index_interval_bytes = 256;
	c.segment_index_bytes = 4096;
	return c;
}

/* Appends one batch of six records with timestamps t, t+1000, ..., t+5000; returns its base
 * offset. */
static int64_t append6(struct rn_partition *p, int64_t t, int codec)
{
	struct bb_record r[6];
	static const char *vals[6] = {"zero", "one", "two", "three", "four", "five"};
	for (int i = 0; i < 6; i++)
		r[i] = (struct bb_record){
		    "key", 3, vals[i], (int32_t)strlen(vals[i]), t + i * 1000, i == 2 ? "h" : NULL,
		    "v"};
	struct rn_buf b = {0};
	bb_batch_records_codec(&b, r, 6, codec);
	struct rn_append_info info;
	assert_int_equal(rn_partition_append(p, b.data, b.len, &info), 0);
	rn_buf_free(&b);
	return info.base_offset;
}

static void expect(struct rn_partition *p, int64_t target, int64_t off, int64_t ts)
{
	int64_t o, t;
	assert_int_equal(rn_partition_offset_for_time(p, target, &o, &t), 0);
	assert_int_equal(o, off);
	assert_int_equal(t, ts);
}

static struct rn_partition *open_fresh(char **dir, const struct rn_log_config *c)
{
	*dir = bb_tmpdir();
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(*dir, c, -1, 0, true, &p), 0);
	return p;
}

static void close_rm(struct rn_partition *p, char *dir)
{
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

/* The e2e case: one batch, target between two records. */
static void test_one_batch(void **state)
{
	(void)state;
	struct rn_log_config c = cfg();
	for (size_t k = 0; k < NCODECS; k++) {
		char *dir;
		struct rn_partition *p = open_fresh(&dir, &c);
		append6(p, T0, all_codecs[k]);
		expect(p, T0 + 2500, 3, T0 + 3000);
		expect(p, T0 + 3000, 3, T0 + 3000);
		expect(p, T0, 0, T0);
		expect(p, T0 - 100000, 0, T0);
		expect(p, 0, 0, T0);
		expect(p, T0 + 5000, 5, T0 + 5000);
		expect(p, T0 + 5001, -1, -1);
		close_rm(p, dir);
	}
}

/* Many batches over many segments, mixed codecs, before and after a reopen (old segments are
 * then opened lazily from disk). */
static void test_many_batches(void **state)
{
	(void)state;
	struct rn_log_config c = cfg();
	char *dir;
	struct rn_partition *p = open_fresh(&dir, &c);
	int nb = 120;
	for (int i = 0; i < nb; i++)
		assert_int_equal(append6(p, T0 + 10000 * (int64_t)i, all_codecs[i % NCODECS]),
				 6 * i);
	for (int reopen = 0; reopen < 2; reopen++) {
		for (int i = 0; i < nb; i++) {
			int64_t t = T0 + 10000 * (int64_t)i;
			expect(p, t + 2500, 6 * i + 3, t + 3000);
			expect(p, t, 6 * i, t);
			/* Between batches: the next batch's first record. */
			if (i + 1 < nb)
				expect(p, t + 7000, 6 * (i + 1), t + 10000);
		}
		expect(p, T0 + 10000 * (int64_t)nb, -1, -1);
		int64_t end = rn_partition_log_end(p);
		rn_partition_close(p);
		assert_int_equal(rn_partition_open(dir, &c, end, 0, false, &p), 0);
	}
	close_rm(p, dir);
}

/* LogAppendTime: every record has the batch's max timestamp, so the base offset answers. */
static void test_log_append_time(void **state)
{
	(void)state;
	struct rn_log_config c = cfg();
	c.log_append_time = true;
	for (size_t k = 0; k < NCODECS; k++) {
		char *dir;
		struct rn_partition *p = open_fresh(&dir, &c);
		append6(p, T0, all_codecs[k]);
		struct rn_buf b = {0};
		bb_batch(&b, 3, T0, 10);
		struct rn_append_info info;
		assert_int_equal(rn_partition_append(p, b.data, b.len, &info), 0);
		rn_buf_free(&b);
		assert_int_equal(info.base_offset, 6);
		/* The first batch got an earlier (or equal) append time than the second. */
		int64_t off, ts;
		assert_int_equal(rn_partition_offset_for_time(p, T0 + 2500, &off, &ts), 0);
		assert_int_equal(off, 0);
		assert_true(ts > T0 && ts <= info.log_append_time);
		expect(p, info.log_append_time, ts == info.log_append_time ? 0 : 6,
		       info.log_append_time);
		expect(p, info.log_append_time + 1, -1, -1);
		close_rm(p, dir);
	}
}

/* Rewrites the max timestamp of the batch at b (CreateTime: the client's claim) and its CRC. */
static void set_max_ts(uint8_t *b, size_t n, int64_t ts)
{
	rn_put_be64(b + RN_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)ts);
	rn_put_be32(b + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, b + RN_BATCH_OFF_ATTRIBUTES, n - RN_BATCH_OFF_ATTRIBUTES));
}

/* A batch whose header claims a max timestamp none of its records has: the search goes on with
 * the next batch, as Kafka's does. */
static void test_lying_max_timestamp(void **state)
{
	(void)state;
	struct rn_log_config c = cfg();
	for (size_t k = 0; k < NCODECS; k++) {
		char *dir;
		struct rn_partition *p = open_fresh(&dir, &c);
		struct bb_record r[2] = {{NULL, 0, "a", 1, T0, NULL, NULL},
					 {NULL, 0, "b", 1, T0 + 1, NULL, NULL}};
		struct rn_buf b = {0};
		size_t n = bb_batch_records_codec(&b, r, 2, all_codecs[k]);
		set_max_ts(b.data, n, T0 + 99999);
		struct rn_append_info info;
		assert_int_equal(rn_partition_append(p, b.data, b.len, &info), 0);
		rn_buf_free(&b);
		append6(p, T0 + 10000, all_codecs[k]);
		expect(p, T0 + 1, 1, T0 + 1);
		expect(p, T0 + 5000, 2, T0 + 10000);
		expect(p, T0 + 20000, -1, -1);
		close_rm(p, dir);
	}
}

/* A compressed batch whose stream does not decode (the broker stores batches opaquely, so a
 * client can produce one with a valid CRC) answers with its base offset and max timestamp,
 * which is never later than the exact answer. */
static void test_undecodable(void **state)
{
	(void)state;
	struct rn_log_config c = cfg();
	for (size_t k = 1; k < NCODECS; k++) {
		char *dir;
		struct rn_partition *p = open_fresh(&dir, &c);
		append6(p, T0, all_codecs[k]);
		struct rn_buf b = {0};
		size_t start = b.len;
		struct bb_record r[6];
		for (int i = 0; i < 6; i++)
			r[i] =
			    (struct bb_record){NULL, 0, "v", 1, T0 + 10000 + i * 1000, NULL, NULL};
		size_t n = bb_batch_records_codec(&b, r, 6, all_codecs[k]);
		for (size_t i = start + RN_BATCH_HEADER_SIZE; i < n; i++)
			b.data[i] = (uint8_t)(i * 131 + 7);
		set_max_ts(b.data, n, T0 + 15000);
		struct rn_append_info info;
		assert_int_equal(rn_partition_append(p, b.data, b.len, &info), 0);
		rn_buf_free(&b);
		expect(p, T0 + 2500, 3, T0 + 3000);
		expect(p, T0 + 12500, 6, T0 + 15000);
		close_rm(p, dir);
	}
}

/* Records below the log start offset are gone even when their batch is still on disk. */
static void test_log_start_inside_batch(void **state)
{
	(void)state;
	struct rn_log_config c = cfg();
	char *dir;
	struct rn_partition *p = open_fresh(&dir, &c);
	append6(p, T0, RN_CODEC_LZ4);
	int64_t end = rn_partition_log_end(p);
	rn_partition_close(p);
	assert_int_equal(rn_partition_open(dir, &c, end, 2, false, &p), 0);
	assert_int_equal(rn_partition_log_start(p), 2);
	expect(p, T0, 2, T0 + 2000);
	expect(p, T0 + 3500, 4, T0 + 4000);
	close_rm(p, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_batch),       cmocka_unit_test(test_many_batches),
	    cmocka_unit_test(test_log_append_time), cmocka_unit_test(test_lying_max_timestamp),
	    cmocka_unit_test(test_undecodable),     cmocka_unit_test(test_log_start_inside_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
