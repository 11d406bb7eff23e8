/*
 * A log directory: lock file, partition table, recovery-point and log-start-offset checkpoints.
 * The table is an open-addressing hash on (topic, partition) so that opening 10,000
 * partitions stays linear. Entries loaded from checkpoints for partitions not opened in this
 * run are written back unchanged.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/io.h"
#include "core/log.h"
#include "core/metrics.h"
#include "storage/logdir.h"
#include "storage/cleaner.h"
#include "storage/partition.h"
#include "storage/segment.h"

#define RP_FILE    "recovery-point-offset-checkpoint"
#define LSO_FILE   "log-start-offset-checkpoint"
#define CLEAN_FILE "cleaner-offset-checkpoint"
#define HW_FILE    "replication-offset-checkpoint"

struct ld_entry {
	char *topic; /* NULL = empty slot */
	int32_t idx;
	bool deleted;
	int64_t rp, lso, clean; /* from the checkpoints, -1 if absent */
	int64_t hw;             /* high watermark of a replicated partition, -1 if unknown */
	struct rn_partition *p;
};

struct rn_logdir {
	char *path;
	int lock_fd;
	pthread_mutex_t lock;
	struct ld_entry *tab;
	size_t cap, used;
	bool hw_file; /* replication-offset-checkpoint exists: keep it current */
};

static uint64_t hash(const char *topic, int32_t idx)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *c = topic; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ULL;
	return (h ^ (uint32_t)idx) * 1099511628211ULL;
}

static struct ld_entry *find(struct rn_logdir *d, const char *topic, int32_t idx, bool insert);

static void grow(struct rn_logdir *d)
{
	struct ld_entry *old = d->tab;
	size_t ocap = d->cap;
	d->cap = ocap ? ocap * 2 : 64;
	d->tab = rn_calloc(d->cap, sizeof(*d->tab));
	d->used = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].topic)
			continue;
		struct ld_entry *e = find(d, old[i].topic, old[i].idx, true);
		rn_free(e->topic);
		*e = old[i];
	}
	rn_free(old);
}

static struct ld_entry *find(struct rn_logdir *d, const char *topic, int32_t idx, bool insert)
{
	if (insert && (d->used + 1) * 2 > d->cap)
		grow(d);
	if (!d->cap)
		return NULL;
	for (size_t i = hash(topic, idx) & (d->cap - 1);; i = (i + 1) & (d->cap - 1)) {
		struct ld_entry *e = &d->tab[i];
		if (!e->topic) {
			if (!insert)
				return NULL;
			e->topic = rn_strdup(topic);
			e->idx = idx;
			e->rp = e->lso = e->clean = e->hw = -1;
			e->deleted = true; /* until the caller fills it */
			d->used++;
			return e;
		}
		if (e->idx == idx && !strcmp(e->topic, topic))
			return e;
	}
}

/* Parses "0\n<count>\n<topic> <partition> <offset>\n..." into the table. */
static int load_ckpt(struct rn_logdir *d, const char *name, int which)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", d->path, name);
	char *buf;
	size_t len;
	int rc = rn__file_read(path, &buf, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (which == 3)
		d->hw_file = true;
	char *save, *line = strtok_r(buf, "\n", &save);
	long count = -1;
	if (line && !strcmp(line, "0") && (line = strtok_r(NULL, "\n", &save)))
		count = strtol(line, NULL, 10);
	for (long i = 0; i < count && (line = strtok_r(NULL, "\n", &save)); i++) {
		char topic[256];
		int idx;
		long long off;
		if (sscanf(line, "%255s %d %lld", topic, &idx, &off) != 3)
			continue;
		struct ld_entry *e = find(d, topic, idx, true);
		if (which == 2 || which == 3) {
			/* Only for partitions the other files know. */
			if (which == 2)
				e->clean = off;
			else
				e->hw = off;
			continue;
		}
		e->deleted = false;
		if (which == 0)
			e->rp = off;
		else
			e->lso = off;
	}
	if (count < 0)
		rn_warn("storage: %s: unreadable, ignored", path);
	rn_free(buf);
	return 0;
}

