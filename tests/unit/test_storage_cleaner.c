/* Log cleaner: offset map, a clean (latest per key, offsets kept, passes, tombstones,
 * compressed batches, transactions, producer metadata), crash recovery at every swap step
 * and injected I/O failures at every call, the keyless-record check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sys/wait.h>

#include "batch_builder.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/io.h"
#include "storage/cleaner.h"
#include "storage/cleaner_int.h"
#include "storage/logdir.h"
#include "storage/partition.h"

#define NKEYS 40

static struct rn_log_config compact_cfg(void)
{
	struct rn_log_config c;
	rn_log_config_default(&c);
	c.segment_bytes = 4096;
	c.index_interval_bytes = 256;
	c.segment_index_bytes = 4096;
	c.cleanup_compact = true;
	c.cleanup_delete = false;
	c.min_cleanable_ratio = 0.01;
	c.delete_retention_ms = 1000;
	/* fill() rolls with a clock days ahead: producers must not expire meanwhile. */
	c.producer_id_expiration_ms = 1000LL * 86400000;
	return c;
}

static struct rn_clean_opts opts(size_t map_bytes)
{
	return (struct rn_clean_opts){
	    .map_bytes = map_bytes, .load_factor = 0.9, .io_buffer_size = 1000, .force = true};
}

/* Sets producer fields (and the transactional bit) of the batch at b and fixes its CRC. */
static void set_producer(uint8_t *b, int64_t pid, int16_t epoch, int32_t seq, bool txn)
{
	rn_put_be64(b + RN_BATCH_OFF_PRODUCER_ID, (uint64_t)pid);
	b[RN_BATCH_OFF_PRODUCER_EPOCH] = (uint8_t)((uint16_t)epoch >> 8);
	b[RN_BATCH_OFF_PRODUCER_EPOCH + 1] = (uint8_t)epoch;
	rn_put_be32(b + RN_BATCH_OFF_BASE_SEQUENCE, (uint32_t)seq);
	if (txn)
		b[RN_BATCH_OFF_ATTRIBUTES + 1] |= RN_BATCH_ATTR_TRANSACTIONAL;
	size_t total = (size_t)rn_batch_total_size(b);
	rn_put_be32(b + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, b + RN_BATCH_OFF_ATTRIBUTES, total - RN_BATCH_OFF_ATTRIBUTES));
}

/* Appends one batch of records (key "k<key0 + i>", value "v<round>" or a tombstone). */
static int64_t put(struct rn_partition *p, int key0, int n, int round, bool tombstone, int codec,
		   int64_t pid, int32_t seq, bool txn)
{
	struct bb_record r[64];
	char keys[64][16], vals[64][16];
	for (int i = 0; i < n; i++) {
		snprintf(keys[i], 16, "k%d", key0 + i);
		snprintf(vals[i], 16, "v%d", round);
		r[i] = (struct bb_record){keys[i],
					  (int32_t)strlen(keys[i]),
					  tombstone ? NULL : vals[i],
					  (int32_t)strlen(vals[i]),
					  1000 + round,
					  NULL,
					  NULL};
	}
	struct rn_buf b = {0};
	bb_batch_records_codec(&b, r, n, codec);
	if (pid >= 0)
		set_producer(b.data, pid, 0, seq, txn);
	struct rn_append_info info;
	assert_int_equal(rn_partition_append(p, b.data, b.len, &info), 0);
	rn_buf_free(&b);
	return info.base_offset;
}

struct rec {
	int64_t offset;
	int key;   /* -1 none */
	int round; /* -1 tombstone */
	int codec; /* of its batch */
	bool control;
	int64_t pid;
};

struct log {
	struct rec *r;
	int n, cap;
	int empty_batches;
};

