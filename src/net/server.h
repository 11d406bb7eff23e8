/*
 * The Kafka listener and its connections. The server runs one loop thread per core; the listener
 * spreads accepted connections over the loops round-robin. A connection reads size-prefixed
 * frames, hands each one to the request callback as an rn_req, and writes the responses back in
 * request order, whatever order the handlers complete them in (clients pipeline requests).
 *
 *   socket -> [i32 size][frame ...] -> rn_req (owns the frame) -> on_request()
 *   rn_req_done(req) -> in-order queue -> [i32 size][req->out] -> writev / sendfile
 */
#ifndef RN_NET_SERVER_H
#define RN_NET_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/iochain.h"

struct rn_loop;
struct rn_conn;
struct rn_server;

struct rn_req {
	struct rn_conn *conn; /* NULL-safe to keep; the conn outlives its requests */
	struct rn_loop *loop; /* the loop that owns conn; rn_req_done must run there */
	uint8_t *frame;       /* request bytes after the size prefix, owned by req, mutable */
	size_t len;
	int64_t recv_us;       /* rn_mono_us() when the frame was complete */
	struct rn_arena arena; /* freed with the req */
	struct rn_iochain out; /* the response WITHOUT its size prefix; the conn adds it */
	bool no_response;      /* acks=0 Produce: nothing is sent, the slot is skipped */
	bool close_after;      /* close the connection once this response is written */
	void *user;            /* for the handler */
	struct rn_req *next;   /* conn's in-order queue */
	bool done;
	int64_t mute_ms; /* rn_req_mute: the connection reads nothing for this long after it */
};

/* Called on the conn's loop thread for every complete frame. The handler owns req until it
 * calls rn_req_done(req) exactly once, on req->loop's thread (use rn_loop_post from others). */
typedef void (*rn_request_cb)(struct rn_req *req, void *arg);

struct rn_transport;

/* One listening socket of a server (Kafka's listeners entry). */
struct rn_listener_config {
	const char *name; /* "PLAINTEXT", "SSL", "INTERNAL" ...: for logs and the session */
	const char *host;
	int port; /* 0 = ephemeral (see rn_server_listener_port) */
	/* Wraps an accepted non-blocking socket in its transport (TLS); NULL = plain TCP.
	 * Returns NULL when it cannot (the socket is then closed, with a log line). */
	struct rn_transport *(*wrap)(void *wrap_arg, int fd);
	void *wrap_arg;
};

struct rn_server_config {
	const char *host;          /* "127.0.0.1" */
	int port;                  /* 0 = ephemeral (see rn_server_port) */
	int nloops;                /* 0 = number of online CPUs */
	size_t max_request_bytes;  /* socket.request.max.bytes; larger frames close the conn */
	size_t max_inflight_bytes; /* per conn: stop reading while this much is queued */
	rn_request_cb on_request;
	void *arg;
	int stop_drain_ms; /* rn_server_stop waits this long for held requests; 0 = 5000 */
	/* Several listeners (nlisteners > 0) share the loops; host and port above are then
	 * ignored. nlisteners == 0: one plain TCP listener on host:port, index 0. */
	const struct rn_listener_config *listeners;
	int nlisteners;
	/* Per connection, on its loop thread: on_open returns the connection's session (may be
	 * NULL), on_close frees it when the connection object goes, after its last request. */
	void *(*on_open)(void *arg, int listener, const char *peer);
	void (*on_close)(void *arg, void *session);
	/* Optional, per frame on the loop thread: the largest frame the connection may send now
	 * (0 = max_request_bytes); the broker's is Kafka's sasl.server.max.receive.size for a
	 * SASL connection not yet authenticated. */
	size_t (*max_frame)(void *arg, void *session);
};

/* Binds, listens and starts the loop threads. The caller owns *out (rn_server_stop frees). */
int rn_server_start(const struct rn_server_config *cfg, struct rn_server **out);
/* The bound port (useful with port 0). */
int rn_server_port(const struct rn_server *s);
/* The loops, so other modules can post work or add timers (e.g. periodic maintenance). */
int rn_server_nloops(const struct rn_server *s);
struct rn_loop *rn_server_loop(const struct rn_server *s, int i);
/* Closes the listener and all connections, lets handlers finish held requests for up to
 * cfg.stop_drain_ms, joins the threads, frees everything. Never call it from a loop thread of s,
 * and never call rn_req_done for s's requests after it returned. */
void rn_server_stop(struct rn_server *s);

/* Completes req: its response (req->out) is queued behind earlier requests of the connection.
 * If the connection is gone, the req is simply freed. Frees req and its arena eventually.
 * Must run on req->loop's thread (asserted in debug builds). */
void rn_req_done(struct rn_req *req);
/* Peer address of the request's connection, "ip:port", for logs; valid while req lives. */
const char *rn_req_peer(const struct rn_req *req);
/* The session on_open gave the request's connection (NULL without the hook). */
void *rn_req_session(const struct rn_req *req);
/* Index of the listener the request's connection came in on. */
int rn_req_listener(const struct rn_req *req);
/* The request's connection's transport (to ask a TLS transport for the peer's certificate);
 * NULL once the connection closed. Loop thread only. */
struct rn_transport *rn_req_transport(const struct rn_req *req);
/* Quotas (Kafka's channel muting): once this request's response is written, the connection
 * reads nothing more for ms milliseconds. The largest of several pending mutes wins. */
void rn_req_mute(struct rn_req *req, int64_t ms);
/* The bound port of listener i (rn_server_port is listener 0's). */
int rn_server_listener_port(const struct rn_server *s, int i);
/* Number of open client connections, all loops. */
int64_t rn_server_connections(const struct rn_server *s);

#endif
