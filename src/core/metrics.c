#include "core/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/alloc.h"

const int64_t rn_hist_bounds_us[RN_HIST_NBUCKETS] = {
    25,    50,     100,    250,    500,     1000,    2500,    5000,     10000,    25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000, INT64_MAX,
};

void rn_hist_record(struct rn_hist *h, int64_t us)
{
	int i = 0;
	while (i < RN_HIST_NBUCKETS - 1 && us > rn_hist_bounds_us[i])
		i++;
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (uint64_t)(us < 0 ? 0 : us), memory_order_relaxed);
}

void rn_buf_printf(struct rn_buf *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	char *p = (char *)rn_buf_reserve(out, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	out->len += (size_t)n;
}

void rn_hist_render(struct rn_buf *out, const char *name, const char *labels,
		    const struct rn_hist *h)
{
	const char *sep = labels[0] ? "," : "";
	uint64_t cum = 0;
	for (int i = 0; i < RN_HIST_NBUCKETS; i++) {
		cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
		if (i == RN_HIST_NBUCKETS - 1)
			rn_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
				      (unsigned long long)cum);
		else
			rn_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
				      (double)rn_hist_bounds_us[i] / 1e6, (unsigned long long)cum);
	}
	const char *lb = labels[0] ? "{" : "", *rb = labels[0] ? "}" : "";
	rn_buf_printf(out, "%s_sum%s%s%s %.6f\n", name, lb, labels, rb,
		      (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6);
	rn_buf_printf(out, "%s_count%s%s%s %llu\n", name, lb, labels, rb,
		      (unsigned long long)atomic_load_explicit(&h->count, memory_order_relaxed));
}

struct collector {
	rn_metrics_collect_cb cb;
	void *arg;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct collector *g_cols;
static int g_ncols;

void rn_metrics_register(rn_metrics_collect_cb cb, void *arg)
{
	pthread_mutex_lock(&g_lock);
	g_cols = rn_realloc(g_cols, (size_t)(g_ncols + 1) * sizeof(*g_cols));
	g_cols[g_ncols++] = (struct collector){cb, arg};
	pthread_mutex_unlock(&g_lock);
}

void rn_metrics_unregister(rn_metrics_collect_cb cb, void *arg)
{
	pthread_mutex_lock(&g_lock);
	for (int i = 0; i < g_ncols; i++) {
		if (g_cols[i].cb == cb && g_cols[i].arg == arg) {
			g_cols[i] = g_cols[--g_ncols];
			break;
		}
	}
	pthread_mutex_unlock(&g_lock);
}

void rn_metrics_render(struct rn_buf *out)
{
	pthread_mutex_lock(&g_lock);
	for (int i = 0; i < g_ncols; i++)
		g_cols[i].cb(out, g_cols[i].arg);
	pthread_mutex_unlock(&g_lock);
}
