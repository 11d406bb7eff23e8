/*
 * SCRAM (RFC 5802, RFC 7677) building blocks: the two mechanisms Kafka has, the derived keys,
 * the stored credential and its text form in the metadata store, base64. The server exchange
 * is auth/scram_server.c, the client's auth/sasl_client.c, the message parser scram_msg.c.
 *
 * A stored credential never holds the password: salt, iterations, StoredKey = H(ClientKey) and
 * ServerKey, as Kafka's ScramCredential. Its text form is Kafka's
 * "salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=<n>".
 */
#ifndef RN_AUTH_SCRAM_H
#define RN_AUTH_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kafka's ScramMechanism type ids (the int8 of DescribeUserScramCredentials and
 * AlterUserScramCredentials). */
enum rn_scram_mech {
	RN_SCRAM_UNKNOWN = 0,
	RN_SCRAM_SHA_256 = 1,
	RN_SCRAM_SHA_512 = 2,
};

#define RN_SCRAM_MIN_ITERATIONS 4096  /* Kafka's ScramMechanism minimum */
#define RN_SCRAM_MAX_ITERATIONS 16384 /* Kafka's maximum for AlterUserScramCredentials */
#define RN_SCRAM_MAX_HASH       64
#define RN_SCRAM_MAX_SALT       128

struct rn_scram_cred {
	enum rn_scram_mech mech;
	int32_t iterations;
	size_t salt_len;
	uint8_t salt[RN_SCRAM_MAX_SALT];
	uint8_t stored_key[RN_SCRAM_MAX_HASH];
	uint8_t server_key[RN_SCRAM_MAX_HASH];
};

/* "SCRAM-SHA-256" / "SCRAM-SHA-512" (NULL for others); parse gives RN_SCRAM_UNKNOWN. */
const char *rn_scram_mech_name(enum rn_scram_mech m);
enum rn_scram_mech rn_scram_mech_parse(const char *name);
/* Digest length of the mechanism's hash (32 or 64), 0 if unknown. */
size_t rn_scram_hash_len(enum rn_scram_mech m);

/* out = HMAC(key, data) / H(data) / Hi(password, salt, i) = PBKDF2; hash_len bytes. 0 or -1. */
int rn_scram_hmac(enum rn_scram_mech m, const void *key, size_t klen, const void *data, size_t dlen,
		  uint8_t *out);
int rn_scram_hash(enum rn_scram_mech m, const void *data, size_t len, uint8_t *out);
int rn_scram_hi(enum rn_scram_mech m, const char *pw, size_t pwlen, const uint8_t *salt,
		size_t saltlen, int32_t iterations, uint8_t *out);

/* The credential from a salted password (what AlterUserScramCredentials carries) or from the
 * password itself. 0, or RN_EINVALID for a salt longer than RN_SCRAM_MAX_SALT or a bad
 * mechanism. */
int rn_scram_cred_from_salted(enum rn_scram_mech m, const uint8_t *salted, const uint8_t *salt,
			      size_t saltlen, int32_t iterations, struct rn_scram_cred *out);
int rn_scram_cred_from_password(enum rn_scram_mech m, const char *pw, size_t pwlen,
				const uint8_t *salt, size_t saltlen, int32_t iterations,
				struct rn_scram_cred *out);

/* Kafka's text form into buf (NUL-terminated); the length written, or -1 if cap is short
 * (RN_SCRAM_CRED_TEXT_MAX always suffices). parse: 0 or RN_EINVALID. */
#define RN_SCRAM_CRED_TEXT_MAX 512
int rn_scram_cred_format(const struct rn_scram_cred *c, char *buf, size_t cap);
int rn_scram_cred_parse(const char *s, enum rn_scram_mech m, struct rn_scram_cred *out);

/* Standard base64 with padding. encode writes 4*ceil(n/3) chars and a NUL into out (callers
 * size it RN_B64_LEN(n) + 1) and returns the length. decode is strict (no spaces, correct
 * padding): 0 with *outlen, or -1 when malformed or longer than cap. */
#define RN_B64_LEN(n) (4 * (((n) + 2) / 3))
size_t rn_b64_encode(const uint8_t *in, size_t n, char *out);
int rn_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen);

/* Constant-time equality of two n-byte buffers. */
bool rn_ct_equal(const void *a, const void *b, size_t n);

#endif
