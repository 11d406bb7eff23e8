/* SASL client: PLAIN and SCRAM (sasl_client.h). */
#include "auth/sasl_client.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "auth/scram.h"
#include "auth/scram_msg.h"
#include "core/alloc.h"
#include "core/err.h"

#define RESP_MAX 2048

static int plain(const char *user, const char *pw, rn_sasl_xfer_fn xfer, void *arg)
{
	size_t ul = strlen(user), pl = strlen(pw), n = 1 + ul + 1 + pl;
	uint8_t *tok = rn_malloc(n), resp[RESP_MAX];
	size_t rlen = 0;
	/* Empty authzid, as librdkafka sends. */
	tok[0] = 0;
	memcpy(tok + 1, user, ul);
	tok[1 + ul] = 0;
	memcpy(tok + 2 + ul, pw, pl);
	int rc = xfer(arg, tok, n, resp, sizeof(resp), &rlen);
	OPENSSL_cleanse(tok, n);
	rn_free(tok);
	return rc;
}

static int scram(enum rn_scram_mech m, const char *user, const char *pw, const char *cnonce,
		 rn_sasl_xfer_fn xfer, void *arg, char *err, size_t errlen)
{
	char name[3 * RN_SCRAM_MAX_NAME], nonce[64], first[4 * RN_SCRAM_MAX_NAME];
	uint8_t resp[RESP_MAX + 1];
	size_t rlen = 0, h = rn_scram_hash_len(m);
	if (rn_scram_saslname(user, name, sizeof(name)) < 0) {
		snprintf(err, errlen, "user name too long");
		return -EACCES;
	}
	if (!cnonce) {
		uint8_t rnd[18];
		RAND_bytes(rnd, sizeof(rnd));
		rn_b64_encode(rnd, sizeof(rnd), nonce);
		cnonce = nonce;
	}
	int n = snprintf(first, sizeof(first), "n,,n=%s,r=%s", name, cnonce);
	if (n < 0 || (size_t)n >= sizeof(first))
		return -EACCES;
	int rc = xfer(arg, (const uint8_t *)first, (size_t)n, resp, RESP_MAX, &rlen);
	if (rc < 0)
		return rc;
	resp[rlen] = 0;
	struct rn_scram_server_first sf;
	size_t cn = strlen(cnonce);
	if (rn_scram_parse_server_first((const char *)resp, rlen, &sf) < 0 || sf.nonce_len <= cn ||
	    memcmp(sf.nonce, cnonce, cn) != 0) {
		snprintf(err, errlen, "malformed SCRAM server-first message");
		return -EACCES;
	}
	if (sf.iterations > 1000000) {
		snprintf(err, errlen, "SCRAM iteration count %d too large", (int)sf.iterations);
		return -EACCES;
	}
	/* AuthMessage = client-first-bare "," server-first "," client-final-without-proof. */
	size_t cap = (size_t)n + rlen + sf.nonce_len + 64;
	char *am = rn_malloc(cap), *final = rn_malloc(cap + RN_B64_LEN(RN_SCRAM_MAX_HASH));
	int wl = snprintf(final, cap, "c=biws,r=%.*s", (int)sf.nonce_len, sf.nonce);
	int al = snprintf(am, cap, "%s,%.*s,%s", first + 3, (int)rlen, (const char *)resp, final);
	uint8_t salted[RN_SCRAM_MAX_HASH], ckey[RN_SCRAM_MAX_HASH], stored[RN_SCRAM_MAX_HASH],
	    csig[RN_SCRAM_MAX_HASH], skey[RN_SCRAM_MAX_HASH], ssig[RN_SCRAM_MAX_HASH];
	rc = -EACCES;
	if (rn_scram_hi(m, pw, strlen(pw), sf.salt, sf.salt_len, sf.iterations, salted) < 0 ||
	    rn_scram_hmac(m, salted, h, "Client Key", 10, ckey) < 0 ||
	    rn_scram_hash(m, ckey, h, stored) < 0 ||
	    rn_scram_hmac(m, stored, h, am, (size_t)al, csig) < 0 ||
	    rn_scram_hmac(m, salted, h, "Server Key", 10, skey) < 0 ||
	    rn_scram_hmac(m, skey, h, am, (size_t)al, ssig) < 0)
		goto out;
	uint8_t proof[RN_SCRAM_MAX_HASH];
	for (size_t i = 0; i < h; i++)
		proof[i] = ckey[i] ^ csig[i];
	memcpy(final + wl, ",p=", 3);
	size_t pl = rn_b64_encode(proof, h, final + wl + 3);
	rc = xfer(arg, (const uint8_t *) final, (size_t)wl + 3 + pl, resp, RESP_MAX, &rlen);
	if (rc < 0)
		goto out;
	rc = -EACCES;
	uint8_t sig[RN_SCRAM_MAX_HASH];
	size_t siglen = 0, elen = 0;
	const char *e = NULL;
	if (rn_scram_parse_server_final((const char *)resp, rlen, sig, sizeof(sig), &siglen, &e,
					&elen) < 0) {
		snprintf(err, errlen, "SCRAM server-final: %.*s", e ? (int)elen : 9,
			 e ? e : "malformed");
		goto out;
	}
	if (siglen != h || !rn_ct_equal(sig, ssig, h)) {
		snprintf(err, errlen, "the server's SCRAM signature is wrong");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(ckey, sizeof(ckey));
	rn_free(am);
	rn_free(final);
	return rc;
}

int rn_sasl_client_auth(const char *mechanism, const char *user, const char *password,
			const char *client_nonce, rn_sasl_xfer_fn xfer, void *arg, char *err,
			size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	if (strcmp(mechanism, "PLAIN") == 0)
		return plain(user, password, xfer, arg);
	enum rn_scram_mech m = rn_scram_mech_parse(mechanism);
	if (!m)
		return RN_EUNSUPPORTED;
	return scram(m, user, password, client_nonce, xfer, arg, err, errlen);
}
