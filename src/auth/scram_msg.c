/* SCRAM message parsing (scram_msg.h). */
#include "auth/scram_msg.h"

#include <string.h>

/* One "x=value" attribute at p (up to the next ',' or end). */
struct attr {
	char name;
	const char *val;
	size_t len;
};

/* Reads the attribute starting at *p; advances *p past it and its ','. -1 if malformed. */
static int next_attr(const char **p, const char *end, struct attr *a)
{
	const char *s = *p;
	if (end - s < 2 || s[1] != '=')
		return -1;
	a->name = s[0];
	a->val = s + 2;
	const char *c = memchr(a->val, ',', (size_t)(end - a->val));
	a->len = (size_t)((c ? c : end) - a->val);
	*p = c ? c + 1 : end;
	if (c && c + 1 == end)
		return -1; /* a trailing comma */
	return 0;
}

/* Printable ASCII without NUL: SCRAM values never carry control bytes. */
static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static bool valid_nonce(const char *s, size_t n)
{
	return n > 0 && n <= 4 * RN_SCRAM_MAX_NONCE && printable(s, n);
}

/* saslname -> name: "=2C" is ',', "=3D" is '=', any other '=' is malformed. */
static int saslname_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '=') {
			if (n - i < 3)
				return -1;
			if (s[i + 1] == '2' && s[i + 2] == 'C')
				c = ',';
			else if (s[i + 1] == '3' && s[i + 2] == 'D')
				c = '=';
			else
				return -1;
			i += 2;
		} else if (c == ',' || c == 0) {
			return -1;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = 0;
	return 0;
}

int rn_scram_saslname(const char *user, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = user; *p; p++) {
		const char *rep = *p == ',' ? "=2C" : *p == '=' ? "=3D" : NULL;
		size_t k = rep ? 3 : 1;
		if (o + k >= cap)
			return -1;
		if (rep)
			memcpy(out + o, rep, 3);
		else
			out[o] = *p;
		o += k;
	}
	out[o] = 0;
	return (int)o;
}

int rn_scram_parse_client_first(const char *msg, size_t len, struct rn_scram_client_first *out)
{
	const char *p = msg, *end = msg + len;
	memset(out, 0, sizeof(*out));
	if (!printable(msg, len) || len < 3)
		return -1;
	/* gs2-cbind-flag: "n" (no support) or "y" (client thinks we lack it); "p=" binds a
	 * channel, which SCRAM-*-PLUS would need and Kafka does not offer. */
	if (p[0] != 'n' && p[0] != 'y')
		return -1;
	if (p[1] != ',')
		return -1;
	p += 2;
	if (p < end && *p == 'a') {
		if (end - p < 2 || p[1] != '=')
			return -1;
		const char *c = memchr(p, ',', (size_t)(end - p));
		if (!c || saslname_decode(p + 2, (size_t)(c - p - 2), out->authzid,
					  sizeof(out->authzid)) < 0)
			return -1;
		p = c;
	}
	if (p >= end || *p != ',')
		return -1;
	p++;
	out->gs2 = msg;
	out->gs2_len = (size_t)(p - msg);
	out->bare = p;
	out->bare_len = (size_t)(end - p);
	struct attr a;
	/* 'm' (reserved mandatory extension) is refused by requiring 'n' first. */
	if (next_attr(&p, end, &a) < 0 || a.name != 'n' || a.len == 0 ||
	    saslname_decode(a.val, a.len, out->user, sizeof(out->user)) < 0)
		return -1;
	if (next_attr(&p, end, &a) < 0 || a.name != 'r' || !valid_nonce(a.val, a.len))
		return -1;
	out->nonce = a.val;
	out->nonce_len = a.len;
	/* Extensions (Kafka: "tokenauth=true" and its others, RFC 7677 section 2 allows
	 * key=value ones): remembered only when they matter. */
	while (p < end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t n = (size_t)((c ? c : end) - p);
		if (n == 0 || !memchr(p, '=', n))
			return -1;
		if (n == 14 && memcmp(p, "tokenauth=true", 14) == 0)
			out->tokenauth = true;
		if (c && c + 1 == end)
			return -1;
		p = c ? c + 1 : end;
	}
	return 0;
}

int rn_scram_parse_client_final(const char *msg, size_t len, struct rn_scram_client_final *out)
{
	const char *p = msg, *end = msg + len;
	struct attr a;
	memset(out, 0, sizeof(*out));
	if (!printable(msg, len))
		return -1;
	if (next_attr(&p, end, &a) < 0 || a.name != 'c' || a.len == 0)
		return -1;
	out->cbind = a.val;
	out->cbind_len = a.len;
	if (next_attr(&p, end, &a) < 0 || a.name != 'r' || !valid_nonce(a.val, a.len))
		return -1;
	out->nonce = a.val;
	out->nonce_len = a.len;
	/* Optional extensions, then the proof, which is last. */
	for (;;) {
		const char *start = p;
		if (next_attr(&p, end, &a) < 0)
			return -1;
		if (a.name == 'p') {
			if (p != end)
				return -1;
			out->without_proof = msg;
			out->without_proof_len = (size_t)(start - 1 - msg);
			return rn_b64_decode(a.val, a.len, out->proof, sizeof(out->proof),
					     &out->proof_len) < 0 ||
				       out->proof_len == 0
				   ? -1
				   : 0;
		}
		if (p >= end)
			return -1;
	}
}

int rn_scram_parse_server_first(const char *msg, size_t len, struct rn_scram_server_first *out)
{
	const char *p = msg, *end = msg + len;
	struct attr a;
	memset(out, 0, sizeof(*out));
	if (!printable(msg, len))
		return -1;
	if (next_attr(&p, end, &a) < 0 || a.name != 'r' || !valid_nonce(a.val, a.len))
		return -1;
	out->nonce = a.val;
	out->nonce_len = a.len;
	if (next_attr(&p, end, &a) < 0 || a.name != 's' ||
	    rn_b64_decode(a.val, a.len, out->salt, sizeof(out->salt), &out->salt_len) < 0 ||
	    out->salt_len == 0)
		return -1;
	if (next_attr(&p, end, &a) < 0 || a.name != 'i' || a.len == 0 || a.len > 9)
		return -1;
	int32_t it = 0;
	for (size_t i = 0; i < a.len; i++) {
		if (a.val[i] < '0' || a.val[i] > '9')
			return -1;
		it = it * 10 + (a.val[i] - '0');
	}
	if (it <= 0)
		return -1;
	out->iterations = it;
	return 0;
}

int rn_scram_parse_server_final(const char *msg, size_t len, uint8_t *sig, size_t cap,
				size_t *siglen, const char **err, size_t *errlen)
{
	const char *p = msg, *end = msg + len;
	struct attr a;
	*err = NULL;
	*errlen = 0;
	if (!printable(msg, len) || next_attr(&p, end, &a) < 0)
		return -1;
	if (a.name == 'e') {
		*err = a.val;
		*errlen = a.len;
		return -1;
	}
	if (a.name != 'v')
		return -1;
	return rn_b64_decode(a.val, a.len, sig, cap, siglen) < 0 ? -1 : 0;
}
