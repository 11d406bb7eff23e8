/* The TLS transport (net/transport_tls.c) over a socketpair against a plain OpenSSL client:
 * the handshake driven from readv with want_events, decrypted bytes left in OpenSSL reported
 * by pending, writes gathered and retried after EAGAIN with the same bytes, sendfile refused
 * without kTLS, the client certificate's subject in RFC 2253 order, garbage refused. Keys are
 * made with the openssl CLI in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/loop.h"
#include "net/tls.h"
#include "net/transport.h"

#include "cert_dir.h"

static struct rn_tls_ctx *server_ctx;

static int setup_all(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rn_tls_tp_XXXXXX");
	assert_non_null(mkdtemp(dir));
	sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
	   "ca.key -out ca.crt -subj /CN=TestCA -days 2");
	const char *names[] = {"server", "alice"};
	for (int i = 0; i < 2; i++)
		sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
		   "%s.key -out %s.csr -subj /CN=%s/O=Runnel && openssl x509 -req -in %s.csr -CA "
		   "ca.crt -CAkey ca.key -set_serial %d -days 2 -out %s.crt",
		   names[i], names[i], names[i], names[i], 100 + i, names[i]);
	struct rn_tls_settings st = {
	    .server = true,
	    .keystore_type = "PEM",
	    .keystore_chain = path("server.crt"),
	    .keystore_key = path("server.key"),
	    .truststore_type = "PEM",
	    .truststore_location = path("ca.crt"),
	    .client_auth = RN_TLS_AUTH_REQUESTED,
	};
	assert_int_equal(rn_tls_ctx_new(&st, "test server", &server_ctx), 0);
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	rn_tls_ctx_free(server_ctx);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct pair {
	struct rn_transport *srv;
	SSL_CTX *cctx;
	SSL *cli;
	int cfd;
};

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* A server transport and a non-blocking client, handshake not started. */
static void pair_open(struct pair *p, bool client_cert, int sndbuf)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (sndbuf) {
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
	}
	nonblock(sv[0]);
	nonblock(sv[1]);
	p->srv = rn_tls_wrap(server_ctx, sv[0]);
	assert_non_null(p->srv);
	p->cctx = SSL_CTX_new(TLS_client_method());
	assert_int_equal(SSL_CTX_load_verify_locations(p->cctx, path("ca.crt"), NULL), 1);
	SSL_CTX_set_verify(p->cctx, SSL_VERIFY_PEER, NULL);
	if (client_cert) {
		assert_int_equal(
		    SSL_CTX_use_certificate_file(p->cctx, path("alice.crt"), SSL_FILETYPE_PEM), 1);
		assert_int_equal(
		    SSL_CTX_use_PrivateKey_file(p->cctx, path("alice.key"), SSL_FILETYPE_PEM), 1);
	}
	p->cli = SSL_new(p->cctx);
	SSL_set_fd(p->cli, sv[1]);
	SSL_set_connect_state(p->cli);
	p->cfd = sv[1];
}

static void pair_close(struct pair *p)
{
	p->srv->ops->close(p->srv);
	SSL_free(p->cli);
	SSL_CTX_free(p->cctx);
	close(p->cfd);
}

/* Alternates client handshake steps and server readv calls until both are done. */
static void handshake(struct pair *p)
{
	uint8_t b[16];
	struct iovec iov = {b, sizeof(b)};
	bool cdone = false, sdone = false;
	for (int i = 0; i < 200 && !(cdone && sdone); i++) {
		if (!cdone) {
			int r = SSL_do_handshake(p->cli);
			if (r == 1)
				cdone = true;
			else
				assert_true(SSL_get_error(p->cli, r) == SSL_ERROR_WANT_READ ||
					    SSL_get_error(p->cli, r) == SSL_ERROR_WANT_WRITE);
		}
		ssize_t r = p->srv->ops->readv(p->srv, &iov, 1);
		assert_int_equal(r, -EAGAIN); /* no application data yet */
		bool done = false;
		rn_tls_peer_subject(p->srv, &done, NULL, 0);
		sdone = done;
	}
	assert_true(cdone && sdone);
}

