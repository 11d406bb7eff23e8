#include "proto/prim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rn_str rn_str_c(const char *s)
{
	if (!s)
		return RN_STR_NULL;
	return (struct rn_str){s, (int32_t)strlen(s)};
}

bool rn_str_eq(struct rn_str a, const char *s)
{
	if (!s || a.len < 0)
		return !s && a.len < 0;
	size_t n = strlen(s);
	return (size_t)a.len == n && (n == 0 || memcmp(a.ptr, s, n) == 0);
}

/* Returns a pointer to n readable bytes and advances, or NULL (and sets err). */
static uint8_t *take(struct rn_rd *rd, size_t n)
{
	if (rd->err || (size_t)(rd->end - rd->p) < n) {
		rd->err = true;
		return NULL;
	}
	uint8_t *p = rd->p;
	rd->p += n;
	return p;
}

static uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t rd_be(struct rn_rd *rd, int n)
{
	const uint8_t *p = take(rd, (size_t)n);
	return p ? be(p, n) : 0;
}

int8_t rn_rd_i8(struct rn_rd *rd)
{
	return (int8_t)rd_be(rd, 1);
}

int16_t rn_rd_i16(struct rn_rd *rd)
{
	return (int16_t)rd_be(rd, 2);
}

int32_t rn_rd_i32(struct rn_rd *rd)
{
	return (int32_t)rd_be(rd, 4);
}

int64_t rn_rd_i64(struct rn_rd *rd)
{
	return (int64_t)rd_be(rd, 8);
}

uint16_t rn_rd_u16(struct rn_rd *rd)
{
	return (uint16_t)rd_be(rd, 2);
}

uint32_t rn_rd_u32(struct rn_rd *rd)
{
	return (uint32_t)rd_be(rd, 4);
}

bool rn_rd_bool(struct rn_rd *rd)
{
	return rd_be(rd, 1) != 0;
}

