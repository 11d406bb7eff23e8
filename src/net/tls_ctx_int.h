/*
 * Private to net/tls_ctx*.c: building an SSL_CTX from Kafka's ssl.* settings, the identity of
 * the files it was built from, and the watcher that notices when they change.
 */
#ifndef RN_NET_TLS_CTX_INT_H
#define RN_NET_TLS_CTX_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "net/tls.h"

/* Keystore location, chain, key, truststore: the most files one context reads. */
#define RN__TLS_MAX_FILES 4
/* Certificates and keys are small; anything larger is refused before it is read. */
#define RN__TLS_MAX_FILE_BYTES (1u << 20)

/* What stat(2) says about one path, following symlinks: a Kubernetes secret swap changes the
 * inode behind the name, an in-place rewrite changes size or mtime. */
struct rn__tls_sig {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
};

/* The files a context reads (paths owned), in a fixed order. */
struct rn__tls_files {
	int n;
	const char *key[RN__TLS_MAX_FILES]; /* the config key that named it, for log lines */
	char *path[RN__TLS_MAX_FILES];
};

/* True if a ssl.keystore.certificate.chain / ssl.keystore.key value is PEM text rather than a
 * path (Kafka takes the text; a path is our convenience). */
bool rn__tls_is_inline(const char *v);

/* Lists the files st names (caller frees with rn__tls_files_clear). */
void rn__tls_files_of(const struct rn_tls_settings *st, struct rn__tls_files *f);
void rn__tls_files_clear(struct rn__tls_files *f);
void rn__tls_probe(const struct rn__tls_files *f, struct rn__tls_sig sig[RN__TLS_MAX_FILES]);
bool rn__tls_sig_equal(const struct rn__tls_sig *a, const struct rn__tls_sig *b, int n);

/* Builds a new SSL_CTX from st (the caller owns *out, SSL_CTX_free). On failure returns
 * -EINVAL with a message naming the key, the file and OpenSSL's reason in err. */
int rn__tls_build(const struct rn_tls_settings *st, const char *what, SSL_CTX **out, char *err,
		  size_t errlen);
/* The TLS 1.2 list and the TLS 1.3 list for ssl.cipher.suites (Kafka/IANA or OpenSSL names,
 * comma separated); tls13 "" if none was named. 0 or -EINVAL (err says which name). */
int rn__tls_ciphers(const char *suites, char *tls12, size_t len12, char *tls13, size_t len13,
		    char *err, size_t errlen);

/* The watcher thread (tls_ctx_watch.c). add/remove register a context; the thread calls
 * rn__tls_ctx_check(c) on every registered context when a watched directory changes and every
 * rn_tls_watch_interval ms. rn__tls_watch_changed: c's files changed, re-read the directory
 * set. remove returns once the thread no longer touches c. */
void rn__tls_watch_add(struct rn_tls_ctx *c); /* idempotent, as is remove */
void rn__tls_watch_remove(struct rn_tls_ctx *c);
void rn__tls_watch_changed(void);
/* Appends to dirs (up to max, each caller-owned rn_strdup) the directories of c's files, and
 * of their symlink targets. Returns the new count. */
int rn__tls_ctx_dirs(struct rn_tls_ctx *c, char **dirs, int n, int max);
/* Re-reads c if its files' signatures differ from those of the last attempt; true if it
 * tried (the directory set may have changed). */
bool rn__tls_ctx_check(struct rn_tls_ctx *c);

#endif
