/*
 * Quota sensors: the measured rate per (quota type, user tag, client-id tag) and the throttle
 * time it gives, as Kafka's Sensor/Rate/SampledStat (quota.h). Sensors idle for an hour are
 * dropped (Kafka's inactive sensor expiry) and their number is bounded, so client-ids chosen by
 * clients cannot grow memory without limit.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "auth/quota.h"
#include "core/alloc.h"
#include "core/metrics.h"

enum {
	MAX_SAMPLES = 120,
	NBUCKETS = 1024,
	MAX_SENSORS = 50000,
	IDLE_MS = 3600 * 1000,
	SWEEP_MS = 60 * 1000, /* how often creating a sensor also drops the idle ones */
};

struct sample {
	int64_t start; /* ms: when its window began (the first record in it) */
	double sum, max;
	int64_t count;
};

/* Kafka's SampledStat: samples are windows that begin at a record, reused round-robin. */
struct sstat {
	int cur, n;
	struct sample s[]; /* num */
};

struct sensor {
	enum rn_quota_type type;
	char *user, *client; /* the metric tags ("" when the quota is not per that part) */
	struct sstat *rate;  /* the recorded values */
	struct sstat *thr;   /* throttle times, for the avg/max metrics */
	int64_t last_ms;
	struct sensor *next;
};

struct rn_quotas {
	pthread_mutex_t lock;
	int num;
	int64_t size_ms;
	struct rn_quota_cfg *cfg;
	/* Read without the lock on every request: an unconfigured type costs one load. */
	_Atomic bool enabled[RN_QUOTA_NTYPES];
	struct sensor *buckets[NBUCKETS];
	int nsensors;
	int64_t last_sweep_ms;
};

static void sample_reset(struct sample *s, int64_t now)
{
	s->start = now;
	s->sum = s->max = 0;
	s->count = 0;
}

static struct sstat *sstat_new(int num)
{
	return rn_calloc(1, sizeof(struct sstat) + (size_t)num * sizeof(struct sample));
}

static struct sample *sstat_current(struct sstat *st, int64_t now)
{
	if (st->n == 0) {
		st->n = 1;
		st->cur = 0;
		sample_reset(&st->s[0], now);
	}
	return &st->s[st->cur];
}

static void sstat_record(struct rn_quotas *q, struct sstat *st, double v, int64_t now)
{
	struct sample *s = sstat_current(st, now);
	if (now - s->start >= q->size_ms) {
		st->cur = (st->cur + 1) % q->num;
		if (st->cur >= st->n)
			st->n++;
		s = &st->s[st->cur];
		sample_reset(s, now);
	}
	s->sum += v;
	s->count++;
	if (s->count == 1 || v > s->max)
		s->max = v;
}

static void sstat_purge(struct rn_quotas *q, struct sstat *st, int64_t now)
{
	int64_t expire = (int64_t)q->num * q->size_ms;
	for (int i = 0; i < st->n; i++)
		if (now - st->s[i].start >= expire)
			sample_reset(&st->s[i], now);
}

/* Rate.windowSize: the time since the oldest sample began, at least num - 1 whole windows. */
static int64_t sstat_window(struct rn_quotas *q, struct sstat *st, int64_t now)
{
	sstat_purge(q, st, now);
	int64_t oldest = sstat_current(st, now)->start;
	for (int i = 0; i < st->n; i++)
		if (st->s[i].start < oldest)
			oldest = st->s[i].start;
	int64_t elapsed = now - oldest;
	int64_t full = elapsed / q->size_ms, min_full = q->num - 1;
	if (full < min_full)
		elapsed += (min_full - full) * q->size_ms;
	return elapsed;
}

static double sstat_sum(struct sstat *st, int64_t *count, double *max)
{
	double sum = 0, m = 0;
	int64_t c = 0;
	for (int i = 0; i < st->n; i++) {
		sum += st->s[i].sum;
		if (st->s[i].count > 0 && (c == 0 || st->s[i].max > m))
			m = st->s[i].max;
		c += st->s[i].count;
	}
	if (count)
		*count = c;
	if (max)
		*max = m;
	return sum;
}

/* The rate per second and the window it was measured over (ms). */
static double sstat_rate(struct rn_quotas *q, struct sstat *st, int64_t now, int64_t *window)
{
	int64_t w = sstat_window(q, st, now);
	*window = w;
	return sstat_sum(st, NULL, NULL) / ((double)w / 1000.0);
}

