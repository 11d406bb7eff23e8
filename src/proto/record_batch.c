#include "proto/record_batch.h"

#include "core/crc32c.h"
#include "core/err.h"
#include "proto/compress.h"

void rn_batch_header_parse(const uint8_t *p, struct rn_batch_header *h)
{
	h->base_offset = (int64_t)rn_be64(p + RN_BATCH_OFF_BASE_OFFSET);
	h->length = (int32_t)rn_be32(p + RN_BATCH_OFF_LENGTH);
	h->partition_leader_epoch = (int32_t)rn_be32(p + RN_BATCH_OFF_LEADER_EPOCH);
	h->magic = (int8_t)p[RN_BATCH_OFF_MAGIC];
	h->crc = rn_be32(p + RN_BATCH_OFF_CRC);
	h->attributes = (int16_t)(p[RN_BATCH_OFF_ATTRIBUTES] << 8 | p[RN_BATCH_OFF_ATTRIBUTES + 1]);
	h->last_offset_delta = (int32_t)rn_be32(p + RN_BATCH_OFF_LAST_OFFSET_DELTA);
	h->base_timestamp = (int64_t)rn_be64(p + RN_BATCH_OFF_BASE_TIMESTAMP);
	h->max_timestamp = (int64_t)rn_be64(p + RN_BATCH_OFF_MAX_TIMESTAMP);
	h->producer_id = (int64_t)rn_be64(p + RN_BATCH_OFF_PRODUCER_ID);
	h->producer_epoch =
	    (int16_t)(p[RN_BATCH_OFF_PRODUCER_EPOCH] << 8 | p[RN_BATCH_OFF_PRODUCER_EPOCH + 1]);
	h->base_sequence = (int32_t)rn_be32(p + RN_BATCH_OFF_BASE_SEQUENCE);
	h->records_count = (int32_t)rn_be32(p + RN_BATCH_OFF_RECORDS_COUNT);
}

int64_t rn_batch_check_frame(const uint8_t *p, size_t avail)
{
	/* Magic sits at byte 16; a legacy message set (offset, size, crc, magic) has it there
	 * too, so check it before the v2 header size: a short magic 0 message is still
	 * "unsupported", not "corrupt". */
	if (avail < RN_BATCH_OFF_MAGIC + 1)
		return RN_ECORRUPT;
	int8_t magic = (int8_t)p[RN_BATCH_OFF_MAGIC];
	if (magic == 0 || magic == 1)
		return RN_EUNSUPPORTED;
	if (magic != 2 || avail < RN_BATCH_HEADER_SIZE)
		return RN_ECORRUPT;
	int32_t length = (int32_t)rn_be32(p + RN_BATCH_OFF_LENGTH);
	if (length < RN_BATCH_MIN_LENGTH)
		return RN_ECORRUPT;
	uint64_t total = (uint64_t)length + RN_BATCH_LOG_OVERHEAD;
	if (total > avail)
		return RN_ECORRUPT;
	return (int64_t)total;
}

int64_t rn_batch_validate(const uint8_t *p, size_t avail, int32_t max_message_bytes,
			  struct rn_batch_header *h)
{
	int64_t total = rn_batch_check_frame(p, avail);
	if (total < 0)
		return total;
	struct rn_batch_header local;
	if (!h)
		h = &local;
	rn_batch_header_parse(p, h);
	uint32_t crc =
	    rn_crc32c(0, p + RN_BATCH_OFF_ATTRIBUTES, (size_t)total - RN_BATCH_OFF_ATTRIBUTES);
	if (crc != h->crc)
		return RN_ECORRUPT;
	if (h->records_count < 0 || h->last_offset_delta < 0)
		return RN_ECORRUPT;
	if ((h->attributes & RN_BATCH_ATTR_CODEC_MASK) == 0) {
		/* Uncompressed: every record takes at least 7 bytes (length, attributes,
		 * timestamp delta, offset delta, key length, value length, header count). */
		if (h->records_count != (int64_t)h->last_offset_delta + 1)
			return RN_ECORRUPT;
		if ((uint64_t)h->records_count * 7 > (uint64_t)total - RN_BATCH_HEADER_SIZE)
			return RN_ECORRUPT;
	} else if (h->records_count < 1 || h->last_offset_delta < h->records_count - 1) {
		return RN_ECORRUPT;
	}
	if (max_message_bytes > 0 && total > max_message_bytes)
		return RN_ETOOLARGE;
	return total;
}

