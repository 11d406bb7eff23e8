#include "broker/topics.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "broker/cluster.h"
#include "broker/topic_config.h"
#include "broker/topics_int.h"
#include "broker/waiter.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "replica/replica.h"
#include "storage/logdir.h"
#include "storage/partition.h"

static uint32_t hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

bool rn_topic_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > 249)
		return false;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Topic ids (KIP-516) are random UUIDs: any 16 bytes of them hash well. */
static uint32_t id_hash(const uint8_t id[16])
{
	return hash((const char *)id, 16);
}

static void table_grow(struct rn_broker *b)
{
	uint32_t n = b->nbuckets ? b->nbuckets * 2 : 64;
	struct rn_topic **nb = rn_calloc(n, sizeof(*nb)), **ni = rn_calloc(n, sizeof(*ni));
	for (uint32_t i = 0; i < b->nbuckets; i++) {
		struct rn_topic *t = b->buckets[i];
		while (t) {
			struct rn_topic *next = t->hnext;
			uint32_t h = hash(t->name, strlen(t->name)) & (n - 1);
			t->hnext = nb[h];
			nb[h] = t;
			h = id_hash(t->id) & (n - 1);
			t->id_hnext = ni[h];
			ni[h] = t;
			t = next;
		}
	}
	rn_free(b->buckets);
	rn_free(b->id_buckets);
	b->buckets = nb;
	b->id_buckets = ni;
	b->nbuckets = n;
}

/* Caller holds topics_lock for writing. */
static void table_insert(struct rn_broker *b, struct rn_topic *t)
{
	if (b->ntopics + 1 > b->nbuckets / 2 * 3 || !b->nbuckets)
		table_grow(b);
	uint32_t h = hash(t->name, strlen(t->name)) & (b->nbuckets - 1);
	t->hnext = b->buckets[h];
	b->buckets[h] = t;
	h = id_hash(t->id) & (b->nbuckets - 1);
	t->id_hnext = b->id_buckets[h];
	b->id_buckets[h] = t;
	b->ntopics++;
}

static struct rn_topic *table_find(struct rn_broker *b, const char *name, size_t len)
{
	if (!b->nbuckets)
		return NULL;
	uint32_t h = hash(name, len) & (b->nbuckets - 1);
	for (struct rn_topic *t = b->buckets[h]; t; t = t->hnext)
		if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
			return t;
	return NULL;
}

static void table_remove(struct rn_broker *b, struct rn_topic *t)
{
	uint32_t h = id_hash(t->id) & (b->nbuckets - 1);
	for (struct rn_topic **pp = &b->id_buckets[h]; *pp; pp = &(*pp)->id_hnext) {
		if (*pp == t) {
			*pp = t->id_hnext;
			break;
		}
	}
	h = hash(t->name, strlen(t->name)) & (b->nbuckets - 1);
	for (struct rn_topic **pp = &b->buckets[h]; *pp; pp = &(*pp)->hnext) {
		if (*pp == t) {
			*pp = t->hnext;
			b->ntopics--;
			return;
		}
	}
}

void rn__table_insert(struct rn_broker *b, struct rn_topic *t)
{
	table_insert(b, t);
}

void rn__table_remove(struct rn_broker *b, struct rn_topic *t)
{
	table_remove(b, t);
}

struct rn_topic *rn__table_find(struct rn_broker *b, const char *name)
{
	return table_find(b, name, strlen(name));
}

static void copy_configs(struct rn_topic *t, const struct rn_cfg_kv *cfg, int n)
{
	t->configs = n ? rn_calloc((size_t)n, sizeof(*t->configs)) : NULL;
	for (int i = 0; i < n; i++) {
		t->configs[i].key = rn_strdup(cfg[i].key);
		t->configs[i].val = rn_strdup(cfg[i].val);
	}
	t->nconfigs = n;
}

