#include "proto/frame.h"

#include "proto/api.h"

int rn_request_header_decode(struct rn_rd *rd, struct rn_request_header *h)
{
	h->api_key = rn_rd_i16(rd);
	h->api_version = rn_rd_i16(rd);
	h->correlation_id = rn_rd_i32(rd);
	/* client_id stays a classic string even in header v2, for every client. */
	h->client_id = rn_rd_string(rd, false);
	if (rn_api_flexible(h->api_key, h->api_version))
		rn_rd_skip_tags(rd);
	return rd->err ? -1 : 0;
}

void rn_request_header_encode(struct rn_iochain *w, const struct rn_request_header *h)
{
	rn_wr_i16(w, h->api_key);
	rn_wr_i16(w, h->api_version);
	rn_wr_i32(w, h->correlation_id);
	rn_wr_string(w, h->client_id, false);
	if (rn_api_flexible(h->api_key, h->api_version))
		rn_wr_empty_tags(w);
}

void rn_response_header_encode(struct rn_iochain *w, int16_t api_key, int16_t api_version,
			       int32_t correlation_id)
{
	rn_wr_i32(w, correlation_id);
	if (api_key != RN_API_API_VERSIONS && rn_api_flexible(api_key, api_version))
		rn_wr_empty_tags(w);
}
