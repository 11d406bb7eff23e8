/*
 * One client connection: frames in, responses out in request order.
 *
 * Reading. Every read lands in the loop's shared 64 KiB buffer (nl->rbuf), and complete frames
 * are copied from there into their rn_req, so an idle connection owns no read buffer at all.
 * A frame that is cut by the end of a read gets its rn_req allocated at once (its size is
 * known and checked), and the following reads go straight into req->frame with readv
 * [rest of frame][shared buffer]: every frame byte is copied at most once, however large.
 * Up to 3 bytes of a cut size prefix wait in conn->hdr.
 *
 * Backpressure. While a connection holds more than max_inflight_bytes (frames not yet freed +
 * responses not yet written) or RN__MAX_QUEUED_REQS requests, it stops parsing: the unparsed
 * rest of the read waits in conn->stash, and the fd is not watched for reading. When writes
 * drain it below the limits, a posted task parses the stash and reading resumes.
 *
 * Writing. Requests queue in arrival order (head .. tail). rn_req_done marks one done; the
 * connection then writes every done response at the head: [i32 size][pieces...], memory
 * pieces of several responses gathered into one writev, file pieces with sendfile. wpos
 * counts the bytes of the head response already written, so partial writes resume exactly.
 *
 * Muting (quotas, Kafka's channel muting). A request that rn_req_mute marked makes the
 * connection read nothing for its mute time once its response is written: reads and parsing
 * stop (the unparsed rest waits in the stash, as above) from the moment a mute is pending, so
 * pipelined requests behind a throttled one wait too, and a timer lifts the mute.
 *
 * Lifetime. refs = 1 while open + 1 per queued request + 1 while a callback runs + 1 while
 * the mute timer is armed. A closed
 * connection keeps its undone requests queued; their rn_req_done just frees them, and the
 * last one frees the connection.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "net/loop.h"
#include "net/server_int.h"
#include "net/transport.h"

enum {
	MAX_IOV = 64,
	WRITE_BUDGET = 4 << 20, /* bytes per flush before yielding to other connections */
	BOUNCE_SIZE = 64 * 1024,
};

struct rn_conn {
	struct rn__netloop *nl;
	struct rn_transport *tp;
	int fd;
	int refs;
	int events; /* currently watched RN_EV_* */
	bool closed;
	bool in_read; /* rn_req_done defers flushing to the end of the read */
	bool flush_pending;
	bool want_write; /* a write hit EAGAIN or the budget: wait for EPOLLOUT */
	uint8_t hdr[4];  /* a size prefix cut by the end of a read */
	int hdrlen;
	uint8_t *stash; /* unparsed bytes kept while over the limits */
	size_t stash_len;
	bool resume_posted;
	bool read_posted;       /* a read task for bytes the transport already holds */
	struct rn_req *partial; /* frame being read, not queued yet */
	size_t got;
	struct rn_req *head, *tail;
	int nreqs;
	size_t queued_bytes;         /* frames held + response bytes not yet written */
	uint64_t wpos;               /* bytes of the head's response already written */
	struct rn_conn *prev, *next; /* nl->conns */
	char peer[64];
	int listener;      /* index of the listener it came in on */
	int mutes_pending; /* queued requests with a mute not applied yet */
	bool muted;        /* reading stopped until mute_timer fires */
	int64_t mute_until_ms;
	struct rn_timer *mute_timer;
	void *session; /* from cfg.on_open, freed by cfg.on_close in conn_put */
};

static void conn_flush(struct rn_conn *c);
static void on_io(struct rn_loop *l, int fd, int events, void *arg);

static void conn_get(struct rn_conn *c)
{
	c->refs++;
}

static void conn_put(struct rn_conn *c)
{
	if (--c->refs > 0)
		return;
	struct rn__netloop *nl = c->nl;
	if (c->prev)
		c->prev->next = c->next;
	else
		nl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	atomic_fetch_sub(&nl->srv->live_conns, 1);
	if (c->session && nl->srv->cfg.on_close)
		nl->srv->cfg.on_close(nl->srv->cfg.arg, c->session);
	rn_free(c);
}

static struct rn_req *req_new(struct rn_conn *c, size_t len)
{
	struct rn_req *req = rn_calloc(1, sizeof(*req));
	req->conn = c;
	req->loop = c->nl->loop;
	req->frame = rn_malloc(len);
	req->len = len;
	return req;
}

static void req_destroy(struct rn_req *req)
{
	rn_iochain_free(&req->out);
	rn_arena_free(&req->arena);
	rn_free(req->frame);
	rn_free(req);
}

