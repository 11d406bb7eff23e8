/* Truncation of a follower's log (partition.h, "Replication"). */
#include "core/err.h"
#include "storage/segment.h"

int rn_partition_truncate_to(struct rn_partition *p, int64_t offset)
{
	(void)p, (void)offset;
	return RN_EUNSUPPORTED;
}

int rn_partition_truncate_fully(struct rn_partition *p, int64_t offset)
{
	(void)p, (void)offset;
	return RN_EUNSUPPORTED;
}
