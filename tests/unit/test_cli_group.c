/* `runnel group` helpers: table layout, --to-datetime parsing and TOPIC[:P,...] specs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cli/group_util.h"

/* Prints t into a string the caller frees. */
static char *render(const struct rn_cli_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	rn_cli_table_print(t, f);
	fclose(f);
	return buf;
}

/* Columns take the widest cell plus two spaces; the last column is never padded. */
static void test_table_layout(void **state)
{
	(void)state;
	const char *hdr[] = {"GROUP", "TOPIC", "PARTITION", "LAG"};
	const char *r1[] = {"g", "a-long-topic", "0", "12345"};
	const char *r2[] = {"group-2", "t", "10", NULL};
	struct rn_cli_table t;

	rn_cli_table_init(&t, 4, hdr);
	rn_cli_table_add(&t, r1);
	rn_cli_table_add(&t, r2);
	char *s = render(&t);
	assert_string_equal(s, "GROUP    TOPIC         PARTITION  LAG\n"
			       "g        a-long-topic  0          12345\n"
			       "group-2  t             10         -\n");
	free(s);
	rn_cli_table_free(&t);
}

/* NULL and empty cells print as Kafka's "-"; a header-only table prints just the header. */
static void test_table_unknown_cells(void **state)
{
	(void)state;
	const char *hdr[] = {"A", "B"};
	const char *r[] = {"", NULL};
	struct rn_cli_table t;

	rn_cli_table_init(&t, 2, hdr);
	char *s = render(&t);
	assert_string_equal(s, "A  B\n");
	free(s);
	rn_cli_table_add(&t, r);
	s = render(&t);
	assert_string_equal(s, "A  B\n-  -\n");
	free(s);
	rn_cli_table_free(&t);
}

static int cmp_second(const void *x, const void *y)
{
	return strcmp(((const char *const *)x)[1], ((const char *const *)y)[1]);
}

/* Sorting moves whole rows and keeps the header first; many rows force reallocation. */
static void test_table_sort(void **state)
{
	(void)state;
	const char *hdr[] = {"K", "V"};
	struct rn_cli_table t;

	rn_cli_table_init(&t, 2, hdr);
	for (int i = 99; i >= 0; i--) {
		char k[8], v[8];
		snprintf(k, sizeof(k), "k%d", i);
		snprintf(v, sizeof(v), "%03d", i);
		const char *row[] = {k, v};
		rn_cli_table_add(&t, row);
	}
	rn_cli_table_sort(&t, cmp_second);
	assert_int_equal(t.nrows, 101);
	assert_string_equal(t.cells[0], "K");
	assert_string_equal(t.cells[2], "k0");
	assert_string_equal(t.cells[3], "000");
	assert_string_equal(t.cells[200], "k99");
	assert_string_equal(t.cells[201], "099");
	rn_cli_table_free(&t);
}

static int64_t dt(const char *s)
{
	int64_t ms = -42;

	if (rn_cli_parse_datetime(s, &ms))
		fail_msg("'%s' rejected", s);
	return ms;
}

