/*
 * Codecs. Every streaming decoder writes into the caller's rn_buf through a "sink" that never
 * offers more than max_out + 1 bytes of room: a stream exactly max_out long can finish, a longer
 * one is caught by the extra byte without allocating past the bound.
 */
#include "proto/compress.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "core/err.h"
#include "proto/record_batch.h"

struct sink {
	struct rn_buf *out;
	size_t start; /* out->len at entry */
	size_t max_out;
};

static size_t sink_len(const struct sink *s)
{
	return s->out->len - s->start;
}

/* Returns where the next output goes with *room >= 1 bytes there, or NULL once more than
 * max_out bytes were produced. The room asked for doubles with the output (at least 16 KiB), so
 * large outputs cost O(log n) reallocations. */
static uint8_t *sink_room(struct sink *s, size_t *room)
{
	size_t done = sink_len(s);
	if (done > s->max_out)
		return NULL;
	size_t left = s->max_out - done;
	if (left < SIZE_MAX)
		left++;
	size_t want = done > 16384 ? done : 16384;
	if (want > left)
		want = left;
	uint8_t *p = rn_buf_reserve(s->out, want);
	size_t avail = s->out->cap - s->out->len;
	*room = avail < left ? avail : left;
	return p;
}

/* Streams end when the input is used up at a frame boundary. A call that neither consumed input
 * nor produced output although it had room means the input stops mid-frame. */
static int gunzip(const uint8_t *in, size_t inlen, struct sink *s)
{
	if (inlen > UINT_MAX)
		return RN_ETOOLARGE;
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* 15 + 32: a 32 KiB window and automatic gzip/zlib header detection (as librdkafka). */
	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)inlen;
	int rc = 0;
	for (;;) {
		size_t room;
		uint8_t *dst = sink_room(s, &room);
		if (!dst) {
			rc = RN_ETOOLARGE;
			break;
		}
		if (room > UINT_MAX)
			room = UINT_MAX;
		z.next_out = dst;
		z.avail_out = (uInt)room;
		int zr = inflate(&z, Z_NO_FLUSH);
		s->out->len += room - z.avail_out;
		if (zr == Z_STREAM_END) {
			if (z.avail_in == 0)
				break;
			/* Concatenated members decode as one stream (Java's GZIPInputStream). */
			if (inflateReset(&z) != Z_OK) {
				rc = RN_ECORRUPT;
				break;
			}
			continue;
		}
		if ((zr != Z_OK && zr != Z_BUF_ERROR) || (z.avail_in == 0 && z.avail_out > 0)) {
			rc = RN_ECORRUPT;
			break;
		}
	}
	inflateEnd(&z);
	return rc;
}

static int unsnappy_block(const uint8_t *in, size_t inlen, struct sink *s)
{
	size_t n;
	if (inlen == 0 || snappy_uncompressed_length((const char *)in, inlen, &n) != SNAPPY_OK)
		return RN_ECORRUPT;
	/* The block states its length up front: check it before allocating. */
	if (n > s->max_out - sink_len(s))
		return RN_ETOOLARGE;
	uint8_t *dst = rn_buf_reserve(s->out, n ? n : 1);
	size_t got = n;
	if (snappy_uncompress((const char *)in, inlen, (char *)dst, &got) != SNAPPY_OK || got != n)
		return RN_ECORRUPT;
	s->out->len += n;
	return 0;
}

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER 16 /* magic, version i32, compatible version i32 */

/* A raw snappy block cannot be mistaken for the xerial header in practice: librdkafka makes
 * the same test. */
static int unsnappy(const uint8_t *in, size_t inlen, struct sink *s)
{
	if (inlen < XERIAL_HEADER || memcmp(in, xerial_magic, sizeof(xerial_magic)) != 0)
		return unsnappy_block(in, inlen, s);
	const uint8_t *p = in + XERIAL_HEADER, *end = in + inlen;
	while (p < end) {
		if (end - p < 4)
			return RN_ECORRUPT;
		uint32_t n = rn_be32(p);
		p += 4;
		if (n > (size_t)(end - p))
			return RN_ECORRUPT;
		int rc = unsnappy_block(p, n, s);
		if (rc < 0)
			return rc;
		p += n;
	}
	return 0;
}

static int unlz4(const uint8_t *in, size_t inlen, struct sink *s)
{
	LZ4F_dctx *d;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
		return -ENOMEM;
	const uint8_t *p = in, *end = in + inlen;
	size_t hint = 1; /* LZ4F_decompress's answer: 0 once a frame is complete */
	int rc = 0;
	while (p < end || hint != 0) {
		size_t room;
		uint8_t *dst = sink_room(s, &room);
		if (!dst) {
			rc = RN_ETOOLARGE;
			break;
		}
		size_t dn = room, sn = (size_t)(end - p);
		hint = LZ4F_decompress(d, dst, &dn, p, &sn, NULL);
		if (LZ4F_isError(hint) || (dn == 0 && sn == 0)) {
			rc = RN_ECORRUPT;
			break;
		}
		p += sn;
		s->out->len += dn;
	}
	LZ4F_freeDecompressionContext(d);
	return rc;
}

