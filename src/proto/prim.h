/*
 * Kafka wire primitives: the hand-written layer under the generated codec (gen/rn_msg.c).
 *
 * Everything is big-endian. Two varint flavours exist and must not be mixed up:
 *   - unsigned LEB128 (uvarint) for compact lengths (len+1, 0 = null), array counts (count+1)
 *     and tagged-field headers of flexible versions;
 *   - zig-zag signed (varint/varlong) as in protobuf sint32/sint64 (record batches).
 *
 * Decoding goes through a cursor with a sticky error flag: every read past the end, or of a
 * malformed value, sets rd->err and returns a zero value, and later reads keep failing. A
 * message decoder therefore checks rd->err once at the end instead of after every field.
 *
 * Decoded strings, bytes and records are views into the frame buffer: they stay valid as long
 * as the frame does (one request = one arena = one frame, freed when the response is sent).
 */
#ifndef RN_PROTO_PRIM_H
#define RN_PROTO_PRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/iochain.h"

/* A string view, not NUL-terminated. len -1 = null. */
struct rn_str {
	const char *ptr;
	int32_t len;
};

/* A byte view. len -1 = null. */
struct rn_bytes {
	const uint8_t *ptr;
	int32_t len;
};

struct rn_uuid {
	uint8_t b[16];
};

/*
 * A record set (the opaque "records" type: one or more record batches).
 * Decode: ptr is a MUTABLE view into the request frame, because the broker assigns offsets in
 * place before appending; len -1 = null; file is NULL.
 * Encode: if file != NULL, len bytes at file_off of that file are appended with
 * rn_iochain_add_file (zero copy, sendfile; the chain takes its own reference); otherwise the
 * len bytes at ptr are copied. len -1 = null.
 */
struct rn_records {
	uint8_t *ptr;
	int32_t len;
	struct rn_fileref *file;
	uint64_t file_off;
};

/* Decode cursor over [p, end). Arrays are allocated from arena. */
struct rn_rd {
	uint8_t *p;
	uint8_t *end;
	bool err;
	struct rn_arena *arena;
};

#define RN_STR_NULL ((struct rn_str){NULL, -1})
/* A view of a NUL-terminated literal or buffer; NULL gives the null string. */
struct rn_str rn_str_c(const char *s);
bool rn_str_eq(struct rn_str a, const char *s);

static inline void rn_rd_init(struct rn_rd *rd, uint8_t *p, size_t n, struct rn_arena *arena)
{
	rd->p = p;
	rd->end = p + n;
	rd->err = false;
	rd->arena = arena;
}

static inline size_t rn_rd_left(const struct rn_rd *rd)
{
	return rd->err ? 0 : (size_t)(rd->end - rd->p);
}

/* Fixed-width readers. */
int8_t rn_rd_i8(struct rn_rd *rd);
int16_t rn_rd_i16(struct rn_rd *rd);
int32_t rn_rd_i32(struct rn_rd *rd);
int64_t rn_rd_i64(struct rn_rd *rd);
uint16_t rn_rd_u16(struct rn_rd *rd);
uint32_t rn_rd_u32(struct rn_rd *rd);
/* Any non-zero byte is true, as in Kafka's readers. */
bool rn_rd_bool(struct rn_rd *rd);
double rn_rd_f64(struct rn_rd *rd);
struct rn_uuid rn_rd_uuid(struct rn_rd *rd);

/* Variable-length readers. Overlong encodings (a continuation bit on the 5th byte of a 32-bit
 * varint or on the 10th of a 64-bit one) and bits beyond the width are errors. */
uint32_t rn_rd_uvarint(struct rn_rd *rd);
int32_t rn_rd_varint(struct rn_rd *rd);
int64_t rn_rd_varlong(struct rn_rd *rd);

/* Advances n bytes (error if fewer are left). */
void rn_rd_skip(struct rn_rd *rd, size_t n);

