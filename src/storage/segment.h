/*
 * Storage internals shared by the files of src/storage/ (not part of the module's interface).
 *
 * A partition directory:
 *
 *   <topic>-<partition>/
 *     00000000000000000000.log        record batches as on the wire, offsets assigned
 *     00000000000000000000.index      sparse: every index_interval_bytes of log, one entry
 *                                     [rel offset u32 BE][position u32 BE]  (8 bytes)
 *     00000000000000000000.timeindex  [max timestamp so far i64 BE][rel offset u32 BE] (12)
 *     00000000000000004711.log        next segment, named by its base offset
 *     ...
 *     leader-epoch-checkpoint         "0\n<count>\n<epoch> <start offset>\n..."
 *
 * Index entries point at batch starts, never at position 0 (the implicit first entry), so an
 * all-zero offset index entry means "unused" (preallocated space after a crash). A time index
 * entry is added together with an offset index entry when the maximum timestamp grew, and holds
 * the base offset of the batch where that maximum first appeared; a final one is added when the
 * segment becomes inactive (as Kafka does).
 *
 * Locks, always taken in this order:
 *   p->lock    append state: offsets, the active segment's tail, counters, dirty flags;
 *   p->seglock rwlock over the segment array: readers share it, roll/retention/close take it
 *              exclusively (so a reader never sees a segment freed or an index unmapped);
 *   p->lazy    opening of segment files and index mappings on first use.
 */
#ifndef RN_STORAGE_SEGMENT_H
#define RN_STORAGE_SEGMENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/iochain.h"
#include "core/metrics.h"
#include "proto/record_batch.h"
#include "storage/log_config.h"
#include "storage/partition.h"
#include "storage/producer_state.h"

#define RN_OIDX_ENTRY 8
#define RN_TIDX_ENTRY 12

enum rn__idx_state { RN_IDX_UNLOADED, RN_IDX_RO, RN_IDX_RW };

struct rn__index {
	uint8_t *map;       /* NULL when unloaded or empty */
	size_t map_bytes;   /* mapped length */
	_Atomic uint32_t n; /* valid entries; readers load it, the appender publishes */
	uint32_t cap;       /* entries that fit in the mapping */
	size_t alloc_bytes; /* RW: file prefix with allocated blocks (rn__index_reserve) */
};

struct rn_segment {
	int64_t base;
	_Atomic uint64_t size;   /* committed bytes of whole batches */
	struct rn_fileref *file; /* NULL until first use; guarded by p->lazy */
	bool writable;           /* file opened read-write (active segment) */
	enum rn__idx_state idx_state;
	struct rn__index oidx, tidx;
	/* Append state (active segment, under p->lock). */
	uint64_t bytes_since_index;
	_Atomic int64_t max_ts;  /* INT64_MIN = not known yet, -1 = no batch */
	int64_t max_ts_off;      /* absolute base offset of the batch where max_ts appeared */
	int64_t end_offset;      /* offset after its last batch */
	int64_t created_ms;      /* wall time of its first batch (or of opening it), for roll_ms */
	bool dirty;              /* written since the last fdatasync */
	_Atomic int64_t used_ms; /* wall time of the last append or read (idle closing) */
};

struct rn__epoch_entry {
	int32_t epoch;
	int64_t start; /* offset of the epoch's first record */
};

