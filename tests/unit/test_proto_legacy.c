/* Legacy message sets (magic 0/1): conversion to v2 batches (Produce) and down to magic 0/1
 * (Fetch v0-v3), every codec, and every way a client's bytes can be wrong. The sets are built
 * here independently of the code under test (lm_*), as kafka-python writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>

#include "batch_builder.h"
#include "core/err.h"
#include "proto/compress.h"
#include "proto/legacy_records.h"

/* One legacy message (offset, size, crc, magic, attr, [ts], key, value). */
static void lm_msg(struct rn_buf *b, int8_t magic, int64_t off, uint8_t attr, int64_t ts,
		   const void *key, int32_t klen, const void *val, int32_t vlen)
{
	uint8_t h[26];
	size_t start = b->len;
	rn_put_be64(h, (uint64_t)off);
	size_t size =
	    4 + 2 + (magic ? 8 : 0) + 4 + (key ? (size_t)klen : 0) + 4 + (val ? (size_t)vlen : 0);
	rn_put_be32(h + 8, (uint32_t)size);
	h[16] = (uint8_t)magic;
	h[17] = attr;
	rn_put_be64(h + 18, (uint64_t)ts);
	rn_buf_append(b, h, magic ? 26 : 18);
	uint8_t l[4];
	rn_put_be32(l, key ? (uint32_t)klen : (uint32_t)-1);
	rn_buf_append(b, l, 4);
	if (key)
		rn_buf_append(b, key, (size_t)klen);
	rn_put_be32(l, val ? (uint32_t)vlen : (uint32_t)-1);
	rn_buf_append(b, l, 4);
	if (val)
		rn_buf_append(b, val, (size_t)vlen);
	uint8_t *p = b->data + start;
	rn_put_be32(p + 12, (uint32_t)crc32(0, p + 16, (uInt)(size - 4)));
}

/* n messages: key "k<i>" (null for i % 3 == 2), value "value-<i>" (empty for i % 5 == 4),
 * timestamps ts0 + i, offsets 0..n-1 (relative, as a magic 1 producer writes them). */
static void lm_set(struct rn_buf *b, int8_t magic, int n, int64_t ts0)
{
	for (int i = 0; i < n; i++) {
		char k[16], v[32];
		int kl = snprintf(k, sizeof(k), "k%d", i),
		    vl = snprintf(v, sizeof(v), "value-%d", i);
		lm_msg(b, magic, i, 0, ts0 + i, i % 3 == 2 ? NULL : k, kl, v, i % 5 == 4 ? 0 : vl);
	}
}

/* Compresses what b holds into one wrapper message of codec; lz4 for magic 0 with Kafka
 * 0.8-0.9's broken header checksum (as kafka-python's lz4_encode_old_kafka), snappy xerial
 * framed when xerial (Java, kafka-python) or raw (librdkafka). */
static void lm_wrap(struct rn_buf *b, int8_t magic, int codec, bool xerial, int64_t ts,
		    uint8_t tsattr)
{
	struct rn_buf z = {0};
	if (codec == RN_CODEC_SNAPPY && xerial) {
		static const uint8_t hdr[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
						0,    0,   0,   1,   0,   0,   0,   1};
		rn_buf_append(&z, hdr, 16);
		size_t cap = snappy_max_compressed_length(b->len);
		uint8_t *dst = rn_buf_reserve(&z, cap + 4);
		assert_int_equal(snappy_compress((char *)b->data, b->len, (char *)dst + 4, &cap),
				 SNAPPY_OK);
		rn_put_be32(dst, (uint32_t)cap);
		z.len += cap + 4;
	} else {
		assert_int_equal(rn_compress(codec, b->data, b->len, &z), 0);
	}
	if (codec == RN_CODEC_LZ4 && magic == 0) {
		/* Broken checksum: the second byte of XXH32 over magic number + descriptor; we
		 * simply flip the correct one so it is certainly wrong for liblz4. */
		size_t pos = 6 + ((z.data[4] & 0x08) ? 8 : 0);
		z.data[pos] ^= 0x5a;
	}
	rn_buf_reset(b);
	lm_msg(b, magic, 9, (uint8_t)(codec | tsattr), ts, NULL, 0, z.data, (int32_t)z.len);
	rn_buf_free(&z);
}