static void test_datetime_utc(void **state)
{
	(void)state;
	assert_int_equal(dt("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(dt("2024-02-29T12:34:56Z"), 1709210096000LL);
	assert_int_equal(dt("2024-02-29T12:34:56.789Z"), 1709210096789LL);
	/* Fractions: fewer digits scale up, more are truncated. */
	assert_int_equal(dt("2024-02-29T12:34:56.7Z"), 1709210096700LL);
	assert_int_equal(dt("2024-02-29T12:34:56.7891234Z"), 1709210096789LL);
	assert_int_equal(dt("2000-03-01T00:00:00Z"), 951868800000LL);
	assert_int_equal(dt("2099-12-31T23:59:59Z"), 4102444799000LL);
}

/* +HH:MM is east of UTC, so the same wall clock is earlier in UTC. */
static void test_datetime_offsets(void **state)
{
	(void)state;
	int64_t utc = dt("2023-06-15T10:00:00Z");
	assert_int_equal(dt("2023-06-15T12:00:00+02:00"), utc);
	assert_int_equal(dt("2023-06-15T12:00:00+0200"), utc);
	assert_int_equal(dt("2023-06-15T12:00:00+02"), utc);
	assert_int_equal(dt("2023-06-15T04:30:00-05:30"), utc);
	assert_int_equal(dt("2023-06-15T10:00:00.000+00:00"), utc);
}

/* Without a zone the wall clock is local; with TZ=UTC that equals the Z form. */
static void test_datetime_local(void **state)
{
	(void)state;
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(dt("2023-06-15T10:00:00.250"), dt("2023-06-15T10:00:00.250Z"));
	setenv("TZ", "EST5", 1);
	tzset();
	assert_int_equal(dt("2023-06-15T05:00:00"), dt("2023-06-15T10:00:00Z"));
	if (old)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
}

static void test_datetime_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "2023-06-15",
	    "2023-06-15 10:00:00",
	    "2023-06-15T10:00",
	    "2023-6-15T10:00:00",
	    "2023-13-01T00:00:00",
	    "2023-00-01T00:00:00",
	    "2023-02-29T00:00:00Z",
	    "2023-04-31T00:00:00Z",
	    "2023-06-15T24:00:00",
	    "2023-06-15T10:60:00",
	    "2023-06-15T10:00:60",
	    "2023-06-15T10:00:00.",
	    "2023-06-15T10:00:00.12x",
	    "2023-06-15T10:00:00Zjunk",
	    "2023-06-15T10:00:00+2",
	    "2023-06-15T10:00:00+24:00",
	    "2023-06-15T10:00:00+02:60",
	    "2023-06-15T10:00:00 ",
	    "1700000000000",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms = 7;
		if (rn_cli_parse_datetime(bad[i], &ms) == 0)
			fail_msg("'%s' accepted as %lld", bad[i], (long long)ms);
		assert_int_equal(ms, 7);
	}
}

static void test_topic_spec(void **state)
{
	(void)state;
	char topic[16];
	int32_t parts[4];
	int n = -1;

	assert_int_equal(rn_cli_parse_topic_spec("orders", topic, sizeof(topic), parts, 4, &n), 0);
	assert_string_equal(topic, "orders");
	assert_int_equal(n, 0);
	assert_int_equal(rn_cli_parse_topic_spec("a.b-c_d:3", topic, sizeof(topic), parts, 4, &n),
			 0);
	assert_string_equal(topic, "a.b-c_d");
	assert_int_equal(n, 1);
	assert_int_equal(parts[0], 3);
	/* Duplicates are dropped, so they do not count against the limit. */
	assert_int_equal(
	    rn_cli_parse_topic_spec("t:0,2,2,0,5,7", topic, sizeof(topic), parts, 4, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(parts[0], 0);
	assert_int_equal(parts[1], 2);
	assert_int_equal(parts[2], 5);
	assert_int_equal(parts[3], 7);
}

static void test_topic_spec_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    ":0",
	    "t:",
	    "t:,",
	    "t:1,",
	    "t:,1",
	    "t:-1",
	    "t:a",
	    "t:1;2",
	    "t:1 ",
	    "t:2147483648",
	    "t:0,1,2,3,4",
	    "a-topic-name-far-too-long",
	};
	char topic[16];
	int32_t parts[4];
	int n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rn_cli_parse_topic_spec(bad[i], topic, sizeof(topic), parts, 4, &n) == 0)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(
	    rn_cli_parse_topic_spec("t:2147483647", topic, sizeof(topic), parts, 4, &n), 0);
	assert_int_equal(parts[0], INT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_layout),       cmocka_unit_test(test_table_unknown_cells),
	    cmocka_unit_test(test_table_sort),         cmocka_unit_test(test_datetime_utc),
	    cmocka_unit_test(test_datetime_offsets),   cmocka_unit_test(test_datetime_local),
	    cmocka_unit_test(test_datetime_rejects),   cmocka_unit_test(test_topic_spec),
	    cmocka_unit_test(test_topic_spec_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
