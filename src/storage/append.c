/*
 * The append path. Everything per byte (CRC32C validation, LogAppendTime CRC recomputation)
 * happens before p->lock is taken; under the lock: the idempotent producer's sequence check (one
 * hash lookup, only for batches with a producer id), offset assignment in the batch headers, one
 * pwrite(2) of all batches into the page cache, at most one index entry per batch, counters.
 * No allocation (except for a producer id the partition has not seen), no fsync (the flusher
 * does that).
 */
#include <errno.h>
#include <limits.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/io.h"
#include "core/log.h"
#include "storage/cleaner.h"
#include "storage/segment.h"

int rn__roll(struct rn_partition *p, int64_t now_ms)
{
	struct rn_segment *old = p->segs[p->nsegs - 1], *s;
	int64_t base = atomic_load(&p->log_end);
	if (base == old->base)
		return 0; /* still empty */
	/* Bounds the producer-state replay after a crash to the active segment. A failure only
	 * makes that replay longer. */
	rn__ps_snapshot(p, base, false);
	int rc = rn__seg_create(p, base, &s);
	if (rc < 0)
		return rc;
	s->created_ms = now_ms;
	/* A roll by age may find the active segment closed (idle, or not used since the restart):
	 * its final time index entry and trim need it mapped. */
	if (rn__seg_ensure_open(p, old, true) < 0)
		rn_warn("storage: %s: cannot open %020lld to finish it", p->dir,
			(long long)old->base);
	pthread_rwlock_wrlock(&p->seglock);
	rn__seg_deactivate(p, old, true);
	/* Under the write lock: readers index the array, which may move. */
	rn__push_seg(p, s);
	pthread_rwlock_unlock(&p->seglock);
	return 0;
}

/* Checks every batch (nothing is written unless all are valid) and counts them. *first gets
 * the first batch's header. Control batches come only from the transaction coordinator
 * (marker); Kafka refuses them from clients. */
static int validate_all(struct rn_partition *p, const uint8_t *buf, size_t len, int32_t *nbatches,
			int64_t *noffsets, int64_t *nrecords, struct rn_batch_header *first,
			bool marker)
{
	int32_t max = atomic_load_explicit(&p->max_message_bytes, memory_order_relaxed);
	size_t off = 0;
	*nbatches = 0;
	*noffsets = 0;
	*nrecords = 0;
	bool idempotent = false;
	if (len == 0)
		return RN_ECORRUPT;
	while (off < len) {
		struct rn_batch_header h;
		int64_t total = rn_batch_validate(buf + off, len - off, max, off ? &h : first);
		if (total < 0)
			return (int)total;
		if (off == 0)
			h = *first;
		if (((h.attributes & RN_BATCH_ATTR_CONTROL) != 0) != marker ||
		    ((h.attributes & RN_BATCH_ATTR_TRANSACTIONAL) && h.producer_id < 0))
			return RN_EINVALID;
		idempotent |= h.producer_id >= 0;
		(*nbatches)++;
		*noffsets += (int64_t)h.last_offset_delta + 1;
		*nrecords += h.records_count;
		off += (size_t)total;
	}
	/* Kafka takes exactly one batch per partition from Produce v3 on; with idempotence that
	 * matters, since a retry is recognised by its batch. */
	if (idempotent && *nbatches > 1)
		return RN_EINVALID;
	if (idempotent && first->base_sequence < 0 && !marker)
		return RN_EOUTOFORDER;
	return 0;
}

bool rn__must_roll(struct rn_partition *p, struct rn_segment *s, size_t len, int32_t nbatches,
		   int64_t noffsets, int64_t now)
{
	uint64_t size = atomic_load_explicit(&s->size, memory_order_relaxed);
	if (size == 0)
		return false;
	if (size + len > (uint64_t)p->cfg.segment_bytes)
		return true;
	if (p->cfg.roll_ms >= 0 && now - s->created_ms >= p->cfg.roll_ms)
		return true;
	/* Index capacity (one entry per batch at most, plus the final time entry) and relative
	 * offsets that must fit in 32 bits. */
	if (atomic_load(&s->oidx.n) + (uint32_t)nbatches > s->oidx.cap ||
	    atomic_load(&s->tidx.n) + (uint32_t)nbatches + 1 > s->tidx.cap)
		return true;
	return atomic_load(&p->log_end) + noffsets - s->base > INT32_MAX;
}

