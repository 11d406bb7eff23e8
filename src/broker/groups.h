/*
 * The broker side of the group coordinator (src/group/): one coordinator per process, guarded
 * by one mutex, with a thread that fires its timers and housekeeping (offset expiry and the
 * tombstones it writes; __consumer_offsets is compacted by the log cleaner). Handlers take the
 * lock, call the pure coordinator with the wall clock, and write records through rn_groups_write.
 * JoinGroup/SyncGroup handlers pass their own completion with the request (struct rn_gc_join_wait);
 * it may run on any thread holding the lock, so they post the answer to the request's loop. Nothing
 * here names a handler: completions travel back as callbacks passed in.
 *
 * Order: rn_groups_start after the topics are loaded and the flusher runs, BEFORE the server
 * accepts connections (it replays __consumer_offsets); rn_groups_stop before rn_server_stop
 * (answers parked requests); rn_groups_free after it.
 */
#ifndef RN_BROKER_GROUPS_H
#define RN_BROKER_GROUPS_H

#include <stdint.h>

#include "broker/broker.h"
#include "group/group.h"
#include "group/records.h"

struct rn_partition;
struct rn_append_info;

#define RN_OFFSETS_TOPIC "__consumer_offsets"

/* Creates __consumer_offsets if needed, replays it, starts the timer thread and the lag
 * metrics. Returns 0 or a negative error (the broker then runs without groups). */
int rn_groups_start(struct rn_broker *b);
void rn_groups_stop(struct rn_broker *b);
void rn_groups_free(struct rn_broker *b);

/* The coordinator, locked; NULL (not locked) if groups are unavailable. For requests about
 * one group use rn_groups_lock_group; this is for what spans every group coordinated here
 * (ListGroups, metrics, a deleted topic). */
struct rn_gc *rn_groups_lock(void);
void rn_groups_unlock(void);
/* The coordinator lookup for one group (Kafka's validateGroupStatus): the coordinator, locked,
 * when this broker coordinates group's __consumer_offsets partition; else NULL (not locked)
 * with *err COORDINATOR_NOT_AVAILABLE (no coordinator, stopping), NOT_COORDINATOR (another
 * broker leads the partition) or COORDINATOR_LOAD_IN_PROGRESS. A NULL or empty group id is
 * let through (the coordinator answers INVALID_GROUP_ID). */
struct rn_gc *rn_groups_lock_group(const char *group, int16_t *err);
/* Creates __consumer_offsets with Kafka's configs (offsets.topic.num.partitions): a single
 * broker at start-up, a cluster on the first FindCoordinator. Returns rn_topic_create's code. */
enum rn_kerr rn_groups_topic_create(struct rn_broker *b, char *msg, size_t msglen);
/* Under the lock: the replication state of group's partition (NULL on a single broker), for
 * the wait that a write is replicated (rn_replica_wait_hw) before it is acknowledged. */
struct rn_replica_part *rn_groups_rp(const char *group);
/* Under the lock, after rn_groups_write: cb(arg, kerr) once what group's partition holds below
 * end is acknowledged (rn_coord_wait: replicated, flushed when needs_flush), from any thread
 * and possibly before returning (so cb must not take the lock: post). */
void rn_groups_wait(const char *group, int64_t end, bool needs_flush,
		    void (*cb)(void *arg, int16_t kerr), void *arg);

/* Under the lock: appends recs to the group's __consumer_offsets partition. *p (optional) gets
 * the partition, for a flush wait. Returns 0 or the append's error. */
int rn_groups_write(const char *group, const struct rn_gc_rec *recs, int n,
		    struct rn_append_info *ai, struct rn_partition **p);

/* Under the lock: appends a TxnOffsetCommit's records to the group's partition as one
 * transactional batch of (pid, epoch) (Kafka's transactional offset commit: it becomes
 * effective with the producer's COMMIT marker on that partition). Returns 0, RN_ENOTLEADER,
 * or the append's error (RN_EPRODUCER_EPOCH for a fenced producer). */
int rn_groups_write_txn(const char *group, int64_t pid, int16_t epoch, const struct rn_gc_rec *recs,
			int n, struct rn_append_info *ai);

/* offset.metadata.max.bytes */
int32_t rn_groups_metadata_max(void);

/* Under the lock: writes tombstones for g's offsets and metadata, then removes g. */
int rn_groups_delete(struct rn_group *g);

/* Takes the lock: deletes the committed offsets of a deleted topic in every group, with
 * tombstones, and removes Empty groups left without offsets (Kafka's handleDeletedPartitions). */
void rn_groups_topic_deleted(const char *topic);
/* A cluster: this broker now leads (leader true, in epoch) or no longer leads partition idx of
 * __consumer_offsets. Loads that partition's groups from its log, or drops them (their members
 * get NOT_COORDINATOR and find the new coordinator). Called from a replica thread. */
void rn_groups_partition_leadership(struct rn_broker *b, int32_t idx, bool leader, int32_t epoch);

/* A transaction marker of producer pid was written to partition idx of __consumer_offsets
 * (by this broker's transaction coordinator or a WriteTxnMarkers): its transactional offset
 * commits in that partition's groups become committed offsets (commit) or are dropped. Takes
 * the lock. */
void rn_groups_txn_marker(int32_t idx, int64_t pid, int16_t epoch, bool commit);

/* Lag metrics collector (group_metrics.c). */
void rn__groups_metrics_register(struct rn_broker *b);
void rn__groups_metrics_unregister(void);

#endif
