/*
 * The table of APIs the codec can handle, and type-erased encode/decode over it.
 *
 * The versions here are what the CODEC understands (tools/gen_proto.py output); what the broker
 * advertises in ApiVersions is its own, narrower, choice.
 */
#ifndef RN_PROTO_API_H
#define RN_PROTO_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/gen/rn_msg.h"
#include "proto/prim.h"

struct rn_api_info {
	int16_t key;
	const char *name; /* Kafka's name, e.g. "ListOffsets" */
	int16_t min_version, max_version;
	int16_t first_flexible; /* -1 if none */
};

/* Returns the static entry for key, or NULL if the codec does not know the API. */
const struct rn_api_info *rn_api_info(int16_t key);

/*
 * True if (key, version) uses flexible encodings (request header v2, response header v1).
 * Versions above max_version count too, so a header of a newer client still parses; an
 * unknown key counts as not flexible.
 */
bool rn_api_flexible(int16_t key, int16_t version);

/* Size of the request / response struct of key (0 if unknown), for callers that allocate. */
size_t rn_api_request_size(int16_t key);
size_t rn_api_response_size(int16_t key);

/*
 * Decodes the body of request (key, version) into a struct rn_<api>_request allocated from
 * rd->arena; *out points to it (lifetime: the arena). Returns 0, -1 if malformed, or
 * RN_EUNSUPPORTED (core/err.h; *out = NULL) if the codec does not know key or version.
 */
int rn_request_decode_any(int16_t key, int16_t version, struct rn_rd *rd, void **out);
int rn_response_decode_any(int16_t key, int16_t version, struct rn_rd *rd, void **out);

/* Encodes a struct rn_<api>_request / _response body. Returns 0 or RN_EUNSUPPORTED. */
int rn_request_encode_any(struct rn_iochain *w, int16_t key, int16_t version, const void *m);
int rn_response_encode_any(struct rn_iochain *w, int16_t key, int16_t version, const void *m);

/* Module-private: the generated table (gen/rn_msg.c). */
struct rn__msg_desc {
	struct rn_api_info info;
	size_t request_size, response_size;
	int (*request_decode)(struct rn_rd *rd, int16_t v, void *out);
	void (*request_encode)(struct rn_iochain *w, int16_t v, const void *m);
	int (*response_decode)(struct rn_rd *rd, int16_t v, void *out);
	void (*response_encode)(struct rn_iochain *w, int16_t v, const void *m);
};

extern const struct rn__msg_desc rn__msgs[];
extern const int rn__msgs_count;

#endif
