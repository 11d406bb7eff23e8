/* partition.metadata: which topic id a partition directory belongs to (partition_meta.c). */
#ifndef RN_BROKER_PARTITION_META_H
#define RN_BROKER_PARTITION_META_H

#include <stdint.h>

/* For <logdir>/<topic>-<idx>: 0 when its partition.metadata names topic id id (the file is
 * written, durably, when absent), 1 when it names another topic id (the directory is an older
 * topic's), -errno when it cannot be read or written. */
int rn_partition_meta_check(const char *logdir, const char *topic, int32_t idx,
			    const uint8_t id[16]);

#endif
