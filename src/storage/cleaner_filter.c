/*
 * What survives of one batch (Kafka's LogCleaner.cleanInto with MemoryRecords.filterTo):
 *
 *   data record   kept if at or past the map's end, or the latest of its key (a key the map
 *                 does not know is kept: its latest is in the clean section); a tombstone
 *                 only until its batch's delete horizon; keyless records and records of
 *                 aborted transactions go
 *   data batch    written unchanged when everything stays and nothing needs a horizon, else
 *                 rebuilt with the kept records (same base offset, last offset delta,
 *                 producer id/epoch/base sequence, codec, leader epoch); an emptied batch
 *                 stays as a header (records count 0) when it is its producer's last
 *   marker        kept while its transaction has kept data; else it gets a delete horizon
 *                 and goes once that has passed
 *
 * A batch that gets a horizon (it keeps a tombstone, or is the marker of an emptied
 * transaction) is rebuilt with attribute bit 6 set and base timestamp = now +
 * delete.retention.ms; record timestamp deltas are recomputed against it (KIP-534).
 */
#include <string.h>

#include "core/alloc.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "proto/compress.h"
#include "proto/record_batch.h"
#include "storage/cleaner_int.h"

#define MAX_RECORDS_BYTES ((size_t)256 << 20) /* decompressed records of one batch */

bool rn__filter_aborted(const struct rn__filter *f, int64_t pid, int64_t offset)
{
	for (uint32_t i = rn__aborted_from(f->aborted, f->naborted, offset); i < f->naborted; i++)
		if (f->aborted[i].pid == pid && f->aborted[i].first_offset <= offset)
			return true;
	return false;
}

static bool is_last_of_producer(const struct rn__filter *f, int64_t pid, int64_t last)
{
	uint32_t lo = 0, hi = f->nlasts;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (f->lasts[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->nlasts && f->lasts[lo].pid == pid && f->lasts[lo].last_offset == last;
}

static struct rn__txn_seen *txn_of(struct rn__filter *f, int64_t pid)
{
	for (uint32_t i = 0; i < f->ntxns; i++)
		if (f->txns[i].pid == pid)
			return &f->txns[i];
	if (f->ntxns == f->txncap) {
		f->txncap = f->txncap ? f->txncap * 2 : 8;
		f->txns = rn_realloc(f->txns, f->txncap * sizeof(*f->txns));
	}
	f->txns[f->ntxns] = (struct rn__txn_seen){pid, false};
	return &f->txns[f->ntxns++];
}

/* One record in the v2 record format, timestamp delta against base_ts. */
static void encode_record(struct rn_buf *out, const struct rn_record *r, int64_t base_ts,
			  struct rn_buf *tmp)
{
	rn_buf_reset(tmp);
	uint8_t attr = 0;
	rn_buf_append(tmp, &attr, 1);
	rn_record_put_varlong(tmp, (int64_t)((uint64_t)r->timestamp - (uint64_t)base_ts));
	rn_record_put_varlong(tmp, r->offset_delta);
	rn_record_put_varlong(tmp, r->key_len);
	if (r->key_len > 0)
		rn_buf_append(tmp, r->key, (size_t)r->key_len);
	rn_record_put_varlong(tmp, r->value_len);
	if (r->value_len > 0)
		rn_buf_append(tmp, r->value, (size_t)r->value_len);
	rn_record_put_varlong(tmp, r->header_count);
	if (r->headers_len)
		rn_buf_append(tmp, r->headers, r->headers_len);
	rn_record_put_varlong(out, (int64_t)tmp->len);
	rn_buf_append(out, tmp->data, tmp->len);
}

struct rebuild {
	int16_t attributes;
	int64_t base_ts, max_ts;
	int32_t count;
	const struct rn_buf *records; /* encoded, uncompressed */
};

/* Appends to out the batch b's header with rb's fields, then its records compressed with
 * b's codec. */
static int write_batch(const uint8_t *b, const struct rebuild *rb, struct rn_buf *packed,
		       struct rn_buf *out)
{
	int codec = rb->attributes & RN_BATCH_ATTR_CODEC_MASK;
	const uint8_t *rec = rb->records->data;
	size_t reclen = rb->records->len;
	if (codec && rb->count > 0) {
		rn_buf_reset(packed);
		int rc = rn_compress(codec, rec, reclen, packed);
		if (rc < 0)
			return rc;
		rec = packed->data;
		reclen = packed->len;
	} else if (rb->count == 0) {
		reclen = 0;
	}
	size_t start = out->len;
	uint8_t *h = rn_buf_reserve(out, RN_BATCH_HEADER_SIZE + reclen);
	memcpy(h, b, RN_BATCH_HEADER_SIZE);
	if (reclen)
		memcpy(h + RN_BATCH_HEADER_SIZE, rec, reclen);
	size_t total = RN_BATCH_HEADER_SIZE + reclen;
	rn_put_be32(h + RN_BATCH_OFF_LENGTH, (uint32_t)(total - RN_BATCH_LOG_OVERHEAD));
	h[RN_BATCH_OFF_ATTRIBUTES] = (uint8_t)((uint16_t)rb->attributes >> 8);
	h[RN_BATCH_OFF_ATTRIBUTES + 1] = (uint8_t)rb->attributes;
	rn_put_be64(h + RN_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)rb->base_ts);
	rn_put_be64(h + RN_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)rb->max_ts);
	rn_put_be32(h + RN_BATCH_OFF_RECORDS_COUNT, (uint32_t)rb->count);
	rn_put_be32(h + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, h + RN_BATCH_OFF_ATTRIBUTES, total - RN_BATCH_OFF_ATTRIBUTES));
	out->len = start + total;
	return 0;
}

