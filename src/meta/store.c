#include "meta/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "core/log.h"
#include "meta/store_etcd.h"
#include "meta/store_sec.h"

struct rn_meta {
	pthread_mutex_t lock;
	char *dir;
	int fd; /* the metadata log, O_APPEND */
	char cluster_id[32];
	struct rn_meta_topic *topics;
	int ntopics, cap;
	int64_t records; /* records in the file, live or dead */
	/* Producer ids: [pid_next, pid_end) is the block handed out from memory; pid_end is
	 * durable (an "I" record), so after a crash the rest of the block is skipped. */
	int64_t pid_next, pid_end;
	/* Dynamic broker configs: [0] the cluster default (entity ""), [1] this broker's
	 * (entity "<node id>"), as Kafka's /configs/brokers/<default> and /configs/brokers/<id>. */
	struct rn_meta_topic bcfg[2];
	/* Security records: "S" (set) and "s" (remove) records, kept by the snapshot. */
	struct rn__sec sec;
	/* Set when opened by rn_meta_open_etcd: every call below goes to store_etcd*.c instead. */
	struct rn__es *es;
};

struct rn__es *rn__meta_es(const struct rn_meta *m)
{
	return m ? m->es : NULL;
}

struct rn_meta *rn__meta_wrap_es(struct rn__es *es)
{
	struct rn_meta *m = rn_calloc(1, sizeof(*m));
	m->fd = -1;
	m->es = es;
	rn__sec_init(&m->sec);
	return m;
}

#define PID_BLOCK 1000

static int find(struct rn_meta *m, const char *name)
{
	for (int i = 0; i < m->ntopics; i++)
		if (strcmp(m->topics[i].name, name) == 0)
			return i;
	return -1;
}

static void topic_free(struct rn_meta_topic *t)
{
	rn_free(t->name);
	for (int i = 0; i < t->nconfigs; i++) {
		rn_free(t->configs[i].key);
		rn_free(t->configs[i].val);
	}
	rn_free(t->configs);
}

/* Fields are tab-separated; a value may hold anything, so \t, \n and \\ are escaped. */
static void put_field(struct rn_buf *b, const char *s)
{
	rn_buf_append(b, "\t", 1);
	for (; *s; s++) {
		if (*s == '\t')
			rn_buf_append(b, "\\t", 2);
		else if (*s == '\n')
			rn_buf_append(b, "\\n", 2);
		else if (*s == '\\')
			rn_buf_append(b, "\\\\", 2);
		else
			rn_buf_append(b, s, 1);
	}
}

static int split_fields(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;
	while (n < max) {
		f[n++] = p;
		char *w = p;
		while (*p && *p != '\t') {
			if (*p == '\\' && p[1]) {
				p++;
				*w++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p;
				p++;
			} else {
				*w++ = *p++;
			}
		}
		bool more = *p == '\t';
		*w = '\0';
		if (!more)
			break;
		p++;
	}
	return n;
}

