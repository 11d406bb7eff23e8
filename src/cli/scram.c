/* SCRAM's crypto for the CLI, on OpenSSL. */
#include "cli/scram.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
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

size_t rn__scram_hash_len(int mech)
{
	return mech == RN_SCRAM_SHA_256 ? 32 : mech == RN_SCRAM_SHA_512 ? 64 : 0;
}

static const EVP_MD *md(int mech)
{
	return mech == RN_SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
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
	size_t n = rn__scram_hash_len(mech);
	if (!n || iterations < 1)
		return -1;
	return PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltlen, iterations,
				 md(mech), (int)n, out) == 1
		   ? 0
		   : -1;
}

void rn__scram_hmac(int mech, const uint8_t *key, size_t klen, const void *msg, size_t mlen,
		    uint8_t *out)
{
	unsigned int n = 0;
	HMAC(md(mech), key, (int)klen, msg, mlen, out, &n);
}

void rn__scram_hash(int mech, const uint8_t *p, size_t n, uint8_t *out)
{
	unsigned int k = 0;
	EVP_Digest(p, n, out, &k, md(mech), NULL);
}
