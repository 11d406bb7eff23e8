/*
 * rn_tls_ctx: contexts from each of Kafka's PEM key forms, the failures a person rotating
 * certificates makes (wrong password, key of another certificate, a half-written file), and
 * live rotation through the watcher (a Kubernetes-style ..data symlink swap). Certificates are
 * made here with the openssl CLI; handshakes run in memory over BIO pairs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/tls.h"

#include "cert_dir.h"

static char *slurp(const char *name)
{
	FILE *f = fopen(path(name), "rb");
	assert_non_null(f);
	static char buf[16384];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

/* name.key (EC P-256, unencrypted) and name.crt signed by ca, with the given serial. */
static void leaf(const char *name, int serial)
{
	sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout %s.key "
	   "-out %s.csr -subj /CN=%s/O=Runnel && openssl x509 -req -in %s.csr -CA ca.crt -CAkey "
	   "ca.key -set_serial %d -days 2 -out %s.crt && cat %s.crt %s.key > %s.pem",
	   name, name, name, name, serial, name, name, name, name);
}

static int setup_all(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rn_tls_ctx_XXXXXX");
	assert_non_null(mkdtemp(dir));
	sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
	   "ca.key -out ca.crt -subj /CN=TestCA -days 2");
	leaf("a", 101);
	leaf("b", 102);
	leaf("client", 201);
	sh("printf 'subjectAltName=DNS:x,DNS:y\\n' > xy.ext && printf 'subjectAltName=DNS:x\\n' > "
	   "x.ext && printf 'subjectAltName=DNS:y,DNS:z,DNS:x\\n' > xyz.ext");
	for (int i = 0; i < 3; i++) {
		static const char *ext[] = {"xy", "x", "xyz"};
		char cmd[1024];
		snprintf(
		    cmd, sizeof(cmd),
		    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		    "-keyout san%d.key -out san%d.csr -subj /CN=s/O=Runnel && openssl x509 -req "
		    "-in san%d.csr -CA ca.crt -CAkey ca.key -set_serial %d -days 2 -extfile "
		    "%s.ext -out san%d.crt && cat san%d.crt san%d.key > san%d.pem",
		    i, i, i, 301 + i, ext[i], i, i, i, i);
		sh("%s", cmd);
	}
	sh("openssl pkcs8 -topk8 -in a.key -out a.enc.key -passout pass:s3cret -v2 aes-256-cbc");
	sh("cat a.crt a.enc.key > a.enc.pem");
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static long serial_of(struct rn_tls_ctx *c)
{
	SSL_CTX *ctx = rn_tls_ctx_acquire(c);
	assert_non_null(ctx);
	X509 *x = SSL_CTX_get0_certificate(ctx);
	long s = x ? ASN1_INTEGER_get(X509_get0_serialNumber(x)) : -1;
	SSL_CTX_free(ctx);
	return s;
}

static struct rn_tls_settings server(void)
{
	return (struct rn_tls_settings){.server = true, .keystore_type = "PEM", .ktls = false};
}

static void test_keystore_location(void **state)
{
	(void)state;
	struct rn_tls_settings st = server();
	st.keystore_location = path("a.pem");
	struct rn_tls_ctx *c;
	assert_int_equal(rn_tls_ctx_new(&st, "t1", &c), 0);
	assert_int_equal(serial_of(c), 101);
	assert_int_equal(rn_tls_ctx_reloads(c), 0);
	rn_tls_ctx_free(c);
}

static void test_chain_and_key_paths_and_inline(void **state)
{
	(void)state;
	struct rn_tls_settings st = server();
	st.keystore_chain = path("b.crt");
	st.keystore_key = path("b.key");
	struct rn_tls_ctx *c;
	assert_int_equal(rn_tls_ctx_new(&st, "t2", &c), 0);
	assert_int_equal(serial_of(c), 102);
	rn_tls_ctx_free(c);

	char *crt = slurp("b.crt"), *key = slurp("b.key");
	st.keystore_chain = crt;
	st.keystore_key = key;
	assert_int_equal(rn_tls_ctx_new(&st, "t2i", &c), 0);
	assert_int_equal(serial_of(c), 102);
	rn_tls_ctx_free(c);
	free(crt);
	free(key);
}

