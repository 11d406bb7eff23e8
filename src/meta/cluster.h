/*
 * Cluster metadata: what a replicated cluster keeps beside topics and configs (live brokers,
 * each partition's replicas, leader, leader epoch and ISR, the controller). Only the etcd store
 * implements it (meta/store_etcd*.c, `metadata.store=etcd://...`); on the embedded store
 * rn_meta_clustered() is false and every other call here returns RN_EUNSUPPORTED, so a single
 * broker never reaches this code.
 *
 * Every read is served from the store's local cache, which a watch on etcd keeps current; every
 * write is one etcd transaction that compares what the writer last saw (a partition's
 * partition_epoch, a key's absence), so two brokers never both win a change: the loser gets
 * RN_ESTALE and re-reads. Listeners hear about each change after the cache holds it.
 *
 * Layout under the cluster prefix P (metadata.store's path, default /runnel), values JSON:
 *   P/cluster_id                      "<22-char base64 uuid>"
 *   P/brokers/<id>                    {"id","host","port","rack"}            (on the lease)
 *   P/controller                      {"id","epoch"}                         (on the lease)
 *   P/controller_epoch                "<n>"
 *   P/topics/<name>                   {"id":"<hex32>","partitions":n,"configs":{k:v}}
 *   P/partitions/<name>/<idx>         {"leader","leader_epoch","partition_epoch","replicas",
 *                                      "isr","adding","removing"}
 *   P/configs/brokers/<id or "">      {k:v}
 *   P/producer_ids                    "<next block start>"
 */
#ifndef RN_META_CLUSTER_H
#define RN_META_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/store.h"

#define RN_MAX_REPLICAS 16

struct rn_broker_reg {
	int32_t id;
	char host[256];
	int32_t port;
	char rack[64]; /* "" = no broker.rack */
};

/* One partition's replication state, as stored. */
struct rn_pstate {
	int32_t leader;          /* -1: offline, no leader */
	int32_t leader_epoch;    /* bumped by every leader change (and election) */
	int32_t partition_epoch; /* bumped by every change at all: the CAS token */
	int32_t nreplicas, replicas[RN_MAX_REPLICAS]; /* replicas[0] is the preferred leader */
	int32_t nisr, isr[RN_MAX_REPLICAS];
	/* A reassignment in flight (KIP-455): replicas = old ∪ adding, removing ⊆ old. */
	int32_t nadding, adding[RN_MAX_REPLICAS];
	int32_t nremoving, removing[RN_MAX_REPLICAS];
};

bool rn_pstate_has(const int32_t *set, int32_t n, int32_t id);

/* Opens the etcd store selected by uri ("etcd://host:port[,host:port...][/prefix]"); dir keeps
 * meta.properties (node.id, cluster.id) as for the embedded store. Connects, creates the
 * cluster id on first use, loads the cache and starts the watch. The caller owns *out
 * (rn_meta_close). Returns 0, -EINVAL (bad uri), RN_EUNAVAILABLE (no endpoint answered). */
int rn_meta_open_etcd(const char *uri, const char *dir, int32_t node_id, struct rn_meta **out);
bool rn_meta_clustered(const struct rn_meta *m);

/* Registers this broker under a lease of session_ms (broker.session.timeout.ms) kept alive by a
 * store thread. RN_EEXIST when a live broker already has this node id. After a lost session the
 * store registers again by itself as soon as etcd answers (listeners hear session(false) then
 * session(true)). */
int rn_meta_register_broker(struct rn_meta *m, const struct rn_broker_reg *self,
			    int64_t session_ms);
/* The keepalive period (broker.heartbeat.interval.ms); call before rn_meta_register_broker.
 * Without it the store refreshes every session_ms / 4. No-op on the embedded store. */
void rn_meta_set_heartbeat_ms(struct rn_meta *m, int64_t heartbeat_ms);
/* Revokes the lease at once (clean shutdown): registration and controllership go now. */
void rn_meta_unregister_broker(struct rn_meta *m);
/* True while this broker's lease is surely alive: the last keepalive etcd acknowledged was sent
 * less than session_ms minus a safety margin ago. A leader that sees false stops acknowledging
 * writes, so it is fenced before etcd expires the lease and a controller elects another. */
bool rn_meta_session_valid(struct rn_meta *m);

/* Live brokers, sorted by id, into out[0..max); returns their count (may exceed max). */
int rn_meta_brokers(struct rn_meta *m, struct rn_broker_reg *out, int max);
bool rn_meta_broker_live(struct rn_meta *m, int32_t id);
/* The controller's node id, -1 when none. */
int32_t rn_meta_controller(struct rn_meta *m, int32_t *epoch);
/* Tries to become controller (P/controller on this broker's lease, created only if absent, with
 * P/controller_epoch incremented in the same transaction). 0 with *epoch set when it won,
 * RN_EEXIST when another broker is controller, RN_EUNAVAILABLE. */
int rn_meta_controller_acquire(struct rn_meta *m, int32_t *epoch);

/* A topic created with its replica assignment: assign[p * rf + r] is replica r of partition p;
 * each partition starts with leader assign[p * rf], leader_epoch 0, ISR = all replicas. One
 * transaction with the topic record. Returns as rn_meta_topic_create. */
int rn_meta_topic_create_assigned(struct rn_meta *m, const char *name, int32_t partitions,
				  int32_t rf, const int32_t *assign, const struct rn_cfg_kv *cfg,
				  int ncfg, uint8_t id_out[16]);
/* CreatePartitions: partitions [old, partitions) with their assignment, as above. */
int rn_meta_topic_add_partitions_assigned(struct rn_meta *m, const char *name, int32_t partitions,
					  int32_t rf, const int32_t *assign);

/* The cached state of partition idx of topic: 0, RN_ENOTFOUND. */
int rn_meta_partition_get(struct rn_meta *m, const char *topic, int32_t idx, struct rn_pstate *out);
/* Writes st if the stored partition_epoch still equals expect (st->partition_epoch must be
 * expect + 1). 0, RN_ESTALE (changed meanwhile: re-read), RN_ENOTFOUND, RN_EUNAVAILABLE. The
 * cache holds st when this returns 0. */
int rn_meta_partition_cas(struct rn_meta *m, const char *topic, int32_t idx, int32_t expect,
			  const struct rn_pstate *st);
/* Calls cb for every cached partition state, under the cache's read lock (cb must not write). */
void rn_meta_partitions_foreach(struct rn_meta *m,
				void (*cb)(const char *topic, int32_t idx,
					   const struct rn_pstate *st, void *arg),
				void *arg);

/*
 * Change listeners. Callbacks run on the store's watch thread, one at a time, in etcd's order,
 * after the cache holds the change; they must not block (post work elsewhere) and may read the
 * store. rn_meta_add_listener first replays the present (topic(created) for every topic, then
 * partition for every partition, brokers, controller) so a listener needs no separate load.
 * Any member may be NULL. session() alone comes from the store's lease thread (still one
 * callback at a time with the rest). A callback must not add listeners; a write it makes
 * returns before the watch (its own thread) has cached it.
 */
struct rn_meta_listener {
	void (*topic)(void *arg, const char *name, bool deleted);
	void (*partition)(void *arg, const char *topic, int32_t idx, const struct rn_pstate *st);
	void (*brokers)(void *arg); /* a broker registered or its lease went */
	void (*controller)(void *arg, int32_t id, int32_t epoch);
	void (*session)(void *arg, bool valid);
	void (*broker_configs)(void *arg); /* P/configs/brokers/ changed */
	void *arg;
};
int rn_meta_add_listener(struct rn_meta *m, const struct rn_meta_listener *l);

#endif
