/*
 * ACL bindings as security records (acl.h, "Security records of the metadata store"). One
 * record per binding, its key its own encoding, so creating an existing binding is an
 * idempotent put and deleting one needs no lookup. Strings are percent-encoded so that names
 * with commas, slashes or newlines survive both stores (etcd keys, the embedded file's lines).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/acl_int.h"
#include "core/alloc.h"
#include "core/log.h"
#include "meta/store.h"

static bool plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("._-:*@=", c) != NULL;
}

static char *put_enc(char *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (plain(*p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	return o;
}

char *rn_acl_encode(const struct rn_acl *a)
{
	size_t cap = 64 + 3 * (strlen(a->name) + strlen(a->principal) + strlen(a->host));
	char *buf = rn_malloc(cap), *o = buf;
	o += snprintf(o, cap, "v1,%d,%d,%d,%d,", (int)a->type, (int)a->pattern, (int)a->op,
		      (int)a->perm);
	o = put_enc(o, a->principal);
	*o++ = ',';
	o = put_enc(o, a->host);
	*o++ = ',';
	o = put_enc(o, a->name);
	*o = 0;
	return buf;
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

/* Decodes one field of text up to ',' or the end into o; returns where it stopped. */
static const char *get_dec(const char *p, char **o)
{
	while (*p && *p != ',') {
		if (*p == '%') {
			int h = hexval(p[1]), l = h < 0 ? -1 : hexval(p[2]);
			if (h < 0 || l < 0)
				return NULL;
			*(*o)++ = (char)(h << 4 | l);
			p += 3;
		} else {
			*(*o)++ = *p++;
		}
	}
	*(*o)++ = 0;
	return p;
}

int rn_acl_decode(const char *text, struct rn_acl *a, char **block)
{
	int t, pt, op, perm, n = 0;
	if (sscanf(text, "v1,%d,%d,%d,%d,%n", &t, &pt, &op, &perm, &n) != 4 || n == 0)
		return -1;
	char *blk = rn_malloc(strlen(text) + 4), *o = blk;
	const char *p = text + n;
	char *pr = o;
	p = get_dec(p, &o);
	if (!p || *p != ',')
		goto bad;
	char *host = o;
	p = get_dec(p + 1, &o);
	if (!p || *p != ',')
		goto bad;
	char *name = o;
	p = get_dec(p + 1, &o);
	if (!p || *p)
		goto bad;
	*a = (struct rn_acl){.type = (enum rn_res_type)t,
			     .pattern = (enum rn_pattern)pt,
			     .name = name,
			     .principal = pr,
			     .host = host,
			     .op = (enum rn_acl_op)op,
			     .perm = (enum rn_acl_perm)perm};
	if (rn_acl_validate(a, NULL) < 0)
		goto bad;
	*block = blk;
	return 0;
bad:
	rn_free(blk);
	return -1;
}

struct load {
	struct rn_acl *acls;
	char **blocks;
	size_t n, cap;
};

static void load_one(const char *key, const char *val, void *arg)
{
	struct load *l = arg;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->acls = rn_realloc(l->acls, l->cap * sizeof(*l->acls));
		l->blocks = rn_realloc(l->blocks, l->cap * sizeof(*l->blocks));
	}
	if (rn_acl_decode(val, &l->acls[l->n], &l->blocks[l->n]) < 0) {
		rn_warn("ignoring unreadable ACL record '%s'", key);
		return;
	}
	l->n++;
}

void rn_authorizer_load(struct rn_authorizer *az, struct rn_meta *m)
{
	struct load l = {0};
	rn_meta_sec_foreach(m, RN_ACL_NS, load_one, &l);
	rn_authorizer_set(az, l.acls, l.n);
	for (size_t i = 0; i < l.n; i++)
		rn_free(l.blocks[i]);
	rn_free(l.blocks);
	rn_free(l.acls);
}

static void on_change(const char *ns, void *arg)
{
	(void)ns;
	struct rn_authorizer *az = arg;
	rn_authorizer_load(az, rn__authorizer_meta(az));
}

void rn_authorizer_follow(struct rn_authorizer *az, struct rn_meta *m)
{
	rn__authorizer_set_meta(az, m);
	rn_meta_sec_watch(m, RN_ACL_NS, on_change, az);
	rn_authorizer_load(az, m);
}
