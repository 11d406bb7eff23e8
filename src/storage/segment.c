/*
 * Segments: file naming, lazy opening, activation/deactivation of the index mappings.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/io.h"
#include "core/log.h"
#include "storage/segment.h"

void rn__seg_path(const struct rn_partition *p, int64_t base, const char *ext, char *buf)
{
	snprintf(buf, PATH_MAX, "%s/%020lld%s", p->dir, (long long)base, ext);
}

int64_t rn__seg_name_base(const char *name, const char *ext, const char *suffix)
{
	size_t n = strlen(name), el = strlen(ext), sl = strlen(suffix);
	if (n != 20 + el + sl || memcmp(name + 20, ext, el) || strcmp(name + 20 + el, suffix))
		return -1;
	int64_t v = 0;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return v;
}

struct rn_segment *rn__seg_new(int64_t base)
{
	struct rn_segment *s = rn_calloc(1, sizeof(*s));
	s->base = base;
	s->max_ts = INT64_MIN;
	s->max_ts_off = -1;
	s->end_offset = -1;
	return s;
}

/* The last reference to a segment file closes it: the segment itself, or an in-flight
 * sendfile after retention dropped the segment. */
static void segfile_release(struct rn_fileref *f)
{
	rn_io_close(f->fd);
	rn_free(f);
}

/* Maps both indexes; a missing or inconsistent one is rebuilt from the log first. Called
 * with p->lazy held and s->file open. */
static int load_indexes(struct rn_partition *p, struct rn_segment *s, bool active)
{
	char path[PATH_MAX];
	uint64_t size = atomic_load(&s->size);
	size_t cap = active ? (size_t)p->cfg.segment_index_bytes : 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		rn__seg_path(p, s->base, ".index", path);
		int rc = rn__index_map(path, RN_OIDX_ENTRY, active, cap, size, &s->oidx);
		if (rc == 0) {
			rn__seg_path(p, s->base, ".timeindex", path);
			rc = rn__index_map(path, RN_TIDX_ENTRY, active, cap, size, &s->tidx);
			if (rc < 0)
				rn__index_unmap(&s->oidx);
		}
		if (rc == 0) {
			s->idx_state = active ? RN_IDX_RW : RN_IDX_RO;
			return 0;
		}
		if (rc != RN_ECORRUPT || attempt == 1)
			return rc;
		rn_warn("storage: %s/%020lld: index missing or inconsistent, rebuilding", p->dir,
			(long long)s->base);
		rc = rn__seg_rebuild_index(p, s);
		if (rc < 0)
			return rc;
	}
	return RN_ECORRUPT;
}

/* Append state of the active segment, derived from its indexes when it was not set by the
 * recovery scan at open. */
static void init_append_state(struct rn_segment *s)
{
	uint32_t n = atomic_load(&s->oidx.n);
	uint64_t last = n ? rn__oidx_pos(&s->oidx, n - 1) : 0;
	s->bytes_since_index = atomic_load(&s->size) - last;
	uint32_t tn = atomic_load(&s->tidx.n);
	if (s->max_ts == INT64_MIN && tn > 0) {
		s->max_ts = rn__tidx_last_ts(&s->tidx, tn);
		s->max_ts_off =
		    s->base + rn_be32(s->tidx.map + (size_t)(tn - 1) * RN_TIDX_ENTRY + 8);
	}
}

int rn__seg_ensure_open(struct rn_partition *p, struct rn_segment *s, bool active)
{
	int rc = 0;
	/* Every append and read comes through here: the idle clock of rn__close_idle. */
	atomic_store_explicit(&s->used_ms, rn_wall_ms(), memory_order_relaxed);
	pthread_mutex_lock(&p->lazy);
	if (!s->file) {
		char path[PATH_MAX];
		rn__seg_path(p, s->base, ".log", path);
		int fd = rn_io_open(path, active ? O_RDWR | O_CREAT : O_RDONLY, 0644);
		if (fd < 0) {
			rc = fd;
			goto out_unlock;
		}
		struct rn_fileref *f = rn_malloc(sizeof(*f));
		f->fd = fd;
		atomic_init(&f->refs, 1);
		f->release = segfile_release;
		s->file = f;
		s->writable = active;
		atomic_fetch_add(&p->nopen, 1);
	}
	if (s->idx_state == RN_IDX_UNLOADED) {
		rc = load_indexes(p, s, active);
		if (rc == 0 && active)
			init_append_state(s);
	}
out_unlock:
	pthread_mutex_unlock(&p->lazy);
	return rc;
}

static int trim_index(const char *path, size_t bytes)
{
	return rn__index_patch_file(path, bytes, NULL, 0);
}

