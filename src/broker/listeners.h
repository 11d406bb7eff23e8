/*
 * The broker's listener table, from Kafka's keys:
 *   listeners                       NAME://host:port,...  (one socket each)
 *   listener.security.protocol.map  NAME:PROTOCOL,...     (default: each protocol's own name)
 *   advertised.listeners            NAME://host:port,...  (a subset; default: listeners)
 *   inter.broker.listener.name      or security.inter.broker.protocol
 *   listener.name.<name lower-cased>.ssl.*  per-listener TLS overrides of ssl.*
 *
 * Index i of the table is listener i of the server (net/server.h), so a request's
 * rn_req_listener() finds its entry, its protocol, and the address to advertise to it: Kafka
 * answers Metadata, DescribeCluster and FindCoordinator with the endpoints of the listener
 * the request came in on.
 */
#ifndef RN_BROKER_LISTENERS_H
#define RN_BROKER_LISTENERS_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/session.h"
#include "net/server.h"
#include "net/tls.h"
#include "proto/prim.h"

struct rn_broker;
struct rn_config;
struct rn_ctx;
struct rn_principal_map;

enum { RN_MAX_LISTENERS = 16 };

struct rn_listener_def {
	char name[64]; /* upper case, as Kafka normalises listener names */
	enum rn_secproto proto;
	char host[256]; /* bind address ("" = every interface) */
	int port;       /* configured; 0 = ephemeral */
	char adv_host[256];
	int adv_port;      /* the bound port once the server runs, when advertised with port 0 */
	bool adv_wildcard; /* advertised as "", 0.0.0.0 or ::, replaced by 127.0.0.1 */
	/* SSL and SASL_SSL listeners, from rn_listeners_open: */
	struct rn_tls_ctx *tls;
	struct rn_principal_map *pmap; /* ssl.principal.mapping.rules of the listener */
};

struct rn_listeners {
	int n;
	int inter; /* the inter-broker listener's index */
	struct rn_listener_def l[RN_MAX_LISTENERS];
};

/* Parses the keys above (no TLS material yet). 0, or -EINVAL with a one-line reason in err.
 * strict (a cluster): an inter-broker listener that does not exist is an error; otherwise a
 * warning, and listener 0 is used. */
int rn_listeners_parse(const struct rn_config *cfg, bool strict, struct rn_listeners *out,
		       char *err, size_t errlen);
/* A listener's value of an ssl.* key: listener.name.<l>.<key>, else <key>, else NULL. */
const char *rn_listener_ssl_get(const struct rn_config *cfg, const char *listener, const char *key);
/* Fills st from the ssl.* keys for listener (server side). Strings borrowed from cfg. */
void rn_listener_tls_settings(const struct rn_config *cfg, const char *listener,
			      enum rn_secproto proto, struct rn_tls_settings *st);
/* Builds the TLS context and principal mapper of every SSL / SASL_SSL listener. 0 or -EINVAL
 * (logged). rn_listeners_close frees what it made. */
int rn_listeners_open(const struct rn_config *cfg, struct rn_listeners *ls);
void rn_listeners_close(struct rn_listeners *ls);
/* The server's listener table (out[0..ls->n)): TLS listeners wrap with rn_tls_wrap. */
void rn_listeners_server_config(struct rn_listeners *ls, struct rn_listener_config *out);
/* After the server is bound: advertised port 0 becomes the bound port. */
void rn_listeners_bound(struct rn_listeners *ls, const struct rn_server *srv);

/* The listener entry of the request's connection (entry 0 without a server, e.g. in tests);
 * NULL when the broker has no table. */
const struct rn_listener_def *rn_ctx_listener(struct rn_ctx *ctx);
/* The address this broker advertises to the request's listener (b->adv_host/adv_port when
 * there is no table). */
void rn_ctx_advertised(struct rn_ctx *ctx, struct rn_str *host, int32_t *port);

/* On an SSL / SASL_SSL connection's first request: the principal from the client certificate
 * (User:<mapped subject>, User:ANONYMOUS without one). -EACCES when no mapping rule applies
 * (the connection must be closed, as Kafka fails the authentication). Loop thread. */
int rn_listener_tls_principal(struct rn_ctx *ctx, struct rn_session *s);

#endif
