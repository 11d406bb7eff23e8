/*
 * A follower's append (rn_partition_append_replica): batches exactly as the leader stored
 * them, as Kafka's UnifiedLog.appendAsFollower. Nothing in a batch is rewritten; the leader
 * already assigned offsets, leader epochs and LogAppendTime timestamps, checked sequences and
 * sizes. What the follower does:
 *
 *   - checks every whole batch (framing, CRC32C, ascending offsets) before anything is
 *     written, outside p->lock; a batch cut at the end of buf (a fetch response's size limit)
 *     ends the input;
 *   - under p->lock: the first batch must continue the log; the batches go to the page cache
 *     in runs, one pwrite per segment they land in (a fetch may carry more than a segment or
 *     its index holds);
 *   - per batch, in log order: index entries, the leader-epoch cache (a batch of another epoch
 *     starts it at its base offset, Kafka's assign), the producer state without sequence
 *     checks (Kafka's ProducerAppendInfo with origin REPLICATION: the leader decided), and the
 *     transaction state (a transactional batch opens its producer's transaction, a marker
 *     closes it and records an abort), so a follower that becomes leader dedups retries and
 *     keeps the last stable offset as its leader did.
 *
 * Offsets may jump between batches only on a compacted log, where the cleaner removed whole
 * batches on the leader (Kafka accepts any gap; elsewhere a gap means a replication bug, and
 * RN_ERANGE makes it visible).
 */
#include <errno.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/io.h"
#include "core/log.h"
#include "storage/segment.h"

/* Whole, valid batches at the start of buf: *n bytes, *nbatches batches, *first the first
 * header. A batch the buffer cuts short ends the scan; a damaged one fails it. */
static int scan_input(const uint8_t *buf, size_t len, bool gaps, size_t *n, int32_t *nbatches,
		      struct rn_batch_header *first)
{
	size_t off = 0;
	int64_t next = -1;
	*n = 0;
	*nbatches = 0;
	while (len - off >= RN_BATCH_HEADER_SIZE) {
		uint64_t total = rn_batch_total_size(buf + off);
		if (total < RN_BATCH_HEADER_SIZE)
			return RN_ECORRUPT;
		if (total > len - off)
			break; /* partial: the next fetch brings it whole */
		struct rn_batch_header h;
		int64_t rc = rn_batch_validate_stored(buf + off, (size_t)total, &h);
		if (rc < 0)
			return (int)rc;
		if (h.base_offset < 0 || (next >= 0 && h.base_offset < next) ||
		    (next >= 0 && !gaps && h.base_offset != next) ||
		    h.base_offset > INT64_MAX - h.last_offset_delta - 1)
			return RN_ERANGE;
		if (off == 0)
			*first = h;
		next = h.base_offset + h.last_offset_delta + 1;
		(*nbatches)++;
		off += (size_t)total;
	}
	*n = off;
	return 0;
}

/* Producer, transaction and epoch state for one written batch b (header h). Caller holds
 * p->lock. Returns whether the epoch cache changed. */
static bool apply_batch(struct rn_partition *p, const uint8_t *b, const struct rn_batch_header *h,
			int64_t now)
{
	int64_t last = h->base_offset + h->last_offset_delta;
	int32_t epoch = h->partition_leader_epoch;
	bool epochs = false;
	if (epoch >= 0 && (!p->nepochs || p->epochs[p->nepochs - 1].epoch != epoch))
		epochs = rn__epochs_assign(p, epoch, h->base_offset);
	if (h->producer_id < 0)
		return epochs;
	p->had_producers = true;
	if (h->attributes & RN_BATCH_ATTR_CONTROL) {
		int type = rn__control_type(b, (size_t)rn_batch_total_size(b));
		if (type >= 0)
			rn__txn_marker(p, h->producer_id, h->producer_epoch, type == 1,
				       h->base_offset, true, now);
		return epochs;
	}
	struct rn_ps_batch pb = {
	    .first_seq = h->base_sequence,
	    .last_seq = rn_ps_last_seq(h->base_sequence, h->last_offset_delta),
	    .first_offset = h->base_offset,
	    .last_offset = last,
	};
	struct rn_ps_entry *pe = rn_ps_find(&p->ps, h->producer_id);
	rn_ps_record(&p->ps, pe, h->producer_id, h->producer_epoch, &pb, now);
	if (!pe && now + p->cfg.producer_id_expiration_ms < p->ps.next_expiry_ms)
		p->ps.next_expiry_ms = now + p->cfg.producer_id_expiration_ms;
	if (h->attributes & RN_BATCH_ATTR_TRANSACTIONAL)
		rn__txn_begin(p, h->producer_id, h->base_offset);
	return epochs;
}

