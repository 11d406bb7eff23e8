/*
 * rn_tls_ctx: the current SSL_CTX of one listener or client identity, and the settings it was
 * built from, so it can be rebuilt when its files change or AlterConfigs gives new settings.
 *
 * Two locks, because a rebuild reads files and parses keys (milliseconds) and new connections
 * must not wait for it: build_mu serialises rebuilds and guards the settings, the file list
 * and the signatures; mu guards only the SSL_CTX pointer swapped at the end. A connection
 * holds a reference on the SSL_CTX it started with, so swapping never disturbs it.
 */
#include <errno.h>
#include <libgen.h>
#include <stddef.h>
#include <strings.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/metrics.h"
#include "core/log.h"
#include "net/tls_ctx_int.h"

struct rn_tls_ctx {
	char *what;
	pthread_mutex_t mu;
	SSL_CTX *cur;
	pthread_mutex_t build_mu;
	struct rn_tls_settings base; /* from new / update; strings owned */
	int nov;                     /* dynamic overrides (AlterConfigs), owned */
	char **ov_key, **ov_val;
	struct rn_tls_settings st; /* effective: base under the overrides; borrowed */
	struct rn__tls_files files;
	struct rn__tls_sig seen[RN__TLS_MAX_FILES];
	_Atomic uint64_t reloads;
	_Atomic uint64_t failures; /* rebuilds refused (the old material kept) */
	_Atomic int64_t not_after; /* the current leaf certificate's end, Unix seconds; 0 none */
};

/* The string members of struct rn_tls_settings, for deep copies. */
#define RN__TLS_STRS(X)                                                                            \
	X(keystore_type)                                                                           \
	X(keystore_location)                                                                       \
	X(keystore_chain)                                                                          \
	X(keystore_key)                                                                            \
	X(key_password)                                                                            \
	X(truststore_type)                                                                         \
	X(truststore_location)                                                                     \
	X(truststore_certs)                                                                        \
	X(enabled_protocols)                                                                       \
	X(cipher_suites)                                                                           \
	X(endpoint_identification)

static char *dup_or_null(const char *s)
{
	return s ? rn_strdup(s) : NULL;
}

static void free_str(const char *s)
{
	if (s) {
		/* ssl.key.password and inline keys are secrets: leave no copy in freed memory. */
		OPENSSL_cleanse((char *)s, strlen(s));
		rn_free((char *)s);
	}
}

static void settings_copy(struct rn_tls_settings *dst, const struct rn_tls_settings *src)
{
	*dst = *src;
#define X(f) dst->f = dup_or_null(src->f);
	RN__TLS_STRS(X)
#undef X
}

static void settings_free(struct rn_tls_settings *st)
{
#define X(f) free_str(st->f);
	RN__TLS_STRS(X)
#undef X
	memset(st, 0, sizeof(*st));
}

static void add_file(struct rn__tls_files *f, const char *key, const char *v)
{
	if (v && v[0] && !rn__tls_is_inline(v) && f->n < RN__TLS_MAX_FILES) {
		f->key[f->n] = key;
		f->path[f->n++] = rn_strdup(v);
	}
}

void rn__tls_files_of(const struct rn_tls_settings *st, struct rn__tls_files *f)
{
	memset(f, 0, sizeof(*f));
	add_file(f, "ssl.keystore.location", st->keystore_location);
	add_file(f, "ssl.keystore.certificate.chain", st->keystore_chain);
	add_file(f, "ssl.keystore.key", st->keystore_key);
	add_file(f, "ssl.truststore.location", st->truststore_location);
	if (f->n < RN__TLS_MAX_FILES)
		add_file(f, "ssl.truststore.certificates", st->truststore_certs);
}

void rn__tls_files_clear(struct rn__tls_files *f)
{
	for (int i = 0; i < f->n; i++)
		rn_free(f->path[i]);
	memset(f, 0, sizeof(*f));
}

