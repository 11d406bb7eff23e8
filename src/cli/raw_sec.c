/* TLS and SASL for the CLI's raw connections (see raw_sec.h). */
#include "cli/raw_sec.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/sasl_client.h"
#include "auth/scram.h"
#include "cli/common.h"
#include "cli/raw.h"
#include "cli/rawreq.h"
#include "core/buf.h"
#include "core/iochain.h"
#include "proto/gen/rn_msg.h"
#include "proto/prim.h"

#define MAX_CONNS 16

/* The CLI holds a few raw connections at a time; each TLS one is found by its socket. */
static struct {
	int fd;
	SSL *ssl;
	SSL_CTX *ctx;
} conns[MAX_CONNS];
static int nconns;

static SSL *ssl_of(int fd)
{
	for (int i = 0; i < nconns; i++)
		if (conns[i].fd == fd)
			return conns[i].ssl;
	return NULL;
}

ssize_t rn__cli_sec_io(int fd, void *p, size_t n, bool wr)
{
	SSL *ssl = ssl_of(fd);
	if (!ssl)
		return wr ? write(fd, p, n) : read(fd, p, n);
	size_t done = 0;
	int ok = wr ? SSL_write_ex(ssl, p, n, &done) : SSL_read_ex(ssl, p, n, &done);
	return ok == 1 ? (ssize_t)done : -1;
}

void rn__cli_sec_close(int fd)
{
	for (int i = 0; i < nconns; i++)
		if (conns[i].fd == fd) {
			SSL_shutdown(conns[i].ssl);
			SSL_free(conns[i].ssl);
			SSL_CTX_free(conns[i].ctx);
			conns[i] = conns[--nconns];
			break;
		}
	close(fd);
}

struct sec {
	const struct rn_cli_common *c;
	char where[300]; /* "HOST:PORT" for error lines */
	rd_kafka_conf_t *conf;
};

static const char *get(struct sec *s, const char *key, char *buf, size_t len)
{
	size_t n = len;
	if (rd_kafka_conf_get(s->conf, key, buf, &n) != RD_KAFKA_CONF_OK)
		buf[0] = '\0';
	return buf;
}

static int fail(struct sec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct sec *s, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rn__cli_err(s->c, "%s: %s", s->where, msg);
	return -1;
}

static const char *ssl_reason(void)
{
	unsigned long e = ERR_get_error();
	static char buf[256];
	if (!e)
		return "the connection ended";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	(void)rwflag;
	int n = (int)strlen(u);
	if (n > size)
		n = size;
	memcpy(buf, u, (size_t)n);
	return n;
}

static int load_pem_ca(SSL_CTX *ctx, const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509_STORE *st = SSL_CTX_get_cert_store(ctx);
	X509 *x;
	int n = 0;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		n += X509_STORE_add_cert(st, x) == 1;
		X509_free(x);
	}
	ERR_clear_error();
	BIO_free(b);
	return n > 0 ? 0 : -1;
}

