/* The broker's SASL server: listeners' mechanisms, the exchange, PLAIN (sasl.h). */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/sasl_int.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

static const struct {
	const char *name;
	unsigned bit;
} mechs[] = {
    {"PLAIN", RN_SASL_PLAIN},
    {"SCRAM-SHA-256", RN_SASL_SCRAM_SHA_256},
    {"SCRAM-SHA-512", RN_SASL_SCRAM_SHA_512},
};
#define NMECHS 3

static unsigned mech_bit(const char *name)
{
	for (int i = 0; i < NMECHS; i++)
		if (strcmp(name, mechs[i].name) == 0)
			return mechs[i].bit;
	return 0;
}

static const char *mech_name(unsigned bit)
{
	for (int i = 0; i < NMECHS; i++)
		if (mechs[i].bit == bit)
			return mechs[i].name;
	return "?";
}

static enum rn_scram_mech scram_of(unsigned bit)
{
	return bit == RN_SASL_SCRAM_SHA_256   ? RN_SCRAM_SHA_256
	       : bit == RN_SASL_SCRAM_SHA_512 ? RN_SCRAM_SHA_512
					      : RN_SCRAM_UNKNOWN;
}

struct rn_sasl_server *rn_sasl_server_new(struct rn_meta *meta)
{
	struct rn_sasl_server *srv = rn_calloc(1, sizeof(*srv));
	srv->meta = meta;
	pthread_mutex_init(&srv->lock, NULL);
	for (int i = 0; i < RN_SASL_MAX_LISTENERS; i++)
		srv->listeners[i].mechs = RN_SASL_ALL;
	rn__sasl_creds_init(srv);
	rn_session_set_free_hooks(rn_sasl_free, NULL);
	return srv;
}

void rn_sasl_server_free(struct rn_sasl_server *srv)
{
	if (!srv)
		return;
	for (int i = 0; i < RN_SASL_MAX_LISTENERS; i++)
		rn__jaas_free(srv->listeners[i].users, srv->listeners[i].nusers);
	rn__sasl_creds_free(srv);
	pthread_mutex_destroy(&srv->lock);
	OPENSSL_cleanse(srv->secret, sizeof(srv->secret));
	rn_free(srv);
}

int rn_sasl_server_listener(struct rn_sasl_server *srv, int i, const char *mechanisms,
			    const char *plain_jaas, char *err, size_t errlen)
{
	if (i < 0 || i >= RN_SASL_MAX_LISTENERS) {
		snprintf(err, errlen, "at most %d SASL listeners", RN_SASL_MAX_LISTENERS);
		return -EINVAL;
	}
	struct rn__sasl_listener *l = &srv->listeners[i];
	unsigned set = 0;
	const char *p = mechanisms ? mechanisms : RN_SASL_DEFAULT_MECHANISMS;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t n = strcspn(p, ", ");
		if (!n)
			break;
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		unsigned bit = mech_bit(name);
		if (!bit)
			rn_warn("sasl.enabled.mechanisms: %s is not supported by runnel; ignored "
				"(supported: %s)",
				name, RN_SASL_DEFAULT_MECHANISMS);
		set |= bit;
		p += n;
	}
	if (!set) {
		snprintf(
		    err, errlen,
		    "sasl.enabled.mechanisms '%s' names none of the mechanisms runnel has (%s)",
		    mechanisms ? mechanisms : "", RN_SASL_DEFAULT_MECHANISMS);
		return -EINVAL;
	}
	struct rn__jaas_user *users = NULL;
	int n = 0;
	if (plain_jaas && rn__jaas_parse(plain_jaas, &users, &n, err, errlen) < 0)
		return -EINVAL;
	rn__jaas_free(l->users, l->nusers);
	l->mechs = set;
	l->users = users;
	l->nusers = n;
	return 0;
}

void rn_sasl_server_set_reauth_ms(struct rn_sasl_server *srv, int64_t ms)
{
	srv->reauth_ms = ms > 0 ? ms : 0;
}

static const struct rn__sasl_listener *listener_of(const struct rn_sasl_server *srv, int i)
{
	return &srv->listeners[i >= 0 && i < RN_SASL_MAX_LISTENERS ? i : 0];
}

int rn_sasl_mechanisms(const struct rn_sasl_server *srv, int i, const char **names, int cap)
{
	int n = 0;
	unsigned set = listener_of(srv, i)->mechs;
	for (int k = 0; k < NMECHS && n < cap; k++)
		if (set & mechs[k].bit)
			names[n++] = mechs[k].name;
	return n;
}

void rn_sasl_server_stats(const struct rn_sasl_server *srv, uint64_t *ok, uint64_t *failed,
			  uint64_t *reauth)
{
	*ok = atomic_load(&srv->ok);
	*failed = atomic_load(&srv->failed);
	*reauth = atomic_load(&srv->reauth);
}

void rn_sasl_free(struct rn_sasl *x)
{
	if (!x)
		return;
	rn_scram_server_reset(&x->scram);
	rn_free(x);
}