/* Every record from the log start to the high watermark, through the read path. */
static void read_all(struct rn_partition *p, struct log *l)
{
	memset(l, 0, sizeof(*l));
	int64_t off = rn_partition_log_start(p), hw = rn_partition_high_watermark(p);
	struct rn_buf scratch = {0};
	while (off < hw) {
		struct rn_read_info ri;
		assert_int_equal(rn_partition_read(p, off, 1 << 20, true, &ri), 0);
		if (ri.len == 0)
			break; /* compaction may leave no batch between here and the log end */
		uint8_t *buf = malloc(ri.len);
		assert_int_equal(pread(ri.file->fd, buf, ri.len, (off_t)ri.pos), (ssize_t)ri.len);
		rn_fileref_put(ri.file);
		for (size_t at = 0; at < ri.len;) {
			struct rn_batch_header h;
			int64_t t = rn_batch_validate_stored(buf + at, ri.len - at, &h);
			assert_true(t > 0);
			if (h.records_count == 0)
				l->empty_batches++;
			struct rn_record_iter it;
			assert_int_equal(
			    rn_record_iter_init_any(&it, buf + at, (size_t)t, &scratch, 1 << 24),
			    0);
			struct rn_record r;
			while (rn_record_iter_next(&it, &r) == 1) {
				if (l->n == l->cap) {
					l->cap = l->cap ? 2 * l->cap : 256;
					l->r = realloc(l->r, (size_t)l->cap * sizeof(*l->r));
				}
				struct rec *x = &l->r[l->n++];
				assert_true(l->n == 1 || r.offset > l->r[l->n - 2].offset);
				x->offset = r.offset;
				x->control = h.attributes & RN_BATCH_ATTR_CONTROL;
				x->codec = h.attributes & 7;
				x->pid = h.producer_id;
				x->key = x->control || r.key_len < 2
					     ? -1
					     : atoi((const char *)r.key + 1);
				x->round = r.value_len < 0 || x->control
					       ? -1
					       : atoi((const char *)r.value + 1);
			}
			at += (size_t)t;
			off = h.base_offset + h.last_offset_delta + 1;
		}
		free(buf);
	}
	rn_buf_free(&scratch);
}

static const struct rec *find_key(const struct log *l, int key)
{
	const struct rec *found = NULL;
	for (int i = 0; i < l->n; i++)
		if (l->r[i].key == key && !l->r[i].control)
			found = &l->r[i];
	return found;
}

/* A copy of key's last record; round -2 and offset -1 when absent. */
static struct rec get_key(const struct log *l, int key)
{
	const struct rec *r = find_key(l, key);
	struct rec none = {.offset = -1, .key = key, .round = -2};
	return r ? *r : none;
}

static int count_key(const struct log *l, int key)
{
	int n = 0;
	for (int i = 0; i < l->n; i++)
		n += l->r[i].key == key && !l->r[i].control;
	return n;
}

/* ROUNDS rounds of updates of every key, 10 keys per batch; offset of (key, round) is
 * round * NKEYS + key. */
#define ROUNDS 12
static void fill(struct rn_partition *p, int codec)
{
	for (int round = 0; round < ROUNDS; round++)
		for (int k = 0; k < NKEYS; k += 10)
			put(p, k, 10, round, false, codec, -1, 0, false);
	/* The active segment is never cleaned: start a new one. */
	assert_int_equal(rn_partition_maintain(p, rn_wall_ms() + 8 * 86400000LL), 0);
}

static void check_latest(struct rn_partition *p, int round)
{
	struct log l;
	read_all(p, &l);
	for (int k = 0; k < NKEYS; k++) {
		struct rec r = get_key(&l, k);
		assert_int_equal(r.round, round);
		assert_int_equal(r.offset, (int64_t)round * NKEYS + k);
		assert_int_equal(count_key(&l, k), 1);
	}
	free(l.r);
}

static struct rn_partition *open_p(const char *dir, const struct rn_log_config *c)
{
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, c, -1, 0, true, &p), 0);
	return p;
}