/* Index entries for the batches just written at pos (same rule as recovery.c's scan; counted
 * ahead by reserve_indexes). */
void rn__index_batches(struct rn_partition *p, struct rn_segment *s, const uint8_t *buf, size_t len,
		       uint64_t pos)
{
	uint64_t interval = (uint64_t)p->cfg.index_interval_bytes;
	int64_t max_ts = atomic_load_explicit(&s->max_ts, memory_order_relaxed);
	for (size_t off = 0; off < len;) {
		const uint8_t *b = buf + off;
		uint64_t total = rn_batch_total_size(b);
		int64_t base = (int64_t)rn_be64(b + RN_BATCH_OFF_BASE_OFFSET);
		int64_t ts = (int64_t)rn_be64(b + RN_BATCH_OFF_MAX_TIMESTAMP);
		if (ts > max_ts) {
			max_ts = ts;
			s->max_ts_off = base;
		}
		uint64_t at = pos + off;
		if (at > 0 && s->bytes_since_index >= interval) {
			rn__oidx_append(&s->oidx, (uint32_t)(base - s->base), (uint32_t)at);
			if (max_ts > rn__tidx_last_ts(&s->tidx, atomic_load(&s->tidx.n)))
				rn__tidx_append(&s->tidx, max_ts,
						(uint32_t)(s->max_ts_off - s->base));
			s->bytes_since_index = 0;
		}
		s->bytes_since_index += total;
		off += (size_t)total;
	}
	atomic_store_explicit(&s->max_ts, max_ts, memory_order_relaxed);
}

/* At most one line per 5 s: on a full disk every produce fails. */
void rn__append_failed(struct rn_partition *p, int err)
{
	rn_log_every(5000, RN_LOG_WARN, "storage: %s: append failed: %s", p->dir, rn_strerror(err));
}

/* A failed write may have left a torn batch in the file: cut it off. If even that fails the
 * log can no longer be trusted, and the partition goes offline. */
void rn__undo_write(struct rn_partition *p, struct rn_segment *s, uint64_t pos, int err)
{
	int rc = rn_io_ftruncate(s->file->fd, (off_t)pos);
	if (rc < 0) {
		atomic_store(&p->offline, true);
		rn_error("storage: %s: append failed (%s) and truncate failed (%s): partition "
			 "offline",
			 p->dir, rn_strerror(err), rn_strerror(rc));
	} else {
		rn__append_failed(p, err);
	}
}

/* Blocks for the index entries this append will add (counted ahead with index_batches' rule),
 * allocated before anything goes to the log: on a full disk the append fails cleanly instead
 * of a store into the index mapping raising SIGBUS. Only blocks that entries need: a partition
 * with a few small batches allocates none, so trimming its index files frees nothing (each
 * freed block costs a synchronous discard on a file system mounted with -o discard). The final
 * time entry of deactivation reserves its own. */
