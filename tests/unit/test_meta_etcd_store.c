/* The etcd store against a real etcd: topics, partition CAS, configs, producer ids, listeners,
 * seen from two store handles (two brokers) on one prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "etcd_proc.h"
#include "meta/cluster.h"
#include "meta/etcd.h"
#include "meta/store.h"
#include "meta/store_etcd.h"

static struct etcd_cluster etcd;
static char dirs[2][512];
static int test_no;

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

/* Two handles (nodes 1 and 2) on a prefix of their own per test. */
static void open2(struct rn_meta **a, struct rn_meta **b)
{
	char uri[600];
	snprintf(uri, sizeof(uri), "etcd://%s/t%d-%d", etcd.endpoints, getpid(), ++test_no);
	for (int i = 0; i < 2; i++) {
		snprintf(dirs[i], sizeof(dirs[i]), "%s/broker%d-%d", etcd.root, test_no, i);
		char cmd[1100];
		snprintf(cmd, sizeof(cmd), "mkdir -p %s", dirs[i]);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(rn_meta_open_etcd(uri, dirs[0], 1, a), 0);
	assert_int_equal(rn_meta_open_etcd(uri, dirs[1], 2, b), 0);
	assert_true(rn_meta_clustered(*a));
	assert_string_equal(rn_meta_cluster_id(*a), rn_meta_cluster_id(*b));
	assert_int_equal(strlen(rn_meta_cluster_id(*a)), 22);
}

struct heard {
	atomic_int topics, deleted, partitions, brokers, controller, bcfg;
	atomic_int last_epoch;
	atomic_int part_before_topic; /* a partition told before its topic */
	char last_topic[64];
};

static void on_topic(void *arg, const char *name, bool deleted)
{
	struct heard *h = arg;
	snprintf(h->last_topic, sizeof(h->last_topic), "%s", name);
	atomic_fetch_add(deleted ? &h->deleted : &h->topics, 1);
}

static void on_partition(void *arg, const char *topic, int32_t idx, const struct rn_pstate *st)
{
	(void)topic, (void)idx;
	struct heard *h = arg;
	if (atomic_load(&h->topics) == 0)
		atomic_store(&h->part_before_topic, 1);
	atomic_store(&h->last_epoch, st->partition_epoch);
	atomic_fetch_add(&h->partitions, 1);
}

static void on_brokers(void *arg)
{
	atomic_fetch_add(&((struct heard *)arg)->brokers, 1);
}

static void on_bcfg(void *arg)
{
	atomic_fetch_add(&((struct heard *)arg)->bcfg, 1);
}

static struct rn_meta_listener listener(struct heard *h)
{
	return (struct rn_meta_listener){.topic = on_topic,
					 .partition = on_partition,
					 .brokers = on_brokers,
					 .broker_configs = on_bcfg,
					 .arg = h};
}

static void test_topics_two_handles(void **state)
{
	(void)state;
	struct rn_meta *a, *b;
	open2(&a, &b);
	struct heard h = {0};
	struct rn_meta_listener l = listener(&h);
	assert_int_equal(rn_meta_add_listener(b, &l), 0);

	struct rn_cfg_kv cfg[] = {{"retention.ms", "1000"}, {"weird", "tab\there \"q\""}};
	int32_t assign[] = {1, 2, 2, 1, 1, 2};
	uint8_t id[16], id2[16];
	assert_int_equal(rn_meta_topic_create_assigned(a, "orders", 3, 2, assign, cfg, 2, id), 0);
	assert_int_equal(rn_meta_topic_create_assigned(b, "orders", 3, 2, assign, NULL, 0, id2),
			 RN_EEXIST);
	/* The writer reads its own write at once; the other handle after its watch. */
	const struct rn_meta_topic *t = rn_meta_topic_get(a, "orders");
	assert_non_null(t);
	assert_memory_equal(t->id, id, 16);
	assert_true(ETCD_WAIT_UNTIL(rn_meta_topic_get(b, "orders") != NULL, 10000));
	t = rn_meta_topic_get(b, "orders");
	assert_int_equal(t->partitions, 3);
	assert_memory_equal(t->id, id, 16);
	assert_int_equal(t->nconfigs, 2);
	assert_true(
	    ETCD_WAIT_UNTIL(atomic_load(&h.topics) == 1 && atomic_load(&h.partitions) == 3, 10000));
	assert_string_equal(h.last_topic, "orders");

	struct rn_pstate st;
	assert_int_equal(rn_meta_partition_get(b, "orders", 1, &st), 0);
	assert_int_equal(st.leader, 2);
	assert_int_equal(st.nreplicas, 2);
	assert_int_equal(st.replicas[1], 1);
	assert_int_equal(st.nisr, 2);
	assert_int_equal(st.leader_epoch, 0);
	assert_int_equal(rn_meta_partition_get(b, "orders", 3, &st), RN_ENOTFOUND);

	/* Configs and partition counts, written by one, seen by the other. A record looked up
	 * before a change stays readable after it (the cache retires, never frees, until close). */
	const struct rn_meta_topic *before = rn_meta_topic_get(a, "orders");
	assert_int_equal(rn_meta_topic_set_config(b, "orders", "retention.ms", NULL), 0);
	assert_int_equal(rn_meta_topic_set_config(b, "orders", "cleanup.policy", "compact"), 0);
	int32_t more[] = {2, 1};
	assert_int_equal(rn_meta_topic_add_partitions_assigned(b, "orders", 4, 2, more), 0);
	assert_int_equal(rn_meta_topic_add_partitions_assigned(b, "orders", 4, 2, more),
			 RN_EINVALID);
	assert_true(ETCD_WAIT_UNTIL(rn_meta_topic_get(a, "orders")->partitions == 4, 10000));
	t = rn_meta_topic_get(a, "orders");
	assert_int_equal(t->nconfigs, 2);
	assert_true(t != before);
	assert_string_equal(before->name, "orders");
	assert_int_equal(before->partitions, 3);
	assert_int_equal(before->nconfigs, 2);
	assert_string_equal(before->configs[0].key, "retention.ms");
	assert_int_equal(rn_meta_partition_get(a, "orders", 3, &st), 0);
	assert_int_equal(st.leader, 2);
	struct rn_cfg_kv one[] = {{"segment.ms", "5"}};
	assert_int_equal(rn_meta_topic_replace_configs(a, "orders", one, 1), 0);
	assert_int_equal(rn_meta_topic_get(a, "orders")->nconfigs, 1);
	assert_int_equal(rn_meta_topic_replace_configs(a, "nope", one, 1), RN_ENOTFOUND);
	assert_int_equal(rn_meta_topic_set_partitions(a, "nope", 2), RN_ENOTFOUND);

	/* Delete: the topic and its partitions go in one txn. */
	assert_int_equal(rn_meta_topic_delete(a, "orders"), 0);
	assert_int_equal(rn_meta_topic_delete(a, "orders"), RN_ENOTFOUND);
	assert_null(rn_meta_topic_get(a, "orders"));
	assert_int_equal(rn_meta_partition_get(a, "orders", 0, &st), RN_ENOTFOUND);
	assert_true(ETCD_WAIT_UNTIL(atomic_load(&h.deleted) == 1, 10000));
	assert_null(rn_meta_topic_get(b, "orders"));
	assert_int_equal(rn_meta_partition_get(b, "orders", 0, &st), RN_ENOTFOUND);

	/* The plain store.h create works too (no partition states). */
	assert_int_equal(rn_meta_topic_create(b, "plain", 2, NULL, 0, id), 0);
	assert_non_null(rn_meta_topic_get(b, "plain"));
	rn_meta_close(a);
	rn_meta_close(b);
}

static void test_partition_cas(void **state)
{
	(void)state;
	struct rn_meta *a, *b;
	open2(&a, &b);
	int32_t assign[] = {1, 2, 3};
	uint8_t id[16];
	assert_int_equal(rn_meta_topic_create_assigned(a, "cas", 1, 3, assign, NULL, 0, id), 0);
	assert_true(ETCD_WAIT_UNTIL(rn_meta_topic_get(b, "cas") != NULL, 10000));
	struct rn_pstate st, st2;
	assert_int_equal(rn_meta_partition_get(a, "cas", 0, &st), 0);
	assert_int_equal(st.partition_epoch, 0);
	st2 = st;
	st.nisr = 2;
	st.partition_epoch = 1;
	assert_int_equal(rn_meta_partition_cas(a, "cas", 0, 0, &st), 0);
	/* The cache holds it when the CAS returns. */
	struct rn_pstate got;
	assert_int_equal(rn_meta_partition_get(a, "cas", 0, &got), 0);
	assert_int_equal(got.partition_epoch, 1);
	assert_int_equal(got.nisr, 2);
	/* b still based on epoch 0: whether its cache has caught up or not, it loses. */
	st2.leader = 2;
	st2.leader_epoch = 1;
	st2.partition_epoch = 1;
	assert_int_equal(rn_meta_partition_cas(b, "cas", 0, 0, &st2), RN_ESTALE);
	assert_int_equal(rn_meta_partition_get(b, "cas", 0, &got), 0);
	assert_int_equal(got.partition_epoch, 1);
	assert_int_equal(got.leader, 1);
	/* Re-read, then it wins. */
	st2 = got;
	st2.leader = 2;
	st2.leader_epoch = 1;
	st2.partition_epoch = 2;
	assert_int_equal(rn_meta_partition_cas(b, "cas", 0, 1, &st2), 0);
	assert_true(ETCD_WAIT_UNTIL(
	    rn_meta_partition_get(a, "cas", 0, &got) == 0 && got.partition_epoch == 2, 10000));
	assert_int_equal(got.leader, 2);
	assert_int_equal(rn_meta_partition_cas(a, "cas", 1, 0, &st2), RN_ENOTFOUND);
	assert_int_equal(rn_meta_partition_cas(a, "nope", 0, 0, &st2), RN_ENOTFOUND);
	rn_meta_close(a);
	rn_meta_close(b);
}

/* More partitions than one etcd txn may carry (--max-txn-ops, 128 by default). */
static void test_big_topic(void **state)
{
	(void)state;
	struct rn_meta *a, *b;
	open2(&a, &b);
	struct heard h = {0};
	struct rn_meta_listener l = listener(&h);
	assert_int_equal(rn_meta_add_listener(b, &l), 0);
	enum { P = 300, P2 = 700, RF = 3 };
	int32_t *assign = calloc(P2 * RF, sizeof(*assign));
	for (int i = 0; i < P2 * RF; i++)
		assign[i] = 1 + (i / RF + i % RF) % 3;
	uint8_t id[16];
	assert_int_equal(rn_meta_topic_create_assigned(a, "big", P, RF, assign, NULL, 0, id), 0);
	assert_int_equal(rn_meta_topic_create_assigned(b, "big", P, RF, assign, NULL, 0, id),
			 RN_EEXIST);
	struct rn_pstate st;
	assert_int_equal(rn_meta_partition_get(a, "big", P - 1, &st), 0);
	assert_int_equal(st.leader, assign[(P - 1) * RF]);
	assert_true(ETCD_WAIT_UNTIL(atomic_load(&h.partitions) == P, 10000));
	assert_int_equal(atomic_load(&h.topics), 1);
	assert_int_equal(atomic_load(&h.part_before_topic), 0);
	assert_int_equal(rn_meta_partition_get(b, "big", 0, &st), 0);
	assert_int_equal(st.leader, assign[0]);
	assert_int_equal(st.replicas[2], assign[2]);
	assert_int_equal(rn_meta_partition_get(b, "big", P, &st), RN_ENOTFOUND);
	assert_int_equal(rn_meta_topic_add_partitions_assigned(b, "big", P2, RF, assign + P * RF),
			 0);
	assert_int_equal(rn_meta_partition_get(b, "big", P2 - 1, &st), 0);
	assert_int_equal(st.leader, assign[(P2 - 1) * RF]);
	assert_true(ETCD_WAIT_UNTIL(rn_meta_topic_get(a, "big")->partitions == P2, 10000));
	assert_int_equal(rn_meta_partition_get(a, "big", P, &st), 0);
	assert_int_equal(st.leader, assign[P * RF]);
	assert_true(ETCD_WAIT_UNTIL(atomic_load(&h.partitions) == P2, 10000));
	assert_int_equal(rn_meta_topic_delete(a, "big"), 0);
	assert_int_equal(rn_meta_partition_get(a, "big", 0, &st), RN_ENOTFOUND);
	free(assign);
	rn_meta_close(a);
	rn_meta_close(b);
}

/* Writes under another prefix move etcd's revision but never reach our watch: waiting for "the
 * revision etcd answered" would wait for ever (and restart the watch for nothing). */
static void test_other_prefix(void **state)
{
	(void)state;
	struct rn_meta *a, *b, *c, *d;
	open2(&a, &b);
	open2(&c, &d); /* another cluster on the same etcd */
	int32_t assign[] = {1, 2};
	uint8_t id[16];
	assert_int_equal(rn_meta_topic_create_assigned(a, "t", 1, 2, assign, NULL, 0, id), 0);
	assert_true(ETCD_WAIT_UNTIL(rn_meta_topic_get(b, "t") != NULL, 10000));
	struct rn_pstate st;
	assert_int_equal(rn_meta_partition_get(a, "t", 0, &st), 0);
	st.partition_epoch = 1;
	assert_int_equal(rn_meta_partition_cas(a, "t", 0, 0, &st), 0);
	for (int i = 0; i < 5; i++) {
		char name[16];
		snprintf(name, sizeof(name), "o%d", i);
		assert_int_equal(rn_meta_topic_create(c, name, 1, NULL, 0, id), 0);
	}
	/* b's cache may or may not hold epoch 1 yet; from epoch 0 it loses either way. */
	struct rn_pstate st0 = st;
	st0.partition_epoch = 1;
	int rc = rn_meta_partition_cas(b, "t", 0, 0, &st0);
	assert_int_equal(rc, RN_ESTALE);
	assert_int_equal(rn_meta_partition_get(b, "t", 0, &st0), 0);
	assert_int_equal(st0.partition_epoch, 1);
	struct rn_broker_reg r = {.id = 1, .port = 1};
	snprintf(r.host, sizeof(r.host), "h");
	assert_int_equal(rn_meta_register_broker(a, &r, 3000), 0);
	int32_t epoch;
	assert_int_equal(rn_meta_controller_acquire(a, &epoch), 0);
	r.id = 2;
	assert_int_equal(rn_meta_register_broker(b, &r, 3000), 0);
	assert_int_equal(rn_meta_topic_create(c, "o9", 1, NULL, 0, id), 0);
	/* etcd is now past anything b's watch will ever see. */
	assert_int_equal(rn_meta_controller_acquire(b, &epoch), RN_EEXIST);
	for (int i = 0; i < 5; i++)
		assert_int_equal(rn_meta_topic_create(c, "o9", 1, NULL, 0, id), RN_EEXIST);
	/* Nobody waited out a timeout, no watch was made again. */
	for (int i = 0; i < 3; i++) {
		struct rn__es *es = rn__meta_es(i == 0 ? a : i == 1 ? b : c);
		assert_int_equal(rn__es_wait_timeouts(es), 0);
		assert_int_equal(rn__es_watch_streams(es), 1);
	}
	rn_meta_close(a);
	rn_meta_close(b);
	rn_meta_close(c);
	rn_meta_close(d);
}

static void collect(const char *key, const char *val, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "%s=%s;", key, val);
}

