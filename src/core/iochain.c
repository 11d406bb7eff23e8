#include "core/iochain.h"

#include "core/alloc.h"

static struct rn_piece *new_piece(struct rn_iochain *c)
{
	if (c->npieces == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 4;
		c->pieces = rn_realloc(c->pieces, (size_t)c->cap * sizeof(*c->pieces));
	}
	return &c->pieces[c->npieces++];
}

static void extend_mem(struct rn_iochain *c, size_t off, size_t n)
{
	struct rn_piece *last = c->npieces ? &c->pieces[c->npieces - 1] : NULL;
	if (last && last->kind == RN_PIECE_MEM && last->off + last->len == off) {
		last->len += n;
	} else {
		struct rn_piece *p = new_piece(c);
		p->kind = RN_PIECE_MEM;
		p->file = NULL;
		p->off = off;
		p->len = n;
	}
	c->total += n;
}

size_t rn_iochain_reserve(struct rn_iochain *c, size_t n)
{
	size_t off = c->mem.len;
	rn_buf_reserve(&c->mem, n);
	c->mem.len += n;
	extend_mem(c, off, n);
	return off;
}

void rn_iochain_add_mem(struct rn_iochain *c, const void *p, size_t n)
{
	if (n == 0)
		return;
	size_t off = c->mem.len;
	rn_buf_append(&c->mem, p, n);
	extend_mem(c, off, n);
}

void rn_iochain_add_file(struct rn_iochain *c, struct rn_fileref *f, uint64_t off, uint64_t len)
{
	if (len == 0)
		return;
	rn_fileref_get(f);
	struct rn_piece *p = new_piece(c);
	p->kind = RN_PIECE_FILE;
	p->file = f;
	p->off = off;
	p->len = len;
	c->total += len;
}

void rn_iochain_free(struct rn_iochain *c)
{
	for (int i = 0; i < c->npieces; i++)
		if (c->pieces[i].kind == RN_PIECE_FILE)
			rn_fileref_put(c->pieces[i].file);
	rn_free(c->pieces);
	rn_buf_free(&c->mem);
	c->pieces = NULL;
	c->npieces = c->cap = 0;
	c->total = 0;
}
