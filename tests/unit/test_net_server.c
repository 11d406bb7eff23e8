/*
 * rn_server end to end over loopback with plain blocking client sockets. The test handler
 * reads an opcode from the first frame byte:
 *   'E' echo   'N' no response   'C' echo + close_after   'D' u32 ms: echo after a timer
 *   'R' u32 n: echo, held until n are held, then completed in reverse order
 *   'F' u32 n: "<<" + n bytes of the test file (sendfile) + ">>"   'B' u32 n: n bytes in memory
 *   'M' u32 ms: echo, then the connection is muted for ms (rn_req_mute, quotas)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/iochain.h"
#include "core/log.h"
#include "core/metrics.h"
#include "net/loop.h"
#include "net/server.h"

enum { FILE_SIZE = 8 << 20, MAX_REQ = 16 << 20 };

static struct rn_fileref *g_file;
static _Atomic int g_file_released;
static _Atomic int g_received;
static _Atomic int g_completed;
static struct rn_req *g_held[1000];
static int g_nheld;

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint8_t file_byte(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

static void done(struct rn_req *req)
{
	atomic_fetch_add(&g_completed, 1);
	rn_req_done(req);
}

static void done_timer(struct rn_loop *l, void *arg)
{
	(void)l;
	done(arg);
}

static void reverse_task(void *arg)
{
	(void)arg;
	while (g_nheld > 0)
		done(g_held[--g_nheld]);
}

static void handler(struct rn_req *req, void *arg)
{
	(void)arg;
	atomic_fetch_add(&g_received, 1);
	assert_ptr_equal(rn_loop_current(), req->loop);
	uint8_t op = req->len ? req->frame[0] : 'E';
	uint32_t n = req->len >= 5 ? get32(req->frame + 1) : 0;
	switch (op) {
	case 'N':
		req->no_response = true;
		done(req);
		return;
	case 'F':
		rn_iochain_add_mem(&req->out, "<<", 2);
		rn_iochain_add_file(&req->out, g_file, 0, n);
		rn_iochain_add_mem(&req->out, ">>", 2);
		done(req);
		return;
	case 'B': {
		size_t off = rn_iochain_reserve(&req->out, n);
		memset(rn_iochain_at(&req->out, off), 'b', n);
		done(req);
		return;
	}
	default: break;
	}
	rn_iochain_add_mem(&req->out, req->frame, req->len);
	if (op == 'M')
		rn_req_mute(req, n);
	if (op == 'C') {
		req->close_after = true;
	} else if (op == 'D') {
		rn_loop_timer_add(req->loop, n, done_timer, req);
		return;
	} else if (op == 'R') {
		g_held[g_nheld++] = req;
		if (g_nheld == (int)get32(req->frame + 5))
			rn_loop_post(req->loop, reverse_task, NULL);
		return;
	}
	done(req);
}

/* ---- client side ---- */

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		b += w;
		n -= (size_t)w;
	}
}

