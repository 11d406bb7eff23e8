/* The etcd store's values (layout in meta/cluster.h) to and from JSON, with jansson. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "meta/store_etcd_int.h"

static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	char *out = rn_strdup(s);
	free(s);
	return out;
}

static json_t *load(const char *val, size_t vlen)
{
	return json_loadb(val, vlen, JSON_DECODE_ANY, NULL);
}

/* An int field that must be a JSON integer in [lo, hi]. */
static int get_i32(const json_t *o, const char *f, int32_t lo, int32_t hi, int32_t *out)
{
	json_t *v = json_object_get(o, f);
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return -1;
	*out = (int32_t)json_integer_value(v);
	return 0;
}

void rn__es_topic_clear(struct rn_meta_topic *t)
{
	rn_free(t->name);
	for (int i = 0; i < t->nconfigs; i++) {
		rn_free(t->configs[i].key);
		rn_free(t->configs[i].val);
	}
	rn_free(t->configs);
	memset(t, 0, sizeof(*t));
}

static json_t *cfg_obj(const struct rn_cfg_kv *kv, int n)
{
	json_t *o = json_object();
	for (int i = 0; i < n; i++)
		json_object_set_new(o, kv[i].key, json_string(kv[i].val));
	return o;
}

char *rn__es_cfg_json(const struct rn_cfg_kv *kv, int n)
{
	return dump(cfg_obj(kv, n));
}

static int cfg_from(const json_t *o, struct rn_meta_topic *t)
{
	if (!json_is_object(o))
		return -1;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		if (!json_is_string(v))
			return -1;
		rn_cfg_kv_set(&t->configs, &t->nconfigs, k, json_string_value(v));
	}
	return 0;
}

int rn__es_cfg_parse(const char *val, size_t vlen, struct rn_meta_topic *t)
{
	json_t *j = load(val, vlen);
	int rc = cfg_from(j, t);
	json_decref(j);
	return rc;
}

char *rn__es_topic_json(const struct rn_meta_topic *t)
{
	char id[33];
	for (int i = 0; i < 16; i++)
		snprintf(id + 2 * i, 3, "%02x", t->id[i]);
	return dump(json_pack("{s:s,s:i,s:o}", "id", id, "partitions", (int)t->partitions,
			      "configs", cfg_obj(t->configs, t->nconfigs)));
}

int rn__es_topic_parse(const char *val, size_t vlen, struct rn_meta_topic *t)
{
	json_t *j = load(val, vlen);
	json_t *id = json_object_get(j, "id"), *cfg = json_object_get(j, "configs");
	int rc = json_is_string(id) && strlen(json_string_value(id)) == 32 &&
			 get_i32(j, "partitions", 0, 1 << 20, &t->partitions) == 0
		     ? 0
		     : -1;
	for (int i = 0; rc == 0 && i < 16; i++) {
		unsigned v;
		if (sscanf(json_string_value(id) + 2 * i, "%2x", &v) != 1)
			rc = -1;
		t->id[i] = (uint8_t)v;
	}
	if (rc == 0 && cfg)
		rc = cfg_from(cfg, t);
	json_decref(j);
	return rc;
}

static json_t *ids(const int32_t *a, int32_t n)
{
	json_t *arr = json_array();
	for (int32_t i = 0; i < n; i++)
		json_array_append_new(arr, json_integer(a[i]));
	return arr;
}

static int ids_from(const json_t *o, const char *f, int32_t *a, int32_t *n)
{
	json_t *arr = json_object_get(o, f);
	*n = 0;
	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > RN_MAX_REPLICAS)
		return -1;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > INT32_MAX)
			return -1;
		a[(*n)++] = (int32_t)json_integer_value(v);
	}
	return 0;
}

char *rn__es_pstate_json(const struct rn_pstate *st)
{
	return dump(json_pack(
	    "{s:i,s:i,s:i,s:o,s:o,s:o,s:o}", "leader", (int)st->leader, "leader_epoch",
	    (int)st->leader_epoch, "partition_epoch", (int)st->partition_epoch, "replicas",
	    ids(st->replicas, st->nreplicas), "isr", ids(st->isr, st->nisr), "adding",
	    ids(st->adding, st->nadding), "removing", ids(st->removing, st->nremoving)));
}

int rn__es_pstate_parse(const char *val, size_t vlen, struct rn_pstate *st)
{
	json_t *j = load(val, vlen);
	memset(st, 0, sizeof(*st));
	int rc = json_is_object(j) && get_i32(j, "leader", -1, INT32_MAX, &st->leader) == 0 &&
			 get_i32(j, "leader_epoch", 0, INT32_MAX, &st->leader_epoch) == 0 &&
			 get_i32(j, "partition_epoch", 0, INT32_MAX, &st->partition_epoch) == 0 &&
			 ids_from(j, "replicas", st->replicas, &st->nreplicas) == 0 &&
			 ids_from(j, "isr", st->isr, &st->nisr) == 0 &&
			 ids_from(j, "adding", st->adding, &st->nadding) == 0 &&
			 ids_from(j, "removing", st->removing, &st->nremoving) == 0
		     ? 0
		     : -1;
	json_decref(j);
	return rc;
}

char *rn__es_broker_json(const struct rn_broker_reg *b)
{
	return dump(json_pack("{s:i,s:s,s:i,s:s}", "id", (int)b->id, "host", b->host, "port",
			      (int)b->port, "rack", b->rack));
}

int rn__es_broker_parse(const char *val, size_t vlen, struct rn_broker_reg *b)
{
	json_t *j = load(val, vlen);
	json_t *host = json_object_get(j, "host"), *rack = json_object_get(j, "rack");
	memset(b, 0, sizeof(*b));
	int rc = get_i32(j, "id", 0, INT32_MAX, &b->id) == 0 &&
			 get_i32(j, "port", 0, 65535, &b->port) == 0 && json_is_string(host) &&
			 strlen(json_string_value(host)) < sizeof(b->host) &&
			 (!rack || (json_is_string(rack) &&
				    strlen(json_string_value(rack)) < sizeof(b->rack)))
		     ? 0
		     : -1;
	if (rc == 0) {
		snprintf(b->host, sizeof(b->host), "%s", json_string_value(host));
		snprintf(b->rack, sizeof(b->rack), "%s", rack ? json_string_value(rack) : "");
	}
	json_decref(j);
	return rc;
}

char *rn__es_controller_json(int32_t id, int32_t epoch)
{
	return dump(json_pack("{s:i,s:i}", "id", (int)id, "epoch", (int)epoch));
}

int rn__es_controller_parse(const char *val, size_t vlen, int32_t *id, int32_t *epoch)
{
	json_t *j = load(val, vlen);
	int rc =
	    get_i32(j, "id", 0, INT32_MAX, id) == 0 && get_i32(j, "epoch", 0, INT32_MAX, epoch) == 0
		? 0
		: -1;
	json_decref(j);
	return rc;
}

char *rn__es_num_json(int64_t n)
{
	char b[32];
	snprintf(b, sizeof(b), "\"%lld\"", (long long)n);
	return rn_strdup(b);
}

int rn__es_num_parse(const char *val, size_t vlen, int64_t *out)
{
	json_t *j = load(val, vlen);
	int rc = -1;
	if (json_is_integer(j)) {
		*out = (int64_t)json_integer_value(j);
		rc = 0;
	} else if (json_is_string(j)) {
		char *end;
		long long v = strtoll(json_string_value(j), &end, 10);
		if (*end == '\0' && end != json_string_value(j)) {
			*out = v;
			rc = 0;
		}
	}
	json_decref(j);
	return rc;
}
