/*
 * Log compaction (Kafka's log cleaner): for partitions whose cleanup.policy contains compact,
 * closed segments are rewritten so that only the latest record of each key survives.
 *
 *   segments:  [ clean ......... | dirty ............ | uncleanable | active ]
 *              log start    clean point        first uncleanable   (never touched)
 *
 * The first uncleanable offset is the lowest of: the active segment's base, the last stable
 * offset (open transactions), the base of the first segment with records newer than
 * min.compaction.lag.ms. A partition is cleaned when its dirty ratio (dirty bytes / clean +
 * dirty bytes) reaches min.cleanable.dirty.ratio, or when its dirty section holds records
 * older than max.compaction.lag.ms.
 *
 * A clean builds a fixed-size offset map (hash of key -> latest offset) over as much of the
 * dirty section as fits, then rewrites every segment from the log start up to where the map
 * ends: a record survives if it is the latest of its key (or beyond the map), a tombstone
 * until delete.retention.ms after its batch was first cleaned (KIP-534's delete horizon in the
 * batch), aborted transactional records never, a transaction marker until its transaction has
 * no data left and its delete horizon passed. Offsets, order and batch metadata stay; the last
 * batch of each idempotent producer stays even when emptied. Small segments are grouped into
 * one of up to segment.bytes. Each group is swapped in with Kafka's .cleaned -> .swap -> rename
 * protocol, which rn_partition_open completes or discards after a crash
 * (docs/internals/compaction.md).
 *
 * Threads: the cleaner runs on its own threads; appends, fetches and retention go on while it
 * reads and writes. It holds the partition's append lock only for the swap.
 */
#ifndef RN_STORAGE_CLEANER_H
#define RN_STORAGE_CLEANER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rn_logdir;
struct rn_partition;

/* The broker's log.cleaner.* keys. */
struct rn_cleaner_config {
	bool enable;                    /* log.cleaner.enable */
	int threads;                    /* log.cleaner.threads */
	int64_t dedupe_buffer_size;     /* log.cleaner.dedupe.buffer.size, over all threads */
	double load_factor;             /* log.cleaner.io.buffer.load.factor */
	int32_t io_buffer_size;         /* log.cleaner.io.buffer.size */
	double max_io_bytes_per_second; /* log.cleaner.io.max.bytes.per.second (read + write) */
	int64_t backoff_ms;             /* log.cleaner.backoff.ms */
};

/* Kafka's defaults. */
void rn_cleaner_config_default(struct rn_cleaner_config *c);

/* Options of one clean (rn_partition_clean). */
struct rn_clean_opts {
	size_t map_bytes;         /* offset map memory (24 bytes per slot) */
	double load_factor;       /* fraction of slots that may be used */
	size_t io_buffer_size;    /* read/write buffer (grown for larger batches) */
	double max_bytes_per_sec; /* <= 0 or huge: unthrottled */
	int64_t now_ms;           /* wall clock for lags and delete horizons (0: now) */
	bool force;               /* clean even below min.cleanable.dirty.ratio */
	_Atomic bool *cancel;     /* optional: set to stop the clean early (-ECANCELED) */
};

struct rn_clean_stats {
	int64_t bytes_read, bytes_written;
	int64_t records_read, records_kept;
	int64_t first_offset, end_offset; /* the dirty range the map covered */
	int32_t segments_in, segments_out;
	double map_utilization; /* used / total slots of the offset map, 0..1 */
	int64_t elapsed_us;
};

/* Where a partition stands, for choosing what to clean and for /metrics. */
struct rn_clean_state {
	bool compacted;            /* cleanup.policy contains compact */
	int64_t clean_point;       /* first offset not yet cleaned */
	int64_t first_uncleanable; /* see the top of this file */
	uint64_t clean_bytes, dirty_bytes;
	double dirty_ratio;
	bool horizon_due; /* a delete horizon left by the last clean has passed */
	bool cleanable;   /* ratio reached, max.compaction.lag.ms passed, or horizon due */
	int64_t compaction_delay_ms; /* how far past max.compaction.lag.ms the dirt is, or 0 */
};

/* Computes p's state at now_ms (0: now). Takes p->lock briefly. */
void rn_partition_clean_state(struct rn_partition *p, int64_t now_ms, struct rn_clean_state *st);

/* Cleans p once: returns 1 when something was cleaned (stats in *st if not NULL), 0 when p
 * is not compacted or has nothing cleanable (unless o->force), RN_EOFFLINE, or -errno /
 * RN_ECORRUPT when the clean failed (nothing changed, partial files removed; the log stays as
 * it was). May be called from any thread, one clean per partition at a time (it serialises on
 * the partition). A clean in progress stops early (returning -ECANCELED) when the partition
 * is closed or deleted. */
int rn_partition_clean(struct rn_partition *p, const struct rn_clean_opts *o,
		       struct rn_clean_stats *st);

/* First offset not yet cleaned (the cleaner-offset-checkpoint value). */
int64_t rn_partition_clean_point(struct rn_partition *p);

/* The background cleaner: cfg->threads threads that each pick the dirtiest cleanable
 * partition of log dir d, clean it, and sleep cfg->backoff_ms when there is nothing to do.
 * Every thread gets dedupe_buffer_size / threads bytes of offset map. It registers its own
 * /metrics collector (kafka_log_logcleaner_*, kafka_log_logcleanermanager_*). With
 * cfg->enable false nothing starts and *out is NULL. Returns 0 or -errno. The caller owns *out
 * and must stop it before closing d. */
struct rn_cleaner;
int rn_cleaner_start(struct rn_logdir *d, const struct rn_cleaner_config *cfg,
		     struct rn_cleaner **out);
/* Wakes the threads now (a topic became compacted, a test wants a clean). NULL is a no-op. */
void rn_cleaner_wakeup(struct rn_cleaner *c);
/* Stops the threads (a clean in progress is abandoned safely) and frees. NULL is a no-op. */
void rn_cleaner_stop(struct rn_cleaner *c);

/* The check Kafka's LogValidator makes on a compacted topic: every record of every batch in
 * buf[0..len) (validated batches, any codec) has a key. Returns 0, RN_EBADRECORD with each
 * keyless record noted in re (its index in its batch; Produce v8+ RecordErrors), or a
 * decompression error. Called by the append path. */
struct rn_record_errors;
int rn_cleaner_check_keys(const uint8_t *buf, size_t len, struct rn_record_errors *re);

#endif