static void test_offset_map(void **state)
{
	(void)state;
	struct rn__omap m;
	rn__omap_init(&m, 24 * 100, 0.5);
	assert_int_equal(m.nslots, 100);
	char k[16];
	for (int i = 0; i < 50; i++) {
		snprintf(k, sizeof(k), "key%d", i);
		assert_int_equal(rn__omap_put(&m, (const uint8_t *)k, strlen(k), i), 0);
	}
	/* Full for new keys, updates still fine. */
	assert_int_equal(rn__omap_put(&m, (const uint8_t *)"new", 3, 99), 1);
	assert_int_equal(rn__omap_put(&m, (const uint8_t *)"key7", 4, 500), 0);
	assert_int_equal(rn__omap_get(&m, (const uint8_t *)"key7", 4), 500);
	assert_int_equal(rn__omap_get(&m, (const uint8_t *)"key8", 4), 8);
	assert_int_equal(rn__omap_get(&m, (const uint8_t *)"new", 3), -1);
	assert_int_equal(rn__omap_get(&m, (const uint8_t *)"", 0), -1);
	rn__omap_clear(&m);
	assert_int_equal(rn__omap_get(&m, (const uint8_t *)"key8", 4), -1);
	assert_int_equal(rn__omap_put(&m, (const uint8_t *)"", 0, 3), 0);
	assert_int_equal(rn__omap_get(&m, (const uint8_t *)"", 0), 3);
	/* A clean of a few offsets uses (and later clears) a few slots only. */
	rn__omap_reset(&m, 5);
	assert_int_equal(m.nslots, 11);
	assert_int_equal(rn__omap_get(&m, (const uint8_t *)"", 0), -1);
	for (int i = 0; i < 5; i++) {
		snprintf(k, sizeof(k), "key%d", i);
		assert_int_equal(rn__omap_put(&m, (const uint8_t *)k, strlen(k), i), 0);
	}
	assert_int_equal(rn__omap_get(&m, (const uint8_t *)"key4", 4), 4);
	rn__omap_reset(&m, 1000);
	assert_int_equal(m.nslots, 100);
	assert_int_equal(rn__omap_get(&m, (const uint8_t *)"key4", 4), -1);
	rn__omap_free(&m);
}

