/* The gateway's JSON shapes: base64 bytes, int64 strings, KV requests, txns and leases. */
#include "meta/etcd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

json_t *rn__etcd_b64(const void *p, size_t n)
{
	const uint8_t *s = p;
	char *out = rn_malloc(4 * ((n + 2) / 3) + 1), *o = out;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*o = '\0';
	json_t *j = json_string(out);
	rn_free(out);
	return j;
}

static int b64val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	return p ? (int)(p - b64) : -1;
}

char *rn__etcd_unb64(const json_t *j, size_t *len)
{
	const char *s = j ? json_string_value(j) : "";
	if (!s)
		return NULL;
	size_t n = strlen(s);
	while (n && s[n - 1] == '=')
		n--;
	char *out = rn_malloc(n * 3 / 4 + 1);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val(s[i]);
		if (v < 0) {
			rn_free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	out[o] = '\0';
	if (len)
		*len = o;
	return out;
}

int64_t rn__etcd_int(const json_t *obj, const char *field, int64_t def)
{
	json_t *v = json_object_get(obj, field);
	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (!json_is_string(v))
		return def;
	char *end;
	long long n = strtoll(json_string_value(v), &end, 10);
	return *end == '\0' && end != json_string_value(v) ? (int64_t)n : def;
}

json_t *rn__etcd_intstr(int64_t n)
{
	char b[24];
	snprintf(b, sizeof(b), "%lld", (long long)n);
	return json_string(b);
}

json_t *rn__etcd_range_req(const char *key, const char *range_end)
{
	json_t *r = json_object();
	json_object_set_new(r, "key", rn__etcd_b64(key, strlen(key)));
	if (range_end)
		json_object_set_new(r, "range_end", rn__etcd_b64(range_end, strlen(range_end)));
	return r;
}

char *rn__etcd_prefix_end(const char *prefix)
{
	char *e = rn_strdup(prefix);
	size_t n = strlen(e);
	/* Prefixes are printable ASCII here, so the last byte never overflows. */
	if (n)
		e[n - 1] = (char)(e[n - 1] + 1);
	return e;
}

json_t *rn__etcd_put_op(const char *key, const char *val, int64_t lease)
{
	json_t *p = json_object();
	json_object_set_new(p, "key", rn__etcd_b64(key, strlen(key)));
	json_object_set_new(p, "value", rn__etcd_b64(val, strlen(val)));
	if (lease)
		json_object_set_new(p, "lease", rn__etcd_intstr(lease));
	return json_pack("{s:o}", "request_put", p);
}

json_t *rn__etcd_del_op(const char *key, const char *range_end)
{
	return json_pack("{s:o}", "request_delete_range", rn__etcd_range_req(key, range_end));
}

json_t *rn__etcd_get_op(const char *key)
{
	return json_pack("{s:o}", "request_range", rn__etcd_range_req(key, NULL));
}

json_t *rn__etcd_cmp(const char *key, const char *target, const char *result, int64_t v)
{
	static const struct {
		const char *target, *field;
	} fields[] = {
	    {"VERSION", "version"}, {"CREATE", "create_revision"}, {"MOD", "mod_revision"}};
	const char *field = "version";
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].target, target) == 0)
			field = fields[i].field;
	json_t *c = json_object();
	json_object_set_new(c, "key", rn__etcd_b64(key, strlen(key)));
	json_object_set_new(c, "target", json_string(target));
	json_object_set_new(c, "result", json_string(result));
	json_object_set_new(c, field, rn__etcd_intstr(v));
	return c;
}

json_t *rn__etcd_cmp_value(const char *key, const char *result, const char *val)
{
	json_t *c = json_object();
	json_object_set_new(c, "key", rn__etcd_b64(key, strlen(key)));
	json_object_set_new(c, "target", json_string("VALUE"));
	json_object_set_new(c, "result", json_string(result));
	json_object_set_new(c, "value", rn__etcd_b64(val, strlen(val)));
	return c;
}

int rn__etcd_txn(struct rn__etcd *e, json_t *cmp, json_t *ok, json_t *fail, int timeout_ms,
		 bool *succeeded, json_t **resp)
{
	json_t *req = json_object();
	json_object_set_new(req, "compare", cmp ? cmp : json_array());
	json_object_set_new(req, "success", ok ? ok : json_array());
	json_object_set_new(req, "failure", fail ? fail : json_array());
	int rc = rn__etcd_call(e, "/v3/kv/txn", req, timeout_ms, resp);
	json_decref(req);
	if (rc == 0)
		*succeeded = json_is_true(json_object_get(*resp, "succeeded"));
	return rc;
}

int rn__etcd_lease_grant(struct rn__etcd *e, int64_t ttl_s, int timeout_ms, int64_t *id,
			 int64_t *granted_s)
{
	json_t *req = json_pack("{s:o}", "TTL", rn__etcd_intstr(ttl_s)), *resp;
	int rc = rn__etcd_call(e, "/v3/lease/grant", req, timeout_ms, &resp);
	json_decref(req);
	if (rc < 0)
		return rc;
	*id = rn__etcd_int(resp, "ID", 0);
	*granted_s = rn__etcd_int(resp, "TTL", 0);
	json_decref(resp);
	return *id && *granted_s > 0 ? 0 : RN_ECORRUPT;
}

int rn__etcd_lease_keepalive(struct rn__etcd *e, int64_t id, int timeout_ms, int64_t *ttl_s,
			     int64_t *rev)
{
	/* The gateway maps the keepalive stream onto one request and one {"result":...} answer. */
	json_t *req = json_pack("{s:o}", "ID", rn__etcd_intstr(id)), *resp;
	int rc = rn__etcd_call(e, "/v3/lease/keepalive", req, timeout_ms, &resp);
	json_decref(req);
	if (rc == RN_ENOTFOUND) {
		*ttl_s = 0;
		return 0;
	}
	if (rc < 0)
		return rc;
	json_t *res = json_object_get(resp, "result");
	if (!json_is_object(res)) {
		json_decref(resp);
		return RN_ECORRUPT;
	}
	*ttl_s = rn__etcd_int(res, "TTL", 0);
	if (rev)
		*rev = rn__etcd_int(json_object_get(res, "header"), "revision", 0);
	json_decref(resp);
	return 0;
}

int rn__etcd_lease_revoke(struct rn__etcd *e, int64_t id, int timeout_ms)
{
	json_t *req = json_pack("{s:o}", "ID", rn__etcd_intstr(id)), *resp;
	int rc = rn__etcd_call(e, "/v3/lease/revoke", req, timeout_ms, &resp);
	json_decref(req);
	if (rc == 0)
		json_decref(resp);
	return rc == RN_ENOTFOUND ? 0 : rc;
}