void rn__tls_probe(const struct rn__tls_files *f, struct rn__tls_sig sig[RN__TLS_MAX_FILES])
{
	memset(sig, 0, sizeof(*sig) * RN__TLS_MAX_FILES);
	for (int i = 0; i < f->n; i++) {
		struct stat sb;
		if (stat(f->path[i], &sb) != 0)
			continue;
		sig[i] = (struct rn__tls_sig){true,       sb.st_dev,  sb.st_ino,
					      sb.st_size, sb.st_mtim, sb.st_ctim};
	}
}

static bool ts_equal(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

bool rn__tls_sig_equal(const struct rn__tls_sig *a, const struct rn__tls_sig *b, int n)
{
	for (int i = 0; i < n; i++) {
		if (a[i].exists != b[i].exists)
			return false;
		if (a[i].exists &&
		    (a[i].dev != b[i].dev || a[i].ino != b[i].ino || a[i].size != b[i].size ||
		     !ts_equal(a[i].mtime, b[i].mtime) || !ts_equal(a[i].ctime, b[i].ctime)))
			return false;
	}
	return true;
}

/* Kafka's SslConfigs.RECONFIGURABLE_CONFIGS, and where each lands (SIZE_MAX: accepted, no
 * effect for PEM stores). */
static const struct {
	const char *key;
	size_t off;
} RECONF[] = {
    {"ssl.keystore.type", offsetof(struct rn_tls_settings, keystore_type)},
    {"ssl.keystore.location", offsetof(struct rn_tls_settings, keystore_location)},
    {"ssl.keystore.password", SIZE_MAX},
    {"ssl.key.password", offsetof(struct rn_tls_settings, key_password)},
    {"ssl.truststore.type", offsetof(struct rn_tls_settings, truststore_type)},
    {"ssl.truststore.location", offsetof(struct rn_tls_settings, truststore_location)},
    {"ssl.truststore.password", SIZE_MAX},
    {"ssl.keystore.certificate.chain", offsetof(struct rn_tls_settings, keystore_chain)},
    {"ssl.keystore.key", offsetof(struct rn_tls_settings, keystore_key)},
    {"ssl.truststore.certificates", offsetof(struct rn_tls_settings, truststore_certs)},
};

bool rn_tls_key_reconfigurable(const char *key)
{
	for (size_t i = 0; i < sizeof(RECONF) / sizeof(RECONF[0]); i++)
		if (strcasecmp(RECONF[i].key, key) == 0)
			return true;
	return false;
}

/* out = base with each override k[i]=v[i] applied (v NULL or "" unsets the key). out
 * borrows from base, k and v. */
static int compose(const struct rn_tls_settings *base, char **k, char **v, int n,
		   struct rn_tls_settings *out, char *err, size_t errlen)
{
	*out = *base;
	for (int i = 0; i < n; i++) {
		size_t j = 0, nk = sizeof(RECONF) / sizeof(RECONF[0]);
		while (j < nk && strcasecmp(RECONF[j].key, k[i]) != 0)
			j++;
		if (j == nk) {
			snprintf(err, errlen, "%s cannot be updated dynamically", k[i]);
			return -EINVAL;
		}
		if (RECONF[j].off == SIZE_MAX)
			continue;
		const char *val = v[i] && v[i][0] ? v[i] : NULL;
		memcpy((char *)out + RECONF[j].off, &val, sizeof(val));
		/* A store given in one form replaces the other form of the base. */
		if (RECONF[j].off == offsetof(struct rn_tls_settings, keystore_location) && val)
			out->keystore_chain = out->keystore_key = NULL;
		if ((RECONF[j].off == offsetof(struct rn_tls_settings, keystore_chain) ||
		     RECONF[j].off == offsetof(struct rn_tls_settings, keystore_key)) &&
		    val)
			out->keystore_location = NULL;
		if (RECONF[j].off == offsetof(struct rn_tls_settings, truststore_location) && val)
			out->truststore_certs = NULL;
		if (RECONF[j].off == offsetof(struct rn_tls_settings, truststore_certs) && val)
			out->truststore_location = NULL;
	}
	return 0;
}

static void free_overrides(char **k, char **v, int n)
{
	for (int i = 0; i < n; i++) {
		rn_free(k[i]);
		free_str(v[i]);
	}
	rn_free(k);
	rn_free(v);
}

/* Every live context, for rn_tls_ctx_foreach. */
static struct {
	pthread_mutex_t mu;
	struct rn_tls_ctx **v;
	int n, cap;
} ALL = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

static void register_metrics(void);

static void all_add(struct rn_tls_ctx *c)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, register_metrics);
	pthread_mutex_lock(&ALL.mu);
	if (ALL.n == ALL.cap) {
		ALL.cap = ALL.cap ? ALL.cap * 2 : 8;
		ALL.v = rn_realloc(ALL.v, (size_t)ALL.cap * sizeof(*ALL.v));
	}
	ALL.v[ALL.n++] = c;
	pthread_mutex_unlock(&ALL.mu);
}