static void test_clean_latest(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = compact_cfg();
	struct rn_partition *p = open_p(dir, &c);
	fill(p, 0);
	struct rn_clean_state cs;
	rn_partition_clean_state(p, 0, &cs);
	assert_true(cs.cleanable);
	struct rn_clean_opts o = opts(1 << 20);
	struct rn_clean_stats st;
	assert_int_equal(rn_partition_clean(p, &o, &st), 1);
	assert_int_equal(st.records_kept, NKEYS);
	assert_true(st.bytes_written < st.bytes_read / 4);
	assert_int_equal(rn_partition_clean_point(p), ROUNDS * NKEYS);
	check_latest(p, ROUNDS - 1);
	/* Nothing dirty any more. */
	rn_partition_clean_state(p, 0, &cs);
	assert_false(cs.cleanable);
	o.force = false;
	assert_int_equal(rn_partition_clean(p, &o, NULL), 0);
	/* New updates, another clean, and a restart. */
	for (int k = 0; k < NKEYS; k += 10)
		put(p, k, 10, ROUNDS, false, 0, -1, 0, false);
	assert_int_equal(rn_partition_maintain(p, rn_wall_ms() + 16 * 86400000LL), 0);
	o.force = true;
	assert_int_equal(rn_partition_clean(p, &o, NULL), 1);
	check_latest(p, ROUNDS);
	rn_partition_close(p);
	p = open_p(dir, &c);
	check_latest(p, ROUNDS);
	/* Appends go on after the cleaned segments. */
	assert_int_equal(put(p, 0, 10, 99, false, 0, -1, 0, false), (ROUNDS + 1) * NKEYS);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_passes(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = compact_cfg();
	struct rn_partition *p = open_p(dir, &c);
	fill(p, 0);
	/* 10 slots * 0.9: 9 keys per pass. */
	struct rn_clean_opts o = opts(24 * 10);
	int passes = 0;
	struct rn_clean_stats st;
	while (rn_partition_clean(p, &o, &st) == 1) {
		passes++;
		assert_true(st.map_utilization <= 1.0);
		o.force = false;
		if (passes > 200)
			fail();
	}
	assert_true(passes > 1);
	check_latest(p, ROUNDS - 1);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_tombstones(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = compact_cfg();
	struct rn_partition *p = open_p(dir, &c);
	fill(p, 0);
	/* Keys 0-9 deleted. */
	put(p, 0, 10, ROUNDS, true, 0, -1, 0, false);
	assert_int_equal(rn_partition_maintain(p, rn_wall_ms() + 16 * 86400000LL), 0);
	int64_t now = rn_wall_ms();
	struct rn_clean_opts o = opts(1 << 20);
	o.now_ms = now;
	assert_int_equal(rn_partition_clean(p, &o, NULL), 1);
	struct log l;
	read_all(p, &l);
	for (int k = 0; k < 10; k++) {
		/* the tombstone, within delete.retention.ms */
		assert_int_equal(get_key(&l, k).round, -1);
		assert_int_equal(count_key(&l, k), 1);
	}
	free(l.r);
	/* Not due yet: no clean without force. */
	struct rn_clean_state cs;
	rn_partition_clean_state(p, now + 10, &cs);
	assert_false(cs.cleanable);
	/* After the horizon (now + 1000 ms) the log is cleanable again and they go. */
	rn_partition_clean_state(p, now + 1001, &cs);
	assert_true(cs.horizon_due && cs.cleanable);
	o.now_ms = now + 1001;
	o.force = false;
	assert_int_equal(rn_partition_clean(p, &o, NULL), 1);
	read_all(p, &l);
	for (int k = 0; k < NKEYS; k++)
		assert_int_equal(count_key(&l, k), k < 10 ? 0 : 1);
	free(l.r);
	/* The horizon survives a restart in the batch itself. */
	rn_partition_close(p);
	p = open_p(dir, &c);
	read_all(p, &l);
	assert_int_equal(l.n, NKEYS - 10);
	free(l.r);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_compressed(void **state)
{
	(void)state;
	for (int codec = 1; codec <= 4; codec++) {
		char *dir = bb_tmpdir();
		struct rn_log_config c = compact_cfg();
		struct rn_partition *p = open_p(dir, &c);
		for (int round = 0; round < ROUNDS; round++)
			for (int k = 0; k < NKEYS; k += 10)
				/* Every other batch has half of its keys superseded later. */
				put(p, k, (round & 1) && round < ROUNDS - 1 ? 5 : 10, round, false,
				    codec, -1, 0, false);
		assert_int_equal(rn_partition_maintain(p, rn_wall_ms() + 8 * 86400000LL), 0);
		struct rn_clean_opts o = opts(1 << 20);
		assert_int_equal(rn_partition_clean(p, &o, NULL), 1);
		struct log l;
		read_all(p, &l);
		assert_int_equal(l.n, NKEYS);
		for (int i = 0; i < l.n; i++)
			assert_int_equal(l.r[i].codec, codec);
		for (int k = 0; k < NKEYS; k++)
			assert_int_equal(get_key(&l, k).round, ROUNDS - 1);
		free(l.r);
		rn_partition_close(p);
		bb_rmrf(dir);
		free(dir);
	}
}

static int count_markers(const struct log *l)
{
	int n = 0;
	for (int i = 0; i < l->n; i++)
		n += l->r[i].control;
	return n;
}

static void test_transactions(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = compact_cfg();
	struct rn_partition *p = open_p(dir, &c);
	struct rn_append_info ai;
	/* pid 7 commits keys 0-9 (round 1), pid 8 aborts keys 10-19 (round 2), pid 9 overwrites
	 * keys 0-9 in a committed transaction (round 3), pid 8 commits keys 30-39 (round 5). */
	put(p, 0, 10, 1, false, 0, 7, 0, true);
	put(p, 10, 10, 2, false, 0, 8, 0, true);
	assert_int_equal(rn_partition_append_marker(p, 7, 0, true, 0, &ai), 0);
	assert_int_equal(rn_partition_append_marker(p, 8, 0, false, 0, &ai), 0);
	put(p, 0, 10, 3, false, 0, 9, 0, true);
	assert_int_equal(rn_partition_append_marker(p, 9, 0, true, 0, &ai), 0);
	put(p, 20, 10, 4, false, 0, -1, 0, false);
	put(p, 30, 10, 5, false, 0, 8, 10, true);
	assert_int_equal(rn_partition_append_marker(p, 8, 0, true, 0, &ai), 0);
	assert_int_equal(rn_partition_maintain(p, rn_wall_ms() + 8 * 86400000LL), 0);
	int64_t now = rn_wall_ms();
	struct rn_clean_opts o = opts(1 << 20);
	o.now_ms = now;
	assert_int_equal(rn_partition_clean(p, &o, NULL), 1);
	struct log l;
	read_all(p, &l);
	/* Aborted data gone, committed data latest per key. pid 7's superseded batch stays as
	 * an empty header (its producer's last), so its marker stays; pid 8's aborted
	 * transaction has no data left: its marker stays until its delete horizon. */
	for (int k = 0; k < 40; k++)
		assert_int_equal(get_key(&l, k).round, k < 10 ? 3 : k < 20 ? -2 : k < 30 ? 4 : 5);
	assert_int_equal(count_markers(&l), 4);
	assert_int_equal(l.empty_batches, 1);
	free(l.r);
	/* Its data is gone, so read_committed readers are no longer told about it (else they
	 * would skip pid 8's later committed batches while looking for the marker). */
	struct rn_arena a = {0};
	struct rn_aborted_txn *at;
	assert_int_equal(rn_partition_aborted_txns(p, 0, 100, &at, &a), 0);
	rn_arena_free(&a);
	/* After the horizon the abort marker goes. */
	o.now_ms = now + 1001;
	assert_int_equal(rn_partition_clean(p, &o, NULL), 1);
	read_all(p, &l);
	assert_int_equal(count_markers(&l), 3);
	free(l.r);
	/* No transaction is left open by the cleaned log after a restart. */
	rn_partition_close(p);
	p = open_p(dir, &c);
	assert_int_equal(rn_partition_last_stable(p), rn_partition_high_watermark(p));
	read_all(p, &l);
	assert_int_equal(count_markers(&l), 3);
	free(l.r);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

/* Producer 42's third batch (keys k0-k9, round 2, sequence 20) again: a duplicate. */
static void put_batch_again(struct rn_partition *p, struct rn_buf *b)
{
	struct bb_record r[10];
	char keys[10][16];
	for (int i = 0; i < 10; i++) {
		snprintf(keys[i], 16, "k%d", i);
		r[i] = (struct bb_record){keys[i], (int32_t)strlen(keys[i]), "v2", 2, 1002, NULL,
					  NULL};
	}
	bb_batch_records(b, r, 10);
	set_producer(b->data, 42, 0, 20, false);
	struct rn_append_info ai;
	int64_t end = rn_partition_log_end(p);
	assert_int_equal(rn_partition_append(p, b->data, b->len, &ai), 0);
	assert_true(ai.duplicate);
	assert_int_equal(ai.base_offset, 20);
	assert_int_equal(rn_partition_log_end(p), end);
}

static void test_producer_state_kept(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = compact_cfg();
	struct rn_partition *p = open_p(dir, &c);
	/* Idempotent producer 42: 3 batches of keys 0-9, sequences 0, 10, 20; then another
	 * producer overwrites the keys, so producer 42's batches are all superseded. */
	for (int i = 0; i < 3; i++)
		put(p, 0, 10, i, false, 0, 42, i * 10, false);
	put(p, 0, 10, 9, false, 0, -1, 0, false);
	assert_int_equal(rn_partition_maintain(p, rn_wall_ms() + 8 * 86400000LL), 0);
	struct rn_clean_opts o = opts(1 << 20);
	assert_int_equal(rn_partition_clean(p, &o, NULL), 1);
	struct log l;
	read_all(p, &l);
	assert_int_equal(l.n, 10);
	assert_int_equal(l.empty_batches, 1); /* producer 42's last batch, emptied */
	free(l.r);
	rn_partition_close(p);
	/* Restart without producer snapshots: the state is rebuilt from the log, where only the
	 * kept header still has producer 42's last batch. */
	DIR *dd = opendir(dir);
	struct dirent *de;
	while ((de = readdir(dd)))
		if (strstr(de->d_name, ".snapshot")) {
			char path[512];
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	closedir(dd);
	p = open_p(dir, &c);
	/* A retry of that batch is still a duplicate, answered with its offsets... */
	struct rn_buf b = {0};
	put_batch_again(p, &b);
	struct bb_record r = {"k0", 2, "x", 1, 5000, NULL, NULL};
	rn_buf_reset(&b);
	bb_batch_records(&b, &r, 1);
	set_producer(b.data, 42, 0, 29, false); /* ...a gap is out of order... */
	struct rn_append_info ai;
	assert_int_equal(rn_partition_append(p, b.data, b.len, &ai), RN_EOUTOFORDER);
	set_producer(b.data, 42, 0, 30, false); /* the next sequence */
	assert_int_equal(rn_partition_append(p, b.data, b.len, &ai), 0);
	rn_buf_free(&b);
	/* Now that batch is the producer's last: the empty header goes at the next clean. */
	assert_int_equal(rn_partition_maintain(p, rn_wall_ms() + 16 * 86400000LL), 0);
	assert_int_equal(rn_partition_clean(p, &o, NULL), 1);
	read_all(p, &l);
	assert_int_equal(l.empty_batches, 0);
	assert_int_equal(count_key(&l, 0), 1); /* "x" replaced "v9" */
	assert_int_equal(get_key(&l, 0).offset, rn_partition_log_end(p) - 1);
	free(l.r);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_keyless_refused(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = compact_cfg();
	struct rn_partition *p = open_p(dir, &c);
	for (int codec = 0; codec <= 4; codec++) {
		struct bb_record r[2] = {{"a", 1, "x", 1, 1, NULL, NULL},
					 {NULL, 0, "y", 1, 1, NULL, NULL}};
		struct rn_buf b = {0};
		bb_batch_records_codec(&b, r, 2, codec);
		struct rn_append_info ai;
		assert_int_equal(rn_partition_append(p, b.data, b.len, &ai), RN_EBADRECORD);
		/* The keyless record is named by its index in the batch (Produce v8 RecordErrors).
		 */
		assert_int_equal(ai.record_errors.n, 1);
		assert_int_equal(ai.record_errors.e[0].batch_index, 1);
		assert_non_null(ai.record_errors.e[0].message);
		rn_buf_free(&b);
	}
	assert_int_equal(rn_partition_log_end(p), 0);
	/* Not compacted: accepted. */
	c.cleanup_compact = false;
	rn_partition_set_config(p, &c);
	struct bb_record r = {NULL, 0, "y", 1, 1, NULL, NULL};
	struct rn_buf b = {0};
	bb_batch_records(&b, &r, 1);
	struct rn_append_info ai;
	assert_int_equal(rn_partition_append(p, b.data, b.len, &ai), 0);
	rn_buf_free(&b);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void append_at(struct rn_partition *p, int n, int64_t ts)
{
	struct rn_buf b = {0};
	bb_batch(&b, n, ts, 100);
	struct rn_append_info ai;
	assert_int_equal(rn_partition_append(p, b.data, b.len, &ai), 0);
	rn_buf_free(&b);
}

static void test_lags_and_ratio(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = compact_cfg();
	c.min_compaction_lag_ms = 3600000;
	c.min_cleanable_ratio = 0.5;
	struct rn_partition *p = open_p(dir, &c);
	int64_t now = rn_wall_ms();
	for (int i = 0; i < 20; i++)
		append_at(p, 10, now);
	assert_int_equal(rn_partition_maintain(p, now + 8 * 86400000LL), 0);
	/* Records younger than min.compaction.lag.ms are not cleanable. */
	struct rn_clean_state st;
	rn_partition_clean_state(p, now, &st);
	assert_int_equal(st.first_uncleanable, 0);
	assert_false(st.cleanable);
	rn_partition_clean_state(p, now + 3600100, &st);
	assert_true(st.cleanable);
	assert_true(st.dirty_ratio > 0.99);
	/* A runtime config change is honoured: ratio 1.0 is out of reach... */
	c.min_compaction_lag_ms = 0;
	c.min_cleanable_ratio = 1.0;
	rn_partition_set_config(p, &c);
	struct rn_clean_opts o = opts(1 << 20);
	o.force = false;
	o.now_ms = now;
	assert_int_equal(rn_partition_clean(p, &o, NULL), 1); /* 20/20 dirty: ratio 1.0 */
	for (int i = 0; i < 2; i++)
		append_at(p, 10, now);
	assert_int_equal(rn_partition_maintain(p, now + 16 * 86400000LL), 0);
	rn_partition_clean_state(p, now, &st);
	assert_true(st.dirty_ratio < 1.0);
	assert_false(st.cleanable);
	/* ...but max.compaction.lag.ms forces the clean of records that old. */
	c.max_compaction_lag_ms = 60000;
	rn_partition_set_config(p, &c);
	rn_partition_clean_state(p, now + 60100, &st);
	assert_true(st.cleanable);
	assert_true(st.compaction_delay_ms > 0 && st.compaction_delay_ms <= 100);
	rn_partition_clean_state(p, now + 1000, &st);
	assert_false(st.cleanable);
	assert_int_equal(st.compaction_delay_ms, 0);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

/* The background threads over a log dir: two threads, three compacted partitions and one
 * that is not; the clean points land in cleaner-offset-checkpoint and survive a reopen. */
static void test_threads_and_checkpoint(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_logdir *d;
	assert_int_equal(rn_logdir_open(dir, &d), 0);
	struct rn_log_config c = compact_cfg();
	struct rn_partition *ps[4];
	for (int i = 0; i < 4; i++) {
		struct rn_log_config ci = c;
		ci.cleanup_compact = i < 3;
		assert_int_equal(rn_logdir_open_partition(d, "t", i, &ci, true, &ps[i]), 0);
		fill(ps[i], 0);
	}
	struct rn_cleaner_config cc;
	rn_cleaner_config_default(&cc);
	cc.threads = 2;
	cc.backoff_ms = 10;
	cc.dedupe_buffer_size = 1 << 20;
	struct rn_cleaner *cl;
	assert_int_equal(rn_cleaner_start(d, &cc, &cl), 0);
	assert_non_null(cl);
	int64_t deadline = rn_mono_ms() + 20000;
	for (int i = 0; i < 3; i++)
		while (rn_partition_clean_point(ps[i]) < ROUNDS * NKEYS && rn_mono_ms() < deadline)
			usleep(1000);
	rn_cleaner_wakeup(cl);
	rn_cleaner_stop(cl);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rn_partition_clean_point(ps[i]), ROUNDS * NKEYS);
		check_latest(ps[i], ROUNDS - 1);
	}
	assert_int_equal(rn_partition_clean_point(ps[3]), 0); /* not compacted: untouched */
	rn_logdir_close(d);
	/* Reopened: the checkpoint gives the clean points back. */
	assert_int_equal(rn_logdir_open(dir, &d), 0);
	struct rn_partition *p;
	assert_int_equal(rn_logdir_open_partition(d, "t", 1, &c, false, &p), 0);
	assert_int_equal(rn_partition_clean_point(p), ROUNDS * NKEYS);
	rn_logdir_close(d);
	/* Disabled: nothing starts. */
	cc.enable = false;
	assert_int_equal(rn_cleaner_start(NULL, &cc, &cl), 0);
	assert_null(cl);
	bb_rmrf(dir);
	free(dir);
}

/* ---- concurrency and throttle ---- */

struct reader_arg {
	struct rn_partition *p;
	_Atomic bool stop;
	int reads;
};

/* Reads the whole log again and again: every batch it gets must be whole and valid, also
 * while the cleaner swaps the segments it is reading. */
static void *reader_main(void *arg)
{
	struct reader_arg *a = arg;
	while (!atomic_load(&a->stop)) {
		struct log l;
		read_all(a->p, &l);
		free(l.r);
		a->reads++;
	}
	return NULL;
}

static void test_concurrent_append_read_clean(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = compact_cfg();
	struct rn_partition *p = open_p(dir, &c);
	struct reader_arg ra = {.p = p};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, reader_main, &ra), 0);
	struct rn_clean_opts o = opts(1 << 20);
	int cleaned = 0;
	for (int round = 0; round < ROUNDS * 4; round++) {
		for (int k = 0; k < NKEYS; k += 10)
			put(p, k, 10, round, false, round % 5, -1, 0, false);
		/* Retention never runs on a compact-only topic; roll by age does. */
		assert_int_equal(
		    rn_partition_maintain(p, rn_wall_ms() + (round + 1) * 8 * 86400000LL), 0);
		int rc = rn_partition_clean(p, &o, NULL);
		assert_true(rc >= 0);
		cleaned += rc;
	}
	atomic_store(&ra.stop, true);
	pthread_join(th, NULL);
	assert_true(cleaned > 1);
	assert_true(ra.reads > 0);
	check_latest(p, ROUNDS * 4 - 1);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_throttle(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = compact_cfg();
	struct rn_partition *p = open_p(dir, &c);
	fill(p, 0);
	struct rn_clean_opts o = opts(1 << 20);
	o.max_bytes_per_sec = 100000;
	struct rn_clean_stats st;
	int64_t t0 = rn_mono_us();
	assert_int_equal(rn_partition_clean(p, &o, &st), 1);
	int64_t took = rn_mono_us() - t0;
	/* A lower bound only: the throttle cannot make it faster than read+write / rate (less
	 * the first window's allowance of one io buffer). */
	double min_us = (double)(st.bytes_read + st.bytes_written - 2000) / 100000 * 1e6;
	assert_true((double)took >= min_us * 0.9);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

/* ---- crashes and failures ---- */

static int crash_step;
static void crash_hook(int step)
{
	if (step == crash_step)
		_exit(0);
}

/* After a crash or a failure: every key has its latest value at its offset, and nothing else
 * but older values of the same keys. */
static void check_nothing_lost(struct rn_partition *p)
{
	struct log l;
	read_all(p, &l);
	for (int k = 0; k < NKEYS; k++) {
		struct rec r = get_key(&l, k);
		assert_int_equal(r.round, ROUNDS - 1);
		assert_int_equal(r.offset, (int64_t)(ROUNDS - 1) * NKEYS + k);
	}
	for (int i = 0; i < l.n; i++)
		assert_int_equal(l.r[i].offset, (int64_t)l.r[i].round * NKEYS + l.r[i].key);
	free(l.r);
}

static void test_crash_every_step(void **state)
{
	(void)state;
	static const int steps[] = {1, 2, 10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 33, 40};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		char *dir = bb_tmpdir();
		struct rn_log_config c = compact_cfg();
		struct rn_partition *p = open_p(dir, &c);
		fill(p, 0);
		rn_partition_close(p);
		c.segment_bytes = 12288; /* groups of segments: steps 21, 22 happen */
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			p = open_p(dir, &c);
			crash_step = steps[i];
			rn__cleaner_step_hook = crash_hook;
			struct rn_clean_opts o = opts(1 << 20);
			int rc = rn_partition_clean(p, &o, NULL);
			fprintf(stderr, "step %d never came: clean returned %d\n", crash_step, rc);
			_exit(3);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		p = open_p(dir, &c);
		check_nothing_lost(p);
		/* And the next clean finishes the job. */
		struct rn_clean_opts o = opts(1 << 20);
		assert_true(rn_partition_clean(p, &o, NULL) >= 0);
		check_latest(p, ROUNDS - 1);
		rn_partition_close(p);
		p = open_p(dir, &c);
		check_latest(p, ROUNDS - 1);
		rn_partition_close(p);
		bb_rmrf(dir);
		free(dir);
	}
}

static void test_stray_files(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = compact_cfg();
	struct rn_partition *p = open_p(dir, &c);
	fill(p, 0);
	rn_partition_close(p);
	/* Leftovers of an undecided swap and names that are no segment at all. */
	static const char *const names[] = {"00000000000000000000.index.swap", "junk.swap",
					    "00000000000000000000.log.cleaned", "x.cleaned"};
	for (int i = 0; i < 4; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs("garbage", f);
		fclose(f);
	}
	p = open_p(dir, &c);
	check_nothing_lost(p);
	rn_partition_close(p);
	for (int i = 0; i < 4; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		assert_int_equal(access(path, F_OK), -1);
	}
	bb_rmrf(dir);
	free(dir);
}

static void test_io_failures(void **state)
{
	(void)state;
	static const enum rn_io_op ops[] = {RN_IO_OPEN,   RN_IO_WRITE,  RN_IO_SYNC,
					    RN_IO_RENAME, RN_IO_UNLINK, RN_IO_PREAD};
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		for (int n = 0;; n++) {
			char *dir = bb_tmpdir();
			struct rn_log_config c = compact_cfg();
			struct rn_partition *p = open_p(dir, &c);
			fill(p, 0);
			c.segment_bytes = 12288;
			rn_partition_set_config(p, &c);
			struct rn_clean_opts o = opts(1 << 20);
			uint64_t before = rn_io_calls(ops[k]);
			rn_io_fault_set(ops[k], EIO, n);
			int rc = rn_partition_clean(p, &o, NULL);
			rn_io_fault_clear();
			bool hit = rn_io_calls(ops[k]) - before > (uint64_t)n;
			if (!rn_partition_offline(p))
				check_nothing_lost(p);
			rn_partition_close(p);
			p = open_p(dir, &c);
			check_nothing_lost(p);
			rn_partition_close(p);
			bb_rmrf(dir);
			free(dir);
			if (!hit) {
				assert_int_equal(rc, 1); /* no failure: a full clean */
				break;
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_offset_map),
	    cmocka_unit_test(test_clean_latest),
	    cmocka_unit_test(test_passes),
	    cmocka_unit_test(test_tombstones),
	    cmocka_unit_test(test_compressed),
	    cmocka_unit_test(test_transactions),
	    cmocka_unit_test(test_producer_state_kept),
	    cmocka_unit_test(test_keyless_refused),
	    cmocka_unit_test(test_crash_every_step),
	    cmocka_unit_test(test_io_failures),
	    cmocka_unit_test(test_stray_files),
	    cmocka_unit_test(test_concurrent_append_read_clean),
	    cmocka_unit_test(test_throttle),
	    cmocka_unit_test(test_lags_and_ratio),
	    cmocka_unit_test(test_threads_and_checkpoint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