static void test_encrypted_key(void **state)
{
	(void)state;
	struct rn_tls_settings st = server();
	st.keystore_location = path("a.enc.pem");
	struct rn_tls_ctx *c = NULL;
	assert_int_equal(rn_tls_ctx_new(&st, "t3", &c), -EINVAL); /* no password */
	assert_null(c);
	st.key_password = "wrong";
	assert_int_equal(rn_tls_ctx_new(&st, "t3", &c), -EINVAL);
	st.key_password = "s3cret";
	assert_int_equal(rn_tls_ctx_new(&st, "t3", &c), 0);
	assert_int_equal(serial_of(c), 101);
	rn_tls_ctx_free(c);
	/* The split form with an encrypted key. */
	st.keystore_location = NULL;
	st.keystore_chain = path("a.crt");
	st.keystore_key = path("a.enc.key");
	assert_int_equal(rn_tls_ctx_new(&st, "t3s", &c), 0);
	rn_tls_ctx_free(c);
}

static void test_refusals(void **state)
{
	(void)state;
	struct rn_tls_ctx *c = NULL;
	struct rn_tls_settings st = server();
	st.keystore_chain = path("a.crt");
	st.keystore_key = path("b.key"); /* another certificate's key */
	assert_int_equal(rn_tls_ctx_new(&st, "mismatch", &c), -EINVAL);
	st = server();
	assert_int_equal(rn_tls_ctx_new(&st, "nokeystore", &c), -EINVAL);
	st.keystore_location = path("a.pem");
	st.keystore_type = "JKS";
	assert_int_equal(rn_tls_ctx_new(&st, "jks", &c), -EINVAL);
	st.keystore_type = "PEM";
	st.truststore_type = "PKCS12";
	assert_int_equal(rn_tls_ctx_new(&st, "p12", &c), -EINVAL);
	st.truststore_type = NULL;
	st.keystore_key = path("a.key"); /* both forms */
	assert_int_equal(rn_tls_ctx_new(&st, "both", &c), -EINVAL);
	st.keystore_key = NULL;
	st.enabled_protocols = "SSLv3";
	assert_int_equal(rn_tls_ctx_new(&st, "proto", &c), -EINVAL);
	st.enabled_protocols = "TLSv1.3";
	st.cipher_suites = "TLS_NOT_A_SUITE";
	assert_int_equal(rn_tls_ctx_new(&st, "cipher", &c), -EINVAL);
	st.cipher_suites = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"; /* 1.2 only, 1.3 only */
	assert_int_equal(rn_tls_ctx_new(&st, "cipher13", &c), -EINVAL);
	st.cipher_suites = NULL;
	st.keystore_location = path("missing.pem");
	assert_int_equal(rn_tls_ctx_new(&st, "missing", &c), -EINVAL);
	st.keystore_location = path("ca.key"); /* a key without a certificate */
	assert_int_equal(rn_tls_ctx_new(&st, "nocert", &c), -EINVAL);
	assert_null(c);
	char err[512];
	st.keystore_location = path("a.pem");
	assert_int_equal(rn_tls_ctx_check_settings(&st, "ok", err, sizeof(err)), 0);
	st.keystore_type = "JKS";
	assert_int_equal(rn_tls_ctx_check_settings(&st, "jks", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ssl.keystore.type"));
}

/* Runs a handshake between a server SSL_CTX and a client SSL_CTX over a BIO pair. Returns 1
 * when both ends finished, 0 when one of them failed. *proto gets the version. */
static int handshake(SSL_CTX *sctx, SSL_CTX *cctx, int *proto, SSL_SESSION **sess_inout,
		     bool *reused)
{
	SSL *s = SSL_new(sctx), *cl = SSL_new(cctx);
	BIO *sb, *cb;
	assert_int_equal(BIO_new_bio_pair(&sb, 0, &cb, 0), 1);
	SSL_set_bio(s, sb, sb);
	SSL_set_bio(cl, cb, cb);
	SSL_set_accept_state(s);
	SSL_set_connect_state(cl);
	if (sess_inout && *sess_inout)
		SSL_set_session(cl, *sess_inout);
	int sdone = 0, cdone = 0, ok = 0;
	for (int i = 0; i < 100; i++) {
		if (!cdone) {
			int r = SSL_do_handshake(cl);
			if (r == 1)
				cdone = 1;
			else if (SSL_get_error(cl, r) != SSL_ERROR_WANT_READ)
				break;
		}
		if (!sdone) {
			int r = SSL_do_handshake(s);
			if (r == 1)
				sdone = 1;
			else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
				break;
		}
		if (sdone && cdone) {
			ok = 1;
			break;
		}
	}
	if (ok) {
		/* TLS 1.3 tickets arrive after the handshake: a read on the client takes them. */
		char byte = 'x', in;
		SSL_write(s, &byte, 1);
		SSL_read(cl, &in, 1);
		if (proto)
			*proto = SSL_version(cl);
		if (reused)
			*reused = SSL_session_reused(cl);
		if (sess_inout) {
			SSL_SESSION_free(*sess_inout);
			*sess_inout = SSL_get1_session(cl);
		}
		/* A connection freed without close_notify counts as failed and its session is
		 * dropped from the cache. */
		SSL_shutdown(cl);
		SSL_shutdown(s);
	}
	ERR_clear_error();
	SSL_free(s);
	SSL_free(cl);
	return ok;
}

static struct rn_tls_ctx *client_ctx(const char *ks)
{
	struct rn_tls_settings st = {.server = false, .truststore_location = path("ca.crt")};
	st.keystore_location = ks;
	struct rn_tls_ctx *c;
	assert_int_equal(rn_tls_ctx_new(&st, "client", &c), 0);
	return c;
}

static void test_client_auth_and_protocols(void **state)
{
	(void)state;
	struct rn_tls_settings st = server();
	st.keystore_location = path("a.pem");
	st.truststore_location = path("ca.crt");
	st.client_auth = RN_TLS_AUTH_REQUIRED;
	struct rn_tls_ctx *srv, *anon = client_ctx(NULL), *mtls = client_ctx(path("client.pem"));
	assert_int_equal(rn_tls_ctx_new(&st, "mtls", &srv), 0);
	SSL_CTX *s = rn_tls_ctx_acquire(srv), *ca = rn_tls_ctx_acquire(anon),
		*cm = rn_tls_ctx_acquire(mtls);
	int proto = 0;
	assert_int_equal(handshake(s, ca, NULL, NULL, NULL), 0); /* required, none sent */
	assert_int_equal(handshake(s, cm, &proto, NULL, NULL), 1);
	assert_int_equal(proto, TLS1_3_VERSION);
	SSL_CTX_free(s);

	st.client_auth = RN_TLS_AUTH_REQUESTED;
	st.enabled_protocols = "TLSv1.2";
	st.cipher_suites = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384";
	assert_int_equal(rn_tls_ctx_update(srv, &st), 0);
	assert_int_equal(rn_tls_ctx_reloads(srv), 1);
	s = rn_tls_ctx_acquire(srv);
	assert_int_equal(handshake(s, ca, &proto, NULL, NULL), 1); /* requested: optional */
	assert_int_equal(proto, TLS1_2_VERSION);
	SSL_CTX_free(s);

	/* IANA TLS 1.3 names only: TLS 1.3 only. */
	st.enabled_protocols = NULL;
	st.cipher_suites = "TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256";
	assert_int_equal(rn_tls_ctx_update(srv, &st), 0);
	s = rn_tls_ctx_acquire(srv);
	assert_int_equal(handshake(s, cm, &proto, NULL, NULL), 1);
	assert_int_equal(proto, TLS1_3_VERSION);
	SSL_CTX_free(s);

	/* A failed update keeps what was there. */
	st.keystore_location = path("missing.pem");
	assert_int_equal(rn_tls_ctx_update(srv, &st), -EINVAL);
	assert_int_equal(serial_of(srv), 101);
	SSL_CTX_free(ca);
	SSL_CTX_free(cm);
	rn_tls_ctx_free(srv);
	rn_tls_ctx_free(anon);
	rn_tls_ctx_free(mtls);
}

static void test_session_resumption(void **state)
{
	(void)state;
	struct rn_tls_settings st = server();
	st.keystore_location = path("a.pem");
	struct rn_tls_ctx *srv, *cli = client_ctx(NULL);
	assert_int_equal(rn_tls_ctx_new(&st, "resume", &srv), 0);
	SSL_CTX *s = rn_tls_ctx_acquire(srv), *c = rn_tls_ctx_acquire(cli);
	SSL_SESSION *sess = NULL;
	bool reused = true;
	assert_int_equal(handshake(s, c, NULL, &sess, &reused), 1);
	assert_false(reused);
	assert_non_null(sess);
	assert_int_equal(handshake(s, c, NULL, &sess, &reused), 1);
	assert_true(reused);
	SSL_SESSION_free(sess);
	SSL_CTX_free(s);
	/* TLS 1.2: the server's session cache (with tickets too). */
	st.enabled_protocols = "TLSv1.2";
	assert_int_equal(rn_tls_ctx_update(srv, &st), 0);
	s = rn_tls_ctx_acquire(srv);
	sess = NULL;
	int proto = 0;
	assert_int_equal(handshake(s, c, &proto, &sess, &reused), 1);
	assert_int_equal(proto, TLS1_2_VERSION);
	assert_false(reused);
	assert_int_equal(handshake(s, c, NULL, &sess, &reused), 1);
	assert_true(reused);
	SSL_SESSION_free(sess);
	SSL_CTX_free(s);
	SSL_CTX_free(c);
	rn_tls_ctx_free(srv);
	rn_tls_ctx_free(cli);
}

static void test_reload_and_broken_file(void **state)
{
	(void)state;
	sh("cp a.pem live.pem");
	struct rn_tls_settings st = server();
	st.keystore_location = path("live.pem");
	struct rn_tls_ctx *c;
	assert_int_equal(rn_tls_ctx_new(&st, "reload", &c), 0);
	SSL_CTX *held = rn_tls_ctx_acquire(c); /* an established connection's */
	sh("cp b.pem live.tmp && mv live.tmp live.pem");
	assert_int_equal(rn_tls_ctx_reload(c), 0);
	assert_int_equal(serial_of(c), 102);
	assert_true(rn_tls_ctx_reloads(c) >= 1);
	/* The connection's SSL_CTX is still whole. */
	assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(SSL_CTX_get0_certificate(held))),
			 101);
	SSL_CTX_free(held);

	uint64_t before = rn_tls_ctx_reloads(c);
	sh("head -c 200 a.pem > live.pem"); /* half written */
	assert_int_equal(rn_tls_ctx_reload(c), -EINVAL);
	assert_int_equal(serial_of(c), 102);
	sh("cat a.crt b.key > live.pem"); /* key of another certificate */
	assert_int_equal(rn_tls_ctx_reload(c), -EINVAL);
	assert_int_equal(serial_of(c), 102);
	assert_true(rn_tls_ctx_reloads(c) <= before + 1); /* the watcher may have seen one */
	rn_tls_ctx_free(c);
}

