/*
 * One log directory (log.dirs): a lock file so two brokers never share it, and Kafka's
 * per-directory checkpoint files, text "0\n<count>\n<topic> <partition> <offset>\n...":
 *
 *   recovery-point-offset-checkpoint  offset below which data is known to be on disk
 *   log-start-offset-checkpoint       first offset still readable per partition
 *   replication-offset-checkpoint     high watermark of each replicated partition (written
 *                                     once a partition of the dir was replicated; a
 *                                     partition becoming replicated starts its high
 *                                     watermark there, see partition.h)
 *
 * written atomically (write temp, fsync, rename, fsync dir). Partitions register themselves so
 * the checkpoint covers them all.
 */
#ifndef RN_STORAGE_LOGDIR_H
#define RN_STORAGE_LOGDIR_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/log_config.h"

struct rn_logdir;
struct rn_partition;

/* Creates the directory if needed, takes its lock (-EBUSY if another process holds it), reads
 * the checkpoints. The caller owns *out. */
int rn_logdir_open(const char *path, struct rn_logdir **out);
/* Writes the checkpoints, closes every partition still open, releases the lock and frees. */
void rn_logdir_close(struct rn_logdir *d);
const char *rn_logdir_path(const struct rn_logdir *d);

/* Opens partition topic/idx (dir <path>/<topic>-<idx>), recovering it from the checkpointed
 * recovery point; create=false returns -ENOENT when absent. The logdir keeps the partition in
 * its table and closes it in rn_logdir_close; callers must not rn_partition_close it. */
int rn_logdir_open_partition(struct rn_logdir *d, const char *topic, int32_t idx,
			     const struct rn_log_config *cfg, bool create,
			     struct rn_partition **out);
/* Closes and deletes partition topic/idx (files and directory). */
int rn_logdir_delete_partition(struct rn_logdir *d, const char *topic, int32_t idx);
/* Lists "<topic>-<idx>" directories present on disk: calls cb for each. */
int rn_logdir_scan(struct rn_logdir *d, void (*cb)(const char *topic, int32_t idx, void *arg),
		   void *arg);
/* Writes the checkpoint files now (also done by rn_logdir_close and periodically). */
int rn_logdir_checkpoint(struct rn_logdir *d);

#endif
