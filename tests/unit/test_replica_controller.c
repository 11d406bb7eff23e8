/* The controller against a real etcd: three store handles (brokers 1-3) on one prefix, each
 * running rn_controller_start. One becomes controller; a broker that goes gets its
 * leaderships moved to the ISR; a controller that goes is replaced; unclean elections only
 * where enabled; offline partitions come back with their last ISR member; controlled
 * shutdown, ElectLeaders (rn_election_run), auto rebalance and reassignment end to end
 * through the store. Broker loss here is a revoked lease (rn_meta_unregister_broker); the
 * expiry of a SIGKILLed broker's lease is the e2e_cluster tests'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "etcd_proc.h"
#include "meta/cluster.h"
#include "meta/store.h"
#include "proto/kerr.h"
#include "replica/controller.h"

#define N          3
#define SESSION_MS 2000
#define WAIT_MS    15000

static struct etcd_cluster etcd;
static int test_no;

struct node {
	struct rn_meta *m;
	struct rn_controller *c;
	char dir[512];
};

struct world {
	char uri[600];
	struct node n[N + 2]; /* index = node id; 0 unused */
	bool unclean;         /* what unclean_enabled answers */
	bool rebalance;
};
static struct world w;

static bool unclean_cb(void *arg, const char *topic)
{
	(void)topic;
	return ((struct world *)arg)->unclean;
}

static int group_setup(void **state)
{
	(void)state;
	return etcd_cluster_start(&etcd, 1);
}

static int group_teardown(void **state)
{
	(void)state;
	etcd_cluster_stop(&etcd);
	return 0;
}

static void world_down(void);

/* Opens, registers and starts the controller of broker id. */
static void up(int id)
{
	struct node *n = &w.n[id];
	snprintf(n->dir, sizeof(n->dir), "%s/c%d-b%d", etcd.root, test_no, id);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", n->dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(rn_meta_open_etcd(w.uri, n->dir, id, &n->m), 0);
	struct rn_broker_reg reg = {.id = id, .port = 9000 + id};
	snprintf(reg.host, sizeof(reg.host), "127.0.0.1");
	int rc = rn_meta_register_broker(n->m, &reg, SESSION_MS);
	if (rc == RN_EUNSUPPORTED) { /* a store without sessions yet: nothing to test */
		rn_meta_close(n->m);
		n->m = NULL;
		world_down();
		skip();
	}
	assert_int_equal(rc, 0);
	struct rn_controller_cfg cfg = {.node_id = id,
					.auto_rebalance = w.rebalance,
					.imbalance_check_ms = 300,
					.imbalance_pct = 10,
					.unclean_enabled = unclean_cb,
					.arg = &w};
	assert_int_equal(rn_controller_start(n->m, &cfg, &n->c), 0);
}

/* Broker id goes: its controller stops and its lease is revoked. */
static void down(int id)
{
	struct node *n = &w.n[id];
	rn_controller_stop(n->c);
	n->c = NULL;
	rn_meta_unregister_broker(n->m);
	rn_meta_close(n->m);
	n->m = NULL;
}

static void world_up(bool unclean, bool rebalance)
{
	memset(&w, 0, sizeof(w));
	w.unclean = unclean;
	w.rebalance = rebalance;
	snprintf(w.uri, sizeof(w.uri), "etcd://%s/ctl%d-%d", etcd.endpoints, getpid(), ++test_no);
	for (int id = 1; id <= N; id++)
		up(id);
}

static void world_down(void)
{
	for (int id = 1; id <= N + 1; id++)
		if (w.n[id].m)
			down(id);
}

/* Any live handle, to read the store through. */
static struct rn_meta *any(void)
{
	for (int id = 1; id <= N + 1; id++)
		if (w.n[id].m)
			return w.n[id].m;
	fail_msg("no broker up");
	return NULL;
}

static int actives(void)
{
	int n = 0;
	for (int id = 1; id <= N + 1; id++)
		n += rn_controller_active(w.n[id].c);
	return n;
}

static bool wait_for(bool (*pred)(void *), void *arg)
{
	int64_t end = rn_mono_ms() + WAIT_MS;
	while (rn_mono_ms() < end) {
		if (pred(arg))
			return true;
		etcd_sleep_ms(20);
	}
	return pred(arg);
}

static bool one_active(void *arg)
{
	(void)arg;
	return actives() == 1;
}

static int controller_id(void)
{
	for (int id = 1; id <= N + 1; id++)
		if (rn_controller_active(w.n[id].c))
			return id;
	return -1;
}

