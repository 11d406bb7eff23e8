/*
 * The TLS transport: an OpenSSL object over the connection's non-blocking socket.
 *
 * The handshake runs inside readv (the client speaks first), so conn.c needs no TLS state:
 * when OpenSSL must write to progress and the socket is full, want_events asks for
 * RN_EV_WRITE and conn.c calls readv again once the socket is writable.
 *
 * Writes use partial-write mode (each SSL_write sends at least one record and says how much)
 * with a moving write buffer: a write that hit EAGAIN is retried with the same bytes at the
 * front, gathered again from conn.c's iovecs, so several small responses share one record
 * through a per-thread gather buffer.
 *
 * Reads fill the caller's iovecs record by record until OpenSSL would block; decrypted bytes
 * that did not fit stay in OpenSSL, reported by `pending` so conn.c reads them without waiting
 * for the socket (which will not become readable for them).
 *
 * sendfile works only when the kernel does the encryption (kTLS, SSL_sendfile); otherwise it
 * returns -EOPNOTSUPP and conn.c reads the file into a buffer and writes that.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/metrics.h"
#include "core/log.h"
#include "net/loop.h"
#include "net/tls.h"
#include "net/transport.h"

enum {
	GATHER_SIZE = 64 * 1024, /* small responses written together, one record per 16 KiB */
	DIRECT_MIN = 16 * 1024,  /* a first piece this large is written from where it lies */
};

struct tls_tp {
	struct rn_transport base;
	SSL *ssl;
	bool server;
	bool handshake_done;
	bool failed;  /* a fatal error: no close_notify */
	int want;     /* RN_EV_* OpenSSL needs to progress, besides what conn.c watches */
	int deferred; /* an end of stream (1) or -errno seen after data that was returned first */
	bool starved; /* the last read wanted socket bytes: what OpenSSL buffers is a partial record
		       */
	bool ktls_send;
	char peer[64];
};

/* Open TLS connections by sendfile path (gauges) and refused handshakes, for /metrics. */
static _Atomic int64_t n_tls, n_ktls;
static _Atomic uint64_t n_handshake_failures;
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void collect(struct rn_buf *out, void *arg)
{
	(void)arg;
	rn_buf_printf(out,
		      "# HELP runnel_tls_connections Open TLS connections (server and client side) "
		      "by the path file data takes: ktls (kernel TLS, sendfile) or tls (user "
		      "space).\n"
		      "# TYPE runnel_tls_connections gauge\n"
		      "runnel_tls_connections{path=\"ktls\"} %lld\n"
		      "runnel_tls_connections{path=\"tls\"} %lld\n"
		      "# HELP runnel_tls_handshake_failures_total TLS handshakes refused or broken "
		      "(bad certificates, protocol versions, garbage).\n"
		      "# TYPE runnel_tls_handshake_failures_total counter\n"
		      "runnel_tls_handshake_failures_total %llu\n",
		      (long long)atomic_load(&n_ktls), (long long)atomic_load(&n_tls),
		      (unsigned long long)atomic_load(&n_handshake_failures));
}

static void register_metrics(void)
{
	rn_metrics_register(collect, NULL);
}

static const struct rn_transport_ops tls_ops;

static void peer_name(int fd, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
			port = ntohs(a->sin6_port);
		}
	}
	snprintf(out, n, "%s:%d", ip, port);
}

/* The first OpenSSL error of this thread's queue as text (and the queue emptied). */
static void ssl_reason(char *buf, size_t n)
{
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, buf, n);
	else
		snprintf(buf, n, "unknown error");
	ERR_clear_error();
}

/* Maps a failed SSL call onto conn.c's codes: -EAGAIN (with want set), 0 for end of stream,
 * or a negative errno after a log line for a broken connection. */
static int fail(struct tls_tp *t, int r, const char *op)
{
	int e = SSL_get_error(t->ssl, r);
	int sys = errno;
	char why[256];
	switch (e) {
	case SSL_ERROR_WANT_READ:
		/* A server connection reads anyway; a client in its handshake (peer.c) must be
		 * told to wait for the peer's flight rather than for a writable socket. */
		t->want = t->handshake_done ? 0 : RN_EV_READ;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE: t->want = RN_EV_WRITE; return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN: ERR_clear_error(); return 0;
	case SSL_ERROR_SYSCALL:
		t->failed = true;
		ssl_reason(why, sizeof(why));
		if (r == 0 || sys == 0) {
			if (!t->handshake_done)
				rn_info("tls %s: peer closed the connection during the handshake",
					t->peer);
			return 0;
		}
		return sys ? -sys : -EIO;
	default:
		t->failed = true;
		ssl_reason(why, sizeof(why));
		if (!t->handshake_done)
			atomic_fetch_add_explicit(&n_handshake_failures, 1, memory_order_relaxed);
		rn_warn("tls %s: %s failed: %s; closing the connection", t->peer, op, why);
		return -EPROTO;
	}
}

