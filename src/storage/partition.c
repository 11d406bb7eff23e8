/*
 * Partition lifecycle: open (directory listing, recovery), close, delete, flush, getters and
 * waiters. Appends are in append.c, reads in read.c, housekeeping in retention.c.
 *
 * Opening is lazy: it lists the directory, stats each .log, and runs recovery from the
 * recovery point, which after a clean shutdown reads one index entry and the batch headers
 * after it. No file descriptor or mapping stays open; the active segment is opened on first
 * append or read, old segments on first read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/io.h"
#include "core/log.h"
#include "storage/segment.h"

static void sanitize(struct rn_log_config *c)
{
	if (c->segment_bytes < 64)
		c->segment_bytes = 64;
	if (c->segment_bytes > INT32_MAX)
		c->segment_bytes = INT32_MAX;
	if (c->index_interval_bytes < 0)
		c->index_interval_bytes = 0;
	if (c->segment_index_bytes < 4 * RN_TIDX_ENTRY)
		c->segment_index_bytes = 4 * RN_TIDX_ENTRY;
	if (c->flush_messages < 1)
		c->flush_messages = 1;
	if (c->producer_id_expiration_ms < 1)
		c->producer_id_expiration_ms = 1;
	if (c->idle_close_ms <= 0)
		c->idle_close_ms = RN_IDLE_CLOSE_MS_DEFAULT;
}

void rn_partition_set_config(struct rn_partition *p, const struct rn_log_config *cfg)
{
	pthread_mutex_lock(&p->lock);
	p->cfg = *cfg;
	sanitize(&p->cfg);
	atomic_store(&p->max_message_bytes, p->cfg.max_message_bytes);
	atomic_store(&p->log_append_time, p->cfg.log_append_time);
	atomic_store(&p->compact, p->cfg.cleanup_compact);
	pthread_mutex_unlock(&p->lock);
}

void rn_partition_get_config(struct rn_partition *p, struct rn_log_config *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->cfg;
	pthread_mutex_unlock(&p->lock);
}

static int cmp_seg(const void *a, const void *b)
{
	int64_t x = (*(struct rn_segment *const *)a)->base,
		y = (*(struct rn_segment *const *)b)->base;
	return x < y ? -1 : x > y;
}

void rn__push_seg(struct rn_partition *p, struct rn_segment *s)
{
	if (p->nsegs == p->segcap) {
		p->segcap = p->segcap ? p->segcap * 2 : 2;
		p->segs = rn_realloc(p->segs, (size_t)p->segcap * sizeof(*p->segs));
	}
	p->segs[p->nsegs++] = s;
}

/* A live file's base ("<20 digits><ext>") or -1. */
static int64_t parse_name(const char *name, const char *ext)
{
	return rn__seg_name_base(name, ext, "");
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcmp(s + n - m, suf);
}

/* Drops what list_segments found so far. */
static void forget_listing(struct rn_partition *p)
{
	for (int i = 0; i < p->nsegs; i++)
		rn__seg_free(p->segs[i]);
	p->nsegs = 0;
	p->nsnaps = 0;
	p->ntxnfiles = 0;
}

/* Lists segments (stat'ing each .log) and producer snapshots, and removes leftovers: temporary
 * files and index files without a .log. Returns 1, listing nothing, when the cleaner's swap
 * files are there: the caller lets the cleaner recover them first, then lists again. */
