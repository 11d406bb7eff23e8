/*
 * One clean of one partition (cleaner.h):
 *
 *   plan     (cleaner_plan.c) under p->lock: the old segments below the first uncleanable
 *            offset, each with a reference on its file, and what the filter needs;
 *   map      read the dirty section from the clean point, key -> latest offset, until the map
 *            is full or the first uncleanable offset is reached (the map's end);
 *   rewrite  every segment from the first up to the map's end, in groups of up to
 *            segment.bytes, each into <base>.*.cleaned (cleaner_filter.c decides what stays),
 *            fsync'ed, then swapped in (cleaner_swap.c) if no segment of the group left
 *            meanwhile;
 *   advance  the clean point moves to the map's end.
 *
 * No lock is held while reading or writing; everything read is below the active segment and
 * immutable.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/io.h"
#include "core/log.h"
#include "storage/cleaner_int.h"
struct ctx {
	struct rn_partition *p;
	const struct rn_clean_opts *o;
	struct rn_clean_stats *st;
	struct rn__throttle thr;
	struct rn_buf in; /* read window */
	struct rn__omap *map;
};

static bool cancelled(const struct ctx *c)
{
	return atomic_load(&c->p->clean_abort) || (c->o->cancel && atomic_load(c->o->cancel));
}

/* ---- reading batches ---- */

struct reader {
	int fd;
	uint64_t pos, end; /* file position of in->data[0], segment size */
	size_t at;         /* next batch in the window */
};

/* Next batch of the segment: 1 with *b and *len (valid until the next call), 0 at its end, <0. */
static int next_batch(struct ctx *c, struct reader *r, const uint8_t **b, size_t *len)
{
	struct rn_buf *in = &c->in;
	uint64_t fpos = r->pos + r->at;
	if (fpos >= r->end)
		return 0;
	size_t have = in->len - r->at;
	size_t need = RN_BATCH_HEADER_SIZE;
	if (have >= RN_BATCH_LOG_OVERHEAD)
		need = (size_t)rn_batch_total_size(in->data + r->at);
	if (need < RN_BATCH_HEADER_SIZE || need > (size_t)INT32_MAX || need > r->end - fpos)
		return RN_ECORRUPT;
	if (have < need) {
		/* Refill: the window starts at this batch and holds at least all of it. */
		size_t want = c->o->io_buffer_size > need ? c->o->io_buffer_size : need;
		if (want > r->end - fpos)
			want = (size_t)(r->end - fpos);
		rn_buf_reset(in);
		ssize_t got = rn_io_pread(r->fd, rn_buf_reserve(in, want), want, (off_t)fpos);
		if (got < 0)
			return (int)got;
		in->len = (size_t)got;
		r->pos = fpos;
		r->at = 0;
		c->st->bytes_read += got;
		rn__throttle(&c->thr, (size_t)got, c->o->cancel, &c->p->clean_abort);
		if (in->len < RN_BATCH_HEADER_SIZE)
			return RN_ECORRUPT;
		need = (size_t)rn_batch_total_size(in->data);
		if (need > in->len)
			return next_batch(c, r, b, len);
	}
	int64_t total = rn_batch_check_frame(in->data + r->at, in->len - r->at);
	if (total < 0)
		return (int)total;
	*b = in->data + r->at;
	*len = (size_t)total;
	r->at += (size_t)total;
	return 1;
}

static void reader_start(struct ctx *c, struct reader *r, const struct rn__src *s)
{
	rn_buf_reset(&c->in);
	*r = (struct reader){.fd = s->f->fd, .pos = 0, .end = s->size, .at = 0};
}

/* ---- the offset map ---- */

/* Puts the records of batch b at or after from into the map; *full at the first new key that
 * does not fit (*end = its offset). */