static int handshake(struct tls_tp *t)
{
	ERR_clear_error();
	t->want = 0;
	int r = SSL_do_handshake(t->ssl);
	if (r != 1)
		return fail(t, r, "handshake");
	t->handshake_done = true;
	t->ktls_send = BIO_get_ktls_send(SSL_get_wbio(t->ssl)) > 0;
	atomic_fetch_add_explicit(t->ktls_send ? &n_ktls : &n_tls, 1, memory_order_relaxed);
	rn_debug("tls %s: %s with %s%s", t->peer, SSL_get_version(t->ssl),
		 SSL_get_cipher_name(t->ssl), t->ktls_send ? " (kTLS)" : "");
	return 1;
}

static ssize_t tls_readv(struct rn_transport *base, const struct iovec *iov, int n)
{
	struct tls_tp *t = (struct tls_tp *)base;
	if (!t->handshake_done) {
		int rc = handshake(t);
		if (rc <= 0)
			return rc;
	}
	t->want = 0;
	if (t->deferred)
		return t->deferred > 0 ? 0 : t->deferred;
	ssize_t total = 0;
	for (int i = 0; i < n; i++) {
		size_t got = 0;
		while (got < iov[i].iov_len) {
			size_t len = iov[i].iov_len - got;
			ERR_clear_error();
			int r = SSL_read(t->ssl, (char *)iov[i].iov_base + got,
					 len > INT_MAX ? INT_MAX : (int)len);
			if (r > 0) {
				got += (size_t)r;
				continue;
			}
			int rc = fail(t, r, "read");
			t->starved = rc == -EAGAIN;
			if (total + (ssize_t)got == 0)
				return rc;
			/* The bytes first; an end or an error shows on the next call, without
			 * asking OpenSSL again after it failed. */
			if (rc != -EAGAIN)
				t->deferred = rc == 0 ? 1 : rc;
			return total + (ssize_t)got;
		}
		total += (ssize_t)got;
	}
	t->starved = false; /* the caller's buffer filled first: more may be buffered */
	return total;
}

