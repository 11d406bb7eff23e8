/*
 * Producer state on disk: `<offset>.snapshot` files (the state of every producer after all
 * batches below offset, rn_ps_encode's format) and its rebuild at open.
 *
 * A snapshot is taken at every roll (at the new segment's base) and at a clean shutdown (at the
 * log end), as Kafka does. Opening loads the newest valid snapshot at or below the log end and
 * replays the batch headers after it, so a restart after SIGKILL reads at most the headers
 * written since the last roll or clean shutdown. Snapshots above the log end describe data that
 * recovery cut off and are deleted; so are unreadable ones (a torn write after a crash), the
 * next older one being used instead. The two newest are kept.
 *
 * Roll snapshots are written under p->lock without fsync (a few syscalls per segment): after a
 * power failure one may be torn, which its CRC reveals. Shutdown snapshots are made durable by
 * the log directory's syncfs, or by an fsync when a partition is closed on its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/io.h"
#include "core/log.h"
#include "storage/segment.h"

#define KEEP_SNAPSHOTS 2

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

void rn__ps_add_snapshot(struct rn_partition *p, int64_t off)
{
	if (p->nsnaps && p->snaps[p->nsnaps - 1] == off)
		return;
	if (p->nsnaps == p->snapcap) {
		p->snapcap = p->snapcap ? p->snapcap * 2 : 4;
		p->snaps = rn_realloc(p->snaps, (size_t)p->snapcap * sizeof(*p->snaps));
	}
	p->snaps[p->nsnaps++] = off;
	if (p->nsnaps > 1 && p->snaps[p->nsnaps - 2] > off)
		qsort(p->snaps, (size_t)p->nsnaps, sizeof(*p->snaps), cmp_i64);
}

static void unlink_snapshot(struct rn_partition *p, int64_t off)
{
	char path[PATH_MAX];
	rn__seg_path(p, off, ".snapshot", path);
	rn_io_unlink(path);
}

/* Drops snapshot i from the list and the disk. */
static void drop_snapshot(struct rn_partition *p, int i)
{
	unlink_snapshot(p, p->snaps[i]);
	memmove(p->snaps + i, p->snaps + i + 1, (size_t)(p->nsnaps - i - 1) * sizeof(*p->snaps));
	p->nsnaps--;
}

static int write_file(const char *path, const char *tmp, const void *data, size_t len, bool sync)
{
	int fd = rn_io_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fd;
	int rc = rn_io_write(fd, data, len);
	if (rc == 0 && sync)
		rc = rn_io_fsync(fd);
	rn_io_close(fd);
	if (rc == 0)
		rc = rn_io_rename(tmp, path);
	if (rc < 0)
		rn_io_unlink(tmp);
	return rc;
}

