/* The etcd gateway client's HTTP side: endpoints, a pool of curl handles, one call with failover.
 */
#include "meta/etcd.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#define MAX_ENDPOINTS 16
#define POOL_MAX      8

struct rn__etcd {
	char *eps[MAX_ENDPOINTS]; /* "http://host:port" */
	int neps;
	_Atomic int cur; /* the endpoint calls start with */
	pthread_mutex_t lock;
	CURL *pool[POOL_MAX]; /* idle handles, each keeping its connection */
	int npool;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int rn__etcd_new(const char *endpoints, size_t len, struct rn__etcd **out)
{
	pthread_once(&curl_once, curl_init_once);
	struct rn__etcd *e = rn_calloc(1, sizeof(*e));
	pthread_mutex_init(&e->lock, NULL);
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && endpoints[j] != ',')
			j++;
		const char *hp = endpoints + i;
		size_t n = j - i;
		const char *colon = memchr(hp, ':', n);
		if (n == 0 || n > 255 || !colon || colon == hp || colon == hp + n - 1 ||
		    e->neps == MAX_ENDPOINTS || memchr(hp, '@', n) || memchr(hp, '/', n)) {
			rn_error("metadata.store: bad etcd endpoint '%.*s' (want host:port)",
				 (int)n, hp);
			rn__etcd_free(e);
			return -EINVAL;
		}
		char buf[300];
		snprintf(buf, sizeof(buf), "http://%.*s", (int)n, hp);
		e->eps[e->neps++] = rn_strdup(buf);
		i = j + 1;
	}
	if (e->neps == 0) {
		rn_error("metadata.store: no etcd endpoint given");
		rn__etcd_free(e);
		return -EINVAL;
	}
	*out = e;
	return 0;
}

void rn__etcd_free(struct rn__etcd *e)
{
	if (!e)
		return;
	for (int i = 0; i < e->neps; i++)
		rn_free(e->eps[i]);
	for (int i = 0; i < e->npool; i++)
		curl_easy_cleanup(e->pool[i]);
	pthread_mutex_destroy(&e->lock);
	rn_free(e);
}

int rn__etcd_nendpoints(const struct rn__etcd *e)
{
	return e->neps;
}

const char *rn__etcd_endpoint(const struct rn__etcd *e, int i)
{
	return e->eps[i % e->neps];
}

int rn__etcd_current(const struct rn__etcd *e)
{
	return atomic_load(&((struct rn__etcd *)e)->cur);
}

void rn__etcd_failed(struct rn__etcd *e, int i)
{
	int expect = i;
	atomic_compare_exchange_strong(&e->cur, &expect, (i + 1) % e->neps);
}

static CURL *handle_get(struct rn__etcd *e)
{
	pthread_mutex_lock(&e->lock);
	CURL *h = e->npool ? e->pool[--e->npool] : NULL;
	pthread_mutex_unlock(&e->lock);
	return h ? h : curl_easy_init();
}

static void handle_put(struct rn__etcd *e, CURL *h)
{
	pthread_mutex_lock(&e->lock);
	if (e->npool < POOL_MAX) {
		e->pool[e->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&e->lock);
	if (h)
		curl_easy_cleanup(h);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	rn_buf_append(arg, p, size * n);
	return size * n;
}

/* One POST to endpoint i. Returns 0 with the body in *body and the HTTP status, or
 * RN_EUNAVAILABLE when the endpoint did not answer. */
static int post_once(struct rn__etcd *e, int i, const char *path, const char *req, long timeout_ms,
		     struct rn_buf *body, long *status)
{
	char url[400];
	snprintf(url, sizeof(url), "%s%s", e->eps[i], path);
	CURL *h = handle_get(e);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 1000 ? timeout_ms : 1000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr);
	if (cc != CURLE_OK) {
		rn_log_every(5000, RN_LOG_WARN, "etcd %s%s: %s", e->eps[i], path,
			     curl_easy_strerror(cc));
		curl_easy_cleanup(h);
		return RN_EUNAVAILABLE;
	}
	handle_put(e, h);
	return 0;
}

/* Maps a gateway error answer ({"error","code","message"}) to our codes; codes that mean "this
 * member cannot serve now" (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, ...) send us on. */
static int grpc_error(const json_t *resp, bool *retry)
{
	json_t *code = json_object_get(resp, "code");
	*retry = false;
	if (!json_is_integer(code))
		return 0;
	switch (json_integer_value(code)) {
	case 0: return 0;
	case 5: return RN_ENOTFOUND;
	case 3:
	case 6:
	case 7:
	case 9:
	case 11:
	case 12: return RN_EINVALID;
	default: *retry = true; return RN_EUNAVAILABLE;
	}
}

int rn__etcd_call(struct rn__etcd *e, const char *path, json_t *req, int timeout_ms, json_t **resp)
{
	char *body = json_dumps(req, JSON_COMPACT);
	int64_t deadline = rn_mono_ms() + timeout_ms;
	int start = rn__etcd_current(e), rc = RN_EUNAVAILABLE;
	*resp = NULL;
	for (int k = 0; k < e->neps; k++) {
		int i = (start + k) % e->neps;
		long left = (long)(deadline - rn_mono_ms());
		if (k > 0 && left < 100)
			break; /* a hung member took the budget: the caller hears unavailable */
		struct rn_buf b = {0};
		long status = 0;
		rc = post_once(e, i, path, body, left < 100 ? 100 : left, &b, &status);
		if (rc == 0) {
			json_error_t jerr;
			json_t *j = json_loadb((const char *)b.data, b.len, 0, &jerr);
			bool retry = false;
			if (!j) {
				rn_warn("etcd %s%s: answer is not JSON (HTTP %ld): %s", e->eps[i],
					path, status, jerr.text);
				rc = RN_ECORRUPT;
			} else if ((rc = grpc_error(j, &retry)) < 0) {
				json_t *msg = json_object_get(j, "message");
				rn_log_every(2000, RN_LOG_WARN, "etcd %s%s: %s", e->eps[i], path,
					     json_is_string(msg) ? json_string_value(msg)
								 : "error");
				json_decref(j);
			} else {
				*resp = j;
			}
			rn_buf_free(&b);
			if (!retry)
				break;
		}
		rn_buf_free(&b);
		rn__etcd_failed(e, i);
	}
	free(body);
	return rc;
}
