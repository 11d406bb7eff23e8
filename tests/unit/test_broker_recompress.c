/* compression.type recompression: batches change codec, keep their records and header fields,
 * get a valid CRC; control batches and matching codecs are left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "broker/recompress.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/crc32c.h"
#include "proto/compress.h"
#include "proto/record_batch.h"
#include "storage/log_config.h"

/* A batch of one record (key "k", value v) with codec, producer id 77, sequence 5. */
static void make_batch(struct rn_buf *out, int codec, const char *v)
{
	uint8_t rec[64];
	size_t vl = strlen(v), n = 0;
	uint8_t body[64];
	body[n++] = 0; /* attributes */
	body[n++] = 0; /* timestamp delta */
	body[n++] = 0; /* offset delta */
	body[n++] = 2; /* key length 1, zigzag */
	body[n++] = 'k';
	body[n++] = (uint8_t)(vl * 2); /* value length, zigzag */
	memcpy(body + n, v, vl);
	n += vl;
	body[n++] = 0; /* headers */
	rec[0] = (uint8_t)(n * 2);
	memcpy(rec + 1, body, n);
	struct rn_buf recs = {0};
	if (codec)
		rn_compress(codec, rec, n + 1, &recs);
	else
		rn_buf_append(&recs, rec, n + 1);
	uint8_t h[RN_BATCH_HEADER_SIZE] = {0};
	rn_put_be32(h + RN_BATCH_OFF_LENGTH, (uint32_t)(RN_BATCH_HEADER_SIZE - 12 + recs.len));
	h[RN_BATCH_OFF_MAGIC] = 2;
	h[RN_BATCH_OFF_ATTRIBUTES + 1] = (uint8_t)codec;
	rn_put_be64(h + RN_BATCH_OFF_PRODUCER_ID, 77);
	rn_put_be32(h + RN_BATCH_OFF_BASE_SEQUENCE, 5);
	rn_put_be32(h + RN_BATCH_OFF_RECORDS_COUNT, 1);
	size_t at = out->len;
	rn_buf_append(out, h, sizeof(h));
	rn_buf_append(out, recs.data, recs.len);
	uint8_t *b = out->data + at;
	size_t total = out->len - at;
	rn_put_be32(b + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, b + RN_BATCH_OFF_ATTRIBUTES, total - RN_BATCH_OFF_ATTRIBUTES));
	rn_buf_free(&recs);
}

static void test_gzip_to_lz4_and_back(void **state)
{
	(void)state;
	struct rn_arena a = {0};
	struct rn_buf in = {0};
	make_batch(&in, RN_CODEC_GZIP, "hello");
	make_batch(&in, RN_CODEC_NONE, "world");
	struct rn_records r = {in.data, (int32_t)in.len, NULL, 0};
	assert_int_equal(rn_recompress(&a, RN_CODEC_LZ4, &r), 0);
	assert_ptr_not_equal(r.ptr, in.data);
	size_t off = 0;
	const char *want[] = {"hello", "world"};
	for (int i = 0; i < 2; i++) {
		int64_t n = rn_batch_validate(r.ptr + off, (size_t)r.len - off, 0, NULL);
		assert_true(n > 0);
		assert_int_equal(r.ptr[off + RN_BATCH_OFF_ATTRIBUTES + 1] & 7, RN_CODEC_LZ4);
		assert_int_equal(rn_be64(r.ptr + off + RN_BATCH_OFF_PRODUCER_ID), 77);
		assert_int_equal(rn_be32(r.ptr + off + RN_BATCH_OFF_BASE_SEQUENCE), 5);
		struct rn_record_iter it;
		struct rn_record rec;
		struct rn_buf scratch = {0};
		assert_int_equal(
		    rn_record_iter_init_any(&it, r.ptr + off, (size_t)n, &scratch, 1 << 20), 0);
		assert_true(rn_record_iter_next(&it, &rec) > 0);
		assert_int_equal(rec.value_len, (int)strlen(want[i]));
		assert_memory_equal(rec.value, want[i], strlen(want[i]));
		rn_buf_free(&scratch);
		off += (size_t)n;
	}
	assert_int_equal(off, (size_t)r.len);
	/* Producer: nothing changes. Same codec already: nothing changes. */
	struct rn_records same = r;
	assert_int_equal(rn_recompress(&a, RN_LOG_CODEC_PRODUCER, &same), 0);
	assert_ptr_equal(same.ptr, r.ptr);
	assert_int_equal(rn_recompress(&a, RN_CODEC_LZ4, &same), 0);
	assert_ptr_equal(same.ptr, r.ptr);
	/* A corrupt CRC is left for the append to refuse. */
	in.data[RN_BATCH_OFF_CRC] ^= 1;
	struct rn_records bad = {in.data, (int32_t)in.len, NULL, 0};
	assert_int_equal(rn_recompress(&a, RN_CODEC_ZSTD, &bad), 0);
	assert_ptr_equal(bad.ptr, in.data);
	rn_buf_free(&in);
	rn_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gzip_to_lz4_and_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
