/*
 * A small client of etcd's v3 API through its gRPC JSON gateway (etcd 3.4: POST
 * http://host:port/v3/<service>/<method>, JSON bodies, keys and values base64, int64 fields as
 * JSON strings, fields at their default value omitted). Private to meta/: the etcd store
 * (store_etcd*.c) is its only user.
 *
 * Calls are plain blocking HTTP requests over libcurl easy handles taken from a pool, so any
 * thread may call at once. A call tries the endpoints in turn, starting with the one that last
 * answered, and moves on after a connection error, a timeout or an "unavailable" answer.
 */
#ifndef RN_META_ETCD_H
#define RN_META_ETCD_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rn__etcd;

/* Parses "host:port[,host:port...]" into a client; the caller owns *out (rn__etcd_free).
 * Returns 0 or -EINVAL. */
int rn__etcd_new(const char *endpoints, size_t len, struct rn__etcd **out);
void rn__etcd_free(struct rn__etcd *e);
int rn__etcd_nendpoints(const struct rn__etcd *e);
/* "http://host:port" of endpoint i (valid as long as e). */
const char *rn__etcd_endpoint(const struct rn__etcd *e, int i);
/* The endpoint a call starts with; rn__etcd_failed moves it on after endpoint i let us down. */
int rn__etcd_current(const struct rn__etcd *e);
void rn__etcd_failed(struct rn__etcd *e, int i);

/* POSTs req (borrowed) to path ("/v3/kv/range") and parses the answer into *resp (owned by the
 * caller, json_decref). Returns 0, RN_ENOTFOUND (gRPC NOT_FOUND: an unknown lease),
 * RN_EINVALID (etcd refused the request), RN_EUNAVAILABLE (no endpoint answered in timeout_ms),
 * RN_ECORRUPT (an answer that is not JSON). */
int rn__etcd_call(struct rn__etcd *e, const char *path, json_t *req, int timeout_ms, json_t **resp);

/* Base64 (standard alphabet, padded) as the gateway carries bytes. Returns a new JSON string. */
json_t *rn__etcd_b64(const void *p, size_t n);
/* Decodes JSON string b64 into a NUL-terminated heap copy (caller frees with rn_free) and its
 * length; NULL when it is missing or not base64. An absent field means empty bytes: callers
 * pass what json_object_get gave. */
char *rn__etcd_unb64(const json_t *b64, size_t *len);
/* An int64 field (a JSON string or number); def when absent or unparsable. */
int64_t rn__etcd_int(const json_t *obj, const char *field, int64_t def);
/* A JSON string holding n as decimal, as the gateway wants int64 fields. */
json_t *rn__etcd_intstr(int64_t n);

/* Request pieces, each a new JSON object. range_end NULL: the key alone; "" after a prefix
 * built with rn__etcd_prefix_end: every key under it. */
json_t *rn__etcd_range_req(const char *key, const char *range_end);
/* The smallest key above every key starting with prefix (its last byte + 1). Heap copy. */
char *rn__etcd_prefix_end(const char *prefix);
json_t *rn__etcd_put_op(const char *key, const char *val, int64_t lease);
json_t *rn__etcd_del_op(const char *key, const char *range_end);
json_t *rn__etcd_get_op(const char *key);
/* A txn compare: target "VERSION", "CREATE", "MOD" or "VALUE"; result "EQUAL", "GREATER",... */
json_t *rn__etcd_cmp(const char *key, const char *target, const char *result, int64_t v);
/* A txn compare of key's value with val (etcd fails it when the key is absent). */
json_t *rn__etcd_cmp_value(const char *key, const char *result, const char *val);

/* Runs a txn (compares, success and failure ops arrays are stolen). *succeeded tells which
 * branch ran; *resp (owned by the caller) is the whole answer. Returns as rn__etcd_call. */
int rn__etcd_txn(struct rn__etcd *e, json_t *cmp, json_t *ok, json_t *fail, int timeout_ms,
		 bool *succeeded, json_t **resp);

/* Leases. grant returns the lease id and the TTL etcd granted (it raises TTLs below its
 * minimum). keepalive returns 0 with *ttl_s = 0 when the lease is gone, and the revision the
 * answering member is at in *rev (may be NULL). */
int rn__etcd_lease_grant(struct rn__etcd *e, int64_t ttl_s, int timeout_ms, int64_t *id,
			 int64_t *granted_s);
int rn__etcd_lease_keepalive(struct rn__etcd *e, int64_t id, int timeout_ms, int64_t *ttl_s,
			     int64_t *rev);
int rn__etcd_lease_revoke(struct rn__etcd *e, int64_t id, int timeout_ms);

/*
 * A watch of [key, range_end) from start_rev on one endpoint, until stop returns true, the
 * stream breaks, or etcd cancels it. on_event runs for every event (put: value set; delete:
 * value NULL) in order; on_rev after each answer with events, with the newest event's
 * revision. Returns RN_EUNAVAILABLE
 * (stream broken or never made), RN_ERANGE (start_rev compacted: *compacted holds etcd's
 * compact revision), 0 when stop said so.
 */
/* The socket of a running watch, so another thread can end it at once (a stream idles
 * between events; stop alone is looked at about once a second). */
struct rn__etcd_wsock {
	pthread_mutex_t mu;
	int fd; /* -1 when no stream is open */
};
/* Shuts the stream's socket down (the watch then returns); harmless when none is open. */
void rn__etcd_watch_interrupt(struct rn__etcd_wsock *ws);

struct rn__etcd_watch_cb {
	void (*on_event)(void *arg, const char *key, const char *val, size_t vlen, int64_t mod_rev,
			 int64_t create_rev, int64_t lease);
	void (*on_rev)(void *arg, int64_t rev);
	bool (*stop)(void *arg);
	void *arg;
	struct rn__etcd_wsock *sock; /* may be NULL */
};
int rn__etcd_watch(struct rn__etcd *e, int endpoint, const char *key, const char *range_end,
		   int64_t start_rev, const struct rn__etcd_watch_cb *cb, int64_t *compacted);

#endif
