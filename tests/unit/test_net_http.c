/* The admin HTTP listener over a raw socket: /metrics, /health (and readiness), 404. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/metrics.h"
#include "net/http_admin.h"

/* Sends one request and returns the whole response (the server closes: Connection: close). */
static char *http_get(int port, const char *method, const char *path)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char req[256];
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", method,
			 path);
	assert_int_equal(write(fd, req, (size_t)n), n);
	size_t cap = 4096, len = 0;
	char *out = malloc(cap);
	for (;;) {
		if (cap - len < 1024)
			out = realloc(out, cap *= 2);
		ssize_t r = read(fd, out + len, cap - len - 1);
		assert_true(r >= 0);
		if (r == 0)
			break;
		len += (size_t)r;
	}
	out[len] = 0;
	close(fd);
	return out;
}

static void collect(struct rn_buf *out, void *arg)
{
	(void)arg;
	rn_buf_printf(out, "# TYPE test_metric gauge\ntest_metric 42\n");
}

static bool g_ready;

static bool ready(void *arg)
{
	(void)arg;
	return g_ready;
}

static void test_admin_endpoints(void **state)
{
	(void)state;
	struct rn_http_admin *h;
	assert_int_equal(rn_http_admin_start("127.0.0.1", 0, &h), 0);
	int port = rn_http_admin_port(h);
	assert_true(port > 0);
	rn_metrics_register(collect, NULL);

	char *r = http_get(port, "GET", "/metrics");
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(r, "\r\n\r\n# TYPE test_metric gauge\ntest_metric 42\n"));
	free(r);

	r = http_get(port, "GET", "/health");
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(strstr(r, "\r\n\r\nok\n"));
	free(r);

	rn_http_admin_set_health(h, ready, NULL);
	r = http_get(port, "GET", "/health");
	assert_non_null(strstr(r, "HTTP/1.1 503"));
	free(r);
	g_ready = true;
	r = http_get(port, "GET", "/health");
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	free(r);

	r = http_get(port, "GET", "/nope");
	assert_non_null(strstr(r, "HTTP/1.1 404"));
	free(r);
	r = http_get(port, "POST", "/metrics");
	assert_non_null(strstr(r, "HTTP/1.1 405"));
	free(r);

	rn_metrics_unregister(collect, NULL);
	rn_http_admin_stop(h);
}

static void test_bad_address(void **state)
{
	(void)state;
	struct rn_http_admin *h = NULL;
	assert_true(rn_http_admin_start("not-an-ip", 0, &h) < 0);
	assert_null(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_admin_endpoints),
	    cmocka_unit_test(test_bad_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
