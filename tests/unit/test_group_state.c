/* The group coordinator state machine, driven by a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/group.h"
#include "group/records.h"
#include "proto/kerr.h"

/* What the completions saw, per token (the completion argument: a small integer cast to a
 * pointer). */
struct seen {
	int joined, synced, stored;
	int16_t err;
	int32_t gen;
	char member[128], leader[128], proto[32];
	int nmembers;
	char assignment[64];
};

static struct seen seen[16];

static void join_done(void *token, const struct rn_gc_join_result *r)
{
	struct seen *s = &seen[(intptr_t)token];
	s->joined++;
	s->err = r->error;
	s->gen = r->generation;
	snprintf(s->member, sizeof(s->member), "%s", r->member_id ? r->member_id : "");
	snprintf(s->leader, sizeof(s->leader), "%s", r->leader ? r->leader : "");
	snprintf(s->proto, sizeof(s->proto), "%s", r->protocol_name ? r->protocol_name : "");
	s->nmembers = r->nmembers;
}

static void sync_done(void *token, const struct rn_gc_sync_result *r)
{
	struct seen *s = &seen[(intptr_t)token];
	s->synced++;
	s->err = r->error;
	snprintf(s->assignment, sizeof(s->assignment), "%.*s", r->assignment_len,
		 r->assignment ? (const char *)r->assignment : "");
}

static int nstored;
static void group_stored(void *arg, struct rn_group *g)
{
	(void)arg;
	(void)g;
	nstored++;
}

static struct rn_gc *mk(int64_t delay)
{
	memset(seen, 0, sizeof(seen));
	nstored = 0;
	struct rn_gc_config c;
	rn_gc_config_default(&c);
	c.initial_delay_ms = delay;
	struct rn_gc_hooks h = {.group_stored = group_stored};
	return rn_gc_new(&c, &h);
}

static const struct rn_gc_protocol_view range[] = {{"range", (const uint8_t *)"m", 1}};
static const struct rn_gc_protocol_view both[] = {{"roundrobin", (const uint8_t *)"r", 1},
						  {"range", (const uint8_t *)"m", 1}};

static void join(struct rn_gc *gc, int64_t now, int tok, const char *member, const char *inst,
		 bool v4)
{
	struct rn_gc_join_req rq = {.group = "g",
				    .member_id = member,
				    .instance_id = inst,
				    .client_id = "c",
				    .client_host = "/127.0.0.1",
				    .protocol_type = "consumer",
				    .session_ms = 10000,
				    .rebalance_ms = 30000,
				    .protos = range,
				    .nprotos = 1,
				    .require_known_id = v4,
				    .done = {join_done, (void *)(intptr_t)tok}};
	rn_gc_join(gc, now, &rq);
}

static void sync(struct rn_gc *gc, int64_t now, int tok, const char *member, int32_t gen,
		 const char *a_member, const char *a)
{
	struct rn_gc_assignment as = {a_member, (const uint8_t *)a, a ? (int32_t)strlen(a) : 0};
	struct rn_gc_sync_req rq = {.group = "g",
				    .member_id = member,
				    .generation = gen,
				    .assignments = &as,
				    .nassignments = a ? 1 : 0,
				    .done = {sync_done, (void *)(intptr_t)tok}};
	rn_gc_sync(gc, now, &rq);
}

static void test_member_id_required_v4_only(void **state)
{
	(void)state;
	struct rn_gc *gc = mk(0);
	join(gc, 0, 1, "", NULL, true);
	assert_int_equal(seen[1].err, RN_KERR_MEMBER_ID_REQUIRED);
	assert_true(strncmp(seen[1].member, "c-", 2) == 0);
	char id[128];
	strcpy(id, seen[1].member);
	join(gc, 10, 2, id, NULL, true);
	assert_int_equal(seen[2].joined, 1);
	assert_int_equal(seen[2].err, 0);
	assert_int_equal(seen[2].gen, 1);
	assert_string_equal(seen[2].leader, id);
	assert_int_equal(seen[2].nmembers, 1);
	/* v < 4: joined at once, never MEMBER_ID_REQUIRED */
	struct rn_gc *gc2 = mk(0);
	join(gc2, 0, 3, "", NULL, false);
	assert_int_equal(seen[3].err, 0);
	assert_int_equal(seen[3].gen, 1);
	rn_gc_free(gc);
	rn_gc_free(gc2);
}

