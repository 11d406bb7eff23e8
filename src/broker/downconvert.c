/*
 * Fetch v0-v3 down-conversion (Kafka's KIP-283 behaviour, done eagerly per partition): the log
 * range the ordinary read found is read batch by batch, each converted to magic 0 or 1, and the
 * result is handed to the response as an anonymous in-memory file (memfd), so the response
 * keeps one shape (file ranges sent with sendfile) and the memory is released with the last
 * reference, whether the fetch answers now or parks and tries again. Only these versions get
 * here; v4+ never copies log data.
 *
 * Size: Kafka's sizes (max_bytes, partition_max_bytes) count the converted bytes. We stop
 * converting once there is more than limit, then cut at the last whole message that fits (or
 * keep the first whole when min_one): old clients also handle a trailing partial message, but
 * whole messages need no such care.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/legacy.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/io.h"
#include "core/log.h"
#include "proto/legacy_records.h"
#include "proto/record_batch.h"
#include "storage/partition.h"

/* A range that converts to nothing (markers only) makes us read on at most this many times. */
#define READ_ON_MAX 64

static void memref_release(struct rn_fileref *f)
{
	close(f->fd);
	rn_free(f);
}

/* An anonymous file holding p[0..n), with one reference; NULL (errno kept) on failure. */
static struct rn_fileref *memref_new(const uint8_t *p, size_t n)
{
	int fd = memfd_create("runnel-downconvert", MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			close(fd);
			errno = e;
			return NULL;
		}
		off += (size_t)w;
	}
	struct rn_fileref *f = rn_calloc(1, sizeof(*f));
	f->fd = fd;
	atomic_init(&f->refs, 1);
	f->release = memref_release;
	return f;
}

/* Converts the whole batches of ri's range, appending to out, until out holds more than limit;
 * *count grows by the records converted. Returns 0, RN_ECORRUPT, RN_ETOOLARGE or -errno. */
static int convert_range(const struct rn_read_info *ri, int8_t magic, int64_t fetch_offset,
			 int64_t limit, struct rn_buf *out, uint64_t *count)
{
	struct rn_buf batch = {0}, scratch = {0};
	int rc = 0;
	for (uint64_t off = 0; rc == 0 && off < ri->len && (int64_t)out->len <= limit;) {
		uint8_t hdr[RN_BATCH_LOG_OVERHEAD];
		ssize_t n = rn_io_pread(ri->file->fd, hdr, sizeof(hdr), (off_t)(ri->pos + off));
		uint64_t total = n == (ssize_t)sizeof(hdr) ? rn_batch_total_size(hdr) : 0;
		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (total < RN_BATCH_HEADER_SIZE || total > ri->len - off) {
			rc = RN_ECORRUPT;
			break;
		}
		rn_buf_reset(&batch);
		uint8_t *b = rn_buf_reserve(&batch, (size_t)total);
		n = rn_io_pread(ri->file->fd, b, (size_t)total, (off_t)(ri->pos + off));
		if (n != (ssize_t)total) {
			rc = n < 0 ? (int)n : RN_ECORRUPT;
			break;
		}
		batch.len = (size_t)total;
		rc = rn_legacy_from_v2(b, (size_t)total, magic, fetch_offset, &scratch, out);
		if (rc > 0)
			*count += (uint64_t)rc;
		rc = rc > 0 ? 0 : rc;
		off += total;
	}
	rn_buf_free(&batch);
	rn_buf_free(&scratch);
	return rc;
}

/* Bytes of out to send: whole messages up to limit, or the first one alone with min_one.
 * *next gets the offset after the last message sent. */
static size_t cut(const struct rn_buf *out, int64_t limit, bool min_one, int64_t *next)
{
	size_t keep = 0;
	while (keep < out->len) {
		size_t m = rn_legacy_msg_size(out->data + keep, out->len - keep);
		if (m == 0 || ((int64_t)(keep + m) > limit && !(keep == 0 && min_one)))
			break;
		/* A message's offset is its own, a wrapper's that of its last inner message. */
		*next = (int64_t)rn_be64(out->data + keep) + 1;
		keep += m;
	}
	return keep;
}

/* Converts (and reads on past marker-only ranges); ri ends up with the converted range or
 * none. Returns 0 or an error for the partition. */
static int convert(struct rn_partition *p, int8_t magic, int64_t fetch_offset, int64_t limit,
		   bool min_one, struct rn_read_info *ri, uint64_t *count)
{
	struct rn_buf out = {0};
	int rc = 0;
	for (int round = 0; rc == 0 && ri->len > 0; round++) {
		rc = convert_range(ri, magic, fetch_offset, limit, &out, count);
		if (rc < 0 || out.len > 0 || round == READ_ON_MAX ||
		    ri->next_offset >= ri->high_watermark)
			break;
		struct rn_read_info more = {0};
		/* Reading on is a courtesy: if it fails (retention raced us), answer nothing. */
		if (rn_partition_read(p, ri->next_offset, (uint32_t)limit, min_one, &more) < 0)
			break;
		rn_fileref_put(ri->file);
		*ri = more;
	}
	if (ri->file)
		rn_fileref_put(ri->file);
	ri->file = NULL;
	ri->pos = 0;
	ri->len = 0;
	size_t keep = rc == 0 ? cut(&out, limit, min_one, &ri->next_offset) : 0;
	if (keep > 0) {
		ri->file = memref_new(out.data, keep);
		if (ri->file)
			ri->len = keep;
		else
			rc = -errno;
	}
	rn_buf_free(&out);
	return rc;
}

int rn_downconvert_fetch(struct rn_topic *t, struct rn_partition *p, int16_t version,
			 int64_t fetch_offset, int64_t limit, bool min_one, struct rn_read_info *ri,
			 struct rn_fetch_response_partition_data *pd)
{
	struct rn_log_config cfg;
	rn_partition_get_config(p, &cfg);
	if (!cfg.downconversion_enable) {
		if (ri->file)
			rn_fileref_put(ri->file);
		ri->file = NULL;
		ri->len = 0;
		pd->error_code = RN_KERR_UNSUPPORTED_VERSION;
		pd->high_watermark = -1;
		pd->last_stable_offset = -1;
		pd->log_start_offset = -1;
		return -1;
	}
	if (ri->len == 0 || !ri->file)
		return 0;
	uint64_t count = 0;
	int rc = convert(p, version <= 1 ? 0 : 1, fetch_offset, limit, min_one, ri, &count);
	if (t)
		atomic_fetch_add_explicit(&t->stats.fetch_conversions, count, memory_order_relaxed);
	if (rc < 0) {
		rn_log_every(5000, RN_LOG_WARN, "fetch v%d: down-conversion failed: %s", version,
			     rn_strerror(rc));
		pd->error_code = (int16_t)rn_kerr_from(rc);
		return -1;
	}
	return 0;
}
