/* SCRAM primitives, stored credentials and base64 (scram.h). */
#include "auth/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"

const char *rn_scram_mech_name(enum rn_scram_mech m)
{
	switch (m) {
	case RN_SCRAM_SHA_256: return "SCRAM-SHA-256";
	case RN_SCRAM_SHA_512: return "SCRAM-SHA-512";
	default: return NULL;
	}
}

enum rn_scram_mech rn_scram_mech_parse(const char *name)
{
	if (!name)
		return RN_SCRAM_UNKNOWN;
	if (strcmp(name, "SCRAM-SHA-256") == 0)
		return RN_SCRAM_SHA_256;
	if (strcmp(name, "SCRAM-SHA-512") == 0)
		return RN_SCRAM_SHA_512;
	return RN_SCRAM_UNKNOWN;
}

size_t rn_scram_hash_len(enum rn_scram_mech m)
{
	return m == RN_SCRAM_SHA_256 ? 32 : m == RN_SCRAM_SHA_512 ? 64 : 0;
}

static const EVP_MD *md(enum rn_scram_mech m)
{
	return m == RN_SCRAM_SHA_256 ? EVP_sha256() : m == RN_SCRAM_SHA_512 ? EVP_sha512() : NULL;
}

int rn_scram_hmac(enum rn_scram_mech m, const void *key, size_t klen, const void *data, size_t dlen,
		  uint8_t *out)
{
	unsigned int n = 0;
	if (!md(m) || klen > INT32_MAX)
		return -1;
	return HMAC(md(m), key, (int)klen, data, dlen, out, &n) ? 0 : -1;
}

int rn_scram_hash(enum rn_scram_mech m, const void *data, size_t len, uint8_t *out)
{
	unsigned int n = 0;
	if (!md(m))
		return -1;
	return EVP_Digest(data, len, out, &n, md(m), NULL) == 1 ? 0 : -1;
}

int rn_scram_hi(enum rn_scram_mech m, const char *pw, size_t pwlen, const uint8_t *salt,
		size_t saltlen, int32_t iterations, uint8_t *out)
{
	if (!md(m) || pwlen > INT32_MAX || saltlen > INT32_MAX || iterations < 1)
		return -1;
	return PKCS5_PBKDF2_HMAC(pw, (int)pwlen, salt, (int)saltlen, iterations, md(m),
				 (int)rn_scram_hash_len(m), out) == 1
		   ? 0
		   : -1;
}

int rn_scram_cred_from_salted(enum rn_scram_mech m, const uint8_t *salted, const uint8_t *salt,
			      size_t saltlen, int32_t iterations, struct rn_scram_cred *out)
{
	size_t h = rn_scram_hash_len(m);
	uint8_t client_key[RN_SCRAM_MAX_HASH];
	if (!h || saltlen > RN_SCRAM_MAX_SALT)
		return RN_EINVALID;
	memset(out, 0, sizeof(*out));
	out->mech = m;
	out->iterations = iterations;
	out->salt_len = saltlen;
	memcpy(out->salt, salt, saltlen);
	if (rn_scram_hmac(m, salted, h, "Client Key", 10, client_key) < 0 ||
	    rn_scram_hash(m, client_key, h, out->stored_key) < 0 ||
	    rn_scram_hmac(m, salted, h, "Server Key", 10, out->server_key) < 0)
		return RN_EINVALID;
	OPENSSL_cleanse(client_key, sizeof(client_key));
	return 0;
}

int rn_scram_cred_from_password(enum rn_scram_mech m, const char *pw, size_t pwlen,
				const uint8_t *salt, size_t saltlen, int32_t iterations,
				struct rn_scram_cred *out)
{
	uint8_t salted[RN_SCRAM_MAX_HASH];
	if (!rn_scram_hash_len(m) ||
	    rn_scram_hi(m, pw, pwlen, salt, saltlen, iterations, salted) < 0)
		return RN_EINVALID;
	int rc = rn_scram_cred_from_salted(m, salted, salt, saltlen, iterations, out);
	OPENSSL_cleanse(salted, sizeof(salted));
	return rc;
}

int rn_scram_cred_format(const struct rn_scram_cred *c, char *buf, size_t cap)
{
	char salt[RN_B64_LEN(RN_SCRAM_MAX_SALT) + 1], sk[RN_B64_LEN(RN_SCRAM_MAX_HASH) + 1],
	    vk[RN_B64_LEN(RN_SCRAM_MAX_HASH) + 1];
	size_t h = rn_scram_hash_len(c->mech);
	rn_b64_encode(c->salt, c->salt_len, salt);
	rn_b64_encode(c->stored_key, h, sk);
	rn_b64_encode(c->server_key, h, vk);
	int n = snprintf(buf, cap, "salt=%s,stored_key=%s,server_key=%s,iterations=%d", salt, sk,
			 vk, (int)c->iterations);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int rn_scram_cred_parse(const char *s, enum rn_scram_mech m, struct rn_scram_cred *out)
{
	size_t h = rn_scram_hash_len(m), n;
	bool have_salt = false, have_sk = false, have_vk = false, have_it = false;
	if (!h || !s)
		return RN_EINVALID;
	memset(out, 0, sizeof(*out));
	out->mech = m;
	while (*s) {
		const char *eq = strchr(s, '='), *end = strchr(s, ',');
		if (!end)
			end = s + strlen(s);
		if (!eq || eq > end)
			return RN_EINVALID;
		size_t klen = (size_t)(eq - s), vlen = (size_t)(end - eq - 1);
		const char *v = eq + 1;
		if (klen == 4 && !strncmp(s, "salt", 4)) {
			have_salt = rn_b64_decode(v, vlen, out->salt, sizeof(out->salt),
						  &out->salt_len) == 0;
		} else if (klen == 10 && !strncmp(s, "stored_key", 10)) {
			have_sk = rn_b64_decode(v, vlen, out->stored_key, h, &n) == 0 && n == h;
		} else if (klen == 10 && !strncmp(s, "server_key", 10)) {
			have_vk = rn_b64_decode(v, vlen, out->server_key, h, &n) == 0 && n == h;
		} else if (klen == 10 && !strncmp(s, "iterations", 10)) {
			char num[16];
			if (vlen == 0 || vlen >= sizeof(num))
				return RN_EINVALID;
			memcpy(num, v, vlen);
			num[vlen] = 0;
			char *e;
			long it = strtol(num, &e, 10);
			have_it = *e == 0 && it > 0 && it <= INT32_MAX;
			out->iterations = (int32_t)it;
		}
		s = *end ? end + 1 : end;
	}
	return have_salt && have_sk && have_vk && have_it ? 0 : RN_EINVALID;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t rn_b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = 0;
	return o;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int rn_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t o = 0;
	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int pad = 0;
		uint32_t v = 0;
		for (int j = 0; j < 4; j++) {
			char c = in[i + j];
			int d;
			/* '=' only in the last two places of the last quantum, and "=x" is not. */
			if (c == '=' && i + 4 == n && j >= 2 && (j == 3 || in[i + 3] == '=')) {
				pad++;
				d = 0;
			} else if (pad || (d = b64val(c)) < 0) {
				return -1;
			}
			v = v << 6 | (uint32_t)d;
		}
		size_t take = 3 - (size_t)pad;
		if (o + take > cap)
			return -1;
		out[o++] = (uint8_t)(v >> 16);
		if (take > 1)
			out[o++] = (uint8_t)(v >> 8);
		if (take > 2)
			out[o++] = (uint8_t)v;
	}
	*outlen = o;
	return 0;
}

bool rn_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
