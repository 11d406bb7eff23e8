/*
 * __transaction_state under compaction: the coordinator's records after every transition (as
 * broker/txns.c writes them) go into a model log, which is cleaned as Kafka's cleaner cleans
 * one (only the latest record per key survives in the cleaned range; tombstones dropped once
 * old enough) and replayed into a fresh coordinator: every cleaning gives the same state, and
 * the only tombstone is the one for an expired transactional id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "proto/kerr.h"
#include "txn/txn.h"

#define DAY (24 * 3600 * 1000LL)

struct mrec {
	char id[64];
	uint8_t *key, *val;
	int32_t klen, vlen;
};

static struct {
	struct mrec *v;
	int n, cap;
} L;

static void log_add(const char *id, const struct rn_buf *k, const struct rn_buf *v)
{
	if (L.n == L.cap) {
		L.cap = L.cap ? L.cap * 2 : 256;
		L.v = realloc(L.v, (size_t)L.cap * sizeof(*L.v));
	}
	struct mrec *r = &L.v[L.n++];
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->key = malloc(k->len);
	memcpy(r->key, k->data, k->len);
	r->klen = (int32_t)k->len;
	r->val = v ? malloc(v->len) : NULL;
	if (v)
		memcpy(r->val, v->data, v->len);
	r->vlen = v ? (int32_t)v->len : -1;
}

/* rn_txns_store: the entry's record after a transition. */
static void store(struct rn_txn *t)
{
	struct rn_buf k = {0}, v = {0};
	rn_tc_key(&k, t->id);
	rn_tc_value(&v, t);
	log_add(t->id, &k, &v);
	rn_buf_free(&k);
	rn_buf_free(&v);
}

static void log_free(void)
{
	for (int i = 0; i < L.n; i++) {
		free(L.v[i].key);
		free(L.v[i].val);
	}
	free(L.v);
	memset(&L, 0, sizeof(L));
}

static int64_t next_pid = 5000;
static int alloc(void *arg, int64_t *pid)
{
	(void)arg;
	*pid = next_pid++;
	return 0;
}

static struct rn_tc *new_tc(void)
{
	struct rn_tc_config c = {.max_timeout_ms = 900000, .id_expiration_ms = 7 * DAY};
	return rn_tc_new(&c);
}

static struct rn_txn *init(struct rn_tc *tc, const char *id, int64_t now)
{
	struct rn_txn *t;
	bool abort;
	int16_t e = rn_tc_init_pid(tc, id, 60000, -1, -1, now, alloc, NULL, &t, &abort);
	if (e == RN_KERR_CONCURRENT_TRANSACTIONS && abort) { /* the old epoch's txn aborts */
		store(t);
		rn_tc_complete(t, now);
		store(t);
		e = rn_tc_init_pid(tc, id, 60000, -1, -1, now, alloc, NULL, &t, &abort);
	}
	assert_int_equal(e, RN_KERR_NONE);
	store(t);
	return t;
}

/* One transaction: partitions, a group with an offset, EndTxn, markers, complete. */
static void txn(struct rn_tc *tc, struct rn_txn *t, bool commit, int64_t now, int i)
{
	char topic[16];
	snprintf(topic, sizeof(topic), "t%d", i % 4);
	rn_tc_add_partition(t, topic, i % 3, now);
	store(t);
	rn_tc_add_group(t, "grp", now);
	store(t);
	struct rn_txn_offset o = {(char *)"grp", topic, 0, i, -1, NULL};
	rn_tc_add_offset(t, &o);
	store(t);
	struct rn_txn *x;
	assert_int_equal(rn_tc_end(tc, t->id, t->pid, t->epoch, commit, 90, now + 1, &x),
			 RN_KERR_NONE);
	store(t);
	rn_tc_complete(t, now + 2);
	store(t);
}

static void dump_one(struct rn_txn *t, void *arg)
{
	char s[1024];
	int n = snprintf(s, sizeof(s), "%s pid=%lld/%d last=%lld/%d to=%d %s up=%lld start=%lld",
			 t->id, (long long)t->pid, t->epoch, (long long)t->last_pid, t->last_epoch,
			 t->timeout_ms, rn_txn_state_name(t->state), (long long)t->update_ms,
			 (long long)t->start_ms);
	for (int i = 0; i < t->nparts; i++)
		n += snprintf(s + n, sizeof(s) - (size_t)n, " p:%s-%d", t->parts[i].topic,
			      t->parts[i].partition);
	for (int i = 0; i < t->ngroups; i++)
		n += snprintf(s + n, sizeof(s) - (size_t)n, " g:%s", t->groups[i]);
	for (int i = 0; i < t->noffsets; i++)
		n += snprintf(s + n, sizeof(s) - (size_t)n, " o:%s/%s-%d=%lld", t->offsets[i].group,
			      t->offsets[i].topic, t->offsets[i].partition,
			      (long long)t->offsets[i].offset);
	struct rn_buf *b = arg;
	rn_buf_append(b, s, (size_t)n);
	rn_buf_append(b, "\n", 1);
}

