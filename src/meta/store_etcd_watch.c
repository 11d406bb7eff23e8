/*
 * Keeping the etcd store's cache current: one range read of the whole prefix, then one watch from
 * the next revision, on a thread of its own. A broken stream resumes from the last revision seen
 * + 1 on the next endpoint; a compacted one reloads everything and tells the differences.
 */
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "meta/store_etcd_int.h"

static void set_rev(struct rn__es *es, int64_t rev)
{
	pthread_mutex_lock(&es->rev_mu);
	if (rev > es->rev) {
		es->rev = rev;
		pthread_cond_broadcast(&es->rev_cond);
	}
	pthread_mutex_unlock(&es->rev_mu);
}

int64_t rn__es_rev(struct rn__es *es)
{
	pthread_mutex_lock(&es->rev_mu);
	int64_t r = es->rev;
	pthread_mutex_unlock(&es->rev_mu);
	return r;
}

void rn__es_wait_rev(struct rn__es *es, int64_t rev)
{
	if (es->watch_started && pthread_equal(pthread_self(), es->watch_thr))
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long ns = ts.tv_nsec + ES_CACHE_WAIT_MS % 1000 * 1000000L;
	ts.tv_sec += ES_CACHE_WAIT_MS / 1000 + ns / 1000000000L;
	ts.tv_nsec = ns % 1000000000L;
	pthread_mutex_lock(&es->rev_mu);
	int rc = 0;
	while (es->rev < rev && rc == 0)
		rc = pthread_cond_timedwait(&es->rev_cond, &es->rev_mu, &ts);
	int64_t have = es->rev;
	pthread_mutex_unlock(&es->rev_mu);
	if (have < rev) {
		/* A member can hang with our stream open; a fresh stream finds a live one. */
		rn_warn("etcd store: the watch has not delivered revision %lld yet (at %lld), "
			"reconnecting it",
			(long long)rev, (long long)have);
		atomic_fetch_add(&es->wait_timeouts, 1);
		rn__es_watch_kick(es);
	}
}

int rn__es_load(struct rn__es *es)
{
	char *end = rn__etcd_prefix_end(es->prefix);
	json_t *req = rn__etcd_range_req(es->prefix, end), *resp;
	rn_free(end);
	int rc = rn__etcd_call(es->etcd, "/v3/kv/range", req, ES_WRITE_TIMEOUT_MS * 2, &resp);
	json_decref(req);
	if (rc < 0)
		return rc;
	int64_t rev = rn__etcd_int(json_object_get(resp, "header"), "revision", 0);
	json_t *kvs = json_object_get(resp, "kvs"), *kv;
	size_t i;
	pthread_rwlock_wrlock(&es->lock);
	rn__es_cache_begin(es);
	json_array_foreach(kvs, i, kv)
	{
		size_t klen, vlen;
		char *key = rn__etcd_unb64(json_object_get(kv, "key"), &klen);
		char *val = rn__etcd_unb64(json_object_get(kv, "value"), &vlen);
		if (key && val)
			rn__es_cache_put(es, key, val, vlen, rn__etcd_int(kv, "mod_revision", 0),
					 rn__etcd_int(kv, "lease", 0));
		else
			rn_error("etcd store: undecodable key or value in the load, skipped");
		rn_free(key);
		rn_free(val);
	}
	rn__es_cache_end(es);
	pthread_rwlock_unlock(&es->lock);
	json_decref(resp);
	/* A reload may go back: after a compaction we trust the load, the notes say the rest. */
	pthread_mutex_lock(&es->rev_mu);
	es->rev = rev;
	pthread_cond_broadcast(&es->rev_cond);
	pthread_mutex_unlock(&es->rev_mu);
	rn__es_notes_flush(es);
	return 0;
}

struct watch_ctx {
	struct rn__es *es;
	bool locked; /* the cache's write lock, held through one revision's events */
};

