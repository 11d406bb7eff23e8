/* The listener table (see listeners.h). */
#include "broker/listeners.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/principal.h"
#include "broker/broker.h"
#include "broker/config.h"
#include "broker/handler.h"
#include "core/log.h"

struct entry {
	char name[64];
	char host[256];
	int port;
};

static const char *skip_space(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/* One "NAME://host:port" of [p, p + len) (trimmed). */
static int parse_entry(const char *key, const char *p, size_t len, struct entry *e, char *err,
		       size_t errlen)
{
	while (len && isspace((unsigned char)p[len - 1]))
		len--;
	const char *sep = NULL;
	for (size_t i = 0; i + 2 < len; i++)
		if (!memcmp(p + i, "://", 3)) {
			sep = p + i;
			break;
		}
	const char *colon = NULL;
	for (size_t i = 0; i < len; i++)
		if (p[i] == ':' && (!sep || p + i > sep + 2))
			colon = p + i;
	if (!sep || sep == p || (size_t)(sep - p) >= sizeof(e->name) || !colon) {
		snprintf(err, errlen, "%s: cannot parse '%.*s' (want NAME://host:port)", key,
			 (int)len, p);
		return -EINVAL;
	}
	for (size_t i = 0; i < (size_t)(sep - p); i++) {
		unsigned char c = (unsigned char)p[i];
		if (!isalnum(c) && c != '_' && c != '-') {
			snprintf(err, errlen, "%s: bad listener name '%.*s'", key, (int)(sep - p),
				 p);
			return -EINVAL;
		}
		e->name[i] = (char)toupper(c);
	}
	e->name[sep - p] = 0;
	const char *h = sep + 3;
	size_t hl = (size_t)(colon - h);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { /* [::1] */
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(e->host)) {
		snprintf(err, errlen, "%s: host too long in '%.*s'", key, (int)len, p);
		return -EINVAL;
	}
	memcpy(e->host, h, hl);
	e->host[hl] = 0;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || end != p + len || port < 0 || port > 65535) {
		snprintf(err, errlen, "%s: bad port in '%.*s'", key, (int)len, p);
		return -EINVAL;
	}
	e->port = (int)port;
	return 0;
}

