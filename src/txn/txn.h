/*
 * The transaction coordinator as a pure state machine (no threads, clocks or I/O), Kafka's
 * TransactionCoordinator/TransactionMetadata: transactional.id -> producer id and epoch, state,
 * the partitions and groups of the ongoing transaction, its pending offset commits, its timeout.
 * The broker glue (broker/txns.c) holds one mutex around every call, writes the entry's record
 * to __transaction_state after each transition, and writes the markers.
 *
 *   Empty/Complete* --AddPartitions/AddOffsets--> Ongoing --EndTxn--> PrepareCommit/PrepareAbort
 *        ^                                          |                          |
 *        |                          InitProducerId, timeout (epoch bump)        | markers written
 *        |                                          v                          v
 *        +------------------------------------- PrepareAbort ------> CompleteCommit/Abort
 *
 * Ownership: the coordinator owns every entry and copies every string it keeps. Entry pointers
 * are valid until the next rn_tc_remove/rn_tc_apply/rn_tc_free.
 */
#ifndef RN_TXN_TXN_H
#define RN_TXN_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Kafka's TransactionState ids, as stored in __transaction_state. */
enum rn_txn_state {
	RN_TXN_EMPTY = 0,
	RN_TXN_ONGOING = 1,
	RN_TXN_PREPARE_COMMIT = 2,
	RN_TXN_PREPARE_ABORT = 3,
	RN_TXN_COMPLETE_COMMIT = 4,
	RN_TXN_COMPLETE_ABORT = 5,
	RN_TXN_DEAD = 6,
};

const char *rn_txn_state_name(enum rn_txn_state s);

struct rn_txn_part {
	char *topic;
	int32_t partition;
	uint32_t hash; /* of topic and partition: the produce check compares it first */
};

/* A transactional offset commit, applied to the group when the transaction commits. */
struct rn_txn_offset {
	char *group;
	char *topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;
	char *metadata; /* NULL = null */
};

struct rn_txn {
	char *id;
	int64_t pid;
	int16_t epoch;
	int64_t last_pid; /* before the last bump: a retried InitProducerId (KIP-360) */
	int16_t last_epoch;
	int32_t timeout_ms;
	enum rn_txn_state state;
	int64_t start_ms;  /* when the ongoing transaction began */
	int64_t update_ms; /* last transition */
	struct rn_txn_part *parts;
	int nparts, partcap;
	char **groups;
	int ngroups, groupcap;
	struct rn_txn_offset *offsets;
	int noffsets, offsetcap;
	struct rn_txn *hnext, *pnext; /* by id, by pid */
	/* The broker glue's, never stored: markers sent to partitions on other brokers and not
	 * yet acknowledged (the transaction stays Prepare* and is not finished again meanwhile),
	 * and a record written but not yet replicated (no markers may go out before it is: a
	 * new coordinator must find the Prepare* that ordered them). */
	int32_t markers_inflight;
	bool unreplicated;
	bool repl_waiting; /* that record's replication wait is in flight */
};

struct rn_tc_config {
	int32_t max_timeout_ms;   /* transaction.max.timeout.ms (900000) */
	int64_t id_expiration_ms; /* transactional.id.expiration.ms (604800000) */
	/* The coordinator lookup (a cluster: is id's __transaction_state partition led and
	 * loaded here?): NONE, NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS, answered first by
	 * rn_tc_init_pid, rn_tc_check and rn_tc_end. NULL: every id is coordinated here. */
	int16_t (*owns)(void *arg, const char *id);
	void *owns_arg;
};

struct rn_tc;

/* Creates a coordinator the caller owns (rn_tc_free). */
struct rn_tc *rn_tc_new(const struct rn_tc_config *cfg);
void rn_tc_free(struct rn_tc *tc);

struct rn_txn *rn_tc_find(struct rn_tc *tc, const char *id);
struct rn_txn *rn_tc_find_pid(struct rn_tc *tc, int64_t pid);
void rn_tc_foreach(struct rn_tc *tc, void (*cb)(struct rn_txn *t, void *arg), void *arg);
int rn_tc_count(const struct rn_tc *tc);
/* Moves every entry of src into dst (a __transaction_state partition loaded into a scratch
 * coordinator without the lock, then adopted under it), replacing dst's entry of the same id;
 * src is left empty. Returns the number moved. */
int rn_tc_adopt(struct rn_tc *dst, struct rn_tc *src);
/* Removes and frees t (expiry). */
void rn_tc_remove(struct rn_tc *tc, struct rn_txn *t);
/* Kafka's transactional id expiry: t is idle (Empty, CompleteCommit, CompleteAbort) and its
 * last transition is transactional.id.expiration.ms old. The caller writes its tombstone
 * (the only tombstone of __transaction_state), then rn_tc_remove. */
bool rn_tc_expired(const struct rn_tc *tc, const struct rn_txn *t, int64_t now);

/* Allocates a producer id (the broker's metadata store): 0 or a negative error. */
typedef int (*rn_tc_pid_fn)(void *arg, int64_t *pid);

