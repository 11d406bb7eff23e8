#include "broker/tp.h"

#include <string.h>

int rn_tp_cmp(const void *a, const void *b)
{
	const struct rn_tp *x = a, *y = b;
	/* By length first: any total order will do, and it spares most memcmp calls. */
	if (x->topic.len != y->topic.len)
		return x->topic.len < y->topic.len ? -1 : 1;
	int c = x->topic.len > 0 ? memcmp(x->topic.ptr, y->topic.ptr, (size_t)x->topic.len) : 0;
	if (c)
		return c;
	return x->partition < y->partition ? -1 : x->partition > y->partition;
}
