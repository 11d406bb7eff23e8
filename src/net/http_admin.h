/*
 * The operators' HTTP listener (libmicrohttpd, one internal thread): GET /metrics in the
 * Prometheus text format and GET /health for liveness/readiness probes. Separate from the
 * Kafka listener and its loops so a scrape never delays a client request.
 */
#ifndef RN_NET_HTTP_ADMIN_H
#define RN_NET_HTTP_ADMIN_H

#include <stdbool.h>

struct rn_http_admin;

/* Binds host:port (numeric IPv4 or IPv6 address; port 0 = ephemeral, see rn_http_admin_port)
 * and starts serving. The caller owns *out and releases it with rn_http_admin_stop.
 * Returns 0, -EINVAL for a bad address, or -EADDRINUSE/-EIO when the daemon cannot start. */
int rn_http_admin_start(const char *host, int port, struct rn_http_admin **out);
/* The bound port. */
int rn_http_admin_port(const struct rn_http_admin *h);
/* Stops the listener thread and frees h. */
void rn_http_admin_stop(struct rn_http_admin *h);
/* Thread-safe. /health answers 200 "ok" when ready(arg) returns true (or no callback is set)
 * and 503 "not ready" otherwise; ready is called on the HTTP thread and must not block. */
void rn_http_admin_set_health(struct rn_http_admin *h, bool (*ready)(void *), void *arg);

#endif
