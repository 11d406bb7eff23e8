/*
 * A blocking client connection to another broker, for the replica fetcher, transaction
 * markers and the controller: one request at a time, framed as any Kafka client frames it,
 * over the same rn_transport as client connections (so the inter-broker listener's TLS
 * applies when it exists). Used from replica and coordinator threads, never from a loop.
 */
#ifndef RN_REPLICA_PEER_H
#define RN_REPLICA_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/iochain.h"
#include "proto/prim.h"

struct rn_peer;

/* Connects to host:port within timeout_ms. The caller owns *out (rn_peer_close). Returns 0,
 * RN_EUNAVAILABLE, -errno. */
int rn_peer_connect(const char *host, int port, int timeout_ms, const char *client_id,
		    struct rn_peer **out);
void rn_peer_close(struct rn_peer *p);
/* Sends one request (header v1, or v2 for flexible versions) with the body already encoded in
 * body, and waits up to timeout_ms for its response. *resp is positioned on the response body
 * (after the response header) and valid until the next call or close. Returns 0,
 * RN_EUNAVAILABLE (timeout, connection lost: the peer must be reconnected), RN_EMALFORMED. */
int rn_peer_call(struct rn_peer *p, int16_t api_key, int16_t api_version,
		 const struct rn_iochain *body, int timeout_ms, struct rn_rd *resp);

/* Added by the follower slice. */

/* Frames larger than this are refused (RN_EMALFORMED, and the connection is dropped) before
 * anything is allocated for them. Default RN_PEER_MAX_FRAME_DEFAULT; a fetcher raises it to
 * replica.fetch.response.max.bytes plus slack. */
#define RN_PEER_MAX_FRAME_DEFAULT (16 * 1024 * 1024)
void rn_peer_set_max_frame(struct rn_peer *p, int32_t max_bytes);
/* True once a call failed with RN_EUNAVAILABLE or RN_EMALFORMED: every later call fails at once
 * with RN_EUNAVAILABLE, and the owner closes and reconnects. */
bool rn_peer_broken(const struct rn_peer *p);
/* rn_peer_call with the generated codec on both ends: encodes the struct rn_<api>_request req,
 * and decodes the response into a struct rn_<api>_response that *resp points to (allocated in
 * the peer's arena: valid until the next call or close). Returns as rn_peer_call, or
 * RN_EUNSUPPORTED when the codec does not know (api_key, api_version). */
int rn_peer_roundtrip(struct rn_peer *p, int16_t api_key, int16_t api_version, const void *req,
		      int timeout_ms, void **resp);
/* Makes a call in flight on another thread fail at once (shutdown(2) of the socket) and every
 * later one; the owner still closes p. */
void rn_peer_interrupt(struct rn_peer *p);
/* Authentication of new connections (a SASL inter-broker listener; added by the sasl slice):
 * the broker installs fn once at start-up, before any peer connects; rn_peer_connect then
 * calls it on every new connection before returning it, and fails with its (negative) result.
 * NULL: none. */
typedef int (*rn_peer_auth_fn)(struct rn_peer *p, void *arg);
void rn_peer_set_auth(rn_peer_auth_fn fn, void *arg);

/* "host:port" of the peer, for log lines (static storage of p). */
const char *rn_peer_name(const struct rn_peer *p);

#endif
