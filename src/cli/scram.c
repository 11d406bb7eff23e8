/* What Kafka's tools add to SCRAM (cli/scram.h); the crypto is auth/scram.c's. */
#include "cli/scram.h"

#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int rn__scram_mech(const char *name)
{
	if (strcasecmp(name, "SCRAM-SHA-256") == 0)
		return RN_SCRAM_SHA_256;
	if (strcasecmp(name, "SCRAM-SHA-512") == 0)
		return RN_SCRAM_SHA_512;
	return RN_SCRAM_UNKNOWN;
}

const char *rn__scram_mech_name(int mech)
{
	return mech == RN_SCRAM_SHA_256   ? "SCRAM-SHA-256"
	       : mech == RN_SCRAM_SHA_512 ? "SCRAM-SHA-512"
					  : "UNKNOWN";
}

int rn__scram_salt(char *out, size_t len)
{
	/* 130 random bits as a big number, written in base 36 by repeated division. */
	uint8_t r[17];
	if (len < 2 || RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	r[0] &= 0x03;
	char digits[40];
	int n = 0;
	for (;;) {
		bool zero = true;
		unsigned rem = 0;
		for (size_t i = 0; i < sizeof(r); i++) {
			unsigned cur = rem << 8 | r[i];
			r[i] = (uint8_t)(cur / 36);
			rem = cur % 36;
			zero = zero && r[i] == 0;
		}
		digits[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[rem];
		if (zero || n == (int)sizeof(digits))
			break;
	}
	int k = 0;
	while (n > 0 && (size_t)k + 1 < len)
		out[k++] = digits[--n];
	out[k] = '\0';
	return k;
}

int rn__scram_salted(int mech, const char *password, const uint8_t *salt, size_t saltlen,
		     int iterations, uint8_t *out)
{
	return rn_scram_hi((enum rn_scram_mech)mech, password, strlen(password), salt, saltlen,
			   iterations, out);
}