int rn_sasl_begin(struct rn_sasl_server *srv, struct rn_session *s, const char *mechanism,
		  int handshake_version)
{
	if (s->sasl && s->sasl->state != RN__SASL_IDLE)
		return RN_EINVALID;
	unsigned bit = mechanism ? mech_bit(mechanism) : 0;
	if (!bit || !(listener_of(srv, s->listener)->mechs & bit))
		return RN_EUNSUPPORTED;
	if (!s->sasl)
		s->sasl = rn_calloc(1, sizeof(*s->sasl));
	struct rn_sasl *x = s->sasl;
	rn_scram_server_reset(&x->scram);
	x->mech = bit;
	x->hs_version = handshake_version;
	x->state = RN__SASL_TOKEN;
	if (scram_of(bit))
		rn_scram_server_init(&x->scram, scram_of(bit));
	return 0;
}

bool rn_sasl_expecting_token(const struct rn_session *s)
{
	return s->sasl && s->sasl->state == RN__SASL_TOKEN;
}

bool rn_sasl_raw_pending(const struct rn_session *s)
{
	return rn_sasl_expecting_token(s) && s->sasl->hs_version == 0;
}

int64_t rn_sasl_session_lifetime_ms(const struct rn_session *s)
{
	return s->sasl ? s->sasl->lifetime_ms : 0;
}

bool rn_sasl_session_expired(const struct rn_session *s, int64_t now_ms)
{
	return s->reauth_deadline_ms > 0 && now_ms >= s->reauth_deadline_ms;
}

/* HMACs of both sides under the secret, compared in constant time: neither the length nor
 * the content of the stored password shows in the time taken. */
static bool same_password(const struct rn_sasl_server *srv, const char *a, size_t alen,
			  const char *b, size_t blen)
{
	uint8_t ha[32], hb[32];
	if (rn_scram_hmac(RN_SCRAM_SHA_256, srv->secret, sizeof(srv->secret), a, alen, ha) < 0 ||
	    rn_scram_hmac(RN_SCRAM_SHA_256, srv->secret, sizeof(srv->secret), b, blen, hb) < 0)
		return false;
	return rn_ct_equal(ha, hb, sizeof(ha));
}

/* PLAIN: "authzid NUL user NUL password" (RFC 4616). Checked against the listener's JAAS
 * users and against the stored SCRAM credential (SHA-256 first), always both, so the time
 * does not depend on where (or whether) the user is found. */
static int plain_check(struct rn_sasl_server *srv, const struct rn_session *s, const uint8_t *in,
		       size_t len, char *user, size_t usercap, const char **why)
{
	const char *p = (const char *)in, *end = p + len;
	const char *n1 = memchr(p, 0, len);
	const char *n2 = n1 ? memchr(n1 + 1, 0, (size_t)(end - n1 - 1)) : NULL;
	*why = "Authentication failed: Invalid SASL/PLAIN response: expected 3 tokens";
	if (!n1 || !n2 || memchr(n2 + 1, 0, (size_t)(end - n2 - 1)))
		return -1;
	size_t zlen = (size_t)(n1 - p), ulen = (size_t)(n2 - n1 - 1), plen = (size_t)(end - n2 - 1);
	const char *u = n1 + 1, *pw = n2 + 1;
	*why = "Authentication failed: username not specified";
	if (ulen == 0 || ulen >= usercap || ulen >= RN_SCRAM_MAX_NAME)
		return -1;
	*why = "Authentication failed: password not specified";
	if (plen == 0)
		return -1;
	*why = "Authentication failed: Client requested an authorization id that is different "
	       "from username";
	if (zlen && (zlen != ulen || memcmp(p, u, ulen) != 0))
		return -1;
	memcpy(user, u, ulen);
	user[ulen] = 0;

	const struct rn__sasl_listener *l = listener_of(srv, s->listener);
	const char *jpw = NULL;
	for (int i = 0; i < l->nusers; i++)
		if (strcmp(l->users[i].name, user) == 0)
			jpw = l->users[i].password;
	bool jaas_ok = same_password(srv, pw, plen, jpw ? jpw : "", jpw ? strlen(jpw) : 0) && jpw;

	/* Both lookups always (each costs the same, found or not); SHA-256 wins, and an unknown
	 * user is checked against its fake SHA-256 credential. */
	struct rn_scram_cred c256, c512;
	bool k256 = rn__sasl_lookup(srv, RN_SCRAM_SHA_256, user, &c256);
	bool k512 = rn__sasl_lookup(srv, RN_SCRAM_SHA_512, user, &c512);
	bool known = k256 | k512;
	const struct rn_scram_cred *cp = (!k256 && k512) ? &c512 : &c256;
	struct rn_scram_cred c = *cp;
	OPENSSL_cleanse(&c256, sizeof(c256));
	OPENSSL_cleanse(&c512, sizeof(c512));
	struct rn_scram_cred try;
	bool scram_ok = rn_scram_cred_from_password(c.mech, pw, plen, c.salt, c.salt_len,
						    c.iterations, &try) == 0 &&
			rn_ct_equal(try.stored_key, c.stored_key, rn_scram_hash_len(c.mech)) &&
			known;
	OPENSSL_cleanse(&try, sizeof(try));
	*why = "Authentication failed: Invalid username or password";
	return (jaas_ok | scram_ok) ? 0 : -1;
}