static ssize_t tls_writev(struct rn_transport *base, const struct iovec *iov, int n)
{
	struct tls_tp *t = (struct tls_tp *)base;
	if (!t->handshake_done) {
		int rc = handshake(t);
		if (rc <= 0)
			return rc == 0 ? -EPIPE : rc;
	}
	static _Thread_local uint8_t gather[GATHER_SIZE];
	const void *p = iov[0].iov_base;
	size_t len = iov[0].iov_len;
	if (n > 1 && len < DIRECT_MIN) {
		/* The same bytes come first on a retry, and never fewer of them. */
		len = 0;
		for (int i = 0; i < n && len < GATHER_SIZE; i++) {
			size_t take =
			    iov[i].iov_len < GATHER_SIZE - len ? iov[i].iov_len : GATHER_SIZE - len;
			memcpy(gather + len, iov[i].iov_base, take);
			len += take;
		}
		p = gather;
	}
	if (len == 0)
		return 0;
	ERR_clear_error();
	t->want = 0;
	int r = SSL_write(t->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
	if (r > 0)
		return r;
	int rc = fail(t, r, "write");
	if (rc == -EAGAIN)
		t->want = 0; /* conn.c waits for EPOLLOUT after EAGAIN itself */
	return rc == 0 ? -EPIPE : rc;
}

static ssize_t tls_sendfile(struct rn_transport *base, int in_fd, uint64_t *off, size_t len)
{
	struct tls_tp *t = (struct tls_tp *)base;
	if (!t->ktls_send)
		return -EOPNOTSUPP;
	ERR_clear_error();
	ossl_ssize_t r = SSL_sendfile(t->ssl, in_fd, (off_t)*off, len, 0);
	if (r < 0) {
		int e = errno;
		ERR_clear_error();
		if (e == EAGAIN || e == EWOULDBLOCK)
			return -EAGAIN;
		return e ? -e : -EIO;
	}
	*off += (uint64_t)r;
	return r;
}

static int tls_want_events(struct rn_transport *base)
{
	return ((struct tls_tp *)base)->want;
}

static bool tls_pending(struct rn_transport *base)
{
	struct tls_tp *t = (struct tls_tp *)base;
	if (t->deferred)
		return true;
	if (!t->handshake_done)
		return false;
	/* Decrypted bytes, or (read-ahead) whole records read from the socket but not yet
	 * decrypted. After a read that wanted more socket bytes, what is buffered is only a
	 * partial record: the socket becomes readable when the rest comes, and saying "pending"
	 * would spin. */
	return SSL_pending(t->ssl) > 0 || (!t->starved && SSL_has_pending(t->ssl));
}

static void tls_close(struct rn_transport *base)
{
	struct tls_tp *t = (struct tls_tp *)base;
	if (t->handshake_done)
		atomic_fetch_sub_explicit(t->ktls_send ? &n_ktls : &n_tls, 1, memory_order_relaxed);
	if (t->handshake_done && !t->failed) {
		ERR_clear_error();
		(void)SSL_shutdown(t->ssl); /* one close_notify, not waiting for the peer's */
		ERR_clear_error();
	}
	SSL_free(t->ssl);
	close(t->base.fd);
	rn_free(t);
}

static const struct rn_transport_ops tls_ops = {
    .name = "tls",
    .readv = tls_readv,
    .writev = tls_writev,
    .sendfile = tls_sendfile,
    .want_events = tls_want_events,
    .pending = tls_pending,
    .close = tls_close,
};

static struct rn_transport *wrap(SSL_CTX *ctx, int fd, bool server)
{
	if (!ctx)
		return NULL;
	SSL *ssl = SSL_new(ctx);
	SSL_CTX_free(ctx); /* the SSL keeps its own reference */
	if (!ssl || SSL_set_fd(ssl, fd) != 1) {
		char why[256];
		ssl_reason(why, sizeof(why));
		rn_warn("tls: cannot set up a connection: %s", why);
		SSL_free(ssl);
		return NULL;
	}
	/* Renegotiation would let a read need a write (and vice versa) at any time. */
	SSL_set_options(ssl, SSL_OP_NO_RENEGOTIATION);
	/* Kafka clients close without close_notify; the framing already detects truncation, so
	 * a bare EOF is an end of stream, not OpenSSL 3's "unexpected eof" error. */
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Read what the socket has, not one record header then one body: clients send many small
	 * TLS records (librdkafka one per record value), and two read(2) calls per record cost
	 * TLS produce about six times the broker CPU of plaintext (docs/BENCHMARKS.md). */
	SSL_set_read_ahead(ssl, 1);
	if (server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pthread_once(&metrics_once, register_metrics);
	struct tls_tp *t = rn_calloc(1, sizeof(*t));
	t->base.ops = &tls_ops;
	t->base.fd = fd;
	t->ssl = ssl;
	t->server = server;
	peer_name(fd, t->peer, sizeof(t->peer));
	return &t->base;
}

struct rn_transport *rn_tls_wrap(void *arg, int fd)
{
	return wrap(rn_tls_ctx_acquire(arg), fd, true);
}

struct rn_transport *rn_tls_client_wrap(struct rn_tls_ctx *c, int fd, const char *host)
{
	struct rn_transport *tp = wrap(rn_tls_ctx_acquire(c), fd, false);
	if (!tp || !host || !*host)
		return tp;
	struct tls_tp *t = (struct tls_tp *)tp;
	struct in6_addr a6;
	struct in_addr a4;
	bool ip = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
	if (!ip)
		SSL_set_tlsext_host_name(t->ssl, host); /* SNI carries names, never addresses */
	/* Checked only when the context verifies the peer at all. */
	if (SSL_CTX_get_verify_mode(SSL_get_SSL_CTX(t->ssl)) & SSL_VERIFY_PEER) {
		/* An address must match an IP subjectAltName, a name a DNS one (or the CN). */
		if (ip)
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host);
		else
			SSL_set1_host(t->ssl, host);
	}
	return tp;
}

bool rn_tls_peer_subject(struct rn_transport *tp, bool *handshake_done, char *buf, size_t len)
{
	if (handshake_done)
		*handshake_done = false;
	if (!tp || tp->ops != &tls_ops)
		return false;
	struct tls_tp *t = (struct tls_tp *)tp;
	if (handshake_done)
		*handshake_done = t->handshake_done;
	if (!t->handshake_done)
		return false;
	X509 *cert = SSL_get0_peer_certificate(t->ssl);
	if (!cert || SSL_get_verify_result(t->ssl) != X509_V_OK)
		return false;
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio)
		return false;
	/* RFC 2253 as Java's X500Principal.getName() gives it: last RDN first, UTF-8 kept. */
	unsigned long flags = (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT;
	bool ok = X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, flags) >= 0;
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	if (ok && len > 0) {
		size_t m = n > 0 ? (size_t)n : 0;
		if (m >= len)
			m = len - 1;
		memcpy(buf, data, m);
		buf[m] = 0;
	}
	BIO_free(bio);
	return ok;
}

const char *rn_tls_path(struct rn_transport *tp)
{
	if (!tp || tp->ops != &tls_ops)
		return "tcp";
	return ((struct tls_tp *)tp)->ktls_send ? "ktls" : "tls";
}
