/*
 * Legacy message sets <-> record batches v2 (see legacy_records.h for the layout). Everything
 * here reads client bytes: every length is checked against what is there before it is used, and
 * decompression is bounded.
 */
#include "proto/legacy_records.h"

#include <string.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "proto/compress.h"
#include "proto/record_batch.h"

bool rn_legacy_is_set(const uint8_t *p, size_t len)
{
	return len > RN_BATCH_OFF_MAGIC &&
	       (p[RN_BATCH_OFF_MAGIC] == 0 || p[RN_BATCH_OFF_MAGIC] == 1);
}

uint32_t rn_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
	uLong c = crc;
	while (n > 0) {
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
		c = crc32(c, p, k);
		p += k;
		n -= k;
	}
	return (uint32_t)c;
}

/* ---- XXH32, for the lz4 frame header checksum only ---- */

#define XXP1 2654435761U
#define XXP2 2246822519U
#define XXP3 3266489917U
#define XXP4 668265263U
#define XXP5 374761393U

static uint32_t rotl32(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t xxh32(const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;
	uint32_t h;
	if (n >= 16) {
		uint32_t v[4] = {XXP1 + XXP2, XXP2, 0, 0u - XXP1};
		for (; end - p >= 16; p += 16)
			for (int i = 0; i < 4; i++)
				v[i] = rotl32(v[i] + le32(p + 4 * i) * XXP2, 13) * XXP1;
		h = rotl32(v[0], 1) + rotl32(v[1], 7) + rotl32(v[2], 12) + rotl32(v[3], 18);
	} else {
		h = XXP5;
	}
	h += (uint32_t)n;
	for (; end - p >= 4; p += 4)
		h = rotl32(h + le32(p) * XXP3, 17) * XXP4;
	for (; p < end; p++)
		h = rotl32(h + *p * XXP5, 11) * XXP1;
	h ^= h >> 15;
	h *= XXP2;
	h ^= h >> 13;
	h *= XXP3;
	h ^= h >> 16;
	return h;
}

/* Position of the header checksum byte of the lz4 frame f[0..n) (magic, FLG, BD, optional
 * content size and dictionary id, HC), or 0 if the header is not all there. */
static size_t lz4_hc_pos(const uint8_t *f, size_t n)
{
	if (n < 7)
		return 0;
	size_t pos = 6 + ((f[4] & 0x08) ? 8 : 0) + ((f[4] & 0x01) ? 4 : 0);
	return pos < n ? pos : 0;
}

/* Rewrites the header checksum of the lz4 frame in f[0..n): the correct one (over the frame
 * descriptor) or Kafka 0.8-0.9's (over magic number and descriptor, KAFKA-3160). */
static void lz4_set_hc(uint8_t *f, size_t n, bool broken)
{
	size_t pos = lz4_hc_pos(f, n);
	if (pos)
		f[pos] = (uint8_t)(xxh32(broken ? f : f + 4, broken ? pos : pos - 4) >> 8);
}

/* ---- Codecs as Kafka writes them for these formats ---- */

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

/* Snappy in the xerial framing of Java's SnappyOutputStream (header, then length-prefixed raw
 * blocks of at most 32 KiB input), which every old client reads. */
static int snappy_xerial(const uint8_t *in, size_t n, struct rn_buf *out)
{
	uint8_t hdr[16];
	memcpy(hdr, xerial_magic, 8);
	rn_put_be32(hdr + 8, 1);
	rn_put_be32(hdr + 12, 1);
	rn_buf_append(out, hdr, sizeof(hdr));
	for (size_t off = 0; off < n;) {
		size_t k = n - off < 32768 ? n - off : 32768;
		size_t cap = snappy_max_compressed_length(k);
		uint8_t *dst = rn_buf_reserve(out, 4 + cap);
		if (snappy_compress((const char *)in + off, k, (char *)dst + 4, &cap) != SNAPPY_OK)
			return RN_ECORRUPT;
		rn_put_be32(dst, (uint32_t)cap);
		out->len += 4 + cap;
		off += k;
	}
	return 0;
}

/* One lz4 frame with the flags of Kafka's KafkaLZ4BlockOutputStream: independent 64 KiB
 * blocks, no content size, no checksums; magic 0 gets the broken header checksum. */
static int lz4_kafka(const uint8_t *in, size_t n, bool magic0, struct rn_buf *out)
{
	LZ4F_preferences_t prefs;
	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.blockSizeID = LZ4F_max64KB;
	prefs.frameInfo.blockMode = LZ4F_blockIndependent;
	size_t bound = LZ4F_compressFrameBound(n, &prefs);
	uint8_t *dst = rn_buf_reserve(out, bound);
	size_t k = LZ4F_compressFrame(dst, bound, in, n, &prefs);
	if (LZ4F_isError(k))
		return RN_ECORRUPT;
	if (magic0)
		lz4_set_hc(dst, k, true);
	out->len += k;
	return 0;
}

/* Compresses in[0..n) with codec for a batch or wrapper of the given magic (2 for v2). */
static int compress_for(int codec, int8_t magic, const uint8_t *in, size_t n, struct rn_buf *out)
{
	if (codec == RN_CODEC_SNAPPY)
		return snappy_xerial(in, n, out);
	if (codec == RN_CODEC_LZ4)
		return lz4_kafka(in, n, magic == 0, out);
	return rn_compress(codec, in, n, out);
}

/* ---- Parsing legacy messages ---- */

struct lmsg {
	int64_t offset;
	int8_t magic;
	int8_t attr;
	int64_t timestamp; /* -1 for magic 0 */
	int32_t key_len;   /* -1 = null */
	const uint8_t *key;
	int32_t value_len;
	const uint8_t *value;
};

size_t rn_legacy_msg_size(const uint8_t *p, size_t avail)
{
	if (avail < RN_LEGACY_LOG_OVERHEAD)
		return 0;
	int32_t size = (int32_t)rn_be32(p + 8);
	if (size < RN_LEGACY_MIN_SIZE_V0 || (uint64_t)size + RN_LEGACY_LOG_OVERHEAD > avail)
		return 0;
	return (size_t)size + RN_LEGACY_LOG_OVERHEAD;
}

/* A nullable i32-length byte string inside [*pp, end). */
static bool read_lbytes(const uint8_t **pp, const uint8_t *end, int32_t *len, const uint8_t **d)
{
	if (end - *pp < 4)
		return false;
	*len = (int32_t)rn_be32(*pp);
	*pp += 4;
	*d = NULL;
	if (*len == -1)
		return true;
	if (*len < 0 || end - *pp < *len)
		return false;
	*d = *pp;
	*pp += *len;
	return true;
}

/* Parses and checks the message at p[0..avail): framing, size vs max (> 0), magic 0/1, CRC,
 * key and value filling it exactly. Returns its total size, RN_ECORRUPT or RN_ETOOLARGE. */
static int64_t parse_msg(const uint8_t *p, size_t avail, int32_t max, struct lmsg *m)
{
	size_t total = rn_legacy_msg_size(p, avail);
	if (total == 0)
		return RN_ECORRUPT;
	if (max > 0 && total > (size_t)max)
		return RN_ETOOLARGE;
	const uint8_t *q = p + 16, *end = p + total;
	m->offset = (int64_t)rn_be64(p);
	m->magic = (int8_t)q[0];
	m->attr = (int8_t)q[1];
	q += 2;
	if (m->magic != 0 && m->magic != 1)
		return RN_ECORRUPT;
	if (m->magic == 1 && total < RN_LEGACY_LOG_OVERHEAD + RN_LEGACY_MIN_SIZE_V1)
		return RN_ECORRUPT;
	if (rn_crc32(0, p + 16, total - 16) != rn_be32(p + 12))
		return RN_ECORRUPT;
	m->timestamp = -1;
	if (m->magic == 1) {
		m->timestamp = (int64_t)rn_be64(q);
		q += 8;
	}
	if (!read_lbytes(&q, end, &m->key_len, &m->key) ||
	    !read_lbytes(&q, end, &m->value_len, &m->value) || q != end)
		return RN_ECORRUPT;
	return (int64_t)total;
}

/* Kafka's timestamp-type rule for client data: a producer may not claim LogAppendTime, except
 * that a CreateTime topic lets it through when the message carries a timestamp. */
static bool ts_type_ok(const struct lmsg *batch, int64_t ts, bool topic_lat)
{
	if (batch->magic == 0 || !(batch->attr & RN_LEGACY_ATTR_LOG_APPEND_TIME))
		return true;
	return !topic_lat && ts != -1;
}

/* ---- Building v2 batches ---- */

struct v2b {
	struct rn_buf recs; /* the records, uncompressed */
	int32_t n;
	int64_t base_ts, max_ts;
};

static size_t varint_len(int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t k = 1;
	while (z >= 0x80) {
		z >>= 7;
		k++;
	}
	return k;
}

/* Bytes of a record's body (after its length prefix) in a v2 batch. */
static size_t v2_body_size(const struct v2b *b, int64_t ts, int32_t klen, int32_t vlen)
{
	int64_t dts = b->n ? (int64_t)((uint64_t)ts - (uint64_t)b->base_ts) : 0;
	return 1 + varint_len(dts) + varint_len(b->n) + varint_len(klen) +
	       (klen > 0 ? (size_t)klen : 0) + varint_len(vlen) + (vlen > 0 ? (size_t)vlen : 0) + 1;
}

/* Bytes the record would add to b, length prefix included. */
static size_t v2_record_size(const struct v2b *b, int64_t ts, int32_t klen, int32_t vlen)
{
	size_t body = v2_body_size(b, ts, klen, vlen);
	return varint_len((int64_t)body) + body;
}

static void v2_add(struct v2b *b, int64_t ts, const uint8_t *key, int32_t klen, const uint8_t *val,
		   int32_t vlen)
{
	if (b->n == 0) {
		b->base_ts = ts;
		b->max_ts = -1;
	}
	if (ts > b->max_ts)
		b->max_ts = ts;
	uint8_t zero = 0;
	rn_record_put_varlong(&b->recs, (int64_t)v2_body_size(b, ts, klen, vlen));
	rn_buf_append(&b->recs, &zero, 1); /* attributes */
	rn_record_put_varlong(&b->recs, (int64_t)((uint64_t)ts - (uint64_t)b->base_ts));
	rn_record_put_varlong(&b->recs, b->n);
	rn_record_put_varlong(&b->recs, klen);
	if (klen > 0)
		rn_buf_append(&b->recs, key, (size_t)klen);
	rn_record_put_varlong(&b->recs, vlen);
	if (vlen > 0)
		rn_buf_append(&b->recs, val, (size_t)vlen);
	rn_buf_append(&b->recs, &zero, 1); /* no headers */
	b->n++;
}

/* Appends the batch of b's records to out with codec (base offset 0, producer id -1) and
 * empties b. */
static int v2_flush(struct v2b *b, int codec, struct rn_buf *out)
{
	if (b->n == 0)
		return 0;
	size_t start = out->len;
	uint8_t *h = rn_buf_reserve(out, RN_BATCH_HEADER_SIZE);
	memset(h, 0, RN_BATCH_HEADER_SIZE);
	out->len += RN_BATCH_HEADER_SIZE;
	int rc = compress_for(codec, 2, b->recs.data, b->recs.len, out);
	if (rc < 0) {
		out->len = start;
		return rc;
	}
	h = out->data + start;
	size_t total = out->len - start;
	rn_put_be32(h + RN_BATCH_OFF_LENGTH, (uint32_t)(total - RN_BATCH_LOG_OVERHEAD));
	rn_put_be32(h + RN_BATCH_OFF_LEADER_EPOCH, (uint32_t)-1);
	h[RN_BATCH_OFF_MAGIC] = 2;
	h[RN_BATCH_OFF_ATTRIBUTES + 1] = (uint8_t)codec;
	rn_put_be32(h + RN_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(b->n - 1));
	rn_put_be64(h + RN_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)b->base_ts);
	rn_put_be64(h + RN_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)b->max_ts);
	rn_put_be64(h + RN_BATCH_OFF_PRODUCER_ID, (uint64_t)-1);
	h[RN_BATCH_OFF_PRODUCER_EPOCH] = 0xff;
	h[RN_BATCH_OFF_PRODUCER_EPOCH + 1] = 0xff;
	rn_put_be32(h + RN_BATCH_OFF_BASE_SEQUENCE, (uint32_t)-1);
	rn_put_be32(h + RN_BATCH_OFF_RECORDS_COUNT, (uint32_t)b->n);
	rn_put_be32(h + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, h + RN_BATCH_OFF_ATTRIBUTES, total - RN_BATCH_OFF_ATTRIBUTES));
	rn_buf_reset(&b->recs);
	b->n = 0;
	return 0;
}

