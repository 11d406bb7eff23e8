/*
 * Old clients' record formats at the broker's edge (the conversions themselves are in
 * proto/legacy_records.c): a Produce's magic 0/1 message set becomes v2 batches before the
 * append, and Fetch v0-v3 gets the log's v2 batches converted down (magic 0 for v0-v1, magic 1
 * for v2-v3), never touching the zero-copy path of current clients.
 */
#ifndef RN_BROKER_LEGACY_H
#define RN_BROKER_LEGACY_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/handler.h"
#include "proto/gen/rn_msg.h"
#include "proto/kerr.h"

struct rn_partition;
struct rn_read_info;
struct rn_topic;

/* Checks the magic byte of a Produce's records first, before any v2 header field is read. Not
 * a legacy set: nothing to do (RN_KERR_NONE). A legacy set in Produce v3+: INVALID_RECORD, as
 * Kafka. Else the set is converted (rn_legacy_to_v2) and *records is replaced by the v2
 * batches, allocated from the request's arena; on failure the Kafka error for the partition
 * (CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, INVALID_RECORD, INVALID_TIMESTAMP). The records
 * converted are counted in t's produce_conversions. */
enum rn_kerr rn_legacy_produce(struct rn_ctx *ctx, struct rn_topic *t, struct rn_partition *p,
			       struct rn_records *records);

/* For Fetch v0-v3 (version): with message.downconversion.enable false answers the partition
 * UNSUPPORTED_VERSION as Kafka does (offsets -1, no data) and returns -1. Otherwise replaces
 * the range in *ri (whose file reference it takes over) by the same records converted down, in
 * an anonymous in-memory file (so the response still carries a file range), at most limit
 * bytes of whole messages except that with min_one the first is whole whatever its size. If
 * the range converts to nothing (transaction markers only) it reads on, so an old consumer is
 * not stuck before a marker. The records converted are counted in t's fetch_conversions (t may
 * be NULL). Returns 0, or -1 with pd->error_code set. */
int rn_downconvert_fetch(struct rn_topic *t, struct rn_partition *p, int16_t version,
			 int64_t fetch_offset, int64_t limit, bool min_one, struct rn_read_info *ri,
			 struct rn_fetch_response_partition_data *pd);

#endif
