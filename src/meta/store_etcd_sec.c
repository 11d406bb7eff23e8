/*
 * Security records on etcd: P/sec/<ns>/<key> holding the value as is. Reads come from the
 * cache (store_etcd_cache.c keeps the records and tells the watches); each write is one txn
 * and returns once the watch has brought it into the cache, so a writer reads its own write.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "meta/store_etcd_int.h"
#include "meta/store_sec.h"

struct rn__sec *rn__es_sec(struct rn__es *es)
{
	return &es->sec;
}

static char *sec_key(struct rn__es *es, const char *ns, const char *key)
{
	size_t n = strlen(ns) + strlen(key) + 6;
	char *rel = rn_malloc(n);
	snprintf(rel, n, "sec/%s/%s", ns, key);
	char *k = rn__es_key(es, rel);
	rn_free(rel);
	return k;
}

int rn__es_sec_change(struct rn__es *es, const char *ns, const char *key, bool cas,
		      const char *expect, const char *val)
{
	char *k = sec_key(es, ns, key);
	json_t *cmp = json_array();
	if (cas && expect)
		json_array_append_new(cmp, rn__etcd_cmp_value(k, "EQUAL", expect));
	else if (cas)
		json_array_append_new(cmp, rn__etcd_cmp(k, "VERSION", "EQUAL", 0));
	else if (!val)
		json_array_append_new(cmp, rn__etcd_cmp(k, "VERSION", "GREATER", 0));
	json_t *ok = json_array();
	if (val)
		json_array_append_new(ok, rn__etcd_put_op(k, val, 0));
	else if (!cas || expect)
		json_array_append_new(ok, rn__etcd_del_op(k, NULL));
	rn_free(k);
	bool won;
	json_t *resp;
	int rc = rn__etcd_txn(es->etcd, cmp, ok, NULL, ES_WRITE_TIMEOUT_MS, &won, &resp);
	if (rc < 0) {
		rn_warn("etcd store: writing security record %s/%s under %s: %s", ns, key,
			es->prefix, rn_strerror(rc));
		return rc;
	}
	int64_t rev = rn__es_resp_rev(resp);
	json_decref(resp);
	if (!won)
		return cas ? RN_ESTALE : RN_ENOTFOUND;
	if (val || !cas || expect)
		rn__es_wait_rev(es, rev);
	return 0;
}

void rn__es_sec_foreach(struct rn__es *es, const char *ns,
			void (*cb)(const char *key, const char *val, void *arg), void *arg)
{
	pthread_rwlock_rdlock(&es->lock);
	rn__sec_foreach(&es->sec, ns, cb, arg);
	pthread_rwlock_unlock(&es->lock);
}
