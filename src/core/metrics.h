/*
 * Metrics in Prometheus text format. Fixed metrics are counters/gauges/histograms that their
 * owners keep in their own structs (atomics, so any thread updates them without locks); dynamic
 * ones (per topic, per partition) come from collectors that print themselves when /metrics is
 * scraped. Rendering walks the registry under a mutex; updates never take it.
 */
#ifndef RN_CORE_METRICS_H
#define RN_CORE_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/buf.h"

/* Latency histogram with fixed bucket bounds in microseconds, rendered in seconds. */
#define RN_HIST_NBUCKETS 20
extern const int64_t rn_hist_bounds_us[RN_HIST_NBUCKETS]; /* 25us .. ~10s, last = +Inf */

struct rn_hist {
	_Atomic uint64_t buckets[RN_HIST_NBUCKETS]; /* not cumulative; rendering sums them */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_us;
};

void rn_hist_record(struct rn_hist *h, int64_t us);

/* Renders one histogram series: name_bucket{labels,le=...}, name_sum, name_count.
 * labels is "" or 'k="v",k2="v2"' without braces. */
void rn_hist_render(struct rn_buf *out, const char *name, const char *labels,
		    const struct rn_hist *h);

/* A collector appends complete exposition lines (with # HELP / # TYPE where it starts a
 * family) to out. Called on the HTTP thread: it must take whatever locks its data needs. */
typedef void (*rn_metrics_collect_cb)(struct rn_buf *out, void *arg);

/* Registers a collector for the life of the process (or until rn_metrics_unregister). */
void rn_metrics_register(rn_metrics_collect_cb cb, void *arg);
void rn_metrics_unregister(rn_metrics_collect_cb cb, void *arg);
/* Renders every collector in registration order. */
void rn_metrics_render(struct rn_buf *out);

/* Appends formatted text to out (helper for collectors). */
void rn_buf_printf(struct rn_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