/* Returns 0, or -1 at EOF / reset before n bytes. */
static int read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n > 0) {
		ssize_t r = recv(fd, b, n, 0);
		if (r <= 0) {
			assert_true(r == 0 || errno == ECONNRESET);
			return -1;
		}
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static void send_frame(int fd, const void *p, size_t n)
{
	uint8_t hdr[4];
	put32(hdr, (uint32_t)n);
	write_all(fd, hdr, 4);
	write_all(fd, p, n);
}

static void send_op(int fd, uint8_t op, uint32_t a, uint32_t b)
{
	uint8_t f[9] = {op};
	put32(f + 1, a);
	put32(f + 5, b);
	send_frame(fd, f, sizeof(f));
}

/* Returns the frame (caller frees) and its length in *n, or NULL at EOF. */
static uint8_t *recv_frame(int fd, size_t *n)
{
	uint8_t hdr[4];
	if (read_all(fd, hdr, 4) < 0)
		return NULL;
	*n = get32(hdr);
	uint8_t *p = malloc(*n + 1);
	assert_int_equal(read_all(fd, p, *n), 0);
	return p;
}

static void expect_echo(int fd, const char *s)
{
	size_t n;
	uint8_t *p = recv_frame(fd, &n);
	assert_non_null(p);
	assert_int_equal(n, strlen(s));
	assert_memory_equal(p, s, n);
	free(p);
}

static bool expect_eof(int fd)
{
	uint8_t b;
	ssize_t r = recv(fd, &b, 1, 0);
	return r == 0 || (r < 0 && errno == ECONNRESET);
}

static void wait_until(_Atomic int *v, int want)
{
	for (int i = 0; i < 5000 && atomic_load(v) != want; i++)
		usleep(1000);
	assert_int_equal(atomic_load(v), want);
}

static void wait_conns(struct rn_server *s, int64_t want)
{
	for (int i = 0; i < 5000 && rn_server_connections(s) != want; i++)
		usleep(1000);
	assert_int_equal(rn_server_connections(s), want);
}

/* ---- fixtures ---- */

static void release_file(struct rn_fileref *f)
{
	close(f->fd);
	free(f);
	atomic_store(&g_file_released, 1);
}

static int setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	if (getenv("RN_TEST_DEBUG"))
		rn_log_set_level(RN_LOG_DEBUG);
	char path[] = "/tmp/rn_net_test_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	uint8_t *data = malloc(FILE_SIZE);
	for (size_t i = 0; i < FILE_SIZE; i++)
		data[i] = file_byte(i);
	assert_int_equal(write(fd, data, FILE_SIZE), FILE_SIZE);
	free(data);
	g_file = calloc(1, sizeof(*g_file));
	g_file->fd = fd;
	g_file->refs = 1;
	g_file->release = release_file;

	struct rn_server_config cfg = {
	    .host = "127.0.0.1",
	    .nloops = 2,
	    .max_request_bytes = MAX_REQ,
	    .max_inflight_bytes = 8 << 20,
	    .on_request = handler,
	};
	struct rn_server *s;
	assert_int_equal(rn_server_start(&cfg, &s), 0);
	assert_true(rn_server_port(s) > 0);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	rn_server_stop(*state);
	rn_fileref_put(g_file);
	assert_int_equal(atomic_load(&g_file_released), 1); /* every piece's reference dropped */
	return 0;
}

/* ---- tests ---- */

static void test_echo(void **state)
{
	struct rn_server *s = *state;
	int fd = connect_to(rn_server_port(s));
	send_frame(fd, "Ehello", 6);
	expect_echo(fd, "Ehello");
	send_frame(fd, "", 0); /* an empty frame is a request like any other */
	expect_echo(fd, "");
	close(fd);
}

static void test_pipelined_reverse_completion(void **state)
{
	struct rn_server *s = *state;
	int fd = connect_to(rn_server_port(s));
	/* One write with all 100 frames, so they arrive in as few reads as possible. */
	uint8_t buf[100 * 17];
	for (int i = 0; i < 100; i++) {
		uint8_t *f = buf + i * 17;
		put32(f, 13);
		f[4] = 'R';
		put32(f + 5, (uint32_t)i);
		put32(f + 9, 100);
		put32(f + 13, (uint32_t)i);
	}
	write_all(fd, buf, sizeof(buf));
	for (int i = 0; i < 100; i++) {
		size_t n;
		uint8_t *p = recv_frame(fd, &n);
		assert_non_null(p);
		assert_int_equal(n, 13);
		assert_int_equal(get32(p + 1), (uint32_t)i);
		free(p);
	}
	close(fd);
}