/* Two members, a full generation, then a follower leaves and the leader rejoins alone. */
static void test_two_members_rebalance(void **state)
{
	(void)state;
	struct rn_gc *gc = mk(0);
	join(gc, 0, 1, "", NULL, false);
	char a[128], b[128];
	strcpy(a, seen[1].member);
	sync(gc, 1, 2, a, 1, a, "A1");
	assert_string_equal(seen[2].assignment, "A1");
	assert_int_equal(rn_gc_group(gc, "g")->state, RN_GROUP_STABLE);
	/* b joins: parked until a rejoins (told by its heartbeat) */
	join(gc, 100, 3, "", NULL, false);
	assert_int_equal(seen[3].joined, 0);
	assert_int_equal(rn_gc_heartbeat(gc, 200, "g", a, NULL, 1), RN_KERR_REBALANCE_IN_PROGRESS);
	join(gc, 300, 4, a, NULL, false);
	assert_int_equal(seen[3].joined, 1);
	assert_int_equal(seen[4].joined, 1);
	assert_int_equal(seen[4].gen, 2);
	assert_int_equal(seen[4].nmembers, 2); /* a leads */
	assert_int_equal(seen[3].nmembers, 0); /* followers get an empty list */
	strcpy(b, seen[3].member);
	/* follower syncs first and waits for the leader */
	sync(gc, 400, 5, b, 2, NULL, NULL);
	assert_int_equal(seen[5].synced, 0);
	/* stale generation is fenced */
	assert_int_equal(rn_gc_heartbeat(gc, 400, "g", a, NULL, 1), RN_KERR_ILLEGAL_GENERATION);
	sync(gc, 500, 6, a, 2, b, "B2");
	assert_int_equal(seen[5].synced, 1);
	assert_string_equal(seen[5].assignment, "B2");
	assert_string_equal(seen[6].assignment, "");
	assert_int_equal(rn_gc_heartbeat(gc, 600, "g", b, NULL, 2), 0);
	/* b leaves: a must rejoin, then generation 3 has only a */
	assert_int_equal(rn_gc_leave(gc, 700, "g", b, NULL), 0);
	assert_int_equal(rn_gc_heartbeat(gc, 800, "g", a, NULL, 2), RN_KERR_REBALANCE_IN_PROGRESS);
	join(gc, 900, 7, a, NULL, false);
	assert_int_equal(seen[7].gen, 3);
	assert_int_equal(seen[7].nmembers, 1);
	assert_int_equal(rn_gc_heartbeat(gc, 900, "g", b, NULL, 3), RN_KERR_UNKNOWN_MEMBER_ID);
	rn_gc_free(gc);
}

/* A member that stops heartbeating is evicted after its session timeout. */
static void test_session_expiry(void **state)
{
	(void)state;
	struct rn_gc *gc = mk(0);
	join(gc, 0, 1, "", NULL, false);
	char a[128];
	strcpy(a, seen[1].member);
	sync(gc, 0, 2, a, 1, a, "x");
	assert_int_equal(rn_gc_tick(gc, 5000), 10000);
	assert_int_equal(rn_gc_heartbeat(gc, 9000, "g", a, NULL, 1), 0);
	rn_gc_tick(gc, 18000);
	assert_int_equal(rn_gc_group(gc, "g")->state, RN_GROUP_STABLE);
	rn_gc_tick(gc, 19001);
	struct rn_group *g = rn_gc_group(gc, "g");
	assert_int_equal(g->state, RN_GROUP_EMPTY);
	assert_int_equal(g->generation, 2);
	assert_int_equal(g->nmembers, 0);
	rn_gc_free(gc);
}

/* A member that never rejoins is dropped at the rebalance timeout. */
static void test_rebalance_timeout(void **state)
{
	(void)state;
	struct rn_gc *gc = mk(0);
	join(gc, 0, 1, "", NULL, false);
	char a[128];
	strcpy(a, seen[1].member);
	sync(gc, 0, 2, a, 1, a, "x");
	join(gc, 1000, 3, "", NULL, false);            /* b */
	for (int64_t t = 2000; t < 31000; t += 2000) { /* a neither rejoins nor expires */
		assert_int_equal(rn_gc_heartbeat(gc, t, "g", a, NULL, 1),
				 RN_KERR_REBALANCE_IN_PROGRESS);
		rn_gc_tick(gc, t);
	}
	assert_int_equal(seen[3].joined, 0);
	rn_gc_tick(gc, 31000);
	assert_int_equal(seen[3].joined, 1);
	assert_int_equal(seen[3].gen, 2);
	assert_int_equal(seen[3].nmembers, 1); /* b alone, and leader */
	assert_null(rn_gc_member_find(rn_gc_group(gc, "g"), a));
	rn_gc_free(gc);
}

