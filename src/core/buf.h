/*
 * A linear growable byte buffer. Invariant: len <= cap; data is NULL only when cap == 0.
 * Growing may move data, so never keep pointers into it across appends: keep offsets.
 */
#ifndef RN_CORE_BUF_H
#define RN_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct rn_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* Ensures room for n more bytes; returns a pointer to data + len. */
uint8_t *rn_buf_reserve(struct rn_buf *b, size_t n);
void rn_buf_append(struct rn_buf *b, const void *p, size_t n);
void rn_buf_reset(struct rn_buf *b);
/* Frees the storage; b is left empty and reusable. */
void rn_buf_free(struct rn_buf *b);

#endif