int rn__reserve_indexes(struct rn_partition *p, struct rn_segment *s, const uint8_t *buf,
			size_t len)
{
	uint64_t interval = (uint64_t)p->cfg.index_interval_bytes, since = s->bytes_since_index;
	uint64_t pos = atomic_load_explicit(&s->size, memory_order_relaxed);
	int64_t max_ts = atomic_load_explicit(&s->max_ts, memory_order_relaxed);
	uint32_t on = atomic_load_explicit(&s->oidx.n, memory_order_relaxed);
	uint32_t tn = atomic_load_explicit(&s->tidx.n, memory_order_relaxed);
	int64_t last_ts = rn__tidx_last_ts(&s->tidx, tn);
	for (size_t off = 0; off < len;) {
		uint64_t total = rn_batch_total_size(buf + off);
		int64_t ts = (int64_t)rn_be64(buf + off + RN_BATCH_OFF_MAX_TIMESTAMP);
		max_ts = ts > max_ts ? ts : max_ts;
		if (pos + off > 0 && since >= interval) {
			on++;
			tn += max_ts > last_ts;
			last_ts = max_ts > last_ts ? max_ts : last_ts;
			since = 0;
		}
		since += total;
		off += (size_t)total;
	}
	int rc = rn__index_reserve(p, s, false, on);
	if (rc == 0)
		rc = rn__index_reserve(p, s, true, tn);
	return rc;
}

/* An exact retry of a batch already in the log: its original offsets, nothing written. The
 * retry is acknowledged like its original, so it too waits for a flush when acks follow
 * fsyncs and the original may not be on disk yet. Caller holds p->lock. */
static void duplicate(struct rn_partition *p, const struct rn_ps_batch *dup,
		      struct rn_append_info *info)
{
	info->base_offset = dup->first_offset;
	info->last_offset = dup->last_offset;
	info->log_append_time = -1;
	info->log_start_offset = atomic_load(&p->log_start);
	info->nbatches = 0;
	info->nrecords = 0;
	info->needs_flush = p->cfg.flush_messages != INT64_MAX &&
			    dup->last_offset >= atomic_load(&p->recovery_point);
	info->duplicate = true;
}