/* Frees a dispatched request and everything it owns; unlink it from the queue first. */
static void req_free(struct rn_conn *c, struct rn_req *req)
{
	c->queued_bytes -= req->len;
	req_destroy(req);
}

/* Unlinks a queued request, wherever it is (only closed connections unlink from the middle). */
static void queue_unlink(struct rn_conn *c, struct rn_req *req)
{
	struct rn_req **pp = &c->head, *prev = NULL;
	while (*pp != req) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	*pp = req->next;
	if (c->tail == req)
		c->tail = prev;
	req->next = NULL;
	c->nreqs--;
}

static bool conn_over(const struct rn_conn *c)
{
	return c->queued_bytes > c->nl->srv->cfg.max_inflight_bytes ||
	       c->nreqs >= RN__MAX_QUEUED_REQS;
}

static bool conn_muted(const struct rn_conn *c)
{
	return c->muted || c->mutes_pending > 0;
}

static void resume_task(void *arg);
static void read_task(void *arg);

static void conn_update_events(struct rn_conn *c)
{
	if (c->closed)
		return;
	bool over = conn_over(c) || c->stash || conn_muted(c);
	if (!conn_over(c) && !conn_muted(c) && c->stash && !c->resume_posted) {
		c->resume_posted = true;
		conn_get(c);
		rn_loop_post(c->nl->loop, resume_task, c);
	}
	/* Decrypted bytes waiting in the transport will never make the socket readable. */
	if (!over && !c->read_posted && c->tp->ops->pending && c->tp->ops->pending(c->tp)) {
		c->read_posted = true;
		conn_get(c);
		rn_loop_post(c->nl->loop, read_task, c);
	}
	int ev = (over ? 0 : RN_EV_READ) | (c->want_write ? RN_EV_WRITE : 0) |
		 c->tp->ops->want_events(c->tp);
	if (ev == c->events)
		return;
	int err = rn_loop_watch(c->nl->loop, c->fd, ev, on_io, c);
	(void)err; /* cannot fail for a registered fd but on a kernel bug; nothing to do */
	c->events = ev;
}

static void conn_close(struct rn_conn *c, const char *why)
{
	if (c->closed)
		return;
	rn_debug("conn %s: closed (%s)", c->peer, why);
	c->closed = true;
	rn_loop_unwatch(c->nl->loop, c->fd);
	c->events = 0;
	c->tp->ops->close(c->tp);
	c->tp = NULL;
	c->fd = -1;
	if (c->partial) {
		req_destroy(c->partial);
		c->partial = NULL;
	}
	rn_free(c->stash);
	c->stash = NULL;
	if (c->mute_timer) {
		rn_loop_timer_cancel(c->nl->loop, c->mute_timer);
		c->mute_timer = NULL;
		c->refs--; /* the timer's; the open reference below still holds c */
	}
	/* Done responses will never be sent; undone requests stay until their handlers finish. */
	for (struct rn_req *r = c->head, *next; r; r = next) {
		next = r->next;
		if (r->done) {
			queue_unlink(c, r);
			req_free(c, r);
			conn_put(c);
		}
	}
	atomic_fetch_sub(&c->nl->srv->connections, 1);
	conn_put(c);
}

