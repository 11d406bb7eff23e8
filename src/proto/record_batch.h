/*
 * Record batch v2 (magic 2): header parsing, validation, the fields the broker sets, and an
 * iterator over the records of an uncompressed batch. Big-endian on the wire and on disk:
 *
 *   0         8        12       16    17     21    23         27          35         43
 *   +---------+--------+--------+-----+------+-----+----------+-----------+----------+
 *   |BaseOff  |Length  |PLEpoch |Magic|CRC32C|Attr |LastOffDel|BaseTs     |MaxTs     |
 *   +---------+--------+--------+-----+------+-----+----------+-----------+----------+
 *   43        51     53       57      61
 *   +---------+------+--------+-------+---------------------------------------------+
 *   |ProducerId|PEpoch|BaseSeq |Count  | records (one compressed stream if codec != 0)|
 *   +---------+------+--------+-------+---------------------------------------------+
 *
 * Length counts the bytes after itself (total - 12); the CRC covers bytes 21..end, so the broker
 * can set BaseOffset and PartitionLeaderEpoch without recomputing it.
 */
#ifndef RN_PROTO_RECORD_BATCH_H
#define RN_PROTO_RECORD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define RN_BATCH_HEADER_SIZE  61
#define RN_BATCH_LOG_OVERHEAD 12 /* BaseOffset + Length */
#define RN_BATCH_MIN_LENGTH   (RN_BATCH_HEADER_SIZE - RN_BATCH_LOG_OVERHEAD) /* 49 */

#define RN_BATCH_OFF_BASE_OFFSET       0
#define RN_BATCH_OFF_LENGTH            8
#define RN_BATCH_OFF_LEADER_EPOCH      12
#define RN_BATCH_OFF_MAGIC             16
#define RN_BATCH_OFF_CRC               17
#define RN_BATCH_OFF_ATTRIBUTES        21
#define RN_BATCH_OFF_LAST_OFFSET_DELTA 23
#define RN_BATCH_OFF_BASE_TIMESTAMP    27
#define RN_BATCH_OFF_MAX_TIMESTAMP     35
#define RN_BATCH_OFF_PRODUCER_ID       43
#define RN_BATCH_OFF_PRODUCER_EPOCH    51
#define RN_BATCH_OFF_BASE_SEQUENCE     53
#define RN_BATCH_OFF_RECORDS_COUNT     57

#define RN_BATCH_ATTR_CODEC_MASK      0x07
#define RN_BATCH_ATTR_LOG_APPEND_TIME 0x08
#define RN_BATCH_ATTR_TRANSACTIONAL   0x10
#define RN_BATCH_ATTR_CONTROL         0x20

struct rn_batch_header {
	int64_t base_offset;
	int32_t length;
	int32_t partition_leader_epoch;
	int8_t magic;
	uint32_t crc;
	int16_t attributes;
	int32_t last_offset_delta;
	int64_t base_timestamp;
	int64_t max_timestamp;
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t base_sequence;
	int32_t records_count;
};

/* Big-endian loads/stores, shared with storage (index files are big-endian too, as Kafka's). */
static inline uint32_t rn_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t rn_be64(const uint8_t *p)
{
	return (uint64_t)rn_be32(p) << 32 | rn_be32(p + 4);
}
static inline void rn_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void rn_put_be64(uint8_t *p, uint64_t v)
{
	rn_put_be32(p, (uint32_t)(v >> 32));
	rn_put_be32(p + 4, (uint32_t)v);
}

/* Total size of the batch at p from its Length field (p must hold >= 12 bytes); may be
 * garbage for an unvalidated batch. */
static inline uint64_t rn_batch_total_size(const uint8_t *p)
{
	return (uint64_t)(int64_t)(int32_t)rn_be32(p + RN_BATCH_OFF_LENGTH) + RN_BATCH_LOG_OVERHEAD;
}

/* Decodes the 61-byte header at p (which must hold RN_BATCH_HEADER_SIZE bytes); no checks. */
void rn_batch_header_parse(const uint8_t *p, struct rn_batch_header *h);

