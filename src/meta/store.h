/*
 * The metadata store: topics, their ids, partition counts and config overrides, and the
 * producer id allocation (later ACLs, credentials, quotas). Handlers never touch metadata files:
 * they go through this interface, which a cluster implementation (etcd) will provide too.
 *
 * The embedded implementation keeps an append-only file `<dir>/runnel-metadata.log`, one record
 * per change, each line "<crc32c hex8> <op>\t<field>...\n"; it is replayed at start-up (a torn
 * tail is truncated) and rewritten as a snapshot when it holds mostly dead records. Every
 * change is fsync'ed before the call returns: metadata changes are rare and must survive.
 * `<dir>/meta.properties` holds cluster.id and node.id, as in Kafka.
 */
#ifndef RN_META_STORE_H
#define RN_META_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rn_cfg_kv {
	char *key;
	char *val;
};

/* In the owned set kv[0..*n) (keys and values heap copies, *kv realloc'ed): sets key to a copy
 * of val, or removes it when val is NULL. The store keeps its override sets so, and callers
 * build the sets they hand to rn_meta_*_replace_configs the same way (cfg_kv.c). */
void rn_cfg_kv_set(struct rn_cfg_kv **kv, int *n, const char *key, const char *val);

struct rn_meta_topic {
	char *name;
	uint8_t id[16];
	int32_t partitions;
	struct rn_cfg_kv *configs;
	int nconfigs;
};

struct rn_meta;

/* Opens or creates the store in dir; node_id is written to meta.properties on creation and
 * checked afterwards (-EINVAL on mismatch). The caller owns *out (rn_meta_close). */
int rn_meta_open(const char *dir, int32_t node_id, struct rn_meta **out);
void rn_meta_close(struct rn_meta *m);
/* Valid as long as m. */
const char *rn_meta_cluster_id(const struct rn_meta *m);

/* Each returns 0, RN_EEXIST / RN_ENOTFOUND, or -errno if the record could not be made durable.
 * Strings are copied. id_out receives the new topic id (random UUID). */
int rn_meta_topic_create(struct rn_meta *m, const char *name, int32_t partitions,
			 const struct rn_cfg_kv *cfg, int ncfg, uint8_t id_out[16]);
int rn_meta_topic_delete(struct rn_meta *m, const char *name);
int rn_meta_topic_set_partitions(struct rn_meta *m, const char *name, int32_t partitions);
/* val NULL removes the override. */
int rn_meta_topic_set_config(struct rn_meta *m, const char *name, const char *key, const char *val);

/* Makes kv[0..n) the whole override set of topic name (AlterConfigs; one write, one fsync). */
int rn_meta_topic_replace_configs(struct rn_meta *m, const char *name, const struct rn_cfg_kv *kv,
				  int n);

/* Dynamic broker configs (AlterConfigs on the broker resource): per_broker selects this node's
 * set ("<node id>"), else the cluster default (""). replace makes kv[0..n) the whole set. */
int rn_meta_broker_replace_configs(struct rn_meta *m, bool per_broker, const struct rn_cfg_kv *kv,
				   int n);
/* Calls cb for each stored dynamic broker config, under the store's lock. */
void rn_meta_broker_configs(struct rn_meta *m, bool per_broker,
			    void (*cb)(const char *key, const char *val, void *arg), void *arg);

/* A producer id never handed out before, also across restarts and crashes: ids come from
 * blocks of 1000 whose end is made durable (one fsync per block) before the first is used.
 * Returns 0 or -errno. */
int rn_meta_next_producer_id(struct rn_meta *m, int64_t *out);

/*
 * Security records: ACLs, SCRAM credentials, client quotas (auth/ encodes them). Each is an
 * opaque value under a namespace ("acl", "scram", "quota") and a key, durable before the call
 * returns (embedded: a record in the metadata log; etcd: <prefix>/sec/<ns>/<key>).
 * rn_meta_sec_put with val NULL deletes (RN_ENOTFOUND if absent). Returns 0 or -errno.
 * rn_meta_sec_cas puts only if the current value equals expect (NULL: absent); RN_ESTALE if
 * not. rn_meta_sec_foreach calls cb under the store's lock (cb must not call the store).
 */
int rn_meta_sec_put(struct rn_meta *m, const char *ns, const char *key, const char *val);
int rn_meta_sec_cas(struct rn_meta *m, const char *ns, const char *key, const char *expect,
		    const char *val);
void rn_meta_sec_foreach(struct rn_meta *m, const char *ns,
			 void (*cb)(const char *key, const char *val, void *arg), void *arg);
/* Registers cb (one per namespace, replacing an earlier one), called after any change to ns,
 * made here or (in a cluster) by another broker, from a thread of the store: the caller reloads
 * what it caches with rn_meta_sec_foreach. */
void rn_meta_sec_watch(struct rn_meta *m, const char *ns, void (*cb)(const char *ns, void *arg),
		       void *arg);

/* Looks a topic up; the result is valid until the next change to that topic. */
const struct rn_meta_topic *rn_meta_topic_get(struct rn_meta *m, const char *name);
void rn_meta_topics_foreach(struct rn_meta *m, void (*cb)(const struct rn_meta_topic *t, void *arg),
			    void *arg);

#endif
