/*
 * Housekeeping from a timer: roll by age, retention by size and time, flush by time, expiry of
 * idle producer ids (producer.id.expiration.ms), closing of idle segment files.
 * Retention deletes whole segments from the front, never the active one; readers that are
 * sending from a deleted segment keep its fd through their rn_fileref, so unlinking is safe.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "storage/segment.h"

/* Number of leading segments past retention, or wholly below the log start (DeleteRecords
 * moved it: Kafka's deleteLogStartOffsetBreachedSegments). Caller holds p->lock. */
static int count_expired(struct rn_partition *p, int64_t now_ms)
{
	const struct rn_log_config *c = &p->cfg;
	uint64_t total = atomic_load(&p->total_bytes);
	int64_t ls = atomic_load(&p->log_start);
	int n = 0;
	if (!c->cleanup_delete)
		return 0; /* cleanup.policy=compact: the cleaner bounds the log, not retention */
	/* Never above the high watermark (Kafka's deletableSegments): a replicated log keeps
	 * what its followers may not have yet. One broker: HW is the log end. */
	int64_t hw = atomic_load(&p->hwm);
	for (int i = 0; i < p->nsegs - 1 && p->segs[i + 1]->base <= hw; i++) {
		struct rn_segment *s = p->segs[i];
		uint64_t size = atomic_load(&s->size);
		bool expired = p->segs[i + 1]->base <= ls;
		if (!expired)
			expired =
			    c->retention_bytes >= 0 && total - size >= (uint64_t)c->retention_bytes;
		if (!expired && c->retention_ms >= 0)
			expired = rn__seg_max_ts(p, s) < now_ms - c->retention_ms;
		if (!expired)
			break;
		total -= size;
		n++;
	}
	return n;
}

int rn_partition_maintain(struct rn_partition *p, int64_t now_ms)
{
	if (atomic_load(&p->offline))
		return 0;
	int rc = 0;
	struct rn_segment *gone[64];
	pthread_mutex_lock(&p->lock);
	struct rn_segment *act = p->segs[p->nsegs - 1];
	if (p->cfg.roll_ms >= 0 && atomic_load(&act->size) > 0 &&
	    now_ms - act->created_ms >= p->cfg.roll_ms) {
		rc = rn__roll(p, now_ms);
		if (rc < 0)
			rn_warn("storage: %s: cannot roll: %s", p->dir, rn_strerror(rc));
	}
	rn_ps_expire(&p->ps, now_ms, p->cfg.producer_id_expiration_ms);
	int n = count_expired(p, now_ms);
	if (n > 64)
		n = 64; /* the rest next time */
	if (n > 0) {
		pthread_rwlock_wrlock(&p->seglock);
		uint64_t freed = 0;
		for (int i = 0; i < n; i++) {
			gone[i] = p->segs[i];
			freed += atomic_load(&gone[i]->size);
		}
		memmove(p->segs, p->segs + n, (size_t)(p->nsegs - n) * sizeof(*p->segs));
		p->nsegs -= n;
		p->seg_gen++;
		atomic_fetch_sub(&p->total_bytes, freed);
		if (atomic_load(&p->log_start) < p->segs[0]->base) {
			atomic_store(&p->log_start, p->segs[0]->base);
			rn__epochs_truncate_start(p, p->segs[0]->base);
		}
		p->dir_dirty = true;
		pthread_rwlock_unlock(&p->seglock);
	}
	bool flush = p->cfg.flush_ms != INT64_MAX && now_ms - p->last_flush_ms >= p->cfg.flush_ms &&
		     atomic_load(&p->written_bytes) != atomic_load(&p->flushed_bytes);
	int64_t idle_ms = p->cfg.idle_close_ms;
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < n; i++) {
		rn_info("storage: %s: retention deletes segment %020lld (log start %lld)", p->dir,
			(long long)gone[i]->base, (long long)atomic_load(&p->log_start));
		rn__seg_unlink(p, gone[i]->base);
		rn__seg_free(gone[i]);
	}
	if (flush)
		rc = rn_partition_flush(p);
	rn__epochs_flush(p);
	rn__close_idle(p, now_ms, idle_ms);
	return rc;
}
