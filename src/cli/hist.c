/*
 * Log-linear histogram. Layout of the bucket index:
 *
 *   value v < 256            -> index v                     (exact)
 *   v >= 256, msb(v) = m      -> shift s = m - 7, top = v >> s in [128, 255]
 *                                index 256 + (s - 1) * 128 + (top - 128)
 *
 * so every power-of-two range above 256 is split in 128 equal sub-buckets and the error of a
 * reported value is below 1/128 of it. 60 s = 6e7 us has msb 25, i.e. s <= 18, index < 2560.
 */
#include <math.h>
#include <string.h>

#include "cli/hist.h"

static int index_of(int64_t v)
{
	if (v < 256)
		return (int)v;
	int msb = 63 - __builtin_clzll((unsigned long long)v);
	int s = msb - RN_CLI_HIST_SUB_BITS;
	int top = (int)(v >> s);
	return 256 + (s - 1) * 128 + (top - 128);
}

/* Highest value that maps to index i. */
static int64_t highest_of(int i)
{
	if (i < 256)
		return i;
	int s = (i - 256) / 128 + 1;
	int64_t top = (i - 256) % 128 + 128;
	return ((top + 1) << s) - 1;
}

void rn_cli_hist_init(struct rn_cli_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = INT64_MAX;
}

void rn_cli_hist_record(struct rn_cli_hist *h, int64_t us)
{
	if (us < 0)
		us = 0;
	h->count++;
	h->sum += (double)us;
	if (us < h->min)
		h->min = us;
	if (us > h->max)
		h->max = us;
	h->buckets[index_of(us > RN_CLI_HIST_MAX_US ? RN_CLI_HIST_MAX_US : us)]++;
}

void rn_cli_hist_merge(struct rn_cli_hist *dst, const struct rn_cli_hist *src)
{
	if (!src->count)
		return;
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	for (int i = 0; i < RN_CLI_HIST_NBUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
}

int64_t rn_cli_hist_percentile(const struct rn_cli_hist *h, double pct)
{
	if (!h->count)
		return 0;
	if (pct < 0)
		pct = 0;
	if (pct > 100)
		pct = 100;
	/*
	 * 1-based rank of the sample we want (nearest-rank definition). The epsilon keeps
	 * 0.99 * 1000 = 990.0000000001 from rounding up to 991.
	 */
	uint64_t rank = (uint64_t)ceil(pct / 100.0 * (double)h->count - 1e-9);
	if (rank < 1)
		rank = 1;
	/* The bucket holding the maximum reports the exact maximum (also past RN_CLI_HIST_MAX_US).
	 */
	int max_i = index_of(h->max > RN_CLI_HIST_MAX_US ? RN_CLI_HIST_MAX_US : h->max);
	uint64_t seen = 0;
	for (int i = 0; i < RN_CLI_HIST_NBUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			int64_t v = i >= max_i ? h->max : highest_of(i);
			if (v < h->min)
				v = h->min;
			return v;
		}
	}
	return h->max;
}

double rn_cli_hist_mean(const struct rn_cli_hist *h)
{
	return h->count ? h->sum / (double)h->count : 0.0;
}
