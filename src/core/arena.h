/*
 * A bump allocator for everything one request decodes or builds (nginx pools). Nothing is freed
 * individually; rn_arena_free releases it all when the response has been sent.
 */
#ifndef RN_CORE_ARENA_H
#define RN_CORE_ARENA_H

#include <stddef.h>

struct rn_arena_chunk;

struct rn_arena {
	struct rn_arena_chunk *head;
	size_t used; /* total bytes handed out, for limits and metrics */
};

/* Returns zeroed memory, 16-byte aligned, owned by the arena. Never NULL. */
void *rn_arena_alloc(struct rn_arena *a, size_t n);
/* Copies n bytes into the arena (adds a NUL terminator); the copy lives as long as the arena. */
char *rn_arena_strndup(struct rn_arena *a, const char *s, size_t n);
void rn_arena_free(struct rn_arena *a);

#endif
