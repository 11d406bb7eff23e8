/*
 * Dynamic listener TLS configs (see config_tls.h). Each TLS context gets exactly the stored
 * listener.name.<its listener>.ssl.* keys as its override set, so a DELETE (a key missing from
 * the set) falls back to the static value, as Kafka's config layers do.
 */
#include "broker/config_tls.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "broker/broker.h"
#include "broker/config.h"
#include "meta/store.h"
#include "core/alloc.h"
#include "core/log.h"
#include "net/tls.h"

#define PREFIX "listener.name."

/* The ssl.* part of listener.name.<l>.ssl.*, or NULL; *l and *llen get the listener. */
static const char *split(const char *key, const char **l, size_t *llen)
{
	size_t np = strlen(PREFIX);
	if (strncmp(key, PREFIX, np) != 0)
		return NULL;
	const char *name = key + np, *dot = strchr(name, '.');
	if (!dot || dot == name)
		return NULL;
	*l = name, *llen = (size_t)(dot - name);
	return dot + 1;
}

bool rn__cfg_tls_key(const char *key)
{
	const char *l;
	size_t n;
	const char *base = split(key, &l, &n);
	return base && rn_tls_key_reconfigurable(base);
}

bool rn__cfg_tls_unprefixed(const char *key)
{
	return rn_tls_key_reconfigurable(key);
}

struct apply {
	const struct rn_config *cfg;
	const struct rn_cfg_kv *kv;
	int n;
	bool validate_only;
	bool failed;
	char *msg;
	size_t msglen;
	const char *res;
};

/* listener.name.<l>.<key>, else <key>, is "true" (static configs; Kafka's default false). */
static bool allowed(const struct rn_config *cfg, const char *lname, const char *key)
{
	if (!cfg)
		return false;
	char k[256];
	int n = snprintf(k, sizeof(k), PREFIX "%s.%s", lname, key);
	for (int i = (int)strlen(PREFIX); i < n && k[i] != '.'; i++)
		k[i] = (char)tolower((unsigned char)k[i]);
	const char *v = rn_config_get(cfg, k);
	if (!v)
		v = rn_config_get(cfg, key);
	return v && strcasecmp(v, "true") == 0;
}

static void one(struct rn_tls_ctx *c, const char *what, void *arg)
{
	struct apply *a = arg;
	const char *want = "listener ";
	if (a->failed || strncmp(what, want, strlen(want)) != 0)
		return;
	const char *lname = what + strlen(want);
	const char **keys = rn_calloc((size_t)a->n + 1, sizeof(char *));
	const char **vals = rn_calloc((size_t)a->n + 1, sizeof(char *));
	int k = 0;
	for (int i = 0; i < a->n; i++) {
		const char *l;
		size_t ln;
		const char *base = split(a->kv[i].key, &l, &ln);
		/* Kafka writes listener names lower-case in keys; names are upper case here. */
		if (!base || !rn_tls_key_reconfigurable(base) || strlen(lname) != ln ||
		    strncasecmp(l, lname, ln) != 0)
			continue;
		keys[k] = base;
		vals[k++] = a->kv[i].val;
	}
	unsigned flags = (a->validate_only ? RN_TLS_VALIDATE_ONLY : 0) |
			 (allowed(a->cfg, lname, "ssl.allow.dn.changes") ? 0 : RN_TLS_KEEP_DN) |
			 (allowed(a->cfg, lname, "ssl.allow.san.changes") ? 0 : RN_TLS_KEEP_SAN);
	char err[512];
	if (rn_tls_ctx_set_overrides(c, keys, vals, k, flags, err, sizeof(err)) != 0) {
		if (a->validate_only) {
			snprintf(a->msg, a->msglen,
				 "Invalid config value for resource %s: Validation of dynamic "
				 "config update of SSLFactory failed: listener %s: %s",
				 a->res, lname, err);
			a->failed = true;
		} else {
			rn_warn("listener %s: dynamic ssl configs not installed: %s", lname, err);
		}
	}
	rn_free(keys);
	rn_free(vals);
}

enum rn_kerr rn__cfg_tls_apply(const struct rn_config *cfg, const struct rn_cfg_kv *kv, int n,
			       bool validate_only, const char *res, char *msg, size_t msglen)
{
	/* Every listener is validated before any is changed, so a request that fails on
	 * one listener changes none. */
	struct apply a = {cfg, kv, n, true, false, msg, msglen, res};
	rn_tls_ctx_foreach(one, &a);
	if (a.failed)
		return RN_KERR_INVALID_REQUEST;
	if (!validate_only) {
		a.validate_only = false;
		rn_tls_ctx_foreach(one, &a);
	}
	return RN_KERR_NONE;
}

struct kvs {
	struct rn_cfg_kv *kv;
	int n;
};

static void collect(const char *key, const char *val, void *arg)
{
	struct kvs *s = arg;
	if (rn__cfg_tls_key(key))
		rn_cfg_kv_set(&s->kv, &s->n, key, val);
}

void rn_broker_tls_dynamic_apply(struct rn_broker *b)
{
	rn_tls_watch_interval((long)rn_config_get_i64(b->cfg, "ssl.reload.check.interval.ms"));
	struct kvs s = {NULL, 0};
	rn_meta_broker_configs(b->meta, true, collect, &s);
	if (s.n > 0) {
		char msg[600];
		struct apply a = {b->cfg, s.kv, s.n, false, false, msg, sizeof(msg), ""};
		rn_tls_ctx_foreach(one, &a);
	}
	for (int i = 0; i < s.n; i++) {
		rn_free(s.kv[i].key);
		rn_free(s.kv[i].val);
	}
	rn_free(s.kv);
}
