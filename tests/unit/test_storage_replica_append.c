/* Follower appends and the separate high watermark of replicated partitions: batches kept
 * byte for byte (offsets, epochs), gaps and bad CRCs refused, a cut last batch left for the
 * next fetch, rolls and indexes on the follower, consumer reads stopping at the high
 * watermark while follower reads reach the log end, and the single-broker default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/clock.h"

#include "replica_helpers.h"
#include "storage/cleaner.h"

/* The follower's log is the leader's, byte for byte. */
static void assert_same_log(struct rn_partition *l, struct rn_partition *f)
{
	int64_t end = rn_partition_log_end(l);
	assert_int_equal(rn_partition_log_end(f), end);
	struct rn_buf a = {0}, b = {0};
	rh_leader_bytes(l, 0, end, &a);
	rh_leader_bytes(f, 0, end, &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	rn_buf_free(&a);
	rn_buf_free(&b);
}

static void test_keeps_offsets_and_epochs(void **state)
{
	struct rh_pair *e = *state;
	assert_int_equal(rn_partition_set_leader_epoch(e->l, 3), 0);
	for (int i = 0; i < 5; i++)
		rh_put(e->l, 3, 40);
	assert_int_equal(rn_partition_set_leader_epoch(e->l, 7), 0);
	for (int i = 0; i < 40; i++)
		rh_put(e->l, 2, 100); /* several segments */
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_same_log(e->l, e->f);
	int32_t ep;
	int64_t start;
	rn_partition_latest_epoch(e->f, &ep, &start);
	assert_int_equal(ep, 7);
	assert_int_equal(start, 15);
	int64_t end;
	rn_partition_epoch_end_offset(e->f, 3, &ep, &end);
	assert_int_equal(ep, 3);
	assert_int_equal(end, 15);
	rn_partition_epoch_end_offset(e->f, 7, &ep, &end);
	assert_int_equal(end, rn_partition_log_end(e->l));
	/* Offsets are found through the follower's own indexes. */
	for (int64_t o = 0; o < rn_partition_log_end(e->f); o += 7) {
		struct rn_read_info ri;
		assert_int_equal(rn_partition_read_replica(e->f, o, 300, true, &ri), 0);
		assert_true(ri.len > 0);
		uint8_t h[RN_BATCH_HEADER_SIZE];
		assert_int_equal(pread(ri.file->fd, h, sizeof(h), (off_t)ri.pos),
				 (ssize_t)sizeof(h));
		rn_fileref_put(ri.file);
		int64_t base = (int64_t)rn_be64(h + RN_BATCH_OFF_BASE_OFFSET);
		assert_true(base <= o);
		assert_true(base + (int32_t)rn_be32(h + RN_BATCH_OFF_LAST_OFFSET_DELTA) >= o);
	}
	/* It survives a restart (recovery validates what the follower wrote). */
	rn_partition_close(e->f);
	e->f = rh_open(e->fdir, &e->cfg);
	assert_same_log(e->l, e->f);
	rn_partition_latest_epoch(e->f, &ep, &start);
	assert_int_equal(ep, 7);
}

static void test_small_fetches_and_partial_batch(void **state)
{
	struct rh_pair *e = *state;
	for (int i = 0; i < 30; i++)
		rh_put(e->l, 1 + i % 4, 60);
	/* Fetches cut at odd sizes: each ends inside a batch. */
	rh_replicate(e->l, e->f, -1, 333);
	assert_same_log(e->l, e->f);

	/* Explicitly: one whole batch plus a piece of the next. */
	int64_t b1 = rh_put(e->l, 2, 10);
	rh_put(e->l, 2, 10);
	struct rn_buf b = {0};
	rh_leader_bytes(e->l, b1, rn_partition_log_end(e->l), &b);
	size_t first = (size_t)rn_batch_total_size(b.data);
	size_t used = 99;
	struct rn_append_info ai;
	assert_int_equal(rn_partition_append_replica(e->f, b.data, first + 20, &used, &ai), 0);
	assert_int_equal(used, first);
	assert_int_equal(ai.base_offset, b1);
	assert_int_equal(ai.last_offset, b1 + 1);
	assert_int_equal(ai.nbatches, 1);
	assert_int_equal(ai.nrecords, 2);
	assert_false(ai.duplicate);
	/* Only a piece: nothing used, nothing written. */
	assert_int_equal(rn_partition_append_replica(e->f, b.data + first, 30, &used, &ai), 0);
	assert_int_equal(used, 0);
	assert_int_equal(rn_partition_log_end(e->f), b1 + 2);
	assert_int_equal(
	    rn_partition_append_replica(e->f, b.data + first, b.len - first, &used, &ai), 0);
	assert_int_equal(used, b.len - first);
	rn_buf_free(&b);
	assert_same_log(e->l, e->f);
}

static void test_rejects_gaps_overlaps_and_bad_crc(void **state)
{
	struct rh_pair *e = *state;
	for (int i = 0; i < 4; i++)
		rh_put(e->l, 3, 20);
	struct rn_buf b = {0};
	rh_leader_bytes(e->l, 0, 12, &b);
	size_t one = (size_t)rn_batch_total_size(b.data);
	size_t used;
	struct rn_append_info ai;
	/* A gap at the start: batch 3 first. */
	assert_int_equal(rn_partition_append_replica(e->f, b.data + one, b.len - one, &used, &ai),
			 RN_ERANGE);
	assert_int_equal(used, 0);
	assert_int_equal(rn_partition_log_end(e->f), 0);
	/* A gap inside: batches 0 and 2. */
	struct rn_buf g = {0};
	rn_buf_append(&g, b.data, one);
	rn_buf_append(&g, b.data + 2 * one, one);
	assert_int_equal(rn_partition_append_replica(e->f, g.data, g.len, &used, &ai), RN_ERANGE);
	assert_int_equal(rn_partition_log_end(e->f), 0);
	rn_buf_free(&g);
	/* A flipped byte in the second batch: nothing is written, not even the first. */
	b.data[one + RN_BATCH_HEADER_SIZE + 3] ^= 0x40;
	assert_int_equal(rn_partition_append_replica(e->f, b.data, b.len, &used, &ai), RN_ECORRUPT);
	assert_int_equal(used, 0);
	assert_int_equal(rn_partition_log_end(e->f), 0);
	b.data[one + RN_BATCH_HEADER_SIZE + 3] ^= 0x40;
	assert_int_equal(rn_partition_append_replica(e->f, b.data, b.len, &used, &ai), 0);
	assert_int_equal(rn_partition_log_end(e->f), 12);
	/* An overlap: batches the follower has already. */
	assert_int_equal(rn_partition_append_replica(e->f, b.data, b.len, &used, &ai), RN_ERANGE);
	assert_int_equal(rn_partition_log_end(e->f), 12);
	/* Empty input: nothing to do. */
	assert_int_equal(rn_partition_append_replica(e->f, b.data, 0, &used, &ai), 0);
	assert_int_equal(used, 0);
	rn_buf_free(&b);
}

/* A compacted log has gaps where the cleaner removed whole batches: the follower takes them. */
static void test_gaps_on_compacted_log(void **state)
{
	struct rh_pair *e = *state;
	for (int i = 0; i < 4; i++)
		rh_put(e->l, 3, 20);
	struct rn_buf b = {0};
	rh_leader_bytes(e->l, 0, 12, &b);
	size_t one = (size_t)rn_batch_total_size(b.data);
	struct rn_log_config c = e->cfg;
	c.cleanup_compact = true;
	rn_partition_set_config(e->f, &c);
	size_t used;
	struct rn_append_info ai;
	assert_int_equal(rn_partition_append_replica(e->f, b.data + one, one, &used, &ai), 0);
	assert_int_equal(rn_partition_log_end(e->f), 6);
	/* Still never backwards. */
	assert_int_equal(rn_partition_append_replica(e->f, b.data, one, &used, &ai), RN_ERANGE);
	rn_buf_free(&b);
}

static void test_high_watermark_separate(void **state)
{
	struct rh_pair *e = *state;
	/* Not replicated: the high watermark is the log end, as on one broker. */
	assert_false(rn_partition_replicated(e->l));
	rh_put(e->l, 5, 20);
	assert_int_equal(rn_partition_high_watermark(e->l), 5);
	assert_int_equal(rn_partition_set_high_watermark(e->l, 2), 5);

	rn_partition_set_replicated(e->l, true);
	assert_true(rn_partition_replicated(e->l));
	/* No checkpoint known: it starts at the log start. */
	assert_int_equal(rn_partition_high_watermark(e->l), 0);
	rh_put(e->l, 5, 20);
	rh_put(e->l, 5, 20);
	assert_int_equal(rn_partition_log_end(e->l), 15);
	assert_int_equal(rn_partition_high_watermark(e->l), 0);
	assert_int_equal(rn_partition_last_stable(e->l), 0);

	/* Consumers see nothing yet; the offsets up to the log end are valid (no reset). */
	struct rn_read_info ri;
	assert_int_equal(rn_partition_read(e->l, 0, 1 << 20, true, &ri), 0);
	assert_int_equal(ri.len, 0);
	assert_int_equal(ri.high_watermark, 0);
	assert_int_equal(rn_partition_read(e->l, 10, 1 << 20, true, &ri), 0);
	assert_int_equal(ri.len, 0);
	assert_int_equal(rn_partition_read(e->l, 16, 1 << 20, true, &ri), RN_ERANGE);
	assert_int_equal(rn_partition_read_committed(e->l, 0, 1 << 20, true, &ri), 0);
	assert_int_equal(ri.len, 0);
	/* A follower reads to the log end. */
	assert_int_equal(rn_partition_read_replica(e->l, 0, 1 << 20, true, &ri), 0);
	assert_true(ri.len > 0);
	assert_int_equal(ri.next_offset, 15);
	assert_int_equal(ri.high_watermark, 0);
	rn_fileref_put(ri.file);

	/* Moves up, clamped to the log end, never down. */
	assert_int_equal(rn_partition_set_high_watermark(e->l, 10), 10);
	assert_int_equal(rn_partition_set_high_watermark(e->l, 7), 10);
	assert_int_equal(rn_partition_read(e->l, 0, 1 << 20, true, &ri), 0);
	assert_int_equal(ri.next_offset, 10);
	assert_int_equal(ri.high_watermark, 10);
	rn_fileref_put(ri.file);
	assert_int_equal(rn_partition_last_stable(e->l), 10);
	assert_int_equal(rn_partition_set_high_watermark(e->l, 100), 15);
	struct rn_offset_found of;
	assert_int_equal(rn_partition_find_offset(e->l, 0, &of), 0);
	assert_int_equal(of.offset, 0);

	/* Back to one broker: the high watermark jumps to the log end and follows it. */
	rh_put(e->l, 5, 20);
	assert_int_equal(rn_partition_high_watermark(e->l), 15);
	rn_partition_set_replicated(e->l, false);
	assert_int_equal(rn_partition_high_watermark(e->l), 20);
	rh_put(e->l, 1, 20);
	assert_int_equal(rn_partition_high_watermark(e->l), 21);
	/* A later switch keeps it where it is. */
	rn_partition_set_replicated(e->l, true);
	assert_int_equal(rn_partition_high_watermark(e->l), 21);
}

struct wake {
	int n;
};

static void on_wake(void *arg)
{
	((struct wake *)arg)->n++;
}

static void test_high_watermark_wakes_waiters(void **state)
{
	struct rh_pair *e = *state;
	rn_partition_set_replicated(e->f, true);
	rh_put(e->l, 4, 20);
	struct wake w = {0};
	struct rn_partition_waiter pw = {.cb = on_wake, .arg = &w};
	rn_partition_wait(e->f, &pw);
	rh_replicate(e->l, e->f, -1, 1 << 20);
	int after_append = w.n;
	assert_true(after_append >= 1);
	rn_partition_set_high_watermark(e->f, 4);
	assert_int_equal(w.n, after_append + 1);
	rn_partition_set_high_watermark(e->f, 4); /* did not move */
	assert_int_equal(w.n, after_append + 1);
	rn_partition_unwait(e->f, &pw);
}

/* The follower's log end and its indexes are right for reads at every offset, also with
 * a segment per few batches and a tiny index (runs split over segments). */
static void test_rolls_in_one_append(void **state)
{
	struct rh_pair *e = *state;
	struct rn_log_config c = e->cfg;
	c.segment_bytes = 1024;
	c.segment_index_bytes = 48; /* 4 time index entries */
	c.index_interval_bytes = 0;
	rn_partition_close(e->f);
	e->f = NULL;
	bb_rmrf(e->fdir);
	e->f = rh_open(e->fdir, &c);
	for (int i = 0; i < 60; i++)
		rh_put(e->l, 1, 30);
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_same_log(e->l, e->f);
	rn_partition_close(e->f);
	e->f = rh_open(e->fdir, &c);
	assert_same_log(e->l, e->f);
}

static void test_not_replicated_follows_end(void **state)
{
	struct rh_pair *e = *state;
	rh_put(e->l, 4, 20);
	rh_replicate(e->l, e->f, -1, 1 << 20);
	assert_int_equal(rn_partition_high_watermark(e->f), 4);
	struct rn_read_info ri;
	assert_int_equal(rn_partition_read(e->f, 0, 1 << 20, true, &ri), 0);
	assert_int_equal(ri.next_offset, 4);
	rn_fileref_put(ri.file);
	int32_t ep;
	int64_t start;
	rn_partition_latest_epoch(e->l, &ep, &start);
	assert_int_equal(ep, 0);
	assert_int_equal(start, 0);
	struct rn_partition *x;
	char *d = bb_tmpdir();
	assert_int_equal(rn_partition_open(d, &e->cfg, -1, 0, true, &x), 0);
	rn_partition_latest_epoch(x, &ep, &start);
	assert_int_equal(ep, -1);
	assert_int_equal(start, -1);
	rn_partition_close(x);
	bb_rmrf(d);
	free(d);
}

/* Retention and the cleaner stay below the high watermark of a replicated log: what the
 * followers may not have must not go (Kafka's deletableSegments, and the last stable offset
 * bounding the cleaner). */
static void test_housekeeping_below_high_watermark(void **state)
{
	struct rh_pair *e = *state;
	rn_partition_set_replicated(e->l, true);
	for (int i = 0; i < 60; i++)
		rh_put(e->l, 3, 90);
	struct rn_log_config c = e->cfg;
	c.retention_bytes = 1;
	rn_partition_set_config(e->l, &c);
	assert_int_equal(rn_partition_maintain(e->l, rn_wall_ms()), 0);
	assert_int_equal(rn_partition_log_start(e->l), 0);
	struct rn_clean_state st;
	c.cleanup_compact = true;
	rn_partition_set_config(e->l, &c);
	rn_partition_clean_state(e->l, 0, &st);
	assert_int_equal(st.first_uncleanable, 0);
	assert_int_equal(rn_partition_set_high_watermark(e->l, 100), 100);
	rn_partition_clean_state(e->l, 0, &st);
	assert_int_equal(st.first_uncleanable, 100);
	c.cleanup_compact = false;
	rn_partition_set_config(e->l, &c);
	assert_int_equal(rn_partition_maintain(e->l, rn_wall_ms()), 0);
	assert_int_equal(rn_partition_log_start(e->l), 99);
	assert_int_equal(rn_partition_set_high_watermark(e->l, 1000), 180);
	assert_int_equal(rn_partition_maintain(e->l, rn_wall_ms()), 0);
	assert_true(rn_partition_log_start(e->l) > 150);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_keeps_offsets_and_epochs, rh_pair_setup,
					    rh_pair_teardown),
	    cmocka_unit_test_setup_teardown(test_small_fetches_and_partial_batch, rh_pair_setup,
					    rh_pair_teardown),
	    cmocka_unit_test_setup_teardown(test_rejects_gaps_overlaps_and_bad_crc, rh_pair_setup,
					    rh_pair_teardown),
	    cmocka_unit_test_setup_teardown(test_gaps_on_compacted_log, rh_pair_setup,
					    rh_pair_teardown),
	    cmocka_unit_test_setup_teardown(test_high_watermark_separate, rh_pair_setup,
					    rh_pair_teardown),
	    cmocka_unit_test_setup_teardown(test_high_watermark_wakes_waiters, rh_pair_setup,
					    rh_pair_teardown),
	    cmocka_unit_test_setup_teardown(test_rolls_in_one_append, rh_pair_setup,
					    rh_pair_teardown),
	    cmocka_unit_test_setup_teardown(test_not_replicated_follows_end, rh_pair_setup,
					    rh_pair_teardown),
	    cmocka_unit_test_setup_teardown(test_housekeeping_below_high_watermark, rh_pair_setup,
					    rh_pair_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
