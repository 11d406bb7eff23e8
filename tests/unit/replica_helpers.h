/*
 * Test helpers for the follower-side storage tests (test_storage_replica_*.c): a leader log
 * written through the normal append path and a follower log fed with what the leader stores,
 * byte for byte, as a replica fetcher would.
 */
#ifndef RN_TESTS_REPLICA_HELPERS_H
#define RN_TESTS_REPLICA_HELPERS_H

#include <unistd.h>

#include "batch_builder.h"
#include "core/err.h"
#include "storage/partition.h"

static inline struct rn_log_config rh_cfg(void)
{
	struct rn_log_config c;
	rn_log_config_default(&c);
	c.segment_bytes = 4096;
	c.index_interval_bytes = 256;
	c.segment_index_bytes = 4096;
	return c;
}

static inline struct rn_partition *rh_open(const char *dir, const struct rn_log_config *c)
{
	struct rn_partition *p;
	if (rn_partition_open(dir, c, -1, 0, true, &p) != 0)
		abort();
	return p;
}

/* Sets producer id, epoch, base sequence and the transactional bit of the last batch in b
 * (starting at start) and recomputes its CRC. */
static inline void rh_set_producer(struct rn_buf *b, size_t start, int64_t pid, int16_t epoch,
				   int32_t seq, bool txn)
{
	uint8_t *d = b->data + start;
	size_t len = b->len - start;
	if (txn)
		d[RN_BATCH_OFF_ATTRIBUTES + 1] |= RN_BATCH_ATTR_TRANSACTIONAL;
	rn_put_be64(d + RN_BATCH_OFF_PRODUCER_ID, (uint64_t)pid);
	d[RN_BATCH_OFF_PRODUCER_EPOCH] = (uint8_t)((uint16_t)epoch >> 8);
	d[RN_BATCH_OFF_PRODUCER_EPOCH + 1] = (uint8_t)epoch;
	rn_put_be32(d + RN_BATCH_OFF_BASE_SEQUENCE, (uint32_t)seq);
	rn_put_be32(d + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, d + RN_BATCH_OFF_ATTRIBUTES, len - RN_BATCH_OFF_ATTRIBUTES));
}

/* Appends a plain batch of n records (values of vs bytes) to the leader; returns its base. */
static inline int64_t rh_put(struct rn_partition *p, int n, int vs)
{
	struct rn_buf b = {0};
	bb_batch(&b, n, 1000, vs);
	struct rn_append_info ai;
	int rc = rn_partition_append(p, b.data, b.len, &ai);
	rn_buf_free(&b);
	if (rc != 0)
		abort();
	return ai.base_offset;
}

/* The same for an idempotent (txn false) or transactional producer. Returns the append's
 * result; *info gets the append info. */
static inline int rh_put_pid(struct rn_partition *p, int n, int64_t pid, int16_t epoch, int32_t seq,
			     bool txn, struct rn_append_info *info)
{
	struct rn_buf b = {0};
	bb_batch(&b, n, 1000, 50);
	rh_set_producer(&b, 0, pid, epoch, seq, txn);
	int rc = rn_partition_append(p, b.data, b.len, info);
	rn_buf_free(&b);
	return rc;
}

/* Reads what the leader stores at [from, upto) (whole batches) into out. */
static inline void rh_leader_bytes(struct rn_partition *l, int64_t from, int64_t upto,
				   struct rn_buf *out)
{
	while (from < upto) {
		struct rn_read_info ri;
		if (rn_partition_read_replica(l, from, 1 << 20, true, &ri) != 0 || ri.len == 0)
			abort();
		uint8_t *d = rn_buf_reserve(out, ri.len);
		if (pread(ri.file->fd, d, ri.len, (off_t)ri.pos) != (ssize_t)ri.len)
			abort();
		rn_fileref_put(ri.file);
		/* Whole batches up to upto only. */
		size_t keep = 0;
		while (keep < ri.len) {
			int64_t base = (int64_t)rn_be64(d + keep + RN_BATCH_OFF_BASE_OFFSET);
			if (base >= upto)
				break;
			keep += (size_t)rn_batch_total_size(d + keep);
		}
		out->len += keep;
		from = ri.next_offset;
		if (keep < ri.len)
			break;
	}
}

/* Replicates the leader's log from the follower's log end up to upto (-1: the leader's log
 * end), in fetches of at most max bytes (a fetch may cut its last batch). Returns the
 * follower's log end. */
static inline int64_t rh_replicate(struct rn_partition *l, struct rn_partition *f, int64_t upto,
				   size_t max)
{
	if (upto < 0)
		upto = rn_partition_log_end(l);
	while (rn_partition_log_end(f) < upto) {
		struct rn_buf b = {0};
		rh_leader_bytes(l, rn_partition_log_end(f), upto, &b);
		size_t len = b.len < max ? b.len : max;
		if (len < rn_batch_total_size(b.data)) /* as KIP-74: the first batch whole */
			len = (size_t)rn_batch_total_size(b.data) + len / 2;
		if (len > b.len)
			len = b.len;
		size_t used;
		struct rn_append_info ai;
		int rc = rn_partition_append_replica(f, b.data, len, &used, &ai);
		rn_buf_free(&b);
		if (rc != 0 || used == 0)
			abort();
	}
	return rn_partition_log_end(f);
}

/* A leader and a follower log, each in its own temporary directory: the cmocka fixture the
 * follower-append and follower-state tests share. */
struct rh_pair {
	char *ldir, *fdir;
	struct rn_partition *l, *f;
	struct rn_log_config cfg;
};

static inline int rh_pair_setup(void **state)
{
	struct rh_pair *e = calloc(1, sizeof(*e));
	e->cfg = rh_cfg();
	e->ldir = bb_tmpdir();
	e->fdir = bb_tmpdir();
	e->l = rh_open(e->ldir, &e->cfg);
	e->f = rh_open(e->fdir, &e->cfg);
	*state = e;
	return 0;
}

/* Tests may close a log themselves and leave it NULL. */
static inline int rh_pair_teardown(void **state)
{
	struct rh_pair *e = *state;
	if (e->l)
		rn_partition_close(e->l);
	if (e->f)
		rn_partition_close(e->f);
	bb_rmrf(e->ldir);
	bb_rmrf(e->fdir);
	free(e->ldir);
	free(e->fdir);
	free(e);
	return 0;
}

#endif
