/*
 * store.h on etcd: topics, their configs, dynamic broker configs and producer id blocks. Reads
 * come from the cache; each write is one txn comparing what it was based on, and returns once
 * the watch has brought the write into the cache (a writer reads its own write).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "meta/store_etcd.h"
#include "meta/store_etcd_int.h"

#define PID_BLOCK 1000
#define RMW_TRIES 8

static void part_key(char *out, size_t n, const char *topic, int32_t idx)
{
	snprintf(out, n, "partitions/%s/%d", topic, idx);
}

/* Puts into ops the states of partitions [from, to); assign holds rf replicas for each,
 * starting with partition from's. */
static void part_puts(struct rn__es *es, json_t *ops, const char *name, int32_t from, int32_t to,
		      int32_t rf, const int32_t *assign)
{
	for (int32_t p = from; p < to; p++) {
		const int32_t *a = assign + (size_t)(p - from) * (size_t)rf;
		struct rn_pstate st = {.leader = a[0], .nreplicas = rf, .nisr = rf};
		for (int32_t r = 0; r < rf; r++)
			st.replicas[r] = st.isr[r] = a[r];
		char rel[300];
		part_key(rel, sizeof(rel), name, p);
		char *key = rn__es_key(es, rel), *val = rn__es_pstate_json(&st);
		json_array_append_new(ops, rn__etcd_put_op(key, val, 0));
		rn_free(key);
		rn_free(val);
	}
}

/*
 * etcd refuses txns of more than --max-txn-ops operations (128 by default). Partition states
 * beyond what fits beside the topic record go first, TXN_OPS at a time, each txn guarded by the
 * same compare as the final one (cmp_key's target against v): states above the topic's
 * partition count are invisible (store_etcd_cache.c), so they show only when the final txn
 * writes the record. Writes [from, to); returns 0, RN_ESTALE (the compare failed) or an error.
 */
#define TXN_OPS 128
static int parts_ahead(struct rn__es *es, const char *cmp_key, const char *target, int64_t v,
		       const char *name, int32_t from, int32_t to, int32_t rf,
		       const int32_t *assign)
{
	for (int32_t p = from; p < to; p += TXN_OPS) {
		int32_t end = to - p > TXN_OPS ? p + TXN_OPS : to;
		json_t *cmp = json_pack("[o]", rn__etcd_cmp(cmp_key, target, "EQUAL", v));
		json_t *ops = json_array();
		part_puts(es, ops, name, p, end, rf, assign + (size_t)(p - from) * (size_t)rf);
		bool won;
		json_t *resp;
		int rc = rn__etcd_txn(es->etcd, cmp, ops, NULL, ES_WRITE_TIMEOUT_MS, &won, &resp);
		if (rc < 0)
			return rc;
		json_decref(resp);
		if (!won)
			return RN_ESTALE;
	}
	return 0;
}

static int txn_error(struct rn__es *es, int rc, const char *what, const char *name)
{
	if (rc == RN_EINVALID)
		rn_error("etcd store: etcd refused %s %s (more partitions than etcd's "
			 "--max-txn-ops allows?)",
			 what, name);
	else
		rn_warn("etcd store: %s %s under %s: %s", what, name, es->prefix, rn_strerror(rc));
	return rc;
}

