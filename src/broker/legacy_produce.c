/*
 * Produce of a legacy message set (magic 0/1): converted to v2 batches here, so that the append
 * path, which knows only v2, stays as it is. Kafka's order: the magic first (a legacy set's
 * bytes mean nothing as a v2 header), then Produce v3+ refuses any other magic than 2.
 */
#include <string.h>

#include "broker/legacy.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/legacy_records.h"
#include "storage/partition.h"

enum rn_kerr rn_legacy_produce(struct rn_ctx *ctx, struct rn_partition *p,
			       struct rn_records *records)
{
	if (records->len <= 0 || !rn_legacy_is_set(records->ptr, (size_t)records->len))
		return RN_KERR_NONE;
	if (ctx->hdr.api_version >= 3)
		return RN_KERR_INVALID_RECORD; /* Kafka's ProduceRequest.validateRecords */
	struct rn_log_config cfg;
	rn_partition_get_config(p, &cfg);
	struct rn_legacy_in opt = {cfg.max_message_bytes, cfg.log_append_time};
	struct rn_buf out = {0};
	int rc = rn_legacy_to_v2(records->ptr, (size_t)records->len, &opt, &out);
	if (rc < 0) {
		rn_debug("legacy message set refused: %s", rn_strerror(rc));
		rn_buf_free(&out);
		return rn_kerr_from(rc);
	}
	uint8_t *copy = rn_arena_alloc(&ctx->req->arena, out.len);
	memcpy(copy, out.data, out.len);
	records->ptr = copy;
	records->len = (int32_t)out.len;
	rn_buf_free(&out);
	return RN_KERR_NONE;
}