static void hex16(const uint8_t id[16], char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static int unhex16(const char *s, uint8_t id[16])
{
	if (strlen(s) != 32)
		return -1;
	for (int i = 0; i < 16; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		id[i] = (uint8_t)v;
	}
	return 0;
}

static void set_cfg(struct rn_meta_topic *t, const char *key, const char *val)
{
	rn_cfg_kv_set(&t->configs, &t->nconfigs, key, val);
}

/* Applies one decoded record to the in-memory state; returns -1 if it makes no sense. */
static int apply(struct rn_meta *m, char **f, int n)
{
	if (n == 2 && strcmp(f[0], "I") == 0) {
		long long end = atoll(f[1]);
		if (end < m->pid_end)
			return -1;
		m->pid_next = m->pid_end = end;
		return 0;
	}
	if ((n == 4 && strcmp(f[0], "B") == 0) || (n == 3 && strcmp(f[0], "b") == 0)) {
		set_cfg(&m->bcfg[f[1][0] != '\0'], f[2], n == 4 ? f[3] : NULL);
		return 0;
	}
	if ((n == 4 && strcmp(f[0], "S") == 0) || (n == 3 && strcmp(f[0], "s") == 0)) {
		if (rn__sec_valid(f[1], f[2]) < 0 || (n == 3 && !rn__sec_find(&m->sec, f[1], f[2])))
			return -1;
		rn__sec_set(&m->sec, f[1], f[2], n == 4 ? f[3] : NULL);
		return 0;
	}
	int i = n >= 2 ? find(m, f[1]) : -1;
	if (n == 4 && strcmp(f[0], "T") == 0) {
		if (i >= 0)
			return -1;
		if (m->ntopics == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 16;
			m->topics = rn_realloc(m->topics, (size_t)m->cap * sizeof(*m->topics));
		}
		struct rn_meta_topic *t = &m->topics[m->ntopics];
		memset(t, 0, sizeof(*t));
		if (unhex16(f[2], t->id) < 0)
			return -1;
		t->name = rn_strdup(f[1]);
		t->partitions = atoi(f[3]);
		m->ntopics++;
		return 0;
	}
	if (i < 0)
		return -1;
	struct rn_meta_topic *t = &m->topics[i];
	if (n == 2 && strcmp(f[0], "D") == 0) {
		topic_free(t);
		m->topics[i] = m->topics[--m->ntopics];
	} else if (n == 3 && strcmp(f[0], "P") == 0) {
		t->partitions = atoi(f[2]);
	} else if (n == 4 && strcmp(f[0], "C") == 0) {
		set_cfg(t, f[2], f[3]);
	} else if (n == 3 && strcmp(f[0], "U") == 0) {
		set_cfg(t, f[2], NULL);
	} else {
		return -1;
	}
	return 0;
}

/* Frames payload (without its leading tab) as "<crc> payload\n". */
static void frame_record(struct rn_buf *out, const struct rn_buf *payload)
{
	char crc[16];
	uint32_t c = rn_crc32c(0, payload->data + 1, payload->len - 1);
	snprintf(crc, sizeof(crc), "%08x ", c);
	rn_buf_append(out, crc, 9);
	rn_buf_append(out, payload->data + 1, payload->len - 1);
	rn_buf_append(out, "\n", 1);
}

static int write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

/* Appends to the log and fsyncs: a record counts only once it is durable. */
static int write_synced(struct rn_meta *m, const void *p, size_t n)
{
	int rc = write_all(m->fd, p, n);
	if (rc == 0 && fdatasync(m->fd) < 0)
		rc = -errno;
	return rc;
}

/* Applies framed records this process has just written durably (so no CRC check), so memory
 * matches the file exactly. Terminates each line in place. */
static void apply_written(struct rn_meta *m, struct rn_buf *all)
{
	char *p = (char *)all->data, *end = p + all->len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		*nl = '\0';
		char *f[4];
		int n = split_fields(p + 9, f, 4);
		apply(m, f, n);
		m->records++;
		p = nl + 1;
	}
}

/* Appends and fsyncs one record; applies it only once it is durable. */
static int commit(struct rn_meta *m, struct rn_buf *payload)
{
	struct rn_buf rec = {0};
	frame_record(&rec, payload);
	int rc = write_synced(m, rec.data, rec.len);
	if (rc < 0) {
		rn_error("metadata: cannot write %s/runnel-metadata.log: %s", m->dir,
			 strerror(-rc));
	} else {
		char *f[4];
		char *line = rn_strndup((char *)payload->data + 1, payload->len - 1);
		int n = split_fields(line, f, 4);
		apply(m, f, n);
		rn_free(line);
		m->records++;
	}
	rn_buf_free(&rec);
	rn_buf_free(payload);
	return rc;
}

