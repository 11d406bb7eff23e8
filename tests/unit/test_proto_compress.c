/* Codecs (gzip, snappy raw and xerial-framed, lz4 frame, zstd) and the any-codec record
 * iterator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zstd.h>

#include "batch_builder.h"
#include "core/err.h"
#include "proto/compress.h"

static const int codecs[] = {RN_CODEC_GZIP, RN_CODEC_SNAPPY, RN_CODEC_LZ4, RN_CODEC_ZSTD};
#define NCODECS (sizeof(codecs) / sizeof(codecs[0]))

/* Half text-like (compressible), half pseudo-random (not). */
static uint8_t *make_data(size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		d[i] = i < n / 2 ? (uint8_t)("runnel "[i % 7]) : (uint8_t)x;
	}
	return d;
}

static void test_round_trip(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 100, 70000, 1 << 20};
	for (size_t c = 0; c < NCODECS; c++) {
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			size_t n = sizes[k];
			uint8_t *d = make_data(n);
			struct rn_buf z = {0}, out = {0};
			assert_int_equal(rn_compress(codecs[c], d, n, &z), 0);
			assert_true(z.len > 0);
			/* Appends after what out already holds. */
			rn_buf_append(&out, "xy", 2);
			assert_int_equal(rn_decompress(codecs[c], z.data, z.len, &out, n), 0);
			assert_int_equal(out.len, n + 2);
			assert_memory_equal(out.data, "xy", 2);
			if (n)
				assert_memory_equal(out.data + 2, d, n);
			/* One byte short of the bound: refused, out left as it was. */
			if (n) {
				assert_int_equal(
				    rn_decompress(codecs[c], z.data, z.len, &out, n - 1),
				    RN_ETOOLARGE);
				assert_int_equal(out.len, n + 2);
			}
			rn_buf_free(&z);
			rn_buf_free(&out);
			free(d);
		}
	}
}

