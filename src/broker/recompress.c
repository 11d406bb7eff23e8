#include "broker/recompress.h"

#include <string.h>

#include "core/buf.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "proto/compress.h"
#include "proto/record_batch.h"
#include "storage/log_config.h"

#define MAX_INFLATED (64u << 20)

static int batch_codec(const uint8_t *b)
{
	return b[RN_BATCH_OFF_ATTRIBUTES + 1] & RN_BATCH_ATTR_CODEC_MASK;
}

static bool is_control(const uint8_t *b)
{
	return (b[RN_BATCH_OFF_ATTRIBUTES + 1] & RN_BATCH_ATTR_CONTROL) != 0;
}

/* True when some well-formed batch must change; stops at the first malformed one. */
static bool needs_work(const uint8_t *p, size_t len, int codec)
{
	size_t off = 0;
	while (off < len) {
		int64_t n = rn_batch_validate(p + off, len - off, 0, NULL);
		if (n <= 0)
			return false;
		if (!is_control(p + off) && batch_codec(p + off) != codec)
			return true;
		off += (size_t)n;
	}
	return false;
}

/* Appends batch b (total size n) rewritten into codec to out. */
static int rewrite(const uint8_t *b, size_t n, int codec, struct rn_buf *out)
{
	struct rn_buf plain = {0};
	const uint8_t *body = b + RN_BATCH_HEADER_SIZE;
	size_t blen = n - RN_BATCH_HEADER_SIZE;
	int rc = rn_decompress(batch_codec(b), body, blen, &plain, MAX_INFLATED);
	if (rc < 0)
		goto out;
	size_t at = out->len;
	rn_buf_append(out, b, RN_BATCH_HEADER_SIZE);
	if (codec == RN_CODEC_NONE)
		rn_buf_append(out, plain.data, plain.len);
	else if ((rc = rn_compress(codec, plain.data, plain.len, out)) < 0)
		goto out;
	uint8_t *h = out->data + at;
	size_t total = out->len - at;
	rn_put_be32(h + RN_BATCH_OFF_LENGTH, (uint32_t)(total - RN_BATCH_LOG_OVERHEAD));
	h[RN_BATCH_OFF_ATTRIBUTES + 1] =
	    (uint8_t)((h[RN_BATCH_OFF_ATTRIBUTES + 1] & ~RN_BATCH_ATTR_CODEC_MASK) | codec);
	uint32_t crc = rn_crc32c(0, h + RN_BATCH_OFF_ATTRIBUTES, total - RN_BATCH_OFF_ATTRIBUTES);
	rn_put_be32(h + RN_BATCH_OFF_CRC, crc);
out:
	rn_buf_free(&plain);
	return rc;
}

int rn_recompress(struct rn_arena *a, int codec, struct rn_records *records)
{
	if (codec == RN_LOG_CODEC_PRODUCER || codec < 0 || !records->ptr || records->len <= 0)
		return 0;
	const uint8_t *p = records->ptr;
	size_t len = (size_t)records->len, off = 0;
	if (!needs_work(p, len, codec))
		return 0;
	struct rn_buf out = {0};
	int rc = 0;
	while (off < len) {
		int64_t n = rn_batch_validate(p + off, len - off, 0, NULL);
		if (n <= 0) {
			rn_buf_append(&out, p + off, len - off); /* refused by the append */
			break;
		}
		if (is_control(p + off) || batch_codec(p + off) == codec)
			rn_buf_append(&out, p + off, (size_t)n);
		else if ((rc = rewrite(p + off, (size_t)n, codec, &out)) < 0)
			goto out;
		off += (size_t)n;
	}
	if (out.len > INT32_MAX) {
		rc = RN_ETOOLARGE;
		goto out;
	}
	uint8_t *copy = rn_arena_alloc(a, out.len);
	memcpy(copy, out.data, out.len);
	records->ptr = copy;
	records->len = (int32_t)out.len;
out:
	rn_buf_free(&out);
	return rc;
}