static void topic_records(const struct rn_meta_topic *t, struct rn_buf *out)
{
	struct rn_buf p = {0};
	char id[33], np[16];
	hex16(t->id, id);
	snprintf(np, sizeof(np), "%d", t->partitions);
	put_field(&p, "T");
	put_field(&p, t->name);
	put_field(&p, id);
	put_field(&p, np);
	frame_record(out, &p);
	for (int i = 0; i < t->nconfigs; i++) {
		rn_buf_reset(&p);
		put_field(&p, "C");
		put_field(&p, t->name);
		put_field(&p, t->configs[i].key);
		put_field(&p, t->configs[i].val);
		frame_record(out, &p);
	}
	rn_buf_free(&p);
}

static void bcfg_record(const char *entity, const struct rn_cfg_kv *kv, struct rn_buf *out)
{
	struct rn_buf p = {0};
	put_field(&p, kv->val ? "B" : "b");
	put_field(&p, entity);
	put_field(&p, kv->key);
	if (kv->val)
		put_field(&p, kv->val);
	frame_record(out, &p);
	rn_buf_free(&p);
}

/* A security record: set ns/key to val, or remove it (val NULL). */
static void sec_record(const char *ns, const char *key, const char *val, struct rn_buf *out)
{
	struct rn_buf p = {0};
	put_field(&p, val ? "S" : "s");
	put_field(&p, ns);
	put_field(&p, key);
	if (val)
		put_field(&p, val);
	frame_record(out, &p);
	rn_buf_free(&p);
}

static void sec_snap(struct rn__sec_rec *r, void *arg)
{
	sec_record(r->ns, r->key, r->val, arg);
}

static void pid_record(int64_t end, struct rn_buf *out)
{
	struct rn_buf p = {0};
	char v[24];
	snprintf(v, sizeof(v), "%lld", (long long)end);
	put_field(&p, "I");
	put_field(&p, v);
	frame_record(out, &p);
	rn_buf_free(&p);
}

/* Rewrites the log as a snapshot of the live state: tmp file, fsync, rename, fsync dir. */
static int compact(struct rn_meta *m, const char *path)
{
	struct rn_buf all = {0};
	if (m->pid_end > 0)
		pid_record(m->pid_end, &all);
	for (int i = 0; i < m->ntopics; i++)
		topic_records(&m->topics[i], &all);
	for (int e = 0; e < 2; e++)
		for (int i = 0; i < m->bcfg[e].nconfigs; i++)
			bcfg_record(m->bcfg[e].name, &m->bcfg[e].configs[i], &all);
	rn__sec_each_rec(&m->sec, sec_snap, &all);
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = fd < 0 ? -errno : write_all(fd, all.data, all.len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0) {
		int dfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		m->records =
		    (m->pid_end > 0) + m->bcfg[0].nconfigs + m->bcfg[1].nconfigs + m->sec.n;
		for (int i = 0; i < m->ntopics; i++)
			m->records += 1 + m->topics[i].nconfigs;
	}
	rn_buf_free(&all);
	return rc;
}

/* Replays the log; returns the byte length of its valid prefix. */
static off_t replay(struct rn_meta *m, int fd)
{
	struct rn_buf data = {0};
	char chunk[65536];
	ssize_t r;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		rn_buf_append(&data, chunk, (size_t)r);
	size_t off = 0;
	while (off < data.len) {
		char *line = (char *)data.data + off;
		char *nl = memchr(line, '\n', data.len - off);
		if (!nl || nl - line < 10 || line[8] != ' ')
			break;
		*nl = '\0';
		unsigned crc;
		if (sscanf(line, "%8x", &crc) != 1 ||
		    crc != rn_crc32c(0, line + 9, (size_t)(nl - line - 9)))
			break;
		char *f[4];
		int n = split_fields(line + 9, f, 4);
		if (apply(m, f, n) < 0)
			rn_warn("metadata: ignoring inconsistent record at byte %zu", off);
		m->records++;
		off = (size_t)(nl - (char *)data.data) + 1;
	}
	if (off < data.len)
		rn_warn("metadata: truncating torn or corrupt tail of runnel-metadata.log at byte "
			"%zu of %zu",
			off, data.len);
	rn_buf_free(&data);
	return (off_t)off;
}