/* Checks that v2[0..len) holds exactly the records of lm_set(n, ts0) (offsets from 0). */
static void check_v2(const uint8_t *v2, size_t len, int n, int64_t ts0, int codec, bool no_ts)
{
	struct rn_buf scratch = {0};
	int seen = 0;
	for (size_t off = 0; off < len;) {
		struct rn_batch_header h;
		int64_t total = rn_batch_validate(v2 + off, len - off, 0, &h);
		assert_true(total > 0);
		assert_int_equal(h.attributes & 7, codec);
		assert_int_equal(h.producer_id, -1);
		struct rn_record_iter it;
		assert_int_equal(
		    rn_record_iter_init_any(&it, v2 + off, (size_t)total, &scratch, 1 << 20), 0);
		struct rn_record r;
		int rc;
		while ((rc = rn_record_iter_next(&it, &r)) == 1) {
			int i = seen++;
			char k[16], v[32];
			int kl = snprintf(k, sizeof(k), "k%d", i);
			int vl = snprintf(v, sizeof(v), "value-%d", i);
			if (i % 3 == 2) {
				assert_int_equal(r.key_len, -1);
			} else {
				assert_int_equal(r.key_len, kl);
				assert_memory_equal(r.key, k, (size_t)kl);
			}
			assert_int_equal(r.value_len, i % 5 == 4 ? 0 : vl);
			if (i % 5 != 4)
				assert_memory_equal(r.value, v, (size_t)vl);
			assert_int_equal(r.timestamp, no_ts ? -1 : ts0 + i);
			assert_int_equal(r.header_count, 0);
		}
		assert_int_equal(rc, 0);
		off += (size_t)total;
	}
	assert_int_equal(seen, n);
	rn_buf_free(&scratch);
}

static const struct rn_legacy_in dflt = {1048588, false};

static void test_detect(void **state)
{
	(void)state;
	struct rn_buf b = {0};
	lm_set(&b, 1, 1, 1000);
	assert_true(rn_legacy_is_set(b.data, b.len));
	rn_buf_reset(&b);
	lm_set(&b, 0, 1, 0);
	assert_true(rn_legacy_is_set(b.data, b.len));
	rn_buf_reset(&b);
	bb_batch(&b, 2, 1000, 10);
	assert_false(rn_legacy_is_set(b.data, b.len));
	assert_false(rn_legacy_is_set(b.data, 16));
	rn_buf_free(&b);
	/* zlib's crc32 of "123456789" (the CRC-32/IEEE check value). */
	assert_int_equal(rn_crc32(0, (const uint8_t *)"123456789", 9), 0xcbf43926u);
}

/* Uncompressed sets of both magics, and every codec as a wrapper, into v2. */
static void test_to_v2_all_codecs(void **state)
{
	(void)state;
	for (int8_t magic = 0; magic <= 1; magic++) {
		for (int codec = 0; codec <= RN_CODEC_ZSTD; codec++) {
			for (int xerial = 0; xerial <= (codec == RN_CODEC_SNAPPY); xerial++) {
				struct rn_buf in = {0}, out = {0};
				lm_set(&in, magic, 50, 1700000000000);
				if (codec)
					lm_wrap(&in, magic, codec, xerial, 1700000000049, 0);
				assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), 0);
				check_v2(out.data, out.len, 50, 1700000000000, codec, magic == 0);
				rn_buf_free(&in);
				rn_buf_free(&out);
			}
		}
	}
}