int rn_logdir_open(const char *path, struct rn_logdir **out)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	char lp[PATH_MAX];
	snprintf(lp, sizeof(lp), "%s/.lock", path);
	int fd = rn_io_open(lp, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return fd;
	/* flock: per open file description, so even a second open in this process conflicts. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		rn_io_close(fd);
		return rc;
	}
	struct rn_logdir *d = rn_calloc(1, sizeof(*d));
	d->path = rn_strdup(path);
	d->lock_fd = fd;
	pthread_mutex_init(&d->lock, NULL);
	int rc = load_ckpt(d, RP_FILE, 0);
	if (rc == 0)
		rc = load_ckpt(d, LSO_FILE, 1);
	if (rc == 0)
		rc = load_ckpt(d, CLEAN_FILE, 2);
	if (rc == 0)
		rc = load_ckpt(d, HW_FILE, 3);
	if (rc < 0) {
		rn_logdir_close(d);
		return rc;
	}
	*out = d;
	return 0;
}

const char *rn_logdir_path(const struct rn_logdir *d)
{
	return d->path;
}

static void pdir(const struct rn_logdir *d, const char *topic, int32_t idx, char *buf)
{
	snprintf(buf, PATH_MAX, "%s/%s-%d", d->path, topic, idx);
}

int rn_logdir_open_partition(struct rn_logdir *d, const char *topic, int32_t idx,
			     const struct rn_log_config *cfg, bool create,
			     struct rn_partition **out)
{
	char dir[PATH_MAX];
	pdir(d, topic, idx, dir);
	pthread_mutex_lock(&d->lock);
	struct ld_entry *e = find(d, topic, idx, true);
	int rc = 0;
	if (e->p) {
		*out = e->p;
		goto out_unlock;
	}
	int64_t rp = e->deleted ? -1 : e->rp, lso = e->deleted ? 0 : e->lso;
	rc = rn_partition_open(dir, cfg, rp, lso < 0 ? 0 : lso, create, &e->p);
	if (rc == 0) {
		if (!e->deleted && e->hw >= 0)
			rn__partition_set_ckpt_hw(e->p, e->hw);
		if (!e->deleted && e->clean > 0) {
			rn__partition_set_clean_point(e->p, e->clean);
			/* The delete horizons the last run left are not remembered: clean a
			 * compacted log once more so expired tombstones and markers still go. */
			atomic_store(&e->p->horizon_ms, 0);
		}
		e->deleted = false;
		*out = e->p;
	}
