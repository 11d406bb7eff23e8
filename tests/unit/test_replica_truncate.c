/*
 * The truncation point a follower picks from the leader's OffsetForLeaderEpoch answer, as
 * Kafka's AbstractFetcherThread.getOffsetTruncationState (KIP-101, KIP-279), case by case.
 * Our side of each case is what rn_partition_epoch_end_offset answers for the leader's epoch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "replica/follower_int.h"

struct tcase {
	const char *what;
	int32_t leader_epoch;
	int64_t leader_end;
	int32_t found_epoch; /* ours for leader_epoch */
	int64_t found_end;
	int64_t leo, hw;
	int64_t want;
	bool want_done;
};

static const struct tcase cases[] = {
    /* epochs 0@0 2@100, LEO 150; the leader has epoch 2 up to 120 only */
    {"same epoch, leader shorter", 2, 120, 2, 150, 150, 90, 120, true},
    /* the leader has more of epoch 2 than we do: nothing to cut */
    {"same epoch, leader longer", 2, 400, 2, 150, 150, 90, 150, true},
    /* epochs 1@0 2@50 3@70, LEO 100; the leader never had 3, its epoch 2 ends at 60 */
    {"older epoch known to both", 2, 60, 2, 70, 100, 40, 60, true},
    /* ... and the leader's epoch 2 is longer than ours: our 3 starts at 70 */
    {"older epoch, ours shorter", 2, 90, 2, 70, 100, 40, 70, true},
    /* KIP-279: epochs 1@0 3@50, LEO 100; the leader answers epoch 2, which we never had: cut
     * to where our 1 ends (50) and ask again */
    {"leader epoch unknown to us", 2, 80, 1, 50, 100, 40, 50, false},
    /* second round of the same: we ask for 1, the leader's 1 ends at 40 */
    {"second round", 1, 40, 1, 50, 50, 40, 40, true},
    /* UNDEFINED_EPOCH_OFFSET: fall back to the high watermark */
    {"leader knows nothing", -1, -1, -1, -1, 100, 70, 70, true},
    {"leader knows nothing, hw above leo", -1, -1, -1, -1, 60, 70, 60, true},
    /* an answer without an epoch (pre-2.0 protocol): the leader's offset */
    {"no epoch in answer", -1, 80, -1, -1, 100, 70, 80, true},
    /* our log has no entry at or below the leader's epoch */
    {"below every epoch of ours", 0, 30, -1, -1, 100, 70, 30, true},
    {"below every epoch, leader longer", 0, 300, -1, -1, 100, 70, 100, true},
    /* storage answers (requested, first start) below every known epoch (endOffsetFor) */
    {"below the cache start", 1, 80, 1, 20, 100, 70, 20, true},
    /* an empty follower */
    {"empty follower", 3, 500, 3, 0, 0, 0, 0, true},
    /* an inconsistent cache that would not progress stops instead of looping */
    {"no progress", 2, 80, 1, 100, 100, 40, 100, true},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		int64_t off = -7;
		bool done = rn__truncation_point(c->leader_epoch, c->leader_end, c->found_epoch,
						 c->found_end, c->leo, c->hw, &off);
		if (off != c->want || done != c->want_done)
			fail_msg("%s: got (%lld, %d), want (%lld, %d)", c->what, (long long)off,
				 done, (long long)c->want, c->want_done);
	}
}

/* The result never exceeds the log end, whatever the answer. */
static void test_never_above_leo(void **state)
{
	(void)state;
	for (int32_t le = -1; le < 4; le++)
		for (int64_t lend = -1; lend < 200; lend += 37)
			for (int32_t fe = -1; fe < 4; fe++)
				for (int64_t fend = -1; fend < 200; fend += 41) {
					int64_t off;
					rn__truncation_point(le, lend, fe, fend, 100, 50, &off);
					assert_true(off <= 100);
					assert_true(off >= -1);
				}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_never_above_leo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