static int list_segments(struct rn_partition *p)
{
	DIR *d = opendir(p->dir);
	if (!d)
		return -errno;
	int dfd = dirfd(d);
	struct dirent *e;
	int nindex = 0;
	while ((e = readdir(d))) {
		int64_t base = parse_name(e->d_name, ".log");
		if (parse_name(e->d_name, ".index") >= 0 ||
		    parse_name(e->d_name, ".timeindex") >= 0)
			nindex++;
		if (base >= 0) {
			struct stat st;
			if (fstatat(dfd, e->d_name, &st, 0) < 0)
				continue;
			struct rn_segment *s = rn__seg_new(base);
			atomic_store(&s->size, (uint64_t)st.st_size);
			rn__push_seg(p, s);
		} else if ((base = parse_name(e->d_name, ".snapshot")) >= 0) {
			rn__ps_add_snapshot(p, base);
		} else if ((base = parse_name(e->d_name, ".txnindex")) >= 0) {
			rn__txn_add_file(p, base);
		} else if (has_suffix(e->d_name, ".tmp") || has_suffix(e->d_name, ".deleted")) {
			unlinkat(dfd, e->d_name, 0);
		} else if (has_suffix(e->d_name, ".cleaned") || has_suffix(e->d_name, ".swap")) {
			closedir(d);
			forget_listing(p);
			return 1;
		}
	}
	closedir(d);
	if (p->nsegs > 1)
		qsort(p->segs, (size_t)p->nsegs, sizeof(*p->segs), cmp_seg);
	/* At most two index files per segment: more means orphans, found in a second pass now
	 * that the bases are sorted. */
	if (nindex <= 2 * p->nsegs)
		return 0;
	d = opendir(p->dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		int64_t base = parse_name(e->d_name, ".index");
		if (base < 0)
			base = parse_name(e->d_name, ".timeindex");
		if (base < 0)
			continue;
		struct rn_segment key = {.base = base}, *kp = &key;
		if (!p->nsegs ||
		    !bsearch(&kp, p->segs, (size_t)p->nsegs, sizeof(*p->segs), cmp_seg))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	return 0;
}

static void init_locks(struct rn_partition *p)
{
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->lazy, NULL);
	pthread_mutex_init(&p->wlock, NULL);
	pthread_mutex_init(&p->ewlock, NULL);
	pthread_mutex_init(&p->clean_mu, NULL);
	pthread_rwlockattr_t a;
	pthread_rwlockattr_init(&a);
	/* Roll and retention must not starve behind a stream of fetches. */
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&p->seglock, &a);
	pthread_rwlockattr_destroy(&a);
	p->waiters.next = p->waiters.prev = &p->waiters;
	rn_ps_init(&p->ps);
	atomic_init(&p->ckpt_hw, -1);
}

static void free_partition(struct rn_partition *p)
{
	for (int i = 0; i < p->nsegs; i++)
		rn__seg_free(p->segs[i]);
	rn_free(p->segs);
	rn_ps_free(&p->ps);
	rn_free(p->snaps);
	rn__txn_free(p);
	rn_free(p->epochs);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->lazy);
	pthread_mutex_destroy(&p->wlock);
	pthread_mutex_destroy(&p->ewlock);
	pthread_mutex_destroy(&p->clean_mu);
	pthread_rwlock_destroy(&p->seglock);
	rn_free(p->dir);
	rn_free(p);
}

/* A new partition gets its first (empty) segment file now, without keeping it open. */
static int first_segment(struct rn_partition *p, int64_t base)
{
	char path[PATH_MAX];
	rn__seg_path(p, base, ".log", path);
	int fd = rn_io_open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return fd;
	rn_io_close(fd);
	struct rn_segment *s = rn__seg_new(base);
	rn__push_seg(p, s);
	p->dir_dirty = true;
	return 0;
}