static void dispatch(struct rn_conn *c, struct rn_req *req)
{
	req->recv_us = rn_mono_us();
	/* Counted from here, not while the frame is still being read: a frame larger than
	 * max_inflight_bytes (but within max_request_bytes) must be able to complete. */
	c->queued_bytes += req->len;
	if (c->tail)
		c->tail->next = req;
	else
		c->head = req;
	c->tail = req;
	c->nreqs++;
	conn_get(c);
	const struct rn_server_config *cfg = &c->nl->srv->cfg;
	cfg->on_request(req, cfg->arg);
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Splits buf[0, avail) into frames. Stops early if a handler closed the connection. */
static void parse(struct rn_conn *c, const uint8_t *buf, size_t avail)
{
	size_t max = c->nl->srv->cfg.max_request_bytes;
	size_t pos = 0;
	while (!c->closed && avail - pos >= 4) {
		if (conn_over(c) || conn_muted(c)) {
			rn_debug("conn %s: %d requests, %zu bytes held%s: pausing reads", c->peer,
				 c->nreqs, c->queued_bytes, conn_muted(c) ? ", muted" : "");
			c->stash_len = avail - pos;
			c->stash = rn_malloc(c->stash_len);
			memcpy(c->stash, buf + pos, c->stash_len);
			return;
		}
		int32_t size = (int32_t)load_be32(buf + pos);
		size_t lim = max;
		const char *what = "socket.request.max.bytes";
		if (c->session && c->nl->srv->cfg.max_frame) {
			size_t m = c->nl->srv->cfg.max_frame(c->nl->srv->cfg.arg, c->session);
			if (m && m < lim) {
				lim = m;
				what = "sasl.server.max.receive.size, before authentication";
			}
		}
		if (size < 0 || (size_t)size > lim) {
			rn_warn("conn %s: request size %d outside [0, %zu] (%s); closing the "
				"connection",
				c->peer, size, lim, what);
			/* Best effort: answers to the valid requests before it still go out. */
			conn_flush(c);
			conn_close(c, "bad frame size");
			return;
		}
		pos += 4;
		struct rn_req *req = req_new(c, (size_t)size);
		size_t take = avail - pos < (size_t)size ? avail - pos : (size_t)size;
		memcpy(req->frame, buf + pos, take);
		pos += take;
		if (take < (size_t)size) {
			c->partial = req;
			c->got = take;
			return;
		}
		dispatch(c, req);
	}
	if (!c->closed) {
		c->hdrlen = (int)(avail - pos);
		memcpy(c->hdr, buf + pos, (size_t)c->hdrlen);
	}
}

static void read_begin(struct rn_conn *c)
{
	c->in_read = true;
}

/* Writes what the handlers completed during the read, in one gathered write. */
static void read_end(struct rn_conn *c)
{
	c->in_read = false;
	if (c->flush_pending && !c->closed) {
		c->flush_pending = false;
		conn_flush(c);
	}
	conn_update_events(c);
}

/* Parses the bytes stashed while over the limits; re-stashes what is still too much. */
static void parse_stash(struct rn_conn *c)
{
	uint8_t *old = c->stash;
	size_t n = c->stash_len;
	c->stash = NULL;
	c->stash_len = 0;
	parse(c, old, n);
	rn_free(old);
}

static void resume_task(void *arg)
{
	struct rn_conn *c = arg;
	c->resume_posted = false;
	if (!c->closed && c->stash && !conn_over(c) && !conn_muted(c)) {
		read_begin(c);
		parse_stash(c);
		read_end(c);
	} else {
		conn_update_events(c);
	}
	conn_put(c);
}

/* One readv per readiness event (level-triggered): bounded work, fair to other connections. */
static void conn_read(struct rn_conn *c)
{
	struct rn__netloop *nl = c->nl;
	if (c->stash || conn_over(c) || conn_muted(c)) {
		conn_update_events(c); /* a stale event: the resume task takes over */
		return;
	}
	struct iovec iov[2];
	int n = 0;
	if (c->partial) {
		iov[n].iov_base = c->partial->frame + c->got;
		iov[n++].iov_len = c->partial->len - c->got;
	}
	memcpy(nl->rbuf, c->hdr, (size_t)c->hdrlen);
	iov[n].iov_base = nl->rbuf + c->hdrlen;
	iov[n++].iov_len = RN__RBUF_SIZE - (size_t)c->hdrlen;
	ssize_t r = c->tp->ops->readv(c->tp, iov, n);
	if (r == -EAGAIN) {
		conn_update_events(c); /* a TLS handshake may now wait for a writable socket */
		return;
	}
	if (r <= 0) {
		conn_close(c, r == 0 ? "peer closed" : strerror((int)-r));
		return;
	}
	atomic_fetch_add_explicit(&nl->srv->bytes_rx, (uint64_t)r, memory_order_relaxed);
	size_t used = (size_t)r;
	read_begin(c);
	if (c->partial) {
		size_t need = c->partial->len - c->got;
		size_t take = used < need ? used : need;
		c->got += take;
		used -= take;
		if (c->got == c->partial->len) {
			struct rn_req *req = c->partial;
			c->partial = NULL;
			dispatch(c, req);
		}
	}
	if (!c->closed && (used > 0 || c->hdrlen > 0)) {
		size_t avail = (size_t)c->hdrlen + used;
		c->hdrlen = 0;
		parse(c, nl->rbuf, avail);
	}
	read_end(c);
}

static void unmute(struct rn_loop *l, void *arg)
{
	(void)l;
	struct rn_conn *c = arg;
	c->mute_timer = NULL;
	c->muted = false;
	if (!c->closed) {
		rn_debug("conn %s: unmuted", c->peer);
		conn_update_events(c);
	}
	conn_put(c);
}

/* Stops reading for ms from now (or longer if an earlier mute lasts longer). */
static void conn_mute(struct rn_conn *c, int64_t ms)
{
	int64_t until = rn_mono_ms() + ms;
	if (c->closed || (c->muted && until <= c->mute_until_ms))
		return;
	if (c->mute_timer)
		rn_loop_timer_cancel(c->nl->loop, c->mute_timer);
	else
		conn_get(c);
	c->muted = true;
	c->mute_until_ms = until;
	c->mute_timer = rn_loop_timer_add(c->nl->loop, ms, unmute, c);
}

/* Frees the done responses at the head that are fully written (or have no response). */
static void pop_finished(struct rn_conn *c)
{
	while (!c->closed && c->head && c->head->done) {
		struct rn_req *req = c->head;
		uint64_t need = req->no_response ? 0 : 4 + req->out.total;
		if (c->wpos < need)
			return;
		c->wpos -= need;
		bool close = req->close_after;
		if (req->mute_ms > 0) {
			c->mutes_pending--;
			conn_mute(c, req->mute_ms);
		}
		queue_unlink(c, req);
		req_free(c, req);
		conn_put(c); /* the caller holds a ref: c stays valid */
		if (close)
			conn_close(c, "close_after");
	}
}

static ssize_t send_bounce(struct rn_conn *c, const struct rn_piece *p, uint64_t skip)
{
	struct rn__netloop *nl = c->nl;
	if (!nl->bounce)
		nl->bounce = rn_malloc(BOUNCE_SIZE);
	size_t len = p->len - skip < BOUNCE_SIZE ? (size_t)(p->len - skip) : BOUNCE_SIZE;
	ssize_t r = pread(p->file->fd, nl->bounce, len, (off_t)(p->off + skip));
	if (r < 0)
		return -errno;
	if (r == 0)
		return -EIO;
	struct iovec iov = {nl->bounce, (size_t)r};
	/* Bytes read but not written are simply read again next time from the new offset. */
	return c->tp->ops->writev(c->tp, &iov, 1);
}

static ssize_t send_file(struct rn_conn *c, const struct rn_piece *p, uint64_t skip)
{
	uint64_t off = p->off + skip;
	size_t len = (size_t)(p->len - skip);
	ssize_t r = c->tp->ops->sendfile(c->tp, p->file->fd, &off, len);
	if (r == -EINVAL || r == -ENOSYS || r == -EOPNOTSUPP)
		return send_bounce(c, p, skip);
	if (r == 0) {
		rn_warn("conn %s: file piece (fd %d, offset %llu) is past the end of its file; "
			"closing the connection",
			c->peer, p->file->fd, (unsigned long long)off);
		return -EIO;
	}
	return r;
}

/* Writes once from the head: a writev of the memory pieces of as many done responses as fit
 * before the first file piece, or a sendfile of that file piece. Returns bytes written. */
static ssize_t write_some(struct rn_conn *c)
{
	struct iovec iov[MAX_IOV];
	uint8_t pfx[MAX_IOV][4];
	int n = 0;
	uint64_t skip = c->wpos;
	for (struct rn_req *req = c->head; req && req->done; req = req->next) {
		if (req->no_response)
			continue;
		if (skip < 4) {
			if (n == MAX_IOV)
				goto out_write;
			store_be32(pfx[n], (uint32_t)req->out.total);
			iov[n].iov_base = pfx[n] + skip;
			iov[n++].iov_len = 4 - (size_t)skip;
			skip = 0;
		} else {
			skip -= 4;
		}
		for (int i = 0; i < req->out.npieces; i++) {
			const struct rn_piece *p = &req->out.pieces[i];
			if (skip >= p->len) {
				skip -= p->len;
				continue;
			}
			if (p->kind == RN_PIECE_FILE) {
				if (n == 0)
					return send_file(c, p, skip);
				goto out_write;
			}
			if (n == MAX_IOV)
				goto out_write;
			iov[n].iov_base = req->out.mem.data + p->off + skip;
			iov[n++].iov_len = (size_t)(p->len - skip);
			skip = 0;
		}
		if (req->close_after)
			break;
	}
out_write:
	if (n == 0)
		return 0;
	return c->tp->ops->writev(c->tp, iov, n);
}

/* Writes done responses at the head until EAGAIN, an error, the budget, or a not-done head. */
static void conn_flush(struct rn_conn *c)
{
	conn_get(c);
	size_t budget = WRITE_BUDGET;
	c->want_write = false;
	for (;;) {
		pop_finished(c);
		if (c->closed || !c->head || !c->head->done)
			break;
		ssize_t r = write_some(c);
		if (r == -EAGAIN) {
			c->want_write = true;
			break;
		}
		if (r < 0) {
			conn_close(c, strerror((int)-r));
			break;
		}
		if (r == 0)
			break;
		atomic_fetch_add_explicit(&c->nl->srv->bytes_tx, (uint64_t)r, memory_order_relaxed);
		c->queued_bytes -= (size_t)r;
		c->wpos += (uint64_t)r;
		if ((size_t)r >= budget) {
			pop_finished(c);
			c->want_write =
			    true; /* more may be ready: continue on the next iteration */
			break;
		}
		budget -= (size_t)r;
	}
	conn_update_events(c);
	conn_put(c);
}

static void on_io(struct rn_loop *l, int fd, int events, void *arg)
{
	(void)l;
	(void)fd;
	struct rn_conn *c = arg;
	conn_get(c);
	bool tp_write = c->tp->ops->want_events(c->tp) & RN_EV_WRITE;
	if (events & RN_EV_WRITE)
		conn_flush(c);
	if (!c->closed && ((events & RN_EV_READ) || (tp_write && (events & RN_EV_WRITE))))
		conn_read(c);
	conn_put(c);
}

static void read_task(void *arg)
{
	struct rn_conn *c = arg;
	c->read_posted = false;
	if (!c->closed)
		conn_read(c);
	conn_put(c);
}

void rn__conn_open(struct rn__netloop *nl, int fd, const struct rn__listener *li, const char *peer)
{
	struct rn_transport *tp = li->wrap ? li->wrap(li->wrap_arg, fd) : rn_transport_tcp_new(fd);
	if (!tp) {
		rn_warn("conn %s: listener %s cannot wrap the connection; closing it", peer,
			li->name);
		close(fd);
		return;
	}
	struct rn_conn *c = rn_calloc(1, sizeof(*c));
	c->nl = nl;
	c->fd = fd;
	c->tp = tp;
	c->refs = 1;
	c->listener = li->index;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	if (nl->srv->cfg.on_open)
		c->session = nl->srv->cfg.on_open(nl->srv->cfg.arg, li->index, c->peer);
	int err = rn_loop_watch(nl->loop, fd, RN_EV_READ, on_io, c);
	if (err) {
		rn_warn("conn %s: cannot watch: %s", peer, strerror(-err));
		c->tp->ops->close(c->tp);
		if (c->session && nl->srv->cfg.on_close)
			nl->srv->cfg.on_close(nl->srv->cfg.arg, c->session);
		rn_free(c);
		return;
	}
	c->events = RN_EV_READ;
	c->next = nl->conns;
	if (nl->conns)
		nl->conns->prev = c;
	nl->conns = c;
	atomic_fetch_add(&nl->srv->live_conns, 1);
	atomic_fetch_add(&nl->srv->connections, 1);
}

void rn__conn_close_all(struct rn__netloop *nl)
{
	/* conn_close may free c (and only c), so read next first. */
	for (struct rn_conn *c = nl->conns, *next; c; c = next) {
		next = c->next;
		conn_close(c, "server stopping");
	}
}

void rn_req_done(struct rn_req *req)
{
	assert(rn_loop_current() == req->loop);
	struct rn_conn *c = req->conn;
	req->done = true;
	if (c->closed) {
		queue_unlink(c, req);
		req_free(c, req);
		conn_put(c);
		return;
	}
	if (!req->no_response)
		c->queued_bytes += 4 + req->out.total;
	if (c->head != req)
		return; /* written when the requests before it are done */
	if (c->in_read)
		c->flush_pending = true; /* gather the responses of a pipelined batch */
	else
		conn_flush(c);
}

const char *rn_req_peer(const struct rn_req *req)
{
	return req->conn ? req->conn->peer : "?";
}

void *rn_req_session(const struct rn_req *req)
{
	return req->conn ? req->conn->session : NULL;
}

int rn_req_listener(const struct rn_req *req)
{
	return req->conn ? req->conn->listener : 0;
}

struct rn_transport *rn_req_transport(const struct rn_req *req)
{
	return req->conn && !req->conn->closed ? req->conn->tp : NULL;
}

void rn_req_mute(struct rn_req *req, int64_t ms)
{
	if (ms <= req->mute_ms)
		return;
	if (req->mute_ms == 0 && req->conn && !req->done)
		req->conn->mutes_pending++;
	req->mute_ms = ms;
}