int rn__es_topic_create_assigned(struct rn__es *es, const char *name, int32_t partitions,
				 int32_t rf, const int32_t *assign, const struct rn_cfg_kv *cfg,
				 int ncfg, uint8_t id_out[16])
{
	if (partitions < 0 || rf < 0 || rf > RN_MAX_REPLICAS || strchr(name, '/'))
		return RN_EINVALID;
	struct rn_meta_topic t = {.name = (char *)name,
				  .partitions = partitions,
				  .configs = (struct rn_cfg_kv *)cfg,
				  .nconfigs = ncfg};
	if (getrandom(t.id, 16, 0) != 16)
		return -EIO;
	t.id[6] = (uint8_t)((t.id[6] & 0x0f) | 0x40); /* a version 4 UUID, as Kafka makes */
	t.id[8] = (uint8_t)((t.id[8] & 0x3f) | 0x80);
	char rel[300];
	snprintf(rel, sizeof(rel), "topics/%s", name);
	char *key = rn__es_key(es, rel), *val = rn__es_topic_json(&t);
	/* The last TXN_OPS - 1 states go with the record; any before them go ahead of it. */
	int32_t tail = assign && rf > 0 ? partitions - (TXN_OPS - 1) : 0;
	tail = tail < 0 ? 0 : tail;
	int rc = tail ? parts_ahead(es, key, "VERSION", 0, name, 0, tail, rf, assign) : 0;
	if (rc < 0) {
		rn_free(key);
		rn_free(val);
		return rc == RN_ESTALE ? RN_EEXIST : txn_error(es, rc, "creating topic", name);
	}
	json_t *cmp = json_pack("[o]", rn__etcd_cmp(key, "VERSION", "EQUAL", 0));
	json_t *ok = json_pack("[o]", rn__etcd_put_op(key, val, 0));
	rn_free(key);
	rn_free(val);
	if (assign && rf > 0)
		part_puts(es, ok, name, tail, partitions, rf, assign + (size_t)tail * (size_t)rf);
	bool won;
	json_t *resp;
	rc = rn__etcd_txn(es->etcd, cmp, ok, NULL, ES_WRITE_TIMEOUT_MS, &won, &resp);
	if (rc < 0)
		return txn_error(es, rc, "creating topic", name);
	int64_t rev = rn__es_resp_rev(resp);
	json_decref(resp);
	if (!won)
		return RN_EEXIST;
	rn__es_wait_rev(es, rev);
	memcpy(id_out, t.id, 16);
	return 0;
}

int rn__es_topic_create(struct rn__es *es, const char *name, int32_t partitions,
			const struct rn_cfg_kv *cfg, int ncfg, uint8_t id_out[16])
{
	return rn__es_topic_create_assigned(es, name, partitions, 0, NULL, cfg, ncfg, id_out);
}

int rn__es_topic_delete(struct rn__es *es, const char *name)
{
	char rel[300];
	snprintf(rel, sizeof(rel), "topics/%s", name);
	char *key = rn__es_key(es, rel);
	snprintf(rel, sizeof(rel), "partitions/%s/", name);
	char *pkey = rn__es_key(es, rel), *pend = rn__etcd_prefix_end(pkey);
	json_t *cmp = json_pack("[o]", rn__etcd_cmp(key, "VERSION", "GREATER", 0));
	json_t *ok = json_pack("[oo]", rn__etcd_del_op(key, NULL), rn__etcd_del_op(pkey, pend));
	rn_free(key);
	rn_free(pkey);
	rn_free(pend);
	bool won;
	json_t *resp;
	int rc = rn__etcd_txn(es->etcd, cmp, ok, NULL, ES_WRITE_TIMEOUT_MS, &won, &resp);
	if (rc < 0)
		return txn_error(es, rc, "deleting topic", name);
	int64_t rev = rn__es_resp_rev(resp);
	json_decref(resp);
	if (!won)
		return RN_ENOTFOUND;
	rn__es_wait_rev(es, rev);
	return 0;
}

/* An edit of a topic record: changes t (read fresh from etcd), may add ops to the same txn.
 * Returns 0 or an error that ends the write. */
typedef int (*topic_edit_fn)(struct rn__es *es, struct rn_meta_topic *t, json_t *ops,
			     const char *key, int64_t mod, void *arg);

