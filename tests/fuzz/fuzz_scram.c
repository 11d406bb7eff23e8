/*
 * Fuzzes what a SASL client controls in SCRAM: the four message parsers, and a whole server
 * exchange (client-first, then client-final) against a fixed credential. Input: one selector
 * byte, then the message; for the exchange (selector >= 4) the two client messages separated
 * by a NUL byte. Nothing may crash, read out of bounds or leak; a successful exchange would
 * need the real proof, so it must never happen here unless the input carries it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/scram.h"
#include "auth/scram_msg.h"
#include "auth/scram_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool lookup(void *arg, enum rn_scram_mech m, const char *user, struct rn_scram_cred *out)
{
	(void)arg;
	static const uint8_t salt[16] = "fuzz-salt-16byte";
	rn_scram_cred_from_password(m, "pencil", 6, salt, sizeof(salt), 4096, out);
	return strcmp(user, "user") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	size_t n = size - 1;
	/* An exact-size copy so ASan sees any overread. */
	char *msg = malloc(n ? n : 1);
	if (n)
		memcpy(msg, data + 1, n);
	struct rn_scram_client_first cf;
	struct rn_scram_client_final fin;
	struct rn_scram_server_first sf;
	uint8_t sig[RN_SCRAM_MAX_HASH];
	size_t siglen, elen;
	const char *e;
	switch (sel) {
	case 0: rn_scram_parse_client_first(msg, n, &cf); break;
	case 1: rn_scram_parse_client_final(msg, n, &fin); break;
	case 2: rn_scram_parse_server_first(msg, n, &sf); break;
	case 3: rn_scram_parse_server_final(msg, n, sig, sizeof(sig), &siglen, &e, &elen); break;
	default: {
		const char *nul = memchr(msg, 0, n);
		size_t n1 = nul ? (size_t)(nul - msg) : n;
		struct rn_scram_server s;
		char out[RN_SCRAM_SERVER_OUT_MAX];
		size_t outlen;
		const char *why;
		rn_scram_server_init(&s, sel & 1 ? RN_SCRAM_SHA_512 : RN_SCRAM_SHA_256);
		if (rn_scram_server_first(&s, msg, n1, lookup, NULL, "fixed-server-nonce", out,
					  sizeof(out), &outlen, &why) == 0 &&
		    nul)
			rn_scram_server_final(&s, nul + 1, n - n1 - 1, out, sizeof(out), &outlen,
					      &why);
		rn_scram_server_reset(&s);
	}
	}
	free(msg);
	return 0;
}
