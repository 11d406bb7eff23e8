/* One request librdkafka lacks and its answer over a raw connection, by the codec's table. */
#include "cli/rawreq.h"

#include <stdio.h>
#include <string.h>

#include "cli/raw.h"
#include "proto/api.h"
#include "proto/gen/rn_msg.h"

/* The broker's [min, max] of api_key from ApiVersions v0 on fd: 0, RN's -1 when it does not
 * list it, -2 when the exchange failed. */
static int broker_versions(int fd, int16_t api_key, int16_t *min, int16_t *max)
{
	struct rn_iochain w = {0};
	struct rn_buf body = {0};
	struct rn_arena arena = {0};
	size_t off;
	rn__cli_raw_begin(&w, RN_API_API_VERSIONS, 0, "runnel-cli");
	struct rn_api_versions_request rq = {0};
	rn_api_versions_request_encode(&w, 0, &rq);
	int rc = -2;
	if (rn__cli_raw_exchange(fd, &w, RN_API_API_VERSIONS, 0, &body, &off) == 0) {
		struct rn_rd rd;
		struct rn_api_versions_response resp;
		rn_rd_init(&rd, body.data + off, body.len - off, &arena);
		if (rn_api_versions_response_decode(&rd, 0, &resp) == 0 && resp.error_code == 0) {
			rc = -1;
			for (int32_t i = 0; i < resp.api_keys_count; i++)
				if (resp.api_keys[i].api_key == api_key) {
					*min = resp.api_keys[i].min_version;
					*max = resp.api_keys[i].max_version;
					rc = 0;
				}
		}
	}
	rn_buf_free(&body);
	rn_arena_free(&arena);
	return rc;
}

int rn__cli_rawreq_call(struct rn_cli_common *c, struct rn__cli_rawreq *r, int16_t api_key,
			int16_t lo, int16_t hi, const void *request, void **response)
{
	memset(r, 0, sizeof(*r));
	*response = NULL;
	const char *what = rn_api_info(api_key)->name;
	int fd = rn__cli_raw_open(c);
	if (fd < 0)
		return 1;
	int16_t bmin = 0, bmax = -1;
	int vr = broker_versions(fd, api_key, &bmin, &bmax);
	int rc = 1;
	if (vr == -2) {
		rn__cli_err(c, "no answer to ApiVersions from %s", c->bootstrap);
		goto out;
	}
	int16_t v = bmax < hi ? bmax : hi;
	if (vr == -1 || v < lo || v < bmin) {
		if (vr == -1)
			rn__cli_err(c, "the broker at %s does not support %s", c->bootstrap, what);
		else
			rn__cli_err(c, "the broker at %s supports %s v%d-%d, this client v%d-%d",
				    c->bootstrap, what, bmin, bmax, lo, hi);
		goto out;
	}
	r->version = v;
	struct rn_iochain w = {0};
	rn__cli_raw_begin(&w, api_key, v, "runnel-cli");
	rn_request_encode_any(&w, api_key, v, request);
	size_t off = 0;
	if (rn__cli_raw_exchange(fd, &w, api_key, v, &r->body, &off) < 0) {
		rn__cli_err(c, "%s: no answer from %s (connection closed)", what, c->bootstrap);
		goto out;
	}
	struct rn_rd rd;
	rn_rd_init(&rd, r->body.data + off, r->body.len - off, &r->arena);
	if (rn_response_decode_any(api_key, v, &rd, response) < 0) {
		*response = NULL;
		rn__cli_err(c, "malformed %s response", what);
		goto out;
	}
	rc = 0;
out:
	rn__cli_raw_close(fd);
	return rc;
}

void rn__cli_rawreq_free(struct rn__cli_rawreq *r)
{
	rn_buf_free(&r->body);
	rn_arena_free(&r->arena);
}

const char *rn__cli_str(struct rn_str s, char *buf, size_t len)
{
	snprintf(buf, len, "%.*s", s.len > 0 ? (int)s.len : 0, s.len > 0 ? s.ptr : "");
	return buf;
}

const char *rn__cli_kerr(int16_t err)
{
	return rd_kafka_err2name((rd_kafka_resp_err_t)err);
}

const char *rn__cli_kerr_msg(int16_t err, struct rn_str msg, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%.*s", rn__cli_kerr(err), msg.len > 0 ? ": " : "",
		 msg.len > 0 ? (int)msg.len : 0, msg.len > 0 ? msg.ptr : "");
	return buf;
}

int rn__cli_kerr_err(struct rn_cli_common *c, int16_t err, struct rn_str msg)
{
	char buf[768];
	return rn__cli_err(c, "%s", rn__cli_kerr_msg(err, msg, buf, sizeof(buf)));
}