/* ---- Legacy -> v2 (Produce) ---- */

/* The compressed wrapper w: its inner messages become one v2 batch of the same codec. */
static int convert_wrapper(const struct lmsg *w, struct rn_buf *out)
{
	int codec = w->attr & RN_BATCH_ATTR_CODEC_MASK;
	if (codec > RN_CODEC_ZSTD || w->value_len <= 0)
		return RN_ECORRUPT;
	const uint8_t *src = w->value;
	size_t n = (size_t)w->value_len;
	uint8_t *fixed = NULL;
	if (codec == RN_CODEC_LZ4 && w->magic == 0) {
		/* Kafka ignores magic 0's header checksum (KAFKA-3160); liblz4 checks it. */
		fixed = rn_malloc(n);
		memcpy(fixed, src, n);
		lz4_set_hc(fixed, n, false);
		src = fixed;
	}
	struct rn_buf inner = {0};
	int rc = rn_decompress(codec, src, n, &inner, RN_LEGACY_MAX_INFLATE);
	rn_free(fixed);
	struct v2b b = {0};
	for (size_t off = 0; rc == 0 && off < inner.len;) {
		struct lmsg m;
		int64_t t = parse_msg(inner.data + off, inner.len - off, 0, &m);
		if (t < 0) {
			rc = (int)t;
		} else if (m.magic != w->magic || (m.attr & RN_BATCH_ATTR_CODEC_MASK)) {
			rc = RN_EBADRECORD;
		} else {
			bool lat = w->magic == 1 && (w->attr & RN_LEGACY_ATTR_LOG_APPEND_TIME);
			v2_add(&b, lat ? w->timestamp : m.timestamp, m.key, m.key_len, m.value,
			       m.value_len);
			off += (size_t)t;
		}
	}
	if (rc == 0 && b.n == 0)
		rc = RN_ECORRUPT;
	if (rc == 0)
		rc = v2_flush(&b, codec, out);
	rn_buf_free(&inner);
	rn_buf_free(&b.recs);
	return rc;
}

