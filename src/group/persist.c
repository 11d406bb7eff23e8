/* Replay, writes and snapshots of __consumer_offsets partitions (see persist.h). */
#include "group/persist.h"

#include <errno.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/record_batch.h"
#include "storage/partition.h"

#define READ_CHUNK (1u << 20)
#define MAX_BATCH  (512u << 10)

static void apply_batches(struct rn_gc *gc, const uint8_t *p, size_t len, int64_t from, int64_t now,
			  int64_t *n, struct rn_buf *scratch)
{
	while (len >= RN_BATCH_LOG_OVERHEAD) {
		struct rn_batch_header h;
		int64_t sz = rn_batch_validate_stored(p, len, &h);
		if (sz <= 0)
			break; /* the partition's recovery vouched for it; stop rather than guess */
		struct rn_record_iter it;
		bool control = h.attributes & RN_BATCH_ATTR_CONTROL;
		if (!control &&
		    rn_record_iter_init_any(&it, p, (size_t)sz, scratch, 64u << 20) == 0) {
			struct rn_record r;
			while (rn_record_iter_next(&it, &r) == 1) {
				if (r.offset < from)
					continue;
				(*n)++;
				if (rn_gc_apply(gc, now, r.key, r.key_len, r.value, r.value_len) <
				    0)
					rn_debug("__consumer_offsets: skipped record at %lld",
						 (long long)r.offset);
			}
		}
		p += sz;
		len -= (size_t)sz;
	}
}

int rn_gc_replay(struct rn_gc *gc, struct rn_partition *p, int64_t now, int64_t *nrecords)
{
	*nrecords = 0;
	int64_t off = rn_partition_log_start(p), end = rn_partition_high_watermark(p);
	uint8_t *buf = NULL;
	size_t cap = 0;
	struct rn_buf scratch = {0};
	int rc = 0;
	while (off < end) {
		struct rn_read_info ri;
		rc = rn_partition_read(p, off, READ_CHUNK, true, &ri);
		if (rc < 0 || ri.len == 0 || ri.next_offset <= off)
			break;
		if (ri.len > cap) {
			cap = ri.len;
			buf = rn_realloc(buf, cap);
		}
		ssize_t got = pread(ri.file->fd, buf, ri.len, (off_t)ri.pos);
		rn_fileref_put(ri.file);
		if (got != (ssize_t)ri.len) {
			rc = got < 0 ? -errno : -EIO;
			break;
		}
		apply_batches(gc, buf, ri.len, off, now, nrecords, &scratch);
		off = ri.next_offset;
	}
	rn_free(buf);
	rn_buf_free(&scratch);
	return rc;
}

int rn_gc_write(struct rn_partition *p, const struct rn_gc_rec *recs, int n, int64_t now,
		struct rn_append_info *ai)
{
	if (n <= 0)
		return 0;
	struct rn_buf b = {0};
	rn_gc_batches(&b, recs, n, now, MAX_BATCH);
	int rc = rn_partition_append(p, b.data, b.len, ai);
	rn_buf_free(&b);
	return rc;
}

struct live {
	int32_t idx, nparts;
	int64_t n;
	/* snapshot: records are collected here (keys and values back to back in bufs) */
	struct rn_buf *keys, *vals;
	size_t *klens, *vlens;
	int nrec, cap;
};

static void count_offset(struct rn_group *g, const char *topic, int32_t part,
			 const struct rn_gc_offset *o, void *arg)
{
	struct live *l = arg;
	l->n++;
	if (!l->keys)
		return;
	if (l->nrec == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->klens = rn_realloc(l->klens, (size_t)l->cap * sizeof(size_t));
		l->vlens = rn_realloc(l->vlens, (size_t)l->cap * sizeof(size_t));
	}
	size_t k0 = l->keys->len, v0 = l->vals->len;
	rn_gc_key_offset(l->keys, g->id, topic, part);
	rn_gc_value_offset(l->vals, o);
	l->klens[l->nrec] = l->keys->len - k0;
	l->vlens[l->nrec] = l->vals->len - v0;
	l->nrec++;
}

static void count_group(struct rn_group *g, void *arg)
{
	struct live *l = arg;
	if (rn_gc_partition_for(g->id, l->nparts) != l->idx)
		return;
	if (g->has_stored) {
		l->n++;
		if (l->keys) {
			if (l->nrec == l->cap) {
				l->cap = l->cap ? l->cap * 2 : 64;
				l->klens = rn_realloc(l->klens, (size_t)l->cap * sizeof(size_t));
				l->vlens = rn_realloc(l->vlens, (size_t)l->cap * sizeof(size_t));
			}
			size_t k0 = l->keys->len;
			rn_gc_key_group(l->keys, g->id);
			rn_buf_append(l->vals, g->stored.data, g->stored.len);
			l->klens[l->nrec] = l->keys->len - k0;
			l->vlens[l->nrec] = g->stored.len;
			l->nrec++;
		}
	}
	rn_gc_offsets_foreach(g, count_offset, l);
}

int64_t rn_gc_live_records(struct rn_gc *gc, int32_t idx, int32_t nparts)
{
	struct live l = {.idx = idx, .nparts = nparts};
	rn_gc_foreach(gc, count_group, &l);
	return l.n;
}

int rn_gc_snapshot(struct rn_gc *gc, struct rn_partition *p, int32_t idx, int32_t nparts,
		   int64_t now)
{
	struct rn_buf keys = {0}, vals = {0};
	struct live l = {.idx = idx, .nparts = nparts, .keys = &keys, .vals = &vals};
	rn_gc_foreach(gc, count_group, &l);
	int rc = 0;
	int64_t start = rn_partition_log_end(p);
	if (l.nrec > 0) {
		struct rn_gc_rec *recs = rn_calloc((size_t)l.nrec, sizeof(*recs));
		size_t ko = 0, vo = 0;
		for (int i = 0; i < l.nrec; i++) {
			recs[i] = (struct rn_gc_rec){keys.data + ko, (int32_t)l.klens[i],
						     vals.data + vo, (int32_t)l.vlens[i]};
			ko += l.klens[i];
			vo += l.vlens[i];
		}
		struct rn_append_info ai;
		rc = rn_gc_write(p, recs, l.nrec, now, &ai);
		if (rc == 0)
			start = ai.base_offset;
		rn_free(recs);
	}
	if (rc == 0)
		rc = rn_partition_advance_log_start(p, start);
	rn_buf_free(&keys);
	rn_buf_free(&vals);
	rn_free(l.klens);
	rn_free(l.vlens);
	return rc;
}