/* group.initial.rebalance.delay.ms holds the first join, extended while members arrive. */
static void test_initial_delay(void **state)
{
	(void)state;
	struct rn_gc *gc = mk(3000);
	join(gc, 0, 1, "", NULL, false);
	join(gc, 1000, 2, "", NULL, false);
	rn_gc_tick(gc, 2999);
	assert_int_equal(seen[1].joined, 0);
	rn_gc_tick(gc, 3000); /* a member arrived during the delay: wait once more */
	assert_int_equal(seen[1].joined, 0);
	rn_gc_tick(gc, 6000);
	assert_int_equal(seen[1].joined, 1);
	assert_int_equal(seen[2].joined, 1);
	assert_int_equal(seen[1].gen, 1);
	assert_int_equal(seen[1].nmembers + seen[2].nmembers, 2);
	rn_gc_free(gc);
}

/* A static member restarting within its session keeps its assignment without a rebalance;
 * its old member id is fenced. */
static void test_static_rejoin(void **state)
{
	(void)state;
	struct rn_gc *gc = mk(0);
	join(gc, 0, 1, "", "i1", true); /* static: no MEMBER_ID_REQUIRED */
	assert_int_equal(seen[1].err, 0);
	char old[128];
	strcpy(old, seen[1].member);
	sync(gc, 0, 2, old, 1, old, "P0");
	join(gc, 5000, 3, "", "i1", true);
	assert_int_equal(seen[3].err, 0);
	assert_int_equal(seen[3].gen, 1); /* same generation: no rebalance */
	assert_string_not_equal(seen[3].member, old);
	assert_int_equal(rn_gc_group(gc, "g")->state, RN_GROUP_STABLE);
	sync(gc, 5001, 4, seen[3].member, 1, NULL, NULL);
	assert_string_equal(seen[4].assignment, "P0");
	assert_int_equal(rn_gc_heartbeat(gc, 5002, "g", old, "i1", 1), RN_KERR_FENCED_INSTANCE_ID);
	rn_gc_free(gc);
}

static void test_protocol_vote_and_mismatch(void **state)
{
	(void)state;
	struct rn_gc *gc = mk(0);
	struct rn_gc_join_req rq = {.group = "g",
				    .member_id = "",
				    .client_id = "c",
				    .protocol_type = "consumer",
				    .session_ms = 10000,
				    .rebalance_ms = 10000,
				    .protos = both,
				    .nprotos = 2,
				    .done = {join_done, (void *)1}};
	rn_gc_join(gc, 0, &rq);
	assert_string_equal(seen[1].proto, "roundrobin");
	rq.protocol_type = "connect";
	rq.done.arg = (void *)2;
	rn_gc_join(gc, 0, &rq);
	assert_int_equal(seen[2].err, RN_KERR_INCONSISTENT_GROUP_PROTOCOL);
	rq.session_ms = 10;
	rq.done.arg = (void *)3;
	rn_gc_join(gc, 0, &rq);
	assert_int_equal(seen[3].err, RN_KERR_INVALID_SESSION_TIMEOUT);
	rn_gc_free(gc);
}

static void test_commit_checks(void **state)
{
	(void)state;
	struct rn_gc *gc = mk(0);
	struct rn_group *g;
	/* simple commit: no group, generation -1 */
	assert_int_equal(rn_gc_commit_check(gc, 0, "s", -1, "", NULL, &g), 0);
	assert_non_null(g);
	assert_int_equal(rn_gc_commit_check(gc, 0, "x", 3, "m", NULL, &g),
			 RN_KERR_ILLEGAL_GENERATION);
	join(gc, 0, 1, "", NULL, false);
	char a[128];
	strcpy(a, seen[1].member);
	assert_int_equal(rn_gc_commit_check(gc, 0, "g", 1, a, NULL, &g),
			 RN_KERR_REBALANCE_IN_PROGRESS);
	sync(gc, 0, 2, a, 1, a, "x");
	assert_int_equal(rn_gc_commit_check(gc, 0, "g", 1, a, NULL, &g), 0);
	assert_int_equal(rn_gc_commit_check(gc, 0, "g", 0, a, NULL, &g),
			 RN_KERR_ILLEGAL_GENERATION);
	assert_int_equal(rn_gc_commit_check(gc, 0, "g", 1, "zz", NULL, &g),
			 RN_KERR_UNKNOWN_MEMBER_ID);
	/* Kafka's validateOffsetCommit: generation -1 without a member id is an admin or a
	 * simple consumer; once the group has members only members may commit. */
	assert_int_equal(rn_gc_commit_check(gc, 0, "g", -1, "", NULL, &g),
			 RN_KERR_UNKNOWN_MEMBER_ID);
	assert_int_equal(rn_gc_commit_check(gc, 0, "g", -1, a, NULL, &g),
			 RN_KERR_ILLEGAL_GENERATION); /* a member with a stale generation */
	rn_gc_free(gc);
}