static void cli_write_all(struct pair *p, const uint8_t *d, size_t n)
{
	size_t off = 0;
	while (off < n) {
		int r = SSL_write(p->cli, d + off, (int)(n - off));
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		assert_int_equal(SSL_get_error(p->cli, r), SSL_ERROR_WANT_WRITE);
		uint8_t b[4096];
		struct iovec iov = {b, sizeof(b)};
		(void)p->srv->ops->readv(p->srv, &iov, 1); /* not expected in these tests */
	}
}

static void test_handshake_subject_and_path(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, true, 0);
	char subj[256] = "";
	bool done = true;
	assert_false(rn_tls_peer_subject(p.srv, &done, subj, sizeof(subj)));
	assert_false(done);
	handshake(&p);
	assert_true(rn_tls_peer_subject(p.srv, &done, subj, sizeof(subj)));
	assert_true(done);
	/* RFC 2253: the last RDN first, as Java's X500Principal.getName(). */
	assert_string_equal(subj, "O=Runnel,CN=alice");
	assert_string_equal(rn_tls_path(p.srv), "tls");
	uint64_t off = 0;
	int fd = open(path("ca.crt"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(p.srv->ops->sendfile(p.srv, fd, &off, 10), -EOPNOTSUPP);
	close(fd);
	pair_close(&p);

	/* Without a client certificate (requested only): no subject. */
	pair_open(&p, false, 0);
	handshake(&p);
	assert_false(rn_tls_peer_subject(p.srv, &done, subj, sizeof(subj)));
	assert_true(done);
	pair_close(&p);

	struct rn_transport *tcp = rn_transport_tcp_new(dup(0));
	assert_string_equal(rn_tls_path(tcp), "tcp");
	assert_false(rn_tls_peer_subject(tcp, &done, subj, sizeof(subj)));
	tcp->ops->close(tcp);
}

static void test_pending_plaintext_is_reported(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, false, 0);
	handshake(&p);
	static uint8_t msg[30000], got[30000];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	cli_write_all(&p, msg, sizeof(msg));
	/* A small read takes part of a record; the rest is decrypted and held by OpenSSL. */
	struct iovec iov = {got, 100};
	assert_int_equal(p.srv->ops->readv(p.srv, &iov, 1), 100);
	assert_true(p.srv->ops->pending(p.srv));
	size_t have = 100;
	while (have < sizeof(got)) {
		struct iovec v[2] = {{got + have, 50}, {got + have + 50, sizeof(got) - have - 50}};
		ssize_t r = p.srv->ops->readv(p.srv, v, sizeof(got) - have > 50 ? 2 : 1);
		assert_true(r > 0);
		have += (size_t)r;
	}
	assert_memory_equal(got, msg, sizeof(msg));
	assert_false(p.srv->ops->pending(p.srv));
	struct iovec one = {got, 1};
	assert_int_equal(p.srv->ops->readv(p.srv, &one, 1), -EAGAIN);
	/* The client closes: end of stream. */
	SSL_shutdown(p.cli);
	assert_int_equal(p.srv->ops->readv(p.srv, &one, 1), 0);
	pair_close(&p);
}

/* Read-ahead: OpenSSL may hold the first part of a record it read from the socket. That is not
 * "pending" (the connection would be polled again and again for it): the socket becomes
 * readable when the rest comes. */
