/* Security records in the etcd store against a real etcd: two handles (two brokers) on one
 * prefix see each other's writes through the watch, cas is one txn, a new handle loads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
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
static char dirs[3][512];
static char uri[600];
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

static void open_n(struct rn_meta **m, int n)
{
	snprintf(uri, sizeof(uri), "etcd://%s/s%d-%d", etcd.endpoints, getpid(), ++test_no);
	for (int i = 0; i < n; i++) {
		snprintf(dirs[i], sizeof(dirs[i]), "%s/sec%d-%d", etcd.root, test_no, i);
		char cmd[1100];
		snprintf(cmd, sizeof(cmd), "mkdir -p %s", dirs[i]);
		assert_int_equal(system(cmd), 0);
		assert_int_equal(rn_meta_open_etcd(uri, dirs[i], i + 1, &m[i]), 0);
	}
}

struct seen {
	int n;
	char all[4096];
};

static void collect(const char *key, const char *val, void *arg)
{
	struct seen *s = arg;
	s->n++;
	size_t n = strlen(s->all);
	snprintf(s->all + n, sizeof(s->all) - n, "%s=%s;", key, val);
}

/* The value of ns/key as m sees it (in buf), or NULL. */
static const char *get(struct rn_meta *m, const char *ns, const char *key, char *buf, size_t n)
{
	struct seen s = {0};
	rn_meta_sec_foreach(m, ns, collect, &s);
	char want[300];
	snprintf(want, sizeof(want), ";%s=", key);
	char all[4100];
	snprintf(all, sizeof(all), ";%s", s.all);
	char *p = strstr(all, want);
	if (!p)
		return NULL;
	p += strlen(want);
	*strchr(p, ';') = '\0';
	snprintf(buf, n, "%s", p);
	return buf;
}

static bool has(struct rn_meta *m, const char *ns, const char *key, const char *val)
{
	char buf[256];
	const char *v = get(m, ns, key, buf, sizeof(buf));
	return val ? v && strcmp(v, val) == 0 : v == NULL;
}

static int count(struct rn_meta *m, const char *ns)
{
	struct seen s = {0};
	rn_meta_sec_foreach(m, ns, collect, &s);
	return s.n;
}

struct heard {
	atomic_int n;
	struct rn_meta *m; /* read back from the callback, as auth/ does */
	atomic_int seen_count;
};

static void on_change(const char *ns, void *arg)
{
	struct heard *h = arg;
	atomic_store(&h->seen_count, count(h->m, ns));
	atomic_fetch_add(&h->n, 1);
}

static void test_two_handles(void **state)
{
	(void)state;
	struct rn_meta *m[2];
	open_n(m, 2);
	struct heard h = {.m = m[1]};
	rn_meta_sec_watch(m[1], "acl", on_change, &h);
	/* The writer reads its own write at once. */
	assert_int_equal(rn_meta_sec_put(m[0], "acl", "User:alice/TOPIC/orders", "v1"), 0);
	assert_true(has(m[0], "acl", "User:alice/TOPIC/orders", "v1"));
	/* The other broker hears it from its watch; the callback may read the store. */
	assert_true(ETCD_WAIT_UNTIL(atomic_load(&h.n) >= 1, 10000));
	assert_int_equal(atomic_load(&h.seen_count), 1);
	assert_true(has(m[1], "acl", "User:alice/TOPIC/orders", "v1"));
	/* Values keep tabs and newlines; namespaces stay apart. */
	assert_int_equal(rn_meta_sec_put(m[1], "scram", "alice", "a\tb\nc"), 0);
	assert_true(has(m[1], "scram", "alice", "a\tb\nc"));
	assert_int_equal(count(m[1], "acl"), 1);

	/* cas as a txn: the loser of a race gets RN_ESTALE. */
	assert_int_equal(rn_meta_sec_cas(m[0], "acl", "k", NULL, "a"), 0);
	assert_true(ETCD_WAIT_UNTIL(has(m[1], "acl", "k", "a"), 10000));
	assert_int_equal(rn_meta_sec_cas(m[1], "acl", "k", NULL, "b"), RN_ESTALE);
	assert_int_equal(rn_meta_sec_cas(m[1], "acl", "k", "zzz", "b"), RN_ESTALE);
	assert_int_equal(rn_meta_sec_cas(m[1], "acl", "k", "a", "b"), 0);
	assert_int_equal(rn_meta_sec_cas(m[0], "acl", "k", "a", "c"), RN_ESTALE);
	assert_true(has(m[1], "acl", "k", "b"));
	assert_true(ETCD_WAIT_UNTIL(has(m[0], "acl", "k", "b"), 10000));
	assert_int_equal(rn_meta_sec_cas(m[0], "acl", "k", "b", NULL), 0);
	assert_true(has(m[0], "acl", "k", NULL));

	/* Delete, seen by the other broker; a second delete says RN_ENOTFOUND. */
	int before = atomic_load(&h.n);
	assert_int_equal(rn_meta_sec_put(m[0], "acl", "User:alice/TOPIC/orders", NULL), 0);
	assert_int_equal(rn_meta_sec_put(m[0], "acl", "User:alice/TOPIC/orders", NULL),
			 RN_ENOTFOUND);
	assert_true(ETCD_WAIT_UNTIL(has(m[1], "acl", "User:alice/TOPIC/orders", NULL), 10000));
	assert_true(ETCD_WAIT_UNTIL(atomic_load(&h.n) > before, 10000));
	assert_int_equal(rn_meta_sec_put(m[0], "a/b", "k", "v"), RN_EINVALID);
	rn_meta_close(m[0]);
	rn_meta_close(m[1]);
}

