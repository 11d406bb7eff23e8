/* Server side of a SCRAM exchange (scram_server.h). */
#include "auth/scram_server.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

void rn_scram_server_init(struct rn_scram_server *s, enum rn_scram_mech m)
{
	memset(s, 0, sizeof(*s));
	s->mech = m;
}

void rn_scram_server_reset(struct rn_scram_server *s)
{
	enum rn_scram_mech m = s->mech;
	rn_free(s->auth_prefix);
	OPENSSL_cleanse(s, sizeof(*s));
	rn_scram_server_init(s, m);
}

int rn_scram_server_first(struct rn_scram_server *s, const char *in, size_t len,
			  rn_scram_lookup_fn lookup, void *arg, const char *server_nonce, char *out,
			  size_t cap, size_t *outlen, const char **why)
{
	struct rn_scram_client_first cf;
	*why = "unexpected SCRAM message";
	if (s->state != 0)
		return -1;
	*why = "malformed SCRAM client-first message";
	if (rn_scram_parse_client_first(in, len, &cf) < 0)
		return -1;
	if (cf.gs2_len > RN_SCRAM_MAX_NAME + 8 || cf.nonce_len > RN_SCRAM_MAX_NONCE)
		return -1;
	if (cf.tokenauth) {
		*why = "delegation tokens are not supported";
		return -1;
	}
	/* Kafka accepts an authzid only when it names the user itself. */
	if (cf.authzid[0] && strcmp(cf.authzid, cf.user) != 0) {
		*why = "authorization id differs from the user name";
		return -1;
	}
	char snonce[64];
	if (!server_nonce) {
		uint8_t rnd[24];
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			*why = "no randomness";
			return -1;
		}
		rn_b64_encode(rnd, sizeof(rnd), snonce);
		server_nonce = snonce;
	}
	size_t sn = strlen(server_nonce);
	if (sn > RN_SCRAM_MAX_NONCE) {
		*why = "server nonce too long";
		return -1;
	}
	memcpy(s->nonce, cf.nonce, cf.nonce_len);
	memcpy(s->nonce + cf.nonce_len, server_nonce, sn);
	s->nonce_len = cf.nonce_len + sn;
	s->nonce[s->nonce_len] = 0;
	snprintf(s->user, sizeof(s->user), "%s", cf.user);
	s->known = lookup(arg, s->mech, s->user, &s->cred);
	rn_b64_encode((const uint8_t *)cf.gs2, cf.gs2_len, s->gs2_b64);

	char salt[RN_B64_LEN(RN_SCRAM_MAX_SALT) + 1];
	rn_b64_encode(s->cred.salt, s->cred.salt_len, salt);
	int n = snprintf(out, cap, "r=%s,s=%s,i=%d", s->nonce, salt, (int)s->cred.iterations);
	if (n < 0 || (size_t)n >= cap) {
		*why = "server-first message too long";
		return -1;
	}
	*outlen = (size_t)n;
	s->auth_prefix_len = cf.bare_len + 1 + (size_t)n;
	s->auth_prefix = rn_malloc(s->auth_prefix_len + 1);
	memcpy(s->auth_prefix, cf.bare, cf.bare_len);
	s->auth_prefix[cf.bare_len] = ',';
	memcpy(s->auth_prefix + cf.bare_len + 1, out, (size_t)n);
	s->auth_prefix[s->auth_prefix_len] = 0;
	s->state = 1;
	return 0;
}

int rn_scram_server_final(struct rn_scram_server *s, const char *in, size_t len, char *out,
			  size_t cap, size_t *outlen, const char **why)
{
	struct rn_scram_client_final cf;
	size_t h = rn_scram_hash_len(s->mech);
	*why = "unexpected SCRAM message";
	if (s->state != 1)
		return -1;
	s->state = 2;
	*why = "malformed SCRAM client-final message";
	if (rn_scram_parse_client_final(in, len, &cf) < 0)
		return -1;
	*why = "channel binding does not match the gs2 header";
	if (cf.cbind_len != strlen(s->gs2_b64) || memcmp(cf.cbind, s->gs2_b64, cf.cbind_len) != 0)
		return -1;
	*why = "nonce mismatch";
	/* Kafka checks that the nonce ENDS with ours: librdkafka sends its own nonce again in
	 * front of the server's (which already starts with it). */
	if (cf.nonce_len < s->nonce_len ||
	    memcmp(cf.nonce + cf.nonce_len - s->nonce_len, s->nonce, s->nonce_len) != 0)
		return -1;
	*why = "invalid credentials";
	if (cf.proof_len != h)
		return -1;

	/* AuthMessage = client-first-bare "," server-first "," client-final-without-proof. */
	size_t alen = s->auth_prefix_len + 1 + cf.without_proof_len;
	char *am = rn_malloc(alen);
	memcpy(am, s->auth_prefix, s->auth_prefix_len);
	am[s->auth_prefix_len] = ',';
	memcpy(am + s->auth_prefix_len + 1, cf.without_proof, cf.without_proof_len);

	uint8_t csig[RN_SCRAM_MAX_HASH], ckey[RN_SCRAM_MAX_HASH], stored[RN_SCRAM_MAX_HASH],
	    ssig[RN_SCRAM_MAX_HASH];
	int rc = -1;
	if (rn_scram_hmac(s->mech, s->cred.stored_key, h, am, alen, csig) < 0)
		goto out;
	for (size_t i = 0; i < h; i++)
		ckey[i] = cf.proof[i] ^ csig[i];
	if (rn_scram_hash(s->mech, ckey, h, stored) < 0 ||
	    rn_scram_hmac(s->mech, s->cred.server_key, h, am, alen, ssig) < 0)
		goto out;
	/* Both checks always run: the work is the same for a fake credential. */
	bool ok = rn_ct_equal(stored, s->cred.stored_key, h);
	if (!(ok & s->known))
		goto out;
	char sig[RN_B64_LEN(RN_SCRAM_MAX_HASH) + 1];
	rn_b64_encode(ssig, h, sig);
	int n = snprintf(out, cap, "v=%s", sig);
	if (n < 0 || (size_t)n >= cap) {
		*why = "server-final message too long";
		goto out;
	}
	*outlen = (size_t)n;
	rc = 0;
out:
	OPENSSL_cleanse(ckey, sizeof(ckey));
	OPENSSL_cleanse(am, alen);
	rn_free(am);
	return rc;
}