void rn__seg_deactivate(struct rn_partition *p, struct rn_segment *s, bool final_entry)
{
	if (s->idx_state != RN_IDX_RW)
		return;
	uint32_t tn = atomic_load(&s->tidx.n);
	/* On a full disk the entry is left out (time lookups then start a little earlier). */
	if (final_entry && s->max_ts > rn__tidx_last_ts(&s->tidx, tn) && tn < s->tidx.cap &&
	    s->max_ts_off >= 0 && rn__index_reserve(p, s, true, tn + 1) == 0)
		rn__tidx_append(&s->tidx, s->max_ts, (uint32_t)(s->max_ts_off - s->base));
	char path[PATH_MAX];
	size_t ob = (size_t)atomic_load(&s->oidx.n) * RN_OIDX_ENTRY;
	size_t tb = (size_t)atomic_load(&s->tidx.n) * RN_TIDX_ENTRY;
	rn__index_unmap(&s->oidx);
	rn__index_unmap(&s->tidx);
	s->idx_state = RN_IDX_UNLOADED;
	/* A failed trim only leaves a zero tail, which the next load ignores. */
	rn__seg_path(p, s->base, ".index", path);
	if (trim_index(path, ob) < 0)
		rn_warn("storage: cannot trim %s", path);
	rn__seg_path(p, s->base, ".timeindex", path);
	if (trim_index(path, tb) < 0)
		rn_warn("storage: cannot trim %s", path);
}

/* Caller holds p->lock, seglock exclusively and p->lazy: no reader uses the fd or the
 * mappings (a sendfile in flight holds its own reference to the file). */
static void close_files(struct rn_partition *p, struct rn_segment *s)
{
	rn__seg_deactivate(p, s, true); /* the active segment */
	rn__index_unmap(&s->oidx);
	rn__index_unmap(&s->tidx);
	s->idx_state = RN_IDX_UNLOADED;
	if (s->file) {
		rn_fileref_put(s->file);
		s->file = NULL;
	}
}

static bool is_idle(struct rn_segment *s, int64_t before)
{
	return (s->file || s->idx_state != RN_IDX_UNLOADED) &&
	       atomic_load_explicit(&s->used_ms, memory_order_relaxed) < before;
}

/*
 * Without this, the active segment of every partition that was ever written keeps an fd and
 * two index mappings forever: 10,000 partitions hold 10,000 fds and 20,000 mappings (and
 * closing them all made shutdown slow). Idleness is checked under p->lock and p->lazy first,
 * so that busy partitions never take seglock exclusively here.
 */
void rn__close_idle(struct rn_partition *p, int64_t now_ms, int64_t idle_ms)
{
	if (atomic_load_explicit(&p->nopen, memory_order_relaxed) == 0)
		return;
	int64_t before = now_ms - idle_ms;
	bool any = false;
	pthread_mutex_lock(&p->lock);
	pthread_mutex_lock(&p->lazy);
	for (int i = 0; i < p->nsegs && !any; i++)
		any = is_idle(p->segs[i], before);
	pthread_mutex_unlock(&p->lazy);
	if (!any)
		goto out_unlock;
	pthread_rwlock_wrlock(&p->seglock);
	pthread_mutex_lock(&p->lazy);
	int nopen = 0;
	for (int i = 0; i < p->nsegs; i++) {
		struct rn_segment *s = p->segs[i];
		if (is_idle(s, before))
			close_files(p, s);
		nopen += s->file != NULL;
	}
	/* Recounted here: segments freed by retention or truncation do not decrement it. */
	atomic_store(&p->nopen, nopen);
	pthread_mutex_unlock(&p->lazy);
	pthread_rwlock_unlock(&p->seglock);
out_unlock:
	pthread_mutex_unlock(&p->lock);
}

void rn__seg_free(struct rn_segment *s)
{
	rn__index_unmap(&s->oidx);
	rn__index_unmap(&s->tidx);
	if (s->file)
		rn_fileref_put(s->file);
	rn_free(s);
}

void rn__seg_unlink(const struct rn_partition *p, int64_t base)
{
	static const char *const exts[] = {".log", ".index", ".timeindex", ".txnindex"};
	char path[PATH_MAX];
	for (int i = 0; i < 4; i++) {
		rn__seg_path(p, base, exts[i], path);
		int rc = rn_io_unlink(path);
		if (rc < 0 && rc != -ENOENT)
			rn_warn("storage: cannot delete %s: %s", path, rn_strerror(rc));
	}
}

int rn__seg_create(struct rn_partition *p, int64_t base, struct rn_segment **out)
{
	char path[PATH_MAX];
	/* Stale index files of an earlier segment with the same base (a truncated log) would be
	 * taken for this one's. */
	rn__seg_path(p, base, ".index", path);
	rn_io_unlink(path);
	rn__seg_path(p, base, ".timeindex", path);
	rn_io_unlink(path);
	rn__seg_path(p, base, ".log", path);
	int fd = rn_io_open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fd;
	rn_io_close(fd);
	struct rn_segment *s = rn__seg_new(base);
	s->max_ts = -1;
	s->end_offset = base;
	int rc = rn__seg_ensure_open(p, s, true);
	if (rc < 0) {
		rn__seg_free(s);
		rn_io_unlink(path);
		return rc;
	}
	p->dir_dirty = true;
	*out = s;
	return 0;
}
