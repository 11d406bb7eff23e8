/*
 * compression.type on append, as Kafka applies it: a topic whose compression.type is a codec
 * (not `producer`) stores every batch in that codec, so batches arriving in another are
 * decompressed and compressed again before they reach the log.
 */
#ifndef RN_BROKER_RECOMPRESS_H
#define RN_BROKER_RECOMPRESS_H

#include "core/arena.h"
#include "proto/prim.h"

/* Rewrites each magic-2 batch of records whose codec differs from codec (RN_CODEC_*, or
 * RN_LOG_CODEC_PRODUCER for "keep it") into codec: the records section is recompressed, the
 * length, attributes codec bits and CRC32C are updated; everything else (offsets delta,
 * timestamps, producer id/epoch/sequence, count) is kept. Control batches stay as they are.
 * The new bytes live in arena a and replace *records. When nothing needs changing, or a batch
 * is malformed (the append then refuses it with the right error), records is left alone.
 * Returns 0, or RN_ECORRUPT when a batch's compressed body cannot be decompressed, or
 * RN_ETOOLARGE when it decompresses beyond 64 MiB. */
int rn_recompress(struct rn_arena *a, int codec, struct rn_records *records);

#endif