static void test_partial_record_is_not_pending(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, false, 0);
	handshake(&p);
	BIO *mem = BIO_new(BIO_s_mem());
	SSL_set0_wbio(p.cli, mem); /* the client's records go to memory, then by hand */
	static uint8_t msg[3000], wire[4096], got[3000];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 13 + 1);
	assert_int_equal(SSL_write(p.cli, msg, (int)sizeof(msg)), (int)sizeof(msg));
	int n = BIO_read(mem, wire, (int)sizeof(wire));
	assert_true(n > (int)sizeof(msg));
	assert_int_equal(write(p.cfd, wire, (size_t)n / 2), n / 2);
	struct iovec iov = {got, sizeof(got)};
	assert_int_equal(p.srv->ops->readv(p.srv, &iov, 1), -EAGAIN);
	assert_false(p.srv->ops->pending(p.srv));
	assert_int_equal(write(p.cfd, wire + n / 2, (size_t)(n - n / 2)), n - n / 2);
	assert_int_equal(p.srv->ops->readv(p.srv, &iov, 1), (ssize_t)sizeof(msg));
	assert_memory_equal(got, msg, sizeof(msg));
	assert_false(p.srv->ops->pending(p.srv));
	pair_close(&p);
}

static void test_writes_gather_and_retry(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, false, 4096); /* smaller than a record: retries mid-record */
	handshake(&p);
	/* 40 small pieces and a big one, as conn.c passes them, until the socket is full. */
	enum { SMALL = 40, PIECE = 300, BIG = 1 << 20 };
	size_t total = SMALL * PIECE + BIG;
	uint8_t *all = malloc(total);
	for (size_t i = 0; i < total; i++)
		all[i] = (uint8_t)(i % 251);
	uint8_t *got = malloc(total);
	size_t sent = 0, have = 0;
	int eagains = 0;
	while (have < total) {
		/* Write until the socket is full, then let the client read a little. */
		while (sent < total) {
			/* The iovecs from `sent` on, as conn.c rebuilds them after each write. */
			struct iovec iov[SMALL + 1];
			int n = 0;
			size_t at = sent;
			while (at < SMALL * PIECE && n < SMALL) {
				size_t end = (at / PIECE + 1) * PIECE;
				iov[n].iov_base = all + at;
				iov[n++].iov_len = end - at;
				at = end;
			}
			iov[n].iov_base = all + at;
			iov[n++].iov_len = total - at;
			ssize_t r = p.srv->ops->writev(p.srv, iov, n);
			if (r == -EAGAIN) {
				eagains++;
				break;
			}
			assert_true(r > 0);
			sent += (size_t)r;
		}
		for (int k = 0; k < 3 && have < total; k++) {
			size_t want = total - have < 5000 ? total - have : 5000;
			int r = SSL_read(p.cli, got + have, (int)want);
			if (r <= 0) {
				assert_int_equal(SSL_get_error(p.cli, r), SSL_ERROR_WANT_READ);
				break;
			}
			have += (size_t)r;
		}
	}
	assert_true(eagains > 0); /* the retry path ran */
	assert_memory_equal(got, all, total);
	free(all);
	free(got);
	pair_close(&p);
}

static void test_garbage_is_refused(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, false, 0);
	const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(write(p.cfd, junk, sizeof(junk) - 1), (ssize_t)sizeof(junk) - 1);
	uint8_t b[64];
	struct iovec iov = {b, sizeof(b)};
	ssize_t r = p.srv->ops->readv(p.srv, &iov, 1);
	assert_true(r < 0 && r != -EAGAIN);
	pair_close(&p);

	/* A peer that goes away during the handshake: end of stream, not an error. */
	pair_open(&p, false, 0);
	assert_int_equal(write(p.cfd, "\x16\x03", 2), 2);
	shutdown(p.cfd, SHUT_WR);
	assert_int_equal(p.srv->ops->readv(p.srv, &iov, 1), 0);
	pair_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handshake_subject_and_path),
	    cmocka_unit_test(test_pending_plaintext_is_reported),
	    cmocka_unit_test(test_partial_record_is_not_pending),
	    cmocka_unit_test(test_writes_gather_and_retry),
	    cmocka_unit_test(test_garbage_is_refused),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