struct rn_partition {
	pthread_mutex_t lock;
	pthread_rwlock_t seglock;
	pthread_mutex_t lazy;
	pthread_mutex_t wlock; /* waiter list */
	char *dir;
	struct rn_log_config cfg;
	struct rn_segment **segs; /* sorted by base offset; the last one is active */
	int nsegs, segcap;
	_Atomic int64_t log_start;
	_Atomic int64_t log_end;
	_Atomic int64_t hwm;
	_Atomic int64_t recovery_point;
	_Atomic int32_t leader_epoch;
	_Atomic uint64_t total_bytes;   /* over all segments */
	_Atomic uint64_t written_bytes; /* appended in this process */
	_Atomic uint64_t flushed_bytes; /* of which known fdatasync'ed */
	int64_t unflushed_msgs;
	int64_t last_flush_ms;
	_Atomic bool offline;
	_Atomic int32_t max_message_bytes; /* copies of cfg fields read outside p->lock */
	_Atomic bool log_append_time;
	_Atomic int nwaiters;
	_Atomic int nopen;   /* segments with an open file (a hint for idle closing) */
	int64_t sync_target; /* rn__partition_sync_prepare snapshot */
	uint64_t sync_written;
	bool dir_dirty; /* a segment file was created or deleted since the last flush */
	struct rn_partition_waiter waiters; /* list head */
	/* Idempotent producers, under p->lock (producer_state.h, producer_log.c). */
	struct rn_producer_state ps;
	bool had_producers; /* ps was not empty at some point in this run (want_snapshot) */
	int64_t *snaps;     /* offsets of the <offset>.snapshot files on disk, ascending */
	int nsnaps, snapcap;
	/* Transactions (txn_index.c), under p->lock; first_unstable is also read without it. */
	_Atomic int64_t first_unstable; /* first offset of the oldest open transaction, -1: none */
	struct rn_aborted_txn *aborted; /* ascending last offset (the ABORT marker's) */
	uint32_t naborted, abortedcap;
	_Atomic bool has_aborted; /* naborted > 0: a read_committed fetch must look */
	int64_t *txnfiles;        /* bases of segments with a .txnindex file, ascending */
	int ntxnfiles, txnfilecap;
	/* Leader-epoch cache (leader_epoch.c), under p->lock. */
	struct rn__epoch_entry *epochs; /* ascending in epoch and start */
	int nepochs, epochcap;
	uint64_t epochs_gen;              /* bumped by every change */
	_Atomic uint64_t epochs_disk_gen; /* the generation in leader-epoch-checkpoint */
	bool epochs_bump_only;  /* the only change since then is a leadership without data */
	pthread_mutex_t ewlock; /* serialises checkpoint writes; taken after p->lock if both */
	/* Compaction (cleaner*.c). seg_gen (under p->lock) changes whenever segments leave the
	 * array (retention, log start, a swap), so a clean can tell that its segments are still
	 * there. clean_mu is held by whoever cleans p; close and delete set clean_abort and take
	 * it, so they wait for the clean to stop. */
	uint64_t seg_gen;
	pthread_mutex_t clean_mu;
	_Atomic bool clean_abort;
	_Atomic bool in_clean;    /* a cleaner thread picked p */
	_Atomic bool compact;     /* cfg.cleanup_compact, read by the append path */
	_Atomic bool uncleanable; /* a clean failed on bad data: skipped until restart */
	_Atomic int64_t clean_point;
	_Atomic int64_t horizon_ms; /* earliest delete horizon the last clean left (INT64_MAX) */
	/* Replication (replica_hw.c): while replicated, hwm moves only by
	 * rn_partition_set_high_watermark (and down by truncation), else it follows log_end.
	 * ckpt_hw is the log dir's replication-offset-checkpoint entry (-1: none), where the
	 * first switch to replicated in this run starts the high watermark. */
	_Atomic bool replicated;
	bool was_replicated; /* under p->lock */
	_Atomic int64_t ckpt_hw;
	/* Bumped by every truncation (under p->lock): a flush that snapshotted its target before
	 * one must not raise the recovery point over data that is gone (or rewritten since). */
	_Atomic uint64_t trunc_gen;
};

/* Paths: writes "<dir>/<20-digit base><ext>" into buf (PATH_MAX). */
void rn__seg_path(const struct rn_partition *p, int64_t base, const char *ext, char *buf);
/* The reverse, for a directory listing: the base of "<20 digits><ext><suffix>" (suffix "" for
 * a live file, ".swap" and the like for the cleaner's), or -1 for any other name. */
int64_t rn__seg_name_base(const char *name, const char *ext, const char *suffix);

