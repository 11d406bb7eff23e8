/*
 * The security records' two back ends behind store_sec.c's rn_meta_sec_* (store.h): the
 * embedded store's in store.c, the etcd store's in store_etcd_sec.c. Private to meta/.
 *
 * *_change writes ns/key durably: val NULL deletes (RN_ENOTFOUND when absent); with cas, only
 * when the current value equals expect (NULL: absent), else RN_ESTALE. Neither tells the
 * watches (store_sec.c does, once no lock is held).
 */
#ifndef RN_META_STORE_SEC_H
#define RN_META_STORE_SEC_H

#include <stdbool.h>

#include "meta/sec_table.h"
#include "meta/store.h"

struct rn__es;

int rn__meta_sec_change(struct rn_meta *m, const char *ns, const char *key, bool cas,
			const char *expect, const char *val);
void rn__meta_sec_foreach(struct rn_meta *m, const char *ns,
			  void (*cb)(const char *key, const char *val, void *arg), void *arg);
/* The table whose watches the embedded store tells. */
struct rn__sec *rn__meta_sec(struct rn_meta *m);

int rn__es_sec_change(struct rn__es *es, const char *ns, const char *key, bool cas,
		      const char *expect, const char *val);
void rn__es_sec_foreach(struct rn__es *es, const char *ns,
			void (*cb)(const char *key, const char *val, void *arg), void *arg);
/* The etcd cache's table: its watches are told from the watch thread. */
struct rn__sec *rn__es_sec(struct rn__es *es);

#endif
