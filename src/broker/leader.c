#include "broker/leader.h"

#include "proto/kerr.h"
#include "replica/replica.h"
#include "storage/partition.h"

int16_t rn_leader_partition(struct rn_topic *t, int32_t idx, struct rn_partition **out)
{
	*out = NULL;
	if (!t || idx < 0 || idx >= t->npart)
		return RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
	/* A replicated partition this broker follows, or leads without a surely valid session:
	 * the client refreshes its metadata and goes to the leader. */
	int32_t epoch;
	struct rn_replica_part *rp = t->parts[idx].rp;
	if (rp && rn_replica_leader(rp, &epoch) < 0)
		return RN_KERR_NOT_LEADER_OR_FOLLOWER;
	struct rn_partition *p = t->parts[idx].log;
	if (!p || rn_partition_offline(p))
		return RN_KERR_KAFKA_STORAGE_ERROR;
	*out = p;
	return 0;
}

int16_t rn_leader_partition_in(struct rn_broker *b, struct rn_topic *t, int32_t idx,
			       struct rn_partition **out)
{
	*out = NULL;
	if (b->clustered && t && idx >= 0 && idx < t->npart && !t->parts[idx].rp &&
	    !t->parts[idx].log)
		return RN_KERR_NOT_LEADER_OR_FOLLOWER; /* no replica here */
	return rn_leader_partition(t, idx, out);
}

int16_t rn_leader_epoch_fence(struct rn_partition *p, int32_t known, int32_t *ours)
{
	*ours = rn_partition_leader_epoch(p);
	if (known == -1 || known == *ours)
		return 0;
	return known < *ours ? RN_KERR_FENCED_LEADER_EPOCH : RN_KERR_UNKNOWN_LEADER_EPOCH;
}

int16_t rn_leader_fence(struct rn_topic *t, int32_t idx, struct rn_partition *p, int32_t known,
			int32_t *ours)
{
	struct rn_replica_part *rp = t->parts[idx].rp;
	if (!rp)
		return rn_leader_epoch_fence(p, known, ours);
	/* The stored leader epoch: the log's follows it on the leader, not on a follower. */
	struct rn_pstate st;
	rn_replica_state(rp, &st);
	*ours = st.leader_epoch;
	if (known == -1 || known == *ours)
		return 0;
	return known < *ours ? RN_KERR_FENCED_LEADER_EPOCH : RN_KERR_UNKNOWN_LEADER_EPOCH;
}
