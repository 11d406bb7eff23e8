/*
 * The poller behind rn_loop (Redis ae.c / ae_epoll.c): the loop keeps the fd -> callback table
 * and asks the poller only "which fds are ready". epoll is the one implementation today; a
 * kqueue or io_uring backend would implement these five functions and nothing else.
 *
 * The loop uses level-triggered semantics throughout: a ready fd is reported again on every
 * wait until its handler consumes the data or stops watching it. That keeps handlers simple
 * (one bounded read or write per event is fair to other connections and loses nothing).
 */
#ifndef RN_NET_POLLER_H
#define RN_NET_POLLER_H

struct rn__poller;

struct rn__fired {
	int fd;
	int events; /* RN_EV_* mask; errors and hang-ups are reported as READ|WRITE */
};

/* Creates a poller; the caller owns it and frees it with rn__poller_free. Returns 0 or -errno. */
int rn__poller_new(struct rn__poller **out);
void rn__poller_free(struct rn__poller *p);
/* Changes fd's interest from old_events to new_events (either may be 0). Returns 0 or -errno. */
int rn__poller_set(struct rn__poller *p, int fd, int old_events, int new_events);
/* Waits up to timeout_ms (-1 = forever) and fills at most max entries of fired.
 * Returns the number filled, 0 on timeout or EINTR, or -errno. */
int rn__poller_wait(struct rn__poller *p, struct rn__fired *fired, int max, int timeout_ms);

#endif
