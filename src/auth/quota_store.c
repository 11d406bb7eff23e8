/* Client quota records in the metadata store (quota_store.h). */
#include "auth/quota_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "meta/store.h"

#define DEFAULT_NAME "<default>"

static void enc(struct rn_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-') {
			rn_buf_append(b, s, 1);
		} else {
			char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
			rn_buf_append(b, e, 3);
		}
	}
}

static void part(struct rn_buf *b, const char *kind, enum rn_quota_part k, const char *name)
{
	if (b->len)
		rn_buf_append(b, "/", 1);
	rn_buf_append(b, kind, strlen(kind));
	rn_buf_append(b, "/", 1);
	if (k == RN_QP_DEFAULT)
		rn_buf_append(b, DEFAULT_NAME, strlen(DEFAULT_NAME));
	else
		enc(b, name);
}

char *rn_quota_store_key(const struct rn_quota_entity *e)
{
	if (e->user_kind == RN_QP_NONE && e->client_kind == RN_QP_NONE)
		return NULL;
	struct rn_buf b = {0};
	if (e->user_kind != RN_QP_NONE)
		part(&b, "users", e->user_kind, e->user);
	if (e->client_kind != RN_QP_NONE)
		part(&b, "clients", e->client_kind, e->client);
	rn_buf_append(&b, "", 1);
	return (char *)b.data;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes s[0..n) into a new string; NULL if a %XX is broken or decodes a NUL. */
static char *dec(const char *s, size_t n)
{
	char *out = rn_malloc(n + 1);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[j++] = s[i];
			continue;
		}
		if (i + 2 >= n) {
			rn_free(out);
			return NULL;
		}
		int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
		if (a < 0 || b < 0 || (a == 0 && b == 0)) {
			rn_free(out);
			return NULL;
		}
		out[j++] = (char)(a << 4 | b);
		i += 2;
	}
	out[j] = 0;
	return out;
}

/* One "kind/name" part at *p; advances *p past it and a following '/'. */
static int parse_part(const char **p, const char *kind, enum rn_quota_part *k, char **name)
{
	size_t kl = strlen(kind);
	if (strncmp(*p, kind, kl) != 0 || (*p)[kl] != '/')
		return RN_EINVALID;
	const char *s = *p + kl + 1, *end = strchr(s, '/');
	size_t n = end ? (size_t)(end - s) : strlen(s);
	if (n == 0)
		return RN_EINVALID;
	if (n == strlen(DEFAULT_NAME) && memcmp(s, DEFAULT_NAME, n) == 0) {
		*k = RN_QP_DEFAULT;
	} else {
		*name = dec(s, n);
		if (!*name)
			return RN_EINVALID;
		*k = RN_QP_NAME;
	}
	*p = end ? end + 1 : s + n;
	return 0;
}

int rn_quota_store_parse_key(const char *key, struct rn_quota_entity *e, char **user, char **client)
{
	memset(e, 0, sizeof(*e));
	*user = *client = NULL;
	const char *p = key;
	int rc = 0;
	if (strncmp(p, "users/", 6) == 0)
		rc = parse_part(&p, "users", &e->user_kind, user);
	if (rc == 0 && *p)
		rc = parse_part(&p, "clients", &e->client_kind, client);
	if (rc == 0 && (*p || (e->user_kind == RN_QP_NONE && e->client_kind == RN_QP_NONE)))
		rc = RN_EINVALID;
	if (rc < 0) {
		rn_free(*user);
		rn_free(*client);
		*user = *client = NULL;
		return rc;
	}
	e->user = *user;
	e->client = *client;
	return 0;
}

char *rn_quota_store_value(const bool has[RN_QUOTA_NTYPES], const double val[RN_QUOTA_NTYPES])
{
	struct rn_buf b = {0};
	for (int i = 0; i < RN_QUOTA_NTYPES; i++) {
		if (!has[i])
			continue;
		char one[96];
		int n = snprintf(one, sizeof(one), "%s%s=%.17g", b.len ? ";" : "",
				 rn_quota_key((enum rn_quota_type)i), val[i]);
		rn_buf_append(&b, one, (size_t)n);
	}
	rn_buf_append(&b, "", 1);
	return (char *)b.data;
}

