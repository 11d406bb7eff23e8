/*
 * The topic table: name -> struct rn_topic with its partitions, backed by the metadata store
 * (what exists) and the log directory (the data). Lookups take a read lock for the hash probe
 * only; admin changes are serialised by admin_lock and made durable in the store first.
 */
#ifndef RN_BROKER_TOPICS_H
#define RN_BROKER_TOPICS_H

#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "proto/kerr.h"

/* Loads every topic of the metadata store and opens (recovers) its partitions. */
int rn_topics_load(struct rn_broker *b);
/* Drops the table; partitions are closed by rn_logdir_close afterwards. */
void rn_topics_unload(struct rn_broker *b);

/* Returns a referenced topic or NULL. name need not be NUL-terminated. */
struct rn_topic *rn_topic_get(struct rn_broker *b, const char *name, size_t len);
void rn_topic_put(struct rn_broker *b, struct rn_topic *t);
/* The topic with this id (KIP-516: Metadata v12, Fetch v13+, DeleteTopics v6), referenced, or
 * NULL (the zero id names no topic). */
struct rn_topic *rn_topic_get_by_id(struct rn_broker *b, const uint8_t id[16]);

/* Kafka's rules: 1..249 chars of [a-zA-Z0-9._-], not "." or "..". */
bool rn_topic_name_valid(const char *name, size_t len);

/* Creates a topic. Returns a Kafka error code; on failure writes a message for the response's
 * error_message into msg. validate_only checks without creating. */
enum rn_kerr rn_topic_create(struct rn_broker *b, const char *name, int32_t partitions,
			     const struct rn_cfg_kv *cfg, int ncfg, bool validate_only, char *msg,
			     size_t msglen);
enum rn_kerr rn_topic_delete(struct rn_broker *b, const char *name, char *msg, size_t msglen);
enum rn_kerr rn_topic_add_partitions(struct rn_broker *b, const char *name, int32_t count,
				     bool validate_only, char *msg, size_t msglen);

/* One partition's replicas as a request names them (CreateTopics, CreatePartitions). */
struct rn_assignment {
	int32_t n;
	const int32_t *ids;
};

/* A cluster's creation (metadata.store=etcd): as rn_topic_create, placed by
 * rn_placement_assign over the live brokers with replication factor rf (-1: the default; the
 * internal topics use their own keys), or, with assign non-NULL, exactly as assign[0..partitions)
 * says (validated as Kafka does). Returns once this broker's table has the topic (bounded
 * wait), so a client may produce right after. *rf_out gets the factor used. On a single broker
 * it is rn_topic_create (assignments and rf are the caller's to check). */
enum rn_kerr rn_topic_create_replicated(struct rn_broker *b, const char *name, int32_t partitions,
					int32_t rf, const struct rn_assignment *assign,
					const struct rn_cfg_kv *cfg, int ncfg, bool validate_only,
					int32_t *rf_out, char *msg, size_t msglen);
/* A cluster's CreatePartitions: as rn_topic_add_partitions, the new partitions placed, or
 * assigned by assign[0..count - current) when non-NULL. */
enum rn_kerr rn_topic_add_partitions_replicated(struct rn_broker *b, const char *name,
						int32_t count, const struct rn_assignment *assign,
						int32_t nassign, bool validate_only, char *msg,
						size_t msglen);

/* Calls cb for every live topic (referenced for the duration of cb), under the read lock:
 * cb must not call back into the table. */
void rn_topics_foreach(struct rn_broker *b, void (*cb)(struct rn_topic *t, void *arg), void *arg);

/* A topic's configs, nconfigs and logcfg change at run time (AlterConfigs): read them under
 * the shared lock, change them under the exclusive one (and the admin_lock). */
void rn_topics_cfg_lock(bool write);
void rn_topics_cfg_unlock(void);

/* Wakes the fetches parked on partition idx (after an append). Any thread. */
void rn_topic_notify(struct rn_topic *t, int32_t idx);

#endif
