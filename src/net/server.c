/*
 * Server lifecycle: bind, one loop thread per core, stop and drain; plus its metrics.
 *
 * Stopping happens in this order, so that no connection is created or touched after its loop
 * is gone: (1) every loop runs a stop task: loops[0] closes the listener, each loop refuses new
 * connections and closes its own; (2) the loops keep running while handlers finish the
 * requests they still hold (timers, posted completions), up to stop_drain_ms; (3) the loops
 * stop and their threads are joined; (4) everything is freed.
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "net/loop.h"
#include "net/server_int.h"

enum {
	DEFAULT_MAX_REQUEST = 100 * 1024 * 1024, /* Kafka's socket.request.max.bytes */
	DEFAULT_MAX_INFLIGHT = 64 * 1024 * 1024,
	DEFAULT_DRAIN_MS = 5000,
	BACKLOG = 1024,
};

static int bind_listener(const char *host, int port, int *lfd, int *bound_port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai;
	char portstr[16];
	snprintf(portstr, sizeof(portstr), "%d", port);
	int rc = getaddrinfo(host, portstr, &hints, &ai);
	if (rc != 0) {
		rn_error("listener: cannot resolve %s: %s", host ? host : "*", gai_strerror(rc));
		return -EINVAL;
	}
	int err = 0;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto out_ai;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, BACKLOG) < 0) {
		err = -errno;
		goto out_close;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		err = -errno;
		goto out_close;
	}
	*bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						     : ((struct sockaddr_in *)&ss)->sin_port);
	*lfd = fd;
	freeaddrinfo(ai);
	return 0;

out_close:
	close(fd);
out_ai:
	rn_error("listener: cannot listen on %s:%d: %s", host ? host : "*", port, strerror(-err));
	freeaddrinfo(ai);
	return err;
}

