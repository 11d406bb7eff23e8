/*
 * cluster.h on the etcd store: opening, partition states and their CAS, live brokers, the
 * controller, listeners. Sessions (registration, leases, controller acquire) are in
 * store_etcd_session.c.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "meta/store_etcd.h"
#include "meta/store_etcd_int.h"

int rn_meta_open_etcd(const char *uri, const char *dir, int32_t node_id, struct rn_meta **out)
{
	struct rn__es *es;
	*out = NULL;
	int rc = rn__es_open(uri, dir, node_id, &es);
	if (rc < 0)
		return rc;
	*out = rn__meta_wrap_es(es);
	return 0;
}

bool rn_meta_clustered(const struct rn_meta *m)
{
	return rn__meta_es(m) != NULL;
}

int rn_meta_topic_create_assigned(struct rn_meta *m, const char *name, int32_t partitions,
				  int32_t rf, const int32_t *assign, const struct rn_cfg_kv *cfg,
				  int ncfg, uint8_t id_out[16])
{
	struct rn__es *es = rn__meta_es(m);
	if (!es || !assign || rf <= 0) {
		memset(id_out, 0, 16);
		return es ? RN_EINVALID : RN_EUNSUPPORTED;
	}
	return rn__es_topic_create_assigned(es, name, partitions, rf, assign, cfg, ncfg, id_out);
}

int rn_meta_topic_add_partitions_assigned(struct rn_meta *m, const char *name, int32_t partitions,
					  int32_t rf, const int32_t *assign)
{
	struct rn__es *es = rn__meta_es(m);
	if (!es)
		return RN_EUNSUPPORTED;
	return rn__es_topic_add_partitions_assigned(es, name, partitions, rf, assign);
}

int rn_meta_partition_get(struct rn_meta *m, const char *topic, int32_t idx, struct rn_pstate *out)
{
	struct rn__es *es = rn__meta_es(m);
	if (!es)
		return RN_EUNSUPPORTED;
	pthread_rwlock_rdlock(&es->lock);
	struct es_part *p = rn__es_part_find(es, topic, idx);
	if (p)
		*out = p->st;
	pthread_rwlock_unlock(&es->lock);
	return p ? 0 : RN_ENOTFOUND;
}

/* The CAS compares the partition key's mod_revision that the cache saw next to the state whose
 * partition_epoch is expect: a state written by anyone since has another mod_revision. */
int rn_meta_partition_cas(struct rn_meta *m, const char *topic, int32_t idx, int32_t expect,
			  const struct rn_pstate *st)
{
	struct rn__es *es = rn__meta_es(m);
	if (!es)
		return RN_EUNSUPPORTED;
	pthread_rwlock_rdlock(&es->lock);
	struct es_part *p = rn__es_part_find(es, topic, idx);
	int64_t mod = p ? p->mod_rev : 0;
	int32_t have = p ? p->st.partition_epoch : -1;
	pthread_rwlock_unlock(&es->lock);
	if (!p)
		return RN_ENOTFOUND;
	if (have != expect)
		return RN_ESTALE;
	char rel[300];
	snprintf(rel, sizeof(rel), "partitions/%s/%d", topic, idx);
	char *key = rn__es_key(es, rel), *val = rn__es_pstate_json(st);
	json_t *cmp = json_pack("[o]", rn__etcd_cmp(key, "MOD", "EQUAL", mod));
	json_t *ok = json_pack("[o]", rn__etcd_put_op(key, val, 0));
	json_t *fail = json_pack("[o]", rn__etcd_get_op(key));
	rn_free(key);
	rn_free(val);
	bool won;
	json_t *resp;
	int rc = rn__etcd_txn(es->etcd, cmp, ok, fail, ES_WRITE_TIMEOUT_MS, &won, &resp);
	if (rc < 0)
		return RN_EUNAVAILABLE;
	/* Either way the cache catches up with etcd first (with our write, or with the state that
	 * won, as of its own revision), so a re-read after RN_ESTALE sees the winner. */
	int64_t rev = won ? rn__es_resp_rev(resp) : rn__es_fail_rev(resp);
	json_decref(resp);
	rn__es_wait_rev(es, rev);
	return won ? 0 : RN_ESTALE;
}