int64_t rn_batch_validate_stored(const uint8_t *p, size_t avail, struct rn_batch_header *h)
{
	int64_t total = rn_batch_check_frame(p, avail);
	if (total < 0)
		return total;
	rn_batch_header_parse(p, h);
	uint32_t crc =
	    rn_crc32c(0, p + RN_BATCH_OFF_ATTRIBUTES, (size_t)total - RN_BATCH_OFF_ATTRIBUTES);
	if (crc != h->crc || h->records_count < 0 || h->last_offset_delta < 0)
		return RN_ECORRUPT;
	if ((int64_t)h->records_count > (int64_t)h->last_offset_delta + 1 &&
	    (h->attributes & RN_BATCH_ATTR_CODEC_MASK) == 0)
		return RN_ECORRUPT;
	if ((uint64_t)h->records_count * 7 > (uint64_t)total - RN_BATCH_HEADER_SIZE &&
	    (h->attributes & RN_BATCH_ATTR_CODEC_MASK) == 0)
		return RN_ECORRUPT;
	return total;
}

void rn_batch_set_base_offset(uint8_t *p, int64_t base_offset)
{
	rn_put_be64(p + RN_BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void rn_batch_set_leader_epoch(uint8_t *p, int32_t epoch)
{
	rn_put_be32(p + RN_BATCH_OFF_LEADER_EPOCH, (uint32_t)epoch);
}

void rn_batch_set_log_append_time(uint8_t *p, int64_t now_ms)
{
	uint64_t total = rn_batch_total_size(p);
	p[RN_BATCH_OFF_ATTRIBUTES + 1] |= RN_BATCH_ATTR_LOG_APPEND_TIME;
	rn_put_be64(p + RN_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)now_ms);
	uint32_t crc =
	    rn_crc32c(0, p + RN_BATCH_OFF_ATTRIBUTES, (size_t)total - RN_BATCH_OFF_ATTRIBUTES);
	rn_put_be32(p + RN_BATCH_OFF_CRC, crc);
}

/* Zig-zag varint (protobuf sint64), at most 10 bytes. Returns false when truncated or too
 * long. */
static bool read_varlong(const uint8_t **pp, const uint8_t *end, int64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		if (p >= end)
			return false;
		uint8_t b = *p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
			*pp = p;
			return true;
		}
	}
	return false;
}

static bool read_varint(const uint8_t **pp, const uint8_t *end, int32_t *out)
{
	int64_t v;
	if (!read_varlong(pp, end, &v) || v < INT32_MIN || v > INT32_MAX)
		return false;
	*out = (int32_t)v;
	return true;
}

/* A nullable byte string: varint length (-1 = null) then the bytes. */
static bool read_bytes(const uint8_t **pp, const uint8_t *end, int32_t *len, const uint8_t **data)
{
	if (!read_varint(pp, end, len) || *len < -1)
		return false;
	*data = NULL;
	if (*len < 0)
		return true;
	if (end - *pp < *len)
		return false;
	*data = *pp;
	*pp += *len;
	return true;
}