/* Ids are few: sort lines by building the dump id by id. */
static const char *const IDS[] = {"a", "b", "c", "d", "e", "f"};

static char *dump(struct rn_tc *tc)
{
	struct rn_buf b = {0};
	for (size_t i = 0; i < sizeof(IDS) / sizeof(IDS[0]); i++) {
		struct rn_txn *t = rn_tc_find(tc, IDS[i]);
		if (t)
			dump_one(t, &b);
	}
	rn_buf_append(&b, "", 1);
	char *s = strdup((char *)b.data);
	rn_buf_free(&b);
	return s;
}

static struct rn_tc *replay(int cut, bool drop_tombs, int *nkept)
{
	struct rn_tc *tc = new_tc();
	*nkept = 0;
	for (int i = 0; i < L.n; i++) {
		bool gone = false;
		for (int j = i + 1; i < cut && j < cut && !gone; j++)
			gone = L.v[i].klen == L.v[j].klen &&
			       !memcmp(L.v[i].key, L.v[j].key, (size_t)L.v[i].klen);
		if (i < cut && drop_tombs && !L.v[i].val)
			gone = true;
		if (gone)
			continue;
		(*nkept)++;
		assert_int_equal(rn_tc_apply(tc, L.v[i].key, L.v[i].klen, L.v[i].val, L.v[i].vlen),
				 0);
	}
	return tc;
}

static void expire_cb(struct rn_txn *t, void *arg)
{
	void **a = arg;
	struct rn_tc *tc = a[0];
	int64_t now = *(int64_t *)a[1];
	if (!rn_tc_expired(tc, t, now))
		return;
	struct rn_buf k = {0};
	rn_tc_key(&k, t->id);
	log_add(t->id, &k, NULL);
	rn_buf_free(&k);
	rn_tc_remove(tc, t);
}

static void test_cleaned_log_replays_the_same(void **state)
{
	(void)state;
	struct rn_tc *tc = new_tc();
	int64_t now = 1000;
	/* a: many committed and aborted transactions. */
	struct rn_txn *a = init(tc, "a", now);
	for (int i = 0; i < 200; i++, now += 10)
		txn(tc, a, i % 5 != 0, now, i);
	/* b: idle since long ago; it expires. c: re-initialised (epoch bumps). */
	struct rn_txn *b = init(tc, "b", 2000);
	txn(tc, b, true, 2001, 1);
	for (int i = 0; i < 5; i++)
		init(tc, "c", now + i);
	/* d: left Ongoing (a crash before EndTxn); e: PrepareCommit (markers not all written);
	 * f: a new producer fenced d-like Ongoing work (abort under a bumped epoch). */
	struct rn_txn *d = init(tc, "d", now);
	rn_tc_add_partition(d, "x", 0, now);
	store(d);
	struct rn_txn *e = init(tc, "e", now), *x;
	rn_tc_add_partition(e, "y", 1, now);
	store(e);
	assert_int_equal(rn_tc_end(tc, "e", e->pid, e->epoch, true, 90, now + 1, &x), RN_KERR_NONE);
	store(e);
	struct rn_txn *f = init(tc, "f", now);
	rn_tc_add_partition(f, "z", 2, now);
	store(f);
	init(tc, "f", now + 5);
	/* Expiry a week after b's last transition; the others are younger. */
	int64_t later = 2003 + 7 * DAY; /* b completed at 2003 */
	void *arg[2] = {tc, &later};
	rn_tc_foreach(tc, expire_cb, arg);
	assert_null(rn_tc_find(tc, "b"));
	int tombs = 0;
	for (int i = 0; i < L.n; i++)
		tombs += L.v[i].val == NULL;
	assert_int_equal(tombs, 1);
	/* Traffic after the tombstone. */
	for (int i = 200; i < 210; i++, now += 10)
		txn(tc, a, true, now, i);

	char *live = dump(tc);
	int n;
	struct rn_tc *full = replay(0, false, &n);
	char *want = dump(full);
	assert_string_equal(want, live);
	for (int cut = 0; cut <= L.n; cut += L.n / 41 + 1) {
		for (int drop = 0; drop < 2; drop++) {
			struct rn_tc *r = replay(cut, drop, &n);
			char *got = dump(r);
			if (strcmp(got, want))
				fail_msg("cut %d drop %d:\nwant %s\ngot  %s", cut, drop, want, got);
			assert_int_equal(rn_tc_count(r), 5);
			free(got);
			rn_tc_free(r);
		}
	}
	/* Fully cleaned: one record per live transactional id. */
	struct rn_tc *r = replay(L.n, true, &n);
	assert_int_equal(n, 5);
	rn_tc_free(r);
	free(want);
	free(live);
	rn_tc_free(full);
	rn_tc_free(tc);
	log_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cleaned_log_replays_the_same),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
