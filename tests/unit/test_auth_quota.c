/* Client quotas (auth/quota.h, auth/quota_store.h): Kafka's precedence between the eight entity
 * levels, which clients share a sensor, the sampled rate and its minimum window, the throttle
 * time and its caps, sample expiry, a greedy client's long-run rate, and the store encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "auth/quota.h"
#include "auth/quota_store.h"
#include "core/alloc.h"
#include "core/err.h"

#define MB (1024.0 * 1024.0)

static struct rn_quota_entity ent(enum rn_quota_part uk, const char *u, enum rn_quota_part ck,
				  const char *c)
{
	return (struct rn_quota_entity){uk, ck, u, c};
}

static int level(struct rn_quota_cfg *c, enum rn_quota_type t, const char *u, const char *cl,
		 double *v)
{
	int l = -1;
	double x = -1;
	rn_quota_cfg_resolve(c, t, u, cl, &x, &l);
	if (v)
		*v = x;
	return l;
}

/* Adds the eight levels from the lowest up; each one added wins over all before it. */
static void test_precedence(void **state)
{
	(void)state;
	struct rn_quota_cfg *c = rn_quota_cfg_new();
	const enum rn_quota_type P = RN_QUOTA_PRODUCE;
	struct rn_quota_entity levels[8] = {
	    ent(RN_QP_NAME, "alice", RN_QP_NAME, "app"),
	    ent(RN_QP_NAME, "alice", RN_QP_DEFAULT, NULL),
	    ent(RN_QP_NAME, "alice", RN_QP_NONE, NULL),
	    ent(RN_QP_DEFAULT, NULL, RN_QP_NAME, "app"),
	    ent(RN_QP_DEFAULT, NULL, RN_QP_DEFAULT, NULL),
	    ent(RN_QP_DEFAULT, NULL, RN_QP_NONE, NULL),
	    ent(RN_QP_NONE, NULL, RN_QP_NAME, "app"),
	    ent(RN_QP_NONE, NULL, RN_QP_DEFAULT, NULL),
	};
	assert_int_equal(level(c, P, "alice", "app", NULL), 0);
	for (int i = 7; i >= 0; i--) {
		assert_int_equal(rn_quota_cfg_set(c, &levels[i], P, 100 + i, false), 0);
		double v;
		assert_int_equal(level(c, P, "alice", "app", &v), i + 1);
		assert_true(v == 100 + i);
	}
	/* Other names fall through to the levels that still apply to them. */
	assert_int_equal(level(c, P, "alice", "other", NULL), 2);
	assert_int_equal(level(c, P, "bob", "app", NULL), 4);
	assert_int_equal(level(c, P, "bob", "other", NULL), 5);
	/* Removing the user's client default leaves the user's own quota. */
	rn_quota_cfg_set(c, &levels[1], P, 0, true);
	assert_int_equal(level(c, P, "alice", "other", NULL), 3);
	/* Each quota type resolves on its own. */
	assert_int_equal(level(c, RN_QUOTA_FETCH, "alice", "app", NULL), 0);
	struct rn_quota_entity cd = ent(RN_QP_NONE, NULL, RN_QP_DEFAULT, NULL);
	rn_quota_cfg_set(c, &cd, RN_QUOTA_FETCH, 7, false);
	assert_int_equal(level(c, RN_QUOTA_FETCH, "alice", "app", NULL), 8);
	assert_int_equal(level(c, P, "alice", "app", NULL), 1);
	rn_quota_cfg_free(c);
}

static void test_cfg_set_remove(void **state)
{
	(void)state;
	struct rn_quota_cfg *c = rn_quota_cfg_new();
	struct rn_quota_entity none = ent(RN_QP_NONE, NULL, RN_QP_NONE, NULL);
	assert_int_equal(rn_quota_cfg_set(c, &none, RN_QUOTA_PRODUCE, 1, false), RN_EINVALID);
	char name[8] = "app";
	struct rn_quota_entity e = ent(RN_QP_NONE, NULL, RN_QP_NAME, name);
	rn_quota_cfg_set(c, &e, RN_QUOTA_PRODUCE, 10, false);
	rn_quota_cfg_set(c, &e, RN_QUOTA_REQUEST, 50, false);
	strcpy(name, "zzz"); /* the configuration keeps its own copy */
	struct rn_quota_entity app = ent(RN_QP_NONE, NULL, RN_QP_NAME, "app");
	double v;
	assert_true(rn_quota_cfg_get(c, &app, RN_QUOTA_REQUEST, &v) && v == 50);
	assert_false(rn_quota_cfg_get(c, &app, RN_QUOTA_FETCH, &v));
	rn_quota_cfg_set(c, &app, RN_QUOTA_PRODUCE, 0, true);
	rn_quota_cfg_set(c, &app, RN_QUOTA_REQUEST, 0, true);
	assert_false(rn_quota_cfg_get(c, &app, RN_QUOTA_REQUEST, &v));
	assert_int_equal(level(c, RN_QUOTA_REQUEST, "u", "app", NULL), 0);
	assert_int_equal(rn_quota_key_parse("consumer_byte_rate", 18), RN_QUOTA_FETCH);
	assert_int_equal(rn_quota_key_parse("consumer_byte_rat", 17), -1);
	rn_quota_cfg_free(c);
}

