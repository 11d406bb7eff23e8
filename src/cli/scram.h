/*
 * SCRAM (RFC 5802) as Kafka uses it, for the CLI: the credential `runnel user add` sends
 * (the client makes the salt and the salted password, as Kafka's tools do). The crypto and
 * the client side of an authentication are auth/'s (auth/scram.h, auth/sasl_client.h); this
 * adds what the tools do on top. Private to src/cli.
 */
#ifndef RN_CLI_SCRAM_H
#define RN_CLI_SCRAM_H

#include <stddef.h>
#include <stdint.h>

#include "auth/scram.h"

/* "SCRAM-SHA-256" -> 1, "SCRAM-SHA-512" -> 2 (case-insensitive), else 0. */
int rn__scram_mech(const char *name);
/* Kafka's name of mech, "UNKNOWN" for an id it does not know. */
const char *rn__scram_mech_name(int mech);
/* A fresh salt as Kafka's tools make it: a 130-bit random number in base 36, as ASCII.
 * Writes up to len-1 characters and a NUL; returns the length, or -1 without randomness. */
int rn__scram_salt(char *out, size_t len);
/* Hi(password, salt, iterations) of RFC 5802 (PBKDF2 with the mechanism's HMAC) into out
 * (rn_scram_hash_len(mech) bytes). Returns 0, or -1 for an unknown mech or no iterations. */
int rn__scram_salted(int mech, const char *password, const uint8_t *salt, size_t saltlen,
		     int iterations, uint8_t *out);

#endif
