/* The epoll backend of the poller interface (poller.h), level-triggered. */
#include "net/poller.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/alloc.h"
#include "net/loop.h"

enum { MAX_EVENTS = 256 };

struct rn__poller {
	int epfd;
	struct epoll_event events[MAX_EVENTS];
};

int rn__poller_new(struct rn__poller **out)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct rn__poller *p = rn_calloc(1, sizeof(*p));
	p->epfd = fd;
	*out = p;
	return 0;
}

void rn__poller_free(struct rn__poller *p)
{
	if (!p)
		return;
	close(p->epfd);
	rn_free(p);
}

int rn__poller_set(struct rn__poller *p, int fd, int old_events, int new_events)
{
	struct epoll_event ev = {0};
	int op;
	if (new_events == 0)
		op = EPOLL_CTL_DEL;
	else if (old_events == 0)
		op = EPOLL_CTL_ADD;
	else
		op = EPOLL_CTL_MOD;
	if (op != EPOLL_CTL_DEL && old_events == new_events)
		return 0;
	if (new_events & RN_EV_READ)
		ev.events |= EPOLLIN | EPOLLRDHUP;
	if (new_events & RN_EV_WRITE)
		ev.events |= EPOLLOUT;
	ev.data.fd = fd;
	if (epoll_ctl(p->epfd, op, fd, &ev) < 0)
		return -errno;
	return 0;
}

int rn__poller_wait(struct rn__poller *p, struct rn__fired *fired, int max, int timeout_ms)
{
	if (max > MAX_EVENTS)
		max = MAX_EVENTS;
	int n = epoll_wait(p->epfd, p->events, max, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint32_t e = p->events[i].events;
		int mask = 0;
		if (e & (EPOLLIN | EPOLLRDHUP))
			mask |= RN_EV_READ;
		if (e & EPOLLOUT)
			mask |= RN_EV_WRITE;
		/* Errors and hang-ups wake both directions: whichever handler runs sees the
		 * failure on its next read or write and closes. */
		if (e & (EPOLLERR | EPOLLHUP))
			mask |= RN_EV_READ | RN_EV_WRITE;
		fired[i].fd = p->events[i].data.fd;
		fired[i].events = mask;
	}
	return n;
}
