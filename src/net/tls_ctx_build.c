/*
 * One SSL_CTX from Kafka's ssl.* settings (PEM stores only). Every failure names the config
 * key, the file when there is one, and OpenSSL's reason, because the person reading the log
 * line is rotating a certificate and needs to know which of the files is wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/alloc.h"
#include "core/io.h"
#include "core/log.h"
#include "net/tls_ctx_int.h"

bool rn__tls_is_inline(const char *v)
{
	return v && strstr(v, "-----BEGIN ") != NULL;
}

static bool set(const char *v)
{
	return v && v[0];
}

/* OpenSSL's first (root-cause) queued error, then the queue is cleared. */
static const char *ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();
	if (e == 0)
		snprintf(buf, len, "no OpenSSL error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* Reads a path into a memory BIO (the caller frees it). Refuses files over
 * RN__TLS_MAX_FILE_BYTES before reading them. */
static BIO *read_file(const char *key, const char *path, char *err, size_t errlen)
{
	int fd = rn_io_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s %s: %s", key, path, strerror(-fd));
		return NULL;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > RN__TLS_MAX_FILE_BYTES) {
		snprintf(err, errlen, "%s %s: not a regular file of at most %u bytes", key, path,
			 RN__TLS_MAX_FILE_BYTES);
		rn_io_close(fd);
		return NULL;
	}
	size_t n = (size_t)sb.st_size;
	char *data = rn_malloc(n + 1);
	ssize_t got = rn_io_pread(fd, data, n, 0);
	rn_io_close(fd);
	if (got < 0) {
		snprintf(err, errlen, "%s %s: %s", key, path, strerror((int)-got));
		rn_free(data);
		return NULL;
	}
	BIO *b = BIO_new(BIO_s_mem());
	if (!b || BIO_write(b, data, (int)got) != (int)got) {
		snprintf(err, errlen, "%s %s: out of memory", key, path);
		BIO_free(b);
		b = NULL;
	}
	OPENSSL_cleanse(data, n); /* may hold a private key */
	rn_free(data);
	return b;
}

/* A BIO over the value of key: inline PEM text (borrowed for the BIO's life) or a path. */
static BIO *open_source(const char *key, const char *v, const char **where, char *err,
			size_t errlen)
{
	if (rn__tls_is_inline(v)) {
		*where = "(inline PEM)";
		BIO *b = BIO_new_mem_buf(v, -1);
		if (!b)
			snprintf(err, errlen, "%s: out of memory", key);
		return b;
	}
	*where = v;
	return read_file(key, v, err, errlen);
}

/* Every CERTIFICATE block of b in order (other blocks, such as a private key, are skipped). */
static STACK_OF(X509) * read_certs(BIO *b)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;
	while (sk && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	/* The loop ends on "no start line" at the end of the data: not an error. */
	ERR_clear_error();
	return sk;
}

struct pw {
	const char *password;
	bool asked;
};

/* Never prompts: an encrypted key without ssl.key.password fails instead of reading a tty. */
static int pw_cb(char *buf, int size, int rwflag, void *u)
{
	(void)rwflag;
	struct pw *p = u;
	p->asked = true;
	if (!p->password)
		return -1;
	size_t n = strlen(p->password);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, p->password, n);
	return (int)n;
}

static int load_keystore(SSL_CTX *ctx, const struct rn_tls_settings *st, char *err, size_t errlen)
{
	const char *ckey = "ssl.keystore.location", *cval = st->keystore_location;
	const char *kkey = ckey, *kval = cval;
	if (!set(cval)) {
		ckey = "ssl.keystore.certificate.chain", cval = st->keystore_chain;
		kkey = "ssl.keystore.key", kval = st->keystore_key;
	}
	const char *cwhere, *kwhere;
	char why[256];
	int rc = -EINVAL;
	BIO *cb = open_source(ckey, cval, &cwhere, err, errlen);
	if (!cb)
		return -EINVAL;
	STACK_OF(X509) *chain = read_certs(cb);
	BIO_free(cb);
	BIO *kb = NULL;
	EVP_PKEY *pkey = NULL;
	if (!chain || sk_X509_num(chain) == 0) {
		snprintf(err, errlen, "%s %s: no CERTIFICATE in the PEM", ckey, cwhere);
		goto out;
	}
	kb = open_source(kkey, kval, &kwhere, err, errlen);
	if (!kb)
		goto out;
	struct pw pw = {set(st->key_password) ? st->key_password : NULL, false};
	pkey = PEM_read_bio_PrivateKey(kb, NULL, pw_cb, &pw);
	if (!pkey) {
		if (pw.asked && !pw.password)
			snprintf(err, errlen,
				 "%s %s: the private key is encrypted and ssl.key.password "
				 "is not set",
				 kkey, kwhere);
		else if (pw.asked)
			snprintf(err, errlen,
				 "%s %s: cannot decrypt the private key (wrong "
				 "ssl.key.password?): %s",
				 kkey, kwhere, ossl_reason(why, sizeof(why)));
		else
			snprintf(err, errlen, "%s %s: no usable PRIVATE KEY: %s", kkey, kwhere,
				 ossl_reason(why, sizeof(why)));
		goto out;
	}
	X509 *leaf = sk_X509_value(chain, 0);
	if (SSL_CTX_use_certificate(ctx, leaf) != 1) {
		snprintf(err, errlen, "%s %s: %s", ckey, cwhere, ossl_reason(why, sizeof(why)));
		goto out;
	}
	for (int i = 1; i < sk_X509_num(chain); i++) {
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i)) != 1) {
			snprintf(err, errlen, "%s %s: %s", ckey, cwhere,
				 ossl_reason(why, sizeof(why)));
			goto out;
		}
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		if (kkey == ckey)
			snprintf(err, errlen,
				 "%s %s: the private key does not match the certificate: "
				 "%s",
				 kkey, kwhere, ossl_reason(why, sizeof(why)));
		else
			snprintf(err, errlen, "%s %s does not match the certificate of %s %s: %s",
				 kkey, kwhere, ckey, cwhere, ossl_reason(why, sizeof(why)));
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0)
		rn_warn("tls: the certificate of %s %s has expired", ckey, cwhere);
	rc = 0;
