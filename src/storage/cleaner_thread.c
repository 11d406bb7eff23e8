/*
 * The background cleaner: threads that each claim the dirtiest cleanable partition of the log
 * dir (rn__logdir_claim, which takes the partition's clean_mu under the log dir's lock so that
 * a concurrent close or delete waits for the clean), clean it with their own offset map, write
 * the cleaner-offset-checkpoint, and sleep log.cleaner.backoff.ms when nothing is cleanable.
 * Also the I/O throttle and the /metrics collector (Kafka's LogCleaner and LogCleanerManager
 * gauges).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "storage/cleaner_int.h"
#include "storage/logdir.h"

void rn_cleaner_config_default(struct rn_cleaner_config *c)
{
	c->enable = true;
	c->threads = 1;
	c->dedupe_buffer_size = 128LL << 20;
	c->load_factor = 0.9;
	c->io_buffer_size = 512 << 10;
	c->max_io_bytes_per_second = HUGE_VAL;
	c->backoff_ms = 15000;
}

/* ---- throttle ---- */

void rn__throttle_init(struct rn__throttle *t, double rate)
{
	t->rate = rate > 0 && isfinite(rate) && rate < 1e18 ? rate : 0;
	t->start_us = rn_mono_us();
	t->bytes = 0;
}

static bool set(_Atomic bool *f)
{
	return f && atomic_load(f);
}

void rn__throttle(struct rn__throttle *t, size_t n, _Atomic bool *stop1, _Atomic bool *stop2)
{
	if (t->rate <= 0)
		return;
	t->bytes += (double)n;
	int64_t now = rn_mono_us();
	double due_us = t->bytes / t->rate * 1e6;
	int64_t ahead = (int64_t)due_us - (now - t->start_us);
	/* Sleep in slices so a close or stop does not wait for a long throttle. */
	while (ahead > 0 && !set(stop1) && !set(stop2)) {
		int64_t s = ahead < 100000 ? ahead : 100000;
		struct timespec ts = {s / 1000000, (s % 1000000) * 1000};
		nanosleep(&ts, NULL);
		ahead -= s;
	}
	/* A new window every second, so an idle spell does not buy a later burst. */
	if (now - t->start_us > 1000000) {
		t->start_us = rn_mono_us();
		t->bytes = 0;
	}
}

/* ---- threads ---- */

struct rn_cleaner {
	struct rn_logdir *d;
	struct rn_cleaner_config cfg;
	pthread_t *threads;
	int nthreads;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;
	uint64_t wakeups;
	_Atomic bool abort; /* stop: cuts throttle sleeps */
	/* Gauges (Kafka's names in collect()). */
	_Atomic int64_t last_clean_us, recopy_permille, buffer_permille, max_dirty_permille;
	_Atomic int64_t uncleanable, last_run_ms, cleans, bytes_read, bytes_written, max_delay_ms;
	_Atomic int dead_threads;
};

struct score_arg {
	int64_t now;
	double max_dirty;
	int uncleanable;
	int64_t max_delay_ms;
};

/* The dirty ratio of a cleanable partition, or -1 to skip it. Under the log dir's lock. */
static double score(struct rn_partition *p, void *arg)
{
	struct score_arg *a = arg;
	if (!atomic_load(&p->compact) || atomic_load(&p->offline) || atomic_load(&p->clean_abort))
		return -1;
	if (atomic_load(&p->uncleanable)) {
		a->uncleanable++;
		return -1;
	}
	if (atomic_load(&p->in_clean))
		return -1;
	struct rn_clean_state st;
	rn_partition_clean_state(p, a->now, &st);
	if (st.dirty_ratio > a->max_dirty)
		a->max_dirty = st.dirty_ratio;
	if (st.compaction_delay_ms > a->max_delay_ms)
		a->max_delay_ms = st.compaction_delay_ms;
	return st.cleanable ? st.dirty_ratio : -1;
}

