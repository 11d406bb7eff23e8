/*
 * SCRAM credentials for the SASL server: a cache of the store's "scram" namespace, rebuilt
 * when the store says it changed, and the fake credentials of unknown users (sasl.h).
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "auth/sasl_int.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "meta/store.h"

#define NS_SCRAM   "scram"
#define NS_SASL    "sasl"
#define KEY_SECRET "fake-credential-secret"
#define FAKE_SALT  32 /* runnel's own tools make salts of this length too */

/* Bumped by the store's watch (any thread) and by our own writes; a cache older than it is
 * rebuilt. Global, not per server: the watch outlives no server but may be registered by
 * several in unit tests. */
static _Atomic uint64_t store_gen = 1;

static void on_change(const char *ns, void *arg)
{
	(void)ns;
	(void)arg;
	atomic_fetch_add(&store_gen, 1);
}

struct secret_find {
	char hex[65];
};

static void find_secret(const char *key, const char *val, void *arg)
{
	struct secret_find *f = arg;
	if (strcmp(key, KEY_SECRET) == 0)
		snprintf(f->hex, sizeof(f->hex), "%s", val);
}

static int unhex(const char *h, uint8_t *out, size_t n)
{
	if (strlen(h) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

void rn__sasl_creds_init(struct rn_sasl_server *srv)
{
	struct secret_find f = {{0}};
	rn_meta_sec_foreach(srv->meta, NS_SASL, find_secret, &f);
	if (!f.hex[0]) {
		uint8_t rnd[32];
		char hex[65];
		RAND_bytes(rnd, sizeof(rnd));
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
		/* Another broker may win the race: whatever is stored then is the secret. */
		int rc = rn_meta_sec_cas(srv->meta, NS_SASL, KEY_SECRET, NULL, hex);
		if (rc < 0 && rc != RN_ESTALE)
			rn_warn("cannot store the SASL fake-credential secret: %s",
				rn_strerror(rc));
		rn_meta_sec_foreach(srv->meta, NS_SASL, find_secret, &f);
		if (!f.hex[0])
			snprintf(f.hex, sizeof(f.hex), "%s", hex);
		OPENSSL_cleanse(rnd, sizeof(rnd));
	}
	if (unhex(f.hex, srv->secret, sizeof(srv->secret)) < 0) {
		rn_warn("the stored SASL fake-credential secret is malformed; using a random one");
		RAND_bytes(srv->secret, sizeof(srv->secret));
	}
	OPENSSL_cleanse(f.hex, sizeof(f.hex));
	rn_meta_sec_watch(srv->meta, NS_SCRAM, on_change, NULL);
}

static void cache_clear(struct rn_sasl_server *srv)
{
	for (int i = 0; i < srv->ncache; i++) {
		rn_free(srv->cache[i].user);
		OPENSSL_cleanse(&srv->cache[i].cred, sizeof(srv->cache[i].cred));
	}
	srv->ncache = 0;
}

void rn__sasl_creds_free(struct rn_sasl_server *srv)
{
	cache_clear(srv);
	rn_free(srv->cache);
}

static void add_one(const char *key, const char *val, void *arg)
{
	struct rn_sasl_server *srv = arg;
	const char *slash = strchr(key, '/');
	if (!slash || !slash[1])
		return;
	char mname[32];
	snprintf(mname, sizeof(mname), "%.*s", (int)(slash - key), key);
	enum rn_scram_mech m = rn_scram_mech_parse(mname);
	struct rn_scram_cred c;
	if (!m || rn_scram_cred_parse(val, m, &c) < 0) {
		rn_log_every(60000, RN_LOG_WARN, "ignoring a malformed SCRAM credential %s", key);
		return;
	}
	if (srv->ncache == srv->capcache) {
		srv->capcache = srv->capcache ? 2 * srv->capcache : 16;
		srv->cache = rn_realloc(srv->cache, (size_t)srv->capcache * sizeof(*srv->cache));
	}
	struct rn__cred_ent *e = &srv->cache[srv->ncache++];
	e->mech = m;
	e->user = rn_strdup(slash + 1);
	e->cred = c;
}

/* With srv->lock held. */
static void refresh(struct rn_sasl_server *srv)
{
	uint64_t g = atomic_load(&store_gen);
	if (g == srv->cache_gen)
		return;
	cache_clear(srv);
	rn_meta_sec_foreach(srv->meta, NS_SCRAM, add_one, srv);
	srv->cache_gen = g;
}

static const struct rn__cred_ent *find(struct rn_sasl_server *srv, enum rn_scram_mech m,
				       const char *user)
{
	for (int i = 0; i < srv->ncache; i++)
		if (srv->cache[i].mech == m && strcmp(srv->cache[i].user, user) == 0)
			return &srv->cache[i];
	return NULL;
}

/* Salt, StoredKey and ServerKey of an unknown user: HMACs of the secret over what the user
 * name and mechanism are, so the same name gets the same answer every time, on every broker. */
static void fake(const struct rn_sasl_server *srv, enum rn_scram_mech m, const char *user,
		 struct rn_scram_cred *out)
{
	char label[RN_SCRAM_MAX_NAME + 48];
	uint8_t d[RN_SCRAM_MAX_HASH];
	size_t h = rn_scram_hash_len(m);
	memset(out, 0, sizeof(*out));
	out->mech = m;
	out->iterations = RN_SCRAM_MIN_ITERATIONS;
	out->salt_len = FAKE_SALT;
	static const char *const what[] = {"salt", "stored", "server"};
	uint8_t *dst[] = {out->salt, out->stored_key, out->server_key};
	size_t len[] = {FAKE_SALT, h, h};
	for (int k = 0; k < 3; k++) {
		int n = snprintf(label, sizeof(label), "%s/%d/%s", what[k], (int)m, user);
		rn_scram_hmac(RN_SCRAM_SHA_512, srv->secret, sizeof(srv->secret), label,
			      (size_t)n < sizeof(label) ? (size_t)n : sizeof(label) - 1, d);
		memcpy(dst[k], d, len[k]);
	}
}

bool rn__sasl_lookup(void *arg, enum rn_scram_mech m, const char *user, struct rn_scram_cred *out)
{
	struct rn_sasl_server *srv = arg;
	/* The fake is made for known users too, so a lookup costs the same either way. */
	struct rn_scram_cred f;
	fake(srv, m, user, &f);
	pthread_mutex_lock(&srv->lock);
	refresh(srv);
	const struct rn__cred_ent *e = find(srv, m, user);
	*out = e ? e->cred : f;
	pthread_mutex_unlock(&srv->lock);
	OPENSSL_cleanse(&f, sizeof(f));
	return e != NULL;
}

int rn_sasl_scram_get(struct rn_sasl_server *srv, enum rn_scram_mech m, const char *user,
		      struct rn_scram_cred *out)
{
	return rn__sasl_lookup(srv, m, user, out) ? 0 : RN_ENOTFOUND;
}

int rn_sasl_scram_set(struct rn_sasl_server *srv, enum rn_scram_mech m, const char *user,
		      const struct rn_scram_cred *cred)
{
	const char *mn = rn_scram_mech_name(m);
	if (!mn || !user[0] || strlen(user) >= RN_SCRAM_MAX_NAME)
		return RN_EINVALID;
	char key[RN_SCRAM_MAX_NAME + 32], val[RN_SCRAM_CRED_TEXT_MAX];
	snprintf(key, sizeof(key), "%s/%s", mn, user);
	if (cred && rn_scram_cred_format(cred, val, sizeof(val)) < 0)
		return RN_EINVALID;
	int rc = rn_meta_sec_put(srv->meta, NS_SCRAM, key, cred ? val : NULL);
	OPENSSL_cleanse(val, sizeof(val));
	atomic_fetch_add(&store_gen, 1);
	return rc;
}

void rn_sasl_scram_foreach(struct rn_sasl_server *srv,
			   void (*cb)(const char *user, enum rn_scram_mech m, int32_t iterations,
				      void *arg),
			   void *arg)
{
	pthread_mutex_lock(&srv->lock);
	refresh(srv);
	for (int i = 0; i < srv->ncache; i++)
		cb(srv->cache[i].user, srv->cache[i].mech, srv->cache[i].cred.iterations, arg);
	pthread_mutex_unlock(&srv->lock);
}
