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
#include "proto/prim.h"

struct rn__cli_rawreq {
	struct rn_buf body;
	struct rn_arena arena; /* holds the decoded answer */
	int16_t version;       /* the version used */
};

/*
 * Connects, asks ApiVersions, picks the highest version of api_key in [lo, hi] the broker
 * supports, sends request (a struct rn_<api>_request of api_key) at that version and decodes
 * the answer into *response (a struct rn_<api>_response; lifetime: r->arena). r is zeroed
 * here; free it with rn__cli_rawreq_free in any case. Returns 0, or 1 after printing the
 * error line (no connection, no such version, no answer, a malformed answer).
 */
int rn__cli_rawreq_call(struct rn_cli_common *c, struct rn__cli_rawreq *r, int16_t api_key,
			int16_t lo, int16_t hi, const void *request, void **response);
void rn__cli_rawreq_free(struct rn__cli_rawreq *r);
/* A decoded string as a NUL-terminated copy in buf ("" for null). */
const char *rn__cli_str(struct rn_str s, char *buf, size_t len);
/* Kafka's name of an error code, "NONE" for 0. */
const char *rn__cli_kerr(int16_t err);
/* "NAME" or "NAME: message" of an error code and its (nullable) message, in buf. */
const char *rn__cli_kerr_msg(int16_t err, struct rn_str msg, char *buf, size_t len);
/* Prints that as c's error line (an answer's top-level error); returns 1, the exit code. */
int rn__cli_kerr_err(struct rn_cli_common *c, int16_t err, struct rn_str msg);

#endif