static void record(struct rn_cleaner *c, const struct rn_clean_stats *st)
{
	atomic_store(&c->last_clean_us, st->elapsed_us);
	if (st->bytes_read > 0)
		atomic_store(&c->recopy_permille, st->bytes_written * 1000 / st->bytes_read);
	atomic_store(&c->buffer_permille, (int64_t)(st->map_utilization * 1000));
	atomic_fetch_add(&c->cleans, 1);
	atomic_fetch_add(&c->bytes_read, st->bytes_read);
	atomic_fetch_add(&c->bytes_written, st->bytes_written);
}

/* Claims and cleans one partition. Returns true if there was one. */
static bool clean_one(struct rn_cleaner *c, struct rn__omap *map)
{
	struct score_arg a = {.now = rn_wall_ms()};
	struct rn_partition *p = rn__logdir_claim(c->d, score, &a);
	atomic_store(&c->max_dirty_permille, (int64_t)(a.max_dirty * 1000));
	atomic_store(&c->max_delay_ms, a.max_delay_ms);
	atomic_store(&c->uncleanable, a.uncleanable);
	atomic_store(&c->last_run_ms, rn_wall_ms());
	if (!p)
		return false;
	struct rn_clean_opts o = {.io_buffer_size = (size_t)c->cfg.io_buffer_size,
				  .max_bytes_per_sec = c->cfg.max_io_bytes_per_second,
				  .cancel = &c->abort};
	struct rn_clean_stats st;
	int rc = rn__partition_clean_locked(p, &o, &st, map);
	atomic_store(&p->in_clean, false);
	pthread_mutex_unlock(&p->clean_mu);
	if (rc > 0) {
		record(c, &st);
		rn_info("cleaner: cleaned %s offsets [%lld, %lld): %lld of %lld records kept, "
			"%lld -> %lld bytes in %.1f ms",
			p->dir, (long long)st.first_offset, (long long)st.end_offset,
			(long long)st.records_kept, (long long)st.records_read,
			(long long)st.bytes_read, (long long)st.bytes_written,
			(double)st.elapsed_us / 1000);
		/* p may be gone by now (closed once clean_mu was released): not used below. */
		rn_logdir_checkpoint(c->d);
	}
	return rc > 0;
}

