/*
 * Transactions in a partition: the last stable offset and the aborted-transaction index.
 *
 * The producer state (producer_state.h) knows each producer's open transaction; the oldest one
 * is published as p->first_unstable, so the last stable offset is min(it, high watermark)
 * without a lock. An ABORT marker of a producer with an open transaction adds an entry to
 * p->aborted (ascending marker offset) and to the active segment's `<base>.txnindex`, in
 * Kafka's format (AbortedTxn.java), 34 bytes big-endian per entry:
 *
 *   +-----------+--------+--------------+-------------+--------------------+
 *   |version i16|pid i64 |first off i64 |last off i64 |last stable off i64 |
 *   +-----------+--------+--------------+-------------+--------------------+
 *
 * The files are written without fsync: at open the entries below the producer-state replay
 * point are read back, and the replay (which reads every control batch after it) re-creates
 * the later ones and rewrites those files, so a torn or stale tail never survives a restart.
 * Entries whose marker fell below the log start are dropped from memory at the next abort;
 * their files go with their segment (rn__seg_unlink).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "core/io.h"
#include "core/log.h"
#include "storage/segment.h"

#define ENTRY_SIZE 34

/* Kafka's ControlRecordType and EndTransactionMarker. */
#define CONTROL_ABORT  0
#define CONTROL_COMMIT 1

size_t rn__marker_build(uint8_t *b, int64_t pid, int16_t epoch, bool commit,
			int32_t coordinator_epoch, int64_t now_ms)
{
	/* One record: length, attributes, timestamp delta, offset delta, key (4 bytes), value
	 * (6 bytes), no headers. Every varint fits in one byte (zigzag: 16 -> 32, 4 -> 8, 6 ->
	 * 12). */
	static const size_t rec_body = 16;
	uint8_t *r = b + RN_BATCH_HEADER_SIZE;
	size_t i = 0;
	r[i++] = (uint8_t)(rec_body * 2);
	r[i++] = 0; /* attributes */
	r[i++] = 0; /* timestamp delta */
	r[i++] = 0; /* offset delta */
	r[i++] = 8; /* key length 4 */
	r[i++] = 0;
	r[i++] = 0; /* key version 0 */
	r[i++] = 0;
	r[i++] = commit ? CONTROL_COMMIT : CONTROL_ABORT;
	r[i++] = 12; /* value length 6 */
	r[i++] = 0;
	r[i++] = 0; /* value version 0 */
	rn_put_be32(r + i, (uint32_t)coordinator_epoch);
	i += 4;
	r[i++] = 0; /* headers */
	size_t total = RN_BATCH_HEADER_SIZE + i;
	memset(b, 0, RN_BATCH_HEADER_SIZE);
	rn_put_be32(b + RN_BATCH_OFF_LENGTH, (uint32_t)(total - RN_BATCH_LOG_OVERHEAD));
	b[RN_BATCH_OFF_MAGIC] = 2;
	b[RN_BATCH_OFF_ATTRIBUTES + 1] = RN_BATCH_ATTR_TRANSACTIONAL | RN_BATCH_ATTR_CONTROL;
	rn_put_be64(b + RN_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)now_ms);
	rn_put_be64(b + RN_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)now_ms);
	rn_put_be64(b + RN_BATCH_OFF_PRODUCER_ID, (uint64_t)pid);
	b[RN_BATCH_OFF_PRODUCER_EPOCH] = (uint8_t)((uint16_t)epoch >> 8);
	b[RN_BATCH_OFF_PRODUCER_EPOCH + 1] = (uint8_t)epoch;
	rn_put_be32(b + RN_BATCH_OFF_BASE_SEQUENCE, (uint32_t)-1);
	rn_put_be32(b + RN_BATCH_OFF_RECORDS_COUNT, 1);
	rn_put_be32(b + RN_BATCH_OFF_CRC, rn_crc32c(0, b + 21, total - 21));
	return total;
}

int rn__control_type(const uint8_t *buf, size_t len)
{
	struct rn_record_iter it;
	struct rn_record r;
	if (rn_record_iter_init(&it, buf, len) < 0 || rn_record_iter_next(&it, &r) != 1 ||
	    r.key_len < 4)
		return -1;
	int type = r.key[2] << 8 | r.key[3];
	return type == CONTROL_ABORT || type == CONTROL_COMMIT ? type : -1;
}

static void publish_lso(struct rn_partition *p)
{
	atomic_store(&p->first_unstable, rn_ps_first_open(&p->ps));
}