void rn_meta_partitions_foreach(struct rn_meta *m,
				void (*cb)(const char *topic, int32_t idx,
					   const struct rn_pstate *st, void *arg),
				void *arg)
{
	struct rn__es *es = rn__meta_es(m);
	if (!es)
		return;
	pthread_rwlock_rdlock(&es->lock);
	for (int i = 0; i < es->nptabs; i++)
		for (int32_t j = 0, n = rn__es_visible_parts(es, es->ptabs[i]); j < n; j++)
			if (es->ptabs[i]->p[j].present)
				cb(es->ptabs[i]->topic, j, &es->ptabs[i]->p[j].st, arg);
	pthread_rwlock_unlock(&es->lock);
}

int rn_meta_brokers(struct rn_meta *m, struct rn_broker_reg *out, int max)
{
	struct rn__es *es = rn__meta_es(m);
	if (!es)
		return 0;
	pthread_rwlock_rdlock(&es->lock);
	int n = es->nbrokers;
	for (int i = 0; i < n && i < max; i++)
		out[i] = es->brokers[i].reg;
	pthread_rwlock_unlock(&es->lock);
	return n;
}

bool rn_meta_broker_live(struct rn_meta *m, int32_t id)
{
	struct rn__es *es = rn__meta_es(m);
	if (!es)
		return false;
	pthread_rwlock_rdlock(&es->lock);
	bool live = false;
	for (int i = 0; i < es->nbrokers && !live; i++)
		live = es->brokers[i].reg.id == id;
	pthread_rwlock_unlock(&es->lock);
	return live;
}

int32_t rn_meta_controller(struct rn_meta *m, int32_t *epoch)
{
	struct rn__es *es = rn__meta_es(m);
	int32_t id = -1, ep = -1;
	if (es) {
		pthread_rwlock_rdlock(&es->lock);
		id = es->ctrl_id;
		ep = es->ctrl_epoch;
		pthread_rwlock_unlock(&es->lock);
	}
	if (epoch)
		*epoch = ep;
	return id;
}

static void replay_part(const char *topic, int32_t idx, const struct rn_pstate *st, void *arg)
{
	const struct rn_meta_listener *l = arg;
	l->partition(l->arg, topic, idx, st);
}

/* Replays the present to l. The cache may change meanwhile (the watch thread applies, then waits
 * for lmu to tell): a listener may then hear a change twice, never miss one. */
static void replay(struct rn__es *es, const struct rn_meta_listener *l)
{
	pthread_rwlock_rdlock(&es->lock);
	int n = es->ntopics;
	char **names = rn_calloc((size_t)n + 1, sizeof(*names));
	for (int i = 0; i < n; i++)
		names[i] = rn_strdup(es->topics[i]->t.name);
	int32_t cid = es->ctrl_id, cep = es->ctrl_epoch;
	pthread_rwlock_unlock(&es->lock);
	for (int i = 0; i < n; i++) {
		if (l->topic)
			l->topic(l->arg, names[i], false);
		rn_free(names[i]);
	}
	rn_free(names);
	if (l->partition) {
		/* Copied out first: the callback may read the store, never under our lock. */
		pthread_rwlock_rdlock(&es->lock);
		int np = 0;
		for (int i = 0; i < es->nptabs; i++)
			np += es->ptabs[i]->n;
		struct es_note *ps = rn_calloc((size_t)np + 1, sizeof(*ps));
		int k = 0;
		for (int i = 0; i < es->nptabs; i++)
			for (int32_t j = 0, vis = rn__es_visible_parts(es, es->ptabs[i]); j < vis;
			     j++)
				if (es->ptabs[i]->p[j].present)
					ps[k++] = (struct es_note){
					    .topic = rn_strdup(es->ptabs[i]->topic),
					    .idx = j,
					    .st = es->ptabs[i]->p[j].st};
		pthread_rwlock_unlock(&es->lock);
		for (int i = 0; i < k; i++) {
			replay_part(ps[i].topic, ps[i].idx, &ps[i].st, (void *)l);
			rn_free(ps[i].topic);
		}
		rn_free(ps);
	}
	if (l->brokers)
		l->brokers(l->arg);
	if (l->controller)
		l->controller(l->arg, cid, cep);
}

int rn_meta_add_listener(struct rn_meta *m, const struct rn_meta_listener *l)
{
	struct rn__es *es = rn__meta_es(m);
	if (!es)
		return RN_EUNSUPPORTED;
	pthread_mutex_lock(&es->lmu);
	replay(es, l);
	es->ls = rn_realloc(es->ls, (size_t)(es->nls + 1) * sizeof(*es->ls));
	es->ls[es->nls++] = *l;
	pthread_mutex_unlock(&es->lmu);
	return 0;
}