/* A topic whose partition p has replicas {p%3+1, ...} (placement from start 0). */
static void topic(const char *name, int32_t parts, int32_t rf)
{
	struct rn_broker_reg b[N];
	for (int i = 0; i < N; i++)
		b[i] = (struct rn_broker_reg){.id = i + 1};
	int32_t assign[96 * 3];
	assert_int_equal(rn_placement_assign_at(b, N, 0, parts, rf, 0, assign), 0);
	uint8_t id[16];
	assert_int_equal(rn_meta_topic_create_assigned(any(), name, parts, rf, assign, NULL, 0, id),
			 0);
}

static struct rn_pstate get(const char *t, int32_t p)
{
	struct rn_pstate st;
	assert_int_equal(rn_meta_partition_get(any(), t, p, &st), 0);
	return st;
}

struct want {
	const char *topic;
	int32_t idx, leader, nisr;
};

static bool leader_is(void *arg)
{
	struct want *x = arg;
	struct rn_pstate st;
	if (rn_meta_partition_get(any(), x->topic, x->idx, &st) != 0)
		return false;
	return st.leader == x->leader && (x->nisr < 0 || st.nisr == x->nisr);
}

/* Writes st over (t, p) as a leader's own ISR change or a test's setup would. */
static void cas(const char *t, int32_t p, struct rn_pstate st)
{
	struct rn_pstate cur = get(t, p);
	st.partition_epoch = cur.partition_epoch + 1;
	assert_int_equal(rn_meta_partition_cas(any(), t, p, cur.partition_epoch, &st), 0);
}

struct gone_arg {
	const char *topic;
	int32_t n, victim;
};

/* Every partition led by another broker, the victim in no ISR. */
static bool all_moved(void *arg)
{
	struct gone_arg *a = arg;
	for (int32_t p = 0; p < a->n; p++) {
		struct rn_pstate st;
		if (rn_meta_partition_get(any(), a->topic, p, &st) != 0 || st.leader < 0 ||
		    st.leader == a->victim || rn_pstate_has(st.isr, st.nisr, a->victim))
			return false;
	}
	return true;
}

static void test_failover(void **state)
{
	(void)state;
	world_up(false, false);
	topic("f", 3, 3); /* leaders 1, 2, 3 */
	assert_true(wait_for(one_active, NULL));
	int ctl = controller_id();
	int victim = ctl % N + 1; /* not the controller */
	int32_t p = victim - 1;
	struct rn_pstate before = get("f", p);
	assert_int_equal(before.leader, victim);
	down(victim);
	struct want x = {"f", p, before.replicas[1], 2};
	assert_true(wait_for(leader_is, &x));
	struct rn_pstate after = get("f", p);
	assert_int_equal(after.leader_epoch, before.leader_epoch + 1);
	assert_false(rn_pstate_has(after.isr, after.nisr, victim));
	/* The victim's follower replicas leave the other ISRs too (written after the leader
	 * changes); their leaders stay. */
	struct gone_arg all = {"f", 3, victim};
	assert_true(wait_for(all_moved, &all));
	for (int32_t q = 0; q < 3; q++) {
		struct rn_pstate st = get("f", q);
		assert_false(rn_pstate_has(st.isr, st.nisr, victim));
		if (q != p)
			assert_int_equal(st.leader_epoch, 0);
	}
	world_down();
}

/* Many partitions: the sweep's parallel writers move every one (leaders first). */
static void test_failover_many_partitions(void **state)
{
	(void)state;
	world_up(false, false);
	topic("many", 96, 3);
	assert_true(wait_for(one_active, NULL));
	int victim = controller_id() % N + 1;
	int64_t t0 = rn_mono_ms();
	down(victim);
	struct gone_arg a = {"many", 96, victim};
	assert_true(wait_for(all_moved, &a));
	fprintf(stderr, "96 partitions (32 led by the victim) updated in %lld ms\n",
		(long long)(rn_mono_ms() - t0));
	world_down();
}

static void test_controller_fails_over(void **state)
{
	(void)state;
	world_up(false, false);
	topic("c", 3, 3);
	assert_true(wait_for(one_active, NULL));
	int ctl = controller_id();
	down(ctl);
	assert_true(wait_for(one_active, NULL));
	assert_int_not_equal(controller_id(), ctl);
	/* The partition the dead controller led gets the next replica of its ISR. */
	struct rn_pstate st = get("c", ctl - 1);
	struct want x = {"c", ctl - 1, st.replicas[1], 2};
	assert_true(wait_for(leader_is, &x));
	world_down();
}

