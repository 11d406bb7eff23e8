/*
 * Allocation wrappers. Out of memory is not a condition Runnel tries to survive (Redis zmalloc):
 * every wrapper aborts with a log line instead of returning NULL, so callers never check.
 * Sizes a client controls must be checked against configured limits BEFORE calling these.
 */
#ifndef RN_CORE_ALLOC_H
#define RN_CORE_ALLOC_H

#include <stddef.h>

/* Returns memory owned by the caller; release with rn_free(). Never returns NULL. */
void *rn_malloc(size_t n);
void *rn_calloc(size_t nmemb, size_t size);
void *rn_realloc(void *p, size_t n);
/* Copies s (NUL-terminated) or the first n bytes of s; caller owns the result. */
char *rn_strdup(const char *s);
char *rn_strndup(const char *s, size_t n);
void rn_free(void *p);

#endif
