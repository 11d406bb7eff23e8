/* One raw request/response exchange for the requests librdkafka lacks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <unistd.h>

#include "cli/common.h"
#include "cli/raw.h"
#include "cli/raw_sec.h"
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
	bool flexible = rn_api_flexible(api_key, api_version);
	rn_iochain_reserve(w, 4);
	rn_wr_i16(w, api_key);
	rn_wr_i16(w, api_version);
	rn_wr_i32(w, CORRELATION);
	rn_wr_string(w, rn_str_c(client_id), false); /* not compact, even in header v2 */
	if (flexible)
		rn_wr_empty_tags(w);
}

static int io_all(int fd, uint8_t *p, size_t n, bool wr)
{
	while (n > 0) {
		ssize_t r = rn__cli_sec_io(fd, p, n, wr);
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
	/* ApiVersions always answers with response header v0. */
	bool flexible = api_key != RN_API_API_VERSIONS && rn_api_flexible(api_key, api_version);
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
	/* Response header v1: an (empty) tag buffer. */
	if (flexible) {
		if (n < 5 || p[4] != 0)
			return -1;
		*off = 5;
	}
	return 0;
}

void rn__cli_raw_close(int fd)
{
	if (fd >= 0)
		rn__cli_sec_close(fd);
}

int rn__cli_raw_open(struct rn_cli_common *c)
{
	/* The first -b entry: [PROTOCOL://]HOST[:PORT] or [IPV6]:PORT (checked by -b). */
	const char *s = c->bootstrap, *p = strstr(s, "://");
	s = p ? p + 3 : s;
	size_t n = strcspn(s, ",");
	char host[256];
	int port = 9092;
	if (*s == '[') {
		const char *rb = memchr(s, ']', n);
		if (!rb)
			return rn__cli_err(c, "-b: bad address '%.*s'", (int)n, s) ? -1 : -1;
		snprintf(host, sizeof(host), "%.*s", (int)(rb - s - 1), s + 1);
		if (rb[1] == ':')
			port = atoi(rb + 2);
	} else {
		const char *colon = memchr(s, ':', n);
		snprintf(host, sizeof(host), "%.*s", (int)(colon ? (size_t)(colon - s) : n), s);
		if (colon)
			port = atoi(colon + 1);
	}
	return rn__cli_connect(c, host, port);
}
