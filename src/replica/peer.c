/*
 * The inter-broker client: one blocking request/response exchange at a time over a
 * non-blocking socket, every wait a poll(2) bounded by the call's deadline, so a replica thread
 * never hangs on a peer that stopped answering. The socket sits behind rn_transport, as client
 * connections do.
 *
 *   call:  [i32 size][header v1|v2][body]  ->  [i32 size][i32 correlation_id][tags if v1][body]
 *
 * Any failure (timeout, reset, a correlation id that is not ours, an oversized frame) leaves the
 * stream in an unknown position, so the connection is marked broken and must be reopened.
 */
#include "replica/peer.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "net/transport.h"
#include "proto/api.h"
#include "proto/frame.h"

struct rn_peer {
	struct rn_transport *t;
	char *client_id;
	char name[300];
	int32_t next_corr;
	int32_t max_frame;
	bool broken;
	_Atomic bool interrupted; /* rn_peer_interrupt: failures are expected, not logged */
	struct rn_buf in;         /* the last response frame (without its size prefix) */
	struct rn_arena arena;    /* what the last response's decoding allocated */
	struct rn_iochain out;    /* the request being sent */
};

/* Waits for events on fd until deadline (monotonic ms). Returns 0, -ETIMEDOUT, -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - rn_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = {.fd = fd, .events = events};
		int r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* One non-blocking connect to ai, finished within deadline. Returns the fd or a negative code. */
static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
	int fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
	if (r < 0 && errno != EINPROGRESS) {
		r = -errno;
		goto out_close;
	}
	if (r < 0) {
		r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			goto out_close;
		int soerr = 0;
		socklen_t len = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			soerr = errno;
		if (soerr) {
			r = -soerr;
			goto out_close;
		}
	}
	return fd;
out_close:
	close(fd);
	return r;
}

static rn_peer_auth_fn auth_fn;
static void *auth_arg;

void rn_peer_set_auth(rn_peer_auth_fn fn, void *arg)
{
	auth_fn = fn;
	auth_arg = arg;
}

