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

struct replay {
	rn_gc_log_apply_fn apply;
	const struct rn_gc_log_txn *txn; /* NULL: transactional records go to apply */
	void *arg;
	int64_t from;
	int64_t *n;
	struct rn_buf *scratch;
};

/* A control batch's record: key i16 version, i16 type (0 ABORT, 1 COMMIT). */
static void marker_of(const struct replay *r, const uint8_t *p, size_t sz,
		      const struct rn_batch_header *h)
{
	struct rn_record_iter it;
	struct rn_record rec;
	if (!r->txn->marker || h->producer_id < 0 ||
	    rn_record_iter_init_any(&it, p, sz, r->scratch, 64u << 20) != 0 ||
	    rn_record_iter_next(&it, &rec) != 1 || rec.key_len < 4)
		return;
	int16_t type = (int16_t)((rec.key[2] << 8) | rec.key[3]);
	if (type == 0 || type == 1)
		r->txn->marker(r->arg, h->producer_id, h->producer_epoch, type == 1);
}

static void apply_batches(const struct replay *r, const uint8_t *p, size_t len)
{
	while (len >= RN_BATCH_LOG_OVERHEAD) {
		struct rn_batch_header h;
		int64_t sz = rn_batch_validate_stored(p, len, &h);
		if (sz <= 0)
			break; /* the partition's recovery vouched for it; stop rather than guess */
		struct rn_record_iter it;
		bool control = h.attributes & RN_BATCH_ATTR_CONTROL;
		bool txn =
		    r->txn && (h.attributes & RN_BATCH_ATTR_TRANSACTIONAL) && h.producer_id >= 0;
		if (control && txn && h.base_offset >= r->from)
			marker_of(r, p, (size_t)sz, &h);
		if (txn && !control && r->txn->batch && h.base_offset >= r->from)
			r->txn->batch(r->arg, h.producer_id, h.producer_epoch,
				      h.base_sequence + h.last_offset_delta);
		/* A cleaned batch may hold no records at all; the iterator yields none. */
		if (!control &&
		    rn_record_iter_init_any(&it, p, (size_t)sz, r->scratch, 64u << 20) == 0) {
			struct rn_record rec;
			while (rn_record_iter_next(&it, &rec) == 1) {
				if (rec.offset < r->from)
					continue;
				(*r->n)++;
				const uint8_t *v = rec.value_len < 0 ? NULL : rec.value;
				int rc =
				    txn ? r->txn->apply(r->arg, h.producer_id, rec.key, rec.key_len,
							v, rec.value_len)
					: r->apply(r->arg, rec.key, rec.key_len, v, rec.value_len);
				if (rc < 0)
					rn_debug("internal topic: skipped a record at %lld",
						 (long long)rec.offset);
			}
		}
		p += sz;
		len -= (size_t)sz;
	}
}

int rn_gc_log_replay_txn(struct rn_partition *p, int64_t from, rn_gc_log_apply_fn apply,
			 const struct rn_gc_log_txn *txn, void *arg, int64_t *nrecords,
			 int64_t *next)
{
	*nrecords = 0;
	/* A replicated partition is read to its log end (Kafka's loadGroupsAndOffsets: what a
	 * previous leader wrote beyond the high watermark stays in this leader's log). */
	bool all = rn_partition_replicated(p);
	int64_t start = rn_partition_log_start(p);
	int64_t off = from > start ? from : start;
	int64_t end = all ? rn_partition_log_end(p) : rn_partition_high_watermark(p);
	uint8_t *buf = NULL;
	size_t cap = 0;
	struct rn_buf scratch = {0};
	struct replay r = {apply, txn, arg, off, nrecords, &scratch};
	int rc = 0;
	while (off < end) {
		struct rn_read_info ri;
		rc = all ? rn_partition_read_replica(p, off, READ_CHUNK, true, &ri)
			 : rn_partition_read(p, off, READ_CHUNK, true, &ri);
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
		apply_batches(&r, buf, ri.len);
		off = ri.next_offset;
	}
	if (next)
		*next = off;
	rn_free(buf);
	rn_buf_free(&scratch);
	return rc;
}

int rn_gc_log_replay(struct rn_partition *p, rn_gc_log_apply_fn apply, void *arg, int64_t *nrecords)
{
	return rn_gc_log_replay_txn(p, 0, apply, NULL, arg, nrecords, NULL);
}

struct gc_apply {
	struct rn_gc *gc;
	int64_t now;
	struct rn_gc_pseqs *seqs; /* NULL: not tracked */
};

static int gc_apply(void *arg, const uint8_t *key, int32_t klen, const uint8_t *val, int32_t vlen)
{
	struct gc_apply *a = arg;
	return rn_gc_apply(a->gc, a->now, key, klen, val, vlen);
}

static int gc_apply_txn(void *arg, int64_t pid, const uint8_t *key, int32_t klen,
			const uint8_t *val, int32_t vlen)
{
	struct gc_apply *a = arg;
	return rn_gc_apply_txn(a->gc, a->now, pid, key, klen, val, vlen);
}

struct completion {
	int64_t pid;
	bool commit;
};

static void complete_group(struct rn_group *g, void *arg)
{
	struct completion *c = arg;
	rn_gc_txn_complete(g, c->pid, c->commit);
}

static void gc_marker(void *arg, int64_t pid, int16_t epoch, bool commit)
{
	struct gc_apply *a = arg;
	struct completion c = {pid, commit};
	rn_gc_foreach(a->gc, complete_group, &c);
	if (a->seqs)
		rn_gc_pseqs_marker(a->seqs, pid, epoch);
}

static void gc_batch(void *arg, int64_t pid, int16_t epoch, int32_t last_seq)
{
	struct gc_apply *a = arg;
	if (a->seqs)
		rn_gc_pseqs_batch(a->seqs, pid, epoch, last_seq);
}

int rn_gc_replay_from(struct rn_gc *gc, struct rn_partition *p, int64_t from, int64_t now,
		      struct rn_gc_pseqs *seqs, int64_t *nrecords, int64_t *next)
{
	struct gc_apply a = {gc, now, seqs};
	const struct rn_gc_log_txn txn = {gc_apply_txn, gc_batch, gc_marker};
	return rn_gc_log_replay_txn(p, from, gc_apply, &txn, &a, nrecords, next);
}

int rn_gc_replay(struct rn_gc *gc, struct rn_partition *p, int64_t now, int64_t *nrecords)
{
	return rn_gc_replay_from(gc, p, 0, now, NULL, nrecords, NULL);
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
