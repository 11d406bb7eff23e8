/*
 * Security records in memory (store.h, "Security records"), as both stores keep them: the
 * embedded store under its lock, the etcd store's cache under its rwlock. The table itself does
 * no locking; the watch registrations have their own mutex, so a store can tell them with no
 * lock of its own held. Private to meta/.
 */
#ifndef RN_META_SEC_TABLE_H
#define RN_META_SEC_TABLE_H

#include <pthread.h>
#include <stdint.h>

struct rn__sec_rec {
	char *ns, *key, *val; /* owned */
	int64_t mod_rev, gen; /* the etcd cache's bookkeeping; unused by the embedded store */
	struct rn__sec_rec *next;
};

struct rn__sec_watch {
	char *ns; /* owned */
	void (*cb)(const char *ns, void *arg);
	void *arg;
	struct rn__sec_watch *next;
};

#define RN__SEC_HASH 1024

struct rn__sec {
	struct rn__sec_rec **hash; /* RN__SEC_HASH buckets by (ns, key); NULL until the first set */
	int64_t n;                 /* records held */
	pthread_mutex_t wmu;       /* watches */
	struct rn__sec_watch *watches;
};

void rn__sec_init(struct rn__sec *s);
/* Frees every record and watch. */
void rn__sec_free(struct rn__sec *s);
/* Valid until the record changes. */
struct rn__sec_rec *rn__sec_find(struct rn__sec *s, const char *ns, const char *key);
/* Sets (copies) or, val NULL, removes ns/key. Returns the record set (NULL after a removal). */
struct rn__sec_rec *rn__sec_set(struct rn__sec *s, const char *ns, const char *key,
				const char *val);
/* Calls cb for every record of ns (ns NULL: all, with rec). */
void rn__sec_foreach(struct rn__sec *s, const char *ns,
		     void (*cb)(const char *key, const char *val, void *arg), void *arg);
void rn__sec_each_rec(struct rn__sec *s, void (*cb)(struct rn__sec_rec *r, void *arg), void *arg);
/* Registers cb for ns, replacing an earlier one. */
void rn__sec_watch(struct rn__sec *s, const char *ns, void (*cb)(const char *ns, void *arg),
		   void *arg);
/* Calls ns's watch, if any (the caller holds no store lock: cb reads the store). */
void rn__sec_notify(struct rn__sec *s, const char *ns);
/* What the rn_meta_sec_* calls accept: a namespace without '/', a key, both non-empty. */
int rn__sec_valid(const char *ns, const char *key);

#endif