static void *thread_main(void *arg)
{
	struct rn_cleaner *c = arg;
	struct rn__omap map;
	rn__omap_init(&map, (size_t)(c->cfg.dedupe_buffer_size / c->nthreads), c->cfg.load_factor);
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		pthread_mutex_unlock(&c->mu);
		bool did = clean_one(c, &map);
		pthread_mutex_lock(&c->mu);
		if (did || c->stop)
			continue;
		uint64_t seen = c->wakeups;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t ns = ts.tv_nsec + (c->cfg.backoff_ms % 1000) * 1000000;
		ts.tv_sec += c->cfg.backoff_ms / 1000 + ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		while (!c->stop && seen == c->wakeups &&
		       pthread_cond_timedwait(&c->cond, &c->mu, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&c->mu);
	rn__omap_free(&map);
	return NULL;
}

/* Kafka's JMX names, as the Prometheus JMX exporter spells them. */
static void collect(struct rn_buf *out, void *arg)
{
	struct rn_cleaner *c = arg;
	int64_t since = rn_wall_ms() - atomic_load(&c->last_run_ms);
	rn_buf_printf(out,
		      "# HELP kafka_log_logcleaner_max_clean_time_secs Duration of the last "
		      "clean.\n# TYPE kafka_log_logcleaner_max_clean_time_secs gauge\n"
		      "kafka_log_logcleaner_max_clean_time_secs %.3f\n",
		      (double)atomic_load(&c->last_clean_us) / 1e6);
	rn_buf_printf(out,
		      "# HELP kafka_log_logcleaner_cleaner_recopy_percent Bytes written per byte "
		      "read by the last clean.\n# TYPE kafka_log_logcleaner_cleaner_recopy_percent "
		      "gauge\nkafka_log_logcleaner_cleaner_recopy_percent %.1f\n",
		      (double)atomic_load(&c->recopy_permille) / 10);
	rn_buf_printf(
	    out,
	    "# HELP kafka_log_logcleaner_max_buffer_utilization_percent Offset map use "
	    "of the last clean.\n# TYPE kafka_log_logcleaner_max_buffer_utilization_percent "
	    "gauge\nkafka_log_logcleaner_max_buffer_utilization_percent %.1f\n",
	    (double)atomic_load(&c->buffer_permille) / 10);
	rn_buf_printf(out,
		      "# HELP kafka_log_logcleaner_max_compaction_delay_secs How far past "
		      "max.compaction.lag.ms the most overdue partition is.\n"
		      "# TYPE kafka_log_logcleaner_max_compaction_delay_secs gauge\n"
		      "kafka_log_logcleaner_max_compaction_delay_secs %.3f\n",
		      (double)atomic_load(&c->max_delay_ms) / 1000);
	rn_buf_printf(out,
		      "# TYPE kafka_log_logcleaner_deadthreadcount gauge\n"
		      "kafka_log_logcleaner_deadthreadcount %d\n",
		      atomic_load(&c->dead_threads));
	rn_buf_printf(
	    out,
	    "# HELP kafka_log_logcleanermanager_uncleanable_partitions_count Partitions "
	    "whose clean failed on bad data.\n"
	    "# TYPE kafka_log_logcleanermanager_uncleanable_partitions_count gauge\n"
	    "kafka_log_logcleanermanager_uncleanable_partitions_count{logDirectory=\"%s\"} "
	    "%lld\n",
	    rn_logdir_path(c->d), (long long)atomic_load(&c->uncleanable));
	rn_buf_printf(out,
		      "# HELP kafka_log_logcleanermanager_max_dirty_percent Highest dirty ratio of "
		      "a compacted partition.\n"
		      "# TYPE kafka_log_logcleanermanager_max_dirty_percent gauge\n"
		      "kafka_log_logcleanermanager_max_dirty_percent %.1f\n",
		      (double)atomic_load(&c->max_dirty_permille) / 10);
	rn_buf_printf(out,
		      "# TYPE kafka_log_logcleanermanager_time_since_last_run_ms gauge\n"
		      "kafka_log_logcleanermanager_time_since_last_run_ms %lld\n",
		      (long long)since);
	rn_buf_printf(
	    out,
	    "# TYPE runnel_cleaner_cleans_total counter\nrunnel_cleaner_cleans_total %lld\n"
	    "# TYPE runnel_cleaner_read_bytes_total counter\n"
	    "runnel_cleaner_read_bytes_total %lld\n"
	    "# TYPE runnel_cleaner_written_bytes_total counter\n"
	    "runnel_cleaner_written_bytes_total %lld\n",
	    (long long)atomic_load(&c->cleans), (long long)atomic_load(&c->bytes_read),
	    (long long)atomic_load(&c->bytes_written));
}

int rn_cleaner_start(struct rn_logdir *d, const struct rn_cleaner_config *cfg,
		     struct rn_cleaner **out)
{
	*out = NULL;
	if (!cfg->enable)
		return 0;
	struct rn_cleaner *c = rn_calloc(1, sizeof(*c));
	c->d = d;
	c->cfg = *cfg;
	if (c->cfg.threads < 1)
		c->cfg.threads = 1;
	if (c->cfg.io_buffer_size < 4096)
		c->cfg.io_buffer_size = 4096;
	if (c->cfg.backoff_ms < 1)
		c->cfg.backoff_ms = 1;
	atomic_store(&c->last_run_ms, rn_wall_ms());
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	c->threads = rn_calloc((size_t)c->cfg.threads, sizeof(*c->threads));
	c->nthreads = c->cfg.threads;
	for (int i = 0; i < c->nthreads; i++) {
		int rc = pthread_create(&c->threads[i], NULL, thread_main, c);
		if (rc != 0) {
			c->nthreads = i;
			rn_cleaner_stop(c);
			return -rc;
		}
	}
	rn_metrics_register(collect, c);
	*out = c;
	return 0;
}

void rn_cleaner_wakeup(struct rn_cleaner *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->wakeups++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
}

void rn_cleaner_stop(struct rn_cleaner *c)
{
	if (!c)
		return;
	rn_metrics_unregister(collect, c);
	atomic_store(&c->abort, true);
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cond);
	rn_free(c->threads);
	rn_free(c);
}