int rn_partition_open(const char *dir, const struct rn_log_config *cfg, int64_t recovery_point,
		      int64_t log_start_offset, bool create, struct rn_partition **out)
{
	if (create && mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (stat(dir, &st) < 0)
		return -errno;
	struct rn_partition *p = rn_calloc(1, sizeof(*p));
	init_locks(p);
	p->dir = rn_strdup(dir);
	p->cfg = *cfg;
	sanitize(&p->cfg);
	atomic_store(&p->max_message_bytes, p->cfg.max_message_bytes);
	atomic_store(&p->log_append_time, p->cfg.log_append_time);
	atomic_store(&p->compact, p->cfg.cleanup_compact);
	/* A cleaner swap cut short by a crash is finished (or dropped) before anything reads the
	 * segment files: the listing notices its files (no extra directory read otherwise). */
	int rc = list_segments(p);
	if (rc == 1) {
		rc = rn__cleaner_recover_dir(dir);
		if (rc == 0)
			rc = list_segments(p);
		if (rc == 1)
			rc = -EIO; /* still there: the recovery said why */
	}
	if (rc == 0 && p->nsegs == 0)
		rc = first_segment(p, log_start_offset > 0 ? log_start_offset : 0);
	/* Epochs first: recovery adds those of the batches it validates. */
	if (rc == 0)
		rc = rn__epochs_load(p);
	if (rc == 0)
		rc = rn__recover(p, recovery_point);
	if (rc < 0) {
		rn_error("storage: cannot open %s: %s", dir, rn_strerror(rc));
		free_partition(p);
		return rc;
	}
	struct rn_segment *act = p->segs[p->nsegs - 1];
	int64_t end = act->end_offset >= 0 ? act->end_offset : act->base;
	uint64_t total = 0;
	for (int i = 0; i < p->nsegs; i++) {
		total += atomic_load(&p->segs[i]->size);
		if (i + 1 < p->nsegs)
			p->segs[i]->end_offset = p->segs[i + 1]->base;
	}
	atomic_store(&p->total_bytes, total);
	atomic_store(&p->log_end, end);
	atomic_store(&p->hwm, end);
	int64_t ls = log_start_offset > p->segs[0]->base ? log_start_offset : p->segs[0]->base;
	atomic_store(&p->log_start, ls < end ? ls : end);
	rn__epochs_truncate_end(p, end);
	rn__epochs_truncate_start(p, atomic_load(&p->log_start));
	atomic_store(&p->leader_epoch, p->nepochs ? p->epochs[p->nepochs - 1].epoch : 0);
	atomic_store(&p->clean_point, atomic_load(&p->log_start));
	atomic_store(&p->horizon_ms, INT64_MAX);
	int64_t rp = recovery_point < 0 ? act->base : recovery_point;
	atomic_store(&p->recovery_point, rp < end ? rp : end);
	rc = rn__ps_load(p, end);
	if (rc < 0) {
		rn_error("storage: cannot rebuild producer state of %s: %s", dir, rn_strerror(rc));
		free_partition(p);
		return rc;
	}
	p->had_producers = p->ps.n > 0;
	act->created_ms = rn_wall_ms();
	p->last_flush_ms = rn_wall_ms();
	*out = p;
	return 0;
}

/* Offsets (an upper bound of the batch headers) the next open may replay instead of reading
 * a shutdown snapshot. */
#define SNAPSHOT_MIN_OFFSETS 64

/* A shutdown snapshot saves the next open from replaying the log, unless one exists at the log
 * end already or there is nothing to replay. Nor is one written for a partition that never had
 * an idempotent producer in this run when the replay is a few headers: creating 10,000 files
 * (one per partition that got a record) took most of a shutdown. Without a new snapshot,
 * rn__ps_load replays from the newest one, else from the second-last segment. (With producers,
 * the snapshot also keeps expired ones from coming back through the replay.) Caller holds
 * p->lock. */
static bool want_snapshot(struct rn_partition *p)
{
	int64_t end = atomic_load(&p->log_end);
	if (atomic_load(&p->offline) || (p->nsnaps && p->snaps[p->nsnaps - 1] == end))
		return false;
	if (p->ps.n > 0 || p->had_producers)
		return true;
	int64_t from =
	    p->nsnaps ? p->snaps[p->nsnaps - 1] : p->segs[p->nsegs > 2 ? p->nsegs - 2 : 0]->base;
	return end - from > SNAPSHOT_MIN_OFFSETS;
}

/* A clean in progress stops at its next check; a swap under way finishes first. */
static void stop_cleaning(struct rn_partition *p)
{
	atomic_store(&p->clean_abort, true);
	pthread_mutex_lock(&p->clean_mu);
	pthread_mutex_unlock(&p->clean_mu);
}

void rn_partition_close(struct rn_partition *p)
{
	stop_cleaning(p);
	if (!atomic_load(&p->offline))
		rn_partition_flush(p);
	pthread_mutex_lock(&p->lock);
	if (want_snapshot(p))
		rn__ps_snapshot(p, atomic_load(&p->log_end), true);
	if (!atomic_load(&p->offline))
		rn__epochs_write_locked(p, true);
	/* Index files trimmed (a zero tail would make the next open rewrite them), but no final
	 * time index entry: the active segment stays active, the next open's recovery probe
	 * recomputes its max timestamp, and its roll adds the entry. That saves an open, a
	 * fallocate and a page fault per partition at shutdown. */
	pthread_rwlock_wrlock(&p->seglock);
	rn__seg_deactivate(p, p->segs[p->nsegs - 1], false);
	pthread_rwlock_unlock(&p->seglock);
	pthread_mutex_unlock(&p->lock);
	free_partition(p);
}

int rn_partition_delete(struct rn_partition *p)
{
	stop_cleaning(p);
	atomic_store(&p->offline, true);
	char *dir = rn_strdup(p->dir);
	free_partition(p);
	DIR *d = opendir(dir);
	int rc = 0;
	if (!d) {
		rc = -errno;
		goto out_free;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	if (rmdir(dir) < 0)
		rc = -errno;
out_free:
	rn_free(dir);
	return rc;
}

int64_t rn_partition_log_start(struct rn_partition *p)
{
	return atomic_load(&p->log_start);
}

int64_t rn_partition_log_end(struct rn_partition *p)
{
	return atomic_load(&p->log_end);
}

int64_t rn_partition_high_watermark(struct rn_partition *p)
{
	return atomic_load(&p->hwm);
}

int64_t rn_partition_recovery_point(struct rn_partition *p)
{
	return atomic_load(&p->recovery_point);
}

int32_t rn_partition_leader_epoch(struct rn_partition *p)
{
	return atomic_load(&p->leader_epoch);
}

uint64_t rn_partition_size_bytes(struct rn_partition *p)
{
	return atomic_load(&p->total_bytes);
}

uint64_t rn_partition_unflushed_bytes(struct rn_partition *p)
{
	return atomic_load(&p->written_bytes) - atomic_load(&p->flushed_bytes);
}

bool rn_partition_offline(struct rn_partition *p)
{
	return atomic_load(&p->offline);
}

#define FLUSH_BATCH 16

/* Takes references on up to FLUSH_BATCH dirty segments (a suffix of the array) and clears
 * their flags. Caller holds p->lock. */
static int collect_dirty(struct rn_partition *p, struct rn_fileref **refs, int *n)
{
	*n = 0;
	for (int i = p->nsegs - 1; i >= 0 && *n < FLUSH_BATCH; i--) {
		struct rn_segment *s = p->segs[i];
		if (!s->dirty)
			continue;
		int rc = rn__seg_ensure_open(p, s, i == p->nsegs - 1);
		if (rc < 0)
			return rc;
		rn_fileref_get(s->file);
		refs[(*n)++] = s->file;
		s->dirty = false;
	}
	return 0;
}

static int sync_refs(struct rn_fileref **refs, int n, struct rn_hist *h)
{
	int rc = 0;
	for (int i = 0; i < n; i++) {
		int64_t t0 = rn_mono_us();
		int r = rn_io_fdatasync(refs[i]->fd);
		if (h)
			rn_hist_record(h, rn_mono_us() - t0);
		if (r < 0 && rc == 0)
			rc = r;
		rn_fileref_put(refs[i]);
	}
	return rc;
}

/* fdatasync outside p->lock: appends continue while the disk works. The recovery point only
 * moves to what was written before the snapshot. */
int rn__partition_flush(struct rn_partition *p, struct rn_hist *h)
{
	if (atomic_load(&p->offline))
		return RN_EOFFLINE;
	struct rn_fileref *refs[FLUSH_BATCH];
	int n, rc;
	pthread_mutex_lock(&p->lock);
	int64_t target = atomic_load(&p->log_end);
	uint64_t gen = atomic_load(&p->trunc_gen);
	uint64_t written = atomic_load(&p->written_bytes);
	bool dirsync = p->dir_dirty;
	p->dir_dirty = false;
	p->unflushed_msgs = 0;
	p->last_flush_ms = rn_wall_ms();
	rc = collect_dirty(p, refs, &n);
	pthread_mutex_unlock(&p->lock);
	while (rc == 0 && n > 0) {
		rc = sync_refs(refs, n, h);
		if (rc == 0 && n == FLUSH_BATCH) {
			pthread_mutex_lock(&p->lock);
			rc = collect_dirty(p, refs, &n);
			pthread_mutex_unlock(&p->lock);
		} else {
			n = 0;
		}
	}
	if (rc == 0 && dirsync)
		rc = rn_io_fsync_dir(p->dir);
	if (rc < 0) {
		atomic_store(&p->offline, true);
		rn_error("storage: %s: flush failed (%s), partition offline", p->dir,
			 rn_strerror(rc));
		return rc;
	}
	/* Under p->lock: a truncation (which holds it) cannot slip between the check and the
	 * store. */
	pthread_mutex_lock(&p->lock);
	int64_t rp = atomic_load(&p->recovery_point);
	if (rp < target && gen == atomic_load(&p->trunc_gen))
		atomic_store(&p->recovery_point, target);
	pthread_mutex_unlock(&p->lock);
	uint64_t f = atomic_load(&p->flushed_bytes);
	while (f < written && !atomic_compare_exchange_weak(&p->flushed_bytes, &f, written))
		;
	return 0;
}

void rn__partition_sync_prepare(struct rn_partition *p)
{
	pthread_mutex_lock(&p->lock);
	/* Without fsync: the caller's syncfs makes it durable with everything else. */
	if (want_snapshot(p))
		rn__ps_snapshot(p, atomic_load(&p->log_end), false);
	rn__epochs_write_locked(p, false);
	p->sync_target = atomic_load(&p->log_end);
	p->sync_written = atomic_load(&p->written_bytes);
	for (int i = 0; i < p->nsegs; i++)
		p->segs[i]->dirty = false;
	p->dir_dirty = false;
	p->unflushed_msgs = 0;
	pthread_mutex_unlock(&p->lock);
}

void rn__partition_sync_commit(struct rn_partition *p)
{
	int64_t rp = atomic_load(&p->recovery_point);
	while (rp < p->sync_target &&
	       !atomic_compare_exchange_weak(&p->recovery_point, &rp, p->sync_target))
		;
	uint64_t f = atomic_load(&p->flushed_bytes);
	while (f < p->sync_written &&
	       !atomic_compare_exchange_weak(&p->flushed_bytes, &f, p->sync_written))
		;
}

int rn_partition_flush(struct rn_partition *p)
{
	return rn__partition_flush(p, NULL);
}

void rn_partition_wait(struct rn_partition *p, struct rn_partition_waiter *w)
{
	pthread_mutex_lock(&p->wlock);
	w->next = &p->waiters;
	w->prev = p->waiters.prev;
	p->waiters.prev->next = w;
	p->waiters.prev = w;
	atomic_fetch_add(&p->nwaiters, 1);
	pthread_mutex_unlock(&p->wlock);
}

void rn_partition_unwait(struct rn_partition *p, struct rn_partition_waiter *w)
{
	pthread_mutex_lock(&p->wlock);
	if (w->next) {
		w->prev->next = w->next;
		w->next->prev = w->prev;
		w->next = w->prev = NULL;
		atomic_fetch_sub(&p->nwaiters, 1);
	}
	pthread_mutex_unlock(&p->wlock);
}

void rn__notify(struct rn_partition *p)
{
	if (!atomic_load_explicit(&p->nwaiters, memory_order_relaxed))
		return;
	pthread_mutex_lock(&p->wlock);
	for (struct rn_partition_waiter *w = p->waiters.next; w != &p->waiters;) {
		struct rn_partition_waiter *next = w->next;
		w->cb(w->arg);
		w = next;
	}
	pthread_mutex_unlock(&p->wlock);
}
