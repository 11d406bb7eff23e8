/*
 * SASL on the broker: the mechanisms each listener offers, the users PLAIN knows from JAAS
 * config, the SCRAM credentials in the metadata store (namespace "scram", key
 * "<mechanism>/<user>", Kafka's text form, see scram.h), and the exchange of one connection.
 *
 * One struct rn_sasl_server per broker (the broker owns it); one struct rn_sasl per SASL
 * connection, hanging off its session (freed with it). The handlers of SaslHandshake and
 * SaslAuthenticate (and raw frames after SaslHandshake v0) drive the exchange.
 *
 * Unknown users: SCRAM answers them with a fake salt and iteration count derived by HMAC from
 * a secret kept in the metadata store (namespace "sasl"), so every broker of a cluster gives
 * the same answer, stable across restarts, and does the same work; PLAIN always does one
 * PBKDF2 and one HMAC comparison, found or not.
 *
 * Threads: the server is shared by every loop thread (its credential cache has a lock); an
 * exchange is touched only on its connection's thread.
 */
#ifndef RN_AUTH_SASL_H
#define RN_AUTH_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/scram.h"
#include "auth/session.h"

struct rn_meta;
struct rn_sasl_server;

/* The mechanisms Runnel has, as bits of a listener's enabled set. */
enum {
	RN_SASL_PLAIN = 1 << 0,
	RN_SASL_SCRAM_SHA_256 = 1 << 1,
	RN_SASL_SCRAM_SHA_512 = 1 << 2,
	RN_SASL_ALL = 7,
};
#define RN_SASL_DEFAULT_MECHANISMS "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"
#define RN_SASL_MAX_LISTENERS      16
#define RN_SASL_MAX_TOKEN          8192 /* larger SASL tokens fail the exchange */

/* A server over meta (kept, not owned). Creates the fake-salt secret in the store if absent.
 * The caller owns the result (rn_sasl_server_free). Registers the session free hook. */
struct rn_sasl_server *rn_sasl_server_new(struct rn_meta *meta);
void rn_sasl_server_free(struct rn_sasl_server *srv);

/* Configures listener index i: mechanisms is Kafka's sasl.enabled.mechanisms (NULL: the
 * default above; names Runnel lacks, GSSAPI and OAUTHBEARER, are dropped with a warning),
 * plain_jaas the PlainLoginModule JAAS text with its user_<name>="password" options (NULL:
 * none). -EINVAL with a reason in err when nothing usable remains or the JAAS is malformed. */
int rn_sasl_server_listener(struct rn_sasl_server *srv, int i, const char *mechanisms,
			    const char *plain_jaas, char *err, size_t errlen);
/* connections.max.reauth.ms: 0 = sessions never expire. */
void rn_sasl_server_set_reauth_ms(struct rn_sasl_server *srv, int64_t ms);
/* The enabled mechanism names of listener i into names (static strings); their count. */
int rn_sasl_mechanisms(const struct rn_sasl_server *srv, int i, const char **names, int cap);

/* Authentication counters, for /metrics. */
void rn_sasl_server_stats(const struct rn_sasl_server *srv, uint64_t *ok, uint64_t *failed,
			  uint64_t *reauth);

/* SaslHandshake: starts an exchange with mechanism on s (version 0 means raw token frames
 * follow). 0; RN_EUNSUPPORTED if the listener does not enable it; RN_EINVALID if an exchange is
 * already under way (Kafka's ILLEGAL_SASL_STATE). */
int rn_sasl_begin(struct rn_sasl_server *srv, struct rn_session *s, const char *mechanism,
		  int handshake_version);
/* A handshake was made and the exchange waits for a token. */
bool rn_sasl_expecting_token(const struct rn_session *s);
/* Tokens come as raw frames (after SaslHandshake v0), not SaslAuthenticate requests. */
bool rn_sasl_raw_pending(const struct rn_session *s);

enum rn_sasl_result { RN_SASL_FAIL = -1, RN_SASL_DONE = 0, RN_SASL_CONTINUE = 1 };
/* One client token in; the server's token out (cap >= 1024). DONE: s is authenticated (its
 * principal "User:<name>", mechanism and re-authentication deadline set); FAIL: msg says why
 * in Kafka's words, a log line with the client address was written, and the connection must
 * be closed after the answer. */
enum rn_sasl_result rn_sasl_step(struct rn_sasl_server *srv, struct rn_session *s,
				 const uint8_t *in, size_t len, uint8_t *out, size_t cap,
				 size_t *outlen, char *msg, size_t msglen);
/* The session lifetime to tell the client after DONE (SaslAuthenticate v1+): 0 = none. */
int64_t rn_sasl_session_lifetime_ms(const struct rn_session *s);
/* The session's lifetime passed without a re-authentication (requests must close it). */
bool rn_sasl_session_expired(const struct rn_session *s, int64_t now_ms);

/* SCRAM credentials (DescribeUserScramCredentials / AlterUserScramCredentials). get: 0 or
 * RN_ENOTFOUND. set with cred NULL deletes (RN_ENOTFOUND if absent). Changes take effect
 * for the next authentication, on every broker that watches the store. */
int rn_sasl_scram_get(struct rn_sasl_server *srv, enum rn_scram_mech m, const char *user,
		      struct rn_scram_cred *out);
int rn_sasl_scram_set(struct rn_sasl_server *srv, enum rn_scram_mech m, const char *user,
		      const struct rn_scram_cred *cred);
/* Calls cb for every stored credential (under the cache's lock: cb must not call srv). */
void rn_sasl_scram_foreach(struct rn_sasl_server *srv,
			   void (*cb)(const char *user, enum rn_scram_mech m, int32_t iterations,
				      void *arg),
			   void *arg);

/* The username and password options of a JAAS text (this broker's own login on an
 * inter-broker SASL listener). 0 with both set (the caller frees them with rn_free), or
 * -EINVAL when the text is malformed or lacks one. */
int rn_sasl_jaas_login(const char *text, char **user, char **password);

/* The session free hook (session.h). */
void rn_sasl_free(struct rn_sasl *x);

#endif
