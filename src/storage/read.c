/*
 * Reads: locate whole batches as a file range, and ListOffsets by time. Only batch headers
 * are read (pread of 61 bytes); the sparse index bounds each scan to about
 * index_interval_bytes of log. Runs under p->seglock shared, never under p->lock, so fetches
 * and appends proceed in parallel; everything below a segment's published size is immutable.
 */
#include "core/err.h"
#include "core/io.h"
#include "storage/segment.h"

int rn__read_header(int fd, uint64_t pos, uint64_t end, struct rn_batch_header *h)
{
	if (pos >= end)
		return 0;
	uint8_t b[RN_BATCH_HEADER_SIZE];
	if (end - pos < RN_BATCH_HEADER_SIZE)
		return RN_ECORRUPT;
	ssize_t r = rn_io_pread(fd, b, sizeof(b), (off_t)pos);
	if (r < 0)
		return (int)r;
	if (r != RN_BATCH_HEADER_SIZE)
		return RN_ECORRUPT;
	rn_batch_header_parse(b, h);
	if (h->magic != 2 || h->length < RN_BATCH_MIN_LENGTH ||
	    (uint64_t)h->length + RN_BATCH_LOG_OVERHEAD > end - pos)
		return RN_ECORRUPT;
	return 1;
}

static uint64_t batch_size(const struct rn_batch_header *h)
{
	return (uint64_t)h->length + RN_BATCH_LOG_OVERHEAD;
}

