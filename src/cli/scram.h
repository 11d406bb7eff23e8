/*
 * SCRAM (RFC 5802) as Kafka uses it, for the CLI: the credential `runnel user add` sends
 * (the client makes the salt and the salted password, as Kafka's tools do) and the client
 * side of a SCRAM-SHA-256/512 authentication (raw_sec.c). Private to src/cli.
 */
#ifndef RN_CLI_SCRAM_H
#define RN_CLI_SCRAM_H

#include <stddef.h>
#include <stdint.h>

#define RN_SCRAM_MAX_HASH 64

/* Kafka's ScramMechanism ids on the wire (AlterUserScramCredentials...). */
enum { RN_SCRAM_UNKNOWN = 0, RN_SCRAM_SHA_256 = 1, RN_SCRAM_SHA_512 = 2 };

/* "SCRAM-SHA-256" -> 1, "SCRAM-SHA-512" -> 2 (case-insensitive), else 0. */
int rn__scram_mech(const char *name);
const char *rn__scram_mech_name(int mech);
/* The hash size of mech (32 or 64), 0 for an unknown one. */
size_t rn__scram_hash_len(int mech);
/* A fresh salt as Kafka's tools make it: a 130-bit random number in base 36, as ASCII.
 * Writes up to len-1 characters and a NUL; returns the length, or -1 without randomness. */
int rn__scram_salt(char *out, size_t len);
/* Hi(password, salt, iterations) of RFC 5802 (PBKDF2 with the mechanism's HMAC) into out
 * (rn__scram_hash_len(mech) bytes). Returns 0 or -1. */
int rn__scram_salted(int mech, const char *password, const uint8_t *salt, size_t saltlen,
		     int iterations, uint8_t *out);
/* HMAC and H of the mechanism; out holds rn__scram_hash_len(mech) bytes. */
void rn__scram_hmac(int mech, const uint8_t *key, size_t klen, const void *msg, size_t mlen,
		    uint8_t *out);
void rn__scram_hash(int mech, const uint8_t *p, size_t n, uint8_t *out);

#endif
