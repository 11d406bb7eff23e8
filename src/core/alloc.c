#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
	fprintf(stderr, "FATAL out of memory allocating %zu bytes\n", n);
	abort();
}

void *rn_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *rn_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		oom(nmemb * size);
	return p;
}

void *rn_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *rn_strndup(const char *s, size_t n)
{
	char *d = rn_malloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *rn_strdup(const char *s)
{
	return rn_strndup(s, strlen(s));
}

void rn_free(void *p)
{
	free(p);
}