static void all_remove(struct rn_tls_ctx *c)
{
	pthread_mutex_lock(&ALL.mu);
	for (int i = 0; i < ALL.n; i++)
		if (ALL.v[i] == c) {
			ALL.v[i] = ALL.v[--ALL.n];
			break;
		}
	if (ALL.n == 0) {
		rn_free(ALL.v);
		ALL.v = NULL;
		ALL.cap = 0;
	}
	pthread_mutex_unlock(&ALL.mu);
}

/* One series per context: rotation that silently stopped working shows as a not_after
 * drawing near, a broken file as failures going up. */
static void collect(struct rn_buf *out, void *arg)
{
	(void)arg;
	static const char *fam[][3] = {
	    {"runnel_tls_certificate_reloads_total", "counter",
	     "Times a TLS context's certificates were replaced (files changed, AlterConfigs)."},
	    {"runnel_tls_certificate_reload_failures_total", "counter",
	     "Rebuilds of a TLS context refused (broken or mismatched files); the old kept."},
	    {"runnel_tls_certificate_not_after_seconds", "gauge",
	     "End of validity of the certificate a TLS context presents (Unix time)."},
	};
	pthread_mutex_lock(&ALL.mu);
	for (int f = 0; f < 3 && ALL.n > 0; f++) {
		rn_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", fam[f][0], fam[f][2], fam[f][0],
			      fam[f][1]);
		for (int i = 0; i < ALL.n; i++) {
			struct rn_tls_ctx *c = ALL.v[i];
			long long v = f == 0   ? (long long)atomic_load(&c->reloads)
				      : f == 1 ? (long long)atomic_load(&c->failures)
					       : (long long)atomic_load(&c->not_after);
			rn_buf_printf(out, "%s{context=\"%s\"} %lld\n", fam[f][0], c->what, v);
		}
	}
	pthread_mutex_unlock(&ALL.mu);
}

static void register_metrics(void)
{
	rn_metrics_register(collect, NULL);
}

void rn_tls_ctx_foreach(void (*fn)(struct rn_tls_ctx *c, const char *what, void *arg), void *arg)
{
	pthread_mutex_lock(&ALL.mu);
	for (int i = 0; i < ALL.n; i++)
		fn(ALL.v[i], ALL.v[i]->what, arg);
	pthread_mutex_unlock(&ALL.mu);
}