static void *loop_thread(void *arg)
{
	struct rn__netloop *nl = arg;
	/* sendfile(2) on a reset socket raises SIGPIPE, which must not kill the broker. A blocked
	 * thread-directed signal just stays pending; the call returns EPIPE. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	char name[16];
	snprintf(name, sizeof(name), "rn-loop-%d", nl->index);
	pthread_setname_np(pthread_self(), name);
	int err = rn_loop_run(nl->loop);
	if (err)
		rn_error("loop %d: stopped on error %d", nl->index, err);
	return NULL;
}

static void collect(struct rn_buf *out, void *arg)
{
	struct rn_server *s = arg;
	rn_buf_printf(out,
		      "# HELP runnel_connections Open client connections.\n"
		      "# TYPE runnel_connections gauge\n"
		      "runnel_connections %lld\n"
		      "# HELP runnel_connections_accepted_total Client connections accepted.\n"
		      "# TYPE runnel_connections_accepted_total counter\n"
		      "runnel_connections_accepted_total %llu\n"
		      "# HELP runnel_network_bytes_received_total Bytes read from clients.\n"
		      "# TYPE runnel_network_bytes_received_total counter\n"
		      "runnel_network_bytes_received_total %llu\n"
		      "# HELP runnel_network_bytes_sent_total Bytes written to clients.\n"
		      "# TYPE runnel_network_bytes_sent_total counter\n"
		      "runnel_network_bytes_sent_total %llu\n",
		      (long long)atomic_load(&s->connections),
		      (unsigned long long)atomic_load(&s->accepted),
		      (unsigned long long)atomic_load(&s->bytes_rx),
		      (unsigned long long)atomic_load(&s->bytes_tx));
}

static void free_server(struct rn_server *s)
{
	for (int i = 0; i < s->nloops; i++) {
		rn_loop_free(s->loops[i].loop);
		rn_free(s->loops[i].rbuf);
		rn_free(s->loops[i].bounce);
	}
	for (int i = 0; i < s->nlis; i++) {
		if (s->lis[i].lfd >= 0)
			close(s->lis[i].lfd);
		rn_free(s->lis[i].host);
	}
	rn_free(s->lis);
	rn_free(s->loops);
	rn_free(s->host);
	rn_free(s);
}

static void stop_loops(struct rn_server *s)
{
	for (int i = 0; i < s->nloops; i++) {
		if (!s->loops[i].started)
			continue;
		rn_loop_stop(s->loops[i].loop);
		pthread_join(s->loops[i].thread, NULL);
		s->loops[i].started = false;
	}
}

static int start_loops(struct rn_server *s)
{
	for (int i = 0; i < s->nloops; i++) {
		struct rn__netloop *nl = &s->loops[i];
		nl->srv = s;
		nl->index = i;
		nl->rbuf = rn_malloc(RN__RBUF_SIZE);
		int err = rn_loop_new(&nl->loop);
		if (err)
			return err;
	}
	int err = rn__listener_start(s);
	if (err)
		return err;
	for (int i = 0; i < s->nloops; i++) {
		err = -pthread_create(&s->loops[i].thread, NULL, loop_thread, &s->loops[i]);
		if (err)
			return err;
		s->loops[i].started = true;
	}
	return 0;
}

/* Copies the listener table (cfg.listeners is the caller's) and binds every socket; a port
 * taken by an earlier listener of the same config fails like any other. */
static int make_listeners(struct rn_server *s, const struct rn_server_config *cfg)
{
	struct rn_listener_config one = {.name = "PLAINTEXT", .host = cfg->host, .port = cfg->port};
	const struct rn_listener_config *lc = cfg->nlisteners > 0 ? cfg->listeners : &one;
	int n = cfg->nlisteners > 0 ? cfg->nlisteners : 1;
	s->cfg.listeners = NULL;
	s->cfg.nlisteners = n;
	s->lis = rn_calloc((size_t)n, sizeof(*s->lis));
	for (int i = 0; i < n; i++)
		s->lis[i].lfd = -1;
	s->nlis = n;
	for (int i = 0; i < n; i++) {
		struct rn__listener *li = &s->lis[i];
		li->srv = s;
		li->index = i;
		snprintf(li->name, sizeof(li->name), "%s", lc[i].name ? lc[i].name : "PLAINTEXT");
		li->host = lc[i].host ? rn_strdup(lc[i].host) : NULL;
		li->wrap = lc[i].wrap;
		li->wrap_arg = lc[i].wrap_arg;
		int err = bind_listener(li->host, lc[i].port, &li->lfd, &li->port);
		if (err)
			return err;
	}
	return 0;
}

/* The caller owns *out and releases it with rn_server_stop. cfg is copied. */
int rn_server_start(const struct rn_server_config *cfg, struct rn_server **out)
{
	if (!cfg->on_request || cfg->nloops < 0 || cfg->nlisteners < 0 ||
	    (cfg->nlisteners > 0 && !cfg->listeners))
		return -EINVAL;
	struct rn_server *s = rn_calloc(1, sizeof(*s));
	s->cfg = *cfg;
	s->host = cfg->host ? rn_strdup(cfg->host) : NULL;
	s->cfg.host = s->host;
	if (!s->cfg.max_request_bytes)
		s->cfg.max_request_bytes = DEFAULT_MAX_REQUEST;
	if (s->cfg.max_request_bytes > INT32_MAX)
		s->cfg.max_request_bytes = INT32_MAX;
	if (!s->cfg.max_inflight_bytes)
		s->cfg.max_inflight_bytes = DEFAULT_MAX_INFLIGHT;
	if (s->cfg.stop_drain_ms <= 0)
		s->cfg.stop_drain_ms = DEFAULT_DRAIN_MS;
	s->nloops = cfg->nloops;
	if (s->nloops == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		s->nloops = n > 0 ? (int)n : 1;
	}
	s->loops = rn_calloc((size_t)s->nloops, sizeof(*s->loops));
	int err = make_listeners(s, cfg);
	if (err)
		goto out_free;
	err = start_loops(s);
	if (err) {
		rn_error("server: cannot start loops: %s", strerror(-err));
		goto out_stop;
	}
	rn_metrics_register(collect, s);
	for (int i = 0; i < s->nlis; i++)
		rn_info("listening on %s:%d (%s) with %d loops",
			s->lis[i].host ? s->lis[i].host : "*", s->lis[i].port, s->lis[i].name,
			s->nloops);
	*out = s;
	return 0;

out_stop:
	stop_loops(s);
out_free:
	free_server(s);
	return err;
}

int rn_server_port(const struct rn_server *s)
{
	return s->lis[0].port;
}

int rn_server_listener_port(const struct rn_server *s, int i)
{
	return i >= 0 && i < s->nlis ? s->lis[i].port : -1;
}

int rn_server_nloops(const struct rn_server *s)
{
	return s->nloops;
}

struct rn_loop *rn_server_loop(const struct rn_server *s, int i)
{
	return i >= 0 && i < s->nloops ? s->loops[i].loop : NULL;
}

int64_t rn_server_connections(const struct rn_server *s)
{
	return atomic_load(&s->connections);
}

static void stop_task(void *arg)
{
	struct rn__netloop *nl = arg;
	nl->stopping = true;
	if (nl->index == 0)
		rn__listener_stop(nl->srv);
	rn__conn_close_all(nl);
	atomic_fetch_add(&nl->srv->stopped_loops, 1);
}

/* Must not be called from a loop thread of s: it joins them. */
void rn_server_stop(struct rn_server *s)
{
	if (!s)
		return;
	rn_metrics_unregister(collect, s);
	for (int i = 0; i < s->nloops; i++)
		rn_loop_post(s->loops[i].loop, stop_task, &s->loops[i]);
	int64_t deadline = rn_mono_ms() + s->cfg.stop_drain_ms;
	struct timespec ms = {0, 1000 * 1000};
	while (atomic_load(&s->stopped_loops) < s->nloops ||
	       (atomic_load(&s->live_conns) > 0 && rn_mono_ms() < deadline))
		nanosleep(&ms, NULL);
	stop_loops(s);
	int64_t left = atomic_load(&s->live_conns);
	if (left > 0) {
		/* Their handlers still hold requests and may touch them later: leaking is the
		 * only safe choice. The broker should finish its requests before stopping. */
		rn_warn("server: %lld connections still had outstanding requests at shutdown; "
			"leaking them",
			(long long)left);
	}
	free_server(s);
}