static void topic_free(struct rn_topic *t)
{
	for (int32_t i = 0; i < t->npart; i++)
		pthread_mutex_destroy(&t->parts[i].wlock);
	rn_free(t->parts);
	for (int i = 0; i < t->nconfigs; i++) {
		rn_free(t->configs[i].key);
		rn_free(t->configs[i].val);
	}
	rn_free(t->configs);
	while (t->retired) {
		struct rn_topic_retired *r = t->retired;
		t->retired = r->next;
		rn_free(r);
	}
	rn_free(t->name);
	rn_free(t);
}

void rn__topic_free(struct rn_topic *t)
{
	topic_free(t);
}

/* Opens partitions [from, to) of t; on failure closes nothing (the logdir owns them). */
static int open_parts(struct rn_broker *b, struct rn_topic *t, int32_t from, int32_t to)
{
	for (int32_t i = from; i < to; i++) {
		int rc = rn_logdir_open_partition(b->logdir, t->name, i, &t->logcfg, true,
						  &t->parts[i].log);
		if (rc < 0) {
			rn_error("cannot open partition %s-%d: %s", t->name, i, rn_strerror(rc));
			return rc;
		}
		/* Every start is a new election, as a Kafka controller makes one. A cluster's
		 * epochs come from the store instead (cluster.c). */
		if (!b->clustered)
			rn_partition_become_leader(t->parts[i].log);
	}
	return 0;
}

static struct rn_topic *topic_new(struct rn_broker *b, const char *name, const uint8_t id[16],
				  int32_t npart, const struct rn_cfg_kv *cfg, int ncfg)
{
	struct rn_topic *t = rn_calloc(1, sizeof(*t));
	t->name = rn_strdup(name);
	memcpy(t->id, id, 16);
	t->npart = npart;
	t->parts = rn_calloc((size_t)npart, sizeof(*t->parts));
	for (int32_t i = 0; i < npart; i++)
		pthread_mutex_init(&t->parts[i].wlock, NULL);
	copy_configs(t, cfg, ncfg);
	rn_topic_cfg_resolve(b->cfg, t->configs, t->nconfigs, &t->logcfg);
	atomic_store(&t->compression, t->logcfg.compression);
	t->refs = 1; /* the table's */
	return t;
}

struct rn_topic *rn__topic_new(struct rn_broker *b, const char *name, const uint8_t id[16],
			       int32_t npart, const struct rn_cfg_kv *cfg, int ncfg)
{
	return topic_new(b, name, id, npart, cfg, ncfg);
}

struct rn_topic *rn__topic_copy(struct rn_broker *b, struct rn_topic *t, int32_t npart)
{
	rn_topics_cfg_lock(false);
	struct rn_topic *nt = topic_new(b, t->name, t->id, npart, t->configs, t->nconfigs);
	rn_topics_cfg_unlock();
	for (int32_t i = 0; i < npart && i < t->npart; i++) {
		nt->parts[i].log = t->parts[i].log;
		nt->parts[i].rp = t->parts[i].rp;
	}
	return nt;
}

void rn__topic_swap(struct rn_broker *b, struct rn_topic *old, struct rn_topic *nt)
{
	pthread_rwlock_wrlock(&b->topics_lock);
	table_remove(b, old);
	table_insert(b, nt);
	pthread_rwlock_unlock(&b->topics_lock);
	/* The old object must not delete the shared partitions when it goes: it is not marked
	 * deleted, so its last put only frees memory (and what it retired). Wake its waiters so
	 * they re-resolve. */
	for (int32_t i = 0; i < old->npart; i++)
		rn_topic_notify(old, i);
	rn_topic_put(b, old); /* the table's */
}

struct load_ctx {
	struct rn_broker *b;
	int rc;
};

static void load_one(const struct rn_meta_topic *mt, void *arg)
{
	struct load_ctx *lc = arg;
	struct rn_topic *t =
	    topic_new(lc->b, mt->name, mt->id, mt->partitions, mt->configs, mt->nconfigs);
	int rc = open_parts(lc->b, t, 0, t->npart);
	if (rc < 0 && lc->rc == 0)
		lc->rc = rc;
	table_insert(lc->b, t);
}