/*
 * InitProducerId with a transactional id. req_pid/req_epoch are -1 before v3 (KIP-360). Returns
 * a Kafka error code and sets *out to the entry (NULL on errors other than
 * CONCURRENT_TRANSACTIONS):
 *   NONE                    the entry has a new epoch (or a new producer id) and is Empty: write
 *                           its record, answer with t->pid/t->epoch;
 *   CONCURRENT_TRANSACTIONS with *abort set: the previous epoch's transaction was Ongoing and is
 *                           now PrepareAbort under a bumped epoch (fencing it): write its record
 *                           and its markers, rn_tc_complete, then call again. Without *abort the
 *                           entry is completing a transaction: answer, the client retries.
 *   INVALID_TRANSACTION_TIMEOUT, PRODUCER_FENCED, UNKNOWN_SERVER_ERROR (no producer id).
 */
int16_t rn_tc_init_pid(struct rn_tc *tc, const char *id, int32_t timeout_ms, int64_t req_pid,
		       int16_t req_epoch, int64_t now, rn_tc_pid_fn alloc, void *arg,
		       struct rn_txn **out, bool *abort);

/* The checks every transactional request makes on (id, pid, epoch): NONE with *out set, or
 * INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (fenced_code for the version: older clients
 * get INVALID_PRODUCER_EPOCH), CONCURRENT_TRANSACTIONS (a transaction is completing). */
int16_t rn_tc_check(struct rn_tc *tc, const char *id, int64_t pid, int16_t epoch,
		    int16_t fenced_code, struct rn_txn **out);

/* AddPartitionsToTxn / AddOffsetsToTxn on a checked entry: adds (idempotently) and makes the
 * transaction Ongoing (start time now if it was not). Returns true if anything changed (a
 * record must be written). */
bool rn_tc_add_partition(struct rn_txn *t, const char *topic, int32_t partition, int64_t now);
bool rn_tc_add_group(struct rn_txn *t, const char *group, int64_t now);
bool rn_tc_has_group(const struct rn_txn *t, const char *group);
/* Is (topic, partition) part of t's ongoing transaction? */
bool rn_tc_has_partition(const struct rn_txn *t, const char *topic, int32_t partition);
/* TxnOffsetCommit: replaces an earlier pending commit of the same (group, topic, partition). */
void rn_tc_add_offset(struct rn_txn *t, const struct rn_txn_offset *o);

/* EndTxn on the entry of (id, pid, epoch). Returns NONE with *out in PrepareCommit/PrepareAbort
 * (write the record, then the markers, then rn_tc_complete) or, for a retry of a completed
 * EndTxn with the same outcome, in Complete* (nothing to do); INVALID_TXN_STATE,
 * CONCURRENT_TRANSACTIONS, PRODUCER_FENCED/fenced_code, INVALID_PRODUCER_ID_MAPPING. */
int16_t rn_tc_end(struct rn_tc *tc, const char *id, int64_t pid, int16_t epoch, bool commit,
		  int16_t fenced_code, int64_t now, struct rn_txn **out);

/* Timeout: bumps the epoch of an Ongoing entry (fencing its producer, as Kafka does) and makes
 * it PrepareAbort. Returns false if t is not Ongoing. */
bool rn_tc_fence_abort(struct rn_txn *t, int64_t now);
/* Markers written: Prepare* -> Complete*, partitions, groups and pending offsets forgotten. */
void rn_tc_complete(struct rn_txn *t, int64_t now);
/* Ongoing entries past their timeout at now: cb for each (it may call rn_tc_fence_abort). */
void rn_tc_timed_out(struct rn_tc *tc, int64_t now, void (*cb)(struct rn_txn *t, void *arg),
		     void *arg);

/* __transaction_state partition of a transactional id: abs(Java hashCode) % n, as Kafka. */
int32_t rn_tc_partition_for(const char *id, int32_t n);

/*
 * Records (records.c). Key and value v0 are Kafka's TransactionLogKey/TransactionLogValue:
 *
 *   key    i16 version=0, string transactional_id
 *   value  i16 version=0, i64 producer_id, i16 producer_epoch, i32 timeout_ms, i8 state,
 *          [string topic, [i32 partition]] partitions, i64 last_update_ms, i64 start_ms
 *          then a Runnel extension Kafka's readers ignore (trailing bytes):
 *          i64 last_producer_id, i16 last_producer_epoch, [string group] groups,
 *          [string group, string topic, i32 partition, i64 offset, i32 leader_epoch,
 *           nullable string metadata] pending offsets
 *   null value = the transactional id expired.
 */
void rn_tc_key(struct rn_buf *b, const char *id);
void rn_tc_value(struct rn_buf *b, const struct rn_txn *t);
/* Applies one record (replay): the latest value wins, a null value removes. Returns 0 or
 * RN_ECORRUPT (skipped). */
int rn_tc_apply(struct rn_tc *tc, const uint8_t *key, int32_t klen, const uint8_t *val,
		int32_t vlen);

#endif
