/*
 * ssl.cipher.suites: Kafka configs carry JSSE names, which are the IANA names
 * (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); OpenSSL's cipher lists want its own names
 * (ECDHE-RSA-AES128-GCM-SHA256) for TLS 1.2 and takes TLS 1.3 suites in a separate list. The
 * mapping is asked of OpenSSL itself (SSL_CIPHER_standard_name), so no table goes stale.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "net/tls_ctx_int.h"

/* Every suite this OpenSSL knows, whatever the security level. */
static const char ALL12[] = "ALL:COMPLEMENTOFALL:@SECLEVEL=0";
static const char ALL13[] = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
			    "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:"
			    "TLS_AES_128_CCM_8_SHA256";

static const SSL_CIPHER *lookup(STACK_OF(SSL_CIPHER) * sk, const char *name)
{
	for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
		const char *std = SSL_CIPHER_standard_name(c);
		if ((std && strcmp(std, name) == 0) || strcmp(SSL_CIPHER_get_name(c), name) == 0)
			return c;
	}
	return NULL;
}

static bool append(char *list, size_t len, const char *name)
{
	size_t used = strlen(list);
	int n = snprintf(list + used, len - used, "%s%s", used ? ":" : "", name);
	return n >= 0 && (size_t)n < len - used;
}

int rn__tls_ciphers(const char *suites, char *tls12, size_t len12, char *tls13, size_t len13,
		    char *err, size_t errlen)
{
	tls12[0] = tls13[0] = '\0';
	SSL_CTX *all = SSL_CTX_new(TLS_method());
	if (!all || SSL_CTX_set_cipher_list(all, ALL12) != 1 ||
	    SSL_CTX_set_ciphersuites(all, ALL13) != 1) {
		SSL_CTX_free(all);
		ERR_clear_error();
		snprintf(err, errlen, "ssl.cipher.suites: OpenSSL cannot list its ciphers");
		return -EINVAL;
	}
	STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(all);
	int rc = 0;
	const char *p = suites;
	while (*p && rc == 0) {
		p += strspn(p, " \t,:");
		size_t n = strcspn(p, ",:");
		size_t t = n;
		while (t > 0 && (p[t - 1] == ' ' || p[t - 1] == '\t'))
			t--;
		if (t == 0)
			break;
		char name[128];
		if (t >= sizeof(name)) {
			snprintf(err, errlen, "ssl.cipher.suites: name too long: '%.*s'", (int)t,
				 p);
			rc = -EINVAL;
			break;
		}
		memcpy(name, p, t);
		name[t] = '\0';
		p += n;
		const SSL_CIPHER *c = lookup(sk, name);
		if (!c) {
			snprintf(err, errlen, "ssl.cipher.suites: unknown cipher suite '%s'", name);
			rc = -EINVAL;
		} else if (strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") == 0
			       ? !append(tls13, len13, SSL_CIPHER_get_name(c))
			       : !append(tls12, len12, SSL_CIPHER_get_name(c))) {
			snprintf(err, errlen, "ssl.cipher.suites: list too long");
			rc = -EINVAL;
		}
	}
	SSL_CTX_free(all);
	return rc;
}
