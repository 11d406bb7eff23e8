/*
 * The coordinators' state on disk: the partitions of __consumer_offsets (and, through the same
 * two calls, __transaction_state), written through the ordinary append path and replayed at
 * start-up. Both topics are compacted (cleanup.policy=compact, as Kafka creates them): the log
 * cleaner keeps the latest record of every key and drops tombstones after delete.retention.ms,
 * so the coordinators only have to write a tombstone wherever a key stops being live. Replay
 * applies every record from the log start in log order; because each record's effect depends
 * only on its own key's latest value, a cleaned log (any subsequence that keeps each key's last
 * record, and its tombstone until every older record of the key is gone) replays to the same
 * state. Logs written by earlier versions, which bounded the topics by appending the live
 * records again and moving the log start past older segments, replay the same way.
 * See docs/internals/groups.md.
 */
#ifndef RN_GROUP_PERSIST_H
#define RN_GROUP_PERSIST_H

#include <stdint.h>

#include "group/group.h"
#include "group/parts.h"
#include "group/records.h"

struct rn_partition;
struct rn_append_info;

/* One record of a replay; val NULL (vlen -1) is a tombstone. Returns 0, or a negative value if
 * the record was skipped (logged at debug level, replay goes on). */
typedef int (*rn_gc_log_apply_fn)(void *arg, const uint8_t *key, int32_t klen, const uint8_t *val,
				  int32_t vlen);

/* Calls apply for every record of p's non-control batches from its log start to its high
 * watermark, in log order. *nrecords gets the number of records read. Returns 0 or a negative
 * error (RN_EOFFLINE, -errno). The views passed to apply are valid during the call only. */
int rn_gc_log_replay(struct rn_partition *p, rn_gc_log_apply_fn apply, void *arg,
		     int64_t *nrecords);

/* What a replay reports of transactions (the group coordinator's transactional offset
 * commits, a cluster's TxnOffsetCommit): */
struct rn_gc_log_txn {
	/* A record of a transactional data batch of producer pid (instead of apply). */
	int (*apply)(void *arg, int64_t pid, const uint8_t *key, int32_t klen, const uint8_t *val,
		     int32_t vlen);
	/* Each transactional data batch, also one the cleaner emptied: its producer's epoch and
	 * the batch's last sequence. May be NULL. */
	void (*batch)(void *arg, int64_t pid, int16_t epoch, int32_t last_seq);
	/* A COMMIT (commit true) or ABORT marker of (pid, epoch). May be NULL. */
	void (*marker)(void *arg, int64_t pid, int16_t epoch, bool commit);
};

/* rn_gc_log_replay from offset from (the log start if below it; what is before it is not
 * reported) with txn's hooks (NULL: transactional records go to apply, markers are
 * skipped). A replicated partition (a cluster's leader) is read to its log end, as Kafka
 * loads coordinator state, any other to its high watermark. *next (optional) gets the offset
 * where the replay stopped. */
int rn_gc_log_replay_txn(struct rn_partition *p, int64_t from, rn_gc_log_apply_fn apply,
			 const struct rn_gc_log_txn *txn, void *arg, int64_t *nrecords,
			 int64_t *next);

/* rn_gc_log_replay into a group coordinator (rn_gc_apply), transactional offset commits
 * included (rn_gc_apply_txn, completed by their markers). */
int rn_gc_replay(struct rn_gc *gc, struct rn_partition *p, int64_t now, int64_t *nrecords);
/* The same from offset from, noting in seqs (optional) where each producer's sequence is. */
int rn_gc_replay_from(struct rn_gc *gc, struct rn_partition *p, int64_t from, int64_t now,
		      struct rn_gc_pseqs *seqs, int64_t *nrecords, int64_t *next);

/* Appends recs to p as uncompressed batches. Returns 0 or rn_partition_append's error. */
int rn_gc_write(struct rn_partition *p, const struct rn_gc_rec *recs, int n, int64_t now,
		struct rn_append_info *ai);

#endif
