/*
 * Latency histogram in the HdrHistogram style: log-linear buckets with a bounded relative error
 * (1/128, a little better than 2 significant decimal digits) over 1 us .. 60 s, in constant
 * memory (about 20 KiB), so recording costs a few instructions and never allocates.
 *
 * Values are microseconds. Values above RN_CLI_HIST_MAX_US are counted in the top bucket and still
 * reported exactly as the maximum. Not thread-safe: one recorder thread per histogram.
 */
#ifndef RN_CLI_HIST_H
#define RN_CLI_HIST_H

#include <stdint.h>

#define RN_CLI_HIST_SUB_BITS 7 /* 128 sub-buckets per power of two above 256 */
#define RN_CLI_HIST_MAX_US   60000000LL
#define RN_CLI_HIST_NBUCKETS 2560

struct rn_cli_hist {
	uint64_t count;
	int64_t min;
	int64_t max;
	double sum;
	uint64_t buckets[RN_CLI_HIST_NBUCKETS];
};

void rn_cli_hist_init(struct rn_cli_hist *h);
/* Negative values are recorded as 0 (a clock step, not a real latency). */
void rn_cli_hist_record(struct rn_cli_hist *h, int64_t us);
/* Adds every count of src into dst. */
void rn_cli_hist_merge(struct rn_cli_hist *dst, const struct rn_cli_hist *src);
/*
 * Returns the smallest recorded-bucket value v such that at least pct percent of the samples
 * are <= v (the bucket's highest equivalent value, capped at the exact maximum). pct in [0,100];
 * returns 0 for an empty histogram.
 */
int64_t rn_cli_hist_percentile(const struct rn_cli_hist *h, double pct);
double rn_cli_hist_mean(const struct rn_cli_hist *h);

#endif
