/*
 * SCRAM message syntax (RFC 5802 section 7): parsing the four messages of an exchange. Pure
 * functions over client-supplied bytes, so they are the fuzz target (tests/fuzz/fuzz_scram.c).
 *
 * Views (const char * + length) point into the input and live as long as it. Parsers return
 * 0 or -1 (malformed); they never read past len and never allocate.
 */
#ifndef RN_AUTH_SCRAM_MSG_H
#define RN_AUTH_SCRAM_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/scram.h"

#define RN_SCRAM_MAX_NAME  256 /* user names and authzids, decoded */
#define RN_SCRAM_MAX_NONCE 256

/* gs2-header client-first-message-bare: "n,,n=user,r=nonce[,ext...]". */
struct rn_scram_client_first {
	const char *gs2; /* "n,," or "n,a=alice," (channel binding "p=" is refused) */
	size_t gs2_len;
	const char *bare; /* "n=...,r=...[,ext]" */
	size_t bare_len;
	char user[RN_SCRAM_MAX_NAME]; /* saslname decoded (=2C, =3D) */
	char authzid[RN_SCRAM_MAX_NAME];
	const char *nonce;
	size_t nonce_len;
	bool tokenauth; /* Kafka's "tokenauth=true" extension (delegation tokens) */
};

/* "c=<b64 gs2 header>,r=<nonce>[,ext],p=<b64 proof>". */
struct rn_scram_client_final {
	const char *without_proof; /* everything before ",p=" */
	size_t without_proof_len;
	const char *cbind; /* the c= value, base64 */
	size_t cbind_len;
	const char *nonce;
	size_t nonce_len;
	uint8_t proof[RN_SCRAM_MAX_HASH];
	size_t proof_len;
};

/* "r=<nonce>,s=<b64 salt>,i=<iterations>[,ext]". */
struct rn_scram_server_first {
	const char *nonce;
	size_t nonce_len;
	uint8_t salt[RN_SCRAM_MAX_SALT];
	size_t salt_len;
	int32_t iterations;
};

int rn_scram_parse_client_first(const char *msg, size_t len, struct rn_scram_client_first *out);
int rn_scram_parse_client_final(const char *msg, size_t len, struct rn_scram_client_final *out);
int rn_scram_parse_server_first(const char *msg, size_t len, struct rn_scram_server_first *out);
/* "v=<b64 signature>" -> sig (0), or "e=<error>" -> the err, errlen view and -1; malformed -1
 * with *err NULL. */
int rn_scram_parse_server_final(const char *msg, size_t len, uint8_t *sig, size_t cap,
				size_t *siglen, const char **err, size_t *errlen);

/* Encodes a user name as a saslname (',' -> =2C, '=' -> =3D) into out; the length, or -1 if
 * cap is short. */
int rn_scram_saslname(const char *user, char *out, size_t cap);

#endif