/* A LogAppendTime wrapper's inner messages take the wrapper's timestamp. */
static void test_wrapper_log_append_time(void **state)
{
	(void)state;
	struct rn_buf in = {0}, out = {0};
	lm_set(&in, 1, 3, 5);
	lm_wrap(&in, 1, RN_CODEC_GZIP, false, 777, RN_LEGACY_ATTR_LOG_APPEND_TIME);
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), 0);
	struct rn_batch_header h;
	assert_true(rn_batch_validate(out.data, out.len, 0, &h) > 0);
	assert_int_equal(h.base_timestamp, 777);
	assert_int_equal(h.max_timestamp, 777);
	/* ... but a LogAppendTime topic refuses a producer's LogAppendTime (INVALID_TIMESTAMP). */
	struct rn_legacy_in lat = {0, true};
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &lat, &out), RN_EBADTIMESTAMP);
	rn_buf_free(&in);
	rn_buf_free(&out);
}

/* Down-conversion of v2 batches (all codecs, LogAppendTime, skipped offsets), then back up:
 * the records survive both ways. */
static void test_round_trip(void **state)
{
	(void)state;
	for (int8_t magic = 0; magic <= 1; magic++) {
		for (int codec = 0; codec <= RN_CODEC_ZSTD; codec++) {
			struct rn_buf v2 = {0}, legacy = {0}, back = {0}, scratch = {0};
			struct bb_record recs[40];
			char keys[40][8], vals[40][16];
			for (int i = 0; i < 40; i++) {
				int kl = snprintf(keys[i], 8, "k%d", i);
				int vl = snprintf(vals[i], 16, "value-%d", i);
				recs[i] = (struct bb_record){i % 3 == 2 ? NULL : keys[i],
							     kl,
							     vals[i],
							     i % 5 == 4 ? 0 : vl,
							     1000 + i,
							     "h",
							     "v"};
			}
			bb_batch_records(&v2, recs, 40);
			if (codec)
				bb_compress_last(&v2, 0, codec);
			rn_batch_set_base_offset(v2.data, 100);
			assert_int_equal(
			    rn_legacy_from_v2(v2.data, v2.len, magic, 0, &scratch, &legacy), 40);
			/* Wrapper (or last message) offset: the absolute offset of the last. */
			if (codec && codec != RN_CODEC_ZSTD) {
				assert_int_equal(rn_legacy_msg_size(legacy.data, legacy.len),
						 legacy.len);
				assert_int_equal((int64_t)rn_be64(legacy.data), 139);
				assert_int_equal(legacy.data[17] & 7, codec);
			}
			if (codec == RN_CODEC_LZ4 && magic == 0) {
				/* Kafka's broken header checksum: liblz4 refuses the value. */
				struct rn_buf z = {0};
				size_t vpos = 12 + 6 + 4 + 4; /* null key, value length */
				assert_int_not_equal(rn_decompress(RN_CODEC_LZ4, legacy.data + vpos,
								   legacy.len - vpos, &z, 1 << 20),
						     0);
				rn_buf_free(&z);
			}
			assert_int_equal(rn_legacy_to_v2(legacy.data, legacy.len, &dflt, &back), 0);
			check_v2(back.data, back.len, 40, 1000, codec == RN_CODEC_ZSTD ? 0 : codec,
				 magic == 0);
			rn_buf_free(&v2);
			rn_buf_free(&legacy);
			rn_buf_free(&back);
			rn_buf_free(&scratch);
		}
	}
}

/* Uncompressed down-conversion skips records below the fetch offset; control batches vanish;
 * LogAppendTime shows in magic 1. */
