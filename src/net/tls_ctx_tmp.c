/*
 * TEMPORARY (tls slice): a minimal rn_tls_ctx so the listeners and the TLS transport can be
 * built and tested before the tlsctx slice's net/tls_ctx*.c lands. Delete this file when
 * merging tlsctx: that one is the real implementation (all key forms, rotation, IANA cipher
 * names, clear errors). This one: PEM files or inline PEM, an encrypted key's password,
 * ssl.client.auth, ssl.enabled.protocols, ssl.cipher.suites as OpenSSL names, no reload.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/log.h"
#include "net/tls.h"

struct rn_tls_ctx {
	pthread_mutex_t lock;
	SSL_CTX *ctx;
	struct rn_tls_settings st; /* not kept: strings are borrowed */
};

static bool inline_pem(const char *v)
{
	return v && strstr(v, "-----BEGIN") != NULL;
}

static int ossl_fail(const char *what, const char *key, const char *val)
{
	char why[256];
	unsigned long e = ERR_get_error();
	ERR_error_string_n(e, why, sizeof(why));
	ERR_clear_error();
	rn_error("%s: %s '%s': %s", what, key, val ? val : "", why);
	return -EINVAL;
}

static int pw_cb(char *buf, int size, int rw, void *u)
{
	(void)rw;
	const char *pw = u;
	if (!pw)
		return 0;
	int n = (int)strlen(pw);
	if (n > size)
		n = size;
	memcpy(buf, pw, (size_t)n);
	return n;
}

static int load_chain(SSL_CTX *ctx, const char *v, const char *what, const char *key)
{
	if (!inline_pem(v))
		return SSL_CTX_use_certificate_chain_file(ctx, v) == 1 ? 0
								       : ossl_fail(what, key, v);
	BIO *b = BIO_new_mem_buf(v, -1);
	X509 *x = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL);
	int rc = x && SSL_CTX_use_certificate(ctx, x) == 1 ? 0 : -1;
	X509_free(x);
	while (rc == 0 && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (SSL_CTX_add1_chain_cert(ctx, x) != 1)
			rc = -1;
		X509_free(x);
	}
	ERR_clear_error(); /* the end of the PEM text */
	BIO_free(b);
	return rc == 0 ? 0 : ossl_fail(what, key, "(inline PEM)");
}

static int load_key(SSL_CTX *ctx, const char *v, const char *pw, const char *what, const char *key)
{
	BIO *b = inline_pem(v) ? BIO_new_mem_buf(v, -1) : BIO_new_file(v, "r");
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, pw_cb, (void *)pw) : NULL;
	BIO_free(b);
	int rc = k && SSL_CTX_use_PrivateKey(ctx, k) == 1 && SSL_CTX_check_private_key(ctx) == 1
		     ? 0
		     : ossl_fail(what, key, inline_pem(v) ? "(inline PEM)" : v);
	EVP_PKEY_free(k);
	return rc;
}

static int set_protocols(SSL_CTX *ctx, const char *v, const char *what)
{
	if (!v || !*v)
		return 0;
	int lo = 0, hi = 0;
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *sv, *tok = strtok_r(buf, ", ", &sv); tok; tok = strtok_r(NULL, ", ", &sv)) {
		int p = !strcasecmp(tok, "TLSv1.2")   ? TLS1_2_VERSION
			: !strcasecmp(tok, "TLSv1.3") ? TLS1_3_VERSION
						      : 0;
		if (!p) {
			rn_error("%s: ssl.enabled.protocols: '%s' is not TLSv1.2 or TLSv1.3", what,
				 tok);
			return -EINVAL;
		}
		lo = !lo || p < lo ? p : lo;
		hi = p > hi ? p : hi;
	}
	SSL_CTX_set_min_proto_version(ctx, lo);
	SSL_CTX_set_max_proto_version(ctx, hi);
	return 0;
}

