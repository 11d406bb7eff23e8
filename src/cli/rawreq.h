/*
 * A request librdkafka lacks, encoded by the generated codec (proto/gen/rn_msg.h), sent over one
 * raw connection to the first -b broker (rn__cli_raw_open) at the highest version both sides know
 * (ApiVersions first), and its answer: for `runnel user` and `runnel quota`. Private to src/cli.
 */
#ifndef RN_CLI_RAWREQ_H
#define RN_CLI_RAWREQ_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/common.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/iochain.h"
#include "proto/prim.h"

struct rn__cli_rawreq {
	struct rn_buf body;
	struct rn_arena arena;
	struct rn_rd rd; /* over the response body, after rn__cli_rawreq_call */
	int16_t version; /* the version used: decode the answer with it */
};

/* Writes the request body for version into w (an rn_*_request_encode call). */
typedef void (*rn_cli_encode_fn)(struct rn_iochain *w, int16_t version, void *arg);

/*
 * Connects, asks ApiVersions, picks the highest version of api_key in [lo, hi] the broker
 * supports, sends the request fn encodes and sets r->rd over the answer's body (for
 * rn_*_response_decode with r->version; what it decodes lives in r->arena). r is zeroed here; free
 * it with rn__cli_rawreq_free in any case. Returns 0, or 1 after printing the error line (what:
 * Kafka's name of the API).
 */
int rn__cli_rawreq_call(struct rn_cli_common *c, struct rn__cli_rawreq *r, int16_t api_key,
			int16_t lo, int16_t hi, rn_cli_encode_fn fn, void *arg, const char *what);
void rn__cli_rawreq_free(struct rn__cli_rawreq *r);
/* A decoded string as a NUL-terminated copy in buf ("" for null). */
const char *rn__cli_str(struct rn_str s, char *buf, size_t len);
/* Kafka's name of an error code, "NONE" for 0. */
const char *rn__cli_kerr(int16_t err);

#endif
