/*
 * An output chain: what one response sends, as a sequence of pieces that are either bytes held
 * in the chain's own buffer or a byte range of a file (log data, sent with sendfile).
 *
 *   chain.mem:  [ header+fields ....... | fields after the records ... ]
 *   pieces:     MEM(0,120)  FILE(seg,pos,len)  MEM(120,40)
 *
 * Memory pieces hold offsets into chain.mem, not pointers, because appends may move it.
 * A file piece holds a reference on an rn_fileref (taken by rn_iochain_add_file, dropped by
 * rn_iochain_free), so a segment being sent cannot be closed under the sender (retention,
 * topic deletion): the last rn_fileref_put closes it.
 */
#ifndef RN_CORE_IOCHAIN_H
#define RN_CORE_IOCHAIN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct rn_fileref {
	int fd;
	_Atomic int refs;
	/* Called by the last rn_fileref_put; closes fd and frees the owner. */
	void (*release)(struct rn_fileref *f);
};

static inline void rn_fileref_get(struct rn_fileref *f)
{
	atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

static inline void rn_fileref_put(struct rn_fileref *f)
{
	if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1)
		f->release(f);
}

enum rn_piece_kind { RN_PIECE_MEM, RN_PIECE_FILE };

struct rn_piece {
	enum rn_piece_kind kind;
	struct rn_fileref *file; /* RN_PIECE_FILE only */
	uint64_t off;            /* offset into chain.mem or into the file */
	uint64_t len;
};

struct rn_iochain {
	struct rn_buf mem;
	struct rn_piece *pieces;
	int npieces;
	int cap;
	uint64_t total; /* bytes over all pieces */
};

/* Appends bytes (copied into chain.mem). */
void rn_iochain_add_mem(struct rn_iochain *c, const void *p, size_t n);
/* Reserves n bytes in chain.mem at the end and returns their offset (write them via
 * rn_iochain_at); used for length prefixes that are patched later. */
size_t rn_iochain_reserve(struct rn_iochain *c, size_t n);
static inline uint8_t *rn_iochain_at(struct rn_iochain *c, size_t off)
{
	return c->mem.data + off;
}
/* Appends a file range; takes a reference on f. */
void rn_iochain_add_file(struct rn_iochain *c, struct rn_fileref *f, uint64_t off, uint64_t len);
/* Drops file references and frees memory; c is left empty and reusable. */
void rn_iochain_free(struct rn_iochain *c);

#endif