/* One pass over the shallow messages: checked, and the uncompressed ones collected into v2
 * batches of at most max_message_bytes; a compressed one must be alone (Kafka's rule). */
static int convert_set(const uint8_t *in, size_t len, const struct rn_legacy_in *opt, struct v2b *b,
		       struct rn_buf *out)
{
	struct lmsg first = {0}, m;
	int nmsgs = 0;
	bool compressed = false;
	for (size_t off = 0; off < len; nmsgs++) {
		int64_t t = parse_msg(in + off, len - off, opt->max_message_bytes, &m);
		if (t < 0)
			return (int)t;
		off += (size_t)t;
		if (nmsgs == 0)
			first = m;
		if (m.magic != first.magic)
			return RN_EBADRECORD;
		if (!ts_type_ok(&m, m.timestamp, opt->log_append_time))
			return RN_EBADTIMESTAMP;
		bool c = (m.attr & RN_BATCH_ATTR_CODEC_MASK) != 0;
		if ((c && nmsgs > 0) || compressed)
			return RN_EBADRECORD;
		compressed = c;
		if (c)
			continue;
		size_t add = v2_record_size(b, m.timestamp, m.key_len, m.value_len);
		if (opt->max_message_bytes > 0 && b->n > 0 &&
		    RN_BATCH_HEADER_SIZE + b->recs.len + add > (size_t)opt->max_message_bytes) {
			int rc = v2_flush(b, RN_CODEC_NONE, out);
			if (rc < 0)
				return rc;
		}
		v2_add(b, m.timestamp, m.key, m.key_len, m.value, m.value_len);
	}
	if (nmsgs == 0)
		return RN_ECORRUPT;
	if (compressed)
		return convert_wrapper(&first, out);
	return v2_flush(b, RN_CODEC_NONE, out);
}

