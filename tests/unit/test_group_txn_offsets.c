/* Transactional offset commits of a cluster's group coordinator (Kafka's way): the records go
 * to __consumer_offsets as a transactional batch of the producer, wait in their group, and the
 * producer's COMMIT marker makes them committed (ABORT drops them). Checked through a real
 * partition: the partition accepts the sequences the coordinator chooses (group/parts.c
 * rn_gc_pseqs), replay rebuilds pending and committed offsets and the sequences, and a
 * cleaned log replays the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_builder.h"
#include "core/alloc.h"
#include "group/group.h"
#include "group/parts.h"
#include "group/persist.h"
#include "group/records.h"
#include "proto/kerr.h"
#include "storage/cleaner.h"
#include "storage/partition.h"

#define NOW 1700000000000LL

static struct rn_gc *mk(void)
{
	struct rn_gc_config cfg;
	rn_gc_config_default(&cfg);
	struct rn_gc_hooks hooks = {0};
	return rn_gc_new(&cfg, &hooks);
}

static void test_pending_then_marker(void **state)
{
	(void)state;
	struct rn_gc *gc = mk();
	struct rn_group *g = rn_gc_group_get_or_create(gc, "g", NOW);
	struct rn_gc_offset o = {.offset = 5,
				 .leader_epoch = -1,
				 .metadata = (char *)"m",
				 .commit_ts = NOW,
				 .expire_ts = -1};
	rn_gc_txn_offset_add(g, 7, "t", 0, &o);
	o.offset = 6;
	rn_gc_txn_offset_add(g, 7, "t", 0, &o); /* replaces */
	rn_gc_txn_offset_add(g, 8, "t", 1, &o);
	assert_int_equal(g->ntxn, 2);
	assert_null(rn_gc_offset_get(g, "t", 0));
	assert_int_equal(rn_gc_txn_complete(g, 7, true), 1);
	assert_int_equal(rn_gc_offset_get(g, "t", 0)->offset, 6);
	assert_string_equal(rn_gc_offset_get(g, "t", 0)->metadata, "m");
	assert_int_equal(rn_gc_txn_complete(g, 8, false), 1);
	assert_null(rn_gc_offset_get(g, "t", 1));
	assert_int_equal(g->ntxn, 0);
	assert_int_equal(rn_gc_txn_complete(g, 8, true), 0);
	rn_gc_free(gc);
}

static void test_sequences(void **state)
{
	(void)state;
	struct rn_gc_pseqs s = {0};
	assert_int_equal(rn_gc_pseqs_next(&s, 1, 0), 0);
	rn_gc_pseqs_batch(&s, 1, 0, 2);
	assert_int_equal(rn_gc_pseqs_next(&s, 1, 0), 3);
	assert_int_equal(rn_gc_pseqs_next(&s, 1, 1), 0); /* a new epoch starts at 0 */
	rn_gc_pseqs_marker(&s, 1, 0);                    /* same epoch: nothing restarts */
	assert_int_equal(rn_gc_pseqs_next(&s, 1, 0), 3);
	rn_gc_pseqs_marker(&s, 1, 2); /* a fencing marker's newer epoch */
	assert_int_equal(rn_gc_pseqs_next(&s, 1, 2), 0);
	rn_gc_pseqs_batch(&s, 1, 1, 9); /* older than the marker's: ignored */
	assert_int_equal(rn_gc_pseqs_next(&s, 1, 2), 0);
	rn_gc_pseqs_batch(&s, 1, 2, INT32_MAX);
	assert_int_equal(rn_gc_pseqs_next(&s, 1, 2), 0); /* wraps */
	rn_gc_pseqs_free(&s);
}

/* Writes one transactional offset commit of (pid, epoch) through the partition's checks. */
static void txn_commit(struct rn_partition *p, struct rn_gc_pseqs *s, int64_t pid, int16_t epoch,
		       const char *group, int32_t part, int64_t off)
{
	struct rn_buf k = {0}, v = {0}, b = {0};
	struct rn_gc_offset o = {
	    .offset = off, .leader_epoch = -1, .commit_ts = NOW, .expire_ts = -1};
	rn_gc_key_offset(&k, group, "t", part);
	rn_gc_value_offset(&v, &o);
	struct rn_gc_rec r[2] = {{k.data, (int32_t)k.len, v.data, (int32_t)v.len},
				 {k.data, (int32_t)k.len, v.data, (int32_t)v.len}};
	int32_t seq = rn_gc_pseqs_next(s, pid, epoch);
	rn_gc_txn_batch(&b, r, 2, NOW, pid, epoch, seq);
	struct rn_append_info ai = {0};
	assert_int_equal(rn_partition_append(p, b.data, b.len, &ai), 0);
	assert_false(ai.duplicate);
	rn_gc_pseqs_batch(s, pid, epoch, seq + 1);
	rn_buf_free(&k);
	rn_buf_free(&v);
	rn_buf_free(&b);
}