static bool wait_serial(struct rn_tls_ctx *c, long want, int secs)
{
	struct timespec d = {0, 50 * 1000 * 1000};
	for (int i = 0; i < secs * 20; i++) {
		if (serial_of(c) == want)
			return true;
		nanosleep(&d, NULL);
	}
	return false;
}

/* The layout kubelet makes for a secret volume, and its atomic update. */
static void test_symlink_swap_watched(void **state)
{
	(void)state;
	sh("mkdir -p k8s/..2026_1 && cp a.crt k8s/..2026_1/tls.crt && cp a.key "
	   "k8s/..2026_1/tls.key && cp ca.crt k8s/..2026_1/ca.crt && ln -s ..2026_1 k8s/..data && "
	   "ln -s ..data/tls.crt k8s/tls.crt && ln -s ..data/tls.key k8s/tls.key && "
	   "ln -s ..data/ca.crt k8s/ca.crt");
	struct rn_tls_settings st = server();
	st.keystore_chain = path("k8s/tls.crt");
	st.keystore_key = path("k8s/tls.key");
	st.truststore_location = path("k8s/ca.crt");
	struct rn_tls_ctx *c;
	assert_int_equal(rn_tls_ctx_new(&st, "k8s", &c), 0);
	assert_int_equal(serial_of(c), 101);
	sh("mkdir k8s/..2026_2 && cp b.crt k8s/..2026_2/tls.crt && cp b.key k8s/..2026_2/tls.key "
	   "&& cp ca.crt k8s/..2026_2/ca.crt && ln -s ..2026_2 k8s/..data_tmp && "
	   "mv -T k8s/..data_tmp k8s/..data && rm -rf k8s/..2026_1");
	assert_true(wait_serial(c, 102, 30));
	/* And again, into a directory the watcher learned only after the first swap. */
	sh("mkdir k8s/..2026_3 && cp a.crt k8s/..2026_3/tls.crt && cp a.key k8s/..2026_3/tls.key "
	   "&& cp ca.crt k8s/..2026_3/ca.crt && ln -s ..2026_3 k8s/..data_tmp && "
	   "mv -T k8s/..data_tmp k8s/..data && rm -rf k8s/..2026_2");
	assert_true(wait_serial(c, 101, 30));
	rn_tls_ctx_free(c);
}