/* Only an out-of-sync replica lives: offline (leader -1, ISR keeps its last member) until that
 * member returns; it is then elected. */
static void test_offline_until_isr_member_returns(void **state)
{
	(void)state;
	world_up(false, false);
	topic("o", 1, 2); /* replicas {1, 2}, leader 1 */
	assert_true(wait_for(one_active, NULL));
	struct rn_pstate st = get("o", 0);
	assert_int_equal(st.leader, 1);
	st.nisr = 1; /* the leader shrank the ISR to itself */
	st.isr[0] = 1;
	cas("o", 0, st);
	down(1); /* the controller or not: either way someone elects */
	struct want off = {"o", 0, -1, 1};
	assert_true(wait_for(leader_is, &off));
	assert_int_equal(get("o", 0).isr[0], 1);
	up(1);
	struct want back = {"o", 0, 1, 1};
	assert_true(wait_for(leader_is, &back));
	world_down();
}

static void test_unclean_when_enabled(void **state)
{
	(void)state;
	world_up(true, false);
	topic("u", 1, 2); /* replicas {1, 2} */
	assert_true(wait_for(one_active, NULL));
	struct rn_pstate st = get("u", 0);
	st.nisr = 1;
	st.isr[0] = 1;
	cas("u", 0, st);
	down(1);
	struct want x = {"u", 0, 2, 1};
	assert_true(wait_for(leader_is, &x));
	assert_int_equal(get("u", 0).isr[0], 2);
	world_down();
}

struct seen_arg {
	struct rn_meta *m;
	const char *topic;
	int32_t idx;
};

static bool seen_by(void *arg)
{
	struct seen_arg *a = arg;
	struct rn_pstate st;
	return rn_meta_partition_get(a->m, a->topic, a->idx, &st) == 0;
}

static void test_controlled_shutdown(void **state)
{
	(void)state;
	world_up(false, false);
	topic("s", 6, 3);
	assert_true(wait_for(one_active, NULL));
	/* The stopping broker's own cache must know the topic (any broker long since does). */
	struct seen_arg sa = {w.n[2].m, "s", 5};
	assert_true(wait_for(seen_by, &sa));
	assert_int_equal(rn_controller_shutdown_broker(w.n[2].m, 2, 5000), 0);
	for (int32_t p = 0; p < 6; p++) {
		struct rn_pstate st; /* read through the writer's cache: it holds its own writes */
		assert_int_equal(rn_meta_partition_get(w.n[2].m, "s", p, &st), 0);
		assert_int_not_equal(st.leader, 2);
		assert_false(rn_pstate_has(st.isr, st.nisr, 2));
		assert_int_equal(st.nisr, 2);
	}
	/* A partition where 2 is the only ISR member keeps it as leader. */
	topic("s1", 1, 3);
	struct seen_arg sa1 = {w.n[2].m, "s1", 0};
	assert_true(wait_for(seen_by, &sa1));
	struct rn_pstate st = get("s1", 0);
	st.leader = 2;
	st.leader_epoch++;
	st.nisr = 1;
	st.isr[0] = 2;
	cas("s1", 0, st);
	assert_int_equal(rn_controller_shutdown_broker(w.n[2].m, 2, 300), 1);
	assert_int_equal(get("s1", 0).leader, 2);
	world_down();
}

static void test_election_run(void **state)
{
	(void)state;
	world_up(false, false);
	topic("e", 1, 3); /* replicas {1, 2, 3} */
	assert_true(wait_for(one_active, NULL));
	assert_int_equal(rn_election_run(any(), "e", 0, RN_ELECT_PREFERRED),
			 RN_KERR_ELECTION_NOT_NEEDED);
	assert_int_equal(rn_election_run(any(), "e", 0, RN_ELECT_UNCLEAN),
			 RN_KERR_ELECTION_NOT_NEEDED);
	assert_int_equal(rn_election_run(any(), "e", 5, RN_ELECT_PREFERRED),
			 RN_KERR_UNKNOWN_TOPIC_OR_PARTITION);
	assert_int_equal(rn_election_run(any(), "nope", 0, RN_ELECT_PREFERRED),
			 RN_KERR_UNKNOWN_TOPIC_OR_PARTITION);
	struct rn_pstate st = get("e", 0);
	st.leader = 3;
	st.leader_epoch++;
	cas("e", 0, st);
	assert_int_equal(rn_election_run(any(), "e", 0, RN_ELECT_PREFERRED), RN_KERR_NONE);
	st = get("e", 0);
	assert_int_equal(st.leader, 1);
	assert_int_equal(st.leader_epoch, 2);
	/* Preferred out of the ISR: not available. */
	st.leader = 2;
	st.leader_epoch++;
	st.nisr = 2;
	st.isr[0] = 2, st.isr[1] = 3;
	cas("e", 0, st);
	assert_int_equal(rn_election_run(any(), "e", 0, RN_ELECT_PREFERRED),
			 RN_KERR_PREFERRED_LEADER_NOT_AVAILABLE);
	world_down();
}

