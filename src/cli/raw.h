/*
 * One request/response exchange over a blocking socket (rn__cli_connect), for requests
 * librdkafka lacks; the request is encoded by Runnel's generated codec. Private to src/cli.
 *
 *     struct rn_iochain w = {0};
 *     rn__cli_raw_begin(&w, RN_API_METADATA, 7, "runnel-cluster-status");
 *     rn_metadata_request_encode(&w, 7, &rq);
 *     rc = rn__cli_raw_exchange(fd, &w, RN_API_METADATA, 7, &body, &off);
 *     rn_rd_init(&rd, body.data + off, body.len - off, &arena);  then ..._response_decode()
 */
#ifndef RN_CLI_RAW_H
#define RN_CLI_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/iochain.h"

/* Starts a request in w (empty): the size prefix (patched later) and the request header. */
void rn__cli_raw_begin(struct rn_iochain *w, int16_t api_key, int16_t api_version,
		       const char *client_id);
/*
 * Sends w (then frees it), reads the response into body (replacing its contents) and sets
 * *off to where the response body starts, after the correlation id and, for a flexible
 * version, the response header's tag buffer. Returns 0, or -1 on an I/O error, a response of
 * over 64 MiB, or a wrong correlation id.
 */
int rn__cli_raw_exchange(int fd, struct rn_iochain *w, int16_t api_key, int16_t api_version,
			 struct rn_buf *body, size_t *off);

struct rn_cli_common;
/*
 * A connection for raw requests to the first -b broker (HOST[:PORT], 9092 by default), made
 * with the client's security settings (-X / --command-config: security.protocol, ssl.*,
 * sasl.*; see raw_sec.h). Returns the socket, or -1 after printing the error line. Close it
 * with rn__cli_raw_close.
 */
int rn__cli_raw_open(struct rn_cli_common *c);
/* Ends a connection made by rn__cli_raw_open or rn__cli_connect (TLS state included). */
void rn__cli_raw_close(int fd);

#endif