struct rn_segment *rn__seg_new(int64_t base);
/* Opens the segment's .log (read-write and created for the active segment) and loads its
 * indexes (preallocated and mapped read-write for the active one). Takes p->lazy. */
int rn__seg_ensure_open(struct rn_partition *p, struct rn_segment *s, bool active);
/* Turns the active segment into an old one: final time index entry (if final_entry), index
 * files trimmed to their entries and unmapped. Caller holds p->lock and seglock exclusively. */
void rn__seg_deactivate(struct rn_partition *p, struct rn_segment *s, bool final_entry);
/* Closes the files of every segment unused since before now_ms - idle_ms: the .log fd (an
 * in-flight sendfile keeps its own reference) and the index mappings, the active segment's
 * trimmed as at shutdown. The next append or read reopens them (rn__seg_ensure_open). Takes
 * p->lock, seglock and p->lazy. */
void rn__close_idle(struct rn_partition *p, int64_t now_ms, int64_t idle_ms);
/* Makes sure the blocks under the first `entries` entries of the active segment's offset
 * index (or time index) exist, growing the allocation by chunks of up to 64 KiB, so that
 * writing them through the shared mapping cannot raise SIGBUS on a full file system. entries
 * must not exceed the index's cap. Caller holds p->lock, or seglock exclusively, with the
 * indexes mapped read-write. Returns 0, -ENOSPC, -EDQUOT, -errno. */
int rn__index_reserve(struct rn_partition *p, struct rn_segment *s, bool time, uint32_t entries);
/* Drops the segment's file reference and mappings and frees it (in-flight readers keep the
 * fd through their own references). */
void rn__seg_free(struct rn_segment *s);
/* Unlinks the segment's three files. */
void rn__seg_unlink(const struct rn_partition *p, int64_t base);
/* Creates an empty active segment file at base (the log end). Caller holds p->lock. */
int rn__seg_create(struct rn_partition *p, int64_t base, struct rn_segment **out);

/* Index entries (big-endian). */
static inline uint32_t rn__oidx_rel(const struct rn__index *x, uint32_t i);
static inline uint32_t rn__oidx_pos(const struct rn__index *x, uint32_t i);
/* Offset index: position of the last entry with rel offset <= rel (0 if none). */
uint64_t rn__oidx_lookup(const struct rn__index *x, uint32_t n, uint32_t rel);
/* Offset index: index of the last entry with position <= pos, or -1. */
int64_t rn__oidx_lookup_pos(const struct rn__index *x, uint32_t n, uint64_t pos);
/* Time index: rel offset of the last entry with timestamp < ts, or -1. */
int64_t rn__tidx_lookup(const struct rn__index *x, uint32_t n, int64_t ts);
void rn__oidx_append(struct rn__index *x, uint32_t rel, uint32_t pos);
void rn__tidx_append(struct rn__index *x, int64_t ts, uint32_t rel);
int64_t rn__tidx_last_ts(const struct rn__index *x, uint32_t n);

/* Mapping of an index file: RW preallocated to cap_bytes, or RO of its current size. Counts
 * the used entries (zero entries mark the unused tail) and validates them against the log:
 * returns 0, or RN_ECORRUPT when the file is missing or inconsistent (caller rebuilds). */
int rn__index_map(const char *path, int entry_size, bool rw, size_t cap_bytes, uint64_t log_size,
		  struct rn__index *x);
void rn__index_unmap(struct rn__index *x);
/* Keeps the first keep_bytes of an index file, writes entries after them and truncates the
 * file there (recovery, rebuilds, trimming). */
int rn__index_patch_file(const char *path, size_t keep_bytes, const uint8_t *entries, size_t bytes);

/* Header scanning (pread of 61 bytes). Returns 1 with the header, 0 at end, <0 error. */
int rn__read_header(int fd, uint64_t pos, uint64_t end, struct rn_batch_header *h);

