/*
 * The listening socket, watched on loops[0]: accepts and hands each new socket to the next loop
 * round-robin with rn_loop_post, so the conn is created on (and owned by) its loop's thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "net/loop.h"
#include "net/server_int.h"

enum { ACCEPTS_PER_EVENT = 64, ACCEPT_RETRY_MS = 100 };

struct newconn {
	struct rn__netloop *nl;
	int fd;
	char peer[64];
};

static void open_task(void *arg)
{
	struct newconn *nc = arg;
	if (nc->nl->stopping)
		close(nc->fd);
	else
		rn__conn_open(nc->nl, nc->fd, 0, nc->peer);
	rn_free(nc);
}

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
		snprintf(out, n, "%s:%d", ip, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
		snprintf(out, n, "[%s]:%d", ip, port);
	} else {
		snprintf(out, n, "?");
	}
}

static void on_accept(struct rn_loop *l, int fd, int events, void *arg);

static void resume_accept(struct rn_loop *l, void *arg)
{
	struct rn_server *srv = arg;
	srv->accept_retry = NULL;
	if (srv->lfd >= 0)
		rn_loop_watch(l, srv->lfd, RN_EV_READ, on_accept, srv);
}

/* Out of descriptors: with a level-triggered listener we would spin on the pending connection,
 * so stop watching it for a while and let closes free some fds. */
static void pause_accept(struct rn_server *srv, struct rn_loop *l, int err)
{
	rn_warn("listener: accept failed: %s; pausing accepts for %d ms", strerror(err),
		ACCEPT_RETRY_MS);
	rn_loop_unwatch(l, srv->lfd);
	srv->accept_retry = rn_loop_timer_add(l, ACCEPT_RETRY_MS, resume_accept, srv);
}

static void on_accept(struct rn_loop *l, int fd, int events, void *arg)
{
	(void)events;
	struct rn_server *srv = arg;
	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			int err = errno;
			if (err == EAGAIN || err == EWOULDBLOCK)
				return;
			if (err == EINTR || err == ECONNABORTED || err == EPROTO)
				continue;
			if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
				pause_accept(srv, l, err);
				return;
			}
			rn_warn("listener: accept failed: %s", strerror(err));
			return;
		}
		atomic_fetch_add_explicit(&srv->accepted, 1, memory_order_relaxed);
		struct newconn *nc = rn_malloc(sizeof(*nc));
		nc->nl = &srv->loops[srv->next_loop++ % (unsigned)srv->nloops];
		nc->fd = cfd;
		format_peer(&ss, nc->peer, sizeof(nc->peer));
		rn_loop_post(nc->nl->loop, open_task, nc);
	}
}

int rn__listener_start(struct rn_server *srv)
{
	return rn_loop_watch(srv->loops[0].loop, srv->lfd, RN_EV_READ, on_accept, srv);
}

void rn__listener_stop(struct rn_server *srv)
{
	struct rn_loop *l = srv->loops[0].loop;
	if (srv->accept_retry) {
		rn_loop_timer_cancel(l, srv->accept_retry);
		srv->accept_retry = NULL;
	}
	if (srv->lfd >= 0) {
		rn_loop_unwatch(l, srv->lfd);
		close(srv->lfd);
		srv->lfd = -1;
	}
}
