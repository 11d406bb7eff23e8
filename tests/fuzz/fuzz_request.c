/*
 * Fuzzes the request path a client controls: header, then the body for whatever api/version the
 * header names, decoded both as a request and as a response. Anything that decodes is encoded,
 * decoded and encoded again; the two encodings must match (the codec's canonical form is
 * stable), otherwise encoder and decoder disagree and we abort so the fuzzer keeps the input.
 * Input format: one frame without its size prefix (header + body), as in the seed corpus.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/iochain.h"
#include "proto/api.h"
#include "proto/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_stable(bool response, int16_t key, int16_t v, const void *m)
{
	struct rn_iochain w1 = {0}, w2 = {0};
	struct rn_arena a = {0};
	if (response)
		rn_response_encode_any(&w1, key, v, m);
	else
		rn_request_encode_any(&w1, key, v, m);

	/* Decode our own output from an exact-size copy so ASan sees overreads. */
	size_t n = w1.mem.len;
	uint8_t *copy = malloc(n ? n : 1);
	if (n)
		memcpy(copy, w1.mem.data, n);
	struct rn_rd rd;
	rn_rd_init(&rd, copy, n, &a);
	void *m2;
	int rc = response ? rn_response_decode_any(key, v, &rd, &m2)
			  : rn_request_decode_any(key, v, &rd, &m2);
	if (rc != 0 || rd.p != rd.end) {
		fprintf(stderr, "key %d v%d: our own encoding does not decode (rc %d)\n", key, v,
			rc);
		abort();
	}
	if (response)
		rn_response_encode_any(&w2, key, v, m2);
	else
		rn_request_encode_any(&w2, key, v, m2);
	if (w1.mem.len != w2.mem.len || (n && memcmp(w1.mem.data, w2.mem.data, n) != 0)) {
		fprintf(stderr, "key %d v%d: re-encoding differs\n", key, v);
		abort();
	}
	free(copy);
	rn_iochain_free(&w1);
	rn_iochain_free(&w2);
	rn_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The codec writes nothing into the frame, but records are mutable views: fuzz a copy. */
	uint8_t *buf = malloc(size ? size : 1);
	if (size)
		memcpy(buf, data, size);
	struct rn_arena a = {0};
	struct rn_rd rd;
	rn_rd_init(&rd, buf, size, &a);
	struct rn_request_header h;
	if (rn_request_header_decode(&rd, &h) == 0) {
		uint8_t *body = rd.p;
		void *m;
		if (rn_request_decode_any(h.api_key, h.api_version, &rd, &m) == 0)
			check_stable(false, h.api_key, h.api_version, m);
		rn_rd_init(&rd, body, (size_t)(buf + size - body), &a);
		if (rn_response_decode_any(h.api_key, h.api_version, &rd, &m) == 0)
			check_stable(true, h.api_key, h.api_version, m);
	}
	rn_arena_free(&a);
	free(buf);
	return 0;
}