/* Recovery and index rebuild (recovery.c). */
int rn__recover(struct rn_partition *p, int64_t recovery_point);
/* Rebuilds both index files of a non-active segment from a scan of its batch headers. */
int rn__seg_rebuild_index(struct rn_partition *p, struct rn_segment *s);
/* Loads the max timestamp of an old segment from its time index (or the .log mtime). */
int64_t rn__seg_max_ts(struct rn_partition *p, struct rn_segment *s);

/* Leader-epoch cache (leader_epoch.c). Callers hold p->lock or own p exclusively, except
 * epochs_flush, which takes it. load reads the checkpoint (a damaged one is ignored: the cache
 * starts empty); assign is Kafka's LeaderEpochFileCache.assign (returns whether it changed
 * anything); truncate_start/_end follow the log start and a truncated log end; write_locked
 * writes a changed checkpoint (fsync'ed if sync) and epochs_flush does so outside the lock
 * (maintenance). Neither writes a change that is only a leadership no batch has used yet
 * (10,000 partitions opened must not mean 10,000 file writes). */
int rn__epochs_load(struct rn_partition *p);
bool rn__epochs_assign(struct rn_partition *p, int32_t epoch, int64_t start);
void rn__epochs_truncate_start(struct rn_partition *p, int64_t log_start);
void rn__epochs_truncate_end(struct rn_partition *p, int64_t end);
int rn__epochs_write_locked(struct rn_partition *p, bool sync);
int rn__epochs_flush(struct rn_partition *p);
/* Atomic file replacement: tmp, fsync, rename, fsync dir (the _sync variant skips both fsyncs
 * when sync is false, for a caller that runs syncfs afterwards). */
int rn__ckpt_write(const char *dir, const char *name, const char *data, size_t len);
int rn__ckpt_write_sync(const char *dir, const char *name, const char *data, size_t len, bool sync);
/* Reads a whole small file into a NUL-terminated buffer the caller frees. */
int rn__file_read(const char *path, char **out, size_t *len);

/* Producer snapshots (producer_log.c). add_snapshot records a file found on disk; snapshot
 * writes the state as <off>.snapshot (fsync'ed if sync) and keeps the two newest; load (at
 * open, after recovery) reads the newest valid snapshot <= log_end and replays the idempotent
 * batch headers after it. Callers hold p->lock or own p exclusively. */
void rn__ps_add_snapshot(struct rn_partition *p, int64_t off);
int rn__ps_snapshot(struct rn_partition *p, int64_t off, bool sync);
int rn__ps_load(struct rn_partition *p, int64_t log_end);
/* After a truncation to log_end: drops the snapshots above it and rebuilds the producer and
 * transaction state from the newest remaining one (or the whole log). */
int rn__ps_reload(struct rn_partition *p, int64_t log_end);

/* Transactions (txn_index.c). add_txnfile records a .txnindex found on disk; txn_load (at open,
 * from rn__ps_load) reads them, keeping the entries below `from`, the offset the producer
 * state replay starts at (the replay re-creates the later ones through txn_marker); txn_marker
 * applies an appended COMMIT/ABORT control batch (closes the producer's transaction, records
 * an abort in the index and, if write_file, in the segment's .txnindex); txn_flush_files
 * rewrites the .txnindex files of the segments holding markers at or above from. Callers hold
 * p->lock or own p exclusively. */
void rn__txn_add_file(struct rn_partition *p, int64_t base);
/* A transactional batch of pid was appended at offset: opens its transaction (caller holds
 * p->lock, after rn_ps_record). */
void rn__txn_begin(struct rn_partition *p, int64_t pid, int64_t offset);
/* Builds a marker control batch into buf (>= RN_BATCH_HEADER_SIZE + 32 bytes); returns its
 * size. */
size_t rn__marker_build(uint8_t *buf, int64_t pid, int16_t epoch, bool commit,
			int32_t coordinator_epoch, int64_t now_ms);
int rn__txn_load(struct rn_partition *p, int64_t from);
void rn__txn_marker(struct rn_partition *p, int64_t pid, int16_t epoch, bool commit, int64_t offset,
		    bool write_file, int64_t now_ms);
