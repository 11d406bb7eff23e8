/*
 * A partition's log: a directory `<topic>-<partition>/` of segments named by their 20-digit base
 * offset (.log record batches exactly as on the wire, .index sparse offset index, .timeindex),
 * plus the partition's offsets:
 *
 *   log start offset <= recovery point <= high watermark <= log end offset
 *
 * On one node the high watermark equals the log end offset; replication will hold it back until
 * followers catch up, which is why it is tracked separately from day one, as is the leader epoch.
 *
 * Threads: every function may be called from any thread; a per-partition mutex guards the
 * offsets and the active segment. It is held only for offset assignment, one write(2) into the
 * page cache and the index update: never across fsync, allocation-heavy work or waits.
 *
 * Memory: an idle partition keeps no file descriptors and no mappings; they are opened on first
 * use, so 10,000 idle partitions cost a few KiB each.
 */
#ifndef RN_STORAGE_PARTITION_H
#define RN_STORAGE_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/iochain.h"
#include "storage/log_config.h"
#include "storage/record_errors.h"

struct rn_partition;

/* Opens (creating the directory if create is true) the partition log in dir. Recovery runs
 * here: segments beyond recovery_point (from the log dir's checkpoint; -1 = unknown, scan the
 * whole active segment) are validated batch by batch and the first torn or corrupt batch and
 * everything after it is truncated; a missing or damaged index is rebuilt. The caller owns
 * *out and releases it with rn_partition_close. Returns 0, -ENOENT (absent, create false),
 * -errno. */
int rn_partition_open(const char *dir, const struct rn_log_config *cfg, int64_t recovery_point,
		      int64_t log_start_offset, bool create, struct rn_partition **out);
/* Flushes, closes files (in-flight sendfile readers keep their segment alive through their
 * rn_fileref) and frees. */
void rn_partition_close(struct rn_partition *p);
/* Closes and removes the partition's directory and files. */
int rn_partition_delete(struct rn_partition *p);
/* Applies new settings (topic config change); takes effect from the next append/maintenance. */
void rn_partition_set_config(struct rn_partition *p, const struct rn_log_config *cfg);
/* Copies the partition's current settings (as sanitized) into *out. */
void rn_partition_get_config(struct rn_partition *p, struct rn_log_config *out);

struct rn_append_info {
	int64_t base_offset;     /* offset given to the first record */
	int64_t last_offset;     /* offset of the last record */
	int64_t log_append_time; /* broker time if the log uses LogAppendTime, else -1 */
	int64_t log_start_offset;
	int32_t nbatches;
	int64_t nrecords;
	bool needs_flush; /* flush_messages reached: ack only after rn_flusher covers it */
	bool duplicate;   /* an idempotent retry: offsets are the original's, nothing written */
	/* On a refused append: the records at fault, if the validator knows (Produce v8+).
	 * The caller zeroes it before the call; rn_partition_append only adds. */
	struct rn_record_errors record_errors;
};

/* Appends the record batches in buf[0..len) (a Produce request's records, magic 2). Every
 * batch is validated first (length, magic, CRC32C, last offset delta vs record count, size vs
 * max_message_bytes); if any fails nothing is written. The broker then assigns offsets (base
 * offset field) and the leader epoch in place, and for LogAppendTime logs sets the timestamp
 * type and max timestamp and recomputes the CRC. All batches go to the page cache in one write.
 * buf is modified in place.
 * A batch with a producer id (idempotent producer) must come alone (RN_EINVALID otherwise) and
 * passes the sequence check of storage/producer_state.h atomically with its append: an exact
 * retry of one of the producer's last 5 batches returns 0 with info->duplicate set and the
 * original's offsets, writing nothing. Returns 0, RN_ECORRUPT, RN_ETOOLARGE, RN_EUNSUPPORTED
 * (magic 0/1), RN_EINVALID, RN_EOUTOFORDER, RN_EPRODUCER_EPOCH, RN_EOFFLINE, -ENOSPC, -EIO. */
int rn_partition_append(struct rn_partition *p, uint8_t *buf, size_t len,
			struct rn_append_info *info);

struct rn_read_info {
	struct rn_fileref *file; /* NULL when len == 0; else a reference the caller must put */
	uint64_t pos;            /* byte position in that file of the first batch */
	uint64_t len;            /* whole batches only */
	int64_t next_offset;     /* offset after the last returned batch (= offset if none) */
	int64_t high_watermark;
	int64_t last_stable_offset;
	int64_t log_start_offset;
};

