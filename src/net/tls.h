/*
 * TLS for listeners and for the broker's own outgoing connections (OpenSSL 3).
 *
 * Two parts with one job each:
 *  - tls_ctx*.c: an rn_tls_ctx is the current SSL_CTX of one listener (or of one client
 *    identity), built from Kafka's config names, swapped atomically when the files behind it
 *    change on disk (inotify, with a periodic check as fallback) or when AlterConfigs changes
 *    the listener's ssl.* keys. A new handshake takes the current SSL_CTX; connections already
 *    established keep theirs. A broken new file is reported and the old SSL_CTX kept.
 *  - transport_tls.c: the rn_transport over an SSL object (non-blocking handshake, read/write
 *    with want_events, kTLS sendfile where the kernel allows it, else -EOPNOTSUPP).
 */
#ifndef RN_NET_TLS_H
#define RN_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ssl_ctx_st SSL_CTX;
struct rn_transport;

enum rn_tls_client_auth { RN_TLS_AUTH_NONE, RN_TLS_AUTH_REQUESTED, RN_TLS_AUTH_REQUIRED };

/* Kafka's names, for one listener (after listener.name.<l>.ssl.* overrides) or one client.
 * Strings are borrowed for the duration of rn_tls_ctx_new / rn_tls_ctx_update. */
struct rn_tls_settings {
	bool server;
	const char *keystore_type;     /* ssl.keystore.type: "PEM" (only PEM) */
	const char *keystore_location; /* PEM with the chain and the private key */
	const char *keystore_chain;    /* ssl.keystore.certificate.chain: a path or inline PEM */
	const char *keystore_key;      /* ssl.keystore.key: a path or inline PEM */
	const char *key_password;      /* ssl.key.password */
	const char *truststore_type;   /* ssl.truststore.type: "PEM" */
	const char *truststore_location;
	const char *truststore_certs;        /* ssl.truststore.certificates: inline PEM */
	enum rn_tls_client_auth client_auth; /* ssl.client.auth */
	const char *enabled_protocols;       /* ssl.enabled.protocols: "TLSv1.2,TLSv1.3" */
	const char *cipher_suites;           /* ssl.cipher.suites (Kafka/IANA or OpenSSL names) */
	const char *endpoint_identification; /* clients: "https" checks the host name, "" not */
	bool ktls;                           /* try kernel TLS (ssl.ktls.enable, default true) */
};

struct rn_tls_ctx;

/* Builds the context and starts watching its files. Returns 0, or -EINVAL with a log line
 * naming the key and the OpenSSL reason. The caller owns *out (rn_tls_ctx_free). */
int rn_tls_ctx_new(const struct rn_tls_settings *st, const char *what, struct rn_tls_ctx **out);
void rn_tls_ctx_free(struct rn_tls_ctx *c);
/* The current SSL_CTX with a reference taken (SSL_CTX_free it), for a new connection. */
SSL_CTX *rn_tls_ctx_acquire(struct rn_tls_ctx *c);
/* Rebuilds from new settings (AlterConfigs); on failure keeps the old one and returns
 * -EINVAL. */
int rn_tls_ctx_update(struct rn_tls_ctx *c, const struct rn_tls_settings *st);
/* Re-reads the files now (what the watcher does on a change). 0, or -EINVAL (old kept). */
int rn_tls_ctx_reload(struct rn_tls_ctx *c);
/* Times the material was replaced, for /metrics and tests. */
uint64_t rn_tls_ctx_reloads(const struct rn_tls_ctx *c);
/* Client contexts: ssl.endpoint.identification.algorithm is "https", so rn_tls_client_wrap
 * must check the host name (SSL_set1_host). */
bool rn_tls_ctx_verify_host(const struct rn_tls_ctx *c);
/* Builds and discards a context from st (AlterConfigs validate_only, config checks): 0, or
 * -EINVAL with the reason in err. Logs nothing. */
int rn_tls_ctx_check_settings(const struct rn_tls_settings *st, const char *what, char *err,
			      size_t errlen);
/* Kafka's dynamic listener configs (AlterConfigs on listener.name.<l>.ssl.*): keys[i] is one
 * of Kafka's reconfigurable ssl.* names (no listener prefix; rn_tls_key_reconfigurable),
 * vals[i] its value. The set replaces the previous overrides; the settings of rn_tls_ctx_new /
 * update stay underneath (a key left out falls back to them). Flags: VALIDATE_ONLY builds and
 * discards; KEEP_DN / KEEP_SAN refuse a certificate whose subject differs / that drops a
 * subject alternative name of the current one (Kafka's default, lifted by
 * ssl.allow.dn.changes / ssl.allow.san.changes). An unchanged set is a no-op. 0, or -EINVAL
 * with the reason in err (nothing logged, the old material kept). */
enum { RN_TLS_VALIDATE_ONLY = 1, RN_TLS_KEEP_DN = 2, RN_TLS_KEEP_SAN = 4 };
int rn_tls_ctx_set_overrides(struct rn_tls_ctx *c, const char *const *keys, const char *const *vals,
			     int n, unsigned flags, char *err, size_t errlen);
bool rn_tls_key_reconfigurable(const char *key);
/* Calls fn for every live context with the name given to rn_tls_ctx_new; no context is freed
 * meanwhile (fn must not free one). */
void rn_tls_ctx_foreach(void (*fn)(struct rn_tls_ctx *c, const char *what, void *arg), void *arg);
/* The watcher's periodic re-check of every context's files, as a fallback to inotify
 * (ssl.reload.check.interval.ms, default RN_TLS_RELOAD_CHECK_MS; 0 disables it). */
#define RN_TLS_RELOAD_CHECK_MS 30000
void rn_tls_watch_interval(long ms);

/* The listener's wrap hook (net/server.h): a server-side TLS transport over fd with
 * rn_tls_ctx_acquire(arg). */
struct rn_transport *rn_tls_wrap(void *arg, int fd);
/* A client-side TLS transport over a connected blocking or non-blocking fd (replica fetchers,
 * the CLI's raw client); host (NULL: none) is sent as SNI when it is a name, and checked
 * against the certificate when the context verifies peers: callers pass NULL when
 * ssl.endpoint.identification.algorithm is empty. The handshake runs in the first
 * readv/writev; after -EAGAIN, want_events says which way to wait. */
struct rn_transport *rn_tls_client_wrap(struct rn_tls_ctx *c, int fd, const char *host);

/* For a transport made by rn_tls_wrap (false for any other transport): the handshake is done
 * and, if the peer sent a certificate that verified, its subject in RFC 2253 form
 * ("CN=alice,O=Runnel"), as Kafka's X500Principal.getName() gives it. */
bool rn_tls_peer_subject(struct rn_transport *t, bool *handshake_done, char *buf, size_t len);
/* "ktls", "tls" (user space) or "tcp": which path sendfile takes on this transport. */
const char *rn_tls_path(struct rn_transport *t);

#endif