/* The longest run of batches from buf that goes into segment s, at least one when s is empty
 * (a batch larger than segment_bytes still needs a home). Returns its bytes (0: roll first). */
static size_t run_length(struct rn_partition *p, struct rn_segment *s, const uint8_t *buf,
			 size_t len, int64_t now)
{
	size_t off = 0;
	int32_t k = 0;
	int64_t end = atomic_load(&p->log_end);
	uint64_t size = atomic_load_explicit(&s->size, memory_order_relaxed);
	bool empty = size == 0;
	while (off < len) {
		const uint8_t *b = buf + off;
		size_t total = (size_t)rn_batch_total_size(b);
		int64_t next = (int64_t)rn_be64(b + RN_BATCH_OFF_BASE_OFFSET) +
			       (int32_t)rn_be32(b + RN_BATCH_OFF_LAST_OFFSET_DELTA) + 1;
		/* rn__must_roll lets anything into an empty segment (one append, one segment);
		 * a run is cut at segment_bytes there too. */
		bool fits = !rn__must_roll(p, s, off + total, k + 1, next - end, now) &&
			    size + off + total <= (uint64_t)p->cfg.segment_bytes &&
			    atomic_load(&s->oidx.n) + (uint32_t)k + 1 <= s->oidx.cap &&
			    atomic_load(&s->tidx.n) + (uint32_t)k + 2 <= s->tidx.cap &&
			    next - s->base <= INT32_MAX;
		if (!fits && !(empty && k == 0 && next - s->base <= INT32_MAX))
			break;
		off += total;
		k++;
	}
	return off;
}

/* Writes one run at the end of the active segment and applies its batches. */
static int write_run(struct rn_partition *p, struct rn_segment *s, const uint8_t *buf, size_t len,
		     int64_t now, struct rn_append_info *info, bool *epochs)
{
	int rc = rn__reserve_indexes(p, s, buf, len);
	if (rc < 0) {
		rn__append_failed(p, rc);
		return rc;
	}
	uint64_t pos = atomic_load_explicit(&s->size, memory_order_relaxed);
	rc = rn_io_pwrite(s->file->fd, buf, len, (off_t)pos);
	if (rc < 0) {
		rn__undo_write(p, s, pos, rc);
		return rc;
	}
	if (pos == 0)
		s->created_ms = now;
	atomic_store_explicit(&s->size, pos + len, memory_order_release);
	rn__index_batches(p, s, buf, len, pos);
	int64_t next = 0;
	for (size_t off = 0; off < len;) {
		struct rn_batch_header h;
		rn_batch_header_parse(buf + off, &h);
		*epochs |= apply_batch(p, buf + off, &h, now);
		next = h.base_offset + h.last_offset_delta + 1;
		info->nbatches++;
		info->nrecords += h.records_count;
		info->last_offset = next - 1;
		off += (size_t)h.length + RN_BATCH_LOG_OVERHEAD;
	}
	s->end_offset = next;
	s->dirty = true;
	atomic_fetch_add(&p->total_bytes, len);
	atomic_fetch_add(&p->written_bytes, len);
	atomic_store_explicit(&p->log_end, next, memory_order_release);
	rn__hw_follow_end(p);
	return 0;
}