/* A flood of failed logins must not flood the log: up to LOG_PER_SEC failure lines a second,
 * then one line saying how many went unlogged. */
#define LOG_PER_SEC 50
static _Atomic int64_t log_sec;
static _Atomic int log_count, log_dropped;

static bool log_allowed(void)
{
	int64_t sec = rn_mono_ms() / 1000, cur = atomic_load(&log_sec);
	if (sec != cur && atomic_compare_exchange_strong(&log_sec, &cur, sec)) {
		int dropped = atomic_exchange(&log_dropped, 0);
		atomic_store(&log_count, 0);
		if (dropped)
			rn_warn("%d more failed authentications were not logged (over %d a second)",
				dropped, LOG_PER_SEC);
	}
	if (atomic_fetch_add(&log_count, 1) < LOG_PER_SEC)
		return true;
	atomic_fetch_add(&log_dropped, 1);
	return false;
}

static enum rn_sasl_result fail(struct rn_sasl_server *srv, struct rn_session *s, char *msg,
				size_t msglen, const char *why)
{
	struct rn_sasl *x = s->sasl;
	atomic_fetch_add(&srv->failed, 1);
	if (x->mech == RN_SASL_PLAIN)
		snprintf(msg, msglen, "%s", why);
	else
		snprintf(msg, msglen,
			 "Authentication failed during authentication due to invalid credentials "
			 "with SASL mechanism %s",
			 mech_name(x->mech));
	if (log_allowed())
		rn_warn("failed authentication with %s on listener %s (mechanism %s): %s", s->peer,
			s->listener_name, mech_name(x->mech), why);
	rn_scram_server_reset(&x->scram);
	x->state = RN__SASL_IDLE;
	return RN_SASL_FAIL;
}

static enum rn_sasl_result done(struct rn_sasl_server *srv, struct rn_session *s, const char *user,
				char *msg, size_t msglen)
{
	struct rn_sasl *x = s->sasl;
	char principal[RN_PRINCIPAL_MAX];
	snprintf(principal, sizeof(principal), "User:%s", user);
	bool reauth = s->authenticated;
	/* Kafka (KIP-368): a re-authentication may not change who the connection is. */
	if (reauth && strcmp(principal, s->principal) != 0)
		return fail(srv, s, msg, msglen,
			    "cannot change principals during re-authentication");
	if (reauth && strcmp(s->sasl_mechanism, mech_name(x->mech)) != 0)
		return fail(srv, s, msg, msglen,
			    "cannot change SASL mechanisms during re-authentication");
	rn_session_set_principal(s, principal);
	snprintf(s->sasl_mechanism, sizeof(s->sasl_mechanism), "%s", mech_name(x->mech));
	s->authenticated = true;
	x->lifetime_ms = srv->reauth_ms;
	s->reauth_deadline_ms = srv->reauth_ms ? rn_mono_ms() + srv->reauth_ms : 0;
	x->state = RN__SASL_IDLE;
	rn_scram_server_reset(&x->scram);
	atomic_fetch_add(reauth ? &srv->reauth : &srv->ok, 1);
	rn_debug("%s authenticated as %s with %s%s", s->peer, principal, mech_name(x->mech),
		 reauth ? " (re-authentication)" : "");
	return RN_SASL_DONE;
}

enum rn_sasl_result rn_sasl_step(struct rn_sasl_server *srv, struct rn_session *s,
				 const uint8_t *in, size_t len, uint8_t *out, size_t cap,
				 size_t *outlen, char *msg, size_t msglen)
{
	struct rn_sasl *x = s->sasl;
	const char *why = NULL;
	*outlen = 0;
	msg[0] = 0;
	if (!x || x->state != RN__SASL_TOKEN) {
		snprintf(msg, msglen, "unexpected SASL token");
		return RN_SASL_FAIL;
	}
	if (len > RN_SASL_MAX_TOKEN)
		return fail(srv, s, msg, msglen, "SASL token too large");
	if (x->mech == RN_SASL_PLAIN) {
		char user[RN_SCRAM_MAX_NAME];
		if (plain_check(srv, s, in, len, user, sizeof(user), &why) < 0)
			return fail(srv, s, msg, msglen, why);
		return done(srv, s, user, msg, msglen);
	}
	if (x->scram.state == 0) {
		if (rn_scram_server_first(&x->scram, (const char *)in, len, rn__sasl_lookup, srv,
					  NULL, (char *)out, cap, outlen, &why) < 0)
			return fail(srv, s, msg, msglen, why);
		return RN_SASL_CONTINUE;
	}
	if (rn_scram_server_final(&x->scram, (const char *)in, len, (char *)out, cap, outlen,
				  &why) < 0) {
		*outlen = 0;
		return fail(srv, s, msg, msglen, why);
	}
	char user[RN_SCRAM_MAX_NAME];
	snprintf(user, sizeof(user), "%s", x->scram.user);
	enum rn_sasl_result r = done(srv, s, user, msg, msglen);
	if (r == RN_SASL_FAIL)
		*outlen = 0;
	return r;
}