int rn_topics_load(struct rn_broker *b)
{
	struct load_ctx lc = {b, 0};
	pthread_rwlock_wrlock(&b->topics_lock);
	rn_meta_topics_foreach(b->meta, load_one, &lc);
	pthread_rwlock_unlock(&b->topics_lock);
	return lc.rc;
}

void rn_topics_unload(struct rn_broker *b)
{
	pthread_rwlock_wrlock(&b->topics_lock);
	for (uint32_t i = 0; i < b->nbuckets; i++) {
		struct rn_topic *t = b->buckets[i];
		while (t) {
			struct rn_topic *next = t->hnext;
			/* Every replica is detached before rn_logdir_close closes the logs. */
			for (int32_t j = 0; j < t->npart; j++)
				if (t->parts[j].rp)
					rn_replica_detach(b->replica, t->parts[j].rp);
			topic_free(t);
			t = next;
		}
	}
	rn_free(b->buckets);
	rn_free(b->id_buckets);
	b->buckets = b->id_buckets = NULL;
	b->nbuckets = b->ntopics = 0;
	pthread_rwlock_unlock(&b->topics_lock);
}

struct rn_topic *rn_topic_get(struct rn_broker *b, const char *name, size_t len)
{
	pthread_rwlock_rdlock(&b->topics_lock);
	struct rn_topic *t = table_find(b, name, len);
	if (t)
		atomic_fetch_add(&t->refs, 1);
	pthread_rwlock_unlock(&b->topics_lock);
	return t;
}

struct rn_topic *rn_topic_get_by_id(struct rn_broker *b, const uint8_t id[16])
{
	static const uint8_t zero[16];
	if (memcmp(id, zero, 16) == 0)
		return NULL;
	pthread_rwlock_rdlock(&b->topics_lock);
	struct rn_topic *t = NULL;
	if (b->nbuckets)
		t = b->id_buckets[id_hash(id) & (b->nbuckets - 1)];
	while (t && memcmp(t->id, id, 16) != 0)
		t = t->id_hnext;
	if (t)
		atomic_fetch_add(&t->refs, 1);
	pthread_rwlock_unlock(&b->topics_lock);
	return t;
}

/* The last reference of a deleted topic removes its data. */
static void topic_destroy(struct rn_broker *b, struct rn_topic *t)
{
	/* Replication stops before the logs close (a fetcher may be appending). */
	for (int32_t i = 0; i < t->npart; i++)
		if (t->parts[i].rp)
			rn_replica_detach(b->replica, t->parts[i].rp);
	pthread_mutex_lock(&b->admin_lock);
	for (int32_t i = 0; i < t->npart; i++) {
		int rc = rn_logdir_delete_partition(b->logdir, t->name, i);
		if (rc < 0 && rc != -ENOENT)
			rn_warn("deleting partition %s-%d: %s", t->name, i, rn_strerror(rc));
	}
	for (struct rn_topic **pp = &b->graveyard; *pp; pp = &(*pp)->hnext) {
		if (*pp == t) {
			*pp = t->hnext;
			break;
		}
	}
	pthread_mutex_unlock(&b->admin_lock);
	rn_info("topic %s deleted", t->name);
	topic_free(t);
}

void rn__topic_release(struct rn_broker *b, struct rn_topic *t)
{
	if (atomic_load(&t->deleted)) {
		topic_destroy(b, t);
		return;
	}
	/* Replaced by a copy that shares its partitions, but for those it retired. */
	for (struct rn_topic_retired *r = t->retired; r; r = r->next) {
		if (r->rp)
			rn_replica_detach(b->replica, r->rp);
		int rc = rn_logdir_delete_partition(b->logdir, t->name, r->idx);
		if (rc < 0 && rc != -ENOENT)
			rn_warn("deleting partition %s-%d: %s", t->name, r->idx, rn_strerror(rc));
		else
			rn_info("partition %s-%d: no longer a replica here, log deleted", t->name,
				r->idx);
	}
	topic_free(t);
}

