#include "meta/sec_table.h"

#include <string.h>

#include "core/alloc.h"
#include "core/err.h"

void rn__sec_init(struct rn__sec *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->wmu, NULL);
}

static void rec_free(struct rn__sec_rec *r)
{
	rn_free(r->ns);
	rn_free(r->key);
	rn_free(r->val);
	rn_free(r);
}

void rn__sec_free(struct rn__sec *s)
{
	for (int b = 0; s->hash && b < RN__SEC_HASH; b++)
		for (struct rn__sec_rec *r = s->hash[b], *next; r; r = next) {
			next = r->next;
			rec_free(r);
		}
	rn_free(s->hash);
	for (struct rn__sec_watch *w = s->watches, *next; w; w = next) {
		next = w->next;
		rn_free(w->ns);
		rn_free(w);
	}
	pthread_mutex_destroy(&s->wmu);
	memset(s, 0, sizeof(*s));
}

static size_t hash(const char *ns, const char *key)
{
	size_t h = 2166136261u; /* FNV-1a over ns, a separator, key */
	for (const char *p = ns; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % RN__SEC_HASH;
}

static struct rn__sec_rec **slot(struct rn__sec *s, const char *ns, const char *key)
{
	struct rn__sec_rec **pp = &s->hash[hash(ns, key)];
	while (*pp && (strcmp((*pp)->ns, ns) != 0 || strcmp((*pp)->key, key) != 0))
		pp = &(*pp)->next;
	return pp;
}

struct rn__sec_rec *rn__sec_find(struct rn__sec *s, const char *ns, const char *key)
{
	return s->hash ? *slot(s, ns, key) : NULL;
}

struct rn__sec_rec *rn__sec_set(struct rn__sec *s, const char *ns, const char *key, const char *val)
{
	if (!s->hash) {
		if (!val)
			return NULL;
		s->hash = rn_calloc(RN__SEC_HASH, sizeof(*s->hash));
	}
	struct rn__sec_rec **pp = slot(s, ns, key);
	if (!val) {
		if (*pp) {
			struct rn__sec_rec *r = *pp;
			*pp = r->next;
			rec_free(r);
			s->n--;
		}
		return NULL;
	}
	if (*pp) {
		char *v = rn_strdup(val);
		rn_free((*pp)->val);
		(*pp)->val = v;
		return *pp;
	}
	struct rn__sec_rec *r = rn_calloc(1, sizeof(*r));
	r->ns = rn_strdup(ns);
	r->key = rn_strdup(key);
	r->val = rn_strdup(val);
	*pp = r;
	s->n++;
	return r;
}

void rn__sec_foreach(struct rn__sec *s, const char *ns,
		     void (*cb)(const char *key, const char *val, void *arg), void *arg)
{
	for (int b = 0; s->hash && b < RN__SEC_HASH; b++)
		for (struct rn__sec_rec *r = s->hash[b]; r; r = r->next)
			if (!ns || strcmp(r->ns, ns) == 0)
				cb(r->key, r->val, arg);
}

void rn__sec_each_rec(struct rn__sec *s, void (*cb)(struct rn__sec_rec *r, void *arg), void *arg)
{
	for (int b = 0; s->hash && b < RN__SEC_HASH; b++)
		for (struct rn__sec_rec *r = s->hash[b], *next; r; r = next) {
			next = r->next; /* cb may remove r */
			cb(r, arg);
		}
}

void rn__sec_watch(struct rn__sec *s, const char *ns, void (*cb)(const char *ns, void *arg),
		   void *arg)
{
	pthread_mutex_lock(&s->wmu);
	struct rn__sec_watch *w = s->watches;
	while (w && strcmp(w->ns, ns) != 0)
		w = w->next;
	if (!w) {
		w = rn_calloc(1, sizeof(*w));
		w->ns = rn_strdup(ns);
		w->next = s->watches;
		s->watches = w;
	}
	w->cb = cb;
	w->arg = arg;
	pthread_mutex_unlock(&s->wmu);
}

void rn__sec_notify(struct rn__sec *s, const char *ns)
{
	void (*cb)(const char *, void *) = NULL;
	void *arg = NULL;
	pthread_mutex_lock(&s->wmu);
	for (struct rn__sec_watch *w = s->watches; w; w = w->next)
		if (strcmp(w->ns, ns) == 0) {
			cb = w->cb;
			arg = w->arg;
		}
	pthread_mutex_unlock(&s->wmu);
	if (cb)
		cb(ns, arg);
}

int rn__sec_valid(const char *ns, const char *key)
{
	if (!ns || !key || !*ns || !*key || strchr(ns, '/'))
		return RN_EINVALID;
	return 0;
}