void rn__txn_begin(struct rn_partition *p, int64_t pid, int64_t offset)
{
	struct rn_ps_entry *e = rn_ps_find(&p->ps, pid);
	if (!e || e->txn_first >= 0)
		return;
	rn_ps_txn_begin(&p->ps, e, offset);
	publish_lso(p);
}

static void push_aborted(struct rn_partition *p, const struct rn_aborted_txn *a)
{
	/* Forget what retention removed; amortised over aborts, never on the fetch path. */
	int64_t ls = atomic_load(&p->log_start);
	uint32_t drop = 0;
	while (drop < p->naborted && p->aborted[drop].last_offset < ls)
		drop++;
	if (drop) {
		memmove(p->aborted, p->aborted + drop, (p->naborted - drop) * sizeof(*p->aborted));
		p->naborted -= drop;
	}
	if (p->naborted == p->abortedcap) {
		p->abortedcap = p->abortedcap ? p->abortedcap * 2 : 8;
		p->aborted = rn_realloc(p->aborted, p->abortedcap * sizeof(*p->aborted));
	}
	p->aborted[p->naborted++] = *a;
	atomic_store(&p->has_aborted, true);
}

static void encode_entry(uint8_t *b, const struct rn_aborted_txn *a)
{
	b[0] = b[1] = 0;
	rn_put_be64(b + 2, (uint64_t)a->pid);
	rn_put_be64(b + 10, (uint64_t)a->first_offset);
	rn_put_be64(b + 18, (uint64_t)a->last_offset);
	rn_put_be64(b + 26, (uint64_t)a->lso);
}

void rn__txn_add_file(struct rn_partition *p, int64_t base)
{
	int i = p->ntxnfiles;
	while (i > 0 && p->txnfiles[i - 1] >= base) {
		if (p->txnfiles[i - 1] == base)
			return;
		i--;
	}
	if (p->ntxnfiles == p->txnfilecap) {
		p->txnfilecap = p->txnfilecap ? p->txnfilecap * 2 : 4;
		p->txnfiles = rn_realloc(p->txnfiles, (size_t)p->txnfilecap * sizeof(int64_t));
	}
	memmove(p->txnfiles + i + 1, p->txnfiles + i, (size_t)(p->ntxnfiles - i) * sizeof(int64_t));
	p->txnfiles[i] = base;
	p->ntxnfiles++;
}

/* Appends one entry to the active segment's .txnindex. A failure costs nothing now: the next
 * open re-creates the entry from the log if it is after the replay point, and Kafka too
 * treats its transaction index as a cache of the log. */
static void append_file(struct rn_partition *p, const struct rn_aborted_txn *a)
{
	int64_t base = p->segs[p->nsegs - 1]->base;
	char path[PATH_MAX];
	rn__seg_path(p, base, ".txnindex", path);
	uint8_t b[ENTRY_SIZE];
	encode_entry(b, a);
	int fd = rn_io_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int rc = fd < 0 ? fd : rn_io_write(fd, b, sizeof(b));
	if (fd >= 0)
		rn_io_close(fd);
	if (rc < 0)
		rn_log_every(5000, RN_LOG_WARN, "storage: %s: cannot write %s: %s", p->dir, path,
			     rn_strerror(rc));
	else
		rn__txn_add_file(p, base);
}

void rn__txn_marker(struct rn_partition *p, int64_t pid, int16_t epoch, bool commit, int64_t offset,
		    bool write_file, int64_t now_ms)
{
	int64_t first = rn_ps_txn_end(&p->ps, pid, epoch, now_ms);
	publish_lso(p);
	if (commit || first < 0)
		return;
	int64_t fu = rn_ps_first_open(&p->ps);
	struct rn_aborted_txn a = {pid, first, offset, fu >= 0 ? fu : offset + 1};
	push_aborted(p, &a);
	if (write_file)
		append_file(p, &a);
}

static int load_file(struct rn_partition *p, int64_t base, int64_t from)
{
	char path[PATH_MAX];
	rn__seg_path(p, base, ".txnindex", path);
	char *data;
	size_t len;
	int rc = rn__file_read(path, &data, &len);
	if (rc < 0)
		return rc == -ENOENT ? 0 : rc;
	const uint8_t *d = (const uint8_t *)data;
	for (size_t off = 0; off + ENTRY_SIZE <= len; off += ENTRY_SIZE) {
		struct rn_aborted_txn a = {
		    .pid = (int64_t)rn_be64(d + off + 2),
		    .first_offset = (int64_t)rn_be64(d + off + 10),
		    .last_offset = (int64_t)rn_be64(d + off + 18),
		    .lso = (int64_t)rn_be64(d + off + 26),
		};
		bool ordered =
		    !p->naborted || p->aborted[p->naborted - 1].last_offset < a.last_offset;
		if (a.last_offset < from && a.first_offset <= a.last_offset && ordered)
			push_aborted(p, &a);
	}
	rn_free(data);
	return 0;
}

