/*
 * The etcd store (metadata.store=etcd://...): opening (endpoints, prefix, cluster id,
 * meta.properties), closing, and the key helpers the other store_etcd*.c files share. The
 * store.h calls land in store_etcd_topics.c, the cluster.h ones in store_etcd_cluster.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "meta/store_etcd_int.h"
#include "meta/store_etcd.h"

char *rn__es_key(const struct rn__es *es, const char *rel)
{
	size_t a = strlen(es->prefix), b = strlen(rel);
	char *k = rn_malloc(a + b + 1);
	memcpy(k, es->prefix, a);
	memcpy(k + a, rel, b + 1);
	return k;
}

int64_t rn__es_resp_rev(const json_t *resp)
{
	return rn__etcd_int(json_object_get(resp, "header"), "revision", 0);
}

int64_t rn__es_fail_rev(const json_t *resp)
{
	json_t *r = json_object_get(json_array_get(json_object_get(resp, "responses"), 0),
				    "response_range");
	return rn__etcd_int(json_array_get(json_object_get(r, "kvs"), 0), "mod_revision", 0);
}

int rn__es_get(struct rn__es *es, const char *rel, char **val, size_t *vlen, int64_t *mod_rev)
{
	char *key = rn__es_key(es, rel);
	json_t *req = rn__etcd_range_req(key, NULL), *resp;
	rn_free(key);
	int rc = rn__etcd_call(es->etcd, "/v3/kv/range", req, ES_WRITE_TIMEOUT_MS, &resp);
	json_decref(req);
	*val = NULL;
	*mod_rev = 0;
	if (rc < 0)
		return rc;
	json_t *kv = json_array_get(json_object_get(resp, "kvs"), 0);
	if (kv) {
		*val = rn__etcd_unb64(json_object_get(kv, "value"), vlen);
		*mod_rev = rn__etcd_int(kv, "mod_revision", 0);
		if (!*val)
			rc = RN_ECORRUPT;
	}
	json_decref(resp);
	return rc;
}

/* "etcd://h:p,h:p/prefix": the endpoints part and the prefix ("/runnel/" by default), which is
 * printable, starts with '/' and gets a trailing '/'. */
static int parse_uri(const char *uri, const char **eps, size_t *neps, char **prefix)
{
	if (strncmp(uri, "etcd://", 7) != 0)
		return -EINVAL;
	*eps = uri + 7;
	const char *slash = strchr(*eps, '/');
	*neps = slash ? (size_t)(slash - *eps) : strlen(*eps);
	const char *p = slash && slash[1] ? slash : "/runnel";
	for (const char *c = p; *c; c++)
		if (*c <= ' ' || *c >= 127)
			return -EINVAL;
	size_t n = strlen(p);
	*prefix = rn_malloc(n + 2);
	memcpy(*prefix, p, n);
	if (p[n - 1] != '/')
		(*prefix)[n++] = '/';
	(*prefix)[n] = '\0';
	return 0;
}

/* Kafka's cluster ids: 16 random bytes, URL-safe base64 without padding (22 characters). */
static int new_cluster_id(char out[32])
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EIO;
	for (int i = 0; i < 22; i++) {
		int bit = i * 6, byte = bit / 8, sh = bit % 8;
		unsigned v = (unsigned)rnd[byte] << 8 | (byte + 1 < 16 ? rnd[byte + 1] : 0);
		out[i] = b64[(v >> (10 - sh)) & 63];
	}
	out[22] = '\0';
	return 0;
}

/* P/cluster_id is made once, by whichever broker comes first (create_revision == 0); everyone
 * else reads it from the same txn's failure branch. */