static bool has_horizon(const struct rn_batch_header *h)
{
	return h->attributes & RN_BATCH_ATTR_DELETE_HORIZON;
}

/* A control batch (transaction marker). */
static int filter_marker(struct rn__filter *f, const uint8_t *b, size_t len,
			 const struct rn_batch_header *h, struct rn_buf *out)
{
	struct rn__txn_seen *t = txn_of(f, h->producer_id);
	bool has_data = t->has_data;
	t->has_data = false; /* the next transaction of this producer starts after it */
	if (has_data || h->base_offset >= f->map_end) {
		rn_buf_append(out, b, len);
		return 0;
	}
	if (has_horizon(h)) {
		if (f->now_ms >= h->base_timestamp)
			return 0; /* emptied transaction, horizon passed: the marker goes */
		rn_buf_append(out, b, len);
		return 0;
	}
	/* Its one record keeps its timestamp: re-encoded against the horizon. */
	struct rn_record_iter it;
	struct rn_record r;
	if (rn_record_iter_init(&it, b, len) < 0 || rn_record_iter_next(&it, &r) != 1) {
		rn_buf_append(out, b, len); /* not ours to judge: keep it */
		return 0;
	}
	struct rebuild rb = {.attributes = (int16_t)(h->attributes | RN_BATCH_ATTR_DELETE_HORIZON),
			     .base_ts = f->now_ms + f->delete_retention_ms,
			     .max_ts = h->max_timestamp,
			     .count = 1,
			     .records = &f->records};
	rn_buf_reset(&f->records);
	encode_record(&f->records, &r, rb.base_ts, &f->packed);
	return write_batch(b, &rb, &f->packed, out);
}

static bool keep_record(const struct rn__filter *f, const struct rn_batch_header *h,
			const struct rn_record *r)
{
	if (r->offset >= f->map_end)
		return true;
	if (r->key_len < 0)
		return false;
	int64_t latest = rn__omap_get(f->map, r->key, (size_t)r->key_len);
	if (latest > r->offset)
		return false;
	if (r->value_len >= 0)
		return true;
	return !has_horizon(h) || f->now_ms < h->base_timestamp;
}

