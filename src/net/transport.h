/*
 * The byte stream under a connection, behind one vtable (Redis connection.h, HAProxy raw_sock.c /
 * ssl_sock.c), so TLS can be added without touching conn.c. All calls are non-blocking and
 * return bytes moved (>= 0; readv returns 0 at end of stream) or a negative errno, -EAGAIN
 * when the socket is not ready.
 *
 * A TLS transport will need two things TCP does not: a read may need the socket writable (and
 * vice versa) during renegotiation, reported through want_events; and sendfile cannot work
 * without kTLS, so it returns -EOPNOTSUPP and conn.c falls back to pread + writev.
 */
#ifndef RN_NET_TRANSPORT_H
#define RN_NET_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct rn_transport;

struct rn_transport_ops {
	const char *name;
	ssize_t (*readv)(struct rn_transport *t, const struct iovec *iov, int n);
	ssize_t (*writev)(struct rn_transport *t, const struct iovec *iov, int n);
	/* Sends up to len bytes of in_fd from *off, advancing *off. */
	ssize_t (*sendfile)(struct rn_transport *t, int in_fd, uint64_t *off, size_t len);
	/* Extra RN_EV_* interest the transport needs besides the caller's (0 for TCP). When it
	 * includes RN_EV_WRITE, a writable socket makes the connection call readv (a TLS
	 * handshake blocked on writing progresses from readv). */
	int (*want_events)(struct rn_transport *t);
	/* True when readv would return bytes without the socket becoming readable (TLS keeps
	 * decrypted bytes in user space). NULL = never. */
	bool (*pending)(struct rn_transport *t);
	/* Closes the socket and frees t. */
	void (*close)(struct rn_transport *t);
};

struct rn_transport {
	const struct rn_transport_ops *ops;
	int fd;
};

/* Wraps an accepted, non-blocking TCP socket: sets TCP_NODELAY. The caller owns the result and
 * releases it (and the fd) with t->ops->close(t). Never fails (OOM aborts). */
struct rn_transport *rn_transport_tcp_new(int fd);

#endif
