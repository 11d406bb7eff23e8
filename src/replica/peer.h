/*
 * A blocking client connection to another broker, for the replica fetcher, transaction
 * markers and the controller: one request at a time, framed as any Kafka client frames it,
 * over the same rn_transport as client connections (so the inter-broker listener's TLS
 * applies when it exists). Used from replica and coordinator threads, never from a loop.
 */
#ifndef RN_REPLICA_PEER_H
#define RN_REPLICA_PEER_H

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

#endif