/* Locates whole batches starting with the batch that contains offset, up to max_bytes; if
 * min_one, the first batch is returned even when larger than max_bytes (KIP-74). Reads stop at
 * the end of one segment (the next fetch continues in the next). Never reads the log into
 * memory: it finds the position with the sparse index and a scan of batch headers. Returns 0
 * (len may be 0 at the high watermark), RN_ERANGE (offset < log start or > high watermark;
 * for a replicated partition > log end: offsets between a lagging high watermark and the log
 * end answer no data, as Kafka's), RN_EOFFLINE, -errno. */
int rn_partition_read(struct rn_partition *p, int64_t offset, uint32_t max_bytes, bool min_one,
		      struct rn_read_info *ri);

/* The same for a read_committed consumer: no data at or above the last stable offset (the
 * first offset of the oldest open transaction, or the high watermark). Offsets between it and
 * the high watermark are valid and answer no data. */
int rn_partition_read_committed(struct rn_partition *p, int64_t offset, uint32_t max_bytes,
				bool min_one, struct rn_read_info *ri);

/* Transactions. A transactional batch (attribute bit 4, with a producer id) opens its
 * producer's transaction in the partition; the control batch written by
 * rn_partition_append_marker closes it. An aborted transaction is remembered (Kafka's
 * .txnindex, one file per segment) as: */
struct rn_aborted_txn {
	int64_t pid;
	int64_t first_offset; /* its first batch in this partition */
	int64_t last_offset;  /* its ABORT marker */
	int64_t lso;          /* the last stable offset right after the marker */
};

/* Appends a COMMIT (commit true) or ABORT control batch for (pid, epoch): attributes
 * transactional|control, base sequence -1, one record with key (i16 0, i16 type) and value
 * (i16 0, i32 coordinator_epoch), as Kafka's EndTransactionMarker. The marker's epoch becomes
 * the producer's epoch in this partition, fencing older ones. info as for rn_partition_append
 * (needs_flush follows the partition's flush policy). Returns 0 or an append error. */
int rn_partition_append_marker(struct rn_partition *p, int64_t pid, int16_t epoch, bool commit,
			       int32_t coordinator_epoch, struct rn_append_info *info);

/* Last stable offset: the first offset of the oldest open transaction, else the high
 * watermark. */
int64_t rn_partition_last_stable(struct rn_partition *p);

struct rn_arena;
/* The aborted transactions a read_committed fetch of [from, upto) must report: those whose
 * ABORT marker is at or after from and whose first offset is below upto, oldest first. *out is
 * allocated from arena a (NULL when none). Returns their count. */
int rn_partition_aborted_txns(struct rn_partition *p, int64_t from, int64_t upto,
			      struct rn_aborted_txn **out, struct rn_arena *a);

/* ListOffsets by time (KIP-79): the offset and timestamp of the first record whose timestamp is
 * >= ts (for LogAppendTime batches every record has the batch's max timestamp), found through
 * the time index and a read of the batch holding it, decompressed if needed. A batch whose
 * records cannot be decoded answers with its base offset and max timestamp. Returns 0 with
 * *offset = -1 and *timestamp = -1 if none, RN_EOFFLINE, -errno. */
int rn_partition_offset_for_time(struct rn_partition *p, int64_t ts, int64_t *offset,
				 int64_t *timestamp);

struct rn_offset_found {
	int64_t offset, timestamp;
	int32_t leader_epoch; /* of the batch holding the record; -1 if none or unknown */
};
/* The same, with the found batch's leader epoch (ListOffsets v4+ answers it). */
int rn_partition_find_offset(struct rn_partition *p, int64_t ts, struct rn_offset_found *f);
/* ListOffsets -3 (KIP-734): the first record with the largest timestamp in the log (as Kafka
 * 3.8+; 3.7 answered the last offset of its batch). -1/-1 for an empty log. */
int rn_partition_find_max_timestamp(struct rn_partition *p, struct rn_offset_found *f);
/* ListOffsets v0 (Kafka's legacyFetchOffsetsBefore): candidates are each segment's base
 * (at least the log start) with the segment file's mtime, then the log end with now when the
 * active segment holds data. ts -1 starts at the last candidate, -2 (or -4) at the first,
 * else at the last one modified at or before ts; from there up to max_num offsets,
 * descending. *out is allocated from arena a. Returns the count (0 if none qualify). */
int rn_partition_legacy_offsets(struct rn_partition *p, int64_t ts, int32_t max_num, int64_t **out,
				struct rn_arena *a);

