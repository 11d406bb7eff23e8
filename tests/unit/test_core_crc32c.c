/* CRC-32C: known vectors, and the three-lane hardware path against the table path for every
 * length around the lane boundaries and for unaligned starts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/crc32c.h"

static void test_vectors(void **state)
{
	(void)state;
	assert_int_equal(rn_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(rn_crc32c(0, "", 0), 0);
	uint8_t zeros[32] = {0};
	assert_int_equal(rn_crc32c(0, zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
	uint8_t ones[32];
	memset(ones, 0xff, 32);
	assert_int_equal(rn_crc32c(0, ones, 32), 0x62A8AB43u);
	/* Continuation: crc(a||b) == crc(crc(a), b). */
	assert_int_equal(rn_crc32c(rn_crc32c(0, "12345", 5), "6789", 4), 0xE3069283u);
}

static void test_lanes_match_table(void **state)
{
	(void)state;
	size_t max = 3 * 8192 * 2 + 3 * 256 + 64;
	uint8_t *buf = malloc(max + 8);
	srand(7);
	for (size_t i = 0; i < max + 8; i++)
		buf[i] = (uint8_t)rand();
	static const size_t lens[] = {0,
				      1,
				      7,
				      8,
				      255,
				      256,
				      767,
				      768,
				      769,
				      3 * 256 + 8,
				      24575,
				      24576,
				      24577,
				      3 * 8192 * 2,
				      3 * 8192 * 2 + 3 * 256 + 63};
	for (size_t off = 0; off < 8; off++)
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
			assert_int_equal(rn_crc32c(0x1234, buf + off, lens[k]),
					 rn__crc32c_sw(0x1234, buf + off, lens[k]));
	for (size_t len = 0; len < 2000; len += 13)
		assert_int_equal(rn_crc32c(0, buf + 3, len), rn__crc32c_sw(0, buf + 3, len));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_lanes_match_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
