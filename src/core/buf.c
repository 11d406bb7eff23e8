#include "core/buf.h"

#include <string.h>

#include "core/alloc.h"

uint8_t *rn_buf_reserve(struct rn_buf *b, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len < n)
			cap *= 2;
		b->data = rn_realloc(b->data, cap);
		b->cap = cap;
	}
	return b->data + b->len;
}

void rn_buf_append(struct rn_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(rn_buf_reserve(b, n), p, n);
	b->len += n;
}

void rn_buf_reset(struct rn_buf *b)
{
	b->len = 0;
}

void rn_buf_free(struct rn_buf *b)
{
	rn_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
