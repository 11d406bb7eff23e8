/*
 * Which partitions of an internal topic (__consumer_offsets, __transaction_state) this broker
 * coordinates, and in which coordinator epoch: Kafka's ownedPartitions / loadingPartitions /
 * epochForPartitionId. Pure bookkeeping (no locks, no I/O): the broker glue (broker/groups.c,
 * broker/txns.c) keeps one table under its coordinator lock.
 *
 *   NOT_OWNED --lead(epoch)--> LOADING --loaded(gen)--> OWNED
 *       ^                         |                        |
 *       +-------- resign(epoch) --+------------------------+
 *
 * Every lead or resign bumps the partition's generation, so a load that finishes after the
 * partition was resigned (or led again in a newer epoch) is recognised as stale and dropped.
 * A lead or resign with an epoch older than the one in force is ignored (a late event).
 */
#ifndef RN_GROUP_PARTS_H
#define RN_GROUP_PARTS_H

#include <stdbool.h>
#include <stdint.h>

enum rn_gc_part_state {
	RN_GC_PART_NOT_OWNED,
	RN_GC_PART_LOADING,
	RN_GC_PART_OWNED,
};

struct rn_gc_part {
	enum rn_gc_part_state state;
	int32_t epoch; /* coordinator epoch: the partition's leader epoch (-1 unknown) */
	uint64_t gen;
};

struct rn_gc_parts {
	struct rn_gc_part *v; /* owned */
	int32_t n;
};

/* Sizes the table for n partitions, every one OWNED in epoch 0 (a single broker coordinates
 * everything) or NOT_OWNED. */
void rn_gc_parts_init(struct rn_gc_parts *t, int32_t n, bool owned);
void rn_gc_parts_free(struct rn_gc_parts *t);

/* This broker now leads idx in epoch: LOADING. Returns the generation the load must present
 * to rn_gc_parts_loaded, or 0 when the event is ignored (stale epoch, already led in it, idx
 * out of range). */
uint64_t rn_gc_parts_lead(struct rn_gc_parts *t, int32_t idx, int32_t epoch);
/* The load of generation gen finished: OWNED and true, or false when gen is stale (the load's
 * result must be discarded). */
bool rn_gc_parts_loaded(struct rn_gc_parts *t, int32_t idx, uint64_t gen);
/* This broker no longer leads idx (the new leader's epoch, or -1): NOT_OWNED. Returns true
 * when the partition was LOADING or OWNED (its state must be dropped), false when ignored. */
bool rn_gc_parts_resign(struct rn_gc_parts *t, int32_t idx, int32_t epoch);

/* Kafka's validateGroupStatus / TransactionStateManager answer for an id in partition idx:
 * NONE (coordinated here), COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR. */
int16_t rn_gc_parts_status(const struct rn_gc_parts *t, int32_t idx);
bool rn_gc_parts_owned(const struct rn_gc_parts *t, int32_t idx);
/* The coordinator epoch of idx (-1 when not owned). */
int32_t rn_gc_parts_epoch(const struct rn_gc_parts *t, int32_t idx);

/*
 * Sequence numbers of the transactional offset commits a group coordinator writes into one
 * __consumer_offsets partition on behalf of producers (TxnOffsetCommit). The partition checks
 * them like any idempotent producer's (storage/producer_state.h: within an epoch the next
 * batch starts after the last one; a newer epoch, also one a marker brought, starts at 0), so
 * the coordinator follows the same rules, learning where each producer is from the log when it
 * loads the partition (the cleaner keeps each producer's last batch) and from its own writes.
 */
struct rn_gc_pseq {
	int64_t pid;
	int16_t epoch;
	int32_t next;
};

struct rn_gc_pseqs {
	struct rn_gc_pseq *v; /* owned */
	int n, cap;
};

/* A transactional batch of (pid, epoch) ending at sequence last_seq is in the log. */
void rn_gc_pseqs_batch(struct rn_gc_pseqs *s, int64_t pid, int16_t epoch, int32_t last_seq);
/* A marker of (pid, epoch) is in the log: a newer epoch restarts sequences. */
void rn_gc_pseqs_marker(struct rn_gc_pseqs *s, int64_t pid, int16_t epoch);
/* The base sequence for pid's next batch in epoch. */
int32_t rn_gc_pseqs_next(const struct rn_gc_pseqs *s, int64_t pid, int16_t epoch);
void rn_gc_pseqs_free(struct rn_gc_pseqs *s);

/* Leadership changes as the replica layer reports them, queued for the coordinator's thread
 * (the hook must not block, and must not take the coordinator lock under replica locks). */
struct rn_gc_part_event {
	int32_t idx;
	bool leader;
	int32_t epoch;
};

struct rn_gc_part_events {
	struct rn_gc_part_event *v; /* owned */
	int n, cap;
};

void rn_gc_part_events_push(struct rn_gc_part_events *q, int32_t idx, bool leader, int32_t epoch);
/* Puts ev's events from index from back at the head of q, before those queued since. */
void rn_gc_part_events_requeue(struct rn_gc_part_events *q, const struct rn_gc_part_events *ev,
			       int from);
/* Moves q's events into *out (the caller frees out->v) and empties q. */
void rn_gc_part_events_take(struct rn_gc_part_events *q, struct rn_gc_part_events *out);

#endif
