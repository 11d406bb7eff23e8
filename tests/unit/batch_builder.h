/*
 * Test helper: builds valid record batches v2 (magic 2, uncompressed or compressed, correct
 * CRC32C) the way a producer would, base offset 0 and leader epoch -1 (the broker sets both).
 */
#ifndef RN_TESTS_BATCH_BUILDER_H
#define RN_TESTS_BATCH_BUILDER_H

#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crc32c.h"
#include "proto/compress.h"
#include "proto/record_batch.h"

struct bb_record {
	const void *key; /* NULL = null key */
	int32_t key_len;
	const void *value; /* NULL = null value */
	int32_t value_len;
	int64_t timestamp;
	const char *hkey; /* one header when not NULL */
	const char *hval;
};

static inline void bb_varlong(struct rn_buf *b, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	while (z >= 0x80) {
		uint8_t c = (uint8_t)(z | 0x80);
		rn_buf_append(b, &c, 1);
		z >>= 7;
	}
	uint8_t c = (uint8_t)z;
	rn_buf_append(b, &c, 1);
}

static inline void bb_bytes(struct rn_buf *b, const void *p, int32_t n)
{
	bb_varlong(b, p ? n : -1);
	if (p && n > 0)
		rn_buf_append(b, p, (size_t)n);
}

/* Appends one batch of n records to out; returns its size. */
static inline size_t bb_batch_records(struct rn_buf *out, const struct bb_record *recs, int n)
{
	size_t start = out->len;
	uint8_t hdr[RN_BATCH_HEADER_SIZE] = {0};
	rn_buf_append(out, hdr, sizeof(hdr));
	int64_t base_ts = n > 0 ? recs[0].timestamp : -1, max_ts = base_ts;
	struct rn_buf rec = {0};
	for (int i = 0; i < n; i++) {
		rn_buf_reset(&rec);
		uint8_t attr = 0;
		rn_buf_append(&rec, &attr, 1);
		bb_varlong(&rec, recs[i].timestamp - base_ts);
		bb_varlong(&rec, i);
		bb_bytes(&rec, recs[i].key, recs[i].key_len);
		bb_bytes(&rec, recs[i].value, recs[i].value_len);
		bb_varlong(&rec, recs[i].hkey ? 1 : 0);
		if (recs[i].hkey) {
			bb_bytes(&rec, recs[i].hkey, (int32_t)strlen(recs[i].hkey));
			bb_bytes(&rec, recs[i].hval,
				 recs[i].hval ? (int32_t)strlen(recs[i].hval) : -1);
		}
		bb_varlong(out, (int64_t)rec.len);
		rn_buf_append(out, rec.data, rec.len);
		if (recs[i].timestamp > max_ts)
			max_ts = recs[i].timestamp;
	}
	rn_buf_free(&rec);
	uint8_t *p = out->data + start;
	size_t total = out->len - start;
	rn_put_be64(p + RN_BATCH_OFF_BASE_OFFSET, 0);
	rn_put_be32(p + RN_BATCH_OFF_LENGTH, (uint32_t)(total - RN_BATCH_LOG_OVERHEAD));
	rn_put_be32(p + RN_BATCH_OFF_LEADER_EPOCH, (uint32_t)-1);
	p[RN_BATCH_OFF_MAGIC] = 2;
	rn_put_be32(p + RN_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(n - 1));
	rn_put_be64(p + RN_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)base_ts);
	rn_put_be64(p + RN_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)max_ts);
	rn_put_be64(p + RN_BATCH_OFF_PRODUCER_ID, (uint64_t)-1);
	p[RN_BATCH_OFF_PRODUCER_EPOCH] = 0xff;
	p[RN_BATCH_OFF_PRODUCER_EPOCH + 1] = 0xff;
	rn_put_be32(p + RN_BATCH_OFF_BASE_SEQUENCE, (uint32_t)-1);
	rn_put_be32(p + RN_BATCH_OFF_RECORDS_COUNT, (uint32_t)n);
	rn_put_be32(p + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, p + RN_BATCH_OFF_ATTRIBUTES, total - RN_BATCH_OFF_ATTRIBUTES));
	return total;
}

/* Appends a batch of n records: key "k<i>", a value of value_size bytes (byte j of record i is
 * (i + j) & 0xff), timestamps ts0 + i, a header on every other record. Returns its size. */
static inline size_t bb_batch(struct rn_buf *out, int n, int64_t ts0, int32_t value_size)
{
	struct bb_record *recs = calloc((size_t)n, sizeof(*recs));
	char(*keys)[16] = calloc((size_t)n, 16);
	uint8_t *vals = malloc((size_t)n * (size_t)value_size + 1);
	for (int i = 0; i < n; i++) {
		snprintf(keys[i], 16, "k%d", i);
		for (int32_t j = 0; j < value_size; j++)
			vals[(size_t)i * (size_t)value_size + (size_t)j] = (uint8_t)(i + j);
		recs[i] = (struct bb_record){keys[i],
					     (int32_t)strlen(keys[i]),
					     vals + (size_t)i * (size_t)value_size,
					     value_size,
					     ts0 + i,
					     (i & 1) ? "h" : NULL,
					     "v"};
	}
	size_t sz = bb_batch_records(out, recs, n);
	free(recs);
	free(keys);
	free(vals);
	return sz;
}

/* Turns the batch at out->data[start..] (as bb_batch_records built it, the last thing in out)
 * into a batch compressed with codec: records section compressed, codec attribute set, Length
 * and CRC recomputed. Returns its new size. */
static inline size_t bb_compress_last(struct rn_buf *out, size_t start, int codec)
{
	struct rn_buf z = {0};
	size_t rec = start + RN_BATCH_HEADER_SIZE;
	if (rn_compress(codec, out->data + rec, out->len - rec, &z) != 0)
		abort();
	out->len = rec;
	rn_buf_append(out, z.data, z.len);
	rn_buf_free(&z);
	uint8_t *p = out->data + start;
	size_t total = out->len - start;
	p[RN_BATCH_OFF_ATTRIBUTES + 1] =
	    (uint8_t)((p[RN_BATCH_OFF_ATTRIBUTES + 1] & ~RN_BATCH_ATTR_CODEC_MASK) | codec);
	rn_put_be32(p + RN_BATCH_OFF_LENGTH, (uint32_t)(total - RN_BATCH_LOG_OVERHEAD));
	rn_put_be32(p + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, p + RN_BATCH_OFF_ATTRIBUTES, total - RN_BATCH_OFF_ATTRIBUTES));
	return total;
}

/* bb_batch_records, then compressed with codec (0: left uncompressed). */
static inline size_t bb_batch_records_codec(struct rn_buf *out, const struct bb_record *recs, int n,
					    int codec)
{
	size_t start = out->len;
	size_t sz = bb_batch_records(out, recs, n);
	return codec ? bb_compress_last(out, start, codec) : sz;
}

/* Temporary directories for storage tests. */
#include <ftw.h>
#include <unistd.h>

static inline int bb_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void bb_rmrf(const char *path)
{
	nftw(path, bb_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Returns a fresh directory (caller frees and removes). */
static inline char *bb_tmpdir(void)
{
	char *t = strdup("/tmp/rn_storage_XXXXXX");
	if (!mkdtemp(t))
		abort();
	return t;
}

#endif
