/*
 * One etcd watch stream over the JSON gateway: POST /v3/watch with a create_request, then the
 * answer never ends: one JSON object {"result":{...}} per line, each a WatchResponse (created,
 * events, canceled with compact_revision).
 */
#include "meta/etcd.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"

struct watch_state {
	const struct rn__etcd_watch_cb *cb;
	struct rn_buf line; /* the unfinished line */
	int rc;             /* 0 while the stream is fine */
	int64_t compacted;
	bool created;
	const char *ep;
};

static void one_event(struct watch_state *w, const json_t *ev)
{
	json_t *kv = json_object_get(ev, "kv");
	json_t *type = json_object_get(ev, "type");
	bool del = json_is_string(type) && strcmp(json_string_value(type), "DELETE") == 0;
	size_t klen, vlen = 0;
	char *key = rn__etcd_unb64(json_object_get(kv, "key"), &klen);
	char *val = del ? NULL : rn__etcd_unb64(json_object_get(kv, "value"), &vlen);
	if (!key || (!del && !val)) {
		rn_warn("etcd watch %s: event with undecodable key or value, skipped", w->ep);
	} else {
		w->cb->on_event(w->cb->arg, key, val, vlen, rn__etcd_int(kv, "mod_revision", 0),
				rn__etcd_int(kv, "create_revision", 0),
				rn__etcd_int(kv, "lease", 0));
	}
	rn_free(key);
	rn_free(val);
}

static void one_message(struct watch_state *w, const char *p, size_t n)
{
	json_error_t jerr;
	json_t *j = json_loadb(p, n, 0, &jerr);
	json_t *res = json_object_get(j, "result");
	if (!json_is_object(res)) {
		rn_warn("etcd watch %s: unexpected message (%s), reconnecting", w->ep,
			j ? "no result" : jerr.text);
		w->rc = RN_EUNAVAILABLE;
		json_decref(j);
		return;
	}
	bool created = json_is_true(json_object_get(res, "created"));
	w->created |= created;
	if (json_is_true(json_object_get(res, "canceled"))) {
		w->compacted = rn__etcd_int(res, "compact_revision", 0);
		w->rc = w->compacted > 0 ? RN_ERANGE : RN_EUNAVAILABLE;
		json_decref(j);
		return;
	}
	/* The revision reached is the newest event's, not the header's: a catch-up answer's
	 * header names etcd's current revision even when more events are still to come, and
	 * other prefixes' writes move it too. */
	json_t *evs = json_object_get(res, "events");
	size_t i;
	json_t *ev;
	int64_t rev = 0;
	json_array_foreach(evs, i, ev)
	{
		one_event(w, ev);
		int64_t r = rn__etcd_int(json_object_get(ev, "kv"), "mod_revision", 0);
		rev = r > rev ? r : rev;
	}
	if (rev > 0 && w->cb->on_rev)
		w->cb->on_rev(w->cb->arg, rev);
	json_decref(j);
}

static size_t on_chunk(char *p, size_t size, size_t n, void *arg)
{
	struct watch_state *w = arg;
	size_t len = size * n;
	if (w->rc < 0)
		return 0; /* abort the transfer: the stream ended for us */
	rn_buf_append(&w->line, p, len);
	size_t start = 0;
	for (size_t i = 0; i < w->line.len && w->rc == 0; i++) {
		if (w->line.data[i] != '\n')
			continue;
		if (i > start)
			one_message(w, (const char *)w->line.data + start, i - start);
		start = i + 1;
	}
	if (start) {
		memmove(w->line.data, w->line.data + start, w->line.len - start);
		w->line.len -= start;
	}
	return w->rc < 0 ? 0 : len;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	struct watch_state *w = arg;
	return w->cb->stop(w->cb->arg) ? 1 : 0;
}

void rn__etcd_watch_interrupt(struct rn__etcd_wsock *ws)
{
	pthread_mutex_lock(&ws->mu);
	if (ws->fd >= 0)
		shutdown(ws->fd, SHUT_RDWR);
	pthread_mutex_unlock(&ws->mu);
}

/* curl opens and closes the stream's socket through these, so ws->fd is never a closed (or
 * reused) descriptor. */
static curl_socket_t open_sock(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	(void)purpose;
	struct rn__etcd_wsock *ws = arg;
	int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	pthread_mutex_lock(&ws->mu);
	ws->fd = fd;
	pthread_mutex_unlock(&ws->mu);
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static int close_sock(void *arg, curl_socket_t fd)
{
	struct rn__etcd_wsock *ws = arg;
	pthread_mutex_lock(&ws->mu);
	if (ws->fd == fd)
		ws->fd = -1;
	close(fd);
	pthread_mutex_unlock(&ws->mu);
	return 0;
}

int rn__etcd_watch(struct rn__etcd *e, int endpoint, const char *key, const char *range_end,
		   int64_t start_rev, const struct rn__etcd_watch_cb *cb, int64_t *compacted)
{
	json_t *cr = rn__etcd_range_req(key, range_end);
	json_object_set_new(cr, "start_revision", rn__etcd_intstr(start_rev));
	json_t *req = json_pack("{s:o}", "create_request", cr);
	char *body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	char url[400];
	struct watch_state w = {.cb = cb, .ep = rn__etcd_endpoint(e, endpoint)};
	snprintf(url, sizeof(url), "%s/v3/watch", w.ep);
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	/* A member that vanishes without a reset is noticed by TCP keepalive. */
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_chunk);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &w);
	if (cb->sock) {
		curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_sock);
		curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, cb->sock);
		curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_sock);
		curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, cb->sock);
	}
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	CURLcode cc = cb->stop(cb->arg) ? CURLE_ABORTED_BY_CALLBACK : curl_easy_perform(h);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	free(body);
	rn_buf_free(&w.line);
	*compacted = w.compacted;
	if (w.rc < 0)
		return w.rc;
	if (cb->stop(cb->arg))
		return 0; /* aborted, or its socket shut down, because stop said so */
	rn_log_every(5000, RN_LOG_WARN, "etcd watch %s: %s", w.ep,
		     cc == CURLE_OK ? "stream ended" : curl_easy_strerror(cc));
	return RN_EUNAVAILABLE;
}