static int64_t not_after_of(SSL_CTX *ctx)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	struct tm tm;
	if (!x || ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

static void install(struct rn_tls_ctx *c, SSL_CTX *ctx)
{
	atomic_store(&c->not_after, not_after_of(ctx));
	pthread_mutex_lock(&c->mu);
	SSL_CTX *old = c->cur;
	c->cur = ctx;
	pthread_mutex_unlock(&c->mu);
	SSL_CTX_free(old);
	atomic_fetch_add(&c->reloads, 1);
}

int rn_tls_ctx_new(const struct rn_tls_settings *st, const char *what, struct rn_tls_ctx **out)
{
	*out = NULL;
	struct rn_tls_ctx *c = rn_calloc(1, sizeof(*c));
	c->what = rn_strdup(what ? what : "tls");
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->build_mu, NULL);
	settings_copy(&c->base, st);
	c->st = c->base;
	rn__tls_files_of(&c->st, &c->files);
	/* Signatures before reading: a change while we read is seen by the next check. */
	rn__tls_probe(&c->files, c->seen);
	char err[768];
	if (rn__tls_build(&c->st, c->what, &c->cur, err, sizeof(err)) != 0) {
		rn_error("tls %s: %s", c->what, err);
		rn__tls_files_clear(&c->files);
		settings_free(&c->base);
		pthread_mutex_destroy(&c->mu);
		pthread_mutex_destroy(&c->build_mu);
		rn_free(c->what);
		rn_free(c);
		return -EINVAL;
	}
	atomic_store(&c->not_after, not_after_of(c->cur));
	if (c->files.n > 0)
		rn__tls_watch_add(c);
	all_add(c);
	*out = c;
	return 0;
}

void rn_tls_ctx_free(struct rn_tls_ctx *c)
{
	if (!c)
		return;
	all_remove(c);
	rn__tls_watch_remove(c);
	SSL_CTX_free(c->cur);
	rn__tls_files_clear(&c->files);
	settings_free(&c->base);
	free_overrides(c->ov_key, c->ov_val, c->nov);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->build_mu);
	rn_free(c->what);
	rn_free(c);
}

SSL_CTX *rn_tls_ctx_acquire(struct rn_tls_ctx *c)
{
	pthread_mutex_lock(&c->mu);
	SSL_CTX *ctx = c->cur;
	SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&c->mu);
	return ctx;
}

uint64_t rn_tls_ctx_reloads(const struct rn_tls_ctx *c)
{
	return atomic_load(&((struct rn_tls_ctx *)c)->reloads);
}

bool rn_tls_ctx_verify_host(const struct rn_tls_ctx *c)
{
	/* Immutable after rn_tls_ctx_new except through update, which callers serialise with
	 * the connections they start. */
	const char *e = c->st.endpoint_identification;
	return e && e[0] && strcmp(e, "https") == 0;
}

/* Caller holds build_mu; seen already taken. */
static int rebuild(struct rn_tls_ctx *c, const char *why)
{
	SSL_CTX *ctx;
	char err[768];
	if (rn__tls_build(&c->st, c->what, &ctx, err, sizeof(err)) != 0) {
		rn_warn("tls %s: %s: %s; keeping the previous certificates", c->what, why, err);
		atomic_fetch_add(&c->failures, 1);
		return -EINVAL;
	}
	install(c, ctx);
	rn_info("tls %s: certificates reloaded (%s)", c->what, why);
	return 0;
}

int rn_tls_ctx_reload(struct rn_tls_ctx *c)
{
	pthread_mutex_lock(&c->build_mu);
	rn__tls_probe(&c->files, c->seen);
	int rc = rebuild(c, "reload requested");
	pthread_mutex_unlock(&c->build_mu);
	return rc;
}

bool rn__tls_ctx_check(struct rn_tls_ctx *c)
{
	pthread_mutex_lock(&c->build_mu);
	struct rn__tls_sig now[RN__TLS_MAX_FILES];
	rn__tls_probe(&c->files, now);
	bool changed = !rn__tls_sig_equal(now, c->seen, c->files.n);
	if (changed) {
		char why[PATH_MAX + 64] = "";
		for (int i = 0; i < c->files.n && !why[0]; i++)
			if (!rn__tls_sig_equal(&now[i], &c->seen[i], 1))
				snprintf(why, sizeof(why), "%s %s %s", c->files.key[i],
					 c->files.path[i], now[i].exists ? "changed" : "is gone");
		memcpy(c->seen, now, sizeof(now));
		rebuild(c, why);
	}
	pthread_mutex_unlock(&c->build_mu);
	return changed;
}

static bool has_name(GENERAL_NAMES *set, GENERAL_NAME *n)
{
	for (int i = 0; i < sk_GENERAL_NAME_num(set); i++)
		if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(set, i), n) == 0)
			return true;
	return false;
}

