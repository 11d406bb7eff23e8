#include "broker/config_alter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/config_tls.h"
#include "broker/topic_config.h"
#include "broker/topics.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "storage/partition.h"

/* A working override set: owned copies of keys and values. */
struct kvset {
	struct rn_cfg_kv *kv;
	int n;
};

static void kvset_free(struct kvset *s)
{
	for (int i = 0; i < s->n; i++) {
		rn_free(s->kv[i].key);
		rn_free(s->kv[i].val);
	}
	rn_free(s->kv);
	s->kv = NULL;
	s->n = 0;
}

static int kvset_find(const struct kvset *s, const char *key)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->kv[i].key, key) == 0)
			return i;
	return -1;
}

/* val NULL removes key. */
static void kvset_put(struct kvset *s, const char *key, const char *val)
{
	rn_cfg_kv_set(&s->kv, &s->n, key, val);
}

static void kvset_copy(struct kvset *s, const struct rn_cfg_kv *kv, int n)
{
	for (int i = 0; i < n; i++)
		kvset_put(s, kv[i].key, kv[i].val);
}

/* True when the comma-separated list[0..llen) holds item[0..len) (spaces around items
 * ignored). */
static bool has_item(const char *list, size_t llen, const char *item, size_t len)
{
	const char *p = list, *end = list + llen;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == ','))
			p++;
		const char *q = p;
		while (q < end && *q != ',')
			q++;
		size_t n = (size_t)(q - p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n == len && n > 0 && strncmp(p, item, n) == 0)
			return true;
		p = q;
	}
	return false;
}

/* APPEND (items of arg not in cur are added) or SUBTRACT (items of arg are removed) on a
 * comma-separated list, as Kafka's IncrementalAlterConfigs. Returns an rn_malloc'ed list. */
static char *list_op(const char *cur, const char *arg, bool append)
{
	struct rn_buf out = {0};
	const char *src = cur;
	for (int pass = 0; pass < 2; pass++) {
		for (const char *p = src; *p;) {
			while (*p == ' ' || *p == ',')
				p++;
			size_t n = strcspn(p, ",");
			size_t m = n;
			while (m > 0 && p[m - 1] == ' ')
				m--;
			bool keep = m > 0;
			if (pass == 0 && !append && has_item(arg, strlen(arg), p, m))
				keep = false;
			if (pass == 1 && has_item(cur, strlen(cur), p, m))
				keep = false;
			if (keep && !(out.len && has_item((const char *)out.data, out.len, p, m))) {
				if (out.len)
					rn_buf_append(&out, ",", 1);
				rn_buf_append(&out, p, m);
			}
			p += n;
		}
		if (!append)
			break;
		src = arg;
	}
	char *s = rn_strndup(out.len ? (char *)out.data : "", out.len);
	rn_buf_free(&out);
	return s;
}

static bool duplicate_keys(const struct rn_cfg_change *ch, int n, char *msg, size_t msglen)
{
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(ch[i].key, ch[j].key) == 0) {
				snprintf(msg, msglen, "Error due to duplicate config keys");
				return true;
			}
	return false;
}

/* Applies one change to the working set of a topic; Kafka's errors. */
static enum rn_kerr topic_change(struct kvset *s, const struct rn_cfg_change *c, char *msg,
				 size_t msglen)
{
	const struct rn_topic_cfg_def *d = rn_topic_cfg_find(c->key);
	if (!d) {
		snprintf(msg, msglen, "Unknown topic config name: %s", c->key);
		return RN_KERR_INVALID_CONFIG;
	}
	char *owned = NULL;
	const char *val = c->val;
	switch (c->op) {
	case RN_CFG_OP_DELETE: kvset_put(s, c->key, NULL); return RN_KERR_NONE;
	case RN_CFG_OP_SET: break;
	case RN_CFG_OP_APPEND:
	case RN_CFG_OP_SUBTRACT: {
		if (d->type != RN_CFG_LIST) {
			snprintf(msg, msglen, "Can't %s to key %s because its type is not LIST.",
				 c->op == RN_CFG_OP_APPEND ? "APPEND" : "SUBTRACT", c->key);
			return RN_KERR_INVALID_CONFIG;
		}
		int i = kvset_find(s, c->key);
		owned = list_op(i >= 0 ? s->kv[i].val : d->def, c->val ? c->val : "",
				c->op == RN_CFG_OP_APPEND);
		val = owned;
		break;
	}
	default:
		snprintf(msg, msglen, "Unknown config operation %d for %s", c->op, c->key);
		return RN_KERR_INVALID_REQUEST;
	}
	enum rn_kerr kerr = RN_KERR_NONE;
	if (rn_topic_cfg_validate(c->key, val, msg, msglen) < 0)
		kerr = val ? RN_KERR_INVALID_CONFIG : RN_KERR_INVALID_REQUEST;
	else
		kvset_put(s, c->key, val);
	rn_free(owned);
	return kerr;
}