static struct rn_quotas *with(enum rn_quota_type t, struct rn_quota_entity e, double v)
{
	struct rn_quotas *q = rn_quotas_new(11, 1000);
	struct rn_quota_cfg *c = rn_quota_cfg_new();
	rn_quota_cfg_set(c, &e, t, v, false);
	rn_quotas_swap_cfg(q, c);
	return q;
}

/* Level 3 (a user) shares one rate among the user's client-ids; level 8 (the client-id
 * default) gives each client-id its own. */
static void test_sensor_sharing(void **state)
{
	(void)state;
	struct rn_quotas *q =
	    with(RN_QUOTA_PRODUCE, ent(RN_QP_NAME, "alice", RN_QP_NONE, NULL), MB);
	rn_quotas_record(q, RN_QUOTA_PRODUCE, "alice", "a", 5 * MB, 0);
	rn_quotas_record(q, RN_QUOTA_PRODUCE, "alice", "b", 5 * MB, 0);
	assert_true(fabs(rn_quotas_rate(q, RN_QUOTA_PRODUCE, "alice", "c", 0) - MB) < 1);
	/* No quota applies to bob: nothing measured, never throttled. */
	assert_int_equal(rn_quotas_record(q, RN_QUOTA_PRODUCE, "bob", "a", 100 * MB, 0), 0);
	assert_true(rn_quotas_rate(q, RN_QUOTA_PRODUCE, "bob", "a", 0) < 0);
	assert_false(rn_quotas_enabled(q, RN_QUOTA_FETCH));
	rn_quotas_free(q);

	q = with(RN_QUOTA_PRODUCE, ent(RN_QP_NONE, NULL, RN_QP_DEFAULT, NULL), MB);
	rn_quotas_record(q, RN_QUOTA_PRODUCE, "alice", "a", 5 * MB, 0);
	rn_quotas_record(q, RN_QUOTA_PRODUCE, "bob", "a", 5 * MB, 0);
	rn_quotas_record(q, RN_QUOTA_PRODUCE, "alice", "b", 2 * MB, 0);
	assert_true(fabs(rn_quotas_rate(q, RN_QUOTA_PRODUCE, "carol", "a", 0) - MB) < 1);
	assert_true(fabs(rn_quotas_rate(q, RN_QUOTA_PRODUCE, "x", "b", 0) - 0.2 * MB) < 1);
	rn_quotas_free(q);
}

/* Kafka's Rate: the window is at least (num - 1) samples, so a new client may send ten
 * seconds' worth first; beyond that the throttle is (rate - quota) / quota * window. */
static void test_rate_and_throttle(void **state)
{
	(void)state;
	struct rn_quotas *q = with(RN_QUOTA_PRODUCE, ent(RN_QP_NONE, NULL, RN_QP_NAME, "c"), MB);
	const enum rn_quota_type P = RN_QUOTA_PRODUCE;
	assert_int_equal(rn_quotas_record(q, P, "u", "c", 10 * MB, 1000), 0); /* exactly at it */
	/* 11 MB over 10 s: 10% over, throttled 10% of the 10 s window. */
	assert_int_equal(rn_quotas_record(q, P, "u", "c", MB, 1000), 1000);
	assert_int_equal(rn_quotas_check(q, P, "u", "c", 1000), 1000);
	/* 500 ms later the window is 10.5 s: (11/10.5 - 1) * 10.5 s = 0.5 s. */
	assert_int_equal(rn_quotas_check(q, P, "u", "c", 1500), 500);
	/* Past the minimum the window is the time since the first sample: 11 MB in 11 s is fine. */
	assert_int_equal(rn_quotas_check(q, P, "u", "c", 12000), 0);
	/* Capped at num * size for byte rates. */
	assert_int_equal(rn_quotas_record(q, P, "u", "c", 1000 * MB, 12000), 11000);
	/* Samples older than num * size are forgotten. */
	assert_true(rn_quotas_rate(q, P, "u", "c", 12000 + 11000) < 1);
	rn_quotas_free(q);

	/* request_percentage: units of percent-seconds (1 s of one thread = 100), capped at one
	 * window. */
	q = with(RN_QUOTA_REQUEST, ent(RN_QP_NONE, NULL, RN_QP_DEFAULT, NULL), 50);
	assert_int_equal(rn_quotas_record(q, RN_QUOTA_REQUEST, "u", "c", 500, 0), 0);
	assert_int_equal(rn_quotas_record(q, RN_QUOTA_REQUEST, "u", "c", 50, 0), 1000);
	assert_int_equal(rn_quotas_record(q, RN_QUOTA_REQUEST, "u", "c", 5000, 0), 1000);
	rn_quotas_free(q);
}

/* A client that sends as fast as it may (each request after the previous throttle ends) gets
 * its quota in the long run, and no 10 s window much above it once the first burst is over. */
