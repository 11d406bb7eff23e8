/*
 * Who is on the other end of one connection: the listener it came in on, its security
 * protocol, the authenticated principal and the SASL exchange in progress. The broker makes one
 * per accepted connection (the server's on_open hook) and net/ frees it with the connection;
 * handlers reach it through rn_req_session(ctx->req).
 *
 * Principals are Kafka's "Type:name" strings ("User:alice", "User:CN=host,O=org").
 * Until a SASL listener's exchange succeeds, or a TLS listener's handshake gives a client
 * certificate, the principal is "User:ANONYMOUS", as in Kafka.
 *
 * Threads: a session is touched only on its connection's loop thread, like the connection.
 */
#ifndef RN_AUTH_SESSION_H
#define RN_AUTH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kafka's SecurityProtocol (its ids are the wire values some APIs carry). */
enum rn_secproto {
	RN_SEC_PLAINTEXT = 0,
	RN_SEC_SSL = 1,
	RN_SEC_SASL_PLAINTEXT = 2,
	RN_SEC_SASL_SSL = 3,
};

#define RN_PRINCIPAL_ANONYMOUS "User:ANONYMOUS"
#define RN_PRINCIPAL_MAX       256

struct rn_sasl;       /* auth/sasl.h: the exchange in progress */
struct rn_quota_conn; /* auth/quota.h: this connection's share of its entity's quotas */

struct rn_session {
	int listener; /* index into the broker's listener table */
	enum rn_secproto proto;
	char listener_name[64]; /* "PLAINTEXT", "SSL", "INTERNAL" ... */
	char peer[64];          /* "ip:port", for logs */
	char host[48];          /* the peer's ip alone, for ACL host matching */
	char principal[RN_PRINCIPAL_MAX];
	/* True once the connection may send ordinary requests: at once on PLAINTEXT and SSL,
	 * after SaslAuthenticate succeeds on SASL_*. */
	bool authenticated;
	/* The client certificate's subject was looked at (SSL listeners: after the handshake). */
	bool tls_checked;
	char sasl_mechanism[32];    /* the mechanism that authenticated, "" if none */
	int64_t reauth_deadline_ms; /* rn_mono_ms() after which requests need re-authentication; 0 =
				       none */
	struct rn_sasl *sasl;
	struct rn_quota_conn *quota;
	void *user; /* for the broker */
};

/* A session for a new connection from peer ("ip:port") on listener index `listener` with
 * protocol proto. The caller owns the result (rn_session_free). Never fails (OOM aborts). */
struct rn_session *rn_session_new(int listener, const char *listener_name, enum rn_secproto proto,
				  const char *peer);
/* Frees s and what it owns (its SASL exchange, its quota share). NULL is a no-op. */
void rn_session_free(struct rn_session *s);
/* Sets the principal ("User:alice"); truncated to RN_PRINCIPAL_MAX - 1 bytes. */
void rn_session_set_principal(struct rn_session *s, const char *principal);

/* "PLAINTEXT" .. "SASL_SSL"; parses the same names (case-insensitive), -1 if unknown. */
const char *rn_secproto_name(enum rn_secproto p);
int rn_secproto_parse(const char *name);
bool rn_secproto_tls(enum rn_secproto p);
bool rn_secproto_sasl(enum rn_secproto p);

/* Hooks the SASL and quota rooms register so rn_session_free can release their parts
 * without session.c knowing them (arrows point down). */
void rn_session_set_free_hooks(void (*sasl_free)(struct rn_sasl *),
			       void (*quota_free)(struct rn_quota_conn *));

#endif
