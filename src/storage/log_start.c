/*
 * Moving the log start offset forward on request (DeleteRecords, snapshots of internal topics):
 * like retention, whole segments below the new start are deleted, never the active one.
 */
#include <string.h>

#include "core/err.h"
#include "storage/segment.h"

int rn_partition_advance_log_start(struct rn_partition *p, int64_t offset)
{
	if (atomic_load(&p->offline))
		return RN_EOFFLINE;
	struct rn_segment *gone[64];
	int n = 0;
	pthread_mutex_lock(&p->lock);
	int64_t hw = atomic_load(&p->hwm);
	if (offset > hw)
		offset = hw;
	if (offset > atomic_load(&p->log_start))
		atomic_store(&p->log_start, offset);
	/* A segment is dead when the next one starts at or below the new log start. */
	while (n < 64 && n < p->nsegs - 1 && p->segs[n + 1]->base <= offset)
		n++;
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
		p->dir_dirty = true;
		pthread_rwlock_unlock(&p->seglock);
	}
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < n; i++) {
		rn__seg_unlink(p, gone[i]->base);
		rn__seg_free(gone[i]);
	}
	return 0;
}