static int map_batch(struct ctx *c, struct rn__filter *f, const uint8_t *b, size_t len,
		     int64_t from, int64_t upto, bool *full, int64_t *end)
{
	struct rn_batch_header h;
	rn_batch_header_parse(b, &h);
	if ((h.attributes & RN_BATCH_ATTR_CONTROL) ||
	    ((h.attributes & RN_BATCH_ATTR_TRANSACTIONAL) && h.producer_id >= 0 &&
	     rn__filter_aborted(f, h.producer_id, h.base_offset)))
		return 0;
	struct rn_record_iter it;
	int rc = rn_record_iter_init_any(&it, b, len, &f->scratch, (size_t)256 << 20);
	if (rc < 0)
		return rc;
	struct rn_record r;
	while ((rc = rn_record_iter_next(&it, &r)) == 1) {
		if (r.offset < from || r.offset >= upto || r.key_len < 0)
			continue;
		if (rn__omap_put(c->map, r.key, (size_t)r.key_len, r.offset)) {
			*full = true;
			*end = r.offset;
			return 0;
		}
	}
	return rc;
}

/* Builds the map over [pl->cp, pl->upper); *end is where it stops. */
static int build_map(struct ctx *c, struct rn__plan *pl, struct rn__filter *f, int64_t *end)
{
	/* At most one key per offset of the dirty section. */
	rn__omap_reset(c->map, (uint64_t)(pl->upper - pl->cp));
	*end = pl->upper;
	bool full = false;
	for (int i = 0; i < pl->n && !full; i++) {
		const struct rn__src *s = &pl->segs[i];
		if (s->end <= pl->cp)
			continue;
		struct reader r;
		reader_start(c, &r, s);
		const uint8_t *b;
		size_t len;
		int rc = 0;
		while (!full && (rc = next_batch(c, &r, &b, &len)) == 1) {
			int64_t last = (int64_t)rn_be64(b) +
				       (int32_t)rn_be32(b + RN_BATCH_OFF_LAST_OFFSET_DELTA);
			if (last < pl->cp)
				continue;
			if ((int64_t)rn_be64(b) >= pl->upper)
				break;
			rc = map_batch(c, f, b, len, pl->cp, pl->upper, &full, end);
			if (rc < 0)
				return rc;
			if (cancelled(c))
				return -ECANCELED;
		}
		if (rc < 0)
			return rc;
	}
	/* Of the whole buffer, as Kafka's max-buffer-utilization-percent. */
	c->st->map_utilization = (double)c->map->used / (double)c->map->cap;
	return 0;
}

/* ---- rewriting a group of segments ---- */

struct writer {
	int fd;
	int64_t base;
	uint64_t pos; /* bytes written to the .cleaned log */
	struct rn_buf out, oidx, tidx;
	uint64_t since; /* bytes since the last index entry */
	int64_t max_ts, max_off, last_tts;
};

static int flush_out(struct ctx *c, struct writer *w)
{
	if (!w->out.len)
		return 0;
	int rc = rn_io_write(w->fd, w->out.data, w->out.len);
	if (rc < 0)
		return rc;
	c->st->bytes_written += (int64_t)w->out.len;
	rn__throttle(&c->thr, w->out.len, c->o->cancel, &c->p->clean_abort);
	w->pos += w->out.len;
	rn_buf_reset(&w->out);
	return 0;
}

/* Index entries for the batch at out[at..], by the append path's rule. */
static void index_batch(const struct rn__plan *pl, struct writer *w, size_t at)
{
	const uint8_t *b = w->out.data + at;
	uint64_t total = rn_batch_total_size(b);
	int64_t base = (int64_t)rn_be64(b), ts = (int64_t)rn_be64(b + RN_BATCH_OFF_MAX_TIMESTAMP);
	uint64_t fpos = w->pos + at;
	if (ts > w->max_ts) {
		w->max_ts = ts;
		w->max_off = base;
	}
	if (fpos > 0 && w->since >= (uint64_t)pl->cfg.index_interval_bytes) {
		uint8_t e[12];
		rn_put_be32(e, (uint32_t)(base - w->base));
		rn_put_be32(e + 4, (uint32_t)fpos);
		rn_buf_append(&w->oidx, e, 8);
		if (w->max_ts > w->last_tts) {
			rn_put_be64(e, (uint64_t)w->max_ts);
			rn_put_be32(e + 8, (uint32_t)(w->max_off - w->base));
			rn_buf_append(&w->tidx, e, 12);
			w->last_tts = w->max_ts;
		}
		w->since = 0;
	}
	w->since += total;
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = rn_io_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fd;
	int rc = len ? rn_io_write(fd, data, len) : 0;
	if (rc == 0)
		rc = rn_io_fsync(fd);
	rn_io_close(fd);
	return rc;
}