int rn_legacy_to_v2(const uint8_t *in, size_t len, const struct rn_legacy_in *opt,
		    struct rn_buf *out)
{
	size_t start = out->len;
	struct v2b b = {0};
	int rc = convert_set(in, len, opt, &b, out);
	rn_buf_free(&b.recs);
	if (rc < 0)
		out->len = start;
	return rc;
}

/* ---- v2 -> legacy (Fetch v0-v3) ---- */

static void put_msg(struct rn_buf *out, int8_t magic, int64_t offset, uint8_t attr, int64_t ts,
		    const uint8_t *key, int32_t klen, const uint8_t *val, int32_t vlen)
{
	size_t size = 4 + 1 + 1 + (magic ? 8 : 0) + 4 + (klen > 0 ? (size_t)klen : 0) + 4 +
		      (vlen > 0 ? (size_t)vlen : 0);
	uint8_t *p = rn_buf_reserve(out, RN_LEGACY_LOG_OVERHEAD + size), *q = p + 18;
	rn_put_be64(p, (uint64_t)offset);
	rn_put_be32(p + 8, (uint32_t)size);
	p[16] = (uint8_t)magic;
	p[17] = attr;
	if (magic) {
		rn_put_be64(q, (uint64_t)ts);
		q += 8;
	}
	rn_put_be32(q, (uint32_t)klen);
	q += 4;
	if (klen > 0)
		memcpy(q, key, (size_t)klen);
	q += klen > 0 ? klen : 0;
	rn_put_be32(q, (uint32_t)vlen);
	q += 4;
	if (vlen > 0)
		memcpy(q, val, (size_t)vlen);
	rn_put_be32(p + 12, rn_crc32(0, p + 16, size - 4));
	out->len += RN_LEGACY_LOG_OVERHEAD + size;
}

