/*
 * Per-partition state of idempotent producers (Kafka's ProducerStateManager/ProducerStateEntry):
 * for every producer id seen in a partition, its epoch and the sequence/offset ranges of its
 * last 5 batches, so an exact retry of one of them is answered with its original offsets
 * instead of being written twice, and a gap is refused.
 *
 * Rules (protocol.md §2.5, Kafka's ProducerAppendInfo), for a batch (pid, epoch, first seq,
 * last seq = first + LastOffsetDelta, wrapping INT32_MAX -> 0):
 *   no entry for pid (new, or expired)          -> append, any sequence
 *   epoch < entry epoch                         -> RN_EPRODUCER_EPOCH (INVALID_PRODUCER_EPOCH)
 *   epoch > entry epoch                         -> append if first seq == 0 (librdkafka bumps
 *                                                  epochs locally), else RN_EOUTOFORDER
 *   same epoch, (first, last) of a cached batch -> RN_EDUPLICATE with that batch's offsets
 *   same epoch, first == last cached + 1        -> append
 *   otherwise                                   -> RN_EOUTOFORDER (OUT_OF_ORDER_SEQUENCE_NUMBER),
 *                                                  also for a retry older than the cache
 *
 * The table is open addressing keyed by pid: one probe sequence per batch, no allocation except
 * when a new pid arrives and the table must grow. Not thread-safe: the partition calls it under
 * p->lock, atomically with the append it guards.
 *
 * Transactions will extend an entry with the first offset of its open transaction and the
 * coordinator epoch; the snapshot format carries a version for that.
 */
#ifndef RN_STORAGE_PRODUCER_STATE_H
#define RN_STORAGE_PRODUCER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define RN_PS_CACHED_BATCHES 5

struct rn_ps_batch {
	int32_t first_seq, last_seq;
	int64_t first_offset, last_offset;
};

struct rn_ps_entry {
	int64_t pid; /* -1: free slot */
	int16_t epoch;
	uint8_t nbatches; /* cached batches, oldest at head */
	uint8_t head;
	int64_t last_ms; /* broker wall time of the last append, for expiry */
	struct rn_ps_batch b[RN_PS_CACHED_BATCHES];
};

struct rn_producer_state {
	struct rn_ps_entry *tab; /* NULL until the first producer */
	uint32_t cap, n;
	int64_t next_expiry_ms; /* no entry can expire before this */
};

/* The last sequence of a batch: first + last offset delta, wrapping past INT32_MAX to 0. */
int32_t rn_ps_last_seq(int32_t first_seq, int32_t last_offset_delta);

void rn_ps_init(struct rn_producer_state *ps);
void rn_ps_free(struct rn_producer_state *ps);

/* The entry of pid, or NULL. Valid until the next rn_ps_record of a new pid, rn_ps_expire or
 * rn_ps_free. */
struct rn_ps_entry *rn_ps_find(struct rn_producer_state *ps, int64_t pid);

/* Checks a batch against e (rn_ps_find's result, NULL for none) by the rules above. Returns 0
 * (append), RN_EDUPLICATE with *dup set to the original batch, RN_EOUTOFORDER or
 * RN_EPRODUCER_EPOCH. */
int rn_ps_check(const struct rn_ps_entry *e, int16_t epoch, int32_t first_seq, int32_t last_seq,
		struct rn_ps_batch *dup);

/* Records an appended batch: e is rn_ps_find's result for pid (NULL creates the entry, growing
 * the table). A new epoch forgets the cached batches of the old one. */
void rn_ps_record(struct rn_producer_state *ps, struct rn_ps_entry *e, int64_t pid, int16_t epoch,
		  const struct rn_ps_batch *b, int64_t now_ms);

/* Removes producers whose last append is older than now_ms - expiration_ms. Cheap when nothing
 * can have expired yet. Returns the number removed. */
int rn_ps_expire(struct rn_producer_state *ps, int64_t now_ms, int64_t expiration_ms);

/*
 * Snapshot encoding (a partition's `<offset>.snapshot` file), big-endian:
 *
 *   0       4         6        8        12       16
 *   +-------+---------+--------+--------+--------+------------------------------------+
 *   |"RNPS" |version 1|reserved|CRC32C  |count   | count entries                      |
 *   +-------+---------+--------+--------+--------+------------------------------------+
 *   entry: pid i64, epoch i16, nbatches u8, reserved u8, last_ms i64,
 *          nbatches x (first seq i32, last seq i32, first offset i64, last offset i64),
 *          oldest batch first
 *
 * The CRC covers bytes 12..end, so a torn or half-written file is recognised.
 */
void rn_ps_encode(const struct rn_producer_state *ps, struct rn_buf *out);
/* Replaces ps's content with the snapshot in p[0..len), skipping producers already expired at
 * now_ms. Returns 0 or RN_ECORRUPT (ps is then empty). */
int rn_ps_decode(struct rn_producer_state *ps, const uint8_t *p, size_t len, int64_t now_ms,
		 int64_t expiration_ms);

#endif
