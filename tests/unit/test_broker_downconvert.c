/* Fetch v0-v3 down-conversion on a real partition: the range the read found becomes whole
 * magic 0/1 messages within the limit (the first one whole when it must be), a marker-only
 * range reads on, message.downconversion.enable=false answers UNSUPPORTED_VERSION. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <unistd.h>

#include "batch_builder.h"
#include "broker/legacy.h"
#include "proto/legacy_records.h"
#include "storage/partition.h"

static struct rn_partition *open_part(const char *dir, bool downconversion)
{
	struct rn_log_config c;
	rn_log_config_default(&c);
	c.downconversion_enable = downconversion;
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	return p;
}

static void put(struct rn_partition *p, int n, int32_t value_size)
{
	struct rn_buf b = {0};
	bb_batch(&b, n, 1000, value_size);
	struct rn_append_info ai;
	assert_int_equal(rn_partition_append(p, b.data, b.len, &ai), 0);
	rn_buf_free(&b);
}

/* Reads at offset and converts for Fetch version v; returns the converted bytes (malloc'ed,
 * *len) and fills *next. */
static uint8_t *fetch(struct rn_partition *p, int16_t v, int64_t offset, int64_t limit,
		      bool min_one, size_t *len, int64_t *next, int *rc)
{
	struct rn_read_info ri = {0};
	assert_int_equal(rn_partition_read(p, offset, (uint32_t)limit, min_one, &ri), 0);
	struct rn_fetch_response_partition_data pd = {0};
	*rc = rn_downconvert_fetch(NULL, p, v, offset, limit, min_one, &ri, &pd);
	*len = (size_t)ri.len;
	*next = ri.next_offset;
	uint8_t *out = malloc(ri.len + 1);
	if (ri.len)
		assert_int_equal(pread(ri.file->fd, out, ri.len, (off_t)ri.pos), (ssize_t)ri.len);
	if (ri.file)
		rn_fileref_put(ri.file);
	if (*rc < 0)
		assert_int_equal(pd.error_code, RN_KERR_UNSUPPORTED_VERSION);
	return out;
}

/* Offsets of the whole messages in d[0..n); asserts that nothing is partial. */
static int walk(const uint8_t *d, size_t n, int8_t magic, int64_t *offsets)
{
	int k = 0;
	for (size_t off = 0; off < n; k++) {
		size_t m = rn_legacy_msg_size(d + off, n - off);
		assert_true(m > 0);
		assert_int_equal(d[off + 16], magic);
		offsets[k] = (int64_t)rn_be64(d + off);
		off += m;
	}
	return k;
}

static void test_limits(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_partition *p = open_part(dir, true);
	put(p, 10, 100); /* offsets 0..9, magic 1 messages of 12+22+2+100 = 136 bytes */
	size_t n;
	int64_t next, offs[32];
	int rc;
	uint8_t *d = fetch(p, 2, 0, 500, true, &n, &next, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(walk(d, n, 1, offs), 3);
	assert_true(n <= 500);
	assert_int_equal(next, 3);
	free(d);
	/* Below one message: nothing, unless it is the first of the response. */
	d = fetch(p, 1, 4, 50, false, &n, &next, &rc);
	assert_int_equal(n, 0);
	free(d);
	d = fetch(p, 1, 4, 50, true, &n, &next, &rc);
	assert_int_equal(walk(d, n, 0, offs), 1);
	assert_int_equal(offs[0], 4); /* records below the fetch offset are skipped */
	free(d);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_read_on_and_disabled(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_partition *p = open_part(dir, true);
	put(p, 2, 10); /* 0, 1 */
	struct rn_append_info ai;
	assert_int_equal(rn_partition_append_marker(p, 42, 0, true, 0, &ai), 0); /* 2 */
	assert_int_equal(ai.base_offset, 2);
	put(p, 1, 10); /* 3 */
	size_t n;
	int64_t next, offs[8];
	int rc;
	/* A limit that holds the marker batch only: the conversion reads on to offset 3. */
	uint8_t *d = fetch(p, 3, 2, 90, false, &n, &next, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(walk(d, n, 1, offs), 1);
	assert_int_equal(offs[0], 3);
	free(d);
	rn_partition_close(p);
	p = open_part(dir, false);
	d = fetch(p, 0, 0, 1 << 20, true, &n, &next, &rc);
	assert_int_equal(rc, -1);
	assert_int_equal(n, 0);
	free(d);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_read_on_and_disabled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
