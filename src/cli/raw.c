/* One raw request/response exchange for the requests librdkafka lacks. */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "cli/raw.h"
#include "proto/api.h"
#include "proto/frame.h"
#include "proto/gen/rn_msg.h"
#include "proto/prim.h"
#include "proto/record_batch.h"

#define MAX_RESPONSE (64 << 20)
#define CORRELATION  1

void rn__cli_raw_begin(struct rn_iochain *w, int16_t api_key, int16_t api_version,
		       const char *client_id)
{
	rn_iochain_reserve(w, 4);
	struct rn_request_header h = {.api_key = api_key,
				      .api_version = api_version,
				      .correlation_id = CORRELATION,
				      .client_id = rn_str_c(client_id)};
	rn_request_header_encode(w, &h);
}

static int io_all(int fd, uint8_t *p, size_t n, bool wr)
{
	while (n > 0) {
		ssize_t r = wr ? write(fd, p, n) : read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int rn__cli_raw_exchange(int fd, struct rn_iochain *w, int16_t api_key, int16_t api_version,
			 struct rn_buf *body, size_t *off)
{
	rn_put_be32(rn_iochain_at(w, 0), (uint32_t)(w->mem.len - 4));
	int rc = io_all(fd, w->mem.data, w->mem.len, true);
	rn_iochain_free(w);
	uint8_t sz[4];
	if (rc < 0 || io_all(fd, sz, 4, false) < 0)
		return -1;
	uint32_t n = rn_be32(sz);
	if (n < 4 || n > MAX_RESPONSE)
		return -1;
	rn_buf_reset(body);
	uint8_t *p = rn_buf_reserve(body, n);
	if (io_all(fd, p, n, false) < 0 || rn_be32(p) != CORRELATION)
		return -1;
	body->len = n;
	*off = 4;
	/* Response header v1: an (empty) tag buffer; ApiVersions always answers with v0. */
	if (api_key != RN_API_API_VERSIONS && rn_api_flexible(api_key, api_version)) {
		if (n < 5 || p[4] != 0)
			return -1;
		*off = 5;
	}
	return 0;
}