int rn__txn_load(struct rn_partition *p, int64_t from)
{
	p->naborted = 0;
	for (int i = 0; i < p->ntxnfiles; i++) {
		int rc = load_file(p, p->txnfiles[i], from);
		if (rc < 0)
			rn_warn("storage: %s: transaction index %020lld unreadable (%s)", p->dir,
				(long long)p->txnfiles[i], rn_strerror(rc));
	}
	atomic_store(&p->has_aborted, p->naborted > 0);
	return 0;
}

/* Rewrites (or removes) the .txnindex of the segment [base, end) from memory. */
static void rewrite_file(struct rn_partition *p, int64_t base, int64_t end)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	rn__seg_path(p, base, ".txnindex", path);
	struct rn_buf b = {0};
	for (uint32_t i = 0; i < p->naborted; i++) {
		const struct rn_aborted_txn *a = &p->aborted[i];
		if (a->last_offset < base || a->last_offset >= end)
			continue;
		uint8_t e[ENTRY_SIZE];
		encode_entry(e, a);
		rn_buf_append(&b, e, sizeof(e));
	}
	if (!b.len) {
		rn_io_unlink(path);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = rn_io_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = fd < 0 ? fd : rn_io_write(fd, b.data, b.len);
	if (fd >= 0)
		rn_io_close(fd);
	if (rc == 0)
		rc = rn_io_rename(tmp, path);
	if (rc < 0) {
		rn_io_unlink(tmp);
		rn_warn("storage: %s: cannot write %s: %s", p->dir, path, rn_strerror(rc));
	} else {
		rn__txn_add_file(p, base);
	}
	rn_buf_free(&b);
}

void rn__txn_flush_files(struct rn_partition *p, int64_t from)
{
	publish_lso(p);
	bool later = p->naborted && p->aborted[p->naborted - 1].last_offset >= from;
	if (!later && !p->ntxnfiles)
		return;
	for (int i = 0; i < p->nsegs; i++) {
		int64_t base = p->segs[i]->base;
		int64_t end = i + 1 < p->nsegs ? p->segs[i + 1]->base : INT64_MAX;
		if (end <= from)
			continue;
		bool had = false;
		for (int k = 0; k < p->ntxnfiles; k++)
			had |= p->txnfiles[k] == base;
		bool has = false;
		for (uint32_t k = 0; k < p->naborted && !has; k++)
			has = p->aborted[k].last_offset >= base && p->aborted[k].last_offset < end;
		if (had || has)
			rewrite_file(p, base, end);
	}
}

void rn__txn_free(struct rn_partition *p)
{
	rn_free(p->aborted);
	rn_free(p->txnfiles);
	p->aborted = NULL;
	p->txnfiles = NULL;
	p->naborted = p->abortedcap = 0;
	p->ntxnfiles = p->txnfilecap = 0;
}

int64_t rn_partition_last_stable(struct rn_partition *p)
{
	/* High watermark first: the appender publishes the transaction state before it. */
	int64_t hw = atomic_load_explicit(&p->hwm, memory_order_acquire);
	int64_t fu = atomic_load(&p->first_unstable);
	int64_t lso = fu >= 0 && fu < hw ? fu : hw;
	/* An open transaction's first records may be gone (DeleteRecords): Kafka's
	 * maybeIncrementFirstUnstableOffset keeps the LSO at least at the log start. */
	int64_t ls = atomic_load(&p->log_start);
	return lso > ls ? lso : ls;
}

uint32_t rn__aborted_from(const struct rn_aborted_txn *aborted, uint32_t n, int64_t offset)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (aborted[mid].last_offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int rn_partition_aborted_txns(struct rn_partition *p, int64_t from, int64_t upto,
			      struct rn_aborted_txn **out, struct rn_arena *a)
{
	*out = NULL;
	if (!atomic_load(&p->has_aborted))
		return 0;
	pthread_mutex_lock(&p->lock);
	uint32_t lo = rn__aborted_from(p->aborted, p->naborted, from);
	int n = 0;
	for (uint32_t i = lo; i < p->naborted; i++)
		n += p->aborted[i].first_offset < upto;
	if (n) {
		*out = rn_arena_alloc(a, (size_t)n * sizeof(**out));
		int k = 0;
		for (uint32_t i = lo; i < p->naborted; i++)
			if (p->aborted[i].first_offset < upto)
				(*out)[k++] = p->aborted[i];
	}
	pthread_mutex_unlock(&p->lock);
	return n;
}