static void test_down_details(void **state)
{
	(void)state;
	struct rn_buf v2 = {0}, out = {0}, scratch = {0};
	bb_batch(&v2, 10, 50, 4);
	rn_batch_set_base_offset(v2.data, 20);
	rn_batch_set_log_append_time(v2.data, 4242);
	assert_int_equal(rn_legacy_from_v2(v2.data, v2.len, 1, 25, &scratch, &out), 5);
	int n = 0;
	for (size_t off = 0; off < out.len; n++) {
		size_t m = rn_legacy_msg_size(out.data + off, out.len - off);
		assert_true(m > 0);
		assert_int_equal((int64_t)rn_be64(out.data + off), 25 + n);
		assert_int_equal(out.data[off + 17], RN_LEGACY_ATTR_LOG_APPEND_TIME);
		assert_int_equal((int64_t)rn_be64(out.data + off + 18), 4242);
		off += m;
	}
	assert_int_equal(n, 5);
	/* A control batch converts to nothing. */
	rn_buf_reset(&out);
	v2.data[RN_BATCH_OFF_ATTRIBUTES + 1] |= RN_BATCH_ATTR_CONTROL;
	rn_put_be32(v2.data + RN_BATCH_OFF_CRC, rn_crc32c(0, v2.data + RN_BATCH_OFF_ATTRIBUTES,
							  v2.len - RN_BATCH_OFF_ATTRIBUTES));
	assert_int_equal(rn_legacy_from_v2(v2.data, v2.len, 0, 0, &scratch, &out), 0);
	assert_int_equal(out.len, 0);
	/* Not a batch. */
	v2.data[5] ^= 1;
	assert_int_equal(rn_legacy_from_v2(v2.data, v2.len - 1, 0, 0, &scratch, &out), RN_ECORRUPT);
	rn_buf_free(&v2);
	rn_buf_free(&out);
	rn_buf_free(&scratch);
}

/* Every error Kafka gives a bad legacy set. */
static void test_errors(void **state)
{
	(void)state;
	struct rn_buf in = {0}, out = {0}, inner = {0};
	/* Corrupt CRC. */
	lm_set(&in, 1, 3, 0);
	in.data[in.len - 1] ^= 1;
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), RN_ECORRUPT);
	assert_int_equal(out.len, 0);
	/* Mixed magics. */
	rn_buf_reset(&in);
	lm_set(&in, 1, 2, 0);
	lm_set(&in, 0, 1, 0);
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), RN_EBADRECORD);
	/* A message over max.message.bytes. */
	struct rn_legacy_in small = {30, false};
	rn_buf_reset(&in);
	lm_set(&in, 1, 1, 0);
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &small, &out), RN_ETOOLARGE);
	/* Nested compression: a wrapper inside a wrapper. */
	rn_buf_reset(&in);
	lm_set(&in, 1, 2, 0);
	lm_wrap(&in, 1, RN_CODEC_GZIP, false, 0, 0);
	lm_wrap(&in, 1, RN_CODEC_GZIP, false, 0, 0);
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), RN_EBADRECORD);
	/* Inner magic differs from the wrapper's. */
	rn_buf_reset(&in);
	lm_set(&in, 0, 2, 0);
	lm_wrap(&in, 1, RN_CODEC_GZIP, false, 0, 0);
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), RN_EBADRECORD);
	/* Two wrappers in one set, or a wrapper after a plain message. */
	rn_buf_reset(&in);
	lm_set(&in, 1, 2, 0);
	lm_wrap(&in, 1, RN_CODEC_GZIP, false, 0, 0);
	rn_buf_append(&inner, in.data, in.len);
	rn_buf_append(&in, inner.data, inner.len);
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), RN_EBADRECORD);
	rn_buf_reset(&in);
	lm_set(&in, 1, 1, 0);
	rn_buf_append(&in, inner.data, inner.len);
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), RN_EBADRECORD);
	/* Undecodable compressed value, null value, codec 5. */
	rn_buf_reset(&in);
	lm_msg(&in, 1, 0, RN_CODEC_GZIP, 0, NULL, 0, "garbage", 7);
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), RN_ECORRUPT);
	rn_buf_reset(&in);
	lm_msg(&in, 1, 0, RN_CODEC_GZIP, 0, NULL, 0, NULL, 0);
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), RN_ECORRUPT);
	rn_buf_reset(&in);
	lm_msg(&in, 1, 0, 5, 0, NULL, 0, "x", 1);
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), RN_ECORRUPT);
	/* An empty wrapper. */
	rn_buf_reset(&in);
	lm_wrap(&in, 1, RN_CODEC_GZIP, false, 0, 0);
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), RN_ECORRUPT);
	/* A huge size field, a negative one, a key length past the end. */
	rn_buf_reset(&in);
	lm_set(&in, 1, 1, 0);
	rn_put_be32(in.data + 8, 0x7fffffff);
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), RN_ECORRUPT);
	rn_put_be32(in.data + 8, 0x80000000u);
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), RN_ECORRUPT);
	rn_buf_reset(&in);
	lm_msg(&in, 1, 0, 0, 0, "k", 1, "v", 1);
	rn_put_be32(in.data + 26, 1000);
	rn_put_be32(in.data + 12, (uint32_t)crc32(0, in.data + 16, (uInt)(in.len - 16)));
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), RN_ECORRUPT);
	assert_int_equal(out.len, 0);
	rn_buf_free(&in);
	rn_buf_free(&out);
	rn_buf_free(&inner);
}