/* Installs a topic's new override set and pushes the resolved settings to its partitions. */
static void topic_install(struct rn_broker *b, struct rn_topic *t, struct kvset *s)
{
	rn_topics_cfg_lock(true);
	struct kvset old = {t->configs, t->nconfigs};
	t->configs = s->kv;
	t->nconfigs = s->n;
	s->kv = NULL;
	s->n = 0;
	rn_topic_cfg_resolve(b->cfg, t->configs, t->nconfigs, &t->logcfg);
	atomic_store(&t->compression, t->logcfg.compression);
	struct rn_log_config lc = t->logcfg;
	rn_topics_cfg_unlock();
	kvset_free(&old);
	for (int32_t i = 0; i < t->npart; i++)
		if (t->parts[i].log)
			rn_partition_set_config(t->parts[i].log, &lc);
}

enum rn_kerr rn_topic_alter_configs(struct rn_broker *b, const char *name,
				    const struct rn_cfg_change *ch, int n, bool replace,
				    bool validate_only, char *msg, size_t msglen)
{
	if (duplicate_keys(ch, n, msg, msglen))
		return RN_KERR_INVALID_REQUEST;
	pthread_mutex_lock(&b->admin_lock);
	enum rn_kerr kerr = RN_KERR_NONE;
	struct kvset s = {0};
	struct rn_topic *t = rn_topic_get(b, name, strlen(name));
	if (!t) {
		snprintf(msg, msglen, "The topic '%s' does not exist.", name);
		kerr = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
		goto out;
	}
	if (!replace)
		kvset_copy(&s, t->configs, t->nconfigs);
	for (int i = 0; i < n && kerr == RN_KERR_NONE; i++) {
		struct rn_cfg_change c = ch[i];
		if (replace && !c.val)
			continue; /* AlterConfigs: a null value leaves the key unset */
		kerr = topic_change(&s, &c, msg, msglen);
	}
	if (kerr == RN_KERR_NONE && rn_topic_cfg_validate_set(b->cfg, s.kv, s.n, msg, msglen) < 0)
		kerr = RN_KERR_INVALID_CONFIG;
	if (kerr != RN_KERR_NONE || validate_only)
		goto out_put;
	int rc = rn_meta_topic_replace_configs(b->meta, name, s.kv, s.n);
	if (rc < 0) {
		snprintf(msg, msglen, "cannot record the configs: %s", rn_strerror(rc));
		/* A cluster's store out of reach is worth retrying, as a controller timeout. */
		kerr =
		    rc == RN_EUNAVAILABLE ? RN_KERR_REQUEST_TIMED_OUT : RN_KERR_KAFKA_STORAGE_ERROR;
		goto out_put;
	}
	topic_install(b, t, &s);
	rn_info("topic %s: configs altered (%d change(s))", name, n);
out_put:
	rn_topic_put(b, t);
out:
	kvset_free(&s);
	pthread_mutex_unlock(&b->admin_lock);
	return kerr;
}

static void collect_kv(const char *key, const char *val, void *arg)
{
	kvset_put(arg, key, val);
}

static void resource_name(char *res, size_t len, int32_t node_id, bool per_broker)
{
	snprintf(res, len, "ConfigResource(type=BROKER, name='%.0d')", per_broker ? node_id : 0);
	if (per_broker && node_id == 0)
		snprintf(res, len, "ConfigResource(type=BROKER, name='0')");
}

/* listener.name.<l>.ssl.keystore.* and friends: per broker only, plain strings (Kafka's
 * DynamicBrokerConfig.validateConfigs). The TLS material itself is checked once the whole
 * set is known (rn__cfg_tls_apply). */
static enum rn_kerr tls_change(struct kvset *s, const struct rn_cfg_change *c, bool per_broker,
			       const char *res, char *msg, size_t msglen)
{
	if (!per_broker) {
		snprintf(msg, msglen,
			 "Invalid config value for resource %s: Cannot update these configs at "
			 "default cluster level, broker id must be specified: Set(%s)",
			 res, c->key);
		return RN_KERR_INVALID_REQUEST;
	}
	if (c->op == RN_CFG_OP_DELETE) {
		kvset_put(s, c->key, NULL);
		return RN_KERR_NONE;
	}
	if (c->op == RN_CFG_OP_APPEND || c->op == RN_CFG_OP_SUBTRACT) {
		snprintf(msg, msglen, "Can't %s to key %s because its type is not LIST.",
			 c->op == RN_CFG_OP_APPEND ? "APPEND" : "SUBTRACT", c->key);
		return RN_KERR_INVALID_CONFIG;
	}
	if (c->op != RN_CFG_OP_SET || !c->val) {
		snprintf(msg, msglen, "Null value not supported for : %s", c->key);
		return RN_KERR_INVALID_REQUEST;
	}
	kvset_put(s, c->key, c->val);
	return RN_KERR_NONE;
}

