/* STUB (issue 8 interface commit): follower-side log operations. Replaced by the storage slice. */
#include "core/err.h"
#include "storage/partition.h"

void rn_partition_set_replicated(struct rn_partition *p, bool replicated)
{
	(void)p, (void)replicated;
}
bool rn_partition_replicated(struct rn_partition *p)
{
	(void)p;
	return false;
}
int64_t rn_partition_set_high_watermark(struct rn_partition *p, int64_t hw)
{
	(void)hw;
	return rn_partition_high_watermark(p);
}
int rn_partition_append_replica(struct rn_partition *p, const uint8_t *buf, size_t len,
				size_t *used, struct rn_append_info *info)
{
	(void)p, (void)buf, (void)len, (void)info;
	*used = 0;
	return RN_EUNSUPPORTED;
}
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
int rn_partition_read_replica(struct rn_partition *p, int64_t offset, uint32_t max_bytes,
			      bool min_one, struct rn_read_info *ri)
{
	return rn_partition_read(p, offset, max_bytes, min_one, ri);
}
void rn_partition_latest_epoch(struct rn_partition *p, int32_t *epoch, int64_t *start_offset)
{
	(void)p;
	*epoch = -1;
	*start_offset = -1;
}