static void on_event(void *arg, const char *key, const char *val, size_t vlen, int64_t mod_rev,
		     int64_t create_rev, int64_t lease)
{
	(void)create_rev;
	struct watch_ctx *w = arg;
	if (!w->locked) {
		pthread_rwlock_wrlock(&w->es->lock);
		w->locked = true;
	}
	if (val)
		rn__es_cache_put(w->es, key, val, vlen, mod_rev, lease);
	else
		rn__es_cache_del(w->es, key);
}

static void on_rev(void *arg, int64_t rev)
{
	struct watch_ctx *w = arg;
	if (w->locked) {
		pthread_rwlock_unlock(&w->es->lock);
		w->locked = false;
	}
	set_rev(w->es, rev);
	rn__es_notes_flush(w->es);
}

static bool should_stop(void *arg)
{
	struct watch_ctx *w = arg;
	return atomic_load(&w->es->stop) || atomic_load(&w->es->watch_kick) ||
	       atomic_load(&w->es->watch_hold);
}

int64_t rn__es_wait_timeouts(struct rn__es *es)
{
	return atomic_load(&es->wait_timeouts);
}

int64_t rn__es_watch_streams(struct rn__es *es)
{
	return atomic_load(&es->watch_streams);
}

void rn__es_watch_hold(struct rn__es *es, bool hold)
{
	atomic_store(&es->watch_hold, hold);
	if (hold)
		rn__etcd_watch_interrupt(&es->wsock);
}

static void pause_ms(struct rn__es *es, int ms)
{
	for (int i = 0; i < ms / 50 && !atomic_load(&es->stop); i++)
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
}

static void *watch_main(void *arg)
{
	struct rn__es *es = arg;
	struct watch_ctx w = {.es = es};
	struct rn__etcd_watch_cb cb = {on_event, on_rev, should_stop, &w, &es->wsock};
	char *end = rn__etcd_prefix_end(es->prefix);
	while (!atomic_load(&es->stop)) {
		if (atomic_load(&es->watch_hold)) {
			pause_ms(es, 50);
			continue;
		}
		int ep = rn__etcd_current(es->etcd);
		int64_t compacted = 0;
		atomic_fetch_add(&es->watch_streams, 1);
		int rc = rn__etcd_watch(es->etcd, ep, es->prefix, end, rn__es_rev(es) + 1, &cb,
					&compacted);
		on_rev(&w, 0); /* a broken stream may leave a revision half told */
		if (atomic_exchange(&es->watch_kick, false) && !atomic_load(&es->stop)) {
			rn_warn("etcd store: watch on %s fell behind, reconnecting",
				rn__etcd_endpoint(es->etcd, ep));
			rn__etcd_failed(es->etcd, ep);
			continue;
		}
		if (atomic_load(&es->stop))
			break;
		if (atomic_load(&es->watch_hold))
			continue;
		if (rc == RN_ERANGE) {
			rn_warn("etcd store: revision %lld was compacted (etcd at %lld), reloading",
				(long long)rn__es_rev(es) + 1, (long long)compacted);
			if (rn__es_load(es) < 0)
				pause_ms(es, 200);
			continue;
		}
		rn__etcd_failed(es->etcd, ep);
		pause_ms(es, 200);
	}
	rn_free(end);
	return NULL;
}

void rn__es_watch_kick(struct rn__es *es)
{
	atomic_store(&es->watch_kick, true);
	rn__etcd_watch_interrupt(&es->wsock);
}

int rn__es_watch_start(struct rn__es *es)
{
	pthread_mutex_init(&es->wsock.mu, NULL);
	es->wsock.fd = -1;
	if (pthread_create(&es->watch_thr, NULL, watch_main, es) != 0)
		return -1;
	es->watch_started = true;
	return 0;
}

void rn__es_watch_stop(struct rn__es *es)
{
	atomic_store(&es->stop, true);
	if (es->watch_started) {
		rn__etcd_watch_interrupt(&es->wsock);
		pthread_join(es->watch_thr, NULL);
		pthread_mutex_destroy(&es->wsock.mu);
	}
	es->watch_started = false;
}
