/*
 * Reads: locate whole batches as a file range, and ListOffsets by time. Fetch reads only batch
 * headers (pread of 61 bytes); the sparse index bounds each scan to about index_interval_bytes
 * of log. ListOffsets by time also reads the batch that holds the answer. Runs under p->seglock
 * shared, never under p->lock, so fetches and appends proceed in parallel; everything below a
 * segment's published size is immutable.
 */
#include "core/err.h"
#include "core/io.h"
#include "core/log.h"
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
		  int64_t seg_next, uint64_t *stop, int64_t *next_offset)
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
		if (rc == 0 || h.base_offset >= hw || at + batch_size(&h) - start > limit) {
			/* The first batch left out starts where the returned ones end. */
			*next_offset = rc == 0 ? seg_next : h.base_offset < hw ? h.base_offset : hw;
			break;
		}
		at += batch_size(&h);
	}
	*stop = at;
	return 0;
}

/* Where a read stops: the high watermark (consumers), the last stable offset (read_committed)
 * or the log end (a follower's fetch). */
enum read_limit { READ_HW, READ_LSO, READ_LEO };

/* Reads below the limit. The valid range of offsets is up to the high watermark when it
 * follows the log end (one broker, as before), else up to the log end: as Kafka's
 * UnifiedLog.read, an offset between a lagging high watermark and the log end answers no data
 * rather than OFFSET_OUT_OF_RANGE, which would make consumers reset. */
