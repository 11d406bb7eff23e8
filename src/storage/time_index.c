/*
 * Time index lookups and appends. Entry i says: every batch before the one at relative offset
 * rel_i has a max timestamp <= ts_i, and ts_i strictly increases with i. So the first batch
 * whose max timestamp is >= t lies at or after the last entry with ts < t.
 */
#include "storage/segment.h"

static int64_t ts_at(const struct rn__index *x, uint32_t i)
{
	return (int64_t)rn_be64(x->map + (size_t)i * RN_TIDX_ENTRY);
}

int64_t rn__tidx_lookup(const struct rn__index *x, uint32_t n, int64_t ts)
{
	uint32_t lo = 0, hi = n; /* first entry with timestamp >= ts */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ts_at(x, mid) < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	return rn_be32(x->map + (size_t)(lo - 1) * RN_TIDX_ENTRY + 8);
}

void rn__tidx_append(struct rn__index *x, int64_t ts, uint32_t rel)
{
	uint32_t n = atomic_load_explicit(&x->n, memory_order_relaxed);
	uint8_t *e = x->map + (size_t)n * RN_TIDX_ENTRY;
	rn_put_be64(e, (uint64_t)ts);
	rn_put_be32(e + 8, rel);
	atomic_store_explicit(&x->n, n + 1, memory_order_release);
}

int64_t rn__tidx_last_ts(const struct rn__index *x, uint32_t n)
{
	return n == 0 ? INT64_MIN : ts_at(x, n - 1);
}