static enum rn_kerr broker_change(struct kvset *s, const struct rn_cfg_change *c, int32_t node_id,
				  bool per_broker, char *msg, size_t msglen)
{
	char why[300], res[64];
	resource_name(res, sizeof(res), node_id, per_broker);
	if (rn__cfg_tls_key(c->key))
		return tls_change(s, c, per_broker, res, msg, msglen);
	if (rn__cfg_tls_unprefixed(c->key)) {
		snprintf(msg, msglen,
			 "Invalid config value for resource %s: These security configs can be "
			 "dynamically updated only per-listener using the listener prefix: Set(%s)",
			 res, c->key);
		return RN_KERR_INVALID_REQUEST;
	}
	const struct rn_cfg_def *d = rn_config_def(c->key);
	if (!d || !rn_config_is_dynamic(c->key)) {
		snprintf(msg, msglen,
			 "Invalid config value for resource %s: Cannot update these configs "
			 "dynamically: Set(%s)",
			 res, c->key);
		return RN_KERR_INVALID_REQUEST;
	}
	char *owned = NULL;
	const char *val = c->val;
	if (c->op == RN_CFG_OP_DELETE) {
		kvset_put(s, c->key, NULL);
		return RN_KERR_NONE;
	}
	if (c->op == RN_CFG_OP_APPEND || c->op == RN_CFG_OP_SUBTRACT) {
		if (d->type != RN_CFG_LIST) {
			snprintf(msg, msglen, "Can't %s to key %s because its type is not LIST.",
				 c->op == RN_CFG_OP_APPEND ? "APPEND" : "SUBTRACT", c->key);
			return RN_KERR_INVALID_CONFIG;
		}
		int i = kvset_find(s, c->key);
		owned = list_op(i >= 0 ? s->kv[i].val : (d->def ? d->def : ""),
				c->val ? c->val : "", c->op == RN_CFG_OP_APPEND);
		val = owned;
	} else if (c->op != RN_CFG_OP_SET) {
		snprintf(msg, msglen, "Unknown config operation %d for %s", c->op, c->key);
		return RN_KERR_INVALID_REQUEST;
	}
	enum rn_kerr kerr = RN_KERR_NONE;
	if (!val) {
		snprintf(msg, msglen, "Null value not supported for : %s", c->key);
		kerr = RN_KERR_INVALID_REQUEST;
	} else if (rn_config_validate(c->key, val, why, sizeof(why)) < 0) {
		snprintf(msg, msglen, "Invalid config value for resource %s: %s", res, why);
		kerr = RN_KERR_INVALID_REQUEST;
	} else {
		kvset_put(s, c->key, val);
	}
	rn_free(owned);
	return kerr;
}

static void reresolve(struct rn_topic *t, void *arg)
{
	struct rn_broker *b = arg;
	rn_topics_cfg_lock(true);
	rn_topic_cfg_resolve(b->cfg, t->configs, t->nconfigs, &t->logcfg);
	atomic_store(&t->compression, t->logcfg.compression);
	struct rn_log_config lc = t->logcfg;
	rn_topics_cfg_unlock();
	for (int32_t i = 0; i < t->npart; i++)
		if (t->parts[i].log)
			rn_partition_set_config(t->parts[i].log, &lc);
}

/* Makes the layer hold exactly s, then re-resolves every topic (those that override a key keep
 * their value, the others follow the new default). */
static void broker_install(struct rn_broker *b, enum rn_cfg_layer layer, const struct kvset *s)
{
	size_t nd;
	const struct rn_cfg_def *defs = rn_config_defs(&nd);
	char err[256];
	for (size_t i = 0; i < nd; i++) {
		const char *k = defs[i].name;
		int j = kvset_find(s, k);
		const char *nv = j >= 0 ? s->kv[j].val : NULL;
		const char *ov = rn_config_layer_get(b->cfg, layer, k);
		if ((!nv && !ov) || (nv && ov && strcmp(nv, ov) == 0))
			continue;
		if (rn_config_set_dynamic(b->cfg, layer, k, nv, err, sizeof(err)) < 0)
			rn_warn("dynamic config %s: %s", k, err);
	}
	b->message_max_bytes = (int32_t)rn_config_get_i64(b->cfg, "message.max.bytes");
	rn_topics_foreach(b, reresolve, b);
}