static int read_upto(struct rn_partition *p, int64_t offset, uint32_t max_bytes, bool min_one,
		     enum read_limit limit, struct rn_read_info *ri)
{
	ri->file = NULL;
	ri->pos = ri->len = 0;
	ri->next_offset = offset;
	if (atomic_load(&p->offline))
		return RN_EOFFLINE;
	pthread_rwlock_rdlock(&p->seglock);
	int64_t hw = atomic_load_explicit(&p->hwm, memory_order_acquire);
	int64_t ls = atomic_load(&p->log_start);
	/* After the high watermark: the appender publishes the transaction state before it. */
	int64_t fu = atomic_load(&p->first_unstable);
	int64_t lso = fu >= 0 && fu < hw ? fu : hw;
	if (lso < ls) /* as rn_partition_last_stable */
		lso = ls;
	ri->high_watermark = hw;
	ri->last_stable_offset = lso;
	ri->log_start_offset = ls;
	int rc = 0;
	int64_t valid = atomic_load(&p->replicated) ? atomic_load(&p->log_end) : hw;
	if (offset < ls || offset > valid) {
		rc = RN_ERANGE;
		goto out_unlock;
	}
	if (limit == READ_LSO)
		hw = lso;
	else if (limit == READ_LEO)
		hw = atomic_load_explicit(&p->log_end, memory_order_acquire);
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
		ri->next_offset = h.base_offset + h.last_offset_delta + 1;
		int64_t seg_next = i + 1 < p->nsegs ? p->segs[i + 1]->base : hw;
		if (batch_size(&h) < max_bytes)
			rc =
			    extend(s, start, max_bytes, hw, end, seg_next, &stop, &ri->next_offset);
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

int rn_partition_read(struct rn_partition *p, int64_t offset, uint32_t max_bytes, bool min_one,
		      struct rn_read_info *ri)
{
	return read_upto(p, offset, max_bytes, min_one, READ_HW, ri);
}

int rn_partition_read_committed(struct rn_partition *p, int64_t offset, uint32_t max_bytes,
				bool min_one, struct rn_read_info *ri)
{
	return read_upto(p, offset, max_bytes, min_one, READ_LSO, ri);
}

int rn_partition_read_replica(struct rn_partition *p, int64_t offset, uint32_t max_bytes,
			      bool min_one, struct rn_read_info *ri)
{
	return read_upto(p, offset, max_bytes, min_one, READ_LEO, ri);
}

/*
 * ListOffsets by time, record-precise as Kafka's LogSegment.findOffsetByTimestamp: the time
 * index gives a position at or before the first batch whose max timestamp is >= ts; from there
 * each such batch is read whole and its records are searched for the first one with timestamp
 * >= ts (and offset >= the log start). Compressed batches are decompressed for that.
 *
 * The broker stores batches opaquely, so a batch's records may be undecodable (a client's bad
 * compressed stream with a good CRC) or larger than we are willing to hold: such a batch
 * answers with its base offset and max timestamp, the batch-granular answer, which is never
 * later than the exact one, so a consumer starting there misses nothing.
 */
#define TS_SCAN_MAX ((size_t)64 << 20) /* bytes of one batch, raw or decompressed */

struct ts_query {
	int64_t ts;   /* target timestamp */
	int64_t from; /* log start offset: records below it are gone */
	int64_t hw;
	struct rn_buf batch;   /* the batch being searched */
	struct rn_buf records; /* its decompressed records */
	int64_t offset, timestamp;
	int32_t epoch; /* partition leader epoch of the batch holding the answer */
};

/* First record in q->batch (size bytes) with timestamp >= q->ts inside [q->from, q->hw).
 * Returns 1 with the answer in q, 0 if none, <0 if the records cannot be decoded. */
static int records_search(struct ts_query *q, size_t size)
{
	struct rn_record_iter it;
	int rc = rn_record_iter_init_any(&it, q->batch.data, size, &q->records, TS_SCAN_MAX);
	if (rc < 0)
		return rc;
	struct rn_record r;
	while ((rc = rn_record_iter_next(&it, &r)) == 1) {
		if (r.timestamp >= q->ts && r.offset >= q->from && r.offset < q->hw) {
			q->offset = r.offset;
			q->timestamp = r.timestamp;
			return 1;
		}
	}
	return rc;
}

/* Searches the batch at pos (header h) of s. Returns 1 with the answer in q, 0 if no record
 * qualifies, <0 on an I/O error. */
static int batch_search(struct rn_partition *p, struct rn_segment *s, uint64_t pos,
			const struct rn_batch_header *h, struct ts_query *q)
{
	uint64_t size = batch_size(h);
	int32_t mmb = atomic_load_explicit(&p->max_message_bytes, memory_order_relaxed);
	int rc = RN_ETOOLARGE;
	if (size <= TS_SCAN_MAX || size <= (uint64_t)mmb) {
		rn_buf_reset(&q->batch);
		ssize_t r =
		    rn_io_pread(s->file->fd, rn_buf_reserve(&q->batch, size), size, (off_t)pos);
		if (r < 0)
			return (int)r;
		if ((uint64_t)r != size)
			return RN_ECORRUPT;
		q->batch.len = size;
		q->epoch = h->partition_leader_epoch;
		rc = records_search(q, size);
		if (rc >= 0)
			return rc;
	}
	rn_warn("partition %s: offset for time: batch at offset %lld not searched (%s), answering "
		"its base offset",
		p->dir, (long long)h->base_offset, rn_strerror(rc));
	q->offset = h->base_offset > q->from ? h->base_offset : q->from;
	q->timestamp = h->max_timestamp;
	q->epoch = h->partition_leader_epoch;
	return 1;
}

/* Searches s from the time index's position on. Returns 1 with the answer in q, 0 if s has
 * none, <0 on error. */
static int time_scan(struct rn_partition *p, struct rn_segment *s, struct ts_query *q)
{
	uint32_t tn = atomic_load_explicit(&s->tidx.n, memory_order_acquire);
	uint32_t on = atomic_load_explicit(&s->oidx.n, memory_order_acquire);
	int64_t rel = rn__tidx_lookup(&s->tidx, tn, q->ts);
	uint64_t end = atomic_load_explicit(&s->size, memory_order_acquire);
	uint64_t at = rel > 0 ? rn__oidx_lookup(&s->oidx, on, (uint32_t)rel) : 0;
	if (at >= end)
		at = 0;
	for (;;) {
		struct rn_batch_header h;
		int rc = rn__read_header(s->file->fd, at, end, &h);
		if (rc <= 0 || h.base_offset >= q->hw)
			return rc < 0 ? rc : 0;
		if (h.max_timestamp >= q->ts && h.base_offset + h.last_offset_delta >= q->from) {
			/* The max timestamp is the client's claim (CreateTime): if no record
			 * backs it, go on with the next batch as Kafka does. */
			rc = batch_search(p, s, at, &h, q);
			if (rc != 0)
				return rc;
		}
		at += batch_size(&h);
	}
}

int rn_partition_offset_for_time(struct rn_partition *p, int64_t ts, int64_t *offset,
				 int64_t *timestamp)
{
	struct rn_offset_found f;
	int rc = rn_partition_find_offset(p, ts, &f);
	*offset = f.offset;
	*timestamp = f.timestamp;
	return rc;
}

int rn_partition_find_offset(struct rn_partition *p, int64_t ts, struct rn_offset_found *f)
{
	*f = (struct rn_offset_found){-1, -1, -1};
	if (atomic_load(&p->offline))
		return RN_EOFFLINE;
	/* Under seglock shared like every read: appends go on; the batch pread and its
	 * decompression only delay a roll or a retention pass. */
	pthread_rwlock_rdlock(&p->seglock);
	struct ts_query q = {.ts = ts,
			     .from = atomic_load(&p->log_start),
			     .hw = atomic_load_explicit(&p->hwm, memory_order_acquire)};
	int rc = 0;
	for (int i = find_segment(p, q.from); i < p->nsegs; i++) {
		struct rn_segment *s = p->segs[i];
		bool active = i == p->nsegs - 1;
		if (!active && rn__seg_max_ts(p, s) < ts)
			continue;
		rc = rn__seg_ensure_open(p, s, active);
		if (rc < 0)
			break;
		rc = time_scan(p, s, &q);
		if (rc < 0)
			break;
		if (rc == 1) {
			*f = (struct rn_offset_found){q.offset, q.timestamp,
						      q.epoch >= 0 ? q.epoch : -1};
			rc = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&p->seglock);
	rn_buf_free(&q.batch);
	rn_buf_free(&q.records);
	return rc;
}

int rn_partition_find_max_timestamp(struct rn_partition *p, struct rn_offset_found *f)
{
	*f = (struct rn_offset_found){-1, -1, -1};
	if (atomic_load(&p->offline))
		return RN_EOFFLINE;
	pthread_rwlock_rdlock(&p->seglock);
	int64_t max = -1;
	for (int i = 0; i < p->nsegs; i++) {
		struct rn_segment *s = p->segs[i];
		int64_t ts = i == p->nsegs - 1 ? atomic_load(&s->max_ts) : rn__seg_max_ts(p, s);
		if (ts > max)
			max = ts;
	}
	pthread_rwlock_unlock(&p->seglock);
	/* The first record carrying the maximum (KIP-734). None when the log is empty or the
	 * maximum came from a segment's mtime (no time index entry) and no record has it. */
	return max < 0 ? 0 : rn_partition_find_offset(p, max, f);
}
