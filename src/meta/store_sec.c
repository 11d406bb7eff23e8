/*
 * Security records (store.h, "Security records"). PLACEHOLDER: kept in memory only, so the
 * auth rooms can be built against the interface; the durable embedded and etcd versions
 * replace this file.
 */
#include <pthread.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "meta/store.h"

struct rec {
	char *ns, *key, *val;
	struct rec *next;
};

struct watch {
	char *ns;
	void (*cb)(const char *ns, void *arg);
	void *arg;
	struct watch *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rec *recs;
static struct watch *watches;

static struct rec **find(const char *ns, const char *key)
{
	struct rec **pp = &recs;
	while (*pp && (strcmp((*pp)->ns, ns) != 0 || strcmp((*pp)->key, key) != 0))
		pp = &(*pp)->next;
	return pp;
}

static void notify(const char *ns)
{
	void (*cb)(const char *, void *) = NULL;
	void *arg = NULL;
	pthread_mutex_lock(&lock);
	for (struct watch *w = watches; w; w = w->next)
		if (strcmp(w->ns, ns) == 0) {
			cb = w->cb;
			arg = w->arg;
		}
	pthread_mutex_unlock(&lock);
	if (cb)
		cb(ns, arg);
}

static int put_locked(const char *ns, const char *key, const char *val)
{
	struct rec **pp = find(ns, key);
	if (!val) {
		if (!*pp)
			return RN_ENOTFOUND;
		struct rec *r = *pp;
		*pp = r->next;
		rn_free(r->ns);
		rn_free(r->key);
		rn_free(r->val);
		rn_free(r);
		return 0;
	}
	if (*pp) {
		rn_free((*pp)->val);
		(*pp)->val = rn_strdup(val);
		return 0;
	}
	struct rec *r = rn_calloc(1, sizeof(*r));
	r->ns = rn_strdup(ns);
	r->key = rn_strdup(key);
	r->val = rn_strdup(val);
	r->next = recs;
	recs = r;
	return 0;
}

int rn_meta_sec_put(struct rn_meta *m, const char *ns, const char *key, const char *val)
{
	(void)m;
	pthread_mutex_lock(&lock);
	int rc = put_locked(ns, key, val);
	pthread_mutex_unlock(&lock);
	if (rc == 0)
		notify(ns);
	return rc;
}

int rn_meta_sec_cas(struct rn_meta *m, const char *ns, const char *key, const char *expect,
		    const char *val)
{
	(void)m;
	pthread_mutex_lock(&lock);
	struct rec *cur = *find(ns, key);
	int rc;
	if ((cur == NULL) != (expect == NULL) || (cur && strcmp(cur->val, expect) != 0))
		rc = RN_ESTALE;
	else
		rc = put_locked(ns, key, val);
	pthread_mutex_unlock(&lock);
	if (rc == 0)
		notify(ns);
	return rc;
}

void rn_meta_sec_foreach(struct rn_meta *m, const char *ns,
			 void (*cb)(const char *key, const char *val, void *arg), void *arg)
{
	(void)m;
	pthread_mutex_lock(&lock);
	for (struct rec *r = recs; r; r = r->next)
		if (strcmp(r->ns, ns) == 0)
			cb(r->key, r->val, arg);
	pthread_mutex_unlock(&lock);
}

void rn_meta_sec_watch(struct rn_meta *m, const char *ns, void (*cb)(const char *ns, void *arg),
		       void *arg)
{
	(void)m;
	struct watch *w = rn_calloc(1, sizeof(*w));
	w->ns = rn_strdup(ns);
	w->cb = cb;
	w->arg = arg;
	pthread_mutex_lock(&lock);
	w->next = watches;
	watches = w;
	pthread_mutex_unlock(&lock);
}