/* A file rewritten in place (no rename), broken first: the old certificate stays until the
 * file is whole again. */
static void test_inplace_rewrite_watched(void **state)
{
	(void)state;
	sh("mkdir -p inplace && cp a.pem inplace/server.pem");
	struct rn_tls_settings st = server();
	st.keystore_location = path("inplace/server.pem");
	struct rn_tls_ctx *c, *other;
	assert_int_equal(rn_tls_ctx_new(&st, "inplace", &c), 0);
	st.keystore_location = path("b.pem");
	assert_int_equal(rn_tls_ctx_new(&st, "other", &other), 0); /* shares the watcher */
	sh("echo garbage > inplace/server.pem");
	struct timespec d = {1, 0};
	nanosleep(&d, NULL); /* not an assertion: gives the watcher a chance to try */
	assert_int_equal(serial_of(c), 101);
	sh("cat b.crt b.key > inplace/server.pem");
	assert_true(wait_serial(c, 102, 30));
	assert_int_equal(serial_of(other), 102);
	rn_tls_ctx_free(other);
	rn_tls_ctx_free(c);
}

static void count_named(struct rn_tls_ctx *c, const char *what, void *arg)
{
	(void)c;
	if (strcmp(what, "listener DYN") == 0)
		(*(int *)arg)++;
}

