/*
 * Internals shared by server.c (threads, lifecycle, metrics), listener.c (accept and spread)
 * and conn.c (one client connection). Nothing outside src/net includes this.
 */
#ifndef RN_NET_SERVER_INT_H
#define RN_NET_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/server.h"

enum {
	RN__RBUF_SIZE = 64 * 1024, /* per loop, shared by all its connections */
	RN__MAX_QUEUED_REQS = 1000 /* per conn: stop reading beyond this many outstanding */
};

/* One loop thread and what it owns. Only that thread touches the fields below loop. */
struct rn__netloop {
	struct rn_server *srv;
	struct rn_loop *loop;
	int index;
	pthread_t thread;
	bool started;
	bool stopping;         /* set by the stop task: new connections are refused */
	uint8_t *rbuf;         /* RN__RBUF_SIZE bytes: every read lands here first (see conn.c) */
	uint8_t *bounce;       /* pread buffer when sendfile is unavailable; allocated on demand */
	struct rn_conn *conns; /* every conn not yet freed, open or closing */
};

/* One listening socket (a `listeners` entry). Its state is touched only on loops[0]. */
struct rn__listener {
	struct rn_server *srv;
	int index;
	char name[64];
	char *host;
	int lfd;
	int port;
	struct rn_transport *(*wrap)(void *wrap_arg, int fd);
	void *wrap_arg;
	struct rn_timer *accept_retry;
};

struct rn_server {
	struct rn_server_config cfg; /* copy; cfg.host points at host, cfg.listeners at lis */
	char *host;
	int nloops;
	struct rn__netloop *loops;
	int nlis;
	struct rn__listener *lis;

	unsigned next_loop; /* round-robin over loops, shared by every listener; loops[0] */

	_Atomic int stopped_loops;   /* stop tasks that have run */
	_Atomic int64_t live_conns;  /* conn objects not yet freed (open or awaiting handlers) */
	_Atomic int64_t connections; /* open connections: runnel_connections */
	_Atomic uint64_t accepted;
	_Atomic uint64_t bytes_rx;
	_Atomic uint64_t bytes_tx;
};

/* Loop thread of nl. Takes ownership of fd (non-blocking, accepted) that came in on listener
 * li; peer is "ip:port". */
void rn__conn_open(struct rn__netloop *nl, int fd, const struct rn__listener *li, const char *peer);
/* Loop thread of nl. Closes every connection of nl; requests still held by handlers keep their
 * conn alive until rn_req_done. */
void rn__conn_close_all(struct rn__netloop *nl);

/* loops[0]'s thread (or before the threads start). Starts/stops accepting on every
 * listener's socket. */
int rn__listener_start(struct rn_server *srv);
void rn__listener_stop(struct rn_server *srv);

#endif
