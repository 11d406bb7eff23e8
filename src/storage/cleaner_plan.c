/*
 * Where a partition stands (clean point, first uncleanable offset, dirty ratio: cleaner.h) and
 * the plan of a clean, both taken under p->lock: the old segments below the first uncleanable
 * offset, each with a reference on its file (retention may delete it meanwhile), the aborted
 * transactions, each idempotent producer's last data offset, and p->seg_gen.
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "storage/cleaner_int.h"

static int64_t first_uncleanable(struct rn_partition *p, int64_t now)
{
	int64_t upper = p->segs[p->nsegs - 1]->base;
	int64_t fu = atomic_load(&p->first_unstable);
	if (fu >= 0 && fu < upper)
		upper = fu;
	/* Kafka's bound is the last stable offset, so the high watermark too: a replicated log
	 * must not lose a record to a later one that a truncation may still remove. (One
	 * broker: HW is the log end, above the active segment's base.) */
	int64_t hw = atomic_load(&p->hwm);
	if (hw < upper)
		upper = hw;
	int64_t lag = p->cfg.min_compaction_lag_ms;
	for (int i = 0; lag > 0 && i < p->nsegs - 1; i++) {
		if (rn__seg_max_ts(p, p->segs[i]) > now - lag) {
			if (p->segs[i]->base < upper)
				upper = p->segs[i]->base;
			break;
		}
	}
	return upper;
}

static int64_t clean_point_locked(struct rn_partition *p)
{
	int64_t cp = atomic_load(&p->clean_point);
	int64_t first = p->segs[0]->base;
	return cp < first ? first : cp;
}

/* Kafka's LogSegment.getFirstBatchTimestamp: the first batch's max timestamp (INT64_MAX when
 * it cannot be read). Caller holds p->lock. */
static int64_t first_batch_ts(struct rn_partition *p, struct rn_segment *s)
{
	struct rn_batch_header h;
	if (rn__seg_ensure_open(p, s, false) < 0 ||
	    rn__read_header(s->file->fd, 0, atomic_load(&s->size), &h) != 1)
		return INT64_MAX;
	return h.max_timestamp;
}

static void state_locked(struct rn_partition *p, int64_t now, struct rn_clean_state *st)
{
	memset(st, 0, sizeof(*st));
	st->compacted = p->cfg.cleanup_compact;
	st->clean_point = clean_point_locked(p);
	st->first_uncleanable = first_uncleanable(p, now);
	int64_t max_lag = p->cfg.max_compaction_lag_ms;
	bool overdue = false, first_dirty = true;
	for (int i = 0; i < p->nsegs - 1; i++) {
		struct rn_segment *s = p->segs[i];
		uint64_t size = atomic_load(&s->size);
		if (p->segs[i + 1]->base <= st->clean_point) {
			st->clean_bytes += size;
		} else if (s->base < st->first_uncleanable) {
			st->dirty_bytes += size;
			if (first_dirty && max_lag != INT64_MAX && max_lag >= 0) {
				int64_t ts = first_batch_ts(p, s);
				overdue = ts < now - max_lag;
				if (overdue)
					st->compaction_delay_ms = now - max_lag - ts;
			}
			first_dirty = false;
		}
	}
	uint64_t total = st->clean_bytes + st->dirty_bytes;
	st->dirty_ratio = total ? (double)st->dirty_bytes / (double)total : 0;
	/* KIP-534: a log whose tombstones or markers reached their delete horizon is cleaned
	 * again even without new dirty data. */
	st->horizon_due = now >= atomic_load(&p->horizon_ms);
	st->cleanable =
	    st->compacted && ((st->dirty_bytes > 0 && st->clean_point < st->first_uncleanable &&
			       (st->dirty_ratio >= p->cfg.min_cleanable_ratio || overdue)) ||
			      st->horizon_due);
}

void rn_partition_clean_state(struct rn_partition *p, int64_t now_ms, struct rn_clean_state *st)
{
	if (!now_ms)
		now_ms = rn_wall_ms();
	pthread_mutex_lock(&p->lock);
	state_locked(p, now_ms, st);
	pthread_mutex_unlock(&p->lock);
}

int64_t rn_partition_clean_point(struct rn_partition *p)
{
	return atomic_load(&p->clean_point);
}

void rn__partition_set_clean_point(struct rn_partition *p, int64_t off)
{
	if (off > atomic_load(&p->clean_point))
		atomic_store(&p->clean_point, off);
}

static int cmp_pid(const void *a, const void *b)
{
	int64_t x = ((const struct rn__pid_last *)a)->pid,
		y = ((const struct rn__pid_last *)b)->pid;
	return x < y ? -1 : x > y;
}

static void copy_producers(struct rn_partition *p, struct rn__plan *pl)
{
	const struct rn_producer_state *ps = &p->ps;
	pl->lasts = ps->n ? rn_malloc(ps->n * sizeof(*pl->lasts)) : NULL;
	pl->nlasts = 0;
	for (uint32_t i = 0; i < ps->cap && pl->nlasts < ps->n; i++) {
		const struct rn_ps_entry *e = &ps->tab[i];
		if (e->pid < 0 || !e->nbatches)
			continue;
		const struct rn_ps_batch *b =
		    &e->b[(e->head + e->nbatches - 1) % RN_PS_CACHED_BATCHES];
		pl->lasts[pl->nlasts++] = (struct rn__pid_last){e->pid, b->last_offset};
	}
	if (pl->nlasts > 1)
		qsort(pl->lasts, pl->nlasts, sizeof(*pl->lasts), cmp_pid);
	pl->naborted = p->naborted;
	pl->aborted = NULL;
	if (p->naborted) {
		pl->aborted = rn_malloc(p->naborted * sizeof(*pl->aborted));
		memcpy(pl->aborted, p->aborted, p->naborted * sizeof(*pl->aborted));
	}
}

void rn__plan_free(struct rn__plan *pl)
{
	for (int i = 0; i < pl->n; i++)
		rn_fileref_put(pl->segs[i].f);
	rn_free(pl->segs);
	rn_free(pl->aborted);
	rn_free(pl->lasts);
	memset(pl, 0, sizeof(*pl));
}

/* Returns 1 with a plan, 0 when there is nothing to clean, <0 on error. */
int rn__plan_make(struct rn_partition *p, int64_t now, bool force, struct rn__plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	int rc = 0;
	pthread_mutex_lock(&p->lock);
	struct rn_clean_state st;
	state_locked(p, now, &st);
	if (!st.compacted || atomic_load(&p->offline) ||
	    !(st.cleanable || (force && (st.clean_point < st.first_uncleanable || st.horizon_due))))
		goto out_unlock;
	pl->cp = st.clean_point;
	pl->upper = st.first_uncleanable;
	pl->gen = p->seg_gen;
	pl->cfg = p->cfg;
	pl->segs = rn_calloc((size_t)p->nsegs, sizeof(*pl->segs));
	for (int i = 0; i < p->nsegs - 1 && p->segs[i]->base < pl->upper; i++) {
		struct rn_segment *s = p->segs[i];
		rc = rn__seg_ensure_open(p, s, false);
		if (rc < 0)
			goto out_unlock;
		rn_fileref_get(s->file);
		pl->segs[pl->n++] =
		    (struct rn__src){s->base, p->segs[i + 1]->base, atomic_load(&s->size), s->file};
	}
	copy_producers(p, pl);
	rc = pl->n > 0;
out_unlock:
	pthread_mutex_unlock(&p->lock);
	if (rc <= 0)
		rn__plan_free(pl);
	return rc;
}
