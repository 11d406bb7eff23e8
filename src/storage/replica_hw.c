/*
 * The high watermark of a replicated partition (partition.h, "Replication").
 *
 * On one broker the high watermark is the log end: every append moves both
 * (rn__hw_follow_end). A replicated partition holds it back: the replica room moves it with
 * rn_partition_set_high_watermark once the in-sync replicas have the data (leader) or the
 * leader said so (follower), and only truncation lowers it. It is published with a release
 * store after the data and the transaction state it covers, as the append path does, so a
 * reader that sees it also sees what lies below it.
 *
 * Where it starts: the first switch to replicated in a run takes the log dir's
 * replication-offset-checkpoint entry (clamped to the log), since a broker that restarts
 * must not expose to consumers what its followers may not have (Kafka's
 * Log.highWatermark is loaded the same way); a later switch keeps the current value.
 */
#include "core/err.h"
#include "storage/segment.h"

static int64_t clamp(struct rn_partition *p, int64_t hw)
{
	int64_t ls = atomic_load(&p->log_start), end = atomic_load(&p->log_end);
	if (hw > end)
		hw = end;
	return hw < ls ? ls : hw;
}

void rn__hw_follow_end(struct rn_partition *p)
{
	if (!atomic_load_explicit(&p->replicated, memory_order_relaxed))
		atomic_store_explicit(&p->hwm, atomic_load(&p->log_end), memory_order_release);
}

void rn__partition_set_ckpt_hw(struct rn_partition *p, int64_t hw)
{
	atomic_store(&p->ckpt_hw, hw);
}

void rn_partition_set_replicated(struct rn_partition *p, bool replicated)
{
	pthread_mutex_lock(&p->lock);
	bool was = atomic_load(&p->replicated);
	if (replicated && !was && !p->was_replicated) {
		int64_t ck = atomic_load(&p->ckpt_hw);
		int64_t hw = ck < 0 ? atomic_load(&p->log_start) : clamp(p, ck);
		atomic_store_explicit(&p->hwm, hw, memory_order_release);
	}
	if (replicated)
		p->was_replicated = true;
	atomic_store(&p->replicated, replicated);
	rn__hw_follow_end(p);
	bool moved = !replicated && was;
	pthread_mutex_unlock(&p->lock);
	if (moved)
		rn__notify(p);
}

bool rn_partition_replicated(struct rn_partition *p)
{
	return atomic_load(&p->replicated);
}

int64_t rn_partition_set_high_watermark(struct rn_partition *p, int64_t hw)
{
	pthread_mutex_lock(&p->lock);
	int64_t cur = atomic_load(&p->hwm);
	bool moved = false;
	if (atomic_load(&p->replicated)) {
		hw = clamp(p, hw);
		if (hw > cur) {
			atomic_store_explicit(&p->hwm, hw, memory_order_release);
			cur = hw;
			moved = true;
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (moved)
		rn__notify(p);
	return cur;
}

void rn_partition_latest_epoch(struct rn_partition *p, int32_t *epoch, int64_t *start_offset)
{
	pthread_mutex_lock(&p->lock);
	*epoch = p->nepochs ? p->epochs[p->nepochs - 1].epoch : -1;
	*start_offset = p->nepochs ? p->epochs[p->nepochs - 1].start : -1;
	pthread_mutex_unlock(&p->lock);
}