/* Read-modify-write of P/topics/<name>, retried while someone else changed it meanwhile. */
static int topic_rmw(struct rn__es *es, const char *name, topic_edit_fn edit, void *arg)
{
	char rel[300];
	snprintf(rel, sizeof(rel), "topics/%s", name);
	for (int attempt = 0; attempt < RMW_TRIES; attempt++) {
		char *val;
		size_t vlen;
		int64_t mod;
		int rc = rn__es_get(es, rel, &val, &vlen, &mod);
		if (rc == 0 && !val)
			return RN_ENOTFOUND;
		if (rc < 0)
			return rc;
		struct rn_meta_topic t = {0};
		rc = rn__es_topic_parse(val, vlen, &t) < 0 ? RN_ECORRUPT : 0;
		rn_free(val);
		t.name = rn_strdup(name);
		json_t *ops = json_array();
		char *key = rn__es_key(es, rel);
		if (rc == 0)
			rc = edit(es, &t, ops, key, mod, arg);
		if (rc < 0) {
			rn__es_topic_clear(&t);
			json_decref(ops);
			rn_free(key);
			if (rc == RN_ESTALE)
				continue; /* the record moved while states went ahead: again */
			return rc;
		}
		char *nv = rn__es_topic_json(&t);
		rn__es_topic_clear(&t);
		json_array_insert_new(ops, 0, rn__etcd_put_op(key, nv, 0));
		json_t *cmp = json_pack("[o]", rn__etcd_cmp(key, "MOD", "EQUAL", mod));
		rn_free(key);
		rn_free(nv);
		bool won;
		json_t *resp;
		rc = rn__etcd_txn(es->etcd, cmp, ops, NULL, ES_WRITE_TIMEOUT_MS, &won, &resp);
		if (rc < 0)
			return txn_error(es, rc, "updating topic", name);
		int64_t rev = rn__es_resp_rev(resp);
		json_decref(resp);
		if (won) {
			rn__es_wait_rev(es, rev);
			return 0;
		}
	}
	return RN_ESTALE;
}

struct add_parts {
	int32_t partitions, rf;
	const int32_t *assign;
	const char *name;
};

static int edit_partitions(struct rn__es *es, struct rn_meta_topic *t, json_t *ops, const char *key,
			   int64_t mod, void *arg)
{
	struct add_parts *a = arg;
	if (a->assign && a->partitions <= t->partitions)
		return RN_EINVALID;
	if (a->assign) {
		int32_t old = t->partitions, tail = a->partitions - (TXN_OPS - 1);
		tail = tail < old ? old : tail;
		int rc = parts_ahead(es, key, "MOD", mod, a->name, old, tail, a->rf, a->assign);
		if (rc < 0)
			return rc;
		part_puts(es, ops, a->name, tail, a->partitions, a->rf,
			  a->assign + (size_t)(tail - old) * (size_t)a->rf);
	}
	t->partitions = a->partitions;
	return 0;
}

int rn__es_topic_set_partitions(struct rn__es *es, const char *name, int32_t partitions)
{
	struct add_parts a = {partitions, 0, NULL, name};
	return topic_rmw(es, name, edit_partitions, &a);
}

int rn__es_topic_add_partitions_assigned(struct rn__es *es, const char *name, int32_t partitions,
					 int32_t rf, const int32_t *assign)
{
	if (rf <= 0 || rf > RN_MAX_REPLICAS)
		return RN_EINVALID;
	struct add_parts a = {partitions, rf, assign, name};
	return topic_rmw(es, name, edit_partitions, &a);
}

struct cfg_edit {
	const char *key, *val;
	const struct rn_cfg_kv *kv; /* replace: the whole set */
	int n;
	bool replace;
};

static int edit_configs(struct rn__es *es, struct rn_meta_topic *t, json_t *ops, const char *key,
			int64_t mod, void *arg)
{
	(void)es, (void)ops, (void)key, (void)mod;
	struct cfg_edit *c = arg;
	if (!c->replace) {
		rn_cfg_kv_set(&t->configs, &t->nconfigs, c->key, c->val);
		return 0;
	}
	while (t->nconfigs > 0)
		rn_cfg_kv_set(&t->configs, &t->nconfigs, t->configs[0].key, NULL);
	for (int i = 0; i < c->n; i++)
		rn_cfg_kv_set(&t->configs, &t->nconfigs, c->kv[i].key, c->kv[i].val);
	return 0;
}

int rn__es_topic_set_config(struct rn__es *es, const char *name, const char *key, const char *val)
{
	struct cfg_edit c = {.key = key, .val = val};
	return topic_rmw(es, name, edit_configs, &c);
}

int rn__es_topic_replace_configs(struct rn__es *es, const char *name, const struct rn_cfg_kv *kv,
				 int n)
{
	struct cfg_edit c = {.kv = kv, .n = n, .replace = true};
	return topic_rmw(es, name, edit_configs, &c);
}