/* The decoder allocates the frame's window when the frame does not state its content size, and
 * a client chooses the window: accept what real encoders use (up to 8 MiB, zstd level 19 on
 * large inputs) or max_out, whichever is larger, up to zstd's own default limit of 128 MiB. */
static int window_log_max(size_t max_out)
{
	int wl = 23;
	while (wl < 27 && ((size_t)1 << wl) < max_out)
		wl++;
	return wl;
}

static int unzstd(const uint8_t *in, size_t inlen, struct sink *s)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	if (!d)
		return -ENOMEM;
	ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, window_log_max(s->max_out));
	ZSTD_inBuffer ib = {in, inlen, 0};
	size_t hint = 1; /* 0 once a frame is complete and flushed */
	int rc = 0;
	while (ib.pos < ib.size || hint != 0) {
		size_t room;
		uint8_t *dst = sink_room(s, &room);
		if (!dst) {
			rc = RN_ETOOLARGE;
			break;
		}
		ZSTD_outBuffer ob = {dst, room, 0};
		size_t before = ib.pos;
		hint = ZSTD_decompressStream(d, &ob, &ib);
		if (ZSTD_isError(hint) || (ob.pos == 0 && ib.pos == before)) {
			rc = RN_ECORRUPT;
			break;
		}
		s->out->len += ob.pos;
	}
	ZSTD_freeDCtx(d);
	return rc;
}

int rn_decompress(int codec, const uint8_t *in, size_t inlen, struct rn_buf *out, size_t max_out)
{
	struct sink s = {out, out->len, max_out};
	int rc;
	if (codec != RN_CODEC_NONE && inlen == 0)
		return RN_ECORRUPT;
	switch (codec) {
	case RN_CODEC_NONE:
		if (inlen > max_out)
			return RN_ETOOLARGE;
		rn_buf_append(out, in, inlen);
		return 0;
	case RN_CODEC_GZIP: rc = gunzip(in, inlen, &s); break;
	case RN_CODEC_SNAPPY: rc = unsnappy(in, inlen, &s); break;
	case RN_CODEC_LZ4: rc = unlz4(in, inlen, &s); break;
	case RN_CODEC_ZSTD: rc = unzstd(in, inlen, &s); break;
	default: return RN_EUNSUPPORTED;
	}
	if (rc == 0 && sink_len(&s) > max_out)
		rc = RN_ETOOLARGE;
	if (rc < 0)
		out->len = s.start;
	return rc;
}

static int gzip(const uint8_t *in, size_t inlen, struct rn_buf *out)
{
	if (inlen > UINT_MAX)
		return RN_ETOOLARGE;
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* 15 + 16: a 32 KiB window with the gzip wrapper, which is what Kafka means by gzip. */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -ENOMEM;
	uLong bound = deflateBound(&z, (uLong)inlen);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)inlen;
	z.next_out = rn_buf_reserve(out, bound);
	z.avail_out = (uInt)bound;
	int zr = deflate(&z, Z_FINISH);
	out->len += bound - z.avail_out;
	deflateEnd(&z);
	return zr == Z_STREAM_END ? 0 : RN_ECORRUPT;
}

int rn_compress(int codec, const uint8_t *in, size_t inlen, struct rn_buf *out)
{
	size_t bound, n;
	uint8_t *dst;
	switch (codec) {
	case RN_CODEC_NONE: rn_buf_append(out, in, inlen); return 0;
	case RN_CODEC_GZIP: return gzip(in, inlen, out);
	case RN_CODEC_SNAPPY:
		n = snappy_max_compressed_length(inlen);
		dst = rn_buf_reserve(out, n);
		if (snappy_compress((const char *)in, inlen, (char *)dst, &n) != SNAPPY_OK)
			return RN_ECORRUPT;
		out->len += n;
		return 0;
	case RN_CODEC_LZ4:
		bound = LZ4F_compressFrameBound(inlen, NULL);
		dst = rn_buf_reserve(out, bound);
		n = LZ4F_compressFrame(dst, bound, in, inlen, NULL);
		if (LZ4F_isError(n))
			return RN_ECORRUPT;
		out->len += n;
		return 0;
	case RN_CODEC_ZSTD:
		bound = ZSTD_compressBound(inlen);
		dst = rn_buf_reserve(out, bound);
		n = ZSTD_compress(dst, bound, in, inlen, 3);
		if (ZSTD_isError(n))
			return RN_ECORRUPT;
		out->len += n;
		return 0;
	default: return RN_EUNSUPPORTED;
	}
}
