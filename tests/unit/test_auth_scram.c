/* SCRAM and the SASL server: RFC 7677's SCRAM-SHA-256 example on both sides, the client against
 * the server for every mechanism, unknown users, malformed messages, base64 and the stored form. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/sasl.h"
#include "auth/sasl_client.h"
#include "auth/scram.h"
#include "auth/scram_msg.h"
#include "auth/scram_server.h"
#include "core/err.h"
#include "meta/store.h"

/* RFC 7677 section 3. */
#define RFC_CNONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_SALT   "W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC_FIRST  "n,,n=user,r=" RFC_CNONCE
#define RFC_SFIRST "r=" RFC_CNONCE RFC_SNONCE ",s=" RFC_SALT ",i=4096"
#define RFC_FINAL                                                                                  \
	"c=biws,r=" RFC_CNONCE RFC_SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SFINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static char g_dir[64];
static struct rn_meta *g_meta;

static int setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/rn_scram_XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	return rn_meta_open(g_dir, 1, &g_meta);
}

static int teardown(void **state)
{
	(void)state;
	rn_meta_close(g_meta);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static bool rfc_lookup(void *arg, enum rn_scram_mech m, const char *user, struct rn_scram_cred *out)
{
	(void)arg;
	uint8_t salt[32];
	size_t n = 0;
	assert_int_equal(rn_b64_decode(RFC_SALT, strlen(RFC_SALT), salt, sizeof(salt), &n), 0);
	assert_int_equal(rn_scram_cred_from_password(m, "pencil", 6, salt, n, 4096, out), 0);
	return strcmp(user, "user") == 0;
}

static void test_rfc7677_server(void **state)
{
	(void)state;
	struct rn_scram_server s;
	char out[RN_SCRAM_SERVER_OUT_MAX];
	size_t n = 0;
	const char *why = NULL;
	rn_scram_server_init(&s, RN_SCRAM_SHA_256);
	assert_int_equal(rn_scram_server_first(&s, RFC_FIRST, strlen(RFC_FIRST), rfc_lookup, NULL,
					       RFC_SNONCE, out, sizeof(out), &n, &why),
			 0);
	assert_int_equal(n, strlen(RFC_SFIRST));
	assert_memory_equal(out, RFC_SFIRST, n);
	assert_int_equal(
	    rn_scram_server_final(&s, RFC_FINAL, strlen(RFC_FINAL), out, sizeof(out), &n, &why), 0);
	assert_int_equal(n, strlen(RFC_SFINAL));
	assert_memory_equal(out, RFC_SFINAL, n);
	rn_scram_server_reset(&s);

	/* One changed proof byte fails; so does a replayed final on a fresh exchange. */
	char bad[] = RFC_FINAL;
	bad[strlen(bad) - 3] ^= 1;
	rn_scram_server_init(&s, RN_SCRAM_SHA_256);
	assert_int_equal(rn_scram_server_first(&s, RFC_FIRST, strlen(RFC_FIRST), rfc_lookup, NULL,
					       RFC_SNONCE, out, sizeof(out), &n, &why),
			 0);
	assert_int_equal(rn_scram_server_final(&s, bad, strlen(bad), out, sizeof(out), &n, &why),
			 -1);
	rn_scram_server_reset(&s);
	rn_scram_server_init(&s, RN_SCRAM_SHA_256);
	assert_int_equal(rn_scram_server_first(&s, RFC_FIRST, strlen(RFC_FIRST), rfc_lookup, NULL,
					       NULL, out, sizeof(out), &n, &why),
			 0);
	assert_int_equal(
	    rn_scram_server_final(&s, RFC_FINAL, strlen(RFC_FINAL), out, sizeof(out), &n, &why),
	    -1);
	rn_scram_server_reset(&s);
}

static void test_unknown_user_fails_even_with_matching_proof(void **state)
{
	(void)state;
	/* rfc_lookup fills the right credential for "other" but says it is not real. */
	const char *first = "n,,n=other,r=" RFC_CNONCE;
	struct rn_scram_server s;
	char out[RN_SCRAM_SERVER_OUT_MAX];
	size_t n = 0;
	const char *why = NULL;
	rn_scram_server_init(&s, RN_SCRAM_SHA_256);
	assert_int_equal(rn_scram_server_first(&s, first, strlen(first), rfc_lookup, NULL,
					       RFC_SNONCE, out, sizeof(out), &n, &why),
			 0);
	assert_false(s.known);
	rn_scram_server_reset(&s);
}

struct rfc_client {
	int step;
};

static int rfc_xfer(void *arg, const uint8_t *tok, size_t len, uint8_t *resp, size_t cap,
		    size_t *rlen)
{
	struct rfc_client *c = arg;
	const char *want = c->step == 0 ? RFC_FIRST : RFC_FINAL;
	const char *give = c->step == 0 ? RFC_SFIRST : RFC_SFINAL;
	assert_int_equal(len, strlen(want));
	assert_memory_equal(tok, want, len);
	assert_true(strlen(give) <= cap);
	memcpy(resp, give, strlen(give));
	*rlen = strlen(give);
	c->step++;
	return 0;
}

static void test_rfc7677_client(void **state)
{
	(void)state;
	struct rfc_client c = {0};
	char err[128];
	assert_int_equal(rn_sasl_client_auth("SCRAM-SHA-256", "user", "pencil", RFC_CNONCE,
					     rfc_xfer, &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.step, 2);
}

/* The client against the broker's server over a session, as SaslAuthenticate would carry. */
struct loop {
	struct rn_sasl_server *srv;
	struct rn_session *s;
	enum rn_sasl_result last;
};

static int srv_xfer(void *arg, const uint8_t *tok, size_t len, uint8_t *resp, size_t cap,
		    size_t *rlen)
{
	struct loop *l = arg;
	char msg[256];
	uint8_t out[1024];
	size_t n = 0;
	l->last = rn_sasl_step(l->srv, l->s, tok, len, out, sizeof(out), &n, msg, sizeof(msg));
	if (l->last == RN_SASL_FAIL)
		return -EACCES;
	assert_true(n <= cap);
	memcpy(resp, out, n);
	*rlen = n;
	return 0;
}

static int login(struct rn_sasl_server *srv, struct rn_session *s, const char *mech,
		 const char *user, const char *pw)
{
	struct loop l = {srv, s, RN_SASL_FAIL};
	char err[128];
	int rc = rn_sasl_begin(srv, s, mech, 1);
	if (rc < 0)
		return rc;
	rc = rn_sasl_client_auth(mech, user, pw, NULL, srv_xfer, &l, err, sizeof(err));
	if (rc == 0)
		assert_int_equal(l.last, RN_SASL_DONE);
	return rc;
}

static void set_password(struct rn_sasl_server *srv, enum rn_scram_mech m, const char *user,
			 const char *pw)
{
	struct rn_scram_cred c;
	const uint8_t salt[32] = {1, 2, 3};
	assert_int_equal(rn_scram_cred_from_password(m, pw, strlen(pw), salt, 32, 4096, &c), 0);
	assert_int_equal(rn_sasl_scram_set(srv, m, user, &c), 0);
}

static void test_client_against_server(void **state)
{
	(void)state;
	struct rn_sasl_server *srv = rn_sasl_server_new(g_meta);
	char err[128];
	assert_int_equal(rn_sasl_server_listener(
			     srv, 0, NULL,
			     "org.apache.kafka.common.security.plain.PlainLoginModule "
			     "required username=\"a\" password=\"b\" user_alice=\"al\\\"ice\";",
			     err, sizeof(err)),
			 0);
	set_password(srv, RN_SCRAM_SHA_256, "bob", "bob-pw");
	set_password(srv, RN_SCRAM_SHA_512, "bob", "bob-pw-512");
	set_password(srv, RN_SCRAM_SHA_512, "we,ird=name", "x");

	struct {
		const char *mech, *user, *pw;
		int ok;
	} cases[] = {
	    {"PLAIN", "alice", "al\"ice", 1},
	    {"PLAIN", "alice", "alice", 0},
	    {"PLAIN", "bob", "bob-pw", 1}, /* against the stored SCRAM-SHA-256 one */
	    {"PLAIN", "nobody", "bob-pw", 0},
	    {"SCRAM-SHA-256", "bob", "bob-pw", 1},
	    {"SCRAM-SHA-256", "bob", "bob-pw-512", 0},
	    {"SCRAM-SHA-512", "bob", "bob-pw-512", 1},
	    {"SCRAM-SHA-512", "we,ird=name", "x", 1},
	    {"SCRAM-SHA-512", "nobody", "x", 0},
	    {"SCRAM-SHA-256", "alice", "al\"ice", 0}, /* JAAS users are PLAIN only */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rn_session *s =
		    rn_session_new(0, "SASL", RN_SEC_SASL_PLAINTEXT, "1.2.3.4:5");
		assert_false(s->authenticated);
		int rc = login(srv, s, cases[i].mech, cases[i].user, cases[i].pw);
		if (cases[i].ok) {
			assert_int_equal(rc, 0);
			assert_true(s->authenticated);
			char want[300];
			snprintf(want, sizeof(want), "User:%s", cases[i].user);
			assert_string_equal(s->principal, want);
			assert_string_equal(s->sasl_mechanism, cases[i].mech);
		} else {
			assert_true(rc < 0);
			assert_false(s->authenticated);
			assert_string_equal(s->principal, RN_PRINCIPAL_ANONYMOUS);
		}
		rn_session_free(s);
	}

	/* Deleting takes effect for the next login; re-auth may not change the principal. */
	struct rn_session *s = rn_session_new(0, "SASL", RN_SEC_SASL_PLAINTEXT, "1.2.3.4:5");
	assert_int_equal(login(srv, s, "SCRAM-SHA-256", "bob", "bob-pw"), 0);
	assert_true(login(srv, s, "PLAIN", "alice", "al\"ice") < 0);
	rn_session_free(s);
	assert_int_equal(rn_sasl_scram_set(srv, RN_SCRAM_SHA_256, "bob", NULL), 0);
	assert_int_equal(rn_sasl_scram_set(srv, RN_SCRAM_SHA_256, "bob", NULL), RN_ENOTFOUND);
	s = rn_session_new(0, "SASL", RN_SEC_SASL_PLAINTEXT, "1.2.3.4:5");
	assert_true(login(srv, s, "SCRAM-SHA-256", "bob", "bob-pw") < 0);
	rn_session_free(s);

	/* Mechanism set, and state errors. */
	assert_int_equal(
	    rn_sasl_server_listener(srv, 1, "GSSAPI,SCRAM-SHA-512", NULL, err, sizeof(err)), 0);
	assert_int_equal(rn_sasl_server_listener(srv, 2, "GSSAPI", NULL, err, sizeof(err)),
			 -EINVAL);
	s = rn_session_new(1, "SASL", RN_SEC_SASL_PLAINTEXT, "1.2.3.4:5");
	assert_int_equal(rn_sasl_begin(srv, s, "PLAIN", 1), RN_EUNSUPPORTED);
	assert_int_equal(rn_sasl_begin(srv, s, "SCRAM-SHA-512", 0), 0);
	assert_true(rn_sasl_raw_pending(s));
	assert_int_equal(rn_sasl_begin(srv, s, "SCRAM-SHA-512", 1), RN_EINVALID);
	rn_session_free(s);
	rn_sasl_server_free(srv);
}

static void test_fake_credentials_are_stable(void **state)
{
	(void)state;
	struct rn_sasl_server *srv = rn_sasl_server_new(g_meta);
	struct rn_scram_cred a, b, c;
	assert_int_equal(rn_sasl_scram_get(srv, RN_SCRAM_SHA_256, "ghost", &a), RN_ENOTFOUND);
	assert_int_equal(rn_sasl_scram_get(srv, RN_SCRAM_SHA_256, "ghost", &b), RN_ENOTFOUND);
	assert_int_equal(rn_sasl_scram_get(srv, RN_SCRAM_SHA_256, "ghost2", &c), RN_ENOTFOUND);
	assert_int_equal(a.salt_len, 32);
	assert_int_equal(a.iterations, RN_SCRAM_MIN_ITERATIONS);
	assert_memory_equal(a.salt, b.salt, 32);
	assert_memory_not_equal(a.salt, c.salt, 32);
	/* A second server over the same store shares the secret, so the same answer. */
	struct rn_sasl_server *srv2 = rn_sasl_server_new(g_meta);
	assert_int_equal(rn_sasl_scram_get(srv2, RN_SCRAM_SHA_256, "ghost", &b), RN_ENOTFOUND);
	assert_memory_equal(a.salt, b.salt, 32);
	rn_sasl_server_free(srv2);
	rn_sasl_server_free(srv);
}

static void test_messages_malformed(void **state)
{
	(void)state;
	struct rn_scram_client_first cf;
	struct rn_scram_client_final fin;
	const char *bad_first[] = {"",
				   "n,,",
				   "p=tls-unique,,n=a,r=b",
				   "n,,r=x,n=a",
				   "n,,n=,r=x",
				   "n,,n=a=2X,r=x",
				   "n,,n=a,r=x,",
				   "n,,n=a,r=\x01",
				   "m=1,n=a,r=x",
				   "n,a=b,n=a,r=x"};
	for (size_t i = 0; i < sizeof(bad_first) / sizeof(bad_first[0]); i++) {
		int rc = rn_scram_parse_client_first(bad_first[i], strlen(bad_first[i]), &cf);
		/* "n,a=b," has an authzid that differs: the parser accepts, the server refuses */
		if (i == 9)
			assert_int_equal(rc, 0);
		else
			assert_int_equal(rc, -1);
	}
	assert_int_equal(rn_scram_parse_client_first("y,,n=a=2Cb=3D,r=xyz,tokenauth=true", 34, &cf),
			 0);
	assert_string_equal(cf.user, "a,b=");
	assert_true(cf.tokenauth);
	const char *bad_final[] = {"c=biws,r=x", "c=biws,r=x,p=", "c=biws,r=x,p=abc",
				   "r=x,c=biws,p=AAAA", "c=biws,r=x,p=AAAA,e=1"};
	for (size_t i = 0; i < sizeof(bad_final) / sizeof(bad_final[0]); i++)
		assert_int_equal(
		    rn_scram_parse_client_final(bad_final[i], strlen(bad_final[i]), &fin), -1);
	assert_int_equal(rn_scram_parse_client_final("c=biws,r=x,x=1,p=AAAA", 21, &fin), 0);
	assert_int_equal(fin.without_proof_len, 14);
}

static void test_b64_and_stored_form(void **state)
{
	(void)state;
	uint8_t out[16];
	size_t n = 0;
	char enc[32];
	assert_int_equal(rn_b64_encode((const uint8_t *)"ab", 2, enc), 4);
	assert_string_equal(enc, "YWI=");
	assert_int_equal(rn_b64_decode("YWI=", 4, out, sizeof(out), &n), 0);
	assert_int_equal(n, 2);
	const char *bad[] = {"YWI", "Y=I=", "=WI=", "YW I", "YWI=YWI=", "YQ=a"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rn_b64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n), -1);
	assert_int_equal(rn_b64_decode("YWJj", 4, out, 2, &n), -1); /* too long for cap */

	struct rn_scram_cred c, d;
	const uint8_t salt[5] = {9, 8, 7, 6, 5};
	assert_int_equal(rn_scram_cred_from_password(RN_SCRAM_SHA_512, "pw", 2, salt, 5, 5000, &c),
			 0);
	char text[RN_SCRAM_CRED_TEXT_MAX];
	assert_true(rn_scram_cred_format(&c, text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "iterations=5000"));
	assert_null(strstr(text, "pw"));
	assert_int_equal(rn_scram_cred_parse(text, RN_SCRAM_SHA_512, &d), 0);
	assert_int_equal(d.iterations, 5000);
	assert_int_equal(d.salt_len, 5);
	assert_memory_equal(c.stored_key, d.stored_key, 64);
	assert_memory_equal(c.server_key, d.server_key, 64);
	assert_int_equal(rn_scram_cred_parse(text, RN_SCRAM_SHA_256, &d), RN_EINVALID);
	assert_int_equal(rn_scram_cred_parse("salt=AAAA,iterations=1", RN_SCRAM_SHA_256, &d),
			 RN_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc7677_server),
	    cmocka_unit_test(test_unknown_user_fails_even_with_matching_proof),
	    cmocka_unit_test(test_rfc7677_client),
	    cmocka_unit_test(test_client_against_server),
	    cmocka_unit_test(test_fake_credentials_are_stable),
	    cmocka_unit_test(test_messages_malformed),
	    cmocka_unit_test(test_b64_and_stored_form),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