static void test_reload(void **state)
{
	(void)state;
	struct rn_meta *m[2];
	open_n(m, 2);
	char key[32];
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "user%d", i);
		assert_int_equal(rn_meta_sec_put(m[0], "scram", key, "cred"), 0);
	}
	assert_int_equal(rn_meta_sec_put(m[0], "quota", "user=bob", "producer_byte_rate=1024"), 0);
	rn_meta_close(m[0]);
	/* A broker that starts later loads them all; so does one that restarts. */
	snprintf(dirs[2], sizeof(dirs[2]), "%s/sec%d-2", etcd.root, test_no);
	char cmd[1100];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dirs[2]);
	assert_int_equal(system(cmd), 0);
	struct rn_meta *c;
	assert_int_equal(rn_meta_open_etcd(uri, dirs[2], 3, &c), 0);
	assert_int_equal(count(c, "scram"), 20);
	assert_true(has(c, "quota", "user=bob", "producer_byte_rate=1024"));
	assert_true(ETCD_WAIT_UNTIL(count(m[1], "scram") == 20, 10000));
	rn_meta_close(c);
	rn_meta_close(m[1]);
}

/* Increments ns/key's decimal value n times with cas, reading it back each time. */
struct incr {
	struct rn_meta *m;
	int n, stale;
};

static void *incr_thread(void *arg)
{
	struct incr *in = arg;
	for (int done = 0; done < in->n;) {
		char cur[32], next[32];
		const char *v = get(in->m, "quota", "counter", cur, sizeof(cur));
		snprintf(next, sizeof(next), "%d", v ? atoi(v) + 1 : 1);
		int rc = rn_meta_sec_cas(in->m, "quota", "counter", v, next);
		if (rc == 0)
			done++;
		else if (rc == RN_ESTALE)
			in->stale++;
		else
			return (void *)1;
	}
	return NULL;
}

/* Two brokers racing read-modify-writes through cas: none is lost. */
static void test_cas_race(void **state)
{
	(void)state;
	struct rn_meta *m[2];
	open_n(m, 2);
	struct incr in[2] = {{m[0], 25, 0}, {m[1], 25, 0}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, incr_thread, &in[i]), 0);
	for (int i = 0; i < 2; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		assert_null(rc);
	}
	assert_true(ETCD_WAIT_UNTIL(
	    has(m[0], "quota", "counter", "50") && has(m[1], "quota", "counter", "50"), 10000));
	rn_meta_close(m[0]);
	rn_meta_close(m[1]);
}

/* Compacts etcd's history up to its current revision. */
static void compact_etcd(void)
{
	struct rn__etcd *e;
	assert_int_equal(rn__etcd_new(etcd.endpoints, strlen(etcd.endpoints), &e), 0);
	json_t *req = json_pack("{s:s}", "key", "AA=="), *resp;
	assert_int_equal(rn__etcd_call(e, "/v3/kv/range", req, 2000, &resp), 0);
	json_decref(req);
	req = json_object();
	int64_t rev = rn__etcd_int(json_object_get(resp, "header"), "revision", 0);
	json_decref(resp);
	json_object_set_new(req, "revision", rn__etcd_intstr(rev));
	assert_int_equal(rn__etcd_call(e, "/v3/kv/compaction", req, 5000, &resp), 0);
	json_decref(resp);
	json_decref(req);
	rn__etcd_free(e);
}

/* A broker cut off past etcd's compaction reloads: records deleted meanwhile vanish from its
 * cache, new ones appear, and its watch hears the namespace changed. */
static void test_compacted_reload(void **state)
{
	(void)state;
	struct rn_meta *m[2];
	open_n(m, 2);
	assert_int_equal(rn_meta_sec_put(m[0], "acl", "old", "1"), 0);
	assert_int_equal(rn_meta_sec_put(m[0], "acl", "kept", "1"), 0);
	assert_true(ETCD_WAIT_UNTIL(count(m[1], "acl") == 2, 10000));
	struct heard h = {.m = m[1]};
	rn_meta_sec_watch(m[1], "acl", on_change, &h);
	rn__es_watch_hold(rn__meta_es(m[1]), true);
	etcd_sleep_ms(1500);
	assert_int_equal(rn_meta_sec_put(m[0], "acl", "old", NULL), 0);
	assert_int_equal(rn_meta_sec_put(m[0], "acl", "new", "2"), 0);
	compact_etcd();
	assert_true(has(m[1], "acl", "old", "1")); /* still the old view */
	rn__es_watch_hold(rn__meta_es(m[1]), false);
	assert_true(
	    ETCD_WAIT_UNTIL(has(m[1], "acl", "old", NULL) && has(m[1], "acl", "new", "2"), 20000));
	assert_true(has(m[1], "acl", "kept", "1"));
	assert_true(ETCD_WAIT_UNTIL(atomic_load(&h.n) >= 1, 20000));
	rn_meta_close(m[0]);
	rn_meta_close(m[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_handles),
	    cmocka_unit_test(test_reload),
	    cmocka_unit_test(test_compacted_reload),
	    cmocka_unit_test(test_cas_race),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