static int tls_setup(struct sec *s, int fd, const char *host)
{
	char ca[4096], cert[4096], key[4096], kpass[512], verify[16], eia[16];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return fail(s, "TLS: %s", ssl_reason());
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_default_passwd_cb(ctx, pass_cb);
	SSL_CTX_set_default_passwd_cb_userdata(
	    ctx, (void *)get(s, "ssl.key.password", kpass, sizeof(kpass)));
	int rc = -1;
	struct stat st;
	if (*get(s, "ssl.ca.location", ca, sizeof(ca))) {
		bool dir = stat(ca, &st) == 0 && S_ISDIR(st.st_mode);
		if (SSL_CTX_load_verify_locations(ctx, dir ? NULL : ca, dir ? ca : NULL) != 1) {
			fail(s, "ssl.ca.location %s: %s", ca, ssl_reason());
			goto out;
		}
	} else if (*get(s, "ssl.ca.pem", ca, sizeof(ca))) {
		if (load_pem_ca(ctx, ca) < 0) {
			fail(s, "ssl.ca.pem holds no certificate");
			goto out;
		}
	} else {
		SSL_CTX_set_default_verify_paths(ctx);
	}
	if (*get(s, "ssl.certificate.location", cert, sizeof(cert)) &&
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		fail(s, "ssl.certificate.location %s: %s", cert, ssl_reason());
		goto out;
	}
	if (*get(s, "ssl.key.location", key, sizeof(key)) &&
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		fail(s, "ssl.key.location %s: %s", key, ssl_reason());
		goto out;
	}
	if (!*cert && *get(s, "ssl.certificate.pem", cert, sizeof(cert))) {
		BIO *b = BIO_new_mem_buf(cert, -1);
		X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
		int ok = x && SSL_CTX_use_certificate(ctx, x) == 1;
		X509_free(x);
		if (!ok) {
			fail(s, "ssl.certificate.pem: %s", ssl_reason());
			goto out;
		}
	}
	if (!*key && *get(s, "ssl.key.pem", key, sizeof(key))) {
		BIO *b = BIO_new_mem_buf(key, -1);
		EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, pass_cb, kpass);
		BIO_free(b);
		int ok = k && SSL_CTX_use_PrivateKey(ctx, k) == 1;
		EVP_PKEY_free(k);
		if (!ok) {
			fail(s, "ssl.key.pem: %s", ssl_reason());
			goto out;
		}
	}
	get(s, "enable.ssl.certificate.verification", verify, sizeof(verify));
	SSL_CTX_set_verify(ctx, strcmp(verify, "false") == 0 ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
			   NULL);
	SSL *ssl = SSL_new(ctx);
	struct in6_addr a6;
	struct in_addr a4;
	bool ip = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
	if (!ip)
		SSL_set_tlsext_host_name(ssl, host);
	/* librdkafka checks the broker's name by default (https), as Kafka's clients do. */
	get(s, "ssl.endpoint.identification.algorithm", eia, sizeof(eia));
	if (strcasecmp(eia, "https") == 0) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
		if (ip)
			X509_VERIFY_PARAM_set1_ip_asc(vp, host);
		else
			X509_VERIFY_PARAM_set1_host(vp, host, 0);
	}
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		long vr = SSL_get_verify_result(ssl);
		if (vr != X509_V_OK)
			fail(s, "TLS handshake failed: certificate verify failed: %s",
			     X509_verify_cert_error_string(vr));
		else
			fail(s, "TLS handshake failed: %s", ssl_reason());
		SSL_free(ssl);
		goto out;
	}
	if (nconns == MAX_CONNS) {
		fail(s, "too many connections");
		SSL_free(ssl);
		goto out;
	}
	conns[nconns].fd = fd;
	conns[nconns].ssl = ssl;
	conns[nconns].ctx = ctx;
	nconns++;
	ctx = NULL;
	rc = 0;
out:
	SSL_CTX_free(ctx);
	return rc;
}

/* The transport under auth/sasl_client.c: each token in a SaslAuthenticate v1. */
struct round {
	struct sec *s;
	int fd;
	bool said; /* an error line is out */
};

/* One SASL exchange (rn_sasl_xfer_fn): -1 after the error line when the broker refuses. */
static int sasl_round(void *arg, const uint8_t *tok, size_t len, uint8_t *out, size_t cap,
		      size_t *outlen)
{
	struct round *x = arg;
	struct rn_iochain w = {0};
	struct rn_buf body = {0};
	size_t off;
	rn__cli_raw_begin(&w, RN_API_SASL_AUTHENTICATE, 1, "runnel-cli");
	struct rn_sasl_authenticate_request rq = {.auth_bytes = {tok, (int32_t)len}};
	rn_sasl_authenticate_request_encode(&w, 1, &rq);
	if (rn__cli_raw_exchange(x->fd, &w, RN_API_SASL_AUTHENTICATE, 1, &body, &off) < 0) {
		rn_buf_free(&body);
		x->said = true;
		return fail(x->s, "SASL authentication: the broker closed the connection");
	}
	struct rn_arena arena = {0};
	struct rn_rd rd;
	struct rn_sasl_authenticate_response resp;
	rn_rd_init(&rd, body.data + off, body.len - off, &arena);
	int rc = 0;
	if (rn_sasl_authenticate_response_decode(&rd, 1, &resp) < 0) {
		rc = fail(x->s, "SASL authentication: malformed SaslAuthenticate response");
	} else if (resp.error_code) {
		char m[512];
		rn__cli_str(resp.error_message, m, sizeof(m));
		rc = fail(x->s, "SASL authentication failed: %s%s%s", rn__cli_kerr(resp.error_code),
			  *m ? ": " : "", m);
	} else {
		size_t n = resp.auth_bytes.len > 0 ? (size_t)resp.auth_bytes.len : 0;
		if (n > cap) {
			rc = fail(x->s, "SASL authentication: the broker's answer is too long");
		} else {
			if (n)
				memcpy(out, resp.auth_bytes.ptr, n);
			*outlen = n;
		}
	}
	rn_arena_free(&arena);
	rn_buf_free(&body);
	x->said = rc < 0;
	return rc;
}