static void test_none_empty_unknown(void **state)
{
	(void)state;
	struct rn_buf out = {0};
	for (size_t c = 0; c < NCODECS; c++)
		assert_int_equal(rn_decompress(codecs[c], NULL, 0, &out, 100), RN_ECORRUPT);
	assert_int_equal(rn_decompress(RN_CODEC_NONE, NULL, 0, &out, 100), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(rn_decompress(RN_CODEC_NONE, (const uint8_t *)"abc", 3, &out, 3), 0);
	assert_int_equal(out.len, 3);
	assert_int_equal(rn_decompress(RN_CODEC_NONE, (const uint8_t *)"abc", 3, &out, 2),
			 RN_ETOOLARGE);
	assert_int_equal(rn_decompress(5, (const uint8_t *)"abc", 3, &out, 100), RN_EUNSUPPORTED);
	assert_int_equal(rn_compress(7, (const uint8_t *)"abc", 3, &out), RN_EUNSUPPORTED);
	rn_buf_free(&out);
}

/* kafka-python and the Java client write snappy in xerial framing. */
static void test_snappy_xerial(void **state)
{
	(void)state;
	size_t n = 100000, half = 60000;
	uint8_t *d = make_data(n);
	struct rn_buf f = {0};
	static const uint8_t hdr[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
					0,    0,   0,   1,   0,   0,   0,   1};
	rn_buf_append(&f, hdr, sizeof(hdr));
	size_t pieces[2][2] = {{0, half}, {half, n - half}};
	for (int i = 0; i < 2; i++) {
		size_t cap = snappy_max_compressed_length(pieces[i][1]), zn = cap;
		uint8_t *blk = malloc(cap);
		assert_int_equal(
		    snappy_compress((const char *)d + pieces[i][0], pieces[i][1], (char *)blk, &zn),
		    SNAPPY_OK);
		uint8_t len[4];
		rn_put_be32(len, (uint32_t)zn);
		rn_buf_append(&f, len, 4);
		rn_buf_append(&f, blk, zn);
		free(blk);
	}
	struct rn_buf out = {0};
	assert_int_equal(rn_decompress(RN_CODEC_SNAPPY, f.data, f.len, &out, n), 0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, d, n);
	/* The bound is checked on the total, before a block is allocated. */
	rn_buf_reset(&out);
	assert_int_equal(rn_decompress(RN_CODEC_SNAPPY, f.data, f.len, &out, n - 1), RN_ETOOLARGE);
	assert_int_equal(out.len, 0);
	/* A block length past the end, a cut length field, a bad block. */
	assert_int_equal(rn_decompress(RN_CODEC_SNAPPY, f.data, f.len - 1, &out, n), RN_ECORRUPT);
	assert_int_equal(rn_decompress(RN_CODEC_SNAPPY, f.data, 18, &out, n), RN_ECORRUPT);
	f.data[21] ^= 0xff;
	assert_true(rn_decompress(RN_CODEC_SNAPPY, f.data, f.len, &out, n) <= 0);
	/* A header alone is an empty stream. */
	assert_int_equal(rn_decompress(RN_CODEC_SNAPPY, hdr, sizeof(hdr), &out, n), 0);
	rn_buf_free(&out);
	rn_buf_free(&f);
	free(d);
}

/* Streams that clients write and rn_compress does not: a zstd frame without its content size
 * (streaming producers), and concatenated frames or members of every streaming codec. */
static void test_streams(void **state)
{
	(void)state;
	size_t n = 200000;
	uint8_t *d = make_data(n);
	struct rn_buf z = {0}, out = {0};
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	uint8_t *zb = rn_buf_reserve(&z, ZSTD_compressBound(n));
	ZSTD_outBuffer ob = {zb, ZSTD_compressBound(n), 0};
	ZSTD_inBuffer ib = {d, n, 0};
	/* Given in pieces, the encoder cannot know the size when it writes the header. */
	assert_false(ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue)));
	ZSTD_inBuffer none = {NULL, 0, 0};
	while (ZSTD_compressStream2(cc, &ob, &none, ZSTD_e_end) != 0)
		;
	ZSTD_freeCCtx(cc);
	z.len = ob.pos;
	assert_true(ZSTD_getFrameContentSize(z.data, z.len) == ZSTD_CONTENTSIZE_UNKNOWN);
	assert_int_equal(rn_decompress(RN_CODEC_ZSTD, z.data, z.len, &out, n), 0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, d, n);
	rn_buf_reset(&out);
	assert_int_equal(rn_decompress(RN_CODEC_ZSTD, z.data, z.len, &out, n - 1), RN_ETOOLARGE);
	for (size_t c = 0; c < NCODECS; c++) {
		if (codecs[c] == RN_CODEC_SNAPPY)
			continue;
		rn_buf_reset(&z);
		rn_buf_reset(&out);
		assert_int_equal(rn_compress(codecs[c], d, 1000, &z), 0);
		assert_int_equal(rn_compress(codecs[c], d + 1000, n - 1000, &z), 0);
		assert_int_equal(rn_decompress(codecs[c], z.data, z.len, &out, n), 0);
		assert_int_equal(out.len, n);
		assert_memory_equal(out.data, d, n);
	}
	rn_buf_free(&z);
	rn_buf_free(&out);
	free(d);
}

/* Truncations, flipped bytes and garbage end in an error (or, where a codec has no checksum,
 * possibly in different bytes), never in a crash: ASan builds run this. */
static void test_corrupt(void **state)
{
	(void)state;
	size_t n = 5000;
	uint8_t *d = make_data(n);
	for (size_t c = 0; c < NCODECS; c++) {
		struct rn_buf z = {0}, out = {0};
		assert_int_equal(rn_compress(codecs[c], d, n, &z), 0);
		for (size_t cut = 1; cut < z.len; cut += 1 + cut / 8) {
			rn_buf_reset(&out);
			assert_int_equal(rn_decompress(codecs[c], z.data, cut, &out, n),
					 RN_ECORRUPT);
			assert_int_equal(out.len, 0);
		}
		for (size_t i = 0; i < z.len; i += 1 + i / 16) {
			z.data[i] ^= 0x5a;
			rn_buf_reset(&out);
			int rc = rn_decompress(codecs[c], z.data, z.len, &out, n);
			assert_true(rc == 0 || rc == RN_ECORRUPT || rc == RN_ETOOLARGE);
			z.data[i] ^= 0x5a;
		}
		uint8_t junk[64];
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)(i * 37 + 11);
		assert_int_equal(rn_decompress(codecs[c], junk, sizeof(junk), &out, n),
				 RN_ECORRUPT);
		/* Trailing garbage after a complete stream. */
		rn_buf_append(&z, junk, sizeof(junk));
		rn_buf_reset(&out);
		if (codecs[c] != RN_CODEC_SNAPPY)
			assert_int_equal(rn_decompress(codecs[c], z.data, z.len, &out, n),
					 RN_ECORRUPT);
		rn_buf_free(&z);
		rn_buf_free(&out);
	}
	free(d);
}