/* A client's batches (marker < 0) or a transaction marker (0 ABORT, 1 COMMIT). */
static int append(struct rn_partition *p, uint8_t *buf, size_t len, struct rn_append_info *info,
		  int marker)
{
	int32_t nbatches;
	int64_t noffsets, nrecords;
	struct rn_batch_header h;
	info->record_errors.n = 0; /* filled only by a check that refuses particular records */
	info->record_errors.message = NULL;
	int rc = validate_all(p, buf, len, &nbatches, &noffsets, &nrecords, &h, marker >= 0);
	if (rc == 0 && marker < 0 && atomic_load_explicit(&p->compact, memory_order_relaxed))
		rc = rn_cleaner_check_keys(buf, len, &info->record_errors);
	if (rc < 0)
		return rc;
	info->duplicate = false;
	int64_t now = rn_wall_ms();
	info->log_append_time = -1;
	if (atomic_load_explicit(&p->log_append_time, memory_order_relaxed)) {
		for (size_t off = 0; off < len; off += rn_batch_total_size(buf + off))
			rn_batch_set_log_append_time(buf + off, now);
		info->log_append_time = now;
	}

	pthread_mutex_lock(&p->lock);
	if (atomic_load(&p->offline)) {
		rc = RN_EOFFLINE;
		goto out_unlock;
	}
	/* Sequence check and append under one lock hold: a retry racing its original on another
	 * connection sees either nothing (and is appended) or the original (a duplicate). */
	struct rn_ps_entry *pe = NULL;
	struct rn_ps_batch pb = {0};
	if (h.producer_id >= 0 && marker < 0) {
		pb.first_seq = h.base_sequence;
		pb.last_seq = rn_ps_last_seq(h.base_sequence, h.last_offset_delta);
		pe = rn_ps_find(&p->ps, h.producer_id);
		struct rn_ps_batch dup;
		rc = rn_ps_check(pe, h.producer_epoch, pb.first_seq, pb.last_seq, &dup);
		if (rc == RN_EDUPLICATE) {
			duplicate(p, &dup, info);
			rc = 0;
		}
		if (rc < 0 || info->duplicate)
			goto out_unlock;
	}
	struct rn_segment *s = p->segs[p->nsegs - 1];
	rc = rn__seg_ensure_open(p, s, true);
	if (rc == 0 && rn__must_roll(p, s, len, nbatches, noffsets, now)) {
		rc = rn__roll(p, now);
		s = p->segs[p->nsegs - 1];
	}
	if (rc == 0)
		rc = rn__reserve_indexes(p, s, buf, len);
	if (rc < 0) {
		rn__append_failed(p, rc);
		goto out_unlock;
	}

	int64_t base = atomic_load(&p->log_end), next = base;
	int32_t epoch = atomic_load(&p->leader_epoch);
	for (size_t off = 0; off < len;) {
		uint8_t *b = buf + off;
		rn_batch_set_base_offset(b, next);
		rn_batch_set_leader_epoch(b, epoch);
		next += (int64_t)(int32_t)rn_be32(b + RN_BATCH_OFF_LAST_OFFSET_DELTA) + 1;
		off += (size_t)rn_batch_total_size(b);
	}
	uint64_t pos = atomic_load_explicit(&s->size, memory_order_relaxed);
	rc = rn_io_pwrite(s->file->fd, buf, len, (off_t)pos);
	if (rc < 0) {
		rn__undo_write(p, s, pos, rc);
		goto out_unlock;
	}
	if (pos == 0)
		s->created_ms = now;
	/* Size first, index entries after: a reader may miss a fresh entry (harmless) but never
	 * sees one beyond the data. */
	atomic_store_explicit(&s->size, pos + len, memory_order_release);
	rn__index_batches(p, s, buf, len, pos);
	s->end_offset = next;
	s->dirty = true;
	/* Kafka's append assigns the batch's epoch to the epoch cache: a no-op once the epoch has
	 * its entry (set or become_leader made it), which the first append otherwise makes. */
	if (!p->nepochs || p->epochs[p->nepochs - 1].epoch != epoch)
		rn__epochs_assign(p, epoch, base);
	/* Transaction state before the high watermark: a read_committed reader that sees the new
	 * high watermark must also see the transaction it opens (the LSO stays below it). */
	if (h.producer_id >= 0 && marker < 0) {
		pb.first_offset = base;
		pb.last_offset = next - 1;
		bool fresh = !pe;
		rn_ps_record(&p->ps, pe, h.producer_id, h.producer_epoch, &pb, now);
		p->had_producers = true;
		if (fresh && now + p->cfg.producer_id_expiration_ms < p->ps.next_expiry_ms)
			p->ps.next_expiry_ms = now + p->cfg.producer_id_expiration_ms;
		if (h.attributes & RN_BATCH_ATTR_TRANSACTIONAL)
			rn__txn_begin(p, h.producer_id, base);
	} else if (marker >= 0) {
		rn__txn_marker(p, h.producer_id, h.producer_epoch, marker == 1, base, true, now);
		p->had_producers = true;
	}
	atomic_fetch_add(&p->total_bytes, len);
	atomic_fetch_add(&p->written_bytes, len);
	atomic_store_explicit(&p->log_end, next, memory_order_release);
	rn__hw_follow_end(p);
	p->unflushed_msgs += nrecords;
	info->needs_flush = p->unflushed_msgs >= p->cfg.flush_messages;
	info->base_offset = base;
	info->last_offset = next - 1;
	info->log_start_offset = atomic_load(&p->log_start);
	info->nbatches = nbatches;
	info->nrecords = nrecords;
out_unlock:
	pthread_mutex_unlock(&p->lock);
	if (rc == 0 && !info->duplicate)
		rn__notify(p);
	return rc;
}

int rn_partition_append(struct rn_partition *p, uint8_t *buf, size_t len,
			struct rn_append_info *info)
{
	return append(p, buf, len, info, -1);
}

int rn_partition_append_marker(struct rn_partition *p, int64_t pid, int16_t epoch, bool commit,
			       int32_t coordinator_epoch, struct rn_append_info *info)
{
	uint8_t b[RN_BATCH_HEADER_SIZE + 32];
	size_t len = rn__marker_build(b, pid, epoch, commit, coordinator_epoch, rn_wall_ms());
	return append(p, b, len, info, commit ? 1 : 0);
}