int64_t rn_partition_log_start(struct rn_partition *p);
int64_t rn_partition_log_end(struct rn_partition *p);
int64_t rn_partition_high_watermark(struct rn_partition *p);
int64_t rn_partition_recovery_point(struct rn_partition *p);
/* Leader epochs (leader_epoch.c keeps Kafka's leader-epoch cache: each epoch's start offset).
 * The current epoch is written into every appended batch. */
int32_t rn_partition_leader_epoch(struct rn_partition *p);
/* Makes epoch (>= 0) current from the log end on and writes the leader-epoch-checkpoint now
 * (Kafka's makeLeader). Returns 0, RN_EINVALID, -errno. */
int rn_partition_set_leader_epoch(struct rn_partition *p, int32_t epoch);
/* A new leadership, as a controller's election gives one on every broker start: epoch 0 for a
 * partition that never had data or an epoch, else one above the highest known. The checkpoint
 * is written by the next maintenance pass or close, not here (10,000 partitions open in well
 * under a second); losing it in a crash only lets the next start reuse a number that no
 * batch carries. Returns the new epoch. */
int32_t rn_partition_become_leader(struct rn_partition *p);
/* OffsetForLeaderEpoch, as Kafka's LeaderEpochFileCache.endOffsetFor: for the current epoch
 * the log end; for an older one the largest known epoch <= it and the start offset of the next
 * higher epoch; below every known epoch the requested epoch and the first known start; -1/-1
 * for epoch -1, an epoch above every known one, or an empty cache. */
void rn_partition_epoch_end_offset(struct rn_partition *p, int32_t epoch, int32_t *found_epoch,
				   int64_t *end_offset);
/* The epoch of the first entry if it covers the log start (ListOffsets earliest), else -1. */
int32_t rn_partition_earliest_epoch(struct rn_partition *p);
/* Bytes on disk over all segments, and bytes written but not yet fdatasync'ed. */
uint64_t rn_partition_size_bytes(struct rn_partition *p);
uint64_t rn_partition_unflushed_bytes(struct rn_partition *p);
bool rn_partition_offline(struct rn_partition *p);

/* fdatasyncs every segment written since the last flush and advances the recovery point. On
 * failure the partition goes offline (LMDB poisons its env): later appends fail RN_EOFFLINE. */
int rn_partition_flush(struct rn_partition *p);

/* Periodic housekeeping, from a timer: rolls the active segment when older than roll_ms,
 * deletes whole segments past retention_ms / retention_bytes (never the active one), advances
 * the log start offset, flushes when flush_ms has elapsed. */
int rn_partition_maintain(struct rn_partition *p, int64_t now_ms);

/* Moves the log start offset up to offset (at most the high watermark; never down) and deletes
 * the whole segments below it, never the active one (DeleteRecords; snapshots of internal
 * topics). Reads below the new start answer RN_ERANGE. Returns 0 or RN_EOFFLINE. */
int rn_partition_advance_log_start(struct rn_partition *p, int64_t offset);
/* DeleteRecords as Kafka's Partition.deleteRecordsOnLeader: offset -1 means the high
 * watermark; an offset below 0 or above the high watermark is RN_ERANGE; an offset at or below
 * the log start changes nothing. *low_watermark is the log start afterwards (-1 on error).
 * Never blocks on I/O: the segments wholly below the new start are deleted by the next
 * rn_partition_maintain. Durability is the caller's: the log dir's checkpoint
 * (rn_logdir_checkpoint). Returns 0, RN_ERANGE, RN_EOFFLINE. */
int rn_partition_delete_records(struct rn_partition *p, int64_t offset, int64_t *low_watermark);

/* Long-poll waiters: after every append the partition calls cb(arg) of each registered waiter
 * (outside its lock, from the appending thread; cb typically rn_loop_post's to its own loop).
 * A waiter stays registered until rn_partition_unwait. cb runs under the waiter-list mutex, so
 * it must not call rn_partition_wait/unwait itself (post, then unwait from the loop). Register
 * first, then re-check the high watermark: an append racing with the registration may not
 * call cb. rn_partition_unwait of a waiter that is not registered is a no-op if its next field
 * is NULL (zero-initialise waiters). */
struct rn_partition_waiter {
	struct rn_partition_waiter *prev, *next;
	void (*cb)(void *arg);
	void *arg;
};
void rn_partition_wait(struct rn_partition *p, struct rn_partition_waiter *w);
void rn_partition_unwait(struct rn_partition *p, struct rn_partition_waiter *w);

