/*
 * The leader-epoch cache, as Kafka's LeaderEpochFileCache: for each leader epoch the offset of
 * its first record, ascending in both, the last entry being the current epoch. Kept in memory
 * under p->lock and in the partition's leader-epoch-checkpoint:
 *
 *   0\n<count>\n<epoch> <start offset>\n...
 *
 * Where entries come from:
 *   - becoming leader (rn_partition_set_leader_epoch, rn_partition_become_leader) assigns
 *     (epoch, log end), as Kafka's Partition.makeLeader;
 *   - recovery assigns the epoch of every batch it validates whose epoch is above the latest
 *     (Kafka's LogSegment.recover), so epochs of data written after the checkpoint last reached
 *     the disk come back from the batches themselves;
 *   - the log start moving up (DeleteRecords, retention) truncates from the start, keeping the
 *     epoch that covers the new start with the start as its offset; recovery truncating the log
 *     truncates from the end.
 * A changed cache is written by maintenance (once a second, off every hot path) and at close,
 * except when the only change is a leadership no batch has used yet; rn_partition_set_leader_epoch
 * writes at once.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/io.h"
#include "core/log.h"
#include "storage/segment.h"

#define EPOCH_FILE "leader-epoch-checkpoint"

static bool dirty(struct rn_partition *p)
{
	return p->epochs_gen != atomic_load(&p->epochs_disk_gen);
}

/* Records a change (become_leader marks its own as a bare leadership afterwards). */
static void changed(struct rn_partition *p)
{
	p->epochs_bump_only = false;
	p->epochs_gen++;
}

static void push(struct rn_partition *p, int32_t epoch, int64_t start)
{
	if (p->nepochs == p->epochcap) {
		p->epochcap = p->epochcap ? p->epochcap * 2 : 4;
		p->epochs = rn_realloc(p->epochs, (size_t)p->epochcap * sizeof(*p->epochs));
	}
	p->epochs[p->nepochs++] = (struct rn__epoch_entry){epoch, start};
}

int rn__epochs_load(struct rn_partition *p)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/" EPOCH_FILE, p->dir);
	char *buf;
	size_t len;
	p->nepochs = 0;
	int rc = rn__file_read(path, &buf, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	char *s = buf, *e;
	long version = strtol(s, &e, 10);
	long count = strtol(e, &e, 10);
	rc = version != 0 || count < 0 ? RN_ECORRUPT : 0;
	for (long i = 0; rc == 0 && i < count; i++) {
		char *q;
		long ep = strtol(e, &q, 10);
		long long start = q == e ? -1 : strtoll(q, &e, 10);
		if (q == e || ep < 0 || ep > INT32_MAX || start < 0)
			rc = RN_ECORRUPT;
		else
			rn__epochs_assign(p, (int32_t)ep, start);
	}
	rn_free(buf);
	if (rc < 0) {
		/* Kafka fails the log dir; the cache only refines truncation answers, so start
		 * afresh: recovery and the next leadership rebuild it. */
		rn_warn("storage: %s: unreadable, ignored", path);
		p->nepochs = 0;
	}
	p->epochs_gen = rc < 0 ? 1 : 0;
	atomic_store(&p->epochs_disk_gen, 0);
	p->epochs_bump_only = false;
	return 0;
}

bool rn__epochs_assign(struct rn_partition *p, int32_t epoch, int64_t start)
{
	if (epoch < 0 || start < 0)
		return false;
	if (p->nepochs) {
		struct rn__epoch_entry *l = &p->epochs[p->nepochs - 1];
		if (l->epoch == epoch && start >= l->start)
			return false;
	}
	/* Kafka's maybeTruncateNonMonotonicEntries: the new entry must be the latest in both
	 * epoch and offset. */
	while (p->nepochs && (p->epochs[p->nepochs - 1].epoch >= epoch ||
			      p->epochs[p->nepochs - 1].start >= start))
		p->nepochs--;
	push(p, epoch, start);
	changed(p);
	return true;
}

void rn__epochs_truncate_start(struct rn_partition *p, int64_t log_start)
{
	int n = 0;
	while (n < p->nepochs && p->epochs[n].start <= log_start)
		n++;
	if (n == 0 || (n == 1 && p->epochs[0].start == log_start))
		return;
	/* The last removed entry covers log_start: it stays, starting there. */
	int32_t epoch = p->epochs[n - 1].epoch;
	memmove(p->epochs + 1, p->epochs + n, (size_t)(p->nepochs - n) * sizeof(*p->epochs));
	p->nepochs -= n - 1;
	p->epochs[0] = (struct rn__epoch_entry){epoch, log_start};
	changed(p);
}

void rn__epochs_truncate_end(struct rn_partition *p, int64_t end)
{
	int n = p->nepochs;
	while (n > 0 && p->epochs[n - 1].start >= end)
		n--;
	if (n != p->nepochs) {
		p->nepochs = n;
		changed(p);
	}
}