int rn__es_broker_replace_configs(struct rn__es *es, bool per_broker, const struct rn_cfg_kv *kv,
				  int n)
{
	char rel[64];
	snprintf(rel, sizeof(rel), per_broker ? "configs/brokers/%d" : "configs/brokers/",
		 es->node_id);
	char *key = rn__es_key(es, rel), *val = rn__es_cfg_json(kv, n);
	json_t *ops =
	    json_pack("[o]", n ? rn__etcd_put_op(key, val, 0) : rn__etcd_del_op(key, NULL));
	rn_free(key);
	rn_free(val);
	bool won;
	json_t *resp;
	int rc = rn__etcd_txn(es->etcd, NULL, ops, NULL, ES_WRITE_TIMEOUT_MS, &won, &resp);
	if (rc < 0)
		return txn_error(es, rc, "writing broker configs",
				 per_broker ? "(node)" : "(default)");
	rn__es_wait_rev(es, rn__es_resp_rev(resp));
	json_decref(resp);
	return 0;
}

void rn__es_broker_configs(struct rn__es *es, bool per_broker,
			   void (*cb)(const char *key, const char *val, void *arg), void *arg)
{
	pthread_rwlock_rdlock(&es->lock);
	const struct rn_meta_topic *t = &es->bcfg[per_broker];
	for (int i = 0; i < t->nconfigs; i++)
		cb(t->configs[i].key, t->configs[i].val, arg);
	pthread_rwlock_unlock(&es->lock);
}

/* Takes the next block [start, start + PID_BLOCK) by CAS on P/producer_ids: a block is ours
 * only if nobody moved the counter since we read it, so ids never repeat across brokers. */
static int pid_block(struct rn__es *es)
{
	for (int attempt = 0; attempt < 4 * RMW_TRIES; attempt++) {
		char *val;
		size_t vlen;
		int64_t mod, start = 0;
		int rc = rn__es_get(es, "producer_ids", &val, &vlen, &mod);
		if (rc < 0)
			return rc;
		if (val && (rn__es_num_parse(val, vlen, &start) < 0 || start < 0)) {
			rn_error("etcd store: %sproducer_ids holds no number: %s", es->prefix, val);
			rn_free(val);
			return RN_ECORRUPT;
		}
		rn_free(val);
		char *key = rn__es_key(es, "producer_ids"),
		     *nv = rn__es_num_json(start + PID_BLOCK);
		json_t *cmp = json_pack("[o]", rn__etcd_cmp(key, "MOD", "EQUAL", mod));
		json_t *ok = json_pack("[o]", rn__etcd_put_op(key, nv, 0));
		rn_free(key);
		rn_free(nv);
		bool won;
		json_t *resp;
		rc = rn__etcd_txn(es->etcd, cmp, ok, NULL, ES_WRITE_TIMEOUT_MS, &won, &resp);
		if (rc < 0)
			return rc;
		json_decref(resp);
		if (won) {
			es->pid_next = start;
			es->pid_end = start + PID_BLOCK;
			return 0;
		}
	}
	return RN_ESTALE;
}

int rn__es_next_producer_id(struct rn__es *es, int64_t *out)
{
	pthread_mutex_lock(&es->pid_mu);
	int rc = es->pid_next < es->pid_end ? 0 : pid_block(es);
	if (rc == 0)
		*out = es->pid_next++;
	else if (rc != RN_ECORRUPT) /* that one was told already, with the bad value */
		rn_warn("etcd store: cannot take a producer id block: %s", rn_strerror(rc));
	pthread_mutex_unlock(&es->pid_mu);
	return rc;
}

const struct rn_meta_topic *rn__es_topic_get(struct rn__es *es, const char *name)
{
	pthread_rwlock_rdlock(&es->lock);
	struct es_topic *t = rn__es_topic_find(es, name);
	pthread_rwlock_unlock(&es->lock);
	return t ? &t->t : NULL;
}

void rn__es_topics_foreach(struct rn__es *es, void (*cb)(const struct rn_meta_topic *t, void *arg),
			   void *arg)
{
	pthread_rwlock_rdlock(&es->lock);
	for (int i = 0; i < es->ntopics; i++)
		cb(&es->topics[i]->t, arg);
	pthread_rwlock_unlock(&es->lock);
}
