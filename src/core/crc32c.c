/*
 * CRC-32C. With SSE4.2 the crc32 instruction has a latency of 3 cycles but a throughput of one
 * per cycle, so one dependent chain uses a third of it: long buffers are cut into three lanes
 * computed together, then joined by "shifting" the first lanes' CRCs over the bytes that
 * follow them (a linear operator on the 32-bit CRC, applied with four table lookups). This is
 * the batch-validation cost of every produce, so it matters (performance.md: ~8 GB/s for one
 * lane, ~22 GB/s for three).
 */
#include "core/crc32c.h"

#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#define POLY       0x82F63B78u /* reflected Castagnoli polynomial */
#define LONG_LANE  8192
#define SHORT_LANE 256

static uint32_t table[8][256];
static bool have_sse42;
/* Operators "append LONG_LANE (SHORT_LANE) zero bytes" as byte-indexed tables. */
static uint32_t long_shift[4][256], short_shift[4][256];

/* GF(2) 32x32 matrices: mat[i] is the image of bit i. */
static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
	uint32_t sum = 0;
	for (; vec; vec >>= 1, mat++)
		if (vec & 1)
			sum ^= *mat;
	return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat)
{
	for (int n = 0; n < 32; n++)
		square[n] = gf2_times(mat, mat[n]);
}

/* Builds the shift tables for appending len zero bytes (len a power of two >= 1). */
static void make_shift(uint32_t shift[4][256], size_t len)
{
	uint32_t op[32], sq[32];
	/* op = one zero bit: the CRC register's update for a 0 input bit. */
	op[0] = POLY;
	for (int n = 1; n < 32; n++)
		op[n] = 1u << (n - 1);
	for (size_t bits = 1; bits < len * 8; bits *= 2) {
		gf2_square(sq, op);
		memcpy(op, sq, sizeof(op));
	}
	for (uint32_t n = 0; n < 256; n++)
		for (int b = 0; b < 4; b++)
			shift[b][n] = gf2_times(op, n << (8 * b));
}

static inline uint32_t apply_shift(uint32_t shift[4][256], uint32_t crc)
{
	return shift[0][crc & 0xff] ^ shift[1][(crc >> 8) & 0xff] ^ shift[2][(crc >> 16) & 0xff] ^
	       shift[3][crc >> 24];
}

__attribute__((constructor)) static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
	make_shift(long_shift, LONG_LANE);
	make_shift(short_shift, SHORT_LANE);
#if defined(__x86_64__)
	__builtin_cpu_init();
	have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		v ^= crc;
		crc = table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^ table[5][(v >> 16) & 0xff] ^
		      table[4][(v >> 24) & 0xff] ^ table[3][(v >> 32) & 0xff] ^
		      table[2][(v >> 40) & 0xff] ^ table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
lanes3(uint32_t crc, const uint8_t **pp, size_t *lenp, size_t lane, uint32_t shift[4][256])
{
	const uint8_t *p = *pp;
	size_t len = *lenp;
	while (len >= 3 * lane) {
		uint64_t c0 = crc, c1 = 0, c2 = 0;
		const uint8_t *end = p + lane;
		do {
			uint64_t a, b, c;
			memcpy(&a, p, 8);
			memcpy(&b, p + lane, 8);
			memcpy(&c, p + 2 * lane, 8);
			c0 = _mm_crc32_u64(c0, a);
			c1 = _mm_crc32_u64(c1, b);
			c2 = _mm_crc32_u64(c2, c);
			p += 8;
		} while (p < end);
		crc = apply_shift(shift, (uint32_t)c0) ^ (uint32_t)c1;
		crc = apply_shift(shift, crc) ^ (uint32_t)c2;
		p += 2 * lane;
		len -= 3 * lane;
	}
	*pp = p;
	*lenp = len;
	return crc;
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	crc = lanes3(crc, &p, &len, LONG_LANE, long_shift);
	crc = lanes3(crc, &p, &len, SHORT_LANE, short_shift);
	uint64_t c = crc;
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
		p += 8;
		len -= 8;
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = _mm_crc32_u8(c32, *p++);
	return c32;
}
#endif

uint32_t rn_crc32c(uint32_t crc, const void *buf, size_t len)
{
	crc = ~crc;
#if defined(__x86_64__)
	if (have_sse42)
		return ~crc_hw(crc, buf, len);
#endif
	return ~crc_sw(crc, buf, len);
}

uint32_t rn__crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	return ~crc_sw(~crc, buf, len);
}
