/*
 * The client side of SASL PLAIN and SCRAM-SHA-256/512, for runnel's own connections to
 * brokers (replica/peer.c, cli/raw.c). The caller owns the transport: it sends SaslHandshake,
 * then hands each token to the server (a SaslAuthenticate request, or a raw frame after
 * handshake v0) through xfer and returns the server's token.
 */
#ifndef RN_AUTH_SASL_CLIENT_H
#define RN_AUTH_SASL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/* One round trip: tok out, the server's answer into resp (cap bytes, its length in *rlen).
 * 0, or a negative code (the server refused, I/O) that rn_sasl_client_auth returns. */
typedef int (*rn_sasl_xfer_fn)(void *arg, const uint8_t *tok, size_t len, uint8_t *resp, size_t cap,
			       size_t *rlen);

/* Authenticates as user with password. client_nonce NULL draws a random one (tests pass a
 * fixed one). 0; RN_EUNSUPPORTED for a mechanism other than PLAIN and SCRAM-SHA-256/512;
 * -EACCES with a reason in err when the server's answer is malformed or its signature wrong;
 * or xfer's error. */
int rn_sasl_client_auth(const char *mechanism, const char *user, const char *password,
			const char *client_nonce, rn_sasl_xfer_fn xfer, void *arg, char *err,
			size_t errlen);

#endif
