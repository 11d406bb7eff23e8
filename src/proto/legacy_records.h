/*
 * Legacy message sets (magic 0 and 1, Kafka before 0.11), converted to and from record batches
 * v2. The log only ever holds v2 batches: old producers' sets are converted on the way in, and
 * old consumers (Fetch v0-v3) get the v2 batches converted down on the way out. One message:
 *
 *   0       8     12    16    17    18           (26: magic 1 only)
 *   +-------+-----+-----+-----+-----+-----------+--------------+----------------+
 *   |Offset |Size |CRC  |Magic|Attr |Timestamp  |Key (i32 len) |Value (i32 len) |
 *   +-------+-----+-----+-----+-----+-----------+--------------+----------------+
 *
 * Size counts the bytes after itself; the CRC (CRC-32/IEEE, zlib's crc32) covers Magic..end.
 * Attr bits 0-2 are the codec, bit 3 (magic 1) the timestamp type (1 = LogAppendTime). Magic 0
 * has no timestamp (Kafka reads it as -1, NO_TIMESTAMP). A compressed message is a "wrapper":
 * its value is a whole inner message set compressed with its codec; inner messages are never
 * compressed themselves. In magic 1 the inner offsets are relative (0, 1, ...) and the wrapper
 * carries the absolute offset of the last inner message; in magic 0 all offsets are absolute.
 *
 * Codec quirks: old clients frame snappy the xerial way (compress.c reads both; we write it); magic
 * 0 lz4 carries a wrong frame header checksum (KAFKA-3160: computed over the magic number too),
 * which Kafka ignores when reading magic 0 and reproduces when writing it.
 */
#ifndef RN_PROTO_LEGACY_RECORDS_H
#define RN_PROTO_LEGACY_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define RN_LEGACY_LOG_OVERHEAD         12 /* Offset + Size */
#define RN_LEGACY_MIN_SIZE_V0          14 /* CRC, Magic, Attr, key length, value length */
#define RN_LEGACY_MIN_SIZE_V1          22 /* ... plus the timestamp */
#define RN_LEGACY_ATTR_LOG_APPEND_TIME 0x08

/* Bound on the decompressed inner set of one wrapper, and on the records of one v2 batch being
 * converted down: both come from clients. */
#define RN_LEGACY_MAX_INFLATE (64u << 20)

/* True if p[0..len) starts like a legacy message set: the byte where a v2 batch has its magic
 * (offset 16, also a legacy message's magic) is 0 or 1. The first thing to check about a
 * Produce's records, before any v2 header field means anything. */
bool rn_legacy_is_set(const uint8_t *p, size_t len);

/* CRC-32/IEEE (zlib's crc32, the legacy message checksum) of p[0..n), continuing from crc. */
uint32_t rn_crc32(uint32_t crc, const uint8_t *p, size_t n);

struct rn_legacy_in {
	int32_t max_message_bytes; /* each shallow message at most this (<= 0: no limit) */
	bool log_append_time;      /* the topic's message.timestamp.type is LogAppendTime */
};

/* Converts the legacy set in[0..len) (a Produce's records) into v2 batches appended to out
 * (which the caller owns), as Kafka's LogValidator does: every message validated (framing,
 * CRC), the records kept in order with their keys, values and timestamps (magic 0: -1; a
 * LogAppendTime wrapper's inner messages: the wrapper's), producer id -1, base offset 0 (the
 * append assigns offsets), CreateTime (the append applies a LogAppendTime topic's type). An
 * uncompressed set becomes one uncompressed batch (several if it would exceed
 * max_message_bytes); a compressed set (exactly one wrapper) becomes one batch of the same
 * codec. Returns 0, RN_ECORRUPT (framing, CRC, undecodable or empty wrapper, codec 5-7),
 * RN_ETOOLARGE (a message over max_message_bytes, or an inner set over RN_LEGACY_MAX_INFLATE),
 * RN_EBADRECORD (mixed magics, an inner magic different from its wrapper's, a compressed inner
 * message, more than one message in a compressed set: Kafka's INVALID_RECORD) or
 * RN_EBADTIMESTAMP (a producer-set LogAppendTime where Kafka refuses it: INVALID_TIMESTAMP).
 * On error out->len is back to its value at entry. */
int rn_legacy_to_v2(const uint8_t *in, size_t len, const struct rn_legacy_in *opt,
		    struct rn_buf *out);

/* Appends to out the magic-0 or magic-1 form of the v2 batch at batch[0..len), as Kafka's
 * down-conversion for old fetch versions: nothing for a control batch (transaction markers),
 * the records of an uncompressed batch below min_offset skipped (those of a compressed one
 * kept: the client skips them), headers dropped, the codec kept as one wrapper message (zstd,
 * which magic 0/1 cannot carry, is written uncompressed), LogAppendTime kept in magic 1.
 * scratch (caller-owned, reusable) holds the decompressed records meanwhile. Returns the number
 * of records converted (>= 0; 0 when nothing was appended), RN_ECORRUPT (not a valid v2 batch,
 * undecodable records) or RN_ETOOLARGE (records over RN_LEGACY_MAX_INFLATE). On error out->len
 * is back to its value at entry. */
int rn_legacy_from_v2(const uint8_t *batch, size_t len, int8_t magic, int64_t min_offset,
		      struct rn_buf *scratch, struct rn_buf *out);

/* Total size of the legacy message at p (avail >= 12 bytes), or 0 if it does not fit in avail;
 * for walking a converted set by whole messages. */
size_t rn_legacy_msg_size(const uint8_t *p, size_t avail);

#endif
