/*
 * Request and response headers.
 *
 *   request:  i32 size | i16 api_key | i16 api_version | i32 correlation_id |
 *             i16-length client_id (nullable, NEVER compact) | [tag buffer if flexible] | body
 *   response: i32 size | i32 correlation_id | [tag buffer if flexible, except ApiVersions] | body
 *
 * "Flexible" is a property of (api_key, api_version) taken from the codec's table; see
 * rn_api_flexible. The size prefix is the caller's business (the connection reads whole frames).
 */
#ifndef RN_PROTO_FRAME_H
#define RN_PROTO_FRAME_H

#include <stdint.h>

#include "core/iochain.h"
#include "proto/prim.h"

struct rn_request_header {
	int16_t api_key, api_version;
	int32_t correlation_id;
	struct rn_str client_id; /* view into the frame; len -1 = null */
};

/*
 * Reads a request header from rd (positioned just after the size prefix) and leaves rd at the
 * body. An unknown api_key or version is NOT an error here, so the broker can still answer or
 * log it: the header of an unknown key is read as non-flexible (no tag buffer). Returns 0, or
 * -1 if the header itself is truncated or malformed (the fields read so far are still set).
 */
int rn_request_header_decode(struct rn_rd *rd, struct rn_request_header *h);

/* Writes a request header (for tests and tools that play the client). */
void rn_request_header_encode(struct rn_iochain *w, const struct rn_request_header *h);

/*
 * Writes a response header: the correlation id, then an empty tag buffer iff the request's
 * (api_key, api_version) is flexible and the API is not ApiVersions, whose response header is
 * always v0 so that a client can parse it before knowing what the broker supports.
 */
void rn_response_header_encode(struct rn_iochain *w, int16_t api_key, int16_t api_version,
			       int32_t correlation_id);

#endif
