#include "meta/store.h"

#include <string.h>

#include "core/alloc.h"

void rn_cfg_kv_set(struct rn_cfg_kv **kv, int *n, const char *key, const char *val)
{
	struct rn_cfg_kv *a = *kv;
	for (int i = 0; i < *n; i++) {
		if (strcmp(a[i].key, key) != 0)
			continue;
		rn_free(a[i].val);
		if (val) {
			a[i].val = rn_strdup(val);
		} else {
			rn_free(a[i].key);
			a[i] = a[--*n]; /* order does not matter: lookups are by key */
		}
		return;
	}
	if (!val)
		return;
	*kv = a = rn_realloc(a, (size_t)(*n + 1) * sizeof(*a));
	a[*n].key = rn_strdup(key);
	a[*n].val = rn_strdup(val);
	(*n)++;
}