/* Every truncation of valid sets (plain and wrapped) inside a message fails cleanly with
 * nothing produced. */
static void test_truncated(void **state)
{
	(void)state;
	for (int codec = 0; codec <= RN_CODEC_LZ4; codec++) {
		struct rn_buf in = {0}, out = {0};
		lm_set(&in, 1, 4, 0);
		if (codec)
			lm_wrap(&in, 1, codec, true, 0, 0);
		bool boundary[512] = {false};
		assert_true(in.len < 512);
		for (size_t off = 0; off < in.len;)
			boundary[off += rn_legacy_msg_size(in.data + off, in.len - off)] = true;
		for (size_t n = 0; n < in.len; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			memcpy(copy, in.data, n);
			int rc = rn_legacy_to_v2(copy, n, &dflt, &out);
			/* Cut between two messages, what is left is a valid (shorter) set. */
			if (boundary[n]) {
				assert_int_equal(rc, 0);
				rn_buf_reset(&out);
			} else {
				assert_true(rc < 0);
				assert_int_equal(out.len, 0);
			}
			free(copy);
		}
		rn_buf_free(&in);
		rn_buf_free(&out);
	}
}

/* A wrapper inflating past RN_LEGACY_MAX_INFLATE is refused before it is all allocated; a big
 * uncompressed set splits into batches of at most max.message.bytes. */
static void test_huge(void **state)
{
	(void)state;
	struct rn_buf in = {0}, out = {0};
	size_t big = RN_LEGACY_MAX_INFLATE + 4096;
	uint8_t *zeros = calloc(1, big);
	lm_msg(&in, 1, 0, 0, 0, NULL, 0, zeros, (int32_t)(big - 64));
	free(zeros);
	lm_wrap(&in, 1, RN_CODEC_GZIP, false, 0, 0);
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &dflt, &out), RN_ETOOLARGE);
	rn_buf_reset(&in);
	lm_set(&in, 1, 1000, 0);
	struct rn_legacy_in lim = {1000, false};
	assert_int_equal(rn_legacy_to_v2(in.data, in.len, &lim, &out), 0);
	int batches = 0;
	for (size_t off = 0; off < out.len; batches++) {
		int64_t t = rn_batch_validate(out.data + off, out.len - off, 1000, NULL);
		assert_true(t > 0);
		off += (size_t)t;
	}
	assert_true(batches > 10);
	check_v2(out.data, out.len, 1000, 0, 0, false);
	rn_buf_free(&in);
	rn_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_detect),
	    cmocka_unit_test(test_to_v2_all_codecs),
	    cmocka_unit_test(test_wrapper_log_append_time),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_down_details),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_huge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