/* Kafka's check on a dynamic keystore update: the same subject, and every old subject
 * alternative name still there, unless ssl.allow.dn.changes / ssl.allow.san.changes. */
static int same_identity(SSL_CTX *old, SSL_CTX *nw, unsigned flags, char *err, size_t errlen)
{
	X509 *a = old ? SSL_CTX_get0_certificate(old) : NULL, *b = SSL_CTX_get0_certificate(nw);
	if (!a || !b)
		return 0;
	char da[256], db[256];
	X509_NAME_oneline(X509_get_subject_name(a), da, sizeof(da));
	X509_NAME_oneline(X509_get_subject_name(b), db, sizeof(db));
	if ((flags & RN_TLS_KEEP_DN) &&
	    X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)) != 0) {
		snprintf(err, errlen,
			 "Keystore DistinguishedName does not match: existing={DN=%s}, new={DN=%s}",
			 da, db);
		return -EINVAL;
	}
	if (!(flags & RN_TLS_KEEP_SAN))
		return 0;
	GENERAL_NAMES *sa = X509_get_ext_d2i(a, NID_subject_alt_name, NULL, NULL);
	GENERAL_NAMES *sb = X509_get_ext_d2i(b, NID_subject_alt_name, NULL, NULL);
	int rc = 0;
	for (int i = 0; sa && i < sk_GENERAL_NAME_num(sa) && rc == 0; i++)
		if (!sb || !has_name(sb, sk_GENERAL_NAME_value(sa, i)))
			rc = -EINVAL;
	if (rc)
		snprintf(err, errlen,
			 "Keystore SubjectAltNames do not match: the new certificate (%s) lacks "
			 "names of the existing one (%s)",
			 db, da);
	GENERAL_NAMES_free(sa);
	GENERAL_NAMES_free(sb);
	return rc;
}

/* Installs new material: base (owned, NULL keeps the current one) under the overrides
 * k/v (owned, nov < 0 keeps the current ones). Takes ownership of what it is given, also on
 * failure. RN_TLS_* flags: validate only, identity checks. */
static int replace_material(struct rn_tls_ctx *c, struct rn_tls_settings *base, char **k, char **v,
			    int nov, unsigned flags, char *err, size_t errlen)
{
	bool validate_only = flags & RN_TLS_VALIDATE_ONLY;
	pthread_mutex_lock(&c->build_mu);
	const struct rn_tls_settings *b = base ? base : &c->base;
	struct rn_tls_settings eff;
	int rc = nov >= 0 ? compose(b, k, v, nov, &eff, err, errlen)
			  : compose(b, c->ov_key, c->ov_val, c->nov, &eff, err, errlen);
	struct rn__tls_files files = {0};
	struct rn__tls_sig sig[RN__TLS_MAX_FILES];
	SSL_CTX *ctx = NULL;
	if (rc == 0) {
		rn__tls_files_of(&eff, &files);
		rn__tls_probe(&files, sig);
		rc = rn__tls_build(&eff, c->what, &ctx, err, errlen);
	}
	if (rc == 0 && (flags & (RN_TLS_KEEP_DN | RN_TLS_KEEP_SAN)))
		rc = same_identity(c->cur, ctx, flags, err, errlen);
	if (rc != 0 || validate_only) {
		pthread_mutex_unlock(&c->build_mu);
		SSL_CTX_free(ctx);
		rn__tls_files_clear(&files);
		if (base)
			settings_free(base);
		if (nov >= 0)
			free_overrides(k, v, nov);
		return rc;
	}
	bool had_files = c->files.n > 0;
	if (base) {
		settings_free(&c->base);
		c->base = *base;
	}
	if (nov >= 0) {
		free_overrides(c->ov_key, c->ov_val, c->nov);
		c->ov_key = k, c->ov_val = v, c->nov = nov;
	}
	/* Re-composed: eff pointed into base, which moved. */
	compose(&c->base, c->ov_key, c->ov_val, c->nov, &c->st, err, errlen);
	rn__tls_files_clear(&c->files);
	c->files = files;
	memcpy(c->seen, sig, sizeof(sig));
	install(c, ctx);
	bool has_files = c->files.n > 0;
	pthread_mutex_unlock(&c->build_mu);
	if (has_files && !had_files)
		rn__tls_watch_add(c);
	else if (!has_files && had_files)
		rn__tls_watch_remove(c);
	else if (has_files)
		rn__tls_watch_changed();
	return 0;
}

