/*
 * Produce of a legacy message set (magic 0/1): converted to v2 batches here, so that the append
 * path, which knows only v2, stays as it is. Kafka's order: the magic first (a legacy set's
 * bytes mean nothing as a v2 header), then Produce v3+ refuses any other magic than 2.
 */
#include <string.h>

#include "broker/broker.h"
#include "broker/legacy.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/legacy_records.h"
#include "proto/record_batch.h"
#include "storage/partition.h"

/* Records in the v2 batches at b[0..len) (as rn_legacy_to_v2 made them). */
static uint64_t count_records(const uint8_t *b, size_t len)
{
	uint64_t n = 0;
	for (size_t off = 0; off + RN_BATCH_HEADER_SIZE <= len; off += rn_batch_total_size(b + off))
		n += rn_be32(b + off + RN_BATCH_OFF_RECORDS_COUNT);
	return n;
}

enum rn_kerr rn_legacy_produce(struct rn_ctx *ctx, struct rn_topic *t, struct rn_partition *p,
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
	atomic_fetch_add_explicit(&t->stats.produce_conversions, count_records(copy, out.len),
				  memory_order_relaxed);
	rn_buf_free(&out);
	return RN_KERR_NONE;
}
