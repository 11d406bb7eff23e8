/*
 * Group state on disk: the partitions of __consumer_offsets, written through the ordinary
 * append path and replayed at start-up. Until log compaction exists, a partition is kept
 * bounded by snapshots: its live records (the latest value of every key still alive) are
 * appended again as one run, and the log start offset moves to the first of them, deleting the
 * whole segments below. Replaying any suffix of the log that ends with a complete snapshot
 * gives the snapshot's state, because every deletion after the suffix's start is a tombstone
 * inside it; so a crash at any point (before the snapshot is complete, or before the new log
 * start is checkpointed) still replays correctly. See docs/internals/groups.md.
 */
#ifndef RN_GROUP_PERSIST_H
#define RN_GROUP_PERSIST_H

#include <stdint.h>

#include "group/group.h"
#include "group/records.h"

struct rn_partition;
struct rn_append_info;

/* Applies every record of p from its log start to its high watermark to gc. *nrecords gets
 * the number of records read. Returns 0 or a negative error (RN_EOFFLINE, -errno). */
int rn_gc_replay(struct rn_gc *gc, struct rn_partition *p, int64_t now, int64_t *nrecords);

/* Appends recs to p as uncompressed batches. Returns 0 or rn_partition_append's error. */
int rn_gc_write(struct rn_partition *p, const struct rn_gc_rec *recs, int n, int64_t now,
		struct rn_append_info *ai);

/* Records that are alive in partition idx of nparts (one per stored group, one per offset). */
int64_t rn_gc_live_records(struct rn_gc *gc, int32_t idx, int32_t nparts);

/* Rewrites the live records of partition idx (p) and advances its log start past everything
 * older. The caller holds whatever lock serialises writes to p's groups. Returns 0 or an
 * append error. */
int rn_gc_snapshot(struct rn_gc *gc, struct rn_partition *p, int32_t idx, int32_t nparts,
		   int64_t now);

#endif