/* The index files of the finished group: a final time entry as at deactivation. */
static int write_indexes(struct rn_partition *p, struct writer *w)
{
	if (w->max_ts > w->last_tts && w->max_off >= 0) {
		uint8_t e[12];
		rn_put_be64(e, (uint64_t)w->max_ts);
		rn_put_be32(e + 8, (uint32_t)(w->max_off - w->base));
		rn_buf_append(&w->tidx, e, 12);
	}
	/* Every aborted transaction whose marker is in the group lost its data (which comes
	 * before the marker, in this group or an earlier one): as Kafka, its entry is not kept,
	 * so readers no longer filter that producer's later batches. The file stays, empty. */
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%020lld.index.cleaned", p->dir, (long long)w->base);
	int rc = write_file(path, w->oidx.data, w->oidx.len);
	snprintf(path, sizeof(path), "%s/%020lld.timeindex.cleaned", p->dir, (long long)w->base);
	if (rc == 0)
		rc = write_file(path, w->tidx.data, w->tidx.len);
	snprintf(path, sizeof(path), "%s/%020lld.txnindex.cleaned", p->dir, (long long)w->base);
	if (rc == 0)
		rc = write_file(path, NULL, 0);
	return rc;
}

/* Filters the batches of one source segment into w. */
static int copy_segment(struct ctx *c, const struct rn__plan *pl, struct rn__filter *f,
			const struct rn__src *s, struct writer *w)
{
	struct reader r;
	reader_start(c, &r, s);
	const uint8_t *b;
	size_t len;
	int rc;
	while ((rc = next_batch(c, &r, &b, &len)) == 1) {
		size_t at = w->out.len;
		rc = rn__filter_batch(f, b, len, &w->out);
		if (rc < 0)
			return rc;
		if (w->out.len > at) {
			index_batch(pl, w, at);
			const uint8_t *o = w->out.data + at;
			int64_t bts = (int64_t)rn_be64(o + RN_BATCH_OFF_BASE_TIMESTAMP);
			if ((o[RN_BATCH_OFF_ATTRIBUTES + 1] & RN_BATCH_ATTR_DELETE_HORIZON) &&
			    bts < f->min_horizon)
				f->min_horizon = bts;
		}
		if (w->out.len >= c->o->io_buffer_size && (rc = flush_out(c, w)) < 0)
			return rc;
		if (cancelled(c))
			return -ECANCELED;
	}
	return rc;
}

static void writer_free(struct writer *w)
{
	if (w->fd >= 0)
		rn_io_close(w->fd);
	rn_buf_free(&w->out);
	rn_buf_free(&w->oidx);
	rn_buf_free(&w->tidx);
}

/* Rewrites segments [i, j) of the plan into one and swaps it in. */
static int clean_group(struct ctx *c, struct rn__plan *pl, struct rn__filter *f, int i, int j)
{
	struct rn_partition *p = c->p;
	struct writer w = {
	    .fd = -1, .base = pl->segs[i].base, .max_ts = -1, .max_off = -1, .last_tts = INT64_MIN};
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%020lld.log.cleaned", p->dir, (long long)w.base);
	int rc = w.fd = rn_io_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	for (int k = i; rc >= 0 && k < j; k++)
		rc = copy_segment(c, pl, f, &pl->segs[k], &w);
	if (rc >= 0)
		rc = flush_out(c, &w);
	if (rc >= 0 && rn__cleaner_step_hook)
		rn__cleaner_step_hook(1);
	if (rc >= 0)
		rc = rn_io_fsync(w.fd);
	if (rc >= 0)
		rc = write_indexes(p, &w);
	if (rc >= 0 && rn__cleaner_step_hook)
		rn__cleaner_step_hook(2);
	int64_t *olds = rn_malloc((size_t)(j - i) * sizeof(*olds));
	for (int k = i; k < j; k++)
		olds[k - i] = pl->segs[k].base;
	struct rn__cleaned cl = {.base = w.base,
				 .end = pl->segs[j - 1].end,
				 .size = w.pos,
				 .max_ts = w.max_ts,
				 .max_ts_off = w.max_off,
				 .nold = j - i,
				 .old_bases = olds};
	writer_free(&w);
	if (rc >= 0)
		rc = rn__swap_group(p, &pl->gen, &cl);
	else
		rn__unlink_cleaned(p, w.base);
	rn_free(olds);
	if (rc == 0) {
		c->st->segments_in += j - i;
		c->st->segments_out++;
	}
	return rc < 0 ? rc : 0;
}