static void iter_start(struct rn_record_iter *it, const uint8_t *batch, const uint8_t *records,
		       size_t len)
{
	it->p = records;
	it->end = records + len;
	it->left = (int32_t)rn_be32(batch + RN_BATCH_OFF_RECORDS_COUNT);
	it->base_offset = (int64_t)rn_be64(batch + RN_BATCH_OFF_BASE_OFFSET);
	it->base_timestamp = (int64_t)rn_be64(batch + RN_BATCH_OFF_BASE_TIMESTAMP);
	it->max_timestamp = (int64_t)rn_be64(batch + RN_BATCH_OFF_MAX_TIMESTAMP);
	it->log_append_time = batch[RN_BATCH_OFF_ATTRIBUTES + 1] & RN_BATCH_ATTR_LOG_APPEND_TIME;
}

int rn_record_iter_init(struct rn_record_iter *it, const uint8_t *batch, size_t len)
{
	if (batch[RN_BATCH_OFF_ATTRIBUTES + 1] & RN_BATCH_ATTR_CODEC_MASK)
		return RN_EUNSUPPORTED;
	iter_start(it, batch, batch + RN_BATCH_HEADER_SIZE, len - RN_BATCH_HEADER_SIZE);
	return 0;
}

int rn_record_iter_init_any(struct rn_record_iter *it, const uint8_t *batch, size_t len,
			    struct rn_buf *scratch, size_t max_out)
{
	int codec = batch[RN_BATCH_OFF_ATTRIBUTES + 1] & RN_BATCH_ATTR_CODEC_MASK;
	if (codec == RN_CODEC_NONE)
		return rn_record_iter_init(it, batch, len);
	rn_buf_reset(scratch);
	int rc = rn_decompress(codec, batch + RN_BATCH_HEADER_SIZE, len - RN_BATCH_HEADER_SIZE,
			       scratch, max_out);
	if (rc < 0)
		return rc;
	/* An empty result leaves scratch->data NULL when nothing was ever allocated. */
	static const uint8_t none;
	iter_start(it, batch, scratch->len ? scratch->data : &none, scratch->len);
	return 0;
}

int rn_record_iter_next(struct rn_record_iter *it, struct rn_record *r)
{
	if (it->left <= 0)
		return 0;
	const uint8_t *p = it->p;
	int32_t rlen;
	if (!read_varint(&p, it->end, &rlen) || rlen < 0 || it->end - p < rlen)
		return RN_ECORRUPT;
	const uint8_t *end = p + rlen;
	if (p >= end)
		return RN_ECORRUPT;
	p++; /* attributes, unused */
	if (!read_varlong(&p, end, &r->timestamp_delta) || !read_varint(&p, end, &r->offset_delta))
		return RN_ECORRUPT;
	if (!read_bytes(&p, end, &r->key_len, &r->key) ||
	    !read_bytes(&p, end, &r->value_len, &r->value))
		return RN_ECORRUPT;
	if (!read_varint(&p, end, &r->header_count) || r->header_count < 0)
		return RN_ECORRUPT;
	r->headers = p;
	for (int32_t i = 0; i < r->header_count; i++) {
		int32_t n;
		const uint8_t *d;
		if (!read_bytes(&p, end, &n, &d) || n < 0 || !read_bytes(&p, end, &n, &d))
			return RN_ECORRUPT;
	}
	r->headers_len = (size_t)(p - r->headers);
	if (p != end)
		return RN_ECORRUPT;
	/* Unsigned arithmetic: a client's deltas may overflow, which must not be UB. */
	r->offset = (int64_t)((uint64_t)it->base_offset + (uint64_t)(int64_t)r->offset_delta);
	r->timestamp = it->log_append_time
			   ? it->max_timestamp
			   : (int64_t)((uint64_t)it->base_timestamp + (uint64_t)r->timestamp_delta);
	it->p = end;
	it->left--;
	return 1;
}

void rn_record_put_varlong(struct rn_buf *b, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	uint8_t tmp[10];
	size_t n = 0;
	while (z >= 0x80) {
		tmp[n++] = (uint8_t)(z | 0x80);
		z >>= 7;
	}
	tmp[n++] = (uint8_t)z;
	rn_buf_append(b, tmp, n);
}