/* Formats the cache; caller holds p->lock. */
static void format(struct rn_partition *p, struct rn_buf *b)
{
	rn_buf_printf(b, "0\n%d\n", p->nepochs);
	for (int i = 0; i < p->nepochs; i++)
		rn_buf_printf(b, "%d %lld\n", p->epochs[i].epoch, (long long)p->epochs[i].start);
}

/* Whether the checkpoint should be written: it is behind, and not only by a leadership that
 * no batch has used yet (a crash losing that lets the next start reuse an unused number). */
static bool worth_writing(struct rn_partition *p)
{
	return dirty(p) && !(p->epochs_bump_only && p->nepochs &&
			     p->epochs[p->nepochs - 1].start == atomic_load(&p->log_end));
}

/* Writes generation gen unless a newer one is on disk already (writers race otherwise: the
 * file would end with whichever rename came last). */
static int write_gen(struct rn_partition *p, const struct rn_buf *b, uint64_t gen, bool sync)
{
	pthread_mutex_lock(&p->ewlock);
	int rc = 0;
	if (gen > atomic_load(&p->epochs_disk_gen)) {
		rc = rn__ckpt_write_sync(p->dir, EPOCH_FILE, (const char *)b->data, b->len, sync);
		if (rc == 0)
			atomic_store(&p->epochs_disk_gen, gen);
	}
	pthread_mutex_unlock(&p->ewlock);
	if (rc < 0)
		rn_warn("storage: %s: cannot write " EPOCH_FILE ": %s", p->dir, rn_strerror(rc));
	return rc;
}

int rn__epochs_write_locked(struct rn_partition *p, bool sync)
{
	if (!worth_writing(p))
		return 0;
	struct rn_buf b = {0};
	format(p, &b);
	int rc = write_gen(p, &b, p->epochs_gen, sync);
	rn_buf_free(&b);
	return rc;
}

int rn__epochs_flush(struct rn_partition *p)
{
	pthread_mutex_lock(&p->lock);
	if (!worth_writing(p)) {
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	struct rn_buf b = {0};
	format(p, &b);
	uint64_t gen = p->epochs_gen;
	pthread_mutex_unlock(&p->lock);
	/* Outside p->lock: appends go on while the file is written and synced. */
	int rc = write_gen(p, &b, gen, true);
	rn_buf_free(&b);
	return rc;
}

int rn_partition_set_leader_epoch(struct rn_partition *p, int32_t epoch)
{
	if (epoch < 0)
		return RN_EINVALID;
	pthread_mutex_lock(&p->lock);
	rn__epochs_assign(p, epoch, atomic_load(&p->log_end));
	p->epochs_bump_only = false; /* explicit: written now, used or not */
	atomic_store(&p->leader_epoch, epoch);
	int rc = rn__epochs_write_locked(p, true);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int32_t rn_partition_become_leader(struct rn_partition *p)
{
	pthread_mutex_lock(&p->lock);
	int32_t cur = atomic_load(&p->leader_epoch);
	if (p->nepochs && p->epochs[p->nepochs - 1].epoch > cur)
		cur = p->epochs[p->nepochs - 1].epoch;
	bool fresh = !p->nepochs && cur == 0 && atomic_load(&p->log_end) == 0;
	int32_t epoch = fresh ? 0 : cur < INT32_MAX ? cur + 1 : cur;
	bool was_clean = !dirty(p) || p->epochs_bump_only;
	if (rn__epochs_assign(p, epoch, atomic_load(&p->log_end)))
		p->epochs_bump_only = was_clean;
	atomic_store(&p->leader_epoch, epoch);
	pthread_mutex_unlock(&p->lock);
	return epoch;
}

/* LeaderEpochFileCache.endOffsetFor, with the log end as the end of the current epoch. */
static void end_offset_for(struct rn_partition *p, int32_t req, int64_t log_end, int32_t *epoch,
			   int64_t *end)
{
	*epoch = -1;
	*end = -1;
	if (req == -1 || p->nepochs == 0)
		return;
	if (p->epochs[p->nepochs - 1].epoch == req) {
		*epoch = req;
		*end = log_end;
		return;
	}
	int hi = 0; /* first entry with an epoch above req */
	while (hi < p->nepochs && p->epochs[hi].epoch <= req)
		hi++;
	if (hi == p->nepochs)
		return; /* above every known epoch */
	/* Below every known epoch: the requested one, ending where the first known starts
	 * (data of epochs in between is gone). Else the largest epoch <= req. */
	*epoch = hi == 0 ? req : p->epochs[hi - 1].epoch;
	*end = p->epochs[hi].start;
}

void rn_partition_epoch_end_offset(struct rn_partition *p, int32_t req, int32_t *epoch,
				   int64_t *end)
{
	pthread_mutex_lock(&p->lock);
	end_offset_for(p, req, atomic_load(&p->log_end), epoch, end);
	pthread_mutex_unlock(&p->lock);
}

int32_t rn_partition_earliest_epoch(struct rn_partition *p)
{
	pthread_mutex_lock(&p->lock);
	int32_t e = p->nepochs && p->epochs[0].start <= atomic_load(&p->log_start)
			? p->epochs[0].epoch
			: -1;
	pthread_mutex_unlock(&p->lock);
	return e;
}