static void test_request_count_limit(void **state)
{
	/* More requests than a connection may hold (1000): reading pauses and resumes. */
	struct rn_server *s = *state;
	int fd = connect_to(rn_server_port(s));
	enum { N = 2500 };
	uint8_t *buf = malloc(N * 17);
	for (int i = 0; i < N; i++) {
		uint8_t *f = buf + i * 17;
		put32(f, 13);
		f[4] = 'D';
		put32(f + 5, (uint32_t)(i % 3));
		put32(f + 9, (uint32_t)i);
		put32(f + 13, 0);
	}
	write_all(fd, buf, N * 17);
	for (int i = 0; i < N; i++) {
		size_t n;
		uint8_t *p = recv_frame(fd, &n);
		assert_non_null(p);
		assert_int_equal(n, 13);
		assert_memory_equal(p, buf + i * 17 + 4, 13);
		free(p);
	}
	free(buf);
	close(fd);
}

static void test_no_response_skipped(void **state)
{
	struct rn_server *s = *state;
	int fd = connect_to(rn_server_port(s));
	send_frame(fd, "Efirst", 6);
	send_frame(fd, "Nskip", 5);
	send_op(fd, 'D', 20, 0); /* delayed, behind a no-response slot */
	send_frame(fd, "Nskip", 5);
	send_frame(fd, "Elast", 5);
	expect_echo(fd, "Efirst");
	size_t n;
	uint8_t *p = recv_frame(fd, &n);
	assert_non_null(p);
	assert_int_equal(n, 9);
	assert_int_equal(p[0], 'D');
	free(p);
	expect_echo(fd, "Elast");
	close(fd);
}

static void check_file_response(int fd, uint32_t size)
{
	size_t n;
	uint8_t *p = recv_frame(fd, &n);
	assert_non_null(p);
	assert_int_equal(n, size + 4);
	assert_memory_equal(p, "<<", 2);
	for (size_t i = 0; i < size; i++)
		if (p[2 + i] != file_byte(i))
			fail_msg("file byte %zu differs", i);
	assert_memory_equal(p + 2 + size, ">>", 2);
	free(p);
}

static void test_file_pieces(void **state)
{
	struct rn_server *s = *state;
	int fd = connect_to(rn_server_port(s));
	send_op(fd, 'F', 1000, 0);
	send_frame(fd, "Eafter", 6);
	send_op(fd, 'F', FILE_SIZE, 0); /* several MiB: partial sendfiles and EPOLLOUT */
	send_op(fd, 'F', 3, 0);
	check_file_response(fd, 1000);
	expect_echo(fd, "Eafter");
	check_file_response(fd, FILE_SIZE);
	check_file_response(fd, 3);
	close(fd);
}

static void test_big_request(void **state)
{
	struct rn_server *s = *state;
	int fd = connect_to(rn_server_port(s));
	/* Far beyond the 64 KiB read buffer (read straight into the frame) and beyond
	 * max_inflight_bytes (8 MiB), which must not stop reading in the middle of a frame. */
	size_t n = 12 << 20;
	char *big = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	big[0] = 'E';
	big[n] = 0;
	send_frame(fd, big, n);
	send_frame(fd, "Esmall", 6);
	expect_echo(fd, big);
	expect_echo(fd, "Esmall");
	free(big);
	close(fd);
}

static void test_bad_sizes_close_only_that_conn(void **state)
{
	struct rn_server *s = *state;
	int good = connect_to(rn_server_port(s));
	send_frame(good, "Ebefore", 7);
	expect_echo(good, "Ebefore");

	int fd = connect_to(rn_server_port(s));
	uint8_t hdr[4];
	put32(hdr, MAX_REQ + 1);
	write_all(fd, hdr, 4);
	assert_true(expect_eof(fd));
	close(fd);

	fd = connect_to(rn_server_port(s));
	send_frame(fd, "Eok", 3);
	put32(hdr, 0xffffff00u); /* negative */
	write_all(fd, hdr, 4);
	expect_echo(fd, "Eok"); /* the good frame before it is still answered */
	assert_true(expect_eof(fd));
	close(fd);

	send_frame(good, "Eafter", 6);
	expect_echo(good, "Eafter");
	close(good);
}

