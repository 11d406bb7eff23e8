/* Security records in the embedded store: put, cas, delete, watch; durable across a reopen,
 * kept by the snapshot rewrite, a torn tail of them dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "meta/store.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rn-meta-sec-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* Collects "key=val;" in key order-independent form: the count and a concatenation. */
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

static const char *get(struct rn_meta *m, const char *ns, const char *key, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	rn_meta_sec_foreach(m, ns, collect, s);
	char want[300];
	snprintf(want, sizeof(want), "%s=", key);
	char *p = strstr(s->all, want);
	if (!p)
		return NULL;
	p += strlen(want);
	*strchr(p, ';') = '\0';
	return p;
}

static int notes;
static char last_ns[32];
static void on_change(const char *ns, void *arg)
{
	(void)arg;
	notes++;
	snprintf(last_ns, sizeof(last_ns), "%s", ns);
}

static void test_put_cas_delete(void **state)
{
	(void)state;
	struct rn_meta *m;
	struct seen s;
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	notes = 0;
	rn_meta_sec_watch(m, "acl", on_change, NULL);
	assert_int_equal(rn_meta_sec_put(m, "acl", "User:alice|TOPIC|orders", "v1"), 0);
	assert_int_equal(notes, 1);
	assert_string_equal(last_ns, "acl");
	assert_int_equal(rn_meta_sec_put(m, "scram", "alice", "tab\there\nnl\\"), 0);
	assert_int_equal(notes, 1); /* another namespace's change is not acl's */
	assert_string_equal(get(m, "scram", "alice", &s), "tab\there\nnl\\");
	assert_int_equal(s.n, 1);
	assert_string_equal(get(m, "acl", "User:alice|TOPIC|orders", &s), "v1");

	/* cas: only from the expected value; absent is NULL. */
	assert_int_equal(rn_meta_sec_cas(m, "acl", "User:alice|TOPIC|orders", "nope", "v2"),
			 RN_ESTALE);
	assert_int_equal(rn_meta_sec_cas(m, "acl", "User:alice|TOPIC|orders", NULL, "v2"),
			 RN_ESTALE);
	assert_int_equal(rn_meta_sec_cas(m, "acl", "User:alice|TOPIC|orders", "v1", "v2"), 0);
	assert_int_equal(rn_meta_sec_cas(m, "acl", "k2", NULL, "x"), 0);
	assert_int_equal(rn_meta_sec_cas(m, "acl", "k2", NULL, "y"), RN_ESTALE);
	assert_int_equal(rn_meta_sec_cas(m, "acl", "k2", "x", NULL), 0); /* cas delete */
	assert_null(get(m, "acl", "k2", &s));
	assert_int_equal(notes, 4);

	/* Delete: gone, and a second delete says so. */
	assert_int_equal(rn_meta_sec_put(m, "quota", "user=bob", "producer_byte_rate=1"), 0);
	assert_int_equal(rn_meta_sec_put(m, "quota", "user=bob", NULL), 0);
	assert_int_equal(rn_meta_sec_put(m, "quota", "user=bob", NULL), RN_ENOTFOUND);
	/* Bad names are refused, not stored. */
	assert_int_equal(rn_meta_sec_put(m, "a/b", "k", "v"), RN_EINVALID);
	assert_int_equal(rn_meta_sec_put(m, "", "k", "v"), RN_EINVALID);
	assert_int_equal(rn_meta_sec_put(m, "acl", "", "v"), RN_EINVALID);
	rn_meta_close(m);

	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	assert_string_equal(get(m, "acl", "User:alice|TOPIC|orders", &s), "v2");
	assert_int_equal(s.n, 1);
	assert_string_equal(get(m, "scram", "alice", &s), "tab\there\nnl\\");
	memset(&s, 0, sizeof(s));
	rn_meta_sec_foreach(m, "quota", collect, &s);
	assert_int_equal(s.n, 0);
	/* Records written after a reopen are durable too. */
	assert_int_equal(rn_meta_sec_put(m, "acl", "k3", "z"), 0);
	rn_meta_close(m);
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	assert_string_equal(get(m, "acl", "k3", &s), "z");
	assert_int_equal(s.n, 2);
	rn_meta_close(m);
}

static off_t log_size(void)
{
	char path[300];
	struct stat st;
	snprintf(path, sizeof(path), "%s/runnel-metadata.log", dir);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void test_snapshot_keeps_records(void **state)
{
	(void)state;
	struct rn_meta *m;
	struct seen s;
	uint8_t id[16];
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	assert_int_equal(rn_meta_topic_create(m, "t", 1, NULL, 0, id), 0);
	char key[32], val[32];
	/* Many overwrites of a few records: mostly dead, so the next open rewrites the log. */
	for (int round = 0; round < 50; round++)
		for (int i = 0; i < 5; i++) {
			snprintf(key, sizeof(key), "user%d", i);
			snprintf(val, sizeof(val), "salt%d-%d", i, round);
			assert_int_equal(rn_meta_sec_put(m, "scram", key, val), 0);
		}
	assert_int_equal(rn_meta_sec_put(m, "scram", "user4", NULL), 0);
	rn_meta_close(m);
	off_t before = log_size();
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	assert_true(log_size() < before / 10);
	rn_meta_close(m);
	/* And the rewritten log still holds every live record, once. */
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	assert_non_null(rn_meta_topic_get(m, "t"));
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "user%d", i);
		snprintf(val, sizeof(val), "salt%d-49", i);
		assert_string_equal(get(m, "scram", key, &s), val);
	}
	assert_int_equal(s.n, 4);
	assert_null(get(m, "scram", "user4", &s));
	rn_meta_close(m);
}

static void test_torn_sec_tail(void **state)
{
	(void)state;
	struct rn_meta *m;
	struct seen s;
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	assert_int_equal(rn_meta_sec_put(m, "acl", "a", "1"), 0);
	assert_int_equal(rn_meta_sec_put(m, "acl", "b", "2"), 0);
	rn_meta_close(m);
	char path[300];
	snprintf(path, sizeof(path), "%s/runnel-metadata.log", dir);
	assert_int_equal(truncate(path, log_size() - 3), 0);
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	assert_string_equal(get(m, "acl", "a", &s), "1");
	assert_int_equal(s.n, 1);
	rn_meta_close(m);
}

struct incr {
	struct rn_meta *m;
	int n;
};

static void *incr_thread(void *arg)
{
	struct incr *in = arg;
	struct seen s;
	for (int done = 0; done < in->n;) {
		char cur[32], next[32];
		const char *v = get(in->m, "quota", "counter", &s);
		snprintf(cur, sizeof(cur), "%s", v ? v : "");
		snprintf(next, sizeof(next), "%d", v ? atoi(v) + 1 : 1);
		int rc = rn_meta_sec_cas(in->m, "quota", "counter", v ? cur : NULL, next);
		if (rc == 0)
			done++;
		else if (rc != RN_ESTALE)
			return (void *)1;
	}
	return NULL;
}

/* Threads racing read-modify-writes through cas: none is lost, and all are durable. */
static void test_cas_race(void **state)
{
	(void)state;
	struct rn_meta *m;
	struct seen s;
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	struct incr in = {m, 100};
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, incr_thread, &in), 0);
	for (int i = 0; i < 4; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		assert_null(rc);
	}
	assert_string_equal(get(m, "quota", "counter", &s), "400");
	rn_meta_close(m);
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	assert_string_equal(get(m, "quota", "counter", &s), "400");
	rn_meta_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_put_cas_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_keeps_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_sec_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cas_race, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
