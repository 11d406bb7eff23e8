/* The CLI's salted password (with auth/scram.h's HMAC and H) against RFC 7677's SCRAM-SHA-256
 * example, Kafka-style salts, and the translation of Kafka tools' Java client properties for
 * librdkafka. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "cli/cmdconfig.h"
#include "cli/scram.h"

static void test_rfc7677_proof(void **state)
{
	(void)state;
	const char *bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
	const char *server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
				   "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
	const char *without = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
	uint8_t salt[32], salted[64], ckey[64], stored[64], sig[64], proof[64], skey[64], ssig[64];
	int n = EVP_DecodeBlock(salt, (const unsigned char *)"W22ZaJ0SNY7soEsUEjb6gQ==", 24);
	assert_int_equal(n, 18); /* 16 bytes + 2 of padding */
	assert_int_equal(rn__scram_salted(RN_SCRAM_SHA_256, "pencil", salt, 16, 4096, salted), 0);
	char auth[512];
	snprintf(auth, sizeof(auth), "%s,%s,%s", bare, server_first, without);
	rn_scram_hmac(RN_SCRAM_SHA_256, salted, 32, "Client Key", 10, ckey);
	rn_scram_hash(RN_SCRAM_SHA_256, ckey, 32, stored);
	rn_scram_hmac(RN_SCRAM_SHA_256, stored, 32, auth, strlen(auth), sig);
	for (int i = 0; i < 32; i++)
		proof[i] = ckey[i] ^ sig[i];
	char b64[100];
	EVP_EncodeBlock((unsigned char *)b64, proof, 32);
	assert_string_equal(b64, "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
	rn_scram_hmac(RN_SCRAM_SHA_256, salted, 32, "Server Key", 10, skey);
	rn_scram_hmac(RN_SCRAM_SHA_256, skey, 32, auth, strlen(auth), ssig);
	EVP_EncodeBlock((unsigned char *)b64, ssig, 32);
	assert_string_equal(b64, "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

static void test_mechanisms_and_salts(void **state)
{
	(void)state;
	assert_int_equal(rn__scram_mech("scram-sha-512"), RN_SCRAM_SHA_512);
	assert_int_equal(rn__scram_mech("SCRAM-SHA-1"), RN_SCRAM_UNKNOWN);
	assert_int_equal(rn_scram_hash_len(RN_SCRAM_SHA_512), 64);
	assert_int_equal(
	    rn__scram_salted(RN_SCRAM_UNKNOWN, "x", (const uint8_t *)"s", 1, 1, (uint8_t[64]){0}),
	    -1);
	char a[64], b[64];
	int na = rn__scram_salt(a, sizeof(a)), nb = rn__scram_salt(b, sizeof(b));
	/* 130 bits in base 36: at most 26 digits, almost always more than 20. */
	assert_true(na > 10 && na <= 26 && nb > 10 && nb <= 26);
	assert_int_equal(strspn(a, "0123456789abcdefghijklmnopqrstuvwxyz"), (size_t)na);
	assert_string_not_equal(a, b);
}

struct out {
	char buf[1024];
	char why[256];
};

static int emit(void *arg, const char *key, const char *val)
{
	struct out *o = arg;
	size_t n = strlen(o->buf);
	snprintf(o->buf + n, sizeof(o->buf) - n, "%s=%s;", key, val);
	return 0;
}

static const char *tr(const char *key, const char *val, struct out *o, int want_rc)
{
	o->buf[0] = o->why[0] = '\0';
	assert_int_equal(rn__cli_java_prop(key, val, emit, o, o->why, sizeof(o->why)), want_rc);
	return want_rc ? o->why : o->buf;
}

static void test_java_properties(void **state)
{
	(void)state;
	struct out o;
	assert_string_equal(tr("sasl.jaas.config",
			       "org.apache.kafka.common.security.scram.ScramLoginModule required "
			       "username=\"alice\" password=\"p a\\\"ss\";",
			       &o, 0),
			    "sasl.username=alice;sasl.password=p a\"ss;");
	assert_string_equal(tr("sasl.mechanism", "SCRAM-SHA-512", &o, 0),
			    "sasl.mechanisms=SCRAM-SHA-512;");
	assert_string_equal(tr("ssl.truststore.location", "/s/ca.pem", &o, 0),
			    "ssl.ca.location=/s/ca.pem;");
	assert_string_equal(tr("ssl.keystore.location", "/s/me.pem", &o, 0),
			    "ssl.certificate.location=/s/me.pem;ssl.key.location=/s/me.pem;");
	assert_string_equal(tr("ssl.keystore.location", "/s/me.p12", &o, 0),
			    "ssl.keystore.location=/s/me.p12;");
	assert_string_equal(tr("ssl.truststore.type", "PEM", &o, 0), "");
	assert_string_equal(tr("ssl.endpoint.identification.algorithm", "", &o, 0),
			    "ssl.endpoint.identification.algorithm=none;");
	assert_string_equal(tr("client.id", "x=y", &o, 0), "client.id=x=y;");
	assert_non_null(strstr(tr("ssl.truststore.location", "/s/t.jks", &o, -1), "JKS"));
	assert_non_null(strstr(tr("ssl.keystore.type", "JKS", &o, -1), "PEM"));
	assert_non_null(
	    strstr(tr("sasl.jaas.config", "x required username=\"a\";", &o, -1), "password"));
	/* "username" must be a word of its own, not the tail of another option's name. */
	assert_non_null(
	    strstr(tr("sasl.jaas.config", "x required myusername=\"a\" password=\"b\";", &o, -1),
		   "username"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc7677_proof),
	    cmocka_unit_test(test_mechanisms_and_salts),
	    cmocka_unit_test(test_java_properties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