void rn__txn_flush_files(struct rn_partition *p, int64_t from);
void rn__txn_free(struct rn_partition *p);
/* In aborted[0..n), ascending by last_offset: the first entry whose ABORT marker is at or
 * after offset (n if none). A transaction holding offset has its marker there or later, so
 * read_committed fetches and the cleaner start their scans here. */
uint32_t rn__aborted_from(const struct rn_aborted_txn *aborted, uint32_t n, int64_t offset);
/* The type of the control batch at buf[0..len) (the whole batch, or at least its first
 * record): 1 COMMIT, 0 ABORT, <0 not a marker. */
int rn__control_type(const uint8_t *buf, size_t len);

/* Compaction (cleaner_swap.c): completes or discards a swap that a crash interrupted, before
 * the directory is listed (rn_partition_open). Returns 0 or -errno. */
int rn__cleaner_recover_dir(const char *dir);
/* Under the log dir's lock: the open partition with the highest score(p, arg) >= 0, with its
 * clean_mu taken (trylock) and in_clean set; NULL if none (logdir.c). */
struct rn_logdir;
struct rn_partition *rn__logdir_claim(struct rn_logdir *d,
				      double (*score)(struct rn_partition *p, void *arg),
				      void *arg);
/* Sets the clean point loaded from the cleaner-offset-checkpoint (logdir.c). */
void rn__partition_set_clean_point(struct rn_partition *p, int64_t off);

/* Rolls: the active segment becomes old, a new empty one starts at the log end. Caller holds
 * p->lock (append.c). */
int rn__roll(struct rn_partition *p, int64_t now_ms);
/* Appends s to the segment array (growing it). */
void rn__push_seg(struct rn_partition *p, struct rn_segment *s);
/* Calls every waiter (append.c). */
void rn__notify(struct rn_partition *p);

/* Whole-filesystem flush (logdir close): prepare snapshots the partition and clears its dirty
 * state, the caller runs syncfs(2) once for all partitions, then commit advances the recovery
 * point. One syncfs instead of two fsyncs per partition makes closing 10,000 partitions
 * take a fraction of a second. */
void rn__partition_sync_prepare(struct rn_partition *p);
void rn__partition_sync_commit(struct rn_partition *p);

/* Append internals shared by the leader's (append.c) and the follower's (replica_append.c)
 * appends; callers hold p->lock. must_roll: the batches (len bytes, nbatches, noffsets offsets)
 * must go to a new segment; reserve_indexes allocates the index blocks their entries need;
 * index_batches adds the entries of batches just written at pos; undo_write cuts a failed
 * write off (or takes the partition offline); append_failed logs, rate limited. */
bool rn__must_roll(struct rn_partition *p, struct rn_segment *s, size_t len, int32_t nbatches,
		   int64_t noffsets, int64_t now);
int rn__reserve_indexes(struct rn_partition *p, struct rn_segment *s, const uint8_t *buf,
			size_t len);
void rn__index_batches(struct rn_partition *p, struct rn_segment *s, const uint8_t *buf, size_t len,
		       uint64_t pos);
void rn__undo_write(struct rn_partition *p, struct rn_segment *s, uint64_t pos, int err);
void rn__append_failed(struct rn_partition *p, int err);
/* Moves hwm to the log end unless the partition is replicated (caller holds p->lock). */
void rn__hw_follow_end(struct rn_partition *p);
/* The log dir hands the replication-offset-checkpoint entry of p over at open. */
void rn__partition_set_ckpt_hw(struct rn_partition *p, int64_t hw);

/* Flush with an optional fdatasync latency histogram (flusher.c passes its own). */
int rn__partition_flush(struct rn_partition *p, struct rn_hist *h);

static inline uint32_t rn__oidx_rel(const struct rn__index *x, uint32_t i)
{
	return rn_be32(x->map + (size_t)i * RN_OIDX_ENTRY);
}

static inline uint32_t rn__oidx_pos(const struct rn__index *x, uint32_t i)
{
	return rn_be32(x->map + (size_t)i * RN_OIDX_ENTRY + 4);
}

#endif