static int parse_list(const char *key, const char *v, struct entry *out, int *n, char *err,
		      size_t errlen)
{
	*n = 0;
	for (const char *p = v ? skip_space(v) : ""; *p; p = skip_space(p)) {
		size_t len = strcspn(p, ",");
		if (len) {
			if (*n == RN_MAX_LISTENERS) {
				snprintf(err, errlen, "%s: more than %d listeners", key,
					 RN_MAX_LISTENERS);
				return -EINVAL;
			}
			int rc = parse_entry(key, p, len, &out[*n], err, errlen);
			if (rc < 0)
				return rc;
			for (int i = 0; i < *n; i++) {
				if (!strcmp(out[i].name, out[*n].name)) {
					snprintf(err, errlen,
						 "%s: listener name %s appears more than once", key,
						 out[i].name);
					return -EINVAL;
				}
			}
			(*n)++;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* The protocol of listener name in listener.security.protocol.map, or -1. */
static int map_lookup(const char *map, const char *name, char *err, size_t errlen)
{
	for (const char *p = skip_space(map); *p; p = skip_space(p)) {
		size_t len = strcspn(p, ",");
		const char *colon = memchr(p, ':', len);
		if (len && !colon) {
			snprintf(err, errlen,
				 "listener.security.protocol.map: '%.*s' is not NAME:PROTOCOL",
				 (int)len, p);
			return -2;
		}
		if (colon) {
			size_t nl = (size_t)(colon - p);
			while (nl && isspace((unsigned char)p[nl - 1]))
				nl--;
			if (nl == strlen(name) && !strncasecmp(p, name, nl)) {
				char proto[32];
				const char *q = skip_space(colon + 1);
				size_t pl = (size_t)(p + len - q);
				while (pl && isspace((unsigned char)q[pl - 1]))
					pl--;
				snprintf(proto, sizeof(proto), "%.*s", (int)pl, q);
				int sp = rn_secproto_parse(proto);
				if (sp < 0) {
					snprintf(err, errlen,
						 "listener.security.protocol.map: unknown security "
						 "protocol '%s' for %s",
						 proto, name);
					return -2;
				}
				return sp;
			}
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return -1;
}

int rn_listeners_parse(const struct rn_config *cfg, bool strict, struct rn_listeners *out,
		       char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct entry ls[RN_MAX_LISTENERS], adv[RN_MAX_LISTENERS];
	int n, nadv;
	int rc = parse_list("listeners", rn_config_get(cfg, "listeners"), ls, &n, err, errlen);
	if (rc < 0)
		return rc;
	if (n == 0) {
		snprintf(err, errlen, "listeners: no listener");
		return -EINVAL;
	}
	const char *av = rn_config_get(cfg, "advertised.listeners");
	rc = parse_list("advertised.listeners", av, adv, &nadv, err, errlen);
	if (rc < 0)
		return rc;
	const char *map = rn_config_get(cfg, "listener.security.protocol.map");
	for (int i = 0; i < n; i++) {
		struct rn_listener_def *d = &out->l[i];
		int sp = map_lookup(map ? map : "", ls[i].name, err, errlen);
		if (sp == -2)
			return -EINVAL;
		if (sp < 0) {
			snprintf(err, errlen,
				 "listeners: no security protocol for listener %s in "
				 "listener.security.protocol.map",
				 ls[i].name);
			return -EINVAL;
		}
		if (rn_secproto_tls((enum rn_secproto)sp) &&
		    !rn_listener_ssl_get(cfg, ls[i].name, "ssl.keystore.location") &&
		    !rn_listener_ssl_get(cfg, ls[i].name, "ssl.keystore.certificate.chain")) {
			snprintf(
			    err, errlen,
			    "listeners: %s is a %s listener and needs ssl.keystore.location or "
			    "ssl.keystore.certificate.chain (or listener.name.<name>.ssl.*)",
			    ls[i].name, rn_secproto_name((enum rn_secproto)sp));
			return -EINVAL;
		}
		snprintf(d->name, sizeof(d->name), "%s", ls[i].name);
		d->proto = (enum rn_secproto)sp;
		snprintf(d->host, sizeof(d->host), "%s", ls[i].host);
		d->port = ls[i].port;
		snprintf(d->adv_host, sizeof(d->adv_host), "%s", ls[i].host);
		d->adv_port = ls[i].port;
	}
	out->n = n;
	for (int j = 0; j < nadv; j++) {
		int i = 0;
		while (i < n && strcmp(out->l[i].name, adv[j].name))
			i++;
		if (i == n) {
			snprintf(err, errlen,
				 "advertised.listeners: %s is not one of the listeners' names",
				 adv[j].name);
			return -EINVAL;
		}
		snprintf(out->l[i].adv_host, sizeof(out->l[i].adv_host), "%s", adv[j].host);
		out->l[i].adv_port = adv[j].port ? adv[j].port : out->l[i].port;
	}
	/* A wildcard bind is not an address a client can dial. */
	for (int i = 0; i < n; i++) {
		char *h = out->l[i].adv_host;
		out->l[i].adv_wildcard = !h[0] || !strcmp(h, "0.0.0.0") || !strcmp(h, "::");
		if (out->l[i].adv_wildcard)
			snprintf(out->l[i].adv_host, sizeof(out->l[i].adv_host), "127.0.0.1");
	}
	const char *ibl = rn_config_get(cfg, "inter.broker.listener.name");
	const char *ibp = rn_config_get(cfg, "security.inter.broker.protocol");
	bool ibp_set = !rn_config_is_default(cfg, "security.inter.broker.protocol");
	if (ibl && ibp_set) {
		snprintf(
		    err, errlen,
		    "only one of inter.broker.listener.name and security.inter.broker.protocol "
		    "may be set");
		return -EINVAL;
	}
	const char *want = ibl ? ibl : ibp_set ? ibp : NULL;
	out->inter = want ? -1 : 0;
	for (int i = 0; i < n; i++) {
		if (want ? !strcasecmp(out->l[i].name, want)
			 : !strcmp(out->l[i].name, "PLAINTEXT")) {
			out->inter = i;
			break;
		}
	}
	const char *ikey = ibl ? "inter.broker.listener.name" : "security.inter.broker.protocol";
	if (out->inter < 0 && strict) {
		snprintf(err, errlen, "%s: no listener named %s", ikey, want);
		return -EINVAL;
	}
	if (out->inter < 0) {
		/* One broker has no inter-broker traffic: a file written for a cluster still
		 * loads. */
		rn_warn("%s: no listener named %s; a single broker uses %s", ikey, want,
			out->l[0].name);
		out->inter = 0;
	}
	return 0;
}

const char *rn_listener_ssl_get(const struct rn_config *cfg, const char *listener, const char *key)
{
	char k[256];
	int n = snprintf(k, sizeof(k), "listener.name.%s.", listener);
	for (int i = 14; i < n; i++)
		k[i] = (char)tolower((unsigned char)k[i]);
	snprintf(k + n, sizeof(k) - (size_t)n, "%s", key);
	const char *v = rn_config_get(cfg, k);
	return v ? v : rn_config_get(cfg, key);
}

void rn_listener_tls_settings(const struct rn_config *cfg, const char *listener,
			      enum rn_secproto proto, struct rn_tls_settings *st)
{
	memset(st, 0, sizeof(*st));
#define G(key) rn_listener_ssl_get(cfg, listener, key)
	st->server = true;
	st->keystore_type = G("ssl.keystore.type");
	st->keystore_location = G("ssl.keystore.location");
	st->keystore_chain = G("ssl.keystore.certificate.chain");
	st->keystore_key = G("ssl.keystore.key");
	st->key_password = G("ssl.key.password");
	st->truststore_type = G("ssl.truststore.type");
	st->truststore_location = G("ssl.truststore.location");
	st->truststore_certs = G("ssl.truststore.certificates");
	st->enabled_protocols = G("ssl.enabled.protocols");
	st->cipher_suites = G("ssl.cipher.suites");
	st->endpoint_identification = G("ssl.endpoint.identification.algorithm");
	const char *ktls = G("ssl.ktls.enable");
	st->ktls = !ktls || strcasecmp(ktls, "false") != 0;
#undef G
	/* Kafka applies ssl.client.auth to SASL_SSL listeners only when it is set with the
	 * listener's prefix: SASL authenticates those clients. */
	char k[160];
	snprintf(k, sizeof(k), "listener.name.%s.ssl.client.auth", listener);
	for (char *p = k + 14; *p && *p != '.'; p++)
		*p = (char)tolower((unsigned char)*p);
	const char *ca = proto == RN_SEC_SASL_SSL
			     ? rn_config_get(cfg, k)
			     : rn_listener_ssl_get(cfg, listener, "ssl.client.auth");
	st->client_auth = !ca || !strcasecmp(ca, "none") ? RN_TLS_AUTH_NONE
			  : !strcasecmp(ca, "requested") ? RN_TLS_AUTH_REQUESTED
							 : RN_TLS_AUTH_REQUIRED;
}

int rn_listeners_open(const struct rn_config *cfg, struct rn_listeners *ls)
{
	for (int i = 0; i < ls->n; i++) {
		struct rn_listener_def *d = &ls->l[i];
		if (!rn_secproto_tls(d->proto))
			continue;
		const char *ca = rn_listener_ssl_get(cfg, d->name, "ssl.client.auth");
		if (ca && strcasecmp(ca, "none") && strcasecmp(ca, "requested") &&
		    strcasecmp(ca, "required")) {
			rn_error("listener %s: ssl.client.auth '%s' is not none, requested or "
				 "required",
				 d->name, ca);
			return -EINVAL;
		}
		struct rn_tls_settings st;
		rn_listener_tls_settings(cfg, d->name, d->proto, &st);
		char what[96];
		snprintf(what, sizeof(what), "listener %s", d->name);
		int rc = rn_tls_ctx_new(&st, what, &d->tls);
		if (rc < 0) {
			rn_error("listener %s: cannot build its TLS context from the ssl.* configs",
				 d->name);
			return rc;
		}
		char err[256];
		rc = rn_principal_map_new(
		    rn_listener_ssl_get(cfg, d->name, "ssl.principal.mapping.rules"), &d->pmap, err,
		    sizeof(err));
		if (rc < 0) {
			rn_error("listener %s: %s", d->name, err);
			return rc;
		}
	}
	return 0;
}

void rn_listeners_close(struct rn_listeners *ls)
{
	if (!ls)
		return;
	for (int i = 0; i < ls->n; i++) {
		rn_tls_ctx_free(ls->l[i].tls);
		ls->l[i].tls = NULL;
		rn_principal_map_free(ls->l[i].pmap);
		ls->l[i].pmap = NULL;
	}
}

void rn_listeners_server_config(struct rn_listeners *ls, struct rn_listener_config *out)
{
	for (int i = 0; i < ls->n; i++) {
		struct rn_listener_def *d = &ls->l[i];
		out[i] = (struct rn_listener_config){
		    .name = d->name,
		    .host = d->host[0] ? d->host : NULL,
		    .port = d->port,
		    .wrap = d->tls ? rn_tls_wrap : NULL,
		    .wrap_arg = d->tls,
		};
	}
}

void rn_listeners_bound(struct rn_listeners *ls, const struct rn_server *srv)
{
	for (int i = 0; i < ls->n; i++)
		if (ls->l[i].adv_port == 0)
			ls->l[i].adv_port = rn_server_listener_port(srv, i);
}

const struct rn_listener_def *rn_ctx_listener(struct rn_ctx *ctx)
{
	struct rn_listeners *ls = ctx->b->listeners;
	if (!ls || ls->n == 0)
		return NULL;
	int i = ctx->req ? rn_req_listener(ctx->req) : 0;
	return &ls->l[i >= 0 && i < ls->n ? i : 0];
}

void rn_ctx_advertised(struct rn_ctx *ctx, struct rn_str *host, int32_t *port)
{
	const struct rn_listener_def *d = rn_ctx_listener(ctx);
	*host = rn_str_c(d ? d->adv_host : ctx->b->adv_host);
	*port = d ? d->adv_port : ctx->b->adv_port;
}

int rn_listener_tls_principal(struct rn_ctx *ctx, struct rn_session *s)
{
	s->tls_checked = true;
	struct rn_transport *t = ctx->req ? rn_req_transport(ctx->req) : NULL;
	char dn[RN_PRINCIPAL_MAX];
	bool done = false;
	if (!t || !rn_tls_peer_subject(t, &done, dn, sizeof(dn))) {
		rn_debug("conn %s: TLS client without a certificate: %s", s->peer, s->principal);
		return 0; /* User:ANONYMOUS */
	}
	const struct rn_listener_def *d = rn_ctx_listener(ctx);
	char name[RN_PRINCIPAL_MAX - 5];
	if (!d || !d->pmap || rn_principal_map_apply(d->pmap, dn, name, sizeof(name)) < 0) {
		rn_warn("conn %s: listener %s: no ssl.principal.mapping.rules rule applies to "
			"the client certificate subject '%s'; closing the connection",
			s->peer, s->listener_name, dn);
		return -EACCES;
	}
	char principal[RN_PRINCIPAL_MAX];
	snprintf(principal, sizeof(principal), "User:%s", name);
	rn_session_set_principal(s, principal);
	rn_debug("conn %s: TLS client %s", s->peer, principal);
	return 0;
}