static void test_configs_and_pids(void **state)
{
	(void)state;
	struct rn_meta *a, *b;
	open2(&a, &b);
	struct heard h = {0};
	struct rn_meta_listener l = listener(&h);
	assert_int_equal(rn_meta_add_listener(b, &l), 0);
	struct rn_cfg_kv kv[] = {{"log.retention.ms", "7"}};
	assert_int_equal(rn_meta_broker_replace_configs(a, false, kv, 1), 0);
	struct rn_cfg_kv kv1[] = {{"log.cleaner.threads", "2"}};
	assert_int_equal(rn_meta_broker_replace_configs(a, true, kv1, 1), 0);
	char got[256] = "";
	rn_meta_broker_configs(a, true, collect, got);
	assert_string_equal(got, "log.cleaner.threads=2;");
	/* The cluster default is shared; node 1's own set is not node 2's. */
	assert_true(ETCD_WAIT_UNTIL(atomic_load(&h.bcfg) >= 1, 10000));
	got[0] = '\0';
	rn_meta_broker_configs(b, false, collect, got);
	assert_string_equal(got, "log.retention.ms=7;");
	got[0] = '\0';
	rn_meta_broker_configs(b, true, collect, got);
	assert_string_equal(got, "");
	assert_int_equal(rn_meta_broker_replace_configs(a, false, NULL, 0), 0);
	got[0] = '\0';
	rn_meta_broker_configs(a, false, collect, got);
	assert_string_equal(got, "");

	/* Producer ids: unique across both handles, and across a reopen. */
	enum { N = 2500 };
	int64_t *ids = calloc(2 * N + 10, sizeof(*ids));
	int n = 0;
	for (int i = 0; i < N; i++) {
		assert_int_equal(rn_meta_next_producer_id(a, &ids[n++]), 0);
		assert_int_equal(rn_meta_next_producer_id(b, &ids[n++]), 0);
	}
	rn_meta_close(a);
	char uri[600];
	snprintf(uri, sizeof(uri), "etcd://%s/t%d-%d", etcd.endpoints, getpid(), test_no);
	assert_int_equal(rn_meta_open_etcd(uri, dirs[0], 1, &a), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(rn_meta_next_producer_id(a, &ids[n++]), 0);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			assert_true(ids[i] != ids[j]);
	free(ids);
	rn_meta_close(a);
	rn_meta_close(b);
}

static void test_listener_replay(void **state)
{
	(void)state;
	struct rn_meta *a, *b;
	open2(&a, &b);
	int32_t assign[] = {1, 2};
	uint8_t id[16];
	assert_int_equal(rn_meta_topic_create_assigned(a, "r1", 2, 1, assign, NULL, 0, id), 0);
	assert_int_equal(rn_meta_topic_create_assigned(a, "r2", 1, 1, assign, NULL, 0, id), 0);
	assert_true(ETCD_WAIT_UNTIL(rn_meta_topic_get(b, "r2") != NULL, 10000));
	struct heard h1 = {0}, h2 = {0};
	struct rn_meta_listener l1 = listener(&h1), l2 = listener(&h2);
	assert_int_equal(rn_meta_add_listener(b, &l1), 0);
	assert_int_equal(atomic_load(&h1.topics), 2);
	assert_int_equal(atomic_load(&h1.partitions), 3);
	assert_int_equal(atomic_load(&h1.brokers), 1);
	assert_int_equal(rn_meta_add_listener(b, &l2), 0);
	assert_int_equal(atomic_load(&h2.topics), 2);
	/* Both hear what comes next. */
	assert_int_equal(rn_meta_topic_delete(a, "r1"), 0);
	assert_true(
	    ETCD_WAIT_UNTIL(atomic_load(&h1.deleted) == 1 && atomic_load(&h2.deleted) == 1, 10000));
	rn_meta_close(a);
	rn_meta_close(b);
}

/* Puts raw values under test_no's prefix, bypassing the store. */
static void raw_put(const char *rel, const char *val)
{
	struct rn__etcd *e;
	assert_int_equal(rn__etcd_new(etcd.endpoints, strlen(etcd.endpoints), &e), 0);
	char key[300];
	snprintf(key, sizeof(key), "/t%d-%d/%s", getpid(), test_no, rel);
	json_t *ops = json_pack("[o]", rn__etcd_put_op(key, val, 0)), *resp;
	bool ok;
	assert_int_equal(rn__etcd_txn(e, NULL, ops, NULL, 2000, &ok, &resp), 0);
	json_decref(resp);
	rn__etcd_free(e);
}

static void test_bad_data_and_uri(void **state)
{
	(void)state;
	struct rn_meta *m, *a, *b;
	open2(&a, &b);
	static const char *const bad[][2] = {
	    {"topics/t1", "{not json"},
	    {"topics/t2", "{\"id\":\"00\",\"partitions\":1}"},
	    {"partitions/t1/0", "[1,2]"},
	    {"partitions/t1/x", "{}"},
	    {"partitions/t1/1", "{\"leader\":1,\"leader_epoch\":0,\"partition_epoch\":0,"
				"\"replicas\":[1,\"two\"]}"},
	    {"brokers/5", "{\"id\":6,\"host\":\"h\",\"port\":1}"},
	    {"brokers/7", "\"str\""},
	    {"controller", "{\"id\":-4}"},
	    {"configs/brokers/", "{\"k\":1}"},
	    {"producer_ids", "\"abc\""},
	};
	/* Heard by a's watch, then read by a new handle's load: neither crashes nor believes. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		raw_put(bad[i][0], bad[i][1]);
	uint8_t id[16];
	assert_int_equal(rn_meta_topic_create(b, "good", 1, NULL, 0, id), 0);
	assert_true(ETCD_WAIT_UNTIL(rn_meta_topic_get(a, "good") != NULL, 10000));
	char uri[600];
	snprintf(uri, sizeof(uri), "etcd://%s/t%d-%d", etcd.endpoints, getpid(), test_no);
	assert_int_equal(rn_meta_open_etcd(uri, dirs[0], 1, &m), 0);
	struct rn_meta *h[] = {a, m};
	for (int i = 0; i < 2; i++) {
		struct rn_pstate st;
		assert_null(rn_meta_topic_get(h[i], "t1"));
		assert_null(rn_meta_topic_get(h[i], "t2"));
		assert_non_null(rn_meta_topic_get(h[i], "good"));
		assert_int_equal(rn_meta_partition_get(h[i], "t1", 0, &st), RN_ENOTFOUND);
		assert_int_equal(rn_meta_partition_get(h[i], "t1", 1, &st), RN_ENOTFOUND);
		struct rn_broker_reg r[2];
		assert_int_equal(rn_meta_brokers(h[i], r, 2), 0);
		assert_int_equal(rn_meta_controller(h[i], NULL), -1);
	}
	int64_t pid;
	assert_int_equal(rn_meta_next_producer_id(m, &pid), RN_ECORRUPT);
	/* A bad value replaced by a good one is taken. */
	raw_put("topics/t1", "{\"id\":\"000102030405060708090a0b0c0d0e0f\",\"partitions\":2}");
	assert_true(ETCD_WAIT_UNTIL(rn_meta_topic_get(m, "t1") != NULL, 10000));
	assert_int_equal(rn_meta_topic_get(m, "t1")->partitions, 2);
	rn_meta_close(m);
	rn_meta_close(a);
	rn_meta_close(b);
	assert_int_equal(rn_meta_open_etcd("http://x", "/tmp", 1, &m), -EINVAL);
	assert_int_equal(rn_meta_open_etcd("etcd://nohostport", "/tmp", 1, &m), -EINVAL);
	/* Nobody listens on port 1. */
	assert_int_equal(rn_meta_open_etcd("etcd://127.0.0.1:1", "/tmp", 1, &m), RN_EUNAVAILABLE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_topics_two_handles), cmocka_unit_test(test_partition_cas),
	    cmocka_unit_test(test_configs_and_pids),   cmocka_unit_test(test_big_topic),
	    cmocka_unit_test(test_other_prefix),       cmocka_unit_test(test_listener_replay),
	    cmocka_unit_test(test_bad_data_and_uri),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