static int cluster_id(struct rn__es *es)
{
	char mine[32];
	int rc = new_cluster_id(mine);
	if (rc < 0)
		return rc;
	char *key = rn__es_key(es, "cluster_id");
	json_t *v = json_string(mine);
	char *val = json_dumps(v, JSON_ENCODE_ANY);
	json_decref(v);
	json_t *cmp = json_pack("[o]", rn__etcd_cmp(key, "CREATE", "EQUAL", 0));
	json_t *ok = json_pack("[o]", rn__etcd_put_op(key, val, 0));
	json_t *fail = json_pack("[o]", rn__etcd_get_op(key));
	free(val);
	rn_free(key);
	bool won;
	json_t *resp;
	rc = rn__etcd_txn(es->etcd, cmp, ok, fail, ES_WRITE_TIMEOUT_MS * 2, &won, &resp);
	if (rc < 0)
		return rc;
	if (won) {
		snprintf(es->cluster_id, sizeof(es->cluster_id), "%s", mine);
		json_decref(resp);
		return 0;
	}
	json_t *r = json_object_get(json_array_get(json_object_get(resp, "responses"), 0),
				    "response_range");
	json_t *kv = json_array_get(json_object_get(r, "kvs"), 0);
	size_t n;
	char *s = rn__etcd_unb64(json_object_get(kv, "value"), &n);
	json_t *j = s ? json_loadb(s, n, JSON_DECODE_ANY, NULL) : NULL;
	rc = json_is_string(j) && strlen(json_string_value(j)) < sizeof(es->cluster_id) &&
		     strlen(json_string_value(j)) > 0
		 ? 0
		 : RN_ECORRUPT;
	if (rc == 0)
		snprintf(es->cluster_id, sizeof(es->cluster_id), "%s", json_string_value(j));
	else
		rn_error("etcd store: %scluster_id holds no cluster id: %s", es->prefix,
			 s ? s : "(undecodable)");
	json_decref(j);
	rn_free(s);
	json_decref(resp);
	return rc;
}

void rn__es_close(struct rn__es *es)
{
	if (!es)
		return;
	rn__es_session_stop(es);
	rn__es_watch_stop(es);
	rn__es_cache_free(es);
	rn__sec_free(&es->sec);
	rn__etcd_free(es->etcd);
	rn_free(es->ls);
	rn_free(es->prefix);
	rn_free(es->dir);
	pthread_rwlock_destroy(&es->lock);
	pthread_mutex_destroy(&es->rev_mu);
	pthread_cond_destroy(&es->rev_cond);
	pthread_mutex_destroy(&es->lmu);
	pthread_mutex_destroy(&es->pid_mu);
	pthread_mutex_destroy(&es->sess_mu);
	pthread_cond_destroy(&es->sess_cond);
	rn_free(es);
}

static struct rn__es *es_new(int32_t node_id, const char *dir)
{
	struct rn__es *es = rn_calloc(1, sizeof(*es));
	pthread_rwlock_init(&es->lock, NULL);
	pthread_mutex_init(&es->rev_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_cond_init(&es->rev_cond, NULL);
	pthread_mutex_init(&es->lmu, NULL);
	pthread_mutex_init(&es->pid_mu, NULL);
	pthread_mutex_init(&es->sess_mu, NULL);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&es->sess_cond, &ca);
	pthread_condattr_destroy(&ca);
	es->node_id = node_id;
	es->dir = rn_strdup(dir);
	es->ctrl_id = es->ctrl_epoch = -1;
	rn__sec_init(&es->sec);
	char id[16];
	snprintf(id, sizeof(id), "%d", node_id);
	es->bcfg[0].name = rn_strdup("");
	es->bcfg[1].name = rn_strdup(id);
	return es;
}

int rn__es_open(const char *uri, const char *dir, int32_t node_id, struct rn__es **out)
{
	const char *eps;
	size_t neps;
	char *prefix = NULL;
	*out = NULL;
	if (parse_uri(uri, &eps, &neps, &prefix) < 0) {
		rn_error("metadata.store=%s: want etcd://host:port[,host:port...][/prefix]", uri);
		return -EINVAL;
	}
	struct rn__es *es = es_new(node_id, dir);
	es->prefix = prefix;
	int rc = rn__etcd_new(eps, neps, &es->etcd);
	if (rc < 0)
		goto out_err;
	if ((rc = cluster_id(es)) < 0) {
		rn_error("etcd store: cannot read or create the cluster id at %s: %s", uri,
			 rn_strerror(rc));
		goto out_err;
	}
	if ((rc = rn__es_meta_properties(dir, node_id, es->cluster_id)) < 0)
		goto out_err;
	if ((rc = rn__es_load(es)) < 0) {
		rn_error("etcd store: cannot load %s: %s", es->prefix, rn_strerror(rc));
		goto out_err;
	}
	if (rn__es_watch_start(es) < 0) {
		rc = -EAGAIN;
		goto out_err;
	}
	rn_info("metadata in etcd %.*s under %s, cluster id %s", (int)neps, eps, es->prefix,
		es->cluster_id);
	*out = es;
	return 0;
out_err:
	rn__es_close(es);
	return rc;
}

const char *rn__es_cluster_id(const struct rn__es *es)
{
	return es->cluster_id;
}