out_unlock:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int rn_logdir_delete_partition(struct rn_logdir *d, const char *topic, int32_t idx)
{
	pthread_mutex_lock(&d->lock);
	struct ld_entry *e = find(d, topic, idx, false);
	int rc;
	if (e && e->p) {
		rc = rn_partition_delete(e->p);
	} else {
		/* Not open: open it without recovery work worth mentioning, then delete. */
		struct rn_log_config c;
		rn_log_config_default(&c);
		char dir[PATH_MAX];
		pdir(d, topic, idx, dir);
		struct rn_partition *p;
		rc = rn_partition_open(dir, &c, INT64_MAX, 0, false, &p);
		if (rc == 0)
			rc = rn_partition_delete(p);
	}
	if (e) {
		e->p = NULL;
		e->deleted = true;
		e->clean = -1;
		e->hw = -1;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int rn_logdir_scan(struct rn_logdir *d, void (*cb)(const char *topic, int32_t idx, void *arg),
		   void *arg)
{
	DIR *dir = opendir(d->path);
	if (!dir)
		return -errno;
	struct dirent *e;
	while ((e = readdir(dir))) {
		char *dash = strrchr(e->d_name, '-');
		if (!dash || dash == e->d_name || !dash[1] || e->d_name[0] == '.')
			continue;
		char *end;
		long idx = strtol(dash + 1, &end, 10);
		if (*end || idx < 0 || idx > INT32_MAX)
			continue;
		char topic[256];
		size_t n = (size_t)(dash - e->d_name);
		if (n >= sizeof(topic))
			continue;
		memcpy(topic, e->d_name, n);
		topic[n] = 0;
		cb(topic, (int32_t)idx, arg);
	}
	closedir(dir);
	return 0;
}

/* Caller holds d->lock. */
static int write_ckpts(struct rn_logdir *d)
{
	struct rn_buf rp = {0}, lso = {0}, clean = {0}, hw = {0};
	size_t n = 0, nclean = 0, nhw = 0;
	for (size_t i = 0; i < d->cap; i++) {
		struct ld_entry *e = &d->tab[i];
		if (!e->topic || e->deleted)
			continue;
		if (e->p) {
			e->rp = rn_partition_recovery_point(e->p);
			e->lso = rn_partition_log_start(e->p);
			e->clean = rn_partition_clean_point(e->p);
			/* Only a replicated partition's: another one's is its log end, and a
			 * partition that is not replicated (yet) in this run keeps the entry its
			 * last replicated run left. */
			if (rn_partition_replicated(e->p))
				e->hw = rn_partition_high_watermark(e->p);
		}
		if (e->hw >= 0) {
			nhw++;
			rn_buf_printf(&hw, "%s %d %lld\n", e->topic, e->idx, (long long)e->hw);
		}
		if (e->clean > 0) {
			nclean++;
			rn_buf_printf(&clean, "%s %d %lld\n", e->topic, e->idx,
				      (long long)e->clean);
		}
		n++;
		rn_buf_printf(&rp, "%s %d %lld\n", e->topic, e->idx, (long long)e->rp);
		rn_buf_printf(&lso, "%s %d %lld\n", e->topic, e->idx, (long long)e->lso);
	}
	int rc = 0;
	struct rn_buf *bufs[4] = {&rp, &lso, &clean, &hw};
	const char *names[4] = {RP_FILE, LSO_FILE, CLEAN_FILE, HW_FILE};
	size_t counts[4] = {n, n, nclean, nhw};
	/* The high watermark file only once replication used this log dir: a single broker's
	 * log dir stays as it was. */
	d->hw_file |= nhw > 0;
	for (int k = 0; k < (d->hw_file ? 4 : 3) && rc == 0; k++) {
		struct rn_buf out = {0};
		rn_buf_printf(&out, "0\n%zu\n", counts[k]);
		rn_buf_append(&out, bufs[k]->data, bufs[k]->len);
		rc = rn__ckpt_write(d->path, names[k], (const char *)out.data, out.len);
		rn_buf_free(&out);
	}
	rn_buf_free(&rp);
	rn_buf_free(&lso);
	rn_buf_free(&clean);
	rn_buf_free(&hw);
	return rc;
}

struct rn_partition *rn__logdir_claim(struct rn_logdir *d,
				      double (*score)(struct rn_partition *p, void *arg), void *arg)
{
	pthread_mutex_lock(&d->lock);
	struct rn_partition *best = NULL;
	double bs = -1;
	for (size_t i = 0; i < d->cap; i++) {
		struct rn_partition *p = d->tab[i].p;
		double s = p ? score(p, arg) : -1;
		if (s >= 0 && s > bs) {
			bs = s;
			best = p;
		}
	}
	/* Taken before the log dir's lock is released: closing or deleting the partition (both
	 * under that lock) then waits for the clean. */
	if (best && pthread_mutex_trylock(&best->clean_mu) == 0)
		atomic_store(&best->in_clean, true);
	else
		best = NULL;
	pthread_mutex_unlock(&d->lock);
	return best;
}

int rn_logdir_checkpoint(struct rn_logdir *d)
{
	pthread_mutex_lock(&d->lock);
	int rc = write_ckpts(d);
	pthread_mutex_unlock(&d->lock);
	if (rc < 0)
		rn_error("storage: %s: cannot write checkpoints: %s", d->path, rn_strerror(rc));
	return rc;
}

void rn_logdir_close(struct rn_logdir *d)
{
	pthread_mutex_lock(&d->lock);
	/* Flush first so the checkpoint records every partition's full log as recovered: one
	 * syncfs for the whole file system rather than an fdatasync per partition. */
	for (size_t i = 0; i < d->cap; i++)
		if (d->tab[i].p && !rn_partition_offline(d->tab[i].p))
			rn__partition_sync_prepare(d->tab[i].p);
	if (syncfs(d->lock_fd) == 0) {
		for (size_t i = 0; i < d->cap; i++)
			if (d->tab[i].p && !rn_partition_offline(d->tab[i].p))
				rn__partition_sync_commit(d->tab[i].p);
	} else {
		rn_error("storage: %s: syncfs failed: %s", d->path, strerror(errno));
	}
	if (d->cap && write_ckpts(d) < 0)
		rn_error("storage: %s: cannot write checkpoints at close", d->path);
	for (size_t i = 0; i < d->cap; i++) {
		if (d->tab[i].p)
			rn_partition_close(d->tab[i].p);
		rn_free(d->tab[i].topic);
	}
	pthread_mutex_unlock(&d->lock);
	pthread_mutex_destroy(&d->lock);
	rn_free(d->tab);
	rn_io_close(d->lock_fd); /* releases the flock */
	rn_free(d->path);
	rn_free(d);
}
