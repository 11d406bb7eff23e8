/*
 * Security records (store.h, "Security records"): the door both stores share. Checks the
 * arguments, hands the write to the store m was opened as, and tells the namespace's watch
 * once the change is durable. The etcd store tells its watches from the watch thread instead
 * (store_etcd_cache.c), which hears this broker's writes as well as everyone else's.
 */
#include "core/err.h"
#include "meta/store_etcd.h"
#include "meta/store_sec.h"

static int change(struct rn_meta *m, const char *ns, const char *key, bool cas, const char *expect,
		  const char *val)
{
	int rc = rn__sec_valid(ns, key);
	if (rc < 0 || !m)
		return rc < 0 ? rc : RN_EINVALID;
	struct rn__es *es = rn__meta_es(m);
	if (es)
		return rn__es_sec_change(es, ns, key, cas, expect, val);
	rc = rn__meta_sec_change(m, ns, key, cas, expect, val);
	if (rc == 0)
		rn__sec_notify(rn__meta_sec(m), ns);
	return rc;
}

int rn_meta_sec_put(struct rn_meta *m, const char *ns, const char *key, const char *val)
{
	return change(m, ns, key, false, NULL, val);
}

int rn_meta_sec_cas(struct rn_meta *m, const char *ns, const char *key, const char *expect,
		    const char *val)
{
	return change(m, ns, key, true, expect, val);
}

void rn_meta_sec_foreach(struct rn_meta *m, const char *ns,
			 void (*cb)(const char *key, const char *val, void *arg), void *arg)
{
	if (!m || !ns)
		return;
	struct rn__es *es = rn__meta_es(m);
	if (es)
		rn__es_sec_foreach(es, ns, cb, arg);
	else
		rn__meta_sec_foreach(m, ns, cb, arg);
}

void rn_meta_sec_watch(struct rn_meta *m, const char *ns, void (*cb)(const char *ns, void *arg),
		       void *arg)
{
	if (!m || !ns)
		return;
	struct rn__es *es = rn__meta_es(m);
	rn__sec_watch(es ? rn__es_sec(es) : rn__meta_sec(m), ns, cb, arg);
}