/*
 * Strings, bytes, records: classic (int16 length for strings, int32 for bytes and records,
 * -1 = null) or compact (uvarint len+1, 0 = null). A length larger than what is left is an
 * error. Nullability is checked by the caller (the generated code), which knows the version.
 */
struct rn_str rn_rd_string(struct rn_rd *rd, bool compact);
struct rn_bytes rn_rd_bytes(struct rn_rd *rd, bool compact);
struct rn_records rn_rd_records(struct rn_rd *rd, bool compact);

/*
 * Reads an array count (classic int32 or compact uvarint count+1; -1 = null). Every element
 * takes at least one byte on the wire, so a count larger than the bytes left is an error: this
 * is what keeps a client-chosen count from making us allocate before we have read anything.
 */
int32_t rn_rd_count(struct rn_rd *rd, bool compact);

/*
 * Allocates n elements of size sz from rd->arena (zeroed). Only call it with an n that passed
 * rn_rd_count; returns NULL for n <= 0. Lives as long as the arena.
 */
void *rn_rd_alloc(struct rn_rd *rd, int32_t n, size_t sz);

/* Skips a whole tag buffer (tag count, then tag/size/data for each); for messages whose tags
 * are all unknown to us. */
void rn_rd_skip_tags(struct rn_rd *rd);

/*
 * Writers append to an output chain. Encoders never fail: the values are ours, and the only
 * impossible one (a classic string longer than INT16_MAX) aborts as a programming error.
 */
void rn_wr_i8(struct rn_iochain *w, int8_t v);
void rn_wr_i16(struct rn_iochain *w, int16_t v);
void rn_wr_i32(struct rn_iochain *w, int32_t v);
void rn_wr_i64(struct rn_iochain *w, int64_t v);
void rn_wr_u16(struct rn_iochain *w, uint16_t v);
void rn_wr_u32(struct rn_iochain *w, uint32_t v);
void rn_wr_bool(struct rn_iochain *w, bool v);
void rn_wr_f64(struct rn_iochain *w, double v);
void rn_wr_uuid(struct rn_iochain *w, const struct rn_uuid *u);
void rn_wr_uvarint(struct rn_iochain *w, uint32_t v);
void rn_wr_varint(struct rn_iochain *w, int32_t v);
void rn_wr_varlong(struct rn_iochain *w, int64_t v);
void rn_wr_string(struct rn_iochain *w, struct rn_str s, bool compact);
void rn_wr_cstring(struct rn_iochain *w, const char *s, bool compact);
void rn_wr_bytes(struct rn_iochain *w, struct rn_bytes b, bool compact);
void rn_wr_records(struct rn_iochain *w, const struct rn_records *r, bool compact);
/* Array count prefix; -1 = null. */
void rn_wr_count(struct rn_iochain *w, int32_t count, bool compact);
/* An empty tag buffer (one zero byte). */
void rn_wr_empty_tags(struct rn_iochain *w);

/* Number of bytes rn_wr_uvarint writes for v. */
int rn_uvarint_size(uint32_t v);

/*
 * Module-private helpers for the generated code. A null value in a version where the field is
 * not nullable is written as empty: Kafka would refuse to serialize it, and a peer would refuse
 * to parse -1 there, so the forgiving choice is the only useful one.
 */
static inline struct rn_str rn__str_nonnull(struct rn_str s)
{
	return s.len < 0 ? (struct rn_str){"", 0} : s;
}

static inline struct rn_bytes rn__bytes_nonnull(struct rn_bytes b)
{
	return b.len < 0 ? (struct rn_bytes){(const uint8_t *)"", 0} : b;
}

static inline int32_t rn__count_nonnull(int32_t n)
{
	return n < 0 ? 0 : n;
}

/* Appends the bytes of tmp (memory pieces only) to w as one tagged field: tag, size, data. */
void rn__wr_tagged(struct rn_iochain *w, uint32_t tag, const struct rn_iochain *tmp);

/* Starts reading one tagged field of size n: *sub covers it, rd moves past it. */
void rn__rd_sub(struct rn_rd *rd, uint32_t n, struct rn_rd *sub);

#endif