static void test_offsets_and_expiry(void **state)
{
	(void)state;
	struct rn_gc *gc = mk(0);
	struct rn_group *g = rn_gc_group_get_or_create(gc, "s", 0);
	struct rn_gc_offset o = {.offset = 42,
				 .leader_epoch = -1,
				 .metadata = "meta",
				 .commit_ts = 1000,
				 .expire_ts = -1};
	rn_gc_offset_set(g, "t", 3, &o);
	o.offset = 7;
	o.commit_ts = 5000;
	rn_gc_offset_set(g, "t", 0, &o);
	const struct rn_gc_offset *r = rn_gc_offset_get(g, "t", 3);
	assert_non_null(r);
	assert_int_equal(r->offset, 42);
	assert_string_equal(r->metadata, "meta");
	assert_null(rn_gc_offset_get(g, "t", 1));
	assert_int_equal(g->noffsets, 2);
	/* A negative commit (an admin's reset to earliest: -2) is a commit like any other. */
	o.offset = -2;
	rn_gc_offset_set(g, "t", 3, &o);
	r = rn_gc_offset_get(g, "t", 3);
	assert_non_null(r);
	assert_int_equal(r->offset, -2);
	assert_int_equal(g->noffsets, 2);
	o.offset = 42;
	o.commit_ts = 1000;
	rn_gc_offset_set(g, "t", 3, &o);
	/* A deleted topic takes its offsets with it; others stay. */
	rn_gc_offset_set(g, "u", 1, &o);
	assert_int_equal(g->noffsets, 3);
	assert_int_equal(rn_gc_offsets_drop_topic(g, "u", NULL, NULL), 1);
	assert_int_equal(rn_gc_offsets_drop_topic(g, "u", NULL, NULL), 0);
	assert_null(rn_gc_offset_get(g, "u", 1));
	assert_int_equal(g->noffsets, 2);
	int64_t ret = 10080LL * 60000;
	assert_int_equal(rn_gc_offsets_expire(gc, g, 1000 + ret - 1, NULL, NULL), 0);
	assert_int_equal(rn_gc_offsets_expire(gc, g, 1000 + ret, NULL, NULL), 1);
	assert_int_equal(g->noffsets, 1);
	assert_int_equal(rn_gc_offsets_expire(gc, g, 5000 + ret, NULL, NULL), 1);
	assert_null(g->topics);
	rn_gc_free(gc);
}

/* Records written for a group replay into the same state; tombstones delete. */
static void test_records_roundtrip(void **state)
{
	(void)state;
	struct rn_gc *gc = mk(0);
	join(gc, 0, 1, "", NULL, false);
	char a[128];
	strcpy(a, seen[1].member);
	sync(gc, 0, 2, a, 1, a, "asg");
	struct rn_buf k = {0}, v = {0};
	rn_gc_key_group(&k, "g");
	rn_gc_value_group(&v, rn_gc_group(gc, "g"), 0);
	struct rn_gc *gc2 = mk(0);
	assert_int_equal(rn_gc_apply(gc2, 100, k.data, (int32_t)k.len, v.data, (int32_t)v.len), 0);
	struct rn_group *g2 = rn_gc_group(gc2, "g");
	assert_non_null(g2);
	assert_int_equal(g2->state, RN_GROUP_STABLE);
	assert_int_equal(g2->generation, 1);
	assert_string_equal(g2->leader_id, a);
	assert_int_equal(rn_gc_heartbeat(gc2, 200, "g", a, NULL, 1), 0);
	rn_buf_reset(&k);
	rn_buf_reset(&v);
	struct rn_gc_offset o = {
	    .offset = 9, .leader_epoch = 2, .metadata = "md", .commit_ts = 7, .expire_ts = -1};
	rn_gc_key_offset(&k, "g", "topic", 4);
	rn_gc_value_offset(&v, &o);
	assert_int_equal(rn_gc_apply(gc2, 0, k.data, (int32_t)k.len, v.data, (int32_t)v.len), 0);
	const struct rn_gc_offset *r = rn_gc_offset_get(g2, "topic", 4);
	assert_non_null(r);
	assert_int_equal(r->offset, 9);
	assert_int_equal(r->leader_epoch, 2);
	assert_string_equal(r->metadata, "md");
	assert_int_equal(rn_gc_apply(gc2, 0, k.data, (int32_t)k.len, NULL, -1), 0);
	assert_null(rn_gc_offset_get(g2, "topic", 4));
	rn_buf_free(&k);
	rn_buf_free(&v);
	rn_gc_free(gc);
	rn_gc_free(gc2);
}