struct pref_arg {
	const char *topic;
	int32_t n;
};

static bool all_preferred(void *arg)
{
	struct pref_arg *a = arg;
	for (int32_t p = 0; p < a->n; p++) {
		struct rn_pstate st;
		if (rn_meta_partition_get(any(), a->topic, p, &st) != 0 ||
		    st.leader != st.replicas[0])
			return false;
	}
	return true;
}

static void test_auto_rebalance(void **state)
{
	(void)state;
	world_up(false, true);
	topic("r", 6, 3);
	assert_true(wait_for(one_active, NULL));
	/* Broker 1's preferred partitions (0 and 3) move to their second replica. */
	for (int32_t p = 0; p < 6; p += 3) {
		struct rn_pstate st = get("r", p);
		st.leader = st.replicas[1];
		st.leader_epoch++;
		cas("r", p, st);
	}
	struct pref_arg a = {"r", 6};
	assert_true(wait_for(all_preferred, &a));
	assert_int_equal(get("r", 0).leader_epoch, 2);
	world_down();
}

static bool reassign_done(void *arg)
{
	(void)arg;
	struct rn_pstate st;
	return rn_meta_partition_get(any(), "m", 0, &st) == 0 && st.nadding == 0 &&
	       st.nremoving == 0 && st.nreplicas == 2;
}

static void test_reassignment(void **state)
{
	(void)state;
	world_up(false, false);
	topic("m", 1, 2); /* replicas {1, 2}, leader 1 */
	assert_true(wait_for(one_active, NULL));
	const int32_t bad[] = {2, 9};
	assert_int_equal(rn_controller_reassign(any(), "m", 0, bad, 2, false),
			 RN_KERR_INVALID_REPLICA_ASSIGNMENT);
	assert_int_equal(rn_controller_reassign(any(), "m", 0, NULL, -1, false),
			 RN_KERR_NO_REASSIGNMENT_IN_PROGRESS);
	const int32_t t[] = {2, 3};
	assert_int_equal(rn_controller_reassign(any(), "m", 0, t, 2, false), RN_KERR_NONE);
	struct rn_pstate st = get("m", 0);
	assert_int_equal(st.nreplicas, 3);
	assert_int_equal(st.nadding, 1);
	assert_int_equal(st.adding[0], 3);
	assert_int_equal(st.removing[0], 1);
	etcd_sleep_ms(300);
	assert_int_equal(get("m", 0).nadding, 1); /* waits for 3 to be in sync */
	/* The leader adds 3 to the ISR once it caught up: the controller completes the move. */
	st = get("m", 0);
	st.isr[st.nisr++] = 3;
	cas("m", 0, st);
	assert_true(wait_for(reassign_done, NULL));
	st = get("m", 0);
	assert_int_equal(st.replicas[0], 2);
	assert_int_equal(st.replicas[1], 3);
	assert_int_equal(st.leader, 2);
	assert_false(rn_pstate_has(st.isr, st.nisr, 1));
	/* Start again and cancel: back to {2, 3}. */
	const int32_t t2[] = {1, 3};
	assert_int_equal(rn_controller_reassign(any(), "m", 0, t2, 2, false), RN_KERR_NONE);
	assert_int_equal(rn_controller_reassign(any(), "m", 0, NULL, -1, false), RN_KERR_NONE);
	st = get("m", 0);
	assert_int_equal(st.nreplicas, 2);
	assert_int_equal(st.nadding + st.nremoving, 0);
	assert_int_equal(st.leader, 2);
	world_down();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_failover),
	    cmocka_unit_test(test_failover_many_partitions),
	    cmocka_unit_test(test_controller_fails_over),
	    cmocka_unit_test(test_offline_until_isr_member_returns),
	    cmocka_unit_test(test_unclean_when_enabled),
	    cmocka_unit_test(test_controlled_shutdown),
	    cmocka_unit_test(test_election_run),
	    cmocka_unit_test(test_auto_rebalance),
	    cmocka_unit_test(test_reassignment),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