static void test_close_after(void **state)
{
	struct rn_server *s = *state;
	int fd = connect_to(rn_server_port(s));
	/* One write: the server may close before a second write, which would then fail. */
	uint8_t two[] = {0, 0, 0, 4, 'C', 'b', 'y', 'e', 0, 0, 0, 6, 'E', 'n', 'e', 'v', 'e', 'r'};
	write_all(fd, two, sizeof(two));
	expect_echo(fd, "Cbye");
	assert_true(expect_eof(fd));
	close(fd);
}

static void test_disconnect_with_outstanding(void **state)
{
	struct rn_server *s = *state;
	int base_r = atomic_load(&g_received), base_c = atomic_load(&g_completed);
	int fd = connect_to(rn_server_port(s));
	for (int i = 0; i < 10; i++)
		send_op(fd, 'D', 30 + (uint32_t)i, 0);
	send_op(fd, 'F', FILE_SIZE, 0); /* done immediately but stuck behind the delayed ones */
	wait_until(&g_received, base_r + 11);
	close(fd);
	wait_until(&g_completed, base_c + 11);
	wait_conns(s, 0);
	/* A peer vanishing mid-response: a big response, then a reset. */
	fd = connect_to(rn_server_port(s));
	send_op(fd, 'F', FILE_SIZE, 0);
	size_t n;
	uint8_t hdr[4];
	assert_int_equal(read_all(fd, hdr, 4), 0);
	(void)n;
	struct linger lg = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	wait_conns(s, 0);
}

static void test_slow_reader_does_not_block_others(void **state)
{
	(void)state;
	struct rn_server_config cfg = {
	    .host = "127.0.0.1",
	    .nloops = 1, /* both clients on the same loop */
	    .max_inflight_bytes = 4 << 20,
	    .on_request = handler,
	};
	struct rn_server *s;
	assert_int_equal(rn_server_start(&cfg, &s), 0);
	int slow = connect_to(rn_server_port(s));
	int fast = connect_to(rn_server_port(s));
	int base = atomic_load(&g_received);
	for (int i = 0; i < 300; i++)
		send_op(slow, 'B', 1 << 20, 0); /* 300 MiB of responses nobody reads */
	usleep(200 * 1000);
	for (int i = 0; i < 20; i++) {
		send_frame(fast, "Equick", 6);
		expect_echo(fast, "Equick");
	}
	int taken = atomic_load(&g_received) - base - 20;
	/* Socket buffers hold some responses; the rest of the 300 requests wait unread. */
	assert_true(taken < 100);
	close(slow);
	close(fast);
	wait_conns(s, 0);
	rn_server_stop(s);
}

static void test_many_idle_connections(void **state)
{
	(void)state;
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 2200 && rl.rlim_max >= 2200) {
		rl.rlim_cur = 2200;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	int want = rl.rlim_cur >= 2200 ? 1000 : (int)(rl.rlim_cur - 100) / 2;
	struct rn_server_config cfg = {.host = "127.0.0.1", .nloops = 4, .on_request = handler};
	struct rn_server *s;
	assert_int_equal(rn_server_start(&cfg, &s), 0);
	int *fds = malloc(sizeof(int) * (size_t)want);
	for (int i = 0; i < want; i++)
		fds[i] = connect_to(rn_server_port(s));
	wait_conns(s, want);
	for (int i = 0; i < want; i += 97) {
		send_frame(fds[i], "Eping", 5);
		expect_echo(fds[i], "Eping");
	}
	struct rn_buf m = {0};
	rn_metrics_render(&m);
	rn_buf_append(&m, "", 1);
	char line[64];
	snprintf(line, sizeof(line), "runnel_connections %d\n", want);
	assert_non_null(strstr((char *)m.data, line));
	assert_non_null(strstr((char *)m.data, "runnel_network_bytes_sent_total "));
	rn_buf_free(&m);
	for (int i = 0; i < want; i++)
		close(fds[i]);
	free(fds);
	wait_conns(s, 0);
	rn_server_stop(s);
}