/* Kafka's partitionFor: Utils.abs(groupId.hashCode) % 50. */
static void test_partition_for(void **state)
{
	(void)state;
	/* "my-group".hashCode() = -1906497762; "".hashCode() = 0; "Aa" and "BB"
	 * collide (2112). */
	assert_int_equal(rn_gc_partition_for("", 50), 0);
	assert_int_equal(rn_gc_partition_for("Aa", 50), 2112 % 50);
	assert_int_equal(rn_gc_partition_for("BB", 50), 2112 % 50);
	assert_int_equal(rn_gc_partition_for("my-group", 50), 1906497762 % 50);
	/* U+00E9 is one UTF-16 unit (233); U+1F600 is the surrogate pair d83d de00 */
	assert_int_equal(rn_gc_partition_for("\xc3\xa9", 50), 233 % 50);
	assert_int_equal(rn_gc_partition_for("\xf0\x9f\x98\x80", 1000000),
			 (0xd83d * 31 + 0xde00) % 1000000);
}

/* Each request carries its own completion: a parked JoinGroup and a parked SyncGroup are
 * answered through the callback they were sent with, exactly once, even at shutdown. */
static int other_joins;
static void other_join_done(void *arg, const struct rn_gc_join_result *r)
{
	assert_ptr_equal(arg, &other_joins);
	assert_int_equal(r->error, RN_KERR_NOT_COORDINATOR);
	other_joins++;
}

static void test_completion_passed_in(void **state)
{
	(void)state;
	struct rn_gc *gc = mk(0);
	join(gc, 0, 1, "", NULL, false);
	char a[128];
	strcpy(a, seen[1].member);
	sync(gc, 0, 2, a, 1, a, "x");
	/* a second member parks its join with another callback; a stays in sync */
	other_joins = 0;
	struct rn_gc_join_req rq = {.group = "g",
				    .member_id = "",
				    .client_id = "c",
				    .protocol_type = "consumer",
				    .session_ms = 10000,
				    .rebalance_ms = 30000,
				    .protos = range,
				    .nprotos = 1,
				    .done = {other_join_done, &other_joins}};
	rn_gc_join(gc, 10, &rq);
	assert_int_equal(other_joins, 0);
	rn_gc_abort_all(gc, RN_KERR_NOT_COORDINATOR);
	assert_int_equal(other_joins, 1);
	assert_int_equal(seen[1].joined, 1); /* a's earlier answers are not repeated */
	assert_int_equal(seen[2].synced, 1);
	rn_gc_abort_all(gc, RN_KERR_NOT_COORDINATOR);
	assert_int_equal(other_joins, 1);
	rn_gc_free(gc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_member_id_required_v4_only),
	    cmocka_unit_test(test_two_members_rebalance),
	    cmocka_unit_test(test_session_expiry),
	    cmocka_unit_test(test_rebalance_timeout),
	    cmocka_unit_test(test_initial_delay),
	    cmocka_unit_test(test_static_rejoin),
	    cmocka_unit_test(test_protocol_vote_and_mismatch),
	    cmocka_unit_test(test_commit_checks),
	    cmocka_unit_test(test_offsets_and_expiry),
	    cmocka_unit_test(test_records_roundtrip),
	    cmocka_unit_test(test_partition_for),
	    cmocka_unit_test(test_completion_passed_in),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