int rn_tls_ctx_update(struct rn_tls_ctx *c, const struct rn_tls_settings *st)
{
	struct rn_tls_settings *base = rn_malloc(sizeof(*base));
	settings_copy(base, st);
	char err[768];
	int rc = replace_material(c, base, NULL, NULL, -1, 0, err, sizeof(err));
	rn_free(base); /* the struct; its strings were taken or freed */
	if (rc != 0) {
		rn_warn("tls %s: new settings refused: %s; keeping the previous ones", c->what,
			err);
		return -EINVAL;
	}
	rn_info("tls %s: new settings installed", c->what);
	return 0;
}

static bool same_str(const char *a, const char *b)
{
	return (!a || !a[0]) ? (!b || !b[0]) : (b && strcmp(a, b) == 0);
}

/* The set k/v equals c's current overrides (in any order). */
static bool same_overrides(struct rn_tls_ctx *c, const char *const *k, const char *const *v, int n)
{
	pthread_mutex_lock(&c->build_mu);
	bool same = n == c->nov;
	for (int i = 0; same && i < n; i++) {
		int j = 0;
		while (j < c->nov && strcasecmp(c->ov_key[j], k[i]) != 0)
			j++;
		same = j < c->nov && same_str(c->ov_val[j], v[i]);
	}
	pthread_mutex_unlock(&c->build_mu);
	return same;
}

int rn_tls_ctx_set_overrides(struct rn_tls_ctx *c, const char *const *keys, const char *const *vals,
			     int n, unsigned flags, char *err, size_t errlen)
{
	bool validate_only = flags & RN_TLS_VALIDATE_ONLY;
	if (!validate_only && same_overrides(c, keys, vals, n))
		return 0; /* the files behind them are the watcher's business */
	char **k = n > 0 ? rn_calloc((size_t)n, sizeof(char *)) : NULL;
	char **v = n > 0 ? rn_calloc((size_t)n, sizeof(char *)) : NULL;
	for (int i = 0; i < n; i++) {
		k[i] = rn_strdup(keys[i]);
		v[i] = vals[i] ? rn_strdup(vals[i]) : NULL;
	}
	int rc = replace_material(c, NULL, k, v, n, flags, err, errlen);
	if (rc == 0 && !validate_only)
		rn_info("tls %s: dynamic ssl configs installed (%d key(s))", c->what, n);
	return rc;
}

int rn_tls_ctx_check_settings(const struct rn_tls_settings *st, const char *what, char *err,
			      size_t errlen)
{
	SSL_CTX *ctx;
	if (rn__tls_build(st, what ? what : "tls", &ctx, err, errlen) != 0)
		return -EINVAL;
	SSL_CTX_free(ctx);
	return 0;
}

static void add_dir(char **dirs, int *n, int max, const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	const char *d = dirname(tmp);
	for (int i = 0; i < *n; i++)
		if (strcmp(dirs[i], d) == 0)
			return;
	if (*n < max)
		dirs[(*n)++] = rn_strdup(d);
}

int rn__tls_ctx_dirs(struct rn_tls_ctx *c, char **dirs, int n, int max)
{
	pthread_mutex_lock(&c->build_mu);
	for (int i = 0; i < c->files.n; i++) {
		add_dir(dirs, &n, max, c->files.path[i]);
		/* A symlink into another directory: an in-place rewrite of the target shows up
		 * only there. */
		char *real = realpath(c->files.path[i], NULL);
		if (real) {
			add_dir(dirs, &n, max, real);
			free(real);
		}
	}
	pthread_mutex_unlock(&c->build_mu);
	return n;
}