int rn_peer_connect(const char *host, int port, int timeout_ms, const char *client_id,
		    struct rn_peer **out)
{
	*out = NULL;
	int64_t deadline = rn_mono_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	char portstr[16];
	snprintf(portstr, sizeof(portstr), "%d", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int gr = getaddrinfo(host, portstr, &hints, &res);
	if (gr != 0) {
		rn_log_every(5000, RN_LOG_WARN, "peer %s:%d: cannot resolve: %s", host, port,
			     gai_strerror(gr));
		return RN_EUNAVAILABLE;
	}
	int fd = -EHOSTUNREACH;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = connect_one(ai, deadline);
		if (fd >= 0 || fd == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		rn_log_every(5000, RN_LOG_INFO, "peer %s:%d: cannot connect: %s", host, port,
			     rn_strerror(fd));
		return fd == -EMFILE || fd == -ENFILE ? fd : RN_EUNAVAILABLE;
	}
	struct rn_peer *p = rn_calloc(1, sizeof(*p));
	p->t = rn_transport_tcp_new(fd);
	p->client_id = rn_strdup(client_id ? client_id : "runnel-broker");
	snprintf(p->name, sizeof(p->name), "%s:%d", host, port);
	p->next_corr = 1;
	p->max_frame = RN_PEER_MAX_FRAME_DEFAULT;
	if (auth_fn) {
		int rc = auth_fn(p, auth_arg);
		if (rc < 0) {
			rn_peer_close(p);
			return rc;
		}
	}
	*out = p;
	return 0;
}

void rn_peer_close(struct rn_peer *p)
{
	if (!p)
		return;
	p->t->ops->close(p->t);
	rn_buf_free(&p->in);
	rn_arena_free(&p->arena);
	rn_iochain_free(&p->out);
	rn_free(p->client_id);
	rn_free(p);
}

void rn_peer_set_max_frame(struct rn_peer *p, int32_t max_bytes)
{
	p->max_frame = max_bytes > 64 ? max_bytes : 64;
}

bool rn_peer_broken(const struct rn_peer *p)
{
	return p->broken;
}

void rn_peer_interrupt(struct rn_peer *p)
{
	atomic_store(&p->interrupted, true);
	shutdown(p->t->fd, SHUT_RDWR);
}

const char *rn_peer_name(const struct rn_peer *p)
{
	return p->name;
}

/* Appends body to the request chain: memory copied, file ranges read with pread (inter-broker
 * requests are small; only responses carry log data). */
static int append_body(struct rn_iochain *c, const struct rn_iochain *body)
{
	if (!body)
		return 0;
	for (int i = 0; i < body->npieces; i++) {
		const struct rn_piece *pc = &body->pieces[i];
		if (pc->kind == RN_PIECE_MEM) {
			rn_iochain_add_mem(c, body->mem.data + pc->off, pc->len);
			continue;
		}
		size_t at = rn_iochain_reserve(c, pc->len);
		for (uint64_t done = 0; done < pc->len;) {
			ssize_t r = pread(pc->file->fd, rn_iochain_at(c, at + done), pc->len - done,
					  (off_t)(pc->off + done));
			if (r <= 0)
				return r < 0 ? -errno : -EIO;
			done += (uint64_t)r;
		}
	}
	return 0;
}

/* Writes all of buf[0..n) before deadline. */
static int send_all(struct rn_peer *p, const uint8_t *buf, size_t n, int64_t deadline)
{
	size_t done = 0;
	while (done < n) {
		struct iovec iov = {.iov_base = (void *)(buf + done), .iov_len = n - done};
		ssize_t r = p->t->ops->writev(p->t, &iov, 1);
		if (r == -EAGAIN) {
			int w = wait_fd(p->t->fd, POLLOUT, deadline);
			if (w < 0)
				return w;
			continue;
		}
		if (r < 0)
			return (int)r;
		done += (size_t)r;
	}
	return 0;
}

/* Reads exactly n bytes into dst before deadline; RN_EUNAVAILABLE at end of stream. */
static int recv_all(struct rn_peer *p, uint8_t *dst, size_t n, int64_t deadline)
{
	size_t done = 0;
	while (done < n) {
		struct iovec iov = {.iov_base = dst + done, .iov_len = n - done};
		ssize_t r = p->t->ops->readv(p->t, &iov, 1);
		if (r == -EAGAIN) {
			int w = wait_fd(p->t->fd, POLLIN, deadline);
			if (w < 0)
				return w;
			continue;
		}
		if (r == 0)
			return -ECONNRESET;
		if (r < 0)
			return (int)r;
		done += (size_t)r;
	}
	return 0;
}

static int send_request(struct rn_peer *p, int16_t key, int16_t ver, int32_t corr,
			const struct rn_iochain *body, int64_t deadline)
{
	rn_iochain_free(&p->out);
	size_t size_at = rn_iochain_reserve(&p->out, 4);
	struct rn_request_header h = {.api_key = key,
				      .api_version = ver,
				      .correlation_id = corr,
				      .client_id = rn_str_c(p->client_id)};
	rn_request_header_encode(&p->out, &h);
	int r = append_body(&p->out, body);
	if (r < 0)
		return r;
	/* Every piece is memory now, in order, so the chain's buffer is the whole frame. */
	uint32_t size = (uint32_t)(p->out.mem.len - 4);
	uint8_t *sz = rn_iochain_at(&p->out, size_at);
	sz[0] = (uint8_t)(size >> 24), sz[1] = (uint8_t)(size >> 16);
	sz[2] = (uint8_t)(size >> 8), sz[3] = (uint8_t)size;
	return send_all(p, p->out.mem.data, p->out.mem.len, deadline);
}

/* Reads one response frame into p->in and checks its header; rd is left on the body. */
static int recv_response(struct rn_peer *p, int16_t key, int16_t ver, int32_t corr,
			 int64_t deadline, struct rn_rd *rd)
{
	uint8_t szb[4];
	int r = recv_all(p, szb, 4, deadline);
	if (r < 0)
		return r;
	int32_t size = (int32_t)((uint32_t)szb[0] << 24 | (uint32_t)szb[1] << 16 |
				 (uint32_t)szb[2] << 8 | szb[3]);
	if (size < 4 || size > p->max_frame) {
		rn_warn("peer %s: response frame of %d bytes refused (max %d)", p->name, size,
			p->max_frame);
		return RN_EMALFORMED;
	}
	rn_buf_reset(&p->in);
	uint8_t *dst = rn_buf_reserve(&p->in, (size_t)size);
	r = recv_all(p, dst, (size_t)size, deadline);
	if (r < 0)
		return r;
	p->in.len = (size_t)size;
	rn_rd_init(rd, p->in.data, p->in.len, &p->arena);
	int32_t got = rn_rd_i32(rd);
	if (got != corr) {
		rn_warn("peer %s: response correlation id %d, expected %d (api %d v%d)", p->name,
			got, corr, key, ver);
		return RN_EMALFORMED;
	}
	/* ApiVersions answers with header v0 whatever the version, so old clients can parse it. */
	if (key != RN_API_API_VERSIONS && rn_api_flexible(key, ver))
		rn_rd_skip_tags(rd);
	return rd->err ? RN_EMALFORMED : 0;
}

int rn_peer_call(struct rn_peer *p, int16_t api_key, int16_t api_version,
		 const struct rn_iochain *body, int timeout_ms, struct rn_rd *resp)
{
	memset(resp, 0, sizeof(*resp));
	if (p->broken)
		return RN_EUNAVAILABLE;
	rn_arena_free(&p->arena);
	int64_t deadline = rn_mono_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	int32_t corr = p->next_corr;
	p->next_corr = p->next_corr == INT32_MAX ? 1 : p->next_corr + 1;
	int r = send_request(p, api_key, api_version, corr, body, deadline);
	if (r == 0)
		r = recv_response(p, api_key, api_version, corr, deadline, resp);
	if (r == 0)
		return 0;
	p->broken = true;
	memset(resp, 0, sizeof(*resp));
	if (r != RN_EMALFORMED) {
		if (!atomic_load(&p->interrupted))
			rn_log_every(5000, RN_LOG_INFO, "peer %s: api %d v%d failed: %s", p->name,
				     api_key, api_version, rn_strerror(r));
		r = RN_EUNAVAILABLE;
	}
	return r;
}

int rn_peer_roundtrip(struct rn_peer *p, int16_t api_key, int16_t api_version, const void *req,
		      int timeout_ms, void **resp)
{
	*resp = NULL;
	struct rn_iochain body = {0};
	int r = rn_request_encode_any(&body, api_key, api_version, req);
	if (r < 0) {
		rn_iochain_free(&body);
		return r;
	}
	struct rn_rd rd;
	r = rn_peer_call(p, api_key, api_version, &body, timeout_ms, &rd);
	rn_iochain_free(&body);
	if (r < 0)
		return r;
	r = rn_response_decode_any(api_key, api_version, &rd, resp);
	if (r == RN_EUNSUPPORTED)
		return r;
	if (r < 0 || rd.err) {
		rn_warn("peer %s: undecodable response to api %d v%d", p->name, api_key,
			api_version);
		p->broken = true;
		*resp = NULL;
		return RN_EMALFORMED;
	}
	return 0;
}
