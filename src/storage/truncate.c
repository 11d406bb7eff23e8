/*
 * Truncation of a follower's log (partition.h, "Replication"): rn_partition_truncate_to, as
 * Kafka's UnifiedLog.truncateTo / LogSegment.truncateTo, and rn_partition_truncate_fully, as
 * truncateFullyAndStartAt.
 *
 * Both run under p->lock from start to end, syncs included: truncation happens on leader
 * changes only, and an append racing with it must see either the old log or the new one.
 * seglock is held exclusively from the change of the segment array to the reopening of the
 * cut segment (readers wait for those few syscalls and syncs), so no reader scans what is
 * being removed or opens a half-cut segment; readers already sending from a removed or cut
 * file keep its fd through their rn_fileref (a send past the new end closes that connection,
 * never the process).
 *
 * Order on disk, so that a crash at any point leaves a prefix of the old log, which is a log
 * recovery accepts as it is (a crash never leaves a hole or old data after new data):
 *
 *   1. unlink whole segments above the cut, highest first, and producer snapshots above
 *      the new end;
 *   2. fsync the directory: the names are gone before the next step shortens a file;
 *   3. ftruncate the segment holding the cut at the first removed batch, fdatasync it
 *      (without it, data appended later at the same position could reach the disk while the
 *      old bytes after it come back);
 *   4. trim its index files to the entries below the cut (a stale entry would only make the
 *      next open rebuild the index) and reopen it as the active segment;
 *   5. rewrite the leader-epoch checkpoint (entries at or after the new end removed).
 * The producer and transaction state are then rebuilt from the newest producer snapshot at or
 * below the new end (rn__ps_reload). Any I/O failure takes the partition offline: the next
 * open recovers a consistent log from whatever the steps left.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/io.h"
#include "core/log.h"
#include "storage/segment.h"

/* Waits for a clean of p to stop and keeps new ones out (their segments are about to change).
 * Returns the previous abort flag for resume_cleaning. Taken before p->lock, as the cleaner
 * does. */
static bool pause_cleaning(struct rn_partition *p)
{
	bool prev = atomic_exchange(&p->clean_abort, true);
	pthread_mutex_lock(&p->clean_mu);
	return prev;
}

static void resume_cleaning(struct rn_partition *p, bool prev)
{
	if (!prev)
		atomic_store(&p->clean_abort, false);
	pthread_mutex_unlock(&p->clean_mu);
}

static void fail(struct rn_partition *p, const char *what, int rc)
{
	atomic_store(&p->offline, true);
	rn_error("storage: %s: truncation failed (%s: %s), partition offline", p->dir, what,
		 rn_strerror(rc));
}

/* Unlinks the files of the segment at base, the .log first (without it the rest are
 * leftovers the next open removes). */
