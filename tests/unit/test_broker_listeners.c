/* The listener table from Kafka's keys: names, protocols from listener.security.protocol.map
 * (and its default), advertised addresses per listener, the inter-broker listener, the
 * listener.name.<l>.ssl.* overrides, and the one-line errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "broker/config.h"
#include "broker/listeners.h"

static struct rn_config *cfg_of(const char *const *kv)
{
	struct rn_config *c = rn_config_new();
	char err[256];
	for (; *kv; kv++)
		if (rn_config_set_kv(c, *kv, err, sizeof(err)) != 0)
			fail_msg("%s: %s", *kv, err);
	return c;
}

static int parse(const char *const *kv, bool strict, struct rn_listeners *ls, char *err)
{
	struct rn_config *c = cfg_of(kv);
	int rc = rn_listeners_parse(c, strict, ls, err, 256);
	rn_config_free(c);
	return rc;
}

static void test_default_single_listener(void **state)
{
	(void)state;
	const char *kv[] = {NULL};
	struct rn_listeners ls;
	char err[256];
	assert_int_equal(parse(kv, true, &ls, err), 0);
	assert_int_equal(ls.n, 1);
	assert_string_equal(ls.l[0].name, "PLAINTEXT");
	assert_int_equal(ls.l[0].proto, RN_SEC_PLAINTEXT);
	assert_string_equal(ls.l[0].host, "127.0.0.1");
	assert_int_equal(ls.l[0].port, 9092);
	assert_string_equal(ls.l[0].adv_host, "127.0.0.1");
	assert_int_equal(ls.l[0].adv_port, 9092);
	assert_int_equal(ls.inter, 0);
}

static void test_default_map_and_advertised(void **state)
{
	(void)state;
	const char *kv[] = {"listeners=PLAINTEXT://127.0.0.1:9092, SASL_PLAINTEXT://:9094,"
			    "ssl://[::1]:9093",
			    "ssl.keystore.location=/x.pem",
			    "advertised.listeners=SSL://broker.example:19093,SASL_PLAINTEXT://h:0",
			    NULL};
	struct rn_listeners ls;
	char err[256];
	assert_int_equal(parse(kv, true, &ls, err), 0);
	assert_int_equal(ls.n, 3);
	assert_int_equal(ls.l[1].proto, RN_SEC_SASL_PLAINTEXT);
	assert_string_equal(ls.l[1].host, "");
	assert_int_equal(ls.l[1].port, 9094);
	assert_string_equal(ls.l[1].adv_host, "h");
	assert_int_equal(ls.l[1].adv_port, 9094); /* port 0 advertised: the listener's */
	assert_string_equal(ls.l[2].name, "SSL"); /* names are upper-cased */
	assert_int_equal(ls.l[2].proto, RN_SEC_SSL);
	assert_string_equal(ls.l[2].host, "::1");
	assert_string_equal(ls.l[2].adv_host, "broker.example");
	assert_int_equal(ls.l[2].adv_port, 19093);
	/* Not in advertised.listeners: its own address. */
	assert_string_equal(ls.l[0].adv_host, "127.0.0.1");
	assert_int_equal(ls.inter, 0); /* PLAINTEXT, security.inter.broker.protocol's default */
}

static void test_custom_map_and_inter_broker(void **state)
{
	(void)state;
	const char *kv[] = {"listeners=CLIENT://0.0.0.0:9092,INTERNAL://127.0.0.1:9093",
			    "listener.security.protocol.map=CLIENT:SASL_SSL, internal : SSL",
			    "listener.name.client.ssl.keystore.location=/c.pem",
			    "listener.name.internal.ssl.keystore.certificate.chain=/i.pem",
			    "inter.broker.listener.name=internal",
			    NULL};
	struct rn_listeners ls;
	char err[256];
	assert_int_equal(parse(kv, true, &ls, err), 0);
	assert_int_equal(ls.l[0].proto, RN_SEC_SASL_SSL);
	assert_int_equal(ls.l[1].proto, RN_SEC_SSL);
	assert_int_equal(ls.inter, 1);
	assert_true(ls.l[0].adv_wildcard);
	assert_string_equal(ls.l[0].adv_host, "127.0.0.1");
	const char *kv2[] = {"listeners=A://127.0.0.1:1,SSL://127.0.0.1:2",
			     "listener.security.protocol.map=A:PLAINTEXT,SSL:SSL",
			     "ssl.keystore.location=/k.pem", "security.inter.broker.protocol=SSL",
			     NULL};
	assert_int_equal(parse(kv2, true, &ls, err), 0);
	assert_int_equal(ls.inter, 1);
}