double rn_rd_f64(struct rn_rd *rd)
{
	uint64_t u = rd_be(rd, 8);
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

struct rn_uuid rn_rd_uuid(struct rn_rd *rd)
{
	struct rn_uuid u = {{0}};
	const uint8_t *p = take(rd, sizeof(u.b));
	if (p)
		memcpy(u.b, p, sizeof(u.b));
	return u;
}

/*
 * LEB128 of at most maxbytes bytes; the last byte may only carry the bits that still fit
 * (lastmask), so overlong and overflowing encodings are rejected rather than truncated.
 */
static uint64_t rd_leb(struct rn_rd *rd, int maxbytes, uint8_t lastmask)
{
	uint64_t v = 0;
	for (int i = 0; i < maxbytes; i++) {
		const uint8_t *p = take(rd, 1);
		if (!p)
			return 0;
		if (i == maxbytes - 1 && (*p & ~lastmask)) {
			rd->err = true;
			return 0;
		}
		v |= (uint64_t)(*p & 0x7f) << (7 * i);
		if (!(*p & 0x80))
			return v;
	}
	return 0; /* not reached: the last byte cannot have the continuation bit */
}

uint32_t rn_rd_uvarint(struct rn_rd *rd)
{
	return (uint32_t)rd_leb(rd, 5, 0x0f);
}

int32_t rn_rd_varint(struct rn_rd *rd)
{
	uint32_t u = (uint32_t)rd_leb(rd, 5, 0x0f);
	return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

int64_t rn_rd_varlong(struct rn_rd *rd)
{
	uint64_t u = rd_leb(rd, 10, 0x01);
	return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

void rn_rd_skip(struct rn_rd *rd, size_t n)
{
	take(rd, n);
}

/* Reads a length: classic (int16 or int32 by width) or compact. Returns -1 for null, -2 (and
 * sets err) for a malformed one or one longer than what is left. */
static int32_t rd_len(struct rn_rd *rd, bool compact, int width)
{
	int64_t n;
	if (compact)
		n = (int64_t)rn_rd_uvarint(rd) - 1;
	else
		n = width == 2 ? rn_rd_i16(rd) : rn_rd_i32(rd);
	if (rd->err || n < -1 || n > (int64_t)(rd->end - rd->p)) {
		rd->err = true;
		return -2;
	}
	return (int32_t)n;
}

struct rn_str rn_rd_string(struct rn_rd *rd, bool compact)
{
	int32_t n = rd_len(rd, compact, 2);
	if (n < 0)
		return RN_STR_NULL;
	return (struct rn_str){(const char *)take(rd, (size_t)n), n};
}

struct rn_bytes rn_rd_bytes(struct rn_rd *rd, bool compact)
{
	int32_t n = rd_len(rd, compact, 4);
	if (n < 0)
		return (struct rn_bytes){NULL, -1};
	return (struct rn_bytes){take(rd, (size_t)n), n};
}

struct rn_records rn_rd_records(struct rn_rd *rd, bool compact)
{
	int32_t n = rd_len(rd, compact, 4);
	if (n < 0)
		return (struct rn_records){NULL, -1, NULL, 0};
	return (struct rn_records){take(rd, (size_t)n), n, NULL, 0};
}

int32_t rn_rd_count(struct rn_rd *rd, bool compact)
{
	int32_t n = rd_len(rd, compact, 4);
	return n < -1 ? 0 : n;
}

void *rn_rd_alloc(struct rn_rd *rd, int32_t n, size_t sz)
{
	if (n <= 0 || rd->err)
		return NULL;
	return rn_arena_alloc(rd->arena, (size_t)n * sz);
}

void rn_rd_skip_tags(struct rn_rd *rd)
{
	uint32_t n = rn_rd_uvarint(rd);
	for (uint32_t i = 0; i < n && !rd->err; i++) {
		rn_rd_uvarint(rd);
		rn_rd_skip(rd, rn_rd_uvarint(rd));
	}
}

void rn__rd_sub(struct rn_rd *rd, uint32_t n, struct rn_rd *sub)
{
	uint8_t *p = take(rd, n);
	sub->p = p;
	sub->end = p ? p + n : NULL; /* no arithmetic on NULL, even + 0 */
	sub->err = rd->err;
	sub->arena = rd->arena;
}

static void wr_be(struct rn_iochain *w, uint64_t v, int n)
{
	uint8_t b[8];
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	rn_iochain_add_mem(w, b, (size_t)n);
}

void rn_wr_i8(struct rn_iochain *w, int8_t v)
{
	wr_be(w, (uint8_t)v, 1);
}

void rn_wr_i16(struct rn_iochain *w, int16_t v)
{
	wr_be(w, (uint16_t)v, 2);
}

void rn_wr_i32(struct rn_iochain *w, int32_t v)
{
	wr_be(w, (uint32_t)v, 4);
}

void rn_wr_i64(struct rn_iochain *w, int64_t v)
{
	wr_be(w, (uint64_t)v, 8);
}

void rn_wr_u16(struct rn_iochain *w, uint16_t v)
{
	wr_be(w, v, 2);
}

void rn_wr_u32(struct rn_iochain *w, uint32_t v)
{
	wr_be(w, v, 4);
}

void rn_wr_bool(struct rn_iochain *w, bool v)
{
	wr_be(w, v ? 1 : 0, 1);
}

void rn_wr_f64(struct rn_iochain *w, double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof(u));
	wr_be(w, u, 8);
}

void rn_wr_uuid(struct rn_iochain *w, const struct rn_uuid *u)
{
	rn_iochain_add_mem(w, u->b, sizeof(u->b));
}

static void wr_leb(struct rn_iochain *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	rn_iochain_add_mem(w, b, n);
}

void rn_wr_uvarint(struct rn_iochain *w, uint32_t v)
{
	wr_leb(w, v);
}

void rn_wr_varint(struct rn_iochain *w, int32_t v)
{
	wr_leb(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void rn_wr_varlong(struct rn_iochain *w, int64_t v)
{
	wr_leb(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

int rn_uvarint_size(uint32_t v)
{
	int n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Writes a length prefix; len -1 = null. */
static void wr_len(struct rn_iochain *w, int32_t len, bool compact, int width)
{
	if (len < -1)
		len = -1;
	if (compact)
		rn_wr_uvarint(w, (uint32_t)(len + 1));
	else if (width == 2)
		rn_wr_i16(w, (int16_t)len);
	else
		rn_wr_i32(w, len);
}

void rn_wr_string(struct rn_iochain *w, struct rn_str s, bool compact)
{
	if (!compact && s.len > INT16_MAX) {
		/* A classic string cannot say this; our own values never get here. */
		fprintf(stderr, "rn_wr_string: %d bytes do not fit an int16 length\n", (int)s.len);
		abort();
	}
	wr_len(w, s.len, compact, 2);
	if (s.len > 0)
		rn_iochain_add_mem(w, s.ptr, (size_t)s.len);
}

void rn_wr_cstring(struct rn_iochain *w, const char *s, bool compact)
{
	rn_wr_string(w, rn_str_c(s), compact);
}

void rn_wr_bytes(struct rn_iochain *w, struct rn_bytes b, bool compact)
{
	wr_len(w, b.len, compact, 4);
	if (b.len > 0)
		rn_iochain_add_mem(w, b.ptr, (size_t)b.len);
}

void rn_wr_records(struct rn_iochain *w, const struct rn_records *r, bool compact)
{
	wr_len(w, r->len, compact, 4);
	if (r->len <= 0)
		return;
	if (r->file)
		rn_iochain_add_file(w, r->file, r->file_off, (uint64_t)r->len);
	else
		rn_iochain_add_mem(w, r->ptr, (size_t)r->len);
}

void rn_wr_count(struct rn_iochain *w, int32_t count, bool compact)
{
	wr_len(w, count, compact, 4);
}

void rn_wr_empty_tags(struct rn_iochain *w)
{
	rn_wr_uvarint(w, 0);
}

void rn__wr_tagged(struct rn_iochain *w, uint32_t tag, const struct rn_iochain *tmp)
{
	rn_wr_uvarint(w, tag);
	rn_wr_uvarint(w, (uint32_t)tmp->mem.len);
	rn_iochain_add_mem(w, tmp->mem.data, tmp->mem.len);
}
