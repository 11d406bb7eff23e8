/* AlterConfigs' listener.name.<l>.ssl.* keys reach the listener's TLS context: only the keys
 * Kafka reconfigures live, validated on every listener before any changes, and a key left out
 * of the stored set falls back to the static setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "broker/config.h"
#include "broker/config_tls.h"
#include "net/tls.h"

static char dir[128];

static void sh(const char *cmd)
{
	char full[1024];
	snprintf(full, sizeof(full), "cd %s && (%s) >/dev/null 2>&1", dir, cmd);
	assert_int_equal(system(full), 0);
}

static char *path(const char *name, char *buf)
{
	snprintf(buf, 256, "%s/%s", dir, name);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rn_cfg_tls_XXXXXX");
	assert_non_null(mkdtemp(dir));
	sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
	   "a.key -out a.crt -subj /CN=srv -days 2 -set_serial 11 && cat a.crt a.key > a.pem && "
	   "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
	   "b.key -out b.crt -subj /CN=srv -days 2 -set_serial 12 && cat b.crt b.key > b.pem && "
	   "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
	   "o.key -out o.crt -subj /CN=other -days 2 -set_serial 13 && cat o.crt o.key > o.pem");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static long serial_of(struct rn_tls_ctx *c)
{
	SSL_CTX *ctx = rn_tls_ctx_acquire(c);
	long s = ASN1_INTEGER_get(X509_get0_serialNumber(SSL_CTX_get0_certificate(ctx)));
	SSL_CTX_free(ctx);
	return s;
}

static void test_keys(void **state)
{
	(void)state;
	assert_true(rn__cfg_tls_key("listener.name.ssl.ssl.keystore.location"));
	assert_true(rn__cfg_tls_key("listener.name.internal.ssl.truststore.certificates"));
	assert_false(rn__cfg_tls_key("listener.name.ssl.ssl.cipher.suites"));
	assert_false(rn__cfg_tls_key("listener.name..ssl.keystore.location"));
	assert_false(rn__cfg_tls_key("ssl.keystore.location"));
	assert_true(rn__cfg_tls_unprefixed("ssl.keystore.location"));
	assert_false(rn__cfg_tls_unprefixed("log.retention.ms"));
}

static void test_apply(void **state)
{
	(void)state;
	char p1[256], p2[256], p3[256];
	struct rn_tls_settings st = {.server = true, .keystore_location = path("a.pem", p1)};
	struct rn_tls_ctx *ssl, *other;
	assert_int_equal(rn_tls_ctx_new(&st, "listener SSL", &ssl), 0);
	assert_int_equal(rn_tls_ctx_new(&st, "listener INTERNAL", &other), 0);
	char msg[700];
	struct rn_cfg_kv kv[] = {
	    {"listener.name.ssl.ssl.keystore.location", path("b.pem", p2)},
	    {"log.retention.ms", "5"},
	};
	const char *res = "ConfigResource(type=BROKER, name='0')";
	assert_int_equal(rn__cfg_tls_apply(NULL, kv, 2, true, res, msg, sizeof(msg)), RN_KERR_NONE);
	assert_int_equal(serial_of(ssl), 11);
	assert_int_equal(rn__cfg_tls_apply(NULL, kv, 2, false, res, msg, sizeof(msg)),
			 RN_KERR_NONE);
	assert_int_equal(serial_of(ssl), 12);
	assert_int_equal(serial_of(other), 11);

	/* One bad listener: refused, and the good one of the same request is not installed. */
	struct rn_cfg_kv bad[] = {
	    {"listener.name.ssl.ssl.keystore.location", path("a.pem", p2)},
	    {"listener.name.internal.ssl.keystore.location", path("missing.pem", p3)},
	};
	assert_int_equal(rn__cfg_tls_apply(NULL, bad, 2, false, res, msg, sizeof(msg)),
			 RN_KERR_INVALID_REQUEST);
	assert_non_null(strstr(msg, "missing.pem"));
	assert_non_null(strstr(msg, "INTERNAL"));
	assert_int_equal(serial_of(ssl), 12);
	assert_int_equal(serial_of(other), 11);

	/* The key deleted from the stored set: the static keystore again. */
	assert_int_equal(rn__cfg_tls_apply(NULL, kv + 1, 1, false, res, msg, sizeof(msg)),
			 RN_KERR_NONE);
	assert_int_equal(serial_of(ssl), 11);
	rn_tls_ctx_free(ssl);
	rn_tls_ctx_free(other);
}

/* A keystore with another subject: refused unless the listener's ssl.allow.dn.changes. */
static void test_dn_changes(void **state)
{
	(void)state;
	char p1[256], p2[256];
	struct rn_tls_settings st = {.server = true, .keystore_location = path("a.pem", p1)};
	struct rn_tls_ctx *c;
	assert_int_equal(rn_tls_ctx_new(&st, "listener SSL", &c), 0);
	struct rn_cfg_kv kv[] = {{"listener.name.ssl.ssl.keystore.location", path("o.pem", p2)}};
	char msg[700], err[256];
	struct rn_config *cfg = rn_config_new();
	assert_int_equal(rn__cfg_tls_apply(cfg, kv, 1, false, "r", msg, sizeof(msg)),
			 RN_KERR_INVALID_REQUEST);
	assert_non_null(strstr(msg, "DistinguishedName"));
	assert_int_equal(serial_of(c), 11);
	assert_int_equal(
	    rn_config_set(cfg, "listener.name.ssl.ssl.allow.dn.changes", "true", err, sizeof(err)),
	    0);
	assert_int_equal(rn__cfg_tls_apply(cfg, kv, 1, false, "r", msg, sizeof(msg)), RN_KERR_NONE);
	assert_int_equal(serial_of(c), 13);
	rn_config_free(cfg);
	rn_tls_ctx_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_apply),
	    cmocka_unit_test(test_dn_changes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
