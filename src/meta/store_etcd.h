/*
 * The etcd store behind store.h: store.c hands every call on a struct rn_meta opened with
 * rn_meta_open_etcd to these, with the same contracts as in store.h. Private to meta/.
 */
#ifndef RN_META_STORE_ETCD_H
#define RN_META_STORE_ETCD_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/store.h"

struct rn__es;

/* store.c: the etcd store of m (NULL for the embedded store) and a struct rn_meta around es. */
struct rn__es *rn__meta_es(const struct rn_meta *m);
struct rn_meta *rn__meta_wrap_es(struct rn__es *es);

/* store_etcd.c. rn__es_open: the caller owns *out (rn__es_close). */
int rn__es_open(const char *uri, const char *dir, int32_t node_id, struct rn__es **out);
void rn__es_close(struct rn__es *es);
const char *rn__es_cluster_id(const struct rn__es *es);
/* store_etcd_props.c: checks dir/meta.properties against node_id and cluster_id, writing it when
 * it is missing or has no cluster.id yet. -EINVAL on a mismatch (with a log line), -errno. */
int rn__es_meta_properties(const char *dir, int32_t node_id, const char *cluster_id);

/* store_etcd_watch.c, for tests: hold drops the watch stream and keeps it down (changes pile
 * up in etcd, as when a broker is cut off); release resumes from the last revision seen. */
void rn__es_watch_hold(struct rn__es *es, bool hold);
/* How many watch streams the store has made (1 while the first one lasts). */
int64_t rn__es_watch_streams(struct rn__es *es);
/* How many writes gave up waiting for the watch to bring them into the cache. */
int64_t rn__es_wait_timeouts(struct rn__es *es);

/* store_etcd_topics.c */
int rn__es_topic_create(struct rn__es *es, const char *name, int32_t partitions,
			const struct rn_cfg_kv *cfg, int ncfg, uint8_t id_out[16]);
int rn__es_topic_delete(struct rn__es *es, const char *name);
int rn__es_topic_set_partitions(struct rn__es *es, const char *name, int32_t partitions);
int rn__es_topic_set_config(struct rn__es *es, const char *name, const char *key, const char *val);
int rn__es_topic_replace_configs(struct rn__es *es, const char *name, const struct rn_cfg_kv *kv,
				 int n);
int rn__es_broker_replace_configs(struct rn__es *es, bool per_broker, const struct rn_cfg_kv *kv,
				  int n);
void rn__es_broker_configs(struct rn__es *es, bool per_broker,
			   void (*cb)(const char *key, const char *val, void *arg), void *arg);
int rn__es_next_producer_id(struct rn__es *es, int64_t *out);
const struct rn_meta_topic *rn__es_topic_get(struct rn__es *es, const char *name);
void rn__es_topics_foreach(struct rn__es *es, void (*cb)(const struct rn_meta_topic *t, void *arg),
			   void *arg);

#endif
