/* Wire primitives: varints, strings, counts, the sticky error flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/prim.h"

/* Flattens a chain of memory pieces (all these tests produce) into its buffer. */
static const uint8_t *bytes_of(struct rn_iochain *w, size_t *n)
{
	for (int i = 0; i < w->npieces; i++)
		assert_int_equal(w->pieces[i].kind, RN_PIECE_MEM);
	*n = w->mem.len;
	return w->mem.data;
}

static void expect_bytes(struct rn_iochain *w, const void *want, size_t n)
{
	size_t got_n;
	const uint8_t *got = bytes_of(w, &got_n);
	assert_int_equal(got_n, n);
	assert_memory_equal(got, want, n);
	rn_iochain_free(w);
}

static void test_uvarint(void **state)
{
	(void)state;
	static const struct {
		uint32_t v;
		uint8_t b[5];
		size_t n;
	} cases[] = {
	    {0, {0x00}, 1},
	    {1, {0x01}, 1},
	    {127, {0x7f}, 1},
	    {128, {0x80, 0x01}, 2},
	    {300, {0xac, 0x02}, 2},
	    {16384, {0x80, 0x80, 0x01}, 3},
	    {UINT32_MAX, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rn_iochain w = {0};
		rn_wr_uvarint(&w, cases[i].v);
		assert_int_equal(rn_uvarint_size(cases[i].v), (int)cases[i].n);
		expect_bytes(&w, cases[i].b, cases[i].n);

		uint8_t buf[5];
		memcpy(buf, cases[i].b, cases[i].n);
		struct rn_rd rd;
		rn_rd_init(&rd, buf, cases[i].n, NULL);
		assert_int_equal(rn_rd_uvarint(&rd), cases[i].v);
		assert_false(rd.err);
		assert_ptr_equal(rd.p, rd.end);
	}
}

static void expect_rd_err(const uint8_t *b, size_t n, int which)
{
	uint8_t buf[16];
	memcpy(buf, b, n);
	struct rn_rd rd;
	rn_rd_init(&rd, buf, n, NULL);
	if (which == 0)
		assert_int_equal(rn_rd_uvarint(&rd), 0);
	else if (which == 1)
		assert_int_equal(rn_rd_varint(&rd), 0);
	else
		assert_int_equal(rn_rd_varlong(&rd), 0);
	assert_true(rd.err);
}

static void test_varint_overlong(void **state)
{
	(void)state;
	/* A continuation bit on the 5th byte: six bytes for a 32-bit value. */
	static const uint8_t six[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	/* Bits beyond 32 in the 5th byte. */
	static const uint8_t wide[] = {0xff, 0xff, 0xff, 0xff, 0x1f};
	/* Padded zero: still valid (Kafka accepts it), 5 bytes. */
	static const uint8_t padded[] = {0x80, 0x80, 0x80, 0x80, 0x00};
	static const uint8_t eleven[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t wide64[] = {0xff, 0xff, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff, 0x02};
	static const uint8_t cut[] = {0x80, 0x80};
	expect_rd_err(six, sizeof(six), 0);
	expect_rd_err(six, sizeof(six), 1);
	expect_rd_err(wide, sizeof(wide), 0);
	expect_rd_err(eleven, sizeof(eleven), 2);
	expect_rd_err(wide64, sizeof(wide64), 2);
	expect_rd_err(cut, sizeof(cut), 0);
	expect_rd_err(cut, sizeof(cut), 2);

	uint8_t buf[5];
	memcpy(buf, padded, sizeof(buf));
	struct rn_rd rd;
	rn_rd_init(&rd, buf, sizeof(buf), NULL);
	assert_int_equal(rn_rd_uvarint(&rd), 0);
	assert_false(rd.err);
}

static void test_zigzag(void **state)
{
	(void)state;
	static const struct {
		int32_t v;
		uint8_t b[5];
		size_t n;
	} c32[] = {
	    {0, {0x00}, 1},
	    {-1, {0x01}, 1},
	    {1, {0x02}, 1},
	    {-64, {0x7f}, 1},
	    {64, {0x80, 0x01}, 2},
	    {INT32_MAX, {0xfe, 0xff, 0xff, 0xff, 0x0f}, 5},
	    {INT32_MIN, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5},
	};
	for (size_t i = 0; i < sizeof(c32) / sizeof(c32[0]); i++) {
		struct rn_iochain w = {0};
		rn_wr_varint(&w, c32[i].v);
		expect_bytes(&w, c32[i].b, c32[i].n);
		uint8_t buf[5];
		memcpy(buf, c32[i].b, c32[i].n);
		struct rn_rd rd;
		rn_rd_init(&rd, buf, c32[i].n, NULL);
		assert_int_equal(rn_rd_varint(&rd), c32[i].v);
		assert_false(rd.err);
	}
	static const struct {
		int64_t v;
		uint8_t b[10];
		size_t n;
	} c64[] = {
	    {0, {0x00}, 1},
	    {-1, {0x01}, 1},
	    {INT64_MAX, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
	    {INT64_MIN, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
	    {(int64_t)INT32_MIN, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5},
	};
	for (size_t i = 0; i < sizeof(c64) / sizeof(c64[0]); i++) {
		struct rn_iochain w = {0};
		rn_wr_varlong(&w, c64[i].v);
		expect_bytes(&w, c64[i].b, c64[i].n);
		uint8_t buf[10];
		memcpy(buf, c64[i].b, c64[i].n);
		struct rn_rd rd;
		rn_rd_init(&rd, buf, c64[i].n, NULL);
		assert_true(rn_rd_varlong(&rd) == c64[i].v);
		assert_false(rd.err);
	}
}

static void test_strings(void **state)
{
	(void)state;
	struct rn_iochain w = {0};
	rn_wr_string(&w, rn_str_c("abc"), false);
	rn_wr_string(&w, RN_STR_NULL, false);
	rn_wr_string(&w, rn_str_c(""), false);
	rn_wr_string(&w, rn_str_c("abc"), true);
	rn_wr_cstring(&w, NULL, true);
	rn_wr_cstring(&w, "", true);
	static const uint8_t want[] = {0x00, 0x03, 'a', 'b', 'c', 0xff, 0xff, 0x00,
				       0x00, 0x04, 'a', 'b', 'c', 0x00, 0x01};
	size_t n;
	const uint8_t *got = bytes_of(&w, &n);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(got, want, n);

	uint8_t buf[sizeof(want)];
	memcpy(buf, want, sizeof(buf));
	struct rn_rd rd;
	rn_rd_init(&rd, buf, sizeof(buf), NULL);
	assert_true(rn_str_eq(rn_rd_string(&rd, false), "abc"));
	assert_int_equal(rn_rd_string(&rd, false).len, -1);
	assert_int_equal(rn_rd_string(&rd, false).len, 0);
	assert_true(rn_str_eq(rn_rd_string(&rd, true), "abc"));
	assert_int_equal(rn_rd_string(&rd, true).len, -1);
	assert_int_equal(rn_rd_string(&rd, true).len, 0);
	assert_false(rd.err);
	assert_ptr_equal(rd.p, rd.end);
	rn_iochain_free(&w);

	/* A 200-byte compact string needs a two-byte length. */
	char big[201];
	memset(big, 'x', 200);
	big[200] = 0;
	rn_wr_cstring(&w, big, true);
	got = bytes_of(&w, &n);
	assert_int_equal(n, 202);
	assert_int_equal(got[0], 0xc9);
	assert_int_equal(got[1], 0x01);
	rn_iochain_free(&w);
}

static void test_bad_lengths(void **state)
{
	(void)state;
	/* Classic length -2, length beyond the end, compact length beyond the end. */
	uint8_t neg[] = {0xff, 0xfe, 'a'};
	uint8_t longer[] = {0x00, 0x05, 'a', 'b'};
	uint8_t clonger[] = {0x06, 'a', 'b'};
	uint8_t bneg[] = {0xff, 0xff, 0xff, 0xfe};
	struct rn_rd rd;
	rn_rd_init(&rd, neg, sizeof(neg), NULL);
	assert_int_equal(rn_rd_string(&rd, false).len, -1);
	assert_true(rd.err);
	rn_rd_init(&rd, longer, sizeof(longer), NULL);
	rn_rd_string(&rd, false);
	assert_true(rd.err);
	rn_rd_init(&rd, clonger, sizeof(clonger), NULL);
	rn_rd_string(&rd, true);
	assert_true(rd.err);
	rn_rd_init(&rd, bneg, sizeof(bneg), NULL);
	assert_int_equal(rn_rd_bytes(&rd, false).len, -1);
	assert_true(rd.err);
}

static void test_counts(void **state)
{
	(void)state;
	/* A count that cannot fit in what is left fails before anything is allocated. */
	uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 1, 2, 3};
	uint8_t chuge[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2};
	uint8_t ok[] = {0x00, 0x00, 0x00, 0x02, 1, 2};
	uint8_t cnull[] = {0x00};
	struct rn_arena a = {0};
	struct rn_rd rd;
	rn_rd_init(&rd, huge, sizeof(huge), &a);
	assert_int_equal(rn_rd_count(&rd, false), 0);
	assert_true(rd.err);
	assert_null(rn_rd_alloc(&rd, 0x7fffffff, 64));
	rn_rd_init(&rd, chuge, sizeof(chuge), &a);
	assert_int_equal(rn_rd_count(&rd, true), 0);
	assert_true(rd.err);
	assert_int_equal(a.used, 0);
	rn_rd_init(&rd, ok, sizeof(ok), &a);
	assert_int_equal(rn_rd_count(&rd, false), 2);
	assert_false(rd.err);
	rn_rd_init(&rd, cnull, sizeof(cnull), &a);
	assert_int_equal(rn_rd_count(&rd, true), -1);
	assert_false(rd.err);
	rn_arena_free(&a);
}

/* A mixed sequence of reads; truncating its input anywhere must set the sticky error. */
static const uint8_t mixed[] = {
    0x01,                                                /* i8 */
    0x01, 0x02,                                          /* i16 */
    0x01, 0x02, 0x03, 0x04,                              /* i32 */
    0,    0,    0,    0,    0,    0,  0x01, 0x00,        /* i64 */
    0x80, 0x01,                                          /* uvarint 128 */
    0x03,                                                /* varint -2 */
    0x00, 0x02, 'h',  'i',                               /* string */
    0x03, 'h',  'i',                                     /* compact string */
    0x00, 0x00, 0x00, 0x01, 0x7f,                        /* bytes */
    1,    2,    3,    4,    5,    6,  7,    8,    9, 10, /* uuid */
    11,   12,   13,   14,   15,   16, 0x01,              /* bool */
};

static bool read_mixed(uint8_t *buf, size_t n)
{
	struct rn_rd rd;
	rn_rd_init(&rd, buf, n, NULL);
	int8_t a = rn_rd_i8(&rd);
	int16_t b = rn_rd_i16(&rd);
	int32_t c = rn_rd_i32(&rd);
	int64_t d = rn_rd_i64(&rd);
	uint32_t e = rn_rd_uvarint(&rd);
	int32_t f = rn_rd_varint(&rd);
	struct rn_str g = rn_rd_string(&rd, false);
	struct rn_str h = rn_rd_string(&rd, true);
	struct rn_bytes i = rn_rd_bytes(&rd, false);
	struct rn_uuid j = rn_rd_uuid(&rd);
	bool k = rn_rd_bool(&rd);
	if (rd.err) {
		/* Once set, the flag stays and reads return zero values. */
		assert_int_equal(rn_rd_i32(&rd), 0);
		assert_true(rd.err);
		return false;
	}
	assert_int_equal(a, 1);
	assert_int_equal(b, 0x0102);
	assert_int_equal(c, 0x01020304);
	assert_true(d == 0x100);
	assert_int_equal(e, 128);
	assert_int_equal(f, -2);
	assert_true(rn_str_eq(g, "hi"));
	assert_true(rn_str_eq(h, "hi"));
	assert_int_equal(i.len, 1);
	assert_int_equal(j.b[15], 16);
	assert_true(k);
	return true;
}

static void test_truncation_sticky(void **state)
{
	(void)state;
	for (size_t n = 0; n <= sizeof(mixed); n++) {
		/* An exact-size heap copy, so ASan sees any read past the end. */
		uint8_t *buf = test_malloc(n + 1);
		memcpy(buf, mixed, n);
		assert_int_equal(read_mixed(buf, n), n == sizeof(mixed));
		test_free(buf);
	}
}

static void test_fixed_width(void **state)
{
	(void)state;
	struct rn_iochain w = {0};
	rn_wr_i8(&w, -2);
	rn_wr_i16(&w, -2);
	rn_wr_i32(&w, INT32_MIN);
	rn_wr_i64(&w, INT64_MIN);
	rn_wr_bool(&w, true);
	rn_wr_f64(&w, 1.5);
	static const uint8_t want[] = {0xfe, 0xff, 0xfe, 0x80, 0,    0,    0, 0x80, 0, 0, 0, 0,
				       0,    0,    0,    0x01, 0x3f, 0xf8, 0, 0,    0, 0, 0, 0};
	size_t n;
	const uint8_t *got = bytes_of(&w, &n);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(got, want, n);
	uint8_t buf[sizeof(want)];
	memcpy(buf, want, sizeof(buf));
	struct rn_rd rd;
	rn_rd_init(&rd, buf, sizeof(buf), NULL);
	assert_int_equal(rn_rd_i8(&rd), -2);
	assert_int_equal(rn_rd_i16(&rd), -2);
	assert_int_equal(rn_rd_i32(&rd), INT32_MIN);
	assert_true(rn_rd_i64(&rd) == INT64_MIN);
	assert_true(rn_rd_bool(&rd));
	assert_true(rn_rd_f64(&rd) == 1.5);
	assert_false(rd.err);
	rn_iochain_free(&w);
}

static void test_records_file(void **state)
{
	(void)state;
	/* A file-backed record set becomes a length prefix plus a FILE piece. */
	struct rn_fileref f = {.fd = -1, .refs = 1, .release = NULL};
	struct rn_records r = {.ptr = NULL, .len = 100, .file = &f, .file_off = 4096};
	struct rn_iochain w = {0};
	rn_wr_records(&w, &r, true);
	assert_int_equal(w.npieces, 2);
	assert_int_equal(w.pieces[0].kind, RN_PIECE_MEM);
	assert_int_equal(w.pieces[0].len, 1);
	assert_int_equal(w.mem.data[0], 101);
	assert_int_equal(w.pieces[1].kind, RN_PIECE_FILE);
	assert_int_equal(w.pieces[1].off, 4096);
	assert_int_equal(w.pieces[1].len, 100);
	assert_int_equal(w.total, 101);
	assert_int_equal(f.refs, 2);
	rn_iochain_free(&w);
	assert_int_equal(f.refs, 1);

	struct rn_records null = {.len = -1};
	rn_wr_records(&w, &null, false);
	expect_bytes(&w, "\xff\xff\xff\xff", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uvarint),
	    cmocka_unit_test(test_varint_overlong),
	    cmocka_unit_test(test_zigzag),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_bad_lengths),
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_truncation_sticky),
	    cmocka_unit_test(test_fixed_width),
	    cmocka_unit_test(test_records_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