int rn_quota_store_parse_value(const char *v, bool has[RN_QUOTA_NTYPES],
			       double val[RN_QUOTA_NTYPES])
{
	for (int i = 0; i < RN_QUOTA_NTYPES; i++) {
		has[i] = false;
		val[i] = 0;
	}
	const char *p = v;
	while (*p) {
		const char *eq = strchr(p, '='), *end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		if (!eq || eq > end)
			return RN_EINVALID;
		char num[64];
		size_t n = (size_t)(end - eq - 1);
		if (n == 0 || n >= sizeof(num))
			return RN_EINVALID;
		memcpy(num, eq + 1, n);
		num[n] = 0;
		char *stop;
		double d = strtod(num, &stop);
		if (*stop)
			return RN_EINVALID;
		int t = rn_quota_key_parse(p, (size_t)(eq - p));
		if (t >= 0) {
			has[t] = true;
			val[t] = d;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

static void load_one(const char *key, const char *val, void *arg)
{
	struct rn_quota_cfg *c = arg;
	struct rn_quota_entity e;
	char *u, *cl;
	bool has[RN_QUOTA_NTYPES];
	double v[RN_QUOTA_NTYPES];
	if (rn_quota_store_parse_key(key, &e, &u, &cl) < 0 ||
	    rn_quota_store_parse_value(val, has, v) < 0) {
		rn_free(u);
		rn_free(cl);
		rn_warn("quota record %s = %s does not parse; ignored", key, val);
		return;
	}
	for (int i = 0; i < RN_QUOTA_NTYPES; i++)
		if (has[i])
			rn_quota_cfg_set(c, &e, (enum rn_quota_type)i, v[i], false);
	rn_free(u);
	rn_free(cl);
}

struct rn_quota_cfg *rn_quota_store_load(struct rn_meta *m)
{
	struct rn_quota_cfg *c = rn_quota_cfg_new();
	rn_meta_sec_foreach(m, RN_QUOTA_NS, load_one, c);
	return c;
}

struct find_arg {
	const char *key;
	char *val;
};

static void find_one(const char *key, const char *val, void *arg)
{
	struct find_arg *f = arg;
	if (!f->val && strcmp(key, f->key) == 0)
		f->val = rn_strdup(val);
}

int rn_quota_store_alter(struct rn_meta *m, const struct rn_quota_entity *e,
			 const struct rn_quota_op *ops, int nops)
{
	char *key = rn_quota_store_key(e);
	if (!key)
		return RN_EINVALID;
	int rc = RN_ESTALE;
	for (int attempt = 0; attempt < 8 && rc == RN_ESTALE; attempt++) {
		struct find_arg f = {key, NULL};
		rn_meta_sec_foreach(m, RN_QUOTA_NS, find_one, &f);
		bool has[RN_QUOTA_NTYPES];
		double val[RN_QUOTA_NTYPES];
		if (!f.val || rn_quota_store_parse_value(f.val, has, val) < 0)
			rn_quota_store_parse_value("", has, val);
		for (int i = 0; i < nops; i++) {
			if ((unsigned)ops[i].type >= RN_QUOTA_NTYPES)
				continue;
			has[ops[i].type] = !ops[i].remove;
			val[ops[i].type] = ops[i].remove ? 0 : ops[i].value;
		}
		bool any = false;
		for (int i = 0; i < RN_QUOTA_NTYPES; i++)
			any |= has[i];
		char *nv = any ? rn_quota_store_value(has, val) : NULL;
		if (!f.val && !nv)
			rc = 0; /* removing from an entity that has nothing */
		else
			rc = rn_meta_sec_cas(m, RN_QUOTA_NS, key, f.val, nv);
		rn_free(nv);
		rn_free(f.val);
	}
	rn_free(key);
	return rc;
}
