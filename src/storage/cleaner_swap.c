/*
 * Putting a cleaned segment in place of the segments it replaces, so that a crash at any point
 * leaves either the old segments or the new one (Kafka's LogCleaner/LocalLog.replaceSegments):
 *
 *   1. X.{index,timeindex,txnindex,log}.cleaned written and fsync'ed (cleaner_clean.c);
 *   2. each renamed to X.*.swap, the .log last, directory fsync'ed: from the moment X.log.swap
 *      exists the swap is decided and recovery rolls forward;
 *   3. the replaced segments other than X itself are deleted;
 *   4. X.{index,timeindex,txnindex}.swap renamed over X's files, X.log.swap over X.log last,
 *      directory fsync'ed.
 *
 * Recovery at open (before the directory is listed): *.cleaned files are dropped (step 1 was not
 * finished, the old segments are intact); index .swap files without X.log.swap too (step 2 was
 * not finished); for each X.log.swap, the segments whose base lies in (X, next offset of the
 * swap file) are deleted and steps 4 are redone. The swap file was fsync'ed before step 2, so
 * its batches can be trusted to compute its next offset.
 *
 * Steps 2-4 run under p->lock and seglock exclusively: appends wait (a few renames and two
 * directory fsyncs), fetches too; a sendfile already in flight keeps its segment's fd through
 * its rn_fileref, so replacing the files under it is safe.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/io.h"
#include "core/log.h"
#include "storage/cleaner_int.h"

void (*rn__cleaner_step_hook)(int step);

static void step(int n)
{
	if (rn__cleaner_step_hook)
		rn__cleaner_step_hook(n);
}

/* Index files first, the .log last: the .log's name decides. */
static const char *const exts[] = {".index", ".timeindex", ".txnindex", ".log"};
#define NEXTS 4

static void path_of(const char *dir, int64_t base, const char *ext, const char *suffix, char *out)
{
	snprintf(out, PATH_MAX, "%s/%020lld%s%s", dir, (long long)base, ext, suffix);
}

void rn__unlink_cleaned(const struct rn_partition *p, int64_t base)
{
	char path[PATH_MAX];
	for (int i = 0; i < NEXTS; i++) {
		path_of(p->dir, base, exts[i], ".cleaned", path);
		rn_io_unlink(path);
	}
}

static int rename_suffix(const char *dir, int64_t base, const char *from, const char *to,
			 int first_step)
{
	char a[PATH_MAX], b[PATH_MAX];
	for (int i = 0; i < NEXTS; i++) {
		path_of(dir, base, exts[i], from, a);
		path_of(dir, base, exts[i], to, b);
		int rc = rn_io_rename(a, b);
		if (rc < 0 && !(rc == -ENOENT && i < NEXTS - 1))
			return rc;
		step(first_step + i);
	}
	return rn_io_fsync_dir(dir);
}

/* The new segment replaces c->nold old ones at index first of p->segs. Caller holds p->lock and
 * seglock exclusively. */
static void replace_in_memory(struct rn_partition *p, int first, const struct rn__cleaned *c)
{
	uint64_t freed = 0;
	for (int i = 0; i < c->nold; i++) {
		struct rn_segment *s = p->segs[first + i];
		freed += atomic_load(&s->size);
		/* An in-flight sendfile keeps the old fd through its own reference. */
		rn__seg_free(s);
	}
	struct rn_segment *s = rn__seg_new(c->base);
	atomic_store(&s->size, c->size);
	s->max_ts = c->max_ts;
	s->max_ts_off = c->max_ts_off;
	s->end_offset = c->end;
	p->segs[first] = s;
	if (c->nold > 1) {
		memmove(p->segs + first + 1, p->segs + first + c->nold,
			(size_t)(p->nsegs - first - c->nold) * sizeof(*p->segs));
		p->nsegs -= c->nold - 1;
	}
	atomic_fetch_sub(&p->total_bytes, freed);
	atomic_fetch_add(&p->total_bytes, c->size);
	p->seg_gen++;
	/* The replaced segments' .txnindex files are gone; the new one was written. */
	int k = 0;
	for (int i = 0; i < p->ntxnfiles; i++) {
		int64_t b = p->txnfiles[i];
		if (b < c->base || b >= c->end)
			p->txnfiles[k++] = b;
	}
	p->ntxnfiles = k;
	/* Aborted transactions with their marker in the group have no data left (see
	 * write_indexes in cleaner_clean.c): read_committed fetches stop reporting them. */
	uint32_t n = 0;
	for (uint32_t i = 0; i < p->naborted; i++) {
		const struct rn_aborted_txn *a = &p->aborted[i];
		if (a->last_offset < c->base || a->last_offset >= c->end)
			p->aborted[n++] = *a;
	}
	p->naborted = n;
	atomic_store(&p->has_aborted, n > 0);
}

static int find_first(struct rn_partition *p, const struct rn__cleaned *c)
{
	for (int i = 0; i + c->nold < p->nsegs; i++) {
		if (p->segs[i]->base != c->base)
			continue;
		for (int j = 0; j < c->nold; j++)
			if (p->segs[i + j]->base != c->old_bases[j])
				return -1;
		return i;
	}
	return -1;
}