/* The records of a compressed batch as one wrapper message of the same codec. */
static int wrap_records(struct rn_record_iter *it, int codec, int8_t magic, bool lat,
			int64_t lat_ts, struct rn_buf *out, int *count)
{
	struct rn_buf inner = {0}, z = {0};
	struct rn_record r;
	int64_t first = -1, last = -1, max_ts = -1;
	uint8_t tsattr = magic == 1 && lat ? RN_LEGACY_ATTR_LOG_APPEND_TIME : 0;
	int rc;
	while ((rc = rn_record_iter_next(it, &r)) == 1) {
		if (first < 0)
			first = r.offset;
		last = r.offset;
		max_ts = r.timestamp > max_ts ? r.timestamp : max_ts;
		put_msg(&inner, magic, magic == 1 ? r.offset - first : r.offset, tsattr,
			r.timestamp, r.key, r.key_len, r.value, r.value_len);
		(*count)++;
	}
	if (rc == 0 && inner.len > 0)
		rc = compress_for(codec, magic, inner.data, inner.len, &z);
	if (rc == 0 && inner.len > 0)
		put_msg(out, magic, last, (uint8_t)(codec | tsattr), lat ? lat_ts : max_ts, NULL,
			-1, z.data, (int32_t)z.len);
	rn_buf_free(&inner);
	rn_buf_free(&z);
	return rc;
}

int rn_legacy_from_v2(const uint8_t *batch, size_t len, int8_t magic, int64_t min_offset,
		      struct rn_buf *scratch, struct rn_buf *out)
{
	/* A stored batch: the cleaner may leave fewer records than its offset range, or none. */
	struct rn_batch_header h;
	int64_t total = rn_batch_validate_stored(batch, len, &h);
	if (total < 0)
		return RN_ECORRUPT;
	if (h.attributes & RN_BATCH_ATTR_CONTROL)
		return 0;
	int codec = h.attributes & RN_BATCH_ATTR_CODEC_MASK;
	bool lat = h.attributes & RN_BATCH_ATTR_LOG_APPEND_TIME;
	struct rn_record_iter it;
	int rc = rn_record_iter_init_any(&it, batch, (size_t)total, scratch, RN_LEGACY_MAX_INFLATE);
	if (rc < 0)
		return rc == RN_ETOOLARGE ? rc : RN_ECORRUPT;
	size_t start = out->len;
	int count = 0;
	if (codec != RN_CODEC_NONE && codec != RN_CODEC_ZSTD) {
		rc = wrap_records(&it, codec, magic, lat, h.max_timestamp, out, &count);
	} else {
		uint8_t tsattr = magic == 1 && lat ? RN_LEGACY_ATTR_LOG_APPEND_TIME : 0;
		struct rn_record r;
		while ((rc = rn_record_iter_next(&it, &r)) == 1) {
			if (r.offset < min_offset)
				continue;
			put_msg(out, magic, r.offset, tsattr, r.timestamp, r.key, r.key_len,
				r.value, r.value_len);
			count++;
		}
	}
	if (rc < 0) {
		out->len = start;
		return RN_ECORRUPT;
	}
	return count;
}