static int meta_properties(struct rn_meta *m, int32_t node_id)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/meta.properties", m->dir);
	FILE *f = fopen(path, "r");
	if (f) {
		char line[256];
		int32_t stored = node_id;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "cluster.id=%31s", m->cluster_id) == 1)
				continue;
			sscanf(line, "node.id=%d", &stored);
		}
		fclose(f);
		if (stored != node_id) {
			rn_error("%s says node.id=%d but this broker is node.id=%d", path, stored,
				 node_id);
			return -EINVAL;
		}
		if (m->cluster_id[0])
			return 0;
	}
	/* Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding. */
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EIO;
	for (int i = 0; i < 22; i++) {
		int bit = i * 6, byte = bit / 8, sh = bit % 8;
		unsigned v = (unsigned)rnd[byte] << 8 | (byte + 1 < 16 ? rnd[byte + 1] : 0);
		m->cluster_id[i] = b64[(v >> (10 - sh)) & 63];
	}
	m->cluster_id[22] = '\0';
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "#\n# generated by runnel\nversion=1\ncluster.id=%s\nnode.id=%d\n",
		m->cluster_id, node_id);
	int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -errno;
	fclose(f);
	return rc;
}

int rn_meta_open(const char *dir, int32_t node_id, struct rn_meta **out)
{
	struct rn_meta *m = rn_calloc(1, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->dir = rn_strdup(dir);
	m->fd = -1;
	rn__sec_init(&m->sec);
	char id[16];
	snprintf(id, sizeof(id), "%d", node_id);
	m->bcfg[0].name = rn_strdup("");
	m->bcfg[1].name = rn_strdup(id);
	int rc = meta_properties(m, node_id);
	if (rc < 0)
		goto out_err;
	char path[4096];
	snprintf(path, sizeof(path), "%s/runnel-metadata.log", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		rn_error("metadata: cannot open %s: %s", path, strerror(errno));
		goto out_err;
	}
	off_t valid = replay(m, fd);
	close(fd);
	if (truncate(path, valid) < 0) {
		rc = -errno;
		goto out_err;
	}
	if (m->records > 64 && m->records > 2 * (int64_t)m->ntopics + 1 + m->bcfg[0].nconfigs +
						m->bcfg[1].nconfigs + 2 * m->sec.n) {
		rc = compact(m, path);
		if (rc < 0)
			goto out_err;
	}
	m->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (m->fd < 0) {
		rc = -errno;
		goto out_err;
	}
	*out = m;
	return 0;
out_err:
	rn_meta_close(m);
	return rc;
}

void rn_meta_close(struct rn_meta *m)
{
	if (!m)
		return;
	if (m->es) {
		rn__es_close(m->es);
		rn__sec_free(&m->sec);
		rn_free(m);
		return;
	}
	if (m->fd >= 0)
		close(m->fd);
	for (int i = 0; i < m->ntopics; i++)
		topic_free(&m->topics[i]);
	topic_free(&m->bcfg[0]);
	topic_free(&m->bcfg[1]);
	rn__sec_free(&m->sec);
	rn_free(m->topics);
	rn_free(m->dir);
	pthread_mutex_destroy(&m->lock);
	rn_free(m);
}

const char *rn_meta_cluster_id(const struct rn_meta *m)
{
	if (m->es)
		return rn__es_cluster_id(m->es);
	return m->cluster_id;
}

int rn_meta_topic_create(struct rn_meta *m, const char *name, int32_t partitions,
			 const struct rn_cfg_kv *cfg, int ncfg, uint8_t id_out[16])
{
	if (m->es)
		return rn__es_topic_create(m->es, name, partitions, cfg, ncfg, id_out);
	pthread_mutex_lock(&m->lock);
	int rc = RN_EEXIST;
	if (find(m, name) >= 0)
		goto out;
	struct rn_meta_topic t = {.name = (char *)name,
				  .partitions = partitions,
				  .configs = (struct rn_cfg_kv *)cfg,
				  .nconfigs = ncfg};
	if (getrandom(t.id, 16, 0) != 16) {
		rc = -EIO;
		goto out;
	}
	t.id[6] = (uint8_t)((t.id[6] & 0x0f) | 0x40); /* a version 4 UUID, as Kafka makes */
	t.id[8] = (uint8_t)((t.id[8] & 0x3f) | 0x80);
	struct rn_buf all = {0};
	topic_records(&t, &all);
	rc = write_synced(m, all.data, all.len);
	if (rc == 0) {
		apply_written(m, &all);
		memcpy(id_out, t.id, 16);
	} else {
		rn_error("metadata: cannot record topic %s: %s", name, strerror(-rc));
	}
	rn_buf_free(&all);
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int simple_op(struct rn_meta *m, const char *op, const char *name, const char *a,
		     const char *b)
{
	pthread_mutex_lock(&m->lock);
	int rc = RN_ENOTFOUND;
	if (find(m, name) >= 0) {
		struct rn_buf p = {0};
		put_field(&p, op);
		put_field(&p, name);
		if (a)
			put_field(&p, a);
		if (b)
			put_field(&p, b);
		rc = commit(m, &p);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int rn_meta_topic_delete(struct rn_meta *m, const char *name)
{
	if (m->es)
		return rn__es_topic_delete(m->es, name);
	return simple_op(m, "D", name, NULL, NULL);
}

int rn_meta_topic_set_partitions(struct rn_meta *m, const char *name, int32_t partitions)
{
	if (m->es)
		return rn__es_topic_set_partitions(m->es, name, partitions);
	char np[16];
	snprintf(np, sizeof(np), "%d", partitions);
	return simple_op(m, "P", name, np, NULL);
}

int rn_meta_topic_set_config(struct rn_meta *m, const char *name, const char *key, const char *val)
{
	if (m->es)
		return rn__es_topic_set_config(m->es, name, key, val);
	return val ? simple_op(m, "C", name, key, val) : simple_op(m, "U", name, key, NULL);
}

/* Writes the framed records in all with one write and one fsync, then applies them. */
static int commit_many(struct rn_meta *m, struct rn_buf *all)
{
	int rc = write_synced(m, all->data, all->len);
	if (rc < 0) {
		rn_error("metadata: cannot write %s/runnel-metadata.log: %s", m->dir,
			 strerror(-rc));
		return rc;
	}
	apply_written(m, all);
	return 0;
}

static bool kv_has(const struct rn_cfg_kv *kv, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return true;
	return false;
}

/* Records turning t's override set into kv[0..n): removals first, then every new value. */
static void replace_records(const struct rn_meta_topic *t, bool broker, const struct rn_cfg_kv *kv,
			    int n, struct rn_buf *all)
{
	struct rn_buf p = {0};
	for (int i = 0; i < t->nconfigs; i++) {
		if (kv_has(kv, n, t->configs[i].key))
			continue;
		if (broker) {
			struct rn_cfg_kv del = {t->configs[i].key, NULL};
			bcfg_record(t->name, &del, all);
			continue;
		}
		rn_buf_reset(&p);
		put_field(&p, "U");
		put_field(&p, t->name);
		put_field(&p, t->configs[i].key);
		frame_record(all, &p);
	}
	for (int i = 0; i < n; i++) {
		if (broker) {
			bcfg_record(t->name, &kv[i], all);
			continue;
		}
		rn_buf_reset(&p);
		put_field(&p, "C");
		put_field(&p, t->name);
		put_field(&p, kv[i].key);
		put_field(&p, kv[i].val);
		frame_record(all, &p);
	}
	rn_buf_free(&p);
}

int rn_meta_topic_replace_configs(struct rn_meta *m, const char *name, const struct rn_cfg_kv *kv,
				  int n)
{
	if (m->es)
		return rn__es_topic_replace_configs(m->es, name, kv, n);
	pthread_mutex_lock(&m->lock);
	int rc = RN_ENOTFOUND;
	int i = find(m, name);
	if (i >= 0) {
		struct rn_buf all = {0};
		replace_records(&m->topics[i], false, kv, n, &all);
		rc = all.len ? commit_many(m, &all) : 0;
		rn_buf_free(&all);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int rn_meta_broker_replace_configs(struct rn_meta *m, bool per_broker, const struct rn_cfg_kv *kv,
				   int n)
{
	if (m->es)
		return rn__es_broker_replace_configs(m->es, per_broker, kv, n);
	pthread_mutex_lock(&m->lock);
	struct rn_buf all = {0};
	replace_records(&m->bcfg[per_broker], true, kv, n, &all);
	int rc = all.len ? commit_many(m, &all) : 0;
	rn_buf_free(&all);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void rn_meta_broker_configs(struct rn_meta *m, bool per_broker,
			    void (*cb)(const char *key, const char *val, void *arg), void *arg)
{
	if (m->es) {
		rn__es_broker_configs(m->es, per_broker, cb, arg);
		return;
	}
	pthread_mutex_lock(&m->lock);
	const struct rn_meta_topic *t = &m->bcfg[per_broker];
	for (int i = 0; i < t->nconfigs; i++)
		cb(t->configs[i].key, t->configs[i].val, arg);
	pthread_mutex_unlock(&m->lock);
}

const struct rn_meta_topic *rn_meta_topic_get(struct rn_meta *m, const char *name)
{
	if (m->es)
		return rn__es_topic_get(m->es, name);
	pthread_mutex_lock(&m->lock);
	int i = find(m, name);
	pthread_mutex_unlock(&m->lock);
	return i < 0 ? NULL : &m->topics[i];
}

void rn_meta_topics_foreach(struct rn_meta *m, void (*cb)(const struct rn_meta_topic *t, void *arg),
			    void *arg)
{
	if (m->es) {
		rn__es_topics_foreach(m->es, cb, arg);
		return;
	}
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < m->ntopics; i++)
		cb(&m->topics[i], arg);
	pthread_mutex_unlock(&m->lock);
}

int rn_meta_next_producer_id(struct rn_meta *m, int64_t *out)
{
	if (m->es)
		return rn__es_next_producer_id(m->es, out);
	pthread_mutex_lock(&m->lock);
	int rc = 0;
	if (m->pid_next == m->pid_end) {
		/* Durable before any id of the block is used: a crash never hands one out twice. */
		struct rn_buf rec = {0};
		pid_record(m->pid_end + PID_BLOCK, &rec);
		rc = write_synced(m, rec.data, rec.len);
		rn_buf_free(&rec);
		if (rc < 0) {
			rn_error("metadata: cannot record a producer id block: %s", strerror(-rc));
			goto out;
		}
		m->pid_end += PID_BLOCK;
		m->records++;
	}
	*out = m->pid_next++;
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

struct rn__sec *rn__meta_sec(struct rn_meta *m)
{
	return &m->sec;
}

int rn__meta_sec_change(struct rn_meta *m, const char *ns, const char *key, bool cas,
			const char *expect, const char *val)
{
	pthread_mutex_lock(&m->lock);
	struct rn__sec_rec *cur = rn__sec_find(&m->sec, ns, key);
	int rc = 0;
	if (cas && ((cur == NULL) != (expect == NULL) || (cur && strcmp(cur->val, expect) != 0)))
		rc = RN_ESTALE;
	else if (!val && !cur)
		rc = cas ? 0 : RN_ENOTFOUND; /* cas(absent -> absent) holds already */
	else if (!val || !cur || strcmp(cur->val, val) != 0) {
		struct rn_buf rec = {0};
		sec_record(ns, key, val, &rec);
		rc = commit_many(m, &rec);
		rn_buf_free(&rec);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void rn__meta_sec_foreach(struct rn_meta *m, const char *ns,
			  void (*cb)(const char *key, const char *val, void *arg), void *arg)
{
	pthread_mutex_lock(&m->lock);
	rn__sec_foreach(&m->sec, ns, cb, arg);
	pthread_mutex_unlock(&m->lock);
}
