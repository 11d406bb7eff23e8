/*
 * Internals shared by the cleaner's files (not part of the storage interface):
 *   cleaner_map.c     the offset map (fixed memory, hash of key -> latest offset)
 *   cleaner_filter.c  what survives of one batch, and its rewrite
 *   cleaner_plan.c    a partition's clean state and the plan of a clean
 *   cleaner_clean.c   one clean of a partition: map, rewrite of segment groups
 *   cleaner_swap.c    the .cleaned -> .swap -> rename protocol and its recovery at open
 *   cleaner_thread.c  background threads, choice of partition, throttle, metrics
 *   cleaner_keys.c    the keyless-record check of the append path
 */
#ifndef RN_STORAGE_CLEANER_INT_H
#define RN_STORAGE_CLEANER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "storage/cleaner.h"
#include "storage/segment.h"

/* KIP-534: attribute bit 6 says the base timestamp holds the batch's delete horizon. */
#define RN_BATCH_ATTR_DELETE_HORIZON 0x40

/*
 * Offset map (Kafka's SkimpyOffsetMap): open addressing over slots of
 *
 *   +----------------------+------------------+
 *   | 128-bit key hash     | offset + 1 (u64) |   24 bytes; offset field 0 = empty slot
 *   +----------------------+------------------+
 *
 * with linear probing. The memory is fixed at creation; once used / slots reaches the load
 * factor, rn__omap_put refuses new keys (updates of present keys still succeed), and the
 * clean covers the dirty section only up to there. Two keys with the same 128-bit hash would
 * be taken for one (as Kafka's MD5 map): about 2^-64 for 10^10 keys.
 */
struct rn__omap {
	uint8_t *slots;
	size_t cap;     /* slots allocated */
	size_t nslots;  /* slots in use for this clean (<= cap) */
	size_t touched; /* slots that may hold entries since the last reset */
	size_t used, max_used;
	double load_factor;
	int64_t last_offset; /* highest offset put, -1 */
};

/* Allocates bytes of map (at least 8 slots). The caller frees it with rn__omap_free. */
void rn__omap_init(struct rn__omap *m, size_t bytes, double load_factor);
void rn__omap_free(struct rn__omap *m);
/* Empties the map and uses only as many slots as max_keys keys need (at most all): a clean of
 * a small dirty section neither clears nor touches the whole buffer. */
void rn__omap_reset(struct rn__omap *m, uint64_t max_keys);
void rn__omap_clear(struct rn__omap *m); /* rn__omap_reset to the whole buffer */
/* Records offset as key's latest. Returns 0, or 1 when the key is new and the map full. */
int rn__omap_put(struct rn__omap *m, const uint8_t *key, size_t len, int64_t offset);
/* key's offset, or -1 when absent. */
int64_t rn__omap_get(const struct rn__omap *m, const uint8_t *key, size_t len);

/* The last data offset of each producer (Kafka keeps that producer's last batch even when it
 * is emptied, so its sequence state survives), sorted by pid. */
struct rn__pid_last {
	int64_t pid;
	int64_t last_offset;
};

/* A producer's transaction as seen in offset order during a rewrite. */
struct rn__txn_seen {
	int64_t pid;
	bool has_data; /* a batch of its current transaction was kept */
};

/* Everything the per-batch decision needs. */
struct rn__filter {
	const struct rn__omap *map;
	int64_t map_end; /* records at or after it were not in the map: they stay */
	int64_t now_ms;
	int64_t delete_retention_ms;
	const struct rn_aborted_txn *aborted; /* ascending last offset */
	uint32_t naborted;
	const struct rn__pid_last *lasts;
	uint32_t nlasts;
	struct rn__txn_seen *txns; /* grows; owned by the clean */
	uint32_t ntxns, txncap;
	struct rn_buf scratch, records, packed; /* reused buffers */
	int64_t records_read, records_kept;
	int64_t min_horizon; /* earliest delete horizon of the batches written (INT64_MAX) */
};

/* Decides what stays of the validated batch b[0..len) and appends it (unchanged, rewritten
 * or emptied) to out, or nothing. Returns 0 or RN_ECORRUPT (records that will not decode). */
int rn__filter_batch(struct rn__filter *f, const uint8_t *b, size_t len, struct rn_buf *out);
/* Is the transactional batch of pid at offset part of an aborted transaction? */
bool rn__filter_aborted(const struct rn__filter *f, int64_t pid, int64_t offset);
void rn__filter_free(struct rn__filter *f);

/* The plan of one clean (cleaner_plan.c): old segments [0, n) below the first uncleanable
 * offset `upper`, each with a file reference, the clean point, the partition's segment
 * generation and config, and copies of its aborted transactions and producers' last offsets
 * (all owned by the plan). */
struct rn__src {
	int64_t base, end;
	uint64_t size;
	struct rn_fileref *f;
};

struct rn__plan {
	struct rn__src *segs;
	int n;
	int64_t cp, upper;
	uint64_t gen;
	struct rn_log_config cfg;
	struct rn_aborted_txn *aborted;
	uint32_t naborted;
	struct rn__pid_last *lasts;
	uint32_t nlasts;
};

/* Returns 1 with a plan (free it with rn__plan_free), 0 when p has nothing to clean (is not
 * compacted, offline, not cleanable and not forced), <0 on error. Takes p->lock. */
int rn__plan_make(struct rn_partition *p, int64_t now, bool force, struct rn__plan *pl);
void rn__plan_free(struct rn__plan *pl);

/* Throttle of the cleaner's I/O (log.cleaner.io.max.bytes.per.second). */
struct rn__throttle {
	double rate; /* bytes per second; <= 0: off */
	int64_t start_us;
	double bytes;
};
void rn__throttle_init(struct rn__throttle *t, double rate);
/* Accounts n bytes and sleeps long enough to stay under the rate; either flag (NULL: none)
 * cuts the sleep short. */
void rn__throttle(struct rn__throttle *t, size_t n, _Atomic bool *stop1, _Atomic bool *stop2);

/*
 * A group of consecutive old segments [first, first + n) of p->segs rewritten into one new
 * segment named by the first's base: the caller wrote <base>.log.cleaned and its three index
 * files (fsync'ed); rn__swap_group renames them into place and replaces the segments in
 * memory, under p->lock and seglock, if p->seg_gen still equals *gen (then updated to the
 * generation after the swap). Returns 0, -EAGAIN
 * (segments changed: cleaned files removed, nothing changed) or -errno (the partition goes
 * offline when the rename sequence broke in the middle; the next open completes it).
 */
struct rn__cleaned {
	int64_t base, end; /* offsets covered (end = the next segment's base) */
	uint64_t size;
	int64_t max_ts, max_ts_off;
	int nold;                 /* segments replaced */
	const int64_t *old_bases; /* their bases, ascending, old_bases[0] == base */
};
int rn__swap_group(struct rn_partition *p, uint64_t *gen, const struct rn__cleaned *c);
/* Removes <base>.{log,index,timeindex,txnindex}.cleaned. */
void rn__unlink_cleaned(const struct rn_partition *p, int64_t base);

/* rn_partition_clean with the caller's map, p->clean_mu held (cleaner_thread.c). */
int rn__partition_clean_locked(struct rn_partition *p, const struct rn_clean_opts *o,
			       struct rn_clean_stats *st, struct rn__omap *map);

/* Test hook: when set, called at each step of the swap protocol with its number; a test that
 * _exit()s there simulates a crash between two steps. */
extern void (*rn__cleaner_step_hook)(int step);

#endif