out:
	EVP_PKEY_free(pkey);
	BIO_free(kb);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/* The trusted CAs go into the verify store, and (server side) their subjects into the list a
 * CertificateRequest names, as Java does with its truststore's issuers. */
static int load_truststore(SSL_CTX *ctx, const struct rn_tls_settings *st, char *err, size_t errlen)
{
	const char *key = "ssl.truststore.location", *v = st->truststore_location;
	if (!set(v)) {
		key = "ssl.truststore.certificates", v = st->truststore_certs;
	}
	if (!set(v)) {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1)
			ERR_clear_error();
		return 0;
	}
	const char *where;
	BIO *b = open_source(key, v, &where, err, errlen);
	if (!b)
		return -EINVAL;
	STACK_OF(X509) *certs = read_certs(b);
	BIO_free(b);
	int rc = -EINVAL;
	STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
	if (!certs || sk_X509_num(certs) == 0 || !names) {
		snprintf(err, errlen, "%s %s: no CERTIFICATE in the PEM", key, where);
		goto out;
	}
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	char why[256];
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		if (X509_STORE_add_cert(store, x) != 1) {
			snprintf(err, errlen, "%s %s: %s", key, where,
				 ossl_reason(why, sizeof(why)));
			goto out;
		}
		X509_NAME *nm = X509_NAME_dup(X509_get_subject_name(x));
		if (nm)
			sk_X509_NAME_push(names, nm);
	}
	if (st->server) {
		SSL_CTX_set_client_CA_list(ctx, names);
		names = NULL;
	}
	rc = 0;
out:
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

/* ssl.enabled.protocols: the lowest and highest named version (OpenSSL has a range, not a
 * set). TLSv1 and TLSv1.1 are ignored with a warning, as modern JDKs disable them. */
static int parse_protocols(const char *list, int *min, int *max, char *err, size_t errlen)
{
	*min = TLS1_2_VERSION, *max = TLS1_3_VERSION;
	if (!set(list))
		return 0;
	int lo = 0, hi = 0;
	const char *p = list;
	while (*p) {
		p += strspn(p, " \t,");
		size_t n = strcspn(p, ",");
		size_t t = n;
		while (t > 0 && (p[t - 1] == ' ' || p[t - 1] == '\t'))
			t--;
		if (t == 0)
			break;
		int v = 0;
		if (t == 7 && strncasecmp(p, "TLSv1.2", 7) == 0)
			v = TLS1_2_VERSION;
		else if (t == 7 && strncasecmp(p, "TLSv1.3", 7) == 0)
			v = TLS1_3_VERSION;
		else if ((t == 5 && strncasecmp(p, "TLSv1", 5) == 0) ||
			 (t == 7 && strncasecmp(p, "TLSv1.1", 7) == 0))
			rn_warn("tls: ssl.enabled.protocols: %.*s is not supported, ignored",
				(int)t, p);
		else {
			snprintf(err, errlen,
				 "ssl.enabled.protocols: unknown protocol '%.*s' (TLSv1.2, "
				 "TLSv1.3)",
				 (int)t, p);
			return -EINVAL;
		}
		if (v && (!lo || v < lo))
			lo = v;
		if (v && v > hi)
			hi = v;
		p += n;
	}
	if (!lo) {
		snprintf(err, errlen, "ssl.enabled.protocols '%s': neither TLSv1.2 nor TLSv1.3",
			 list);
		return -EINVAL;
	}
	*min = lo, *max = hi;
	return 0;
}

