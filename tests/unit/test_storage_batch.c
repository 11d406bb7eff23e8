/* Record batch v2 validation, setters and the record iterator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "batch_builder.h"
#include "core/err.h"

static void test_valid_and_iter(void **state)
{
	(void)state;
	struct rn_buf b = {0};
	size_t n = bb_batch(&b, 10, 1000, 33);
	struct rn_batch_header h;
	assert_int_equal(rn_batch_validate(b.data, b.len, 0, &h), (int64_t)n);
	assert_int_equal(h.records_count, 10);
	assert_int_equal(h.last_offset_delta, 9);
	assert_int_equal(h.base_timestamp, 1000);
	assert_int_equal(h.max_timestamp, 1009);
	assert_int_equal(h.magic, 2);
	assert_int_equal(h.producer_id, -1);
	struct rn_record_iter it;
	assert_int_equal(rn_record_iter_init(&it, b.data, n), 0);
	struct rn_record r;
	int i = 0;
	while (rn_record_iter_next(&it, &r) == 1) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		assert_int_equal(r.offset_delta, i);
		assert_int_equal(r.timestamp_delta, i);
		assert_int_equal(r.key_len, (int32_t)strlen(k));
		assert_memory_equal(r.key, k, strlen(k));
		assert_int_equal(r.value_len, 33);
		assert_int_equal(r.value[5], (uint8_t)(i + 5));
		assert_int_equal(r.header_count, i & 1);
		i++;
	}
	assert_int_equal(i, 10);
	rn_buf_free(&b);
}

static void test_null_key_value(void **state)
{
	(void)state;
	struct rn_buf b = {0};
	struct bb_record rec = {NULL, 0, NULL, 0, 5, "hk", NULL};
	size_t n = bb_batch_records(&b, &rec, 1);
	assert_true(rn_batch_validate(b.data, n, 0, NULL) > 0);
	struct rn_record_iter it;
	struct rn_record r;
	rn_record_iter_init(&it, b.data, n);
	assert_int_equal(rn_record_iter_next(&it, &r), 1);
	assert_int_equal(r.key_len, -1);
	assert_null(r.key);
	assert_int_equal(r.value_len, -1);
	assert_int_equal(r.header_count, 1);
	assert_int_equal(rn_record_iter_next(&it, &r), 0);
	rn_buf_free(&b);
}

static void test_bad(void **state)
{
	(void)state;
	struct rn_buf b = {0};
	size_t n = bb_batch(&b, 3, 1, 10);
	/* every flipped byte after the CRC breaks the CRC */
	for (size_t i = RN_BATCH_OFF_ATTRIBUTES; i < n; i++) {
		b.data[i] ^= 0x40;
		assert_int_equal(rn_batch_validate(b.data, n, 0, NULL), RN_ECORRUPT);
		b.data[i] ^= 0x40;
	}
	/* base offset and leader epoch are outside the CRC */
	rn_batch_set_base_offset(b.data, 77);
	rn_batch_set_leader_epoch(b.data, 3);
	assert_true(rn_batch_validate(b.data, n, 0, NULL) > 0);
	/* truncated */
	for (size_t len = 0; len < n; len++)
		assert_int_equal(rn_batch_validate(b.data, len, 0, NULL), RN_ECORRUPT);
	/* length too small / too large */
	rn_put_be32(b.data + RN_BATCH_OFF_LENGTH, 48);
	assert_int_equal(rn_batch_validate(b.data, n, 0, NULL), RN_ECORRUPT);
	rn_put_be32(b.data + RN_BATCH_OFF_LENGTH, (uint32_t)n);
	assert_int_equal(rn_batch_validate(b.data, n, 0, NULL), RN_ECORRUPT);
	rn_put_be32(b.data + RN_BATCH_OFF_LENGTH, 0x80000000u);
	assert_int_equal(rn_batch_validate(b.data, n, 0, NULL), RN_ECORRUPT);
	rn_put_be32(b.data + RN_BATCH_OFF_LENGTH, (uint32_t)(n - 12));
	/* too large */
	assert_int_equal(rn_batch_validate(b.data, n, (int32_t)n - 1, NULL), RN_ETOOLARGE);
	assert_true(rn_batch_validate(b.data, n, (int32_t)n, NULL) > 0);
	/* magic 0/1 unsupported, 3 corrupt */
	b.data[RN_BATCH_OFF_MAGIC] = 1;
	assert_int_equal(rn_batch_validate(b.data, n, 0, NULL), RN_EUNSUPPORTED);
	b.data[RN_BATCH_OFF_MAGIC] = 0;
	assert_int_equal(rn_batch_validate(b.data, 20, 0, NULL), RN_EUNSUPPORTED);
	b.data[RN_BATCH_OFF_MAGIC] = 3;
	assert_int_equal(rn_batch_validate(b.data, n, 0, NULL), RN_ECORRUPT);
	b.data[RN_BATCH_OFF_MAGIC] = 2;
	rn_buf_free(&b);
}

static void test_count_mismatch(void **state)
{
	(void)state;
	struct rn_buf b = {0};
	size_t n = bb_batch(&b, 3, 1, 10);
	rn_put_be32(b.data + RN_BATCH_OFF_RECORDS_COUNT, 4);
	rn_put_be32(b.data + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, b.data + RN_BATCH_OFF_ATTRIBUTES, n - RN_BATCH_OFF_ATTRIBUTES));
	assert_int_equal(rn_batch_validate(b.data, n, 0, NULL), RN_ECORRUPT);
	rn_put_be32(b.data + RN_BATCH_OFF_RECORDS_COUNT, (uint32_t)-1);
	rn_put_be32(b.data + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, b.data + RN_BATCH_OFF_ATTRIBUTES, n - RN_BATCH_OFF_ATTRIBUTES));
	assert_int_equal(rn_batch_validate(b.data, n, 0, NULL), RN_ECORRUPT);
	rn_buf_free(&b);
}

static void test_log_append_time(void **state)
{
	(void)state;
	struct rn_buf b = {0};
	size_t n = bb_batch(&b, 3, 1, 10);
	rn_batch_set_log_append_time(b.data, 123456);
	struct rn_batch_header h;
	assert_int_equal(rn_batch_validate(b.data, n, 0, &h), (int64_t)n);
	assert_int_equal(h.max_timestamp, 123456);
	assert_true(h.attributes & RN_BATCH_ATTR_LOG_APPEND_TIME);
	rn_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_and_iter),
	    cmocka_unit_test(test_null_key_value),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_count_mismatch),
	    cmocka_unit_test(test_log_append_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