struct rn_quotas *rn_quotas_new(int num, int64_t size_ms)
{
	struct rn_quotas *q = rn_calloc(1, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
	q->num = num < 1 ? 1 : num > MAX_SAMPLES ? MAX_SAMPLES : num;
	q->size_ms = size_ms < 1 ? 1 : size_ms;
	q->cfg = rn_quota_cfg_new();
	return q;
}

static void sensor_free(struct sensor *s)
{
	rn_free(s->user);
	rn_free(s->client);
	rn_free(s->rate);
	rn_free(s->thr);
	rn_free(s);
}

void rn_quotas_free(struct rn_quotas *q)
{
	if (!q)
		return;
	for (int i = 0; i < NBUCKETS; i++)
		for (struct sensor *s = q->buckets[i], *next; s; s = next) {
			next = s->next;
			sensor_free(s);
		}
	rn_quota_cfg_free(q->cfg);
	pthread_mutex_destroy(&q->lock);
	rn_free(q);
}

static void has_type(const struct rn_quota_entity *e, const bool has[RN_QUOTA_NTYPES],
		     const double val[RN_QUOTA_NTYPES], void *arg)
{
	(void)e;
	(void)val;
	bool *en = arg;
	for (int i = 0; i < RN_QUOTA_NTYPES; i++)
		en[i] |= has[i];
}

void rn_quotas_swap_cfg(struct rn_quotas *q, struct rn_quota_cfg *cfg)
{
	bool en[RN_QUOTA_NTYPES] = {false};
	rn_quota_cfg_foreach(cfg, has_type, en);
	pthread_mutex_lock(&q->lock);
	struct rn_quota_cfg *old = q->cfg;
	q->cfg = cfg;
	for (int i = 0; i < RN_QUOTA_NTYPES; i++)
		atomic_store(&q->enabled[i], en[i]);
	pthread_mutex_unlock(&q->lock);
	rn_quota_cfg_free(old);
}

void rn_quotas_with_cfg(struct rn_quotas *q, void (*cb)(const struct rn_quota_cfg *c, void *arg),
			void *arg)
{
	pthread_mutex_lock(&q->lock);
	cb(q->cfg, arg);
	pthread_mutex_unlock(&q->lock);
}

int rn_quotas_sensors(struct rn_quotas *q)
{
	pthread_mutex_lock(&q->lock);
	int n = q->nsensors;
	pthread_mutex_unlock(&q->lock);
	return n;
}

int64_t rn_quotas_window_ms(const struct rn_quotas *q)
{
	return q->size_ms;
}

bool rn_quotas_enabled(struct rn_quotas *q, enum rn_quota_type t)
{
	return (unsigned)t < RN_QUOTA_NTYPES &&
	       atomic_load_explicit(&q->enabled[t], memory_order_relaxed);
}

static uint32_t hash(enum rn_quota_type t, const char *u, const char *c)
{
	uint32_t h = 2166136261u ^ (uint32_t)t;
	for (; *u; u++)
		h = (h ^ (uint8_t)*u) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	return h % NBUCKETS;
}

/* Drops sensors idle for IDLE_MS; then, if the table is still full, the least recently used
 * one. */
static void evict(struct rn_quotas *q, int64_t now)
{
	struct sensor **lru = NULL;
	for (int i = 0; i < NBUCKETS; i++)
		for (struct sensor **pp = &q->buckets[i]; *pp;) {
			struct sensor *s = *pp;
			if (now - s->last_ms >= IDLE_MS) {
				*pp = s->next;
				sensor_free(s);
				q->nsensors--;
				continue;
			}
			if (!lru || s->last_ms < (*lru)->last_ms)
				lru = pp;
			pp = &s->next;
		}
	if (q->nsensors >= MAX_SENSORS && lru) {
		struct sensor *s = *lru;
		*lru = s->next;
		sensor_free(s);
		q->nsensors--;
	}
}

/* The sensor (user, client) records into for type t and its quota; NULL when no quota applies
 * (or, create false, when the sensor does not exist yet). Under q->lock. */
static struct sensor *sensor_get(struct rn_quotas *q, enum rn_quota_type t, const char *user,
				 const char *client, bool create, double *limit, int64_t now)
{
	int level;
	if (!q->enabled[t] || !rn_quota_cfg_resolve(q->cfg, t, user, client, limit, &level))
		return NULL;
	const char *u = level == 7 || level == 8 ? "" : user;
	const char *c = level == 3 || level == 6 ? "" : client;
	uint32_t h = hash(t, u, c);
	for (struct sensor *s = q->buckets[h]; s; s = s->next)
		if (s->type == t && strcmp(s->user, u) == 0 && strcmp(s->client, c) == 0)
			return s;
	if (!create)
		return NULL;
	if (q->nsensors >= MAX_SENSORS || now - q->last_sweep_ms >= SWEEP_MS) {
		evict(q, now);
		q->last_sweep_ms = now;
	}
	struct sensor *s = rn_calloc(1, sizeof(*s));
	s->type = t;
	s->user = rn_strdup(u);
	s->client = rn_strdup(c);
	s->rate = sstat_new(q->num);
	s->thr = sstat_new(q->num);
	s->last_ms = now;
	s->next = q->buckets[h];
	q->buckets[h] = s;
	q->nsensors++;
	return s;
}

/* Kafka's QuotaUtils.throttleTime with the managers' caps. */
static int64_t throttle_of(struct rn_quotas *q, struct sensor *s, double limit, int64_t now)
{
	int64_t window;
	double rate = sstat_rate(q, s->rate, now, &window);
	if (!(rate > limit) || limit <= 0)
		return 0;
	double ms = (rate - limit) / limit * (double)window;
	double cap =
	    s->type == RN_QUOTA_REQUEST ? (double)q->size_ms : (double)q->num * (double)q->size_ms;
	if (ms > cap)
		ms = cap;
	return (int64_t)llround(ms);
}

int64_t rn_quotas_record(struct rn_quotas *q, enum rn_quota_type t, const char *user,
			 const char *client, double v, int64_t now_ms)
{
	if ((unsigned)t >= RN_QUOTA_NTYPES)
		return 0;
	pthread_mutex_lock(&q->lock);
	double limit;
	int64_t ms = 0;
	struct sensor *s = sensor_get(q, t, user, client, true, &limit, now_ms);
	if (s) {
		s->last_ms = now_ms;
		sstat_record(q, s->rate, v, now_ms);
		ms = throttle_of(q, s, limit, now_ms);
	}
	pthread_mutex_unlock(&q->lock);
	return ms;
}

int64_t rn_quotas_check(struct rn_quotas *q, enum rn_quota_type t, const char *user,
			const char *client, int64_t now_ms)
{
	if ((unsigned)t >= RN_QUOTA_NTYPES)
		return 0;
	pthread_mutex_lock(&q->lock);
	double limit;
	int64_t ms = 0;
	struct sensor *s = sensor_get(q, t, user, client, false, &limit, now_ms);
	if (s)
		ms = throttle_of(q, s, limit, now_ms);
	pthread_mutex_unlock(&q->lock);
	return ms;
}

void rn_quotas_note_throttle(struct rn_quotas *q, enum rn_quota_type t, const char *user,
			     const char *client, int64_t ms, int64_t now_ms)
{
	if ((unsigned)t >= RN_QUOTA_NTYPES)
		return;
	pthread_mutex_lock(&q->lock);
	double limit;
	struct sensor *s = sensor_get(q, t, user, client, false, &limit, now_ms);
	if (s)
		sstat_record(q, s->thr, (double)ms, now_ms);
	pthread_mutex_unlock(&q->lock);
}

double rn_quotas_rate(struct rn_quotas *q, enum rn_quota_type t, const char *user,
		      const char *client, int64_t now_ms)
{
	if ((unsigned)t >= RN_QUOTA_NTYPES)
		return -1;
	pthread_mutex_lock(&q->lock);
	double limit, rate = -1;
	int64_t w;
	struct sensor *s = sensor_get(q, t, user, client, false, &limit, now_ms);
	if (s)
		rate = sstat_rate(q, s->rate, now_ms, &w);
	pthread_mutex_unlock(&q->lock);
	return rate;
}

/* A Prometheus label value: backslash, quote and newline escaped, at most 256 bytes. */
static void label(char *dst, size_t cap, const char *s)
{
	size_t j = 0;
	for (; *s && j + 3 < cap && j < 256; s++) {
		if (*s == '\\' || *s == '"') {
			dst[j++] = '\\';
			dst[j++] = *s;
		} else if (*s == '\n') {
			dst[j++] = '\\';
			dst[j++] = 'n';
		} else {
			dst[j++] = *s;
		}
	}
	dst[j] = 0;
}

static const char *const family[RN_QUOTA_NTYPES] = {"produce", "fetch", "request"};

void rn_quotas_render(struct rn_quotas *q, struct rn_buf *out, int64_t now_ms)
{
	pthread_mutex_lock(&q->lock);
	for (int i = 0; i < NBUCKETS; i++)
		for (struct sensor *s = q->buckets[i]; s; s = s->next) {
			char u[300], c[300];
			label(u, sizeof(u), s->user);
			label(c, sizeof(c), s->client);
			const char *f = family[s->type];
			int64_t w, n;
			double rate = sstat_rate(q, s->rate, now_ms, &w), max;
			sstat_purge(q, s->thr, now_ms);
			double sum = sstat_sum(s->thr, &n, &max);
			rn_buf_printf(
			    out, "kafka_server_%s_%s{user=\"%s\",client_id=\"%s\"} %.3f\n", f,
			    s->type == RN_QUOTA_REQUEST ? "request_time" : "byte_rate", u, c, rate);
			rn_buf_printf(
			    out,
			    "kafka_server_%s_throttle_time_avg{user=\"%s\",client_id=\"%s\"} "
			    "%.3f\n",
			    f, u, c, n ? sum / (double)n : 0.0);
			rn_buf_printf(
			    out,
			    "kafka_server_%s_throttle_time_max{user=\"%s\",client_id=\"%s\"} "
			    "%.3f\n",
			    f, u, c, max);
		}
	rn_buf_printf(out, "runnel_quota_sensors %d\n", q->nsensors);
	pthread_mutex_unlock(&q->lock);
}