static int build(const struct rn_tls_settings *st, const char *what, SSL_CTX **out)
{
	SSL_CTX *ctx = SSL_CTX_new(st->server ? TLS_server_method() : TLS_client_method());
	if (!ctx)
		return ossl_fail(what, "SSL_CTX_new", "");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	int rc = 0;
	const char *chain = st->keystore_chain ? st->keystore_chain : st->keystore_location;
	const char *key = st->keystore_key ? st->keystore_key : st->keystore_location;
	if (chain)
		rc = load_chain(ctx, chain, what, "ssl.keystore.certificate.chain");
	if (!rc && key)
		rc = load_key(ctx, key, st->key_password, what, "ssl.keystore.key");
	if (!rc && st->server && !chain) {
		rn_error("%s: no ssl.keystore.location or ssl.keystore.certificate.chain", what);
		rc = -EINVAL;
	}
	if (!rc && st->truststore_location &&
	    SSL_CTX_load_verify_locations(ctx, st->truststore_location, NULL) != 1)
		rc = ossl_fail(what, "ssl.truststore.location", st->truststore_location);
	if (!rc && st->truststore_certs) {
		BIO *b = BIO_new_mem_buf(st->truststore_certs, -1);
		X509_STORE *store = SSL_CTX_get_cert_store(ctx);
		for (X509 *x; (x = PEM_read_bio_X509(b, NULL, NULL, NULL)); X509_free(x))
			X509_STORE_add_cert(store, x);
		ERR_clear_error();
		BIO_free(b);
	}
	if (!rc)
		rc = set_protocols(ctx, st->enabled_protocols, what);
	if (!rc && st->cipher_suites && *st->cipher_suites) {
		/* OpenSSL names only; TLS 1.3 suites (TLS_*) go to the ciphersuites list. */
		bool v13 = strncmp(st->cipher_suites, "TLS_", 4) == 0;
		int ok = v13 ? SSL_CTX_set_ciphersuites(ctx, st->cipher_suites)
			     : SSL_CTX_set_cipher_list(ctx, st->cipher_suites);
		if (ok != 1)
			rc = ossl_fail(what, "ssl.cipher.suites", st->cipher_suites);
	}
	if (rc) {
		SSL_CTX_free(ctx);
		return rc;
	}
	if (st->server) {
		int mode = st->client_auth == RN_TLS_AUTH_REQUIRED
			       ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
			   : st->client_auth == RN_TLS_AUTH_REQUESTED ? SSL_VERIFY_PEER
								      : SSL_VERIFY_NONE;
		SSL_CTX_set_verify(ctx, mode, NULL);
		static const unsigned char sid[] = "runnel";
		SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	if (st->ktls)
		SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
	*out = ctx;
	return 0;
}

int rn_tls_ctx_new(const struct rn_tls_settings *st, const char *what, struct rn_tls_ctx **out)
{
	SSL_CTX *ctx;
	int rc = build(st, what, &ctx);
	if (rc)
		return rc;
	struct rn_tls_ctx *c = rn_calloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->ctx = ctx;
	*out = c;
	return 0;
}

void rn_tls_ctx_free(struct rn_tls_ctx *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->ctx);
	pthread_mutex_destroy(&c->lock);
	rn_free(c);
}

SSL_CTX *rn_tls_ctx_acquire(struct rn_tls_ctx *c)
{
	pthread_mutex_lock(&c->lock);
	SSL_CTX *ctx = c->ctx;
	SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&c->lock);
	return ctx;
}

int rn_tls_ctx_update(struct rn_tls_ctx *c, const struct rn_tls_settings *st)
{
	SSL_CTX *ctx;
	if (build(st, "update", &ctx))
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	SSL_CTX *old = c->ctx;
	c->ctx = ctx;
	pthread_mutex_unlock(&c->lock);
	SSL_CTX_free(old);
	return 0;
}

int rn_tls_ctx_reload(struct rn_tls_ctx *c)
{
	(void)c;
	return 0;
}

uint64_t rn_tls_ctx_reloads(const struct rn_tls_ctx *c)
{
	(void)c;
	return 0;
}
