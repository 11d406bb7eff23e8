/*
 * The listening sockets, all watched on loops[0]: each accepts and hands a new socket to the
 * next loop round-robin (one counter for all listeners) with rn_loop_post, so the conn is
 * created on (and owned by) its loop's thread, with its listener's transport.
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
	const struct rn__listener *li;
	int fd;
	char peer[64];
};

static void open_task(void *arg)
{
	struct newconn *nc = arg;
	if (nc->nl->stopping)
		close(nc->fd);
	else
		rn__conn_open(nc->nl, nc->fd, nc->li, nc->peer);
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
	struct rn__listener *li = arg;
	li->accept_retry = NULL;
	if (li->lfd >= 0)
		rn_loop_watch(l, li->lfd, RN_EV_READ, on_accept, li);
}

/* Out of descriptors: with a level-triggered listener we would spin on the pending connection,
 * so stop watching it for a while and let closes free some fds. */
static void pause_accept(struct rn__listener *li, struct rn_loop *l, int err)
{
	rn_warn("listener %s: accept failed: %s; pausing accepts for %d ms", li->name,
		strerror(err), ACCEPT_RETRY_MS);
	rn_loop_unwatch(l, li->lfd);
	li->accept_retry = rn_loop_timer_add(l, ACCEPT_RETRY_MS, resume_accept, li);
}

static void on_accept(struct rn_loop *l, int fd, int events, void *arg)
{
	(void)events;
	struct rn__listener *li = arg;
	struct rn_server *srv = li->srv;
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
				pause_accept(li, l, err);
				return;
			}
			rn_warn("listener %s: accept failed: %s", li->name, strerror(err));
			return;
		}
		atomic_fetch_add_explicit(&srv->accepted, 1, memory_order_relaxed);
		struct newconn *nc = rn_malloc(sizeof(*nc));
		nc->nl = &srv->loops[srv->next_loop++ % (unsigned)srv->nloops];
		nc->li = li;
		nc->fd = cfd;
		format_peer(&ss, nc->peer, sizeof(nc->peer));
		rn_loop_post(nc->nl->loop, open_task, nc);
	}
}

int rn__listener_start(struct rn_server *srv)
{
	for (int i = 0; i < srv->nlis; i++) {
		struct rn__listener *li = &srv->lis[i];
		int err = rn_loop_watch(srv->loops[0].loop, li->lfd, RN_EV_READ, on_accept, li);
		if (err)
			return err;
	}
	return 0;
}

void rn__listener_stop(struct rn_server *srv)
{
	struct rn_loop *l = srv->loops[0].loop;
	for (int i = 0; i < srv->nlis; i++) {
		struct rn__listener *li = &srv->lis[i];
		if (li->accept_retry) {
			rn_loop_timer_cancel(l, li->accept_retry);
			li->accept_retry = NULL;
		}
		if (li->lfd >= 0) {
			rn_loop_unwatch(l, li->lfd);
			close(li->lfd);
			li->lfd = -1;
		}
	}
}