/* Appends buf[0..len) (whole, validated batches) run by run. Returns the bytes written in
 * *done; an error after some runs were written leaves those in the log. Caller holds
 * p->lock. */
static int append_runs(struct rn_partition *p, const uint8_t *buf, size_t len, int64_t now,
		       size_t *done, struct rn_append_info *info)
{
	int rc = 0;
	bool epochs = false;
	*done = 0;
	while (rc == 0 && *done < len) {
		struct rn_segment *s = p->segs[p->nsegs - 1];
		rc = rn__seg_ensure_open(p, s, true);
		if (rc < 0)
			break;
		size_t run = run_length(p, s, buf + *done, len - *done, now);
		if (run == 0) {
			if (atomic_load(&s->size) == 0) {
				rc = RN_ERANGE; /* offsets beyond what one segment can index */
				break;
			}
			rc = rn__roll(p, now);
			continue;
		}
		rc = write_run(p, s, buf + *done, run, now, info, &epochs);
		if (rc == 0)
			*done += run;
	}
	/* A new epoch reaches the checkpoint now, without fsync (a few syscalls once per
	 * leadership; maintenance makes it durable): after a crash, recovery would only learn
	 * the epochs of the batches it validates, and an epoch's start must not move. */
	if (epochs)
		rn__epochs_write_locked(p, false);
	if (rc < 0 && rc != RN_ERANGE)
		rn__append_failed(p, rc);
	return rc;
}

int rn_partition_append_replica(struct rn_partition *p, const uint8_t *buf, size_t len,
				size_t *used, struct rn_append_info *info)
{
	*used = 0;
	info->base_offset = info->last_offset = -1;
	info->log_append_time = -1;
	info->log_start_offset = atomic_load(&p->log_start);
	info->nbatches = 0;
	info->nrecords = 0;
	info->needs_flush = false;
	info->duplicate = false;
	info->record_errors.n = 0;
	info->record_errors.message = NULL;
	bool gaps = atomic_load_explicit(&p->compact, memory_order_relaxed);
	size_t n;
	int32_t nbatches;
	struct rn_batch_header first = {0};
	int rc = scan_input(buf, len, gaps, &n, &nbatches, &first);
	if (rc < 0 || n == 0)
		return rc;
	/* An empty log restarted at a leader's log start that falls inside a batch (DeleteRecords
	 * moved it there): the fetch brings that whole batch. Kafka's
	 * Partition.appendRecordsToFollowerOrFutureReplica restarts the log at the batch's base;
	 * so do we (outside p->lock: truncation pauses the cleaner first). */
	int64_t end = atomic_load(&p->log_end);
	if (first.base_offset < end && end == atomic_load(&p->log_start) &&
	    first.base_offset + first.last_offset_delta >= end) {
		rn_info("storage: %s: first fetched batch starts at %lld, below the log start %lld "
			"of this empty log: restarting the log there",
			p->dir, (long long)first.base_offset, (long long)end);
		rc = rn_partition_truncate_fully(p, first.base_offset);
		if (rc < 0)
			return rc;
	}
	int64_t now = rn_wall_ms();
	pthread_mutex_lock(&p->lock);
	if (atomic_load(&p->offline)) {
		rc = RN_EOFFLINE;
		goto out_unlock;
	}
	end = atomic_load(&p->log_end);
	if (first.base_offset < end || (first.base_offset > end && !gaps)) {
		rc = RN_ERANGE;
		goto out_unlock;
	}
	info->base_offset = first.base_offset;
	size_t done;
	rc = append_runs(p, buf, n, now, &done, info);
	if (done > 0)
		rc = 0; /* what was written stays; the caller fetches the rest again */
	*used = done;
	p->unflushed_msgs += info->nrecords;
	info->needs_flush = p->unflushed_msgs >= p->cfg.flush_messages;
	info->log_start_offset = atomic_load(&p->log_start);
out_unlock:
	pthread_mutex_unlock(&p->lock);
	if (*used > 0)
		rn__notify(p);
	return rc;
}