/* AlterConfigs' listener.name.<l>.ssl.* layer: over the static settings, removable. */
static void test_overrides(void **state)
{
	(void)state;
	struct rn_tls_settings st = server();
	st.keystore_location = path("a.pem");
	struct rn_tls_ctx *c;
	assert_int_equal(rn_tls_ctx_new(&st, "listener DYN", &c), 0);
	int found = 0;
	rn_tls_ctx_foreach(count_named, &found);
	assert_int_equal(found, 1);
	char err[512];
	const char *k1[] = {"ssl.keystore.certificate.chain", "ssl.keystore.key"};
	const char *v1[] = {path("b.crt"), path("b.key")};
	assert_int_equal(
	    rn_tls_ctx_set_overrides(c, k1, v1, 2, RN_TLS_VALIDATE_ONLY, err, sizeof(err)), 0);
	assert_int_equal(serial_of(c), 101); /* validate only */
	assert_int_equal(rn_tls_ctx_set_overrides(c, k1, v1, 2, 0, err, sizeof(err)), 0);
	assert_int_equal(serial_of(c), 102);
	assert_int_equal(rn_tls_ctx_reloads(c), 1);
	/* The static settings change underneath: the override still wins. */
	st.keystore_location = path("client.pem");
	assert_int_equal(rn_tls_ctx_update(c, &st), 0);
	assert_int_equal(serial_of(c), 102);
	const char *k2[] = {"ssl.keystore.location", "ssl.key.password"};
	const char *v2[] = {path("a.enc.pem"), "wrong"};
	assert_int_equal(rn_tls_ctx_set_overrides(c, k2, v2, 2, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ssl.key.password"));
	assert_int_equal(serial_of(c), 102);
	v2[1] = "s3cret";
	assert_int_equal(rn_tls_ctx_set_overrides(c, k2, v2, 2, 0, err, sizeof(err)), 0);
	assert_int_equal(serial_of(c), 101);
	const char *k3[] = {"ssl.cipher.suites"};
	const char *v3[] = {"TLS_AES_128_GCM_SHA256"};
	assert_int_equal(rn_tls_ctx_set_overrides(c, k3, v3, 1, 0, err, sizeof(err)), -EINVAL);
	assert_false(rn_tls_key_reconfigurable("ssl.cipher.suites"));
	assert_true(rn_tls_key_reconfigurable("ssl.truststore.certificates"));
	/* No overrides: the static settings again. */
	assert_int_equal(rn_tls_ctx_set_overrides(c, NULL, NULL, 0, 0, err, sizeof(err)), 0);
	assert_int_equal(serial_of(c), 201);
	rn_tls_ctx_free(c);
	found = 0;
	rn_tls_ctx_foreach(count_named, &found);
	assert_int_equal(found, 0);
}

/* Kafka's identity rule for a dynamic keystore change: same subject, no SAN dropped. */
static void test_identity_checks(void **state)
{
	(void)state;
	struct rn_tls_settings st = server();
	st.keystore_location = path("san0.pem");
	struct rn_tls_ctx *c;
	assert_int_equal(rn_tls_ctx_new(&st, "identity", &c), 0);
	char err[512];
	const char *k[] = {"ssl.keystore.location"};
	const char *v[] = {path("san2.pem")};
	unsigned keep = RN_TLS_KEEP_DN | RN_TLS_KEEP_SAN;
	assert_int_equal(rn_tls_ctx_set_overrides(c, k, v, 1, keep, err, sizeof(err)), 0);
	assert_int_equal(serial_of(c), 303); /* more names: fine */
	v[0] = path("san1.pem");
	assert_int_equal(rn_tls_ctx_set_overrides(c, k, v, 1, keep, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "SubjectAltNames"));
	assert_int_equal(rn_tls_ctx_set_overrides(c, k, v, 1, RN_TLS_KEEP_DN, err, sizeof(err)), 0);
	assert_int_equal(serial_of(c), 302);
	v[0] = path("a.pem");
	assert_int_equal(rn_tls_ctx_set_overrides(c, k, v, 1, keep, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "DistinguishedName"));
	assert_int_equal(serial_of(c), 302);
	assert_int_equal(rn_tls_ctx_set_overrides(c, k, v, 1, 0, err, sizeof(err)), 0);
	assert_int_equal(serial_of(c), 101);
	rn_tls_ctx_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keystore_location),
	    cmocka_unit_test(test_chain_and_key_paths_and_inline),
	    cmocka_unit_test(test_encrypted_key),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_client_auth_and_protocols),
	    cmocka_unit_test(test_session_resumption),
	    cmocka_unit_test(test_reload_and_broken_file),
	    cmocka_unit_test(test_overrides),
	    cmocka_unit_test(test_identity_checks),
	    cmocka_unit_test(test_symlink_swap_watched),
	    cmocka_unit_test(test_inplace_rewrite_watched),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