void rn_topic_put(struct rn_broker *b, struct rn_topic *t)
{
	if (atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	/* A cluster's last put may come on a replica thread (a hook), which a detach could
	 * wait for: the cluster worker does it instead. */
	if (b->clustered && rn_cluster_defer_release(b, t))
		return;
	rn__topic_release(b, t);
}

bool rn__in_graveyard(struct rn_broker *b, const char *name)
{
	for (struct rn_topic *t = b->graveyard; t; t = t->hnext)
		if (strcmp(t->name, name) == 0)
			return true;
	return false;
}

/* What every creation checks before it looks at the table or the store. */
static enum rn_kerr create_checks(struct rn_broker *b, const char *name, int32_t *partitions,
				  const struct rn_cfg_kv *cfg, int ncfg, char *msg, size_t msglen)
{
	if (!rn_topic_name_valid(name, strlen(name))) {
		snprintf(msg, msglen,
			 "Topic name \"%s\" is illegal, it contains a character other than ASCII "
			 "alphanumerics, '.', '_' and '-' or is empty or too long",
			 name);
		return RN_KERR_INVALID_TOPIC_EXCEPTION;
	}
	if (*partitions == -1)
		*partitions = b->num_partitions;
	if (*partitions <= 0 || *partitions > 100000) {
		snprintf(msg, msglen, "Number of partitions must be larger than 0.");
		return RN_KERR_INVALID_PARTITIONS;
	}
	for (int i = 0; i < ncfg; i++)
		if (rn_topic_cfg_validate(cfg[i].key, cfg[i].val, msg, msglen) < 0)
			return RN_KERR_INVALID_CONFIG;
	if (rn_topic_cfg_validate_set(b->cfg, cfg, ncfg, msg, msglen) < 0)
		return RN_KERR_INVALID_CONFIG;
	return RN_KERR_NONE;
}

enum rn_kerr rn_topic_create_replicated(struct rn_broker *b, const char *name, int32_t partitions,
					int32_t rf, const struct rn_assignment *assign,
					const struct rn_cfg_kv *cfg, int ncfg, bool validate_only,
					int32_t *rf_out, char *msg, size_t msglen)
{
	*rf_out = 1;
	enum rn_kerr kerr = create_checks(b, name, &partitions, cfg, ncfg, msg, msglen);
	if (kerr != RN_KERR_NONE)
		return kerr;
	if (b->clustered)
		return rn__topic_create_cluster(b, name, partitions, rf, assign, cfg, ncfg,
						validate_only, true, rf_out, msg, msglen);
	return rn_topic_create(b, name, partitions, cfg, ncfg, validate_only, msg, msglen);
}

enum rn_kerr rn_topic_create(struct rn_broker *b, const char *name, int32_t partitions,
			     const struct rn_cfg_kv *cfg, int ncfg, bool validate_only, char *msg,
			     size_t msglen)
{
	enum rn_kerr kerr = create_checks(b, name, &partitions, cfg, ncfg, msg, msglen);
	if (kerr != RN_KERR_NONE)
		return kerr;
	if (b->clustered) {
		int32_t rf;
		return rn__topic_create_cluster(b, name, partitions, -1, NULL, cfg, ncfg,
						validate_only, true, &rf, msg, msglen);
	}
	pthread_mutex_lock(&b->admin_lock);
	struct rn_topic *old = rn_topic_get(b, name, strlen(name));
	if (old || rn__in_graveyard(b, name)) {
		if (old)
			rn_topic_put(b, old);
		snprintf(msg, msglen,
			 old ? "Topic '%s' already exists." : "Topic '%s' is marked for deletion.",
			 name);
		kerr = RN_KERR_TOPIC_ALREADY_EXISTS;
		goto out;
	}
	if (validate_only)
		goto out;
	uint8_t id[16];
	int rc = rn_meta_topic_create(b->meta, name, partitions, cfg, ncfg, id);
	if (rc < 0) {
		snprintf(msg, msglen, "cannot record topic: %s", rn_strerror(rc));
		kerr = RN_KERR_KAFKA_STORAGE_ERROR;
		goto out;
	}
	struct rn_topic *t = topic_new(b, name, id, partitions, cfg, ncfg);
	rc = open_parts(b, t, 0, partitions);
	if (rc < 0) {
		snprintf(msg, msglen, "cannot create partition directories: %s", rn_strerror(rc));
		kerr = RN_KERR_KAFKA_STORAGE_ERROR;
		/* The metadata says it exists: keep the topic, its broken partitions report
		 * storage errors, as a failed log dir does in Kafka. */
	}
	pthread_rwlock_wrlock(&b->topics_lock);
	table_insert(b, t);
	pthread_rwlock_unlock(&b->topics_lock);
	rn_info("topic %s created with %d partition(s)", name, partitions);
out:
	pthread_mutex_unlock(&b->admin_lock);
	return kerr;
}

void rn__topic_unpublish(struct rn_broker *b, struct rn_topic *t)
{
	pthread_rwlock_wrlock(&b->topics_lock);
	table_remove(b, t);
	pthread_rwlock_unlock(&b->topics_lock);
	atomic_store(&t->deleted, true);
	t->hnext = b->graveyard;
	b->graveyard = t;
	for (int32_t i = 0; i < t->npart; i++)
		rn_topic_notify(t, i);
}

enum rn_kerr rn_topic_delete(struct rn_broker *b, const char *name, char *msg, size_t msglen)
{
	if (b->clustered)
		return rn__topic_delete_cluster(b, name, msg, msglen);
	pthread_mutex_lock(&b->admin_lock);
	enum rn_kerr kerr = RN_KERR_NONE;
	pthread_rwlock_wrlock(&b->topics_lock);
	struct rn_topic *t = table_find(b, name, strlen(name));
	if (t)
		table_remove(b, t);
	pthread_rwlock_unlock(&b->topics_lock);
	if (!t) {
		snprintf(msg, msglen, "This server does not host this topic-partition.");
		kerr = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
		goto out;
	}
	int rc = rn_meta_topic_delete(b->meta, name);
	if (rc < 0)
		rn_warn("topic %s: cannot record its deletion: %s", name, rn_strerror(rc));
	atomic_store(&t->deleted, true);
	t->hnext = b->graveyard;
	b->graveyard = t;
	/* Parked fetches notice the deletion when woken. */
	for (int32_t i = 0; i < t->npart; i++)
		rn_topic_notify(t, i);
out:
	pthread_mutex_unlock(&b->admin_lock);
	if (t)
		rn_topic_put(b, t); /* the table's reference */
	return kerr;
}

enum rn_kerr rn_topic_add_partitions_replicated(struct rn_broker *b, const char *name,
						int32_t count, const struct rn_assignment *assign,
						int32_t nassign, bool validate_only, char *msg,
						size_t msglen)
{
	if (b->clustered)
		return rn__topic_add_partitions_cluster(b, name, count, assign, nassign,
							validate_only, msg, msglen);
	return rn_topic_add_partitions(b, name, count, validate_only, msg, msglen);
}

enum rn_kerr rn_topic_add_partitions(struct rn_broker *b, const char *name, int32_t count,
				     bool validate_only, char *msg, size_t msglen)
{
	if (b->clustered)
		return rn__topic_add_partitions_cluster(b, name, count, NULL, 0, validate_only, msg,
							msglen);
	pthread_mutex_lock(&b->admin_lock);
	enum rn_kerr kerr = RN_KERR_NONE;
	struct rn_topic *t = rn_topic_get(b, name, strlen(name));
	if (!t) {
		snprintf(msg, msglen, "The topic '%s' does not exist.", name);
		kerr = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
		goto out;
	}
	if (count <= t->npart) {
		snprintf(msg, msglen,
			 "Topic currently has %d partitions, which is higher than the requested "
			 "%d.",
			 t->npart, count);
		if (count == t->npart)
			snprintf(msg, msglen, "Topic already has %d partitions.", t->npart);
		kerr = RN_KERR_INVALID_PARTITIONS;
		goto out_put;
	}
	if (count > 100000) {
		snprintf(msg, msglen, "Too many partitions.");
		kerr = RN_KERR_INVALID_PARTITIONS;
		goto out_put;
	}
	if (validate_only)
		goto out_put;
	int rc = rn_meta_topic_set_partitions(b->meta, name, count);
	if (rc < 0) {
		snprintf(msg, msglen, "cannot record partitions: %s", rn_strerror(rc));
		kerr = RN_KERR_KAFKA_STORAGE_ERROR;
		goto out_put;
	}
	/* Readers index parts[] without a lock, so grow by replacing the topic object. */
	struct rn_topic *nt = topic_new(b, name, t->id, count, t->configs, t->nconfigs);
	for (int32_t i = 0; i < t->npart; i++)
		nt->parts[i].log = t->parts[i].log;
	open_parts(b, nt, t->npart, count);
	pthread_rwlock_wrlock(&b->topics_lock);
	table_remove(b, t);
	table_insert(b, nt);
	pthread_rwlock_unlock(&b->topics_lock);
	/* The old object must not delete the shared partitions when it goes: it is not marked
	 * deleted, so its last put only frees memory. Wake its waiters so they re-resolve. */
	for (int32_t i = 0; i < t->npart; i++)
		rn_topic_notify(t, i);
	rn_topic_put(b, t); /* the table's */
	rn_info("topic %s now has %d partitions", name, count);
out_put:
	rn_topic_put(b, t);
out:
	pthread_mutex_unlock(&b->admin_lock);
	return kerr;
}

/* Guards every topic's configs/nconfigs/logcfg against a concurrent alter. */
static pthread_rwlock_t g_cfg_lock = PTHREAD_RWLOCK_INITIALIZER;

void rn_topics_cfg_lock(bool write)
{
	if (write)
		pthread_rwlock_wrlock(&g_cfg_lock);
	else
		pthread_rwlock_rdlock(&g_cfg_lock);
}

void rn_topics_cfg_unlock(void)
{
	pthread_rwlock_unlock(&g_cfg_lock);
}

void rn_topics_foreach(struct rn_broker *b, void (*cb)(struct rn_topic *t, void *arg), void *arg)
{
	pthread_rwlock_rdlock(&b->topics_lock);
	for (uint32_t i = 0; i < b->nbuckets; i++)
		for (struct rn_topic *t = b->buckets[i]; t; t = t->hnext)
			cb(t, arg);
	pthread_rwlock_unlock(&b->topics_lock);
}

void rn_topic_notify(struct rn_topic *t, int32_t idx)
{
	struct rn_topic_part *p = &t->parts[idx];
	pthread_mutex_lock(&p->wlock);
	for (struct rn_topic_waiter *w = p->waiters; w; w = w->next)
		w->wake(w);
	pthread_mutex_unlock(&p->wlock);
}

void rn_topic_wait(struct rn_topic *t, int32_t idx, struct rn_topic_waiter *w)
{
	struct rn_topic_part *p = &t->parts[idx];
	pthread_mutex_lock(&p->wlock);
	w->prev = NULL;
	w->next = p->waiters;
	if (p->waiters)
		p->waiters->prev = w;
	p->waiters = w;
	pthread_mutex_unlock(&p->wlock);
}

void rn_topic_unwait(struct rn_topic *t, int32_t idx, struct rn_topic_waiter *w)
{
	struct rn_topic_part *p = &t->parts[idx];
	pthread_mutex_lock(&p->wlock);
	if (w->prev)
		w->prev->next = w->next;
	else if (p->waiters == w)
		p->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	pthread_mutex_unlock(&p->wlock);
}