enum rn_kerr rn_broker_alter_configs(struct rn_broker *b, bool per_broker,
				     const struct rn_cfg_change *ch, int n, bool replace,
				     bool validate_only, char *msg, size_t msglen)
{
	if (duplicate_keys(ch, n, msg, msglen))
		return RN_KERR_INVALID_REQUEST;
	pthread_mutex_lock(&b->admin_lock);
	struct kvset s = {0};
	if (!replace)
		rn_meta_broker_configs(b->meta, per_broker, collect_kv, &s);
	enum rn_kerr kerr = RN_KERR_NONE;
	for (int i = 0; i < n && kerr == RN_KERR_NONE; i++) {
		if (replace && !ch[i].val)
			continue;
		kerr = broker_change(&s, &ch[i], b->node_id, per_broker, msg, msglen);
	}
	char res[64];
	resource_name(res, sizeof(res), b->node_id, per_broker);
	if (kerr == RN_KERR_NONE && per_broker)
		kerr = rn__cfg_tls_apply(b->cfg, s.kv, s.n, true, res, msg, msglen);
	if (kerr != RN_KERR_NONE || validate_only)
		goto out;
	int rc = rn_meta_broker_replace_configs(b->meta, per_broker, s.kv, s.n);
	if (rc < 0) {
		snprintf(msg, msglen, "cannot record the configs: %s", rn_strerror(rc));
		/* A cluster's store out of reach is worth retrying, as a controller timeout. */
		kerr =
		    rc == RN_EUNAVAILABLE ? RN_KERR_REQUEST_TIMED_OUT : RN_KERR_KAFKA_STORAGE_ERROR;
		goto out;
	}
	broker_install(b, per_broker ? RN_CFG_DYN_BROKER : RN_CFG_DYN_DEFAULT, &s);
	if (per_broker)
		rn__cfg_tls_apply(b->cfg, s.kv, s.n, false, res, msg, msglen);
	rn_info("broker configs (%s) altered (%d change(s))",
		per_broker ? "this broker" : "cluster default", n);
out:
	kvset_free(&s);
	pthread_mutex_unlock(&b->admin_lock);
	return kerr;
}

struct load_arg {
	struct rn_broker *b;
	enum rn_cfg_layer layer;
};

static void load_one(const char *key, const char *val, void *arg)
{
	struct load_arg *la = arg;
	char err[256];
	if (rn__cfg_tls_key(key))
		return; /* rn_broker_tls_dynamic_apply, once the listeners exist */
	if (rn_config_set_dynamic(la->b->cfg, la->layer, key, val, err, sizeof(err)) < 0)
		rn_warn("stored dynamic broker config ignored: %s", err);
}

void rn_broker_configs_load(struct rn_broker *b)
{
	struct load_arg la = {b, RN_CFG_DYN_DEFAULT};
	rn_meta_broker_configs(b->meta, false, load_one, &la);
	la.layer = RN_CFG_DYN_BROKER;
	rn_meta_broker_configs(b->meta, true, load_one, &la);
	/* serve opens the listeners (and their TLS contexts) before this. */
	rn_broker_tls_dynamic_apply(b);
	b->message_max_bytes = (int32_t)rn_config_get_i64(b->cfg, "message.max.bytes");
}

static void reload_layer(struct rn_broker *b, bool per_broker)
{
	struct kvset s = {0};
	rn_meta_broker_configs(b->meta, per_broker, collect_kv, &s);
	broker_install(b, per_broker ? RN_CFG_DYN_BROKER : RN_CFG_DYN_DEFAULT, &s);
	if (per_broker) {
		char msg[600];
		rn__cfg_tls_apply(b->cfg, s.kv, s.n, false, "", msg, sizeof(msg));
	}
	kvset_free(&s);
}

void rn_broker_configs_reload(struct rn_broker *b)
{
	pthread_mutex_lock(&b->admin_lock);
	reload_layer(b, false);
	reload_layer(b, true);
	pthread_mutex_unlock(&b->admin_lock);
	rn_info("dynamic broker configs reloaded from the metadata store");
}

void rn_topic_configs_reload(struct rn_broker *b, struct rn_topic *t, const struct rn_cfg_kv *kv,
			     int n)
{
	struct kvset s = {0};
	kvset_copy(&s, kv, n);
	topic_install(b, t, &s);
	kvset_free(&s);
	rn_info("topic %s: configs reloaded from the metadata store", t->name);
}