static int unlink_segment(struct rn_partition *p, int64_t base)
{
	static const char *const exts[] = {".log", ".index", ".timeindex", ".txnindex"};
	char path[PATH_MAX];
	for (int i = 0; i < 4; i++) {
		rn__seg_path(p, base, exts[i], path);
		int rc = rn_io_unlink(path);
		if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	return 0;
}

/* Step 1 for segments gone[0..n) (ascending) and snapshots above end. */
static int unlink_above(struct rn_partition *p, struct rn_segment **gone, int n, int64_t end)
{
	for (int j = n - 1; j >= 0; j--) {
		int rc = unlink_segment(p, gone[j]->base);
		if (rc < 0)
			return rc;
	}
	char path[PATH_MAX];
	for (int k = p->nsnaps - 1; k >= 0 && p->snaps[k] > end; k--) {
		rn__seg_path(p, p->snaps[k], ".snapshot", path);
		int rc = rn_io_unlink(path);
		if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	p->dir_dirty = true;
	return 0;
}

/* Where segment s is cut for offset: the position of the first batch whose last offset is at
 * or above offset (s's size if none), and the new log end: offset, or the base of that batch
 * when offset falls inside it. */
struct cut {
	uint64_t pos;
	int64_t end;
	uint32_t okeep, tkeep; /* index entries below the cut */
	int64_t max_ts, max_ts_off;
};

static int find_cut(struct rn_segment *s, int64_t offset, struct cut *c)
{
	uint64_t size = atomic_load(&s->size);
	uint32_t on = atomic_load(&s->oidx.n), tn = atomic_load(&s->tidx.n);
	int64_t rel = offset - s->base;
	uint64_t at =
	    rel > 0 ? rn__oidx_lookup(&s->oidx, on, rel > UINT32_MAX ? UINT32_MAX : (uint32_t)rel)
		    : 0;
	if (at >= size)
		at = 0;
	c->pos = size;
	c->end = offset;
	struct rn_batch_header h;
	int rc;
	while ((rc = rn__read_header(s->file->fd, at, size, &h)) > 0) {
		if (h.base_offset + h.last_offset_delta >= offset) {
			c->pos = at;
			c->end = h.base_offset < offset ? h.base_offset : offset;
			break;
		}
		at += (uint64_t)h.length + RN_BATCH_LOG_OVERHEAD;
	}
	if (rc < 0)
		return rc;
	c->okeep = 0;
	while (c->okeep < on && rn__oidx_pos(&s->oidx, c->okeep) < c->pos)
		c->okeep++;
	c->tkeep = 0;
	while (c->tkeep < tn &&
	       s->base + rn_be32(s->tidx.map + (size_t)c->tkeep * RN_TIDX_ENTRY + 8) < c->end)
		c->tkeep++;
	return 0;
}

/* The maximum timestamp of what stays of s: the last kept time index entry covers the
 * batches up to the last kept offset index entry; the headers after it are read. */
static int kept_max_ts(struct rn_segment *s, struct cut *c)
{
	c->max_ts = -1;
	c->max_ts_off = -1;
	if (c->tkeep > 0) {
		const uint8_t *e = s->tidx.map + (size_t)(c->tkeep - 1) * RN_TIDX_ENTRY;
		c->max_ts = (int64_t)rn_be64(e);
		c->max_ts_off = s->base + rn_be32(e + 8);
	}
	uint64_t at = c->okeep ? rn__oidx_pos(&s->oidx, c->okeep - 1) : 0;
	struct rn_batch_header h;
	int rc;
	while ((rc = rn__read_header(s->file->fd, at, c->pos, &h)) > 0) {
		if (h.max_timestamp > c->max_ts) {
			c->max_ts = h.max_timestamp;
			c->max_ts_off = h.base_offset;
		}
		at += (uint64_t)h.length + RN_BATCH_LOG_OVERHEAD;
	}
	return rc;
}

/* Closes s's file and index mappings (the index files trimmed to their used entries). Caller
 * holds p->lock and seglock exclusively. */
static void close_segment(struct rn_partition *p, struct rn_segment *s)
{
	pthread_mutex_lock(&p->lazy);
	rn__seg_deactivate(p, s, false);
	rn__index_unmap(&s->oidx);
	rn__index_unmap(&s->tidx);
	s->idx_state = RN_IDX_UNLOADED;
	if (s->file) {
		rn_fileref_put(s->file);
		s->file = NULL;
	}
	pthread_mutex_unlock(&p->lazy);
}

/* Steps 3 and 4 for the segment s (files closed): cut, sync, trim the indexes, reopen it as
 * the active segment. Caller holds p->lock and seglock exclusively. */
static int cut_segment(struct rn_partition *p, struct rn_segment *s, const struct cut *c,
		       const char **what)
{
	char path[PATH_MAX];
	rn__seg_path(p, s->base, ".log", path);
	*what = "open";
	int fd = rn_io_open(path, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	*what = "ftruncate";
	int rc = rn_io_ftruncate(fd, (off_t)c->pos);
	if (rc == 0) {
		*what = "fdatasync";
		rc = rn_io_fdatasync(fd);
	}
	rn_io_close(fd);
	if (rc < 0)
		return rc;
	*what = "index";
	rn__seg_path(p, s->base, ".index", path);
	rc = rn__index_patch_file(path, (size_t)c->okeep * RN_OIDX_ENTRY, NULL, 0);
	if (rc == 0) {
		rn__seg_path(p, s->base, ".timeindex", path);
		rc = rn__index_patch_file(path, (size_t)c->tkeep * RN_TIDX_ENTRY, NULL, 0);
	}
	if (rc < 0)
		return rc;
	s->max_ts = c->max_ts;
	s->max_ts_off = c->max_ts_off;
	s->end_offset = c->end;
	s->created_ms = rn_wall_ms();
	s->dirty = false;
	*what = "reopen";
	return rn__seg_ensure_open(p, s, true);
}

/* Lowers the offsets above the new end e. Caller holds p->lock. */
static void lower_offsets(struct rn_partition *p, int64_t e)
{
	atomic_fetch_add(&p->trunc_gen, 1);
	atomic_store(&p->log_end, e);
	if (atomic_load(&p->hwm) > e || !atomic_load(&p->replicated))
		atomic_store(&p->hwm, e);
	if (atomic_load(&p->recovery_point) > e)
		atomic_store(&p->recovery_point, e);
	if (atomic_load(&p->log_start) > e)
		atomic_store(&p->log_start, e);
	if (atomic_load(&p->clean_point) > e)
		atomic_store(&p->clean_point, e);
	while (p->ntxnfiles > 0 && p->txnfiles[p->ntxnfiles - 1] > p->segs[p->nsegs - 1]->base)
		p->ntxnfiles--;
}

/* Producer, transaction and epoch state after the log was cut at e. The rebuilt producer
 * state is snapshotted at e (as Kafka's rebuildProducerState): when the cut went below the
 * kept snapshots, the next open would otherwise replay only the last two segments. A failed
 * snapshot only costs that. */
static int rebuild_state(struct rn_partition *p, int64_t e)
{
	rn__epochs_truncate_end(p, e);
	int rc = rn__epochs_write_locked(p, true);
	if (rc == 0)
		rc = rn__ps_reload(p, e);
	if (rc == 0 && (p->ps.n > 0 || p->had_producers) &&
	    !(p->nsnaps && p->snaps[p->nsnaps - 1] == e))
		rn__ps_snapshot(p, e, true);
	return rc;
}

/* Truncation inside the log: first segment base <= offset < log end. Caller holds p->lock. */
static int truncate_inside(struct rn_partition *p, int64_t offset)
{
	int i = p->nsegs - 1;
	while (i > 0 && p->segs[i]->base > offset)
		i--;
	struct rn_segment *s = p->segs[i];
	const char *what = "open";
	int rc = rn__seg_ensure_open(p, s, i == p->nsegs - 1);
	struct cut c;
	if (rc == 0) {
		what = "read";
		rc = find_cut(s, offset, &c);
	}
	if (rc == 0)
		rc = kept_max_ts(s, &c);
	if (rc < 0)
		goto out_fail;
	/* Readers wait on seglock until the cut segment is whole again: one that came in between
	 * would open it (and check its index) before the file and index are cut. Truncation is
	 * rare; they wait for its syncs. */
	int n = p->nsegs - i - 1;
	struct rn_segment **gone = n ? rn_malloc((size_t)n * sizeof(*gone)) : NULL;
	uint64_t freed = atomic_load(&s->size) - c.pos;
	pthread_rwlock_wrlock(&p->seglock);
	for (int j = 0; j < n; j++) {
		gone[j] = p->segs[i + 1 + j];
		freed += atomic_load(&gone[j]->size);
	}
	p->nsegs = i + 1;
	p->seg_gen++;
	atomic_store(&s->size, c.pos);
	atomic_fetch_sub(&p->total_bytes, freed);
	close_segment(p, s);
	lower_offsets(p, c.end);
	what = "unlink";
	rc = unlink_above(p, gone, n, c.end);
	for (int j = 0; j < n; j++)
		rn__seg_free(gone[j]);
	rn_free(gone);
	if (rc == 0) {
		what = "fsync dir";
		rc = rn_io_fsync_dir(p->dir);
	}
	if (rc == 0)
		rc = cut_segment(p, s, &c, &what);
	if (rc < 0)
		atomic_store(&p->offline, true); /* before readers go on */
	pthread_rwlock_unlock(&p->seglock);
	if (rc == 0) {
		what = "state";
		rc = rebuild_state(p, c.end);
	}
	if (rc < 0)
		goto out_fail;
	rn_info("storage: %s: truncated to %lld (asked %lld), %d segment(s) deleted", p->dir,
		(long long)c.end, (long long)offset, n);
	return 0;
out_fail:
	fail(p, what, rc);
	return rc;
}

/* Everything goes and the log restarts empty at offset. Caller holds p->lock. */
static int truncate_all(struct rn_partition *p, int64_t offset)
{
	int n = p->nsegs;
	struct rn_segment **gone = rn_malloc((size_t)n * sizeof(*gone));
	pthread_rwlock_wrlock(&p->seglock);
	memcpy(gone, p->segs, (size_t)n * sizeof(*gone));
	p->nsegs = 0;
	p->seg_gen++;
	atomic_store(&p->total_bytes, 0);
	/* seglock stays exclusive until the new segment is in the array: readers index it. */
	const char *what = "unlink";
	/* Every snapshot goes too: the log they describe is gone. */
	int rc = unlink_above(p, gone, n, -1);
	for (int j = 0; j < n; j++)
		rn__seg_free(gone[j]);
	rn_free(gone);
	if (rc == 0) {
		what = "fsync dir";
		rc = rn_io_fsync_dir(p->dir);
	}
	struct rn_segment *s = NULL;
	if (rc == 0) {
		what = "create";
		rc = rn__seg_create(p, offset, &s);
	}
	if (rc == 0) {
		what = "fsync dir";
		rc = rn_io_fsync_dir(p->dir);
	}
	/* Even on failure the array never stays empty: close and reads index it. */
	if (!s)
		s = rn__seg_new(offset);
	rn__push_seg(p, s);
	s->created_ms = rn_wall_ms();
	if (rc < 0)
		atomic_store(&p->offline, true);
	pthread_rwlock_unlock(&p->seglock);
	if (rc < 0) {
		fail(p, what, rc);
		return rc;
	}
	atomic_fetch_add(&p->trunc_gen, 1);
	atomic_store(&p->log_start, offset);
	atomic_store(&p->log_end, offset);
	atomic_store(&p->hwm, offset);
	atomic_store(&p->recovery_point, offset);
	atomic_store(&p->clean_point, offset);
	p->ntxnfiles = 0;
	p->nsnaps = 0; /* their files went in unlink_above */
	p->nepochs = 0;
	p->epochs_gen++;
	p->epochs_bump_only = false;
	rc = rebuild_state(p, offset);
	if (rc < 0) {
		fail(p, "state", rc);
		return rc;
	}
	rn_info("storage: %s: emptied, restarting at offset %lld", p->dir, (long long)offset);
	return 0;
}

int rn_partition_truncate_to(struct rn_partition *p, int64_t offset)
{
	if (offset < 0)
		return RN_EINVALID;
	if (atomic_load(&p->offline))
		return RN_EOFFLINE;
	bool prev = pause_cleaning(p);
	pthread_mutex_lock(&p->lock);
	int rc = 0;
	if (atomic_load(&p->offline)) {
		rc = RN_EOFFLINE;
	} else if (offset >= atomic_load(&p->log_end)) {
		/* Nothing to cut, but an epoch entry at the end may conflict with the new leader's
		 * (Kafka truncates the epoch cache from the end in this case too). */
		rn__epochs_truncate_end(p, offset);
		rc = rn__epochs_write_locked(p, true);
	} else if (offset < p->segs[0]->base) {
		rc = truncate_all(p, offset);
	} else {
		rc = truncate_inside(p, offset);
	}
	pthread_mutex_unlock(&p->lock);
	resume_cleaning(p, prev);
	return rc;
}

int rn_partition_truncate_fully(struct rn_partition *p, int64_t offset)
{
	if (offset < 0)
		return RN_EINVALID;
	if (atomic_load(&p->offline))
		return RN_EOFFLINE;
	bool prev = pause_cleaning(p);
	pthread_mutex_lock(&p->lock);
	int rc = atomic_load(&p->offline) ? RN_EOFFLINE : truncate_all(p, offset);
	pthread_mutex_unlock(&p->lock);
	resume_cleaning(p, prev);
	return rc;
}
