/* Replay and writes of the coordinators' internal topics (see persist.h). */
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

static void apply_batches(const uint8_t *p, size_t len, int64_t from, rn_gc_log_apply_fn apply,
			  void *arg, int64_t *n, struct rn_buf *scratch)
{
	while (len >= RN_BATCH_LOG_OVERHEAD) {
		struct rn_batch_header h;
		int64_t sz = rn_batch_validate_stored(p, len, &h);
		if (sz <= 0)
			break; /* the partition's recovery vouched for it; stop rather than guess */
		struct rn_record_iter it;
		bool control = h.attributes & RN_BATCH_ATTR_CONTROL;
		/* A cleaned batch may hold no records at all; the iterator yields none. */
		if (!control &&
		    rn_record_iter_init_any(&it, p, (size_t)sz, scratch, 64u << 20) == 0) {
			struct rn_record r;
			while (rn_record_iter_next(&it, &r) == 1) {
				if (r.offset < from)
					continue;
				(*n)++;
				if (apply(arg, r.key, r.key_len, r.value_len < 0 ? NULL : r.value,
					  r.value_len) < 0)
					rn_debug("internal topic: skipped a record at %lld",
						 (long long)r.offset);
			}
		}
		p += sz;
		len -= (size_t)sz;
	}
}

int rn_gc_log_replay(struct rn_partition *p, rn_gc_log_apply_fn apply, void *arg, int64_t *nrecords)
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
		apply_batches(buf, ri.len, off, apply, arg, nrecords, &scratch);
		off = ri.next_offset;
	}
	rn_free(buf);
	rn_buf_free(&scratch);
	return rc;
}

struct gc_apply {
	struct rn_gc *gc;
	int64_t now;
};

static int gc_apply(void *arg, const uint8_t *key, int32_t klen, const uint8_t *val, int32_t vlen)
{
	struct gc_apply *a = arg;
	return rn_gc_apply(a->gc, a->now, key, klen, val, vlen);
}

int rn_gc_replay(struct rn_gc *gc, struct rn_partition *p, int64_t now, int64_t *nrecords)
{
	struct gc_apply a = {gc, now};
	return rn_gc_log_replay(p, gc_apply, &a, nrecords);
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