static void test_greedy_client(void **state)
{
	(void)state;
	struct rn_quotas *q = with(RN_QUOTA_PRODUCE, ent(RN_QP_NONE, NULL, RN_QP_NAME, "c"), MB);
	enum { SECS = 120 };
	static double per_sec[SECS];
	memset(per_sec, 0, sizeof(per_sec));
	double batch = 16384;
	int64_t t = 0;
	while (t < SECS * 1000) {
		int64_t ms = rn_quotas_record(q, RN_QUOTA_PRODUCE, "u", "c", batch, t);
		per_sec[t / 1000] += batch;
		t += ms > 0 ? ms : 1;
	}
	double total = 0, worst = 0;
	for (int i = 0; i < SECS; i++)
		total += per_sec[i];
	for (int s = 0; s + 10 <= SECS; s++) {
		double w = 0;
		for (int i = s; i < s + 10; i++)
			w += per_sec[i];
		if (w > worst)
			worst = w;
	}
	print_message("greedy: avg %.3f MB/s, worst 10 s %.3f MB/s\n", total / SECS / MB,
		      worst / 10 / MB);
	/* Kafka lets one extra window in as the first burst's sample expires. */
	assert_true(total / SECS < 1.15 * MB);
	assert_true(total / SECS > 0.9 * MB);
	assert_true(worst / 10 < 1.2 * MB);
	rn_quotas_free(q);
}

/* Sensors of client-ids that went quiet for an hour are dropped (memory stays bounded however
 * many client-ids clients make up). */
static void test_idle_sensors_expire(void **state)
{
	(void)state;
	struct rn_quotas *q = with(RN_QUOTA_FETCH, ent(RN_QP_NONE, NULL, RN_QP_DEFAULT, NULL), MB);
	char id[32];
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "client-%d", i);
		rn_quotas_record(q, RN_QUOTA_FETCH, "u", id, 10, 1000 + i);
	}
	assert_int_equal(rn_quotas_sensors(q), 100);
	rn_quotas_record(q, RN_QUOTA_FETCH, "u", "client-0", 10, 1800 * 1000); /* one stays busy */
	rn_quotas_record(q, RN_QUOTA_FETCH, "u", "late", 10, 3700 * 1000);
	assert_int_equal(rn_quotas_sensors(q), 2);
	assert_true(rn_quotas_rate(q, RN_QUOTA_FETCH, "u", "client-5", 3700 * 1000) < 0);
	rn_quotas_free(q);
}

static void test_store_encoding(void **state)
{
	(void)state;
	struct rn_quota_entity e = ent(RN_QP_NAME, "al/ice%", RN_QP_NAME, "<default>");
	char *k = rn_quota_store_key(&e);
	assert_string_equal(k, "users/al%2Fice%25/clients/%3Cdefault%3E");
	struct rn_quota_entity back;
	char *u, *c;
	assert_int_equal(rn_quota_store_parse_key(k, &back, &u, &c), 0);
	assert_int_equal(back.user_kind, RN_QP_NAME);
	assert_int_equal(back.client_kind, RN_QP_NAME);
	assert_string_equal(back.user, "al/ice%");
	assert_string_equal(back.client, "<default>");
	rn_free(u);
	rn_free(c);
	rn_free(k);

	e = ent(RN_QP_NONE, NULL, RN_QP_DEFAULT, NULL);
	k = rn_quota_store_key(&e);
	assert_string_equal(k, "clients/<default>");
	assert_int_equal(rn_quota_store_parse_key(k, &back, &u, &c), 0);
	assert_int_equal(back.user_kind, RN_QP_NONE);
	assert_int_equal(back.client_kind, RN_QP_DEFAULT);
	rn_free(k);
	static const char *const bad[] = {
	    "", "users/", "users/a/x/b", "clients/a/users/b", "users/%4", "users/%00", "groups/a"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rn_quota_store_parse_key(bad[i], &back, &u, &c), RN_EINVALID);

	bool has[RN_QUOTA_NTYPES] = {true, false, true};
	double val[RN_QUOTA_NTYPES] = {1048576, 0, 12.5};
	char *v = rn_quota_store_value(has, val);
	assert_string_equal(v, "producer_byte_rate=1048576;request_percentage=12.5");
	bool h2[RN_QUOTA_NTYPES];
	double v2[RN_QUOTA_NTYPES];
	assert_int_equal(rn_quota_store_parse_value(v, h2, v2), 0);
	assert_true(h2[0] && !h2[1] && h2[2] && v2[0] == 1048576 && v2[2] == 12.5);
	rn_free(v);
	assert_int_equal(rn_quota_store_parse_value("producer_byte_rate=x", h2, v2), RN_EINVALID);
	assert_int_equal(rn_quota_store_parse_value("future_key=3;consumer_byte_rate=9", h2, v2),
			 0);
	assert_true(!h2[0] && h2[1] && v2[1] == 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_precedence),     cmocka_unit_test(test_cfg_set_remove),
	    cmocka_unit_test(test_sensor_sharing), cmocka_unit_test(test_rate_and_throttle),
	    cmocka_unit_test(test_greedy_client),  cmocka_unit_test(test_idle_sensors_expire),
	    cmocka_unit_test(test_store_encoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
