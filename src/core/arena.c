#include "core/arena.h"

#include <string.h>

#include "core/alloc.h"

struct rn_arena_chunk {
	struct rn_arena_chunk *next;
	size_t cap;
	size_t off;
	_Alignas(16) unsigned char mem[];
};

void *rn_arena_alloc(struct rn_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct rn_arena_chunk *c = a->head;
	if (!c || c->cap - c->off < n) {
		size_t cap = n > 3840 ? n : 3840;
		c = rn_malloc(sizeof(*c) + cap);
		c->cap = cap;
		c->off = 0;
		c->next = a->head;
		a->head = c;
	}
	void *p = c->mem + c->off;
	c->off += n;
	a->used += n;
	memset(p, 0, n);
	return p;
}

char *rn_arena_strndup(struct rn_arena *a, const char *s, size_t n)
{
	char *d = rn_arena_alloc(a, n + 1);
	memcpy(d, s, n);
	return d;
}

void rn_arena_free(struct rn_arena *a)
{
	struct rn_arena_chunk *c = a->head;
	while (c) {
		struct rn_arena_chunk *n = c->next;
		rn_free(c);
		c = n;
	}
	a->head = NULL;
	a->used = 0;
}