/* Checks the framing of the batch at p without touching its body: avail holds the header,
 * Length >= 49 and the whole batch fits in avail, magic 2 (0/1: RN_EUNSUPPORTED). Returns the
 * batch's total size (> 0) or RN_ECORRUPT / RN_EUNSUPPORTED. */
int64_t rn_batch_check_frame(const uint8_t *p, size_t avail);

/* Full validation of the batch at the start of p[0..avail): framing as above, CRC32C, records
 * count >= 0 and consistent with LastOffsetDelta (equal to count - 1 when uncompressed; when
 * compressed, count >= 1 with lastOffsetDelta >= count - 1 is all we can check without
 * decompressing), total size <= max_message_bytes (<= 0: no limit; over: RN_ETOOLARGE).
 * On success returns the batch's total size and fills *h if h is not NULL. */
int64_t rn_batch_validate(const uint8_t *p, size_t avail, int32_t max_message_bytes,
			  struct rn_batch_header *h);

/* Validation of a batch read back from the log, which the cleaner may have rewritten: as
 * rn_batch_validate without a size limit, except that an uncompressed batch may hold fewer
 * records than its offset range (compaction keeps LastOffsetDelta) and any batch may hold none
 * (Kafka keeps an emptied batch's header for its producer's sequence state). */
int64_t rn_batch_validate_stored(const uint8_t *p, size_t avail, struct rn_batch_header *h);

/* Broker-assigned fields. The first two are outside the CRC. */
void rn_batch_set_base_offset(uint8_t *p, int64_t base_offset);
void rn_batch_set_leader_epoch(uint8_t *p, int32_t epoch);
/* Marks the batch LogAppendTime (attribute bit 3), sets MaxTimestamp = now_ms and recomputes
 * the CRC over the whole batch (the one per-byte cost of LogAppendTime topics). p must be a
 * validated batch. */
void rn_batch_set_log_append_time(uint8_t *p, int64_t now_ms);

/* One record; pointers are views into the batch, or into the decompressed records of a
 * compressed one (see rn_record_iter_init_any). */
struct rn_record {
	int64_t offset;    /* base offset + offset delta */
	int64_t timestamp; /* base timestamp + delta, or the max timestamp for LogAppendTime */
	int64_t timestamp_delta;
	int32_t offset_delta;
	int32_t key_len; /* -1 = null */
	const uint8_t *key;
	int32_t value_len; /* -1 = null */
	const uint8_t *value;
	int32_t header_count;
	const uint8_t *headers; /* header_count raw headers (keyLen key valueLen value)... */
	size_t headers_len;
};

struct rn_record_iter {
	const uint8_t *p;
	const uint8_t *end;
	int32_t left;
	int64_t base_offset;
	int64_t base_timestamp;
	int64_t max_timestamp;
	bool log_append_time; /* every record's timestamp is the batch's max timestamp */
};

/* Starts iterating the validated batch at batch[0..len). Returns 0, or RN_EUNSUPPORTED for a
 * compressed batch (records are one compressed stream then). */
int rn_record_iter_init(struct rn_record_iter *it, const uint8_t *batch, size_t len);
/* Same for a validated batch of any codec. A compressed batch's records are decompressed into
 * *scratch (reset first; at most max_out bytes, else RN_ETOOLARGE), which the caller owns, may
 * reuse across batches, and must neither change nor free while iterating (the records point
 * into it). Returns 0, RN_ECORRUPT (undecodable stream), RN_ETOOLARGE, RN_EUNSUPPORTED (codec
 * 5-7). */
int rn_record_iter_init_any(struct rn_record_iter *it, const uint8_t *batch, size_t len,
			    struct rn_buf *scratch, size_t max_out);
/* Returns 1 with *r filled, 0 after the last record, RN_ECORRUPT on a malformed record. */
int rn_record_iter_next(struct rn_record_iter *it, struct rn_record *r);

/* Appends v as a zig-zag varlong, the encoding of every length and delta in a v2 record: for
 * the writers that build records (the cleaner, down/up-conversion, the group coordinator). */
void rn_record_put_varlong(struct rn_buf *b, int64_t v);

#endif
