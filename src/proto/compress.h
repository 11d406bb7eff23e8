/*
 * Kafka's record batch codecs (attribute bits 0-2): 1 gzip, 2 snappy, 3 lz4, 4 zstd. The broker
 * stores batches opaquely; it decompresses only to look inside one (ListOffsets by time needs
 * each record's timestamp). What each client writes:
 *
 *   gzip    a gzip member (zlib deflate with the gzip wrapper); several members are accepted
 *   snappy  librdkafka: one raw snappy block; Java and kafka-python: xerial framing,
 *             "\x82SNAPPY\0" | version i32 BE | compat i32 BE | { length i32 BE | raw block }*
 *   lz4     the LZ4 frame format (not raw blocks)
 *   zstd    zstd frames, with or without the content size in the header
 *
 * The compressed bytes come from clients, so decompression output is bounded by the caller.
 */
#ifndef RN_PROTO_COMPRESS_H
#define RN_PROTO_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum rn_codec {
	RN_CODEC_NONE = 0,
	RN_CODEC_GZIP = 1,
	RN_CODEC_SNAPPY = 2,
	RN_CODEC_LZ4 = 3,
	RN_CODEC_ZSTD = 4,
};

/* Decompresses in[0..inlen) written with codec and appends the result to out (which the caller
 * owns; growing it may move its data). At most max_out bytes are appended: more is
 * RN_ETOOLARGE, checked before allocating them. Codec 0 copies. Returns 0, RN_ECORRUPT
 * (malformed or truncated input, including empty input for a real codec), RN_ETOOLARGE or
 * RN_EUNSUPPORTED (unknown codec). On error out->len is back to its value at entry. */
int rn_decompress(int codec, const uint8_t *in, size_t inlen, struct rn_buf *out, size_t max_out);

/* Compresses in[0..inlen) with codec (gzip member at the default level, one raw snappy block,
 * one lz4 frame, one zstd frame with its content size) and appends the result to out. The
 * broker recompresses on append for a topic's compression.type (broker/recompress.c). Returns 0
 * or RN_EUNSUPPORTED. */
int rn_compress(int codec, const uint8_t *in, size_t inlen, struct rn_buf *out);

#endif