static int set_ciphers(SSL_CTX *ctx, const struct rn_tls_settings *st, int *min, int max, char *err,
		       size_t errlen)
{
	if (!set(st->cipher_suites))
		return 0;
	char l12[2048], l13[512], why[256];
	if (rn__tls_ciphers(st->cipher_suites, l12, sizeof(l12), l13, sizeof(l13), err, errlen))
		return -EINVAL;
	/* A list without TLS 1.2 suites means TLS 1.3 only, and the other way round, as JSSE
	 * offers only the versions some enabled suite can use. */
	if (!l12[0])
		*min = TLS1_3_VERSION;
	if (l12[0] && SSL_CTX_set_cipher_list(ctx, l12) != 1) {
		snprintf(err, errlen, "ssl.cipher.suites: %s", ossl_reason(why, sizeof(why)));
		return -EINVAL;
	}
	if (SSL_CTX_set_ciphersuites(ctx, l13) != 1) {
		snprintf(err, errlen, "ssl.cipher.suites: %s", ossl_reason(why, sizeof(why)));
		return -EINVAL;
	}
	if (*min > max || (!l13[0] && max < TLS1_3_VERSION && !l12[0]) ||
	    (!l13[0] && *min == TLS1_3_VERSION)) {
		snprintf(err, errlen,
			 "ssl.cipher.suites '%s': no suite usable with "
			 "ssl.enabled.protocols",
			 st->cipher_suites);
		return -EINVAL;
	}
	return 0;
}

static int check_types(const struct rn_tls_settings *st, char *err, size_t errlen)
{
	if (set(st->keystore_type) && strcasecmp(st->keystore_type, "PEM") != 0) {
		snprintf(err, errlen, "ssl.keystore.type=%s is not supported: only PEM",
			 st->keystore_type);
		return -EINVAL;
	}
	if (set(st->truststore_type) && strcasecmp(st->truststore_type, "PEM") != 0) {
		snprintf(err, errlen, "ssl.truststore.type=%s is not supported: only PEM",
			 st->truststore_type);
		return -EINVAL;
	}
	bool loc = set(st->keystore_location);
	bool parts = set(st->keystore_chain) || set(st->keystore_key);
	if (loc && parts) {
		snprintf(err, errlen,
			 "ssl.keystore.location and ssl.keystore.certificate.chain / "
			 "ssl.keystore.key cannot both be set");
		return -EINVAL;
	}
	if (parts && !(set(st->keystore_chain) && set(st->keystore_key))) {
		snprintf(err, errlen,
			 "ssl.keystore.certificate.chain and ssl.keystore.key must be "
			 "set together");
		return -EINVAL;
	}
	if (st->server && !loc && !parts) {
		snprintf(err, errlen,
			 "a TLS listener needs ssl.keystore.location, or "
			 "ssl.keystore.certificate.chain and ssl.keystore.key");
		return -EINVAL;
	}
	if (set(st->truststore_location) && set(st->truststore_certs)) {
		snprintf(err, errlen,
			 "ssl.truststore.location and ssl.truststore.certificates "
			 "cannot both be set");
		return -EINVAL;
	}
	return 0;
}

static void set_session_and_options(SSL_CTX *ctx, const struct rn_tls_settings *st,
				    const char *what)
{
	uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
#ifdef SSL_OP_ENABLE_KTLS
	if (st->ktls)
		opts |= SSL_OP_ENABLE_KTLS;
#endif
	SSL_CTX_set_options(ctx, opts);
	/* Idle connections give their buffers back: thousands of idle TLS clients stay cheap. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (st->server) {
		/* Resumption by session id and by ticket. The id context must be set once peers
		 * are verified, or OpenSSL refuses to resume; it is per listener. */
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
		size_t n = strlen(what);
		if (n > SSL_MAX_SID_CTX_LENGTH)
			n = SSL_MAX_SID_CTX_LENGTH;
		SSL_CTX_set_session_id_context(ctx, (const unsigned char *)what, (unsigned)n);
		int mode = SSL_VERIFY_NONE;
		if (st->client_auth == RN_TLS_AUTH_REQUESTED)
			mode = SSL_VERIFY_PEER;
		else if (st->client_auth == RN_TLS_AUTH_REQUIRED)
			mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		SSL_CTX_set_verify(ctx, mode, NULL);
	} else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
		/* Kafka clients always verify the broker's certificate. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
}

int rn__tls_build(const struct rn_tls_settings *st, const char *what, SSL_CTX **out, char *err,
		  size_t errlen)
{
	*out = NULL;
	ERR_clear_error();
	if (check_types(st, err, errlen))
		return -EINVAL;
	int min, max;
	if (parse_protocols(st->enabled_protocols, &min, &max, err, errlen))
		return -EINVAL;
	SSL_CTX *ctx = SSL_CTX_new(st->server ? TLS_server_method() : TLS_client_method());
	if (!ctx) {
		char why[256];
		snprintf(err, errlen, "SSL_CTX_new: %s", ossl_reason(why, sizeof(why)));
		return -EINVAL;
	}
	if (set_ciphers(ctx, st, &min, max, err, errlen))
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, min);
	SSL_CTX_set_max_proto_version(ctx, max);
	bool keystore = set(st->keystore_location) || set(st->keystore_chain);
	if (keystore && load_keystore(ctx, st, err, errlen))
		goto fail;
	if (load_truststore(ctx, st, err, errlen))
		goto fail;
	set_session_and_options(ctx, st, what);
	*out = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return -EINVAL;
}