/* Last segment whose base is <= offset (the first one if none). */
static int find_segment(struct rn_partition *p, int64_t offset)
{
	int lo = 0, hi = p->nsegs;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (p->segs[mid]->base <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 ? lo - 1 : 0;
}

/* Position of the batch containing offset (or the first after it) below end and hw. Returns
 * 1 with *pos and the header, 0 if the segment has none, <0 on error. */
static int locate(struct rn_segment *s, int64_t offset, int64_t hw, uint64_t end, uint64_t *pos,
		  struct rn_batch_header *h)
{
	int64_t rel = offset - s->base;
	uint64_t at = 0;
	if (rel > 0)
		at = rn__oidx_lookup(&s->oidx,
				     atomic_load_explicit(&s->oidx.n, memory_order_acquire),
				     rel > UINT32_MAX ? UINT32_MAX : (uint32_t)rel);
	if (at >= end)
		at = 0;
	for (;;) {
		int rc = rn__read_header(s->file->fd, at, end, h);
		if (rc <= 0)
			return rc;
		if (h->base_offset >= hw)
			return 0;
		if (h->base_offset + h->last_offset_delta >= offset) {
			*pos = at;
			return 1;
		}
		at += batch_size(h);
	}
}

/* Extends [start, *stop) by whole batches while they fit in limit: jumps with the index to the
 * last entry inside the limit, then walks headers. */
static int extend(struct rn_segment *s, uint64_t start, uint64_t limit, int64_t hw, uint64_t end,
		  uint64_t *stop)
{
	uint64_t at = *stop;
	uint32_t n = atomic_load_explicit(&s->oidx.n, memory_order_acquire);
	int64_t j = rn__oidx_lookup_pos(&s->oidx, n, start + limit);
	if (j >= 0) {
		uint64_t jp = rn__oidx_pos(&s->oidx, (uint32_t)j);
		if (jp > at && jp <= end && s->base + rn__oidx_rel(&s->oidx, (uint32_t)j) < hw)
			at = jp;
	}
	for (;;) {
		struct rn_batch_header h;
		int rc = rn__read_header(s->file->fd, at, end, &h);
		if (rc < 0)
			return rc;
		if (rc == 0 || h.base_offset >= hw || at + batch_size(&h) - start > limit)
			break;
		at += batch_size(&h);
	}
	*stop = at;
	return 0;
}

int rn_partition_read(struct rn_partition *p, int64_t offset, uint32_t max_bytes, bool min_one,
		      struct rn_read_info *ri)
{
	ri->file = NULL;
	ri->pos = ri->len = 0;
	if (atomic_load(&p->offline))
		return RN_EOFFLINE;
	pthread_rwlock_rdlock(&p->seglock);
	int64_t hw = atomic_load_explicit(&p->hwm, memory_order_acquire);
	int64_t ls = atomic_load(&p->log_start);
	ri->high_watermark = hw;
	ri->last_stable_offset = hw;
	ri->log_start_offset = ls;
	int rc = 0;
	if (offset < ls || offset > hw) {
		rc = RN_ERANGE;
		goto out_unlock;
	}
	for (int i = find_segment(p, offset); offset < hw && i < p->nsegs; i++) {
		struct rn_segment *s = p->segs[i];
		rc = rn__seg_ensure_open(p, s, i == p->nsegs - 1);
		if (rc < 0)
			break;
		uint64_t end = atomic_load_explicit(&s->size, memory_order_acquire), start;
		struct rn_batch_header h;
		rc = locate(s, offset, hw, end, &start, &h);
		if (rc < 0)
			break;
		if (rc == 0)
			continue;
		rc = 0;
		uint64_t stop = start + batch_size(&h);
		if (batch_size(&h) > max_bytes && !min_one)
			break;
		if (batch_size(&h) < max_bytes)
			rc = extend(s, start, max_bytes, hw, end, &stop);
		if (rc < 0)
			break;
		rn_fileref_get(s->file);
		ri->file = s->file;
		ri->pos = start;
		ri->len = stop - start;
		break;
	}
out_unlock:
	pthread_rwlock_unlock(&p->seglock);
	return rc;
}

/* First batch in s with max timestamp >= ts, at or after offset from. */
static int time_scan(struct rn_segment *s, int64_t ts, int64_t from, int64_t hw,
		     struct rn_batch_header *h)
{
	uint32_t tn = atomic_load_explicit(&s->tidx.n, memory_order_acquire);
	uint32_t on = atomic_load_explicit(&s->oidx.n, memory_order_acquire);
	int64_t rel = rn__tidx_lookup(&s->tidx, tn, ts);
	uint64_t end = atomic_load_explicit(&s->size, memory_order_acquire);
	uint64_t at = rel > 0 ? rn__oidx_lookup(&s->oidx, on, (uint32_t)rel) : 0;
	if (at >= end)
		at = 0;
	for (;;) {
		int rc = rn__read_header(s->file->fd, at, end, h);
		if (rc <= 0 || h->base_offset >= hw)
			return rc < 0 ? rc : 0;
		if (h->max_timestamp >= ts && h->base_offset + h->last_offset_delta >= from)
			return 1;
		at += batch_size(h);
	}
}

int rn_partition_offset_for_time(struct rn_partition *p, int64_t ts, int64_t *offset,
				 int64_t *timestamp)
{
	*offset = -1;
	*timestamp = -1;
	if (atomic_load(&p->offline))
		return RN_EOFFLINE;
	pthread_rwlock_rdlock(&p->seglock);
	int64_t hw = atomic_load_explicit(&p->hwm, memory_order_acquire);
	int64_t ls = atomic_load(&p->log_start);
	int rc = 0;
	for (int i = find_segment(p, ls); i < p->nsegs; i++) {
		struct rn_segment *s = p->segs[i];
		bool active = i == p->nsegs - 1;
		if (!active && rn__seg_max_ts(p, s) < ts)
			continue;
		rc = rn__seg_ensure_open(p, s, active);
		if (rc < 0)
			break;
		struct rn_batch_header h;
		rc = time_scan(s, ts, ls, hw, &h);
		if (rc < 0)
			break;
		if (rc == 1) {
			*offset = h.base_offset > ls ? h.base_offset : ls;
			*timestamp = h.max_timestamp;
			rc = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&p->seglock);
	return rc;
}