int rn__ps_snapshot(struct rn_partition *p, int64_t off, bool sync)
{
	struct rn_buf b = {0};
	rn_ps_encode(&p->ps, &b);
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	rn__seg_path(p, off, ".snapshot", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int rc = write_file(path, tmp, b.data, b.len, sync);
	rn_buf_free(&b);
	if (rc == 0 && sync)
		rc = rn_io_fsync_dir(p->dir);
	if (rc < 0) {
		/* Not fatal: the next open replays more of the log. */
		rn_warn("storage: %s: cannot write producer snapshot %020lld: %s", p->dir,
			(long long)off, rn_strerror(rc));
		return rc;
	}
	p->dir_dirty = true;
	rn__ps_add_snapshot(p, off);
	while (p->nsnaps > KEEP_SNAPSHOTS)
		drop_snapshot(p, 0);
	return 0;
}

/* Loads snapshot off into p->ps. */
static int load_snapshot(struct rn_partition *p, int64_t off, int64_t now)
{
	char path[PATH_MAX];
	rn__seg_path(p, off, ".snapshot", path);
	char *data;
	size_t len;
	int rc = rn__file_read(path, &data, &len);
	if (rc < 0)
		return rc;
	rc =
	    rn_ps_decode(&p->ps, (const uint8_t *)data, len, now, p->cfg.producer_id_expiration_ms);
	rn_free(data);
	return rc;
}

/* The type of the control batch at pos (1 COMMIT, 0 ABORT, <0 unknown): its first record. */
static int read_control(int fd, uint64_t pos, const struct rn_batch_header *h)
{
	uint8_t b[256];
	size_t want = (size_t)h->length + RN_BATCH_LOG_OVERHEAD;
	if (want > sizeof(b))
		return -1; /* ours are 78 bytes */
	ssize_t got = rn_io_pread(fd, b, want, (off_t)pos);
	return got == (ssize_t)want ? rn__control_type(b, want) : -1;
}

/* Replays the idempotent batches of segment s at or after offset from (headers only, and the
 * record of each transaction marker). */
static int replay_segment(struct rn_partition *p, struct rn_segment *s, int64_t from, int64_t now)
{
	uint64_t size = atomic_load(&s->size);
	if (size == 0)
		return 0;
	char path[PATH_MAX];
	rn__seg_path(p, s->base, ".log", path);
	int fd = rn_io_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	int rc;
	struct rn_batch_header h;
	for (uint64_t pos = 0; (rc = rn__read_header(fd, pos, size, &h)) > 0;
	     pos += (uint64_t)h.length + RN_BATCH_LOG_OVERHEAD) {
		int64_t last = h.base_offset + h.last_offset_delta;
		if (h.producer_id < 0 || last < from)
			continue;
		if (h.attributes & RN_BATCH_ATTR_CONTROL) {
			int type = read_control(fd, pos, &h);
			if (type >= 0)
				rn__txn_marker(p, h.producer_id, h.producer_epoch, type == 1,
					       h.base_offset, false, now);
			continue;
		}
		struct rn_ps_batch b = {
		    .first_seq = h.base_sequence,
		    .last_seq = rn_ps_last_seq(h.base_sequence, h.last_offset_delta),
		    .first_offset = h.base_offset,
		    .last_offset = last,
		};
		/* Replayed batches count as seen now: expiry can only come later than it would
		 * have, never drop a producer that is still retrying. */
		rn_ps_record(&p->ps, rn_ps_find(&p->ps, h.producer_id), h.producer_id,
			     h.producer_epoch, &b, now);
		if (h.attributes & RN_BATCH_ATTR_TRANSACTIONAL)
			rn__txn_begin(p, h.producer_id, h.base_offset);
		if (now + p->cfg.producer_id_expiration_ms < p->ps.next_expiry_ms)
			p->ps.next_expiry_ms = now + p->cfg.producer_id_expiration_ms;
	}
	rn_io_close(fd);
	return rc;
}

static int load(struct rn_partition *p, int64_t log_end, bool full);

int rn__ps_load(struct rn_partition *p, int64_t log_end)
{
	return load(p, log_end, false);
}

int rn__ps_reload(struct rn_partition *p, int64_t log_end)
{
	/* Snapshots above the new log end describe data that is gone. */
	while (p->nsnaps > 0 && p->snaps[p->nsnaps - 1] > log_end)
		drop_snapshot(p, p->nsnaps - 1);
	rn_ps_free(&p->ps);
	p->naborted = 0;
	atomic_store(&p->has_aborted, false);
	return load(p, log_end, true);
}

/* full: without a usable snapshot, replay from the first segment (a truncation must not
 * forget a producer whose batches are older than the last two segments). */
static int load(struct rn_partition *p, int64_t log_end, bool full)
{
	atomic_store(&p->first_unstable, -1);
	int64_t now = rn_wall_ms();
	int64_t from = -1;
	while (p->nsnaps > 0 && from < 0) {
		int64_t off = p->snaps[p->nsnaps - 1];
		int rc = off <= log_end ? load_snapshot(p, off, now) : RN_ERANGE;
		if (rc == 0) {
			from = off;
			break;
		}
		if (rc != RN_ERANGE)
			rn_warn("storage: %s: producer snapshot %020lld unreadable (%s), using an "
				"older one",
				p->dir, (long long)off, rn_strerror(rc));
		drop_snapshot(p, p->nsnaps - 1);
	}
	while (p->nsnaps > KEEP_SNAPSHOTS)
		drop_snapshot(p, 0);
	/* No snapshot: a log from before snapshots existed, or one that never rolled nor shut down
	 * cleanly. As Kafka does on upgrade, the last two segments are scanned. */
	int i = 0;
	if (from < 0) {
		i = p->nsegs > 2 && !full ? p->nsegs - 2 : 0;
		from = p->segs[i]->base;
	} else {
		while (i + 1 < p->nsegs && p->segs[i + 1]->base <= from)
			i++;
	}
	/* Aborted transactions below the replay point come from the .txnindex files, the later
	 * ones from the replay. */
	rn__txn_load(p, from);
	for (; i < p->nsegs && from < log_end; i++) {
		int rc = replay_segment(p, p->segs[i], from, now);
		if (rc < 0)
			return rc;
	}
	rn__txn_flush_files(p, from);
	return 0;
}
