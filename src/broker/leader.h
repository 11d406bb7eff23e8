/*
 * The checks a request naming a partition passes on its leader (this broker leads every
 * partition) before it reads or trims the log. One place, so ListOffsets, OffsetForLeaderEpoch,
 * DeleteRecords and Fetch answer a missing partition or a stale leader epoch alike.
 */
#ifndef RN_BROKER_LEADER_H
#define RN_BROKER_LEADER_H

#include <stdint.h>

#include "broker/broker.h"

struct rn_partition;

/* Partition idx of t (NULL: an unknown topic): 0 with *out set, UNKNOWN_TOPIC_OR_PARTITION,
 * or KAFKA_STORAGE_ERROR when its log is not open or its log directory is offline. */
int16_t rn_leader_partition(struct rn_topic *t, int32_t idx, struct rn_partition **out);

/* KIP-320 fencing of the leader epoch a client says it knows (-1: it knows none, never
 * fenced). 0 when it is ours; FENCED_LEADER_EPOCH when ours is newer (the client missed a
 * leader change), UNKNOWN_LEADER_EPOCH when theirs is (we have not seen it yet). *ours gets our
 * epoch either way, for Fetch's v12 leader hint. */
int16_t rn_leader_epoch_fence(struct rn_partition *p, int32_t known, int32_t *ours);

#endif
