#include "broker/maintenance.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "broker/broker.h"
#include "broker/topics.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "storage/cleaner.h"
#include "storage/logdir.h"
#include "storage/partition.h"

static pthread_t g_thread;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond;
static bool g_stop, g_running;
static struct rn_cleaner *g_cleaner;

struct pass {
	struct rn_broker *b;
	struct rn_topic **topics;
	int n, cap;
};

static void collect(struct rn_topic *t, void *arg)
{
	struct pass *p = arg;
	if (p->n == p->cap)
		return;
	atomic_fetch_add(&t->refs, 1);
	p->topics[p->n++] = t;
}

/* Snapshot the topics (referenced) so the table lock is not held across disk work. */
static void run_pass(struct rn_broker *b)
{
	pthread_rwlock_rdlock(&b->topics_lock);
	struct pass p = {.b = b, .cap = (int)b->ntopics};
	pthread_rwlock_unlock(&b->topics_lock);
	p.topics = calloc((size_t)p.cap + 1, sizeof(*p.topics));
	if (!p.topics)
		return;
	rn_topics_foreach(b, collect, &p);
	int64_t now = rn_wall_ms();
	for (int i = 0; i < p.n; i++) {
		struct rn_topic *t = p.topics[i];
		for (int32_t j = 0; j < t->npart && !atomic_load(&t->deleted); j++) {
			if (!t->parts[j].log)
				continue;
			int rc = rn_partition_maintain(t->parts[j].log, now);
			if (rc < 0)
				rn_warn("maintenance of %s-%d: %s", t->name, j, rn_strerror(rc));
		}
		rn_topic_put(b, t);
	}
	free(p.topics);
}

static void *main_fn(void *arg)
{
	struct rn_broker *b = arg;
	int64_t last_ckpt = rn_mono_ms();
	/* In a cluster the checkpoint also carries the high watermarks: Kafka writes those every
	 * replica.high.watermark.checkpoint.interval.ms, since a stale one after a crash decides
	 * how much a restarted replica believes committed. */
	int64_t every = 60000;
	if (b->clustered)
		every = rn_config_get_i64(b->cfg, "replica.high.watermark.checkpoint.interval.ms");
	pthread_mutex_lock(&g_lock);
	while (!g_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&g_cond, &g_lock, &ts);
		if (g_stop)
			break;
		pthread_mutex_unlock(&g_lock);
		run_pass(b);
		if (rn_mono_ms() - last_ckpt >= every) {
			rn_logdir_checkpoint(b->logdir);
			last_ckpt = rn_mono_ms();
		}
		pthread_mutex_lock(&g_lock);
	}
	pthread_mutex_unlock(&g_lock);
	return NULL;
}

/* The log cleaner (storage/cleaner.h) from the log.cleaner.* keys. */
static void start_cleaner(struct rn_broker *b)
{
	struct rn_cleaner_config c;
	rn_cleaner_config_default(&c);
	c.enable = rn_config_get_bool(b->cfg, "log.cleaner.enable");
	c.threads = (int)rn_config_get_i64(b->cfg, "log.cleaner.threads");
	c.dedupe_buffer_size = rn_config_get_i64(b->cfg, "log.cleaner.dedupe.buffer.size");
	c.io_buffer_size = (int32_t)rn_config_get_i64(b->cfg, "log.cleaner.io.buffer.size");
	c.load_factor = strtod(rn_config_get(b->cfg, "log.cleaner.io.buffer.load.factor"), NULL);
	c.max_io_bytes_per_second =
	    strtod(rn_config_get(b->cfg, "log.cleaner.io.max.bytes.per.second"), NULL);
	c.backoff_ms = rn_config_get_i64(b->cfg, "log.cleaner.backoff.ms");
	int rc = rn_cleaner_start(b->logdir, &c, &g_cleaner);
	if (rc < 0)
		rn_warn("cannot start the log cleaner: %s; compacted topics are not cleaned",
			rn_strerror(rc));
}

void rn_maintenance_start(struct rn_broker *b)
{
	start_cleaner(b);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g_cond, &ca);
	pthread_condattr_destroy(&ca);
	g_stop = false;
	g_running = pthread_create(&g_thread, NULL, main_fn, b) == 0;
}

void rn_maintenance_stop(struct rn_broker *b)
{
	(void)b;
	rn_cleaner_stop(g_cleaner);
	g_cleaner = NULL;
	if (!g_running)
		return;
	pthread_mutex_lock(&g_lock);
	g_stop = true;
	pthread_cond_signal(&g_cond);
	pthread_mutex_unlock(&g_lock);
	pthread_join(g_thread, NULL);
	g_running = false;
}
