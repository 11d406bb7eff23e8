/* Plain TCP transport: sendmsg/readv/sendfile on the socket. */
#include "net/transport.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "net/loop.h"

static ssize_t tcp_readv(struct rn_transport *t, const struct iovec *iov, int n)
{
	ssize_t r;
	do
		r = readv(t->fd, iov, n);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static ssize_t tcp_writev(struct rn_transport *t, const struct iovec *iov, int n)
{
	/* sendmsg rather than writev: MSG_NOSIGNAL turns a vanished peer into EPIPE instead of
	 * a process-killing SIGPIPE. */
	struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
	ssize_t r;
	do
		r = sendmsg(t->fd, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static ssize_t tcp_sendfile(struct rn_transport *t, int in_fd, uint64_t *off, size_t len)
{
	/* sendfile(2) may raise SIGPIPE on a reset socket: the loop threads block it (server.c). */
	off_t o = (off_t)*off;
	ssize_t r;
	do
		r = sendfile(t->fd, in_fd, &o, len);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	*off = (uint64_t)o;
	return r;
}

static int tcp_want_events(struct rn_transport *t)
{
	(void)t;
	return 0;
}

static void tcp_close(struct rn_transport *t)
{
	close(t->fd);
	rn_free(t);
}

static const struct rn_transport_ops tcp_ops = {
    .name = "tcp",
    .readv = tcp_readv,
    .writev = tcp_writev,
    .sendfile = tcp_sendfile,
    .want_events = tcp_want_events,
    .close = tcp_close,
};

struct rn_transport *rn_transport_tcp_new(int fd)
{
	int one = 1;
	/* Responses are written whole; Nagle would only add latency to pipelined replies. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct rn_transport *t = rn_malloc(sizeof(*t));
	t->ops = &tcp_ops;
	t->fd = fd;
	return t;
}