static void plain_commit(struct rn_partition *p, const char *group, int32_t part, int64_t off)
{
	struct rn_buf k = {0}, v = {0};
	struct rn_gc_offset o = {
	    .offset = off, .leader_epoch = -1, .commit_ts = NOW, .expire_ts = -1};
	rn_gc_key_offset(&k, group, "t", part);
	rn_gc_value_offset(&v, &o);
	struct rn_gc_rec r = {k.data, (int32_t)k.len, v.data, (int32_t)v.len};
	struct rn_append_info ai;
	assert_int_equal(rn_gc_write(p, &r, 1, NOW, &ai), 0);
	rn_buf_free(&k);
	rn_buf_free(&v);
}

static int64_t committed(struct rn_gc *gc, const char *group, int32_t part)
{
	struct rn_group *g = rn_gc_group(gc, group);
	const struct rn_gc_offset *o = g ? rn_gc_offset_get(g, "t", part) : NULL;
	return o ? o->offset : -1;
}

static void check_replay(struct rn_partition *p, const struct rn_gc_pseqs *want)
{
	struct rn_gc *gc = mk();
	struct rn_gc_pseqs s = {0};
	int64_t n, next;
	assert_int_equal(rn_gc_replay_from(gc, p, 0, NOW, &s, &n, &next), 0);
	assert_int_equal(next, rn_partition_log_end(p));
	assert_int_equal(committed(gc, "g", 0), 20); /* committed, then a plain commit */
	assert_int_equal(committed(gc, "g", 1), 11); /* committed in the second transaction */
	assert_int_equal(committed(gc, "g", 2), -1); /* aborted */
	assert_int_equal(committed(gc, "h", 0), -1); /* still open: pending */
	struct rn_group *h = rn_gc_group(gc, "h");
	assert_non_null(h);
	assert_int_equal(h->ntxn, 1);
	assert_int_equal(h->txn[0].pid, 200);
	for (int i = 0; i < want->n; i++)
		assert_int_equal(rn_gc_pseqs_next(&s, want->v[i].pid, want->v[i].epoch),
				 want->v[i].next);
	rn_gc_pseqs_free(&s);
	rn_gc_free(gc);
}

static void test_replay_through_partition(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c;
	rn_log_config_default(&c);
	c.segment_bytes = 1024;
	c.cleanup_compact = true;
	c.cleanup_delete = false;
	c.delete_retention_ms = 0;
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	struct rn_gc_pseqs s = {0};
	struct rn_append_info ai;
	/* Producer 100, epoch 0: commit, then a second transaction in the same epoch (its
	 * sequence goes on), then one aborted by a fencing marker of epoch 1. */
	txn_commit(p, &s, 100, 0, "g", 0, 10);
	assert_int_equal(rn_partition_append_marker(p, 100, 0, true, 0, &ai), 0);
	plain_commit(p, "g", 0, 20);
	txn_commit(p, &s, 100, 0, "g", 1, 11);
	assert_int_equal(rn_partition_append_marker(p, 100, 0, true, 0, &ai), 0);
	txn_commit(p, &s, 100, 0, "g", 2, 12);
	assert_int_equal(rn_partition_append_marker(p, 100, 1, false, 0, &ai), 0);
	rn_gc_pseqs_marker(&s, 100, 1);
	/* Producer 200: open. */
	txn_commit(p, &s, 200, 3, "h", 0, 30);
	for (int i = 0; i < 40; i++) /* closed segments for the cleaner */
		plain_commit(p, "z", 0, i);
	struct rn_gc_pseqs want = {0};
	rn_gc_pseqs_batch(&want, 100, 0, 5);
	rn_gc_pseqs_marker(&want, 100, 1);
	rn_gc_pseqs_batch(&want, 200, 3, 1);
	check_replay(p, &want);
	/* Producer 100 writes again in epoch 1: the partition accepts the replayed view. */
	struct rn_gc *gc = mk();
	struct rn_gc_pseqs s2 = {0};
	int64_t n;
	assert_int_equal(rn_gc_replay_from(gc, p, 0, NOW, &s2, &n, NULL), 0);
	assert_int_equal(rn_gc_pseqs_next(&s2, 100, 1), 0);
	rn_gc_free(gc);
	rn_gc_pseqs_free(&s2);
	struct rn_clean_opts o = {
	    .map_bytes = 1 << 20, .load_factor = 0.9, .now_ms = NOW, .force = true};
	assert_true(rn_partition_clean(p, &o, NULL) >= 0);
	check_replay(p, &want);
	rn_partition_close(p);
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, false, &p), 0);
	check_replay(p, &want);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
	rn_gc_pseqs_free(&s);
	rn_gc_pseqs_free(&want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pending_then_marker),
	    cmocka_unit_test(test_sequences),
	    cmocka_unit_test(test_replay_through_partition),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
