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
 * Transactions: an entry also holds the first offset of the producer's open transaction in this
 * partition (a transactional batch opens it, the COMMIT/ABORT control batch written by the
 * transaction coordinator closes it). The open transactions are kept in a second array sorted
 * by first offset, so the last stable offset (the first offset of the oldest open transaction)
 * is its first element. Entries with an open transaction never expire, as in Kafka.
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
	int64_t last_ms;   /* broker wall time of the last append, for expiry */
	int64_t txn_first; /* first offset of the open transaction, -1: none */
	struct rn_ps_batch b[RN_PS_CACHED_BATCHES];
};

/* An open transaction (pid, first offset), in the producer state's array sorted by offset. */
struct rn_ps_open {
	int64_t pid;
	int64_t first;
};

struct rn_producer_state {
	struct rn_ps_entry *tab; /* NULL until the first producer */
	uint32_t cap, n;
	int64_t next_expiry_ms;  /* no entry can expire before this */
	struct rn_ps_open *open; /* open transactions, ascending first offset */
	uint32_t nopen, opencap;
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

/* A transactional batch of e's producer was appended at offset: opens its transaction unless
 * one is open already. */
void rn_ps_txn_begin(struct rn_producer_state *ps, struct rn_ps_entry *e, int64_t offset);

/* A COMMIT/ABORT marker of (pid, epoch) was appended: creates the entry if needed (a marker may
 * reach a partition the producer never wrote to), adopts a newer epoch (the coordinator fences
 * with the marker's epoch: older batches get RN_EPRODUCER_EPOCH afterwards) and closes the open
 * transaction. Returns its first offset, or -1 if none was open. */
int64_t rn_ps_txn_end(struct rn_producer_state *ps, int64_t pid, int16_t epoch, int64_t now_ms);

/* First offset of the oldest open transaction, or -1. */
static inline int64_t rn_ps_first_open(const struct rn_producer_state *ps)
{
	return ps->nopen ? ps->open[0].first : -1;
}

/* Removes producers whose last append is older than now_ms - expiration_ms. Cheap when nothing
 * can have expired yet. Returns the number removed. */
int rn_ps_expire(struct rn_producer_state *ps, int64_t now_ms, int64_t expiration_ms);

/*
 * Snapshot encoding (a partition's `<offset>.snapshot` file), big-endian:
 *
 *   0       4         6        8        12       16
 *   +-------+---------+--------+--------+--------+------------------------------------+
 *   |"RNPS" |version 2|reserved|CRC32C  |count   | count entries                      |
 *   +-------+---------+--------+--------+--------+------------------------------------+
 *   entry: pid i64, epoch i16, nbatches u8, reserved u8, last_ms i64,
 *          txn first offset i64 (-1: none; absent in version 1),
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