static void test_ssl_overrides(void **state)
{
	(void)state;
	const char *kv[] = {"ssl.client.auth=required",
			    "ssl.truststore.location=/ca.pem",
			    "listener.name.internal.ssl.truststore.location=/internal-ca.pem",
			    "listener.name.sasl_ssl.ssl.keystore.location=/s.pem",
			    "ssl.enabled.protocols=TLSv1.3",
			    NULL};
	struct rn_config *c = cfg_of(kv);
	assert_string_equal(rn_listener_ssl_get(c, "INTERNAL", "ssl.truststore.location"),
			    "/internal-ca.pem");
	assert_string_equal(rn_listener_ssl_get(c, "SSL", "ssl.truststore.location"), "/ca.pem");
	assert_null(rn_listener_ssl_get(c, "SSL", "ssl.keystore.location"));
	struct rn_tls_settings st;
	rn_listener_tls_settings(c, "SSL", RN_SEC_SSL, &st);
	assert_true(st.server);
	assert_int_equal(st.client_auth, RN_TLS_AUTH_REQUIRED);
	assert_string_equal(st.enabled_protocols, "TLSv1.3");
	assert_true(st.ktls);
	/* SASL_SSL takes ssl.client.auth only with the listener prefix, as Kafka does. */
	rn_listener_tls_settings(c, "SASL_SSL", RN_SEC_SASL_SSL, &st);
	assert_int_equal(st.client_auth, RN_TLS_AUTH_NONE);
	assert_string_equal(st.keystore_location, "/s.pem");
	rn_config_free(c);
}

static void expect_error(const char *const *kv, bool strict, const char *want)
{
	struct rn_listeners ls;
	char err[256] = "";
	assert_int_equal(parse(kv, strict, &ls, err), -22);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_errors(void **state)
{
	(void)state;
	const char *a[] = {"listeners=FOO://127.0.0.1:1", NULL};
	expect_error(a, false, "no security protocol for listener FOO");
	const char *b[] = {"listeners=PLAINTEXT://127.0.0.1", NULL};
	expect_error(b, false, "cannot parse");
	const char *c[] = {"listeners=PLAINTEXT://127.0.0.1:99999", NULL};
	expect_error(c, false, "bad port");
	const char *d[] = {"listeners=PLAINTEXT://127.0.0.1:1,plaintext://127.0.0.1:2", NULL};
	expect_error(d, false, "more than once");
	const char *e[] = {"listeners=PLAINTEXT://127.0.0.1:1", "advertised.listeners=SSL://h:1",
			   NULL};
	expect_error(e, false, "not one of the listeners");
	const char *f[] = {"listeners=SSL://127.0.0.1:1", NULL};
	expect_error(f, false, "needs ssl.keystore.location");
	const char *g[] = {"listeners=A://127.0.0.1:1", "listener.security.protocol.map=A:TLS",
			   NULL};
	expect_error(g, false, "unknown security protocol");
	const char *h[] = {"listeners=PLAINTEXT://127.0.0.1:1", "inter.broker.listener.name=X",
			   NULL};
	expect_error(h, true, "inter.broker.listener.name: no listener named X");
	const char *i[] = {"listeners=PLAINTEXT://127.0.0.1:1", "inter.broker.listener.name=X",
			   "security.inter.broker.protocol=SSL", NULL};
	expect_error(i, false, "only one of");
	/* Not strict (one broker): a missing inter-broker listener falls back to the first. */
	struct rn_listeners ls;
	char err[256];
	assert_int_equal(parse(h, false, &ls, err), 0);
	assert_int_equal(ls.inter, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_single_listener),
	    cmocka_unit_test(test_default_map_and_advertised),
	    cmocka_unit_test(test_custom_map_and_inter_broker),
	    cmocka_unit_test(test_ssl_overrides),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
