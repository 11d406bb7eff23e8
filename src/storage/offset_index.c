/*
 * Sparse offset index lookups and appends. Entries are (relative offset, position) of batch
 * starts, strictly increasing in both; readers see entries [0, n) where n was published with
 * release order after the entry bytes were written.
 */
#include "storage/segment.h"

uint64_t rn__oidx_lookup(const struct rn__index *x, uint32_t n, uint32_t rel)
{
	uint32_t lo = 0, hi = n; /* first entry with rel offset > rel */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (rn__oidx_rel(x, mid) <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? 0 : rn__oidx_pos(x, lo - 1);
}

int64_t rn__oidx_lookup_pos(const struct rn__index *x, uint32_t n, uint64_t pos)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (rn__oidx_pos(x, mid) <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int64_t)lo - 1;
}

void rn__oidx_append(struct rn__index *x, uint32_t rel, uint32_t pos)
{
	uint32_t n = atomic_load_explicit(&x->n, memory_order_relaxed);
	uint8_t *e = x->map + (size_t)n * RN_OIDX_ENTRY;
	rn_put_be32(e, rel);
	rn_put_be32(e + 4, pos);
	atomic_store_explicit(&x->n, n + 1, memory_order_release);
}
