/*
 * The checks a request naming a partition passes on its leader (a single broker leads every
 * partition; in a cluster the replica manager says) before it reads or trims the log. One place, so
 * ListOffsets, OffsetForLeaderEpoch, DeleteRecords and Fetch answer a missing partition or a stale
 * leader epoch alike.
 */
#ifndef RN_BROKER_LEADER_H
#define RN_BROKER_LEADER_H

#include <stdint.h>

#include "broker/broker.h"

struct rn_partition;

/* Partition idx of t (NULL: an unknown topic): 0 with *out set, UNKNOWN_TOPIC_OR_PARTITION,
 * NOT_LEADER_OR_FOLLOWER when it is replicated (rp set) and this broker does not lead it in
 * a valid session, or KAFKA_STORAGE_ERROR when its log is not open or its log directory is
 * offline. */
int16_t rn_leader_partition(struct rn_topic *t, int32_t idx, struct rn_partition **out);
/* The same, and in a cluster NOT_LEADER_OR_FOLLOWER for a partition with no replica here. */
int16_t rn_leader_partition_in(struct rn_broker *b, struct rn_topic *t, int32_t idx,
			       struct rn_partition **out);

/* KIP-320 fencing of the leader epoch a client says it knows (-1: it knows none, never
 * fenced). 0 when it is ours; FENCED_LEADER_EPOCH when ours is newer (the client missed a
 * leader change), UNKNOWN_LEADER_EPOCH when theirs is (we have not seen it yet). *ours gets our
 * epoch either way, for Fetch's v12 leader hint. */
int16_t rn_leader_epoch_fence(struct rn_partition *p, int32_t known, int32_t *ours);
/* The same against partition idx of t: its replication state's leader epoch when it is
 * replicated (a follower's log does not carry the current epoch), else p's. */
int16_t rn_leader_fence(struct rn_topic *t, int32_t idx, struct rn_partition *p, int32_t known,
			int32_t *ours);

#endif
