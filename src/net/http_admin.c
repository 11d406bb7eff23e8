/*
 * The admin HTTP listener: libmicrohttpd with its own polling thread, bound to one address.
 *
 * It must keep answering /health (liveness probes act on it) while clients that never send a
 * request hold connections open. Hence: epoll rather than select (select cannot watch a
 * descriptor above 1023, and a broker with many segments opens those quickly), room for many
 * connections (a sleeping one costs a descriptor and a lazily touched memory pool), idle ones
 * closed after IDLE_TIMEOUT_S, and past the limit a refusal logged at most once per interval.
 */
#include "net/http_admin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/metrics.h"

enum {
	IDLE_TIMEOUT_S = 10,    /* a /metrics scrape takes milliseconds */
	POOL_BYTES = 16 * 1024, /* per connection: request line and headers; we take no bodies */
	MAX_CONNS = 4096,
	LOG_EVERY_MS = 10000,
};

struct rn_http_admin {
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t lock; /* guards ready/ready_arg against rn_http_admin_set_health */
	bool (*ready)(void *);
	void *ready_arg;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     const void *body, size_t len)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result serve_metrics(struct MHD_Connection *conn)
{
	struct rn_buf out = {0};
	rn_metrics_render(&out);
	enum MHD_Result ret = reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
				    out.data ? (const void *)out.data : "", out.len);
	rn_buf_free(&out);
	return ret;
}

static enum MHD_Result serve_health(struct rn_http_admin *h, struct MHD_Connection *conn)
{
	pthread_mutex_lock(&h->lock);
	bool ok = !h->ready || h->ready(h->ready_arg);
	pthread_mutex_unlock(&h->lock);
	if (ok)
		return reply(conn, MHD_HTTP_OK, "text/plain", "ok\n", 3);
	return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", "not ready\n", 10);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	(void)upload_data;
	(void)con_cls;
	struct rn_http_admin *h = cls;
	bool known = strcmp(url, "/metrics") == 0 || strcmp(url, "/health") == 0;
	if (!known)
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 10);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		*upload_data_size = 0; /* ignore any body */
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     "method not allowed\n", 19);
	}
	if (url[1] == 'm')
		return serve_metrics(conn);
	return serve_health(h, conn);
}

__attribute__((format(printf, 2, 0))) static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[256];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = 0;
	/* One line per refused connection would let any client flood the log. */
	rn_log_every(LOG_EVERY_MS, RN_LOG_WARN, "http admin: %s", line);
}

/*
 * At most a quarter of the descriptors the process may open, so that idle admin connections
 * can never starve the Kafka listener and the partitions' files; capped at MAX_CONNS.
 */
static unsigned conn_limit(void)
{
	struct rlimit rl;
	rlim_t n = MAX_CONNS;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 4 < n)
		n = rl.rlim_cur / 4;
	return n < 16 ? 16 : (unsigned)n;
}

/* The caller owns *out (rn_http_admin_stop). */
int rn_http_admin_start(const char *host, int port, struct rn_http_admin **out)
{
	struct sockaddr_storage ss = {0};
	/* AUTO picks epoll on Linux: select() fails on descriptors above 1023. */
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	unsigned limit = conn_limit();
	if (!host || port < 0 || port > 65535)
		return -EINVAL;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	} else {
		rn_error("http admin: %s is not a numeric IP address", host);
		return -EINVAL;
	}
	struct rn_http_admin *h = rn_calloc(1, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->d = MHD_start_daemon(
	    flags, (uint16_t)port, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, log_mhd,
	    NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)POOL_BYTES, MHD_OPTION_END);
	if (!h->d) {
		int err = errno ? -errno : -EIO;
		rn_error("http admin: cannot listen on %s:%d", host, port);
		pthread_mutex_destroy(&h->lock);
		rn_free(h);
		return err;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : port;
	rn_info(
	    "http admin listening on %s:%d (at most %u connections, idle ones closed after %d s)",
	    host, h->port, limit, (int)IDLE_TIMEOUT_S);
	*out = h;
	return 0;
}

int rn_http_admin_port(const struct rn_http_admin *h)
{
	return h->port;
}

void rn_http_admin_set_health(struct rn_http_admin *h, bool (*ready)(void *), void *arg)
{
	pthread_mutex_lock(&h->lock);
	h->ready = ready;
	h->ready_arg = arg;
	pthread_mutex_unlock(&h->lock);
}

void rn_http_admin_stop(struct rn_http_admin *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	pthread_mutex_destroy(&h->lock);
	rn_free(h);
}