/*
 * Replication (the replica/ room drives these; storage knows nothing of the network).
 * A replicated partition keeps its high watermark apart from its log end: the leader moves it
 * to what every in-sync replica has, a follower to min(leader's, own log end). Consumers read
 * below it only (rn_partition_read, _read_committed, the LSO); followers read to the log end.
 * A partition that is not replicated (the single broker) keeps HW == log end, as before.
 * The high watermark of replicated partitions survives restarts through the log dir's
 * replication-offset-checkpoint (Kafka's name), written with the recovery points.
 */
/* Switches HW tracking: on, HW stays where it is and moves only by set_high_watermark; off,
 * HW jumps to the log end and follows it. The first switch on after open starts HW at the
 * log dir's replication-offset-checkpoint entry, clamped to [log start, log end] (the log
 * start when there is none): a restarted broker must not expose what may not be replicated.
 * Retention and the cleaner stay below HW while replicated. */
void rn_partition_set_replicated(struct rn_partition *p, bool replicated);
bool rn_partition_replicated(struct rn_partition *p);
/* Moves HW to hw, clamped to [log start, log end]; it never moves down except through
 * truncation. Wakes the partition's waiters when it moved. Returns the HW now in force. */
int64_t rn_partition_set_high_watermark(struct rn_partition *p, int64_t hw);
/* A follower's append of batches exactly as its leader stored them (offsets, leader epochs,
 * producer ids, timestamps kept): the first batch's base offset must be the log end and the
 * batches contiguous (else RN_ERANGE, nothing written; on a compacted log, where the leader's
 * cleaner removed whole batches, gaps forward are accepted, as Kafka does; an empty log
 * whose first batch straddles its log end restarts at that batch's base, as Kafka's follower
 * does when the leader's log start is inside a batch); a partial batch
 * at the end of buf (fetch responses may cut one) is ignored and not counted in *used; CRCs
 * are checked (RN_ECORRUPT, nothing written). Producer state, transaction state (open and
 * aborted transactions, markers) and the leader-epoch cache are updated from the batches as
 * the leader's were, so a follower can become leader with the same idempotence and
 * transaction state. info as rn_partition_append (duplicate never set; base_offset/last_offset
 * -1 when nothing was used). If a write fails after earlier segments' worth were written,
 * those stay: 0 with *used covering them. Returns 0 or an append error. */
int rn_partition_append_replica(struct rn_partition *p, const uint8_t *buf, size_t len,
				size_t *used, struct rn_append_info *info);
/* Removes every record at or above offset (a follower diverged from its new leader): whole
 * segments above it are deleted, the one holding it is cut at the batch boundary (offset must
 * be a batch start or the log end; otherwise the batch holding it goes too), indexes, producer
 * state, transaction state and the leader-epoch cache (entries at or after offset) follow. HW
 * and recovery point are lowered to offset if above. Crash-safe: a crash leaves the log either
 * truncated or not, never torn (recovery would cut a torn tail anyway). Returns 0, RN_EOFFLINE,
 * -errno. Details (storage.md, "Replication"): the new log end is offset, or the base of the
 * batch offset falls inside; offset at or above the log end only truncates the epoch cache
 * from the end; below the first segment it empties the log as truncate_fully; the log start
 * is lowered to the new end if above (Kafka's min(target, log start)); an I/O failure takes
 * the partition offline (the next open recovers a prefix of the old log); RN_EINVALID for
 * offset < 0. Blocks on fsyncs and on a clean in progress of p. */
int rn_partition_truncate_to(struct rn_partition *p, int64_t offset);
/* Empties the log and restarts it at offset (a follower far behind a leader whose log start
 * is above its log end, Kafka's truncateFullyAndStartAt): log start, log end, HW and recovery
 * point become offset; the epoch cache, producer and transaction state are cleared. Returns
 * as rn_partition_truncate_to. */
int rn_partition_truncate_fully(struct rn_partition *p, int64_t offset);
/* rn_partition_read up to the log end instead of HW: a follower's fetch. */
int rn_partition_read_replica(struct rn_partition *p, int64_t offset, uint32_t max_bytes,
			      bool min_one, struct rn_read_info *ri);
/* The last epoch in the leader-epoch cache and its start offset (-1/-1 when empty): what a
 * follower asks its leader about with OffsetForLeaderEpoch. */
void rn_partition_latest_epoch(struct rn_partition *p, int32_t *epoch, int64_t *start_offset);

#endif