static void test_stop_with_open_connections(void **state)
{
	(void)state;
	struct rn_server_config cfg = {.host = "127.0.0.1", .nloops = 2, .on_request = handler};
	struct rn_server *s;
	assert_int_equal(rn_server_start(&cfg, &s), 0);
	int a = connect_to(rn_server_port(s));
	int b = connect_to(rn_server_port(s));
	send_op(a, 'D', 50, 0); /* still held when the server stops: drained, then freed */
	send_frame(b, "Ex", 2);
	expect_echo(b, "Ex");
	wait_conns(s, 2);
	rn_server_stop(s);
	assert_true(expect_eof(a));
	assert_true(expect_eof(b));
	close(a);
	close(b);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A muted connection answers the request that muted it, then reads nothing (not even what it
 * already received) until the mute ends; other connections are served meanwhile. */
static void test_mute(void **state)
{
	struct rn_server *s = *state;
	int fd = connect_to(rn_server_port(s));
	uint8_t buf[13 + 10];
	put32(buf, 9);
	buf[4] = 'M';
	put32(buf + 5, 1500);
	put32(buf + 9, 0);
	put32(buf + 13, 6);
	memcpy(buf + 17, "Eafter", 6);
	int before = atomic_load(&g_received);
	write_all(fd, buf, sizeof(buf)); /* both frames in one write: one read on the server */
	size_t n;
	uint8_t *p = recv_frame(fd, &n);
	assert_non_null(p);
	assert_int_equal(p[0], 'M');
	free(p);
	int64_t t0 = now_ms();
	int fd2 = connect_to(rn_server_port(s));
	send_frame(fd2, "Eother", 6);
	expect_echo(fd2, "Eother");
	close(fd2);
	/* M and the other connection's request; "Eafter" waits behind the mute. */
	assert_int_equal(atomic_load(&g_received), before + 2);
	expect_echo(fd, "Eafter");
	assert_true(now_ms() - t0 >= 1000); /* a lower bound only: load can just make it longer */
	close(fd);
}

/* A muted connection reads nothing, not even its peer's close: it goes once the mute ends
 * (Kafka's muted channels too), and a server stopping meanwhile frees it with its timer. */
static void test_close_while_muted(void **state)
{
	struct rn_server *s = *state;
	int fd = connect_to(rn_server_port(s));
	send_op(fd, 'M', 300, 0);
	size_t n;
	uint8_t *p = recv_frame(fd, &n);
	assert_non_null(p);
	free(p);
	send_frame(fd, "Eunread", 7);
	close(fd);
	wait_conns(s, 0);

	struct rn_server_config cfg = {.host = "127.0.0.1", .nloops = 1, .on_request = handler};
	struct rn_server *s2;
	assert_int_equal(rn_server_start(&cfg, &s2), 0);
	fd = connect_to(rn_server_port(s2));
	send_op(fd, 'M', 60000, 0);
	p = recv_frame(fd, &n);
	assert_non_null(p);
	free(p);
	rn_server_stop(s2); /* the mute timer is cancelled with the connection (ASan: no leak) */
	assert_true(expect_eof(fd));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_echo),
	    cmocka_unit_test(test_mute),
	    cmocka_unit_test(test_close_while_muted),
	    cmocka_unit_test(test_pipelined_reverse_completion),
	    cmocka_unit_test(test_request_count_limit),
	    cmocka_unit_test(test_no_response_skipped),
	    cmocka_unit_test(test_file_pieces),
	    cmocka_unit_test(test_big_request),
	    cmocka_unit_test(test_bad_sizes_close_only_that_conn),
	    cmocka_unit_test(test_close_after),
	    cmocka_unit_test(test_disconnect_with_outstanding),
	    cmocka_unit_test(test_slow_reader_does_not_block_others),
	    cmocka_unit_test(test_many_idle_connections),
	    cmocka_unit_test(test_stop_with_open_connections),
	};
	if (getenv("RN_TEST_FILTER"))
		cmocka_set_test_filter(getenv("RN_TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
