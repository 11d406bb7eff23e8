/*
 * What topics.c shares with broker/cluster.c, the cluster's table sync: the table's own
 * primitives and the copy-on-write of a topic object. Handlers index t->parts[] without a lock,
 * so a partition slot never changes in place once the topic is in the table: a change (more
 * partitions, a replica added or removed here) builds a new object sharing the untouched slots
 * and swaps it in; the old one lives until its last reference.
 */
#ifndef RN_BROKER_TOPICS_INT_H
#define RN_BROKER_TOPICS_INT_H

#include "broker/topics.h"

/* A partition slot an old topic object gave up (this broker stopped being a replica): its
 * replica is detached and its log deleted when that object's last reference goes. */
struct rn_topic_retired {
	int32_t idx;
	struct rn_partition *log;
	struct rn_replica_part *rp;
	struct rn_topic_retired *next;
};

/* A new topic object with npart empty slots (wait locks ready), configs copied; one reference
 * (the table's). Not in the table. */
struct rn_topic *rn__topic_new(struct rn_broker *b, const char *name, const uint8_t id[16],
			       int32_t npart, const struct rn_cfg_kv *cfg, int ncfg);
/* A copy of t with npart slots sharing t's logs and replicas for the slots both have (the
 * others empty), t's current configs copied. */
struct rn_topic *rn__topic_copy(struct rn_broker *b, struct rn_topic *t, int32_t npart);
/* Frees an object that was never published (its logs stay open, owned by the logdir). */
void rn__topic_free(struct rn_topic *t);

/* Caller holds topics_lock for writing. */
void rn__table_insert(struct rn_broker *b, struct rn_topic *t);
void rn__table_remove(struct rn_broker *b, struct rn_topic *t);
struct rn_topic *rn__table_find(struct rn_broker *b, const char *name);

/* Replaces old by nt in the table, wakes old's parked fetches (they re-resolve) and drops the
 * table's reference to old. Caller holds admin_lock. */
void rn__topic_swap(struct rn_broker *b, struct rn_topic *old, struct rn_topic *nt);
/* Removes t from the table and marks it deleted: its data goes with its last reference (the
 * table's is dropped here). Caller holds admin_lock. */
void rn__topic_unpublish(struct rn_broker *b, struct rn_topic *t);

/* The last reference of t went: deletes its data (deleted) or frees the copy and whatever it
 * retired. What rn_topic_put does at once on a single broker; cluster.c calls it from its
 * worker, never from a replica thread that a detach would wait for. */
void rn__topic_release(struct rn_broker *b, struct rn_topic *t);

/* Caller holds admin_lock: a deleted topic of this name still has data to remove. */
bool rn__in_graveyard(struct rn_broker *b, const char *name);

/* The cluster's admin paths (topics_cluster.c): the store decides, the table follows through
 * the listener (cluster.c). wait: return once this broker's table shows the change. */
enum rn_kerr rn__topic_create_cluster(struct rn_broker *b, const char *name, int32_t partitions,
				      int32_t rf, const struct rn_assignment *assign,
				      const struct rn_cfg_kv *cfg, int ncfg, bool validate_only,
				      bool wait, int32_t *rf_out, char *msg, size_t msglen);
enum rn_kerr rn__topic_delete_cluster(struct rn_broker *b, const char *name, char *msg,
				      size_t msglen);
enum rn_kerr rn__topic_add_partitions_cluster(struct rn_broker *b, const char *name, int32_t count,
					      const struct rn_assignment *assign, int32_t nassign,
					      bool validate_only, char *msg, size_t msglen);

#endif