static int handshake(struct sec *s, int fd, const char *mech)
{
	struct rn_iochain w = {0};
	struct rn_buf body = {0};
	size_t off;
	rn__cli_raw_begin(&w, RN_API_SASL_HANDSHAKE, 1, "runnel-cli");
	struct rn_sasl_handshake_request rq = {.mechanism = rn_str_c(mech)};
	rn_sasl_handshake_request_encode(&w, 1, &rq);
	if (rn__cli_raw_exchange(fd, &w, RN_API_SASL_HANDSHAKE, 1, &body, &off) < 0) {
		rn_buf_free(&body);
		return fail(s, "SASL handshake: the broker closed the connection (not a SASL "
			       "listener?)");
	}
	struct rn_arena arena = {0};
	struct rn_rd rd;
	struct rn_sasl_handshake_response resp;
	rn_rd_init(&rd, body.data + off, body.len - off, &arena);
	int rc = rn_sasl_handshake_response_decode(&rd, 1, &resp);
	char have[512] = "", m[256];
	for (int32_t i = 0; rc == 0 && i < resp.mechanisms_count; i++) {
		size_t k = strlen(have);
		snprintf(have + k, sizeof(have) - k, "%s%s", k ? ", " : "",
			 rn__cli_str(resp.mechanisms[i], m, sizeof(m)));
	}
	if (rc < 0)
		rc = fail(s, "SASL handshake: malformed response");
	else if (resp.error_code)
		rc = fail(s, "SASL mechanism %s not enabled on the broker (it offers: %s)", mech,
			  have);
	rn_arena_free(&arena);
	rn_buf_free(&body);
	return rc;
}

static int sasl_setup(struct sec *s, int fd)
{
	char mech[64], user[512], pass[512];
	get(s, "sasl.mechanisms", mech, sizeof(mech));
	get(s, "sasl.username", user, sizeof(user));
	get(s, "sasl.password", pass, sizeof(pass));
	/* Accepted in any case, as before; auth/ knows the upper-case names. */
	for (char *p = mech; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	enum rn_scram_mech sm = rn_scram_mech_parse(mech);
	if (strcasecmp(mech, "PLAIN") != 0 && !sm)
		return fail(s,
			    "sasl.mechanisms=%s: raw requests support PLAIN, SCRAM-SHA-256 and "
			    "SCRAM-SHA-512",
			    mech);
	if (!*user)
		return fail(s, "SASL needs sasl.username and sasl.password (-X or "
			       "--command-config)");
	const char *name = sm ? rn_scram_mech_name(sm) : "PLAIN";
	if (handshake(s, fd, name) < 0)
		return -1;
	struct round x = {s, fd, false};
	char err[256];
	int rc = rn_sasl_client_auth(name, user, pass, NULL, sasl_round, &x, err, sizeof(err));
	/* sasl_round says why the broker refused; the client's own reasons are said here. */
	if (rc < 0 && !x.said)
		fail(s, "SASL authentication: %s", *err ? err : "cannot build the SCRAM messages");
	OPENSSL_cleanse(pass, sizeof(pass));
	return rc < 0 ? -1 : 0;
}

int rn__cli_sec_setup(const struct rn_cli_common *c, int fd, const char *host, int port)
{
	struct sec s = {.c = c};
	const char *lb = strchr(host, ':') ? "[" : "", *rb = *lb ? "]" : "";
	snprintf(s.where, sizeof(s.where), "%s%s%s:%d", lb, host, rb, port);
	/* The same properties librdkafka gets, so -X and --command-config mean the same here. */
	s.conf = rn__cli_conf((struct rn_cli_common *)c, NULL);
	if (!s.conf) {
		close(fd);
		return -1;
	}
	char proto[32];
	get(&s, "security.protocol", proto, sizeof(proto));
	bool tls = strcasecmp(proto, "ssl") == 0 || strcasecmp(proto, "sasl_ssl") == 0;
	bool sasl = strcasecmp(proto, "sasl_plaintext") == 0 || strcasecmp(proto, "sasl_ssl") == 0;
	int rc = 0;
	if (!tls && !sasl && strcasecmp(proto, "plaintext") != 0)
		rc = fail(&s, "security.protocol=%s is not supported", proto);
	if (rc == 0 && tls)
		rc = tls_setup(&s, fd, host);
	if (rc == 0 && sasl)
		rc = sasl_setup(&s, fd);
	rd_kafka_conf_destroy(s.conf);
	if (rc < 0)
		rn__cli_sec_close(fd);
	return rc;
}