int rn__swap_group(struct rn_partition *p, uint64_t *gen, const struct rn__cleaned *c)
{
	int rc = 0;
	pthread_mutex_lock(&p->lock);
	pthread_rwlock_wrlock(&p->seglock);
	int first = p->seg_gen == *gen && !atomic_load(&p->offline) ? find_first(p, c) : -1;
	if (first < 0) {
		rc = -EAGAIN;
		rn__unlink_cleaned(p, c->base);
		goto out_unlock;
	}
	rc = rename_suffix(p->dir, c->base, ".cleaned", ".swap", 10);
	if (rc < 0) {
		/* Nothing old was touched yet: dropping the .swap files (the .log's first) undoes
		 * the swap. Should that fail too, the next open rolls it forward instead, which
		 * gives the same records. */
		char a[PATH_MAX];
		for (int i = NEXTS - 1; i >= 0; i--) {
			path_of(p->dir, c->base, exts[i], ".swap", a);
			rn_io_unlink(a);
		}
		rn__unlink_cleaned(p, c->base);
		goto out_unlock;
	}
	step(20);
	for (int i = 1; i < c->nold; i++) {
		rn__seg_unlink(p, c->old_bases[i]);
		step(20 + i);
	}
	rc = rename_suffix(p->dir, c->base, ".swap", "", 30);
	if (rc < 0)
		goto out_broken;
	step(40);
	replace_in_memory(p, first, c);
	*gen = p->seg_gen;
	p->dir_dirty = true;
	goto out_unlock;
out_broken:
	/* Old files may be gone: the log on disk is the new one once the next open completes
	 * the swap, and serving from memory meanwhile could be wrong. */
	atomic_store(&p->offline, true);
	rn_error("storage: %s: cleaner swap of %020lld failed (%s): partition offline until "
		 "restart, which completes the swap",
		 p->dir, (long long)c->base, rn_strerror(rc));
	if (rc >= 0)
		rc = -EIO;
out_unlock:
	pthread_rwlock_unlock(&p->seglock);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* ---- recovery at open ---- */

/* Next offset of the batches in path (whose batches were fsync'ed before it got its name). */
static int next_offset(const char *path, int64_t base, int64_t *next)
{
	int fd = rn_io_open(path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	*next = base;
	struct rn_batch_header h;
	int rc;
	uint64_t pos = 0;
	off_t end = lseek(fd, 0, SEEK_END);
	while ((rc = rn__read_header(fd, pos, (uint64_t)end, &h)) > 0) {
		*next = h.base_offset + h.last_offset_delta + 1;
		pos += (uint64_t)h.length + RN_BATCH_LOG_OVERHEAD;
	}
	rn_io_close(fd);
	return rc < 0 ? rc : 0;
}

struct listing {
	int64_t *logs, *swaps;
	int nlogs, nswaps, caplogs, capswaps;
};

static void push(int64_t **a, int *n, int *cap, int64_t v)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*a = rn_realloc(*a, (size_t)*cap * sizeof(**a));
	}
	(*a)[(*n)++] = v;
}

/* Drops *.cleaned, lists X.log and X.log.swap. Returns 0 or -errno. */
static int scan_dir(const char *dir, struct listing *l)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct dirent *e;
	int64_t b;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n > 8 && !strcmp(e->d_name + n - 8, ".cleaned")) {
			unlinkat(dirfd(d), e->d_name, 0);
		} else if ((b = rn__seg_name_base(e->d_name, ".log", ".swap")) >= 0) {
			push(&l->swaps, &l->nswaps, &l->capswaps, b);
		} else if ((b = rn__seg_name_base(e->d_name, ".log", "")) >= 0) {
			push(&l->logs, &l->nlogs, &l->caplogs, b);
		}
	}
	closedir(d);
	return 0;
}

static bool has(const int64_t *a, int n, int64_t v)
{
	for (int i = 0; i < n; i++)
		if (a[i] == v)
			return true;
	return false;
}

/* Index .swap files whose X.log.swap does not exist belong to an undecided swap; any other
 * *.swap name is no file of ours either way (the partition directory is ours alone). */
static void drop_orphan_swaps(const char *dir, const struct listing *l)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 5, ".swap"))
			continue;
		bool keep = false;
		for (int i = 0; i < NEXTS; i++) {
			int64_t b = rn__seg_name_base(e->d_name, exts[i], ".swap");
			keep |= b >= 0 && has(l->swaps, l->nswaps, b);
		}
		if (!keep)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

static int complete_swap(const char *dir, int64_t base, const struct listing *l)
{
	char path[PATH_MAX];
	path_of(dir, base, ".log", ".swap", path);
	int64_t next;
	int rc = next_offset(path, base, &next);
	if (rc < 0)
		return rc;
	rn_warn("storage: %s: completing the cleaner's swap of %020lld (up to offset %lld)", dir,
		(long long)base, (long long)next);
	for (int i = 0; i < l->nlogs; i++) {
		if (l->logs[i] <= base || l->logs[i] >= next)
			continue;
		for (int k = 0; k < NEXTS; k++) {
			path_of(dir, l->logs[i], exts[k], "", path);
			rc = rn_io_unlink(path);
			if (rc < 0 && rc != -ENOENT)
				return rc;
		}
	}
	return rename_suffix(dir, base, ".swap", "", 50);
}

int rn__cleaner_recover_dir(const char *dir)
{
	struct listing l = {0};
	int rc = scan_dir(dir, &l);
	if (rc == 0)
		drop_orphan_swaps(dir, &l);
	for (int i = 0; rc == 0 && i < l.nswaps; i++)
		rc = complete_swap(dir, l.swaps[i], &l);
	rn_free(l.logs);
	rn_free(l.swaps);
	if (rc < 0)
		rn_error("storage: %s: cannot complete a cleaner swap: %s", dir, rn_strerror(rc));
	return rc;
}
