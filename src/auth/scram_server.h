/*
 * The server side of one SCRAM exchange (RFC 5802 section 5): client-first -> server-first,
 * client-final -> server-final. The credential comes from a lookup that always fills one:
 * for an unknown user the caller gives a fake one derived from a secret, so the exchange does
 * the same work and sends the same shape of answer whether the user exists or not; only the
 * final proof check fails.
 */
#ifndef RN_AUTH_SCRAM_SERVER_H
#define RN_AUTH_SCRAM_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/scram.h"
#include "auth/scram_msg.h"

/* Fills *out for user; returns true if the credential is real. */
typedef bool (*rn_scram_lookup_fn)(void *arg, enum rn_scram_mech m, const char *user,
				   struct rn_scram_cred *out);

struct rn_scram_server {
	enum rn_scram_mech mech;
	int state; /* 0: want client-first, 1: want client-final, 2: done */
	bool known;
	struct rn_scram_cred cred;
	char user[RN_SCRAM_MAX_NAME];
	char *auth_prefix; /* client-first-bare "," server-first, owned */
	size_t auth_prefix_len;
	char gs2_b64[RN_B64_LEN(RN_SCRAM_MAX_NAME + 8) + 1]; /* expected c= value */
	char nonce[2 * RN_SCRAM_MAX_NONCE + 1];              /* client's + ours */
	size_t nonce_len;
};

/* Room for the server's messages (the server-first carries the client's nonce). */
#define RN_SCRAM_SERVER_OUT_MAX 1024

void rn_scram_server_init(struct rn_scram_server *s, enum rn_scram_mech m);
/* Frees what s owns and wipes its keys; s may be initialised again. */
void rn_scram_server_reset(struct rn_scram_server *s);

/* Step 1: client-first in, server-first out (cap >= RN_SCRAM_SERVER_OUT_MAX). server_nonce
 * NULL draws 24 random bytes (tests pass RFC 7677's). 0, or -1 with *why set (malformed,
 * delegation tokens, out of order). */
int rn_scram_server_first(struct rn_scram_server *s, const char *in, size_t len,
			  rn_scram_lookup_fn lookup, void *arg, const char *server_nonce, char *out,
			  size_t cap, size_t *outlen, const char **why);
/* Step 2: client-final in, server-final ("v=...") out. 0 when the proof is right and the
 * user real; -1 with *why otherwise. */
int rn_scram_server_final(struct rn_scram_server *s, const char *in, size_t len, char *out,
			  size_t cap, size_t *outlen, const char **why);

#endif