/* A small stream that expands far beyond the bound stops at the bound. */
static void test_bomb(void **state)
{
	(void)state;
	size_t n = 64 << 20;
	uint8_t *zeros = calloc(1, n);
	for (size_t c = 0; c < NCODECS; c++) {
		struct rn_buf z = {0}, out = {0};
		assert_int_equal(rn_compress(codecs[c], zeros, n, &z), 0);
		assert_true(z.len < n / 20);
		assert_int_equal(rn_decompress(codecs[c], z.data, z.len, &out, 1 << 20),
				 RN_ETOOLARGE);
		assert_int_equal(out.len, 0);
		assert_true(out.cap <= (2 << 20) + 1);
		rn_buf_free(&z);
		rn_buf_free(&out);
	}
	free(zeros);
}

/* Six records, timestamps t, t+1000, ..., one batch, in every codec. */
static size_t six(struct rn_buf *b, int64_t t, int codec)
{
	struct bb_record r[6];
	static const char *vals[6] = {"a", "bb", "ccc", "dddd", "eeeee", "ffffff"};
	for (int i = 0; i < 6; i++)
		r[i] = (struct bb_record){"k", 1, vals[i], i + 1, t + i * 1000, NULL, NULL};
	return bb_batch_records_codec(b, r, 6, codec);
}

static void test_iter_any(void **state)
{
	(void)state;
	int64_t t = 1700000000000;
	int all[] = {0, RN_CODEC_GZIP, RN_CODEC_SNAPPY, RN_CODEC_LZ4, RN_CODEC_ZSTD};
	for (size_t c = 0; c < sizeof(all) / sizeof(all[0]); c++) {
		for (int lat = 0; lat < 2; lat++) {
			struct rn_buf b = {0}, scratch = {0};
			size_t n = six(&b, t, all[c]);
			assert_int_equal(rn_batch_validate(b.data, b.len, 0, NULL), (int64_t)n);
			rn_batch_set_base_offset(b.data, 100);
			if (lat)
				rn_batch_set_log_append_time(b.data, t + 99999);
			struct rn_record_iter it;
			assert_int_equal(rn_record_iter_init_any(&it, b.data, n, &scratch, 1000),
					 0);
			struct rn_record r;
			int i = 0;
			while (rn_record_iter_next(&it, &r) == 1) {
				assert_int_equal(r.offset, 100 + i);
				assert_int_equal(r.timestamp, lat ? t + 99999 : t + i * 1000);
				assert_int_equal(r.value_len, i + 1);
				assert_int_equal(r.value[i], 'a' + i);
				i++;
			}
			assert_int_equal(i, 6);
			if (all[c]) {
				/* The decompression bound applies, and a bad stream with a
				 * good CRC is an error. */
				assert_int_equal(
				    rn_record_iter_init_any(&it, b.data, n, &scratch, 10),
				    RN_ETOOLARGE);
				b.data[n - 1] ^= 0xff;
				b.data[n - 2] ^= 0xff;
				int rc = rn_record_iter_init_any(&it, b.data, n, &scratch, 1000);
				if (rc == 0)
					while ((rc = rn_record_iter_next(&it, &r)) == 1)
						;
				assert_int_equal(rc, RN_ECORRUPT);
				assert_int_equal(rn_record_iter_init(&it, b.data, n),
						 RN_EUNSUPPORTED);
			}
			rn_buf_free(&b);
			rn_buf_free(&scratch);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_none_empty_unknown),
	    cmocka_unit_test(test_snappy_xerial), cmocka_unit_test(test_streams),
	    cmocka_unit_test(test_corrupt),       cmocka_unit_test(test_bomb),
	    cmocka_unit_test(test_iter_any),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