int rn__filter_batch(struct rn__filter *f, const uint8_t *b, size_t len, struct rn_buf *out)
{
	struct rn_batch_header h;
	rn_batch_header_parse(b, &h);
	if (h.attributes & RN_BATCH_ATTR_CONTROL)
		return filter_marker(f, b, len, &h, out);
	bool aborted = (h.attributes & RN_BATCH_ATTR_TRANSACTIONAL) && h.producer_id >= 0 &&
		       rn__filter_aborted(f, h.producer_id, h.base_offset);
	struct rn_record_iter it;
	int rc = rn_record_iter_init_any(&it, b, len, &f->scratch, MAX_RECORDS_BYTES);
	if (rc < 0)
		return rc;
	bool lat = h.attributes & RN_BATCH_ATTR_LOG_APPEND_TIME;
	bool tombstone = false;
	int32_t kept = 0, seen = 0;
	int64_t max_ts = lat ? h.max_timestamp : -1;
	/* Kept records are encoded against the final base timestamp, known only at the end when
	 * a horizon is needed: encode against the old one first and redo if it changes. */
	rn_buf_reset(&f->records);
	struct rn_record r;
	while ((rc = rn_record_iter_next(&it, &r)) == 1) {
		seen++;
		if (aborted || !keep_record(f, &h, &r))
			continue;
		kept++;
		tombstone |= r.value_len < 0;
		if (!lat && r.timestamp > max_ts)
			max_ts = r.timestamp;
		encode_record(&f->records, &r, h.base_timestamp, &f->packed);
	}
	if (rc < 0)
		return rc;
	f->records_read += seen;
	f->records_kept += kept;
	bool last = h.producer_id >= 0 &&
		    is_last_of_producer(f, h.producer_id, h.base_offset + h.last_offset_delta);
	if ((h.attributes & RN_BATCH_ATTR_TRANSACTIONAL) && h.producer_id >= 0 && (kept || last))
		txn_of(f, h.producer_id)->has_data = true;
	bool need_horizon = tombstone && !has_horizon(&h);
	if (kept == 0 && !last)
		return 0; /* also an empty header whose producer has written since */
	if (kept == seen && kept == h.records_count && !need_horizon) {
		rn_buf_append(out, b, len);
		return 0;
	}
	struct rebuild rb = {.attributes = h.attributes,
			     .base_ts = h.base_timestamp,
			     .max_ts = kept ? max_ts : h.max_timestamp,
			     .count = kept,
			     .records = &f->records};
	if (need_horizon) {
		rb.attributes |= RN_BATCH_ATTR_DELETE_HORIZON;
		rb.base_ts = f->now_ms + f->delete_retention_ms;
		/* Second pass over the kept records with deltas against the horizon. */
		rc = rn_record_iter_init_any(&it, b, len, &f->scratch, MAX_RECORDS_BYTES);
		if (rc < 0)
			return rc;
		rn_buf_reset(&f->records);
		while ((rc = rn_record_iter_next(&it, &r)) == 1)
			if (keep_record(f, &h, &r))
				encode_record(&f->records, &r, rb.base_ts, &f->packed);
		if (rc < 0)
			return rc;
	}
	if (kept == 0) {
		/* Kafka's empty header: no codec, no horizon, both timestamps the old maximum. */
		rb.attributes &=
		    (int16_t) ~(RN_BATCH_ATTR_DELETE_HORIZON | RN_BATCH_ATTR_CODEC_MASK);
		rb.base_ts = rb.max_ts = h.max_timestamp;
	}
	return write_batch(b, &rb, &f->packed, out);
}

void rn__filter_free(struct rn__filter *f)
{
	rn_free(f->txns);
	rn_buf_free(&f->scratch);
	rn_buf_free(&f->records);
	rn_buf_free(&f->packed);
	f->txns = NULL;
	f->ntxns = f->txncap = 0;
}
