#include "broker/leader.h"

#include "proto/kerr.h"
#include "storage/partition.h"

int16_t rn_leader_partition(struct rn_topic *t, int32_t idx, struct rn_partition **out)
{
	*out = NULL;
	if (!t || idx < 0 || idx >= t->npart)
		return RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
	struct rn_partition *p = t->parts[idx].log;
	if (!p || rn_partition_offline(p))
		return RN_KERR_KAFKA_STORAGE_ERROR;
	*out = p;
	return 0;
}

int16_t rn_leader_epoch_fence(struct rn_partition *p, int32_t known, int32_t *ours)
{
	*ours = rn_partition_leader_epoch(p);
	if (known == -1 || known == *ours)
		return 0;
	return known < *ours ? RN_KERR_FENCED_LEADER_EPOCH : RN_KERR_UNKNOWN_LEADER_EPOCH;
}