/* Groups of consecutive segments below end whose sizes add up to at most segment.bytes (and
 * whose offsets fit the 32-bit relative offsets of the indexes). */
static int rewrite(struct ctx *c, struct rn__plan *pl, struct rn__filter *f, int64_t end)
{
	int nrew = 0;
	while (nrew < pl->n && pl->segs[nrew].base < end)
		nrew++;
	for (int i = 0; i < nrew;) {
		int j = i + 1;
		uint64_t size = pl->segs[i].size;
		while (j < nrew && size + pl->segs[j].size <= (uint64_t)pl->cfg.segment_bytes &&
		       pl->segs[j].end - pl->segs[i].base <= INT32_MAX) {
			size += pl->segs[j].size;
			j++;
		}
		int rc = clean_group(c, pl, f, i, j);
		if (rc < 0)
			return rc;
		i = j;
	}
	return 0;
}

static int clean_locked(struct rn_partition *p, const struct rn_clean_opts *o,
			struct rn_clean_stats *st, struct rn__omap *map)
{
	int64_t t0 = rn_mono_us(), now = o->now_ms ? o->now_ms : rn_wall_ms();
	memset(st, 0, sizeof(*st));
	struct rn__plan pl;
	int rc = rn__plan_make(p, now, o->force, &pl);
	if (rc <= 0)
		return rc;
	struct rn_clean_opts oo = *o;
	if (oo.io_buffer_size == 0)
		oo.io_buffer_size = 512 << 10; /* log.cleaner.io.buffer.size's default */
	struct ctx c = {.p = p, .o = &oo, .st = st, .map = map};
	rn__throttle_init(&c.thr, o->max_bytes_per_sec);
	struct rn__filter f = {.map = map,
			       .now_ms = now,
			       .delete_retention_ms = pl.cfg.delete_retention_ms,
			       .aborted = pl.aborted,
			       .naborted = pl.naborted,
			       .lasts = pl.lasts,
			       .nlasts = pl.nlasts,
			       .min_horizon = INT64_MAX};
	int64_t end;
	rc = build_map(&c, &pl, &f, &end);
	if (rc == 0) {
		f.map_end = end;
		rc = rewrite(&c, &pl, &f, end);
	}
	if (rc == 0) {
		rn__partition_set_clean_point(p, end);
		atomic_store(&p->horizon_ms, f.min_horizon);
		st->first_offset = pl.cp;
		st->end_offset = end;
		st->records_read = f.records_read;
		st->records_kept = f.records_kept;
		rc = 1;
	} else if (rc != -EAGAIN && rc != -ECANCELED) {
		rn_warn("storage: %s: clean failed: %s", p->dir, rn_strerror(rc));
		if (rc == RN_ECORRUPT)
			atomic_store(&p->uncleanable, true);
	}
	if (rc == -EAGAIN)
		rc = 0; /* segments changed under us: the next pass starts over */
	st->elapsed_us = rn_mono_us() - t0;
	rn__filter_free(&f);
	rn_buf_free(&c.in);
	rn__plan_free(&pl);
	return rc;
}

int rn__partition_clean_locked(struct rn_partition *p, const struct rn_clean_opts *o,
			       struct rn_clean_stats *st, struct rn__omap *map)
{
	struct rn_clean_stats local;
	return clean_locked(p, o, st ? st : &local, map);
}

int rn_partition_clean(struct rn_partition *p, const struct rn_clean_opts *o,
		       struct rn_clean_stats *st)
{
	struct rn__omap map;
	rn__omap_init(&map, o->map_bytes, o->load_factor);
	pthread_mutex_lock(&p->clean_mu);
	int rc =
	    atomic_load(&p->clean_abort) ? -ECANCELED : rn__partition_clean_locked(p, o, st, &map);
	pthread_mutex_unlock(&p->clean_mu);
	rn__omap_free(&map);
	return rc;
}
