/* --command-config: Kafka tools' client properties files, for librdkafka. */
#include "cli/cmdconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"

/* The value of name="..." (or name='...') inside a JAAS line, into out; false if absent. */
static bool jaas_option(const char *jaas, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);
	for (const char *p = jaas; (p = strstr(p, name)) != NULL; p += n) {
		bool word_start = p == jaas || isspace((unsigned char)p[-1]);
		const char *q = p + n;
		while (*q == ' ')
			q++;
		if (!word_start || *q != '=')
			continue;
		q++;
		while (*q == ' ')
			q++;
		char quote = *q == '"' || *q == '\'' ? *q++ : 0;
		size_t k = 0;
		for (; *q && (quote ? *q != quote : !isspace((unsigned char)*q) && *q != ';');
		     q++) {
			if (*q == '\\' && q[1])
				q++;
			if (k + 1 < len)
				out[k++] = *q;
		}
		out[k] = '\0';
		return true;
	}
	return false;
}

static bool ends_with(const char *s, const char *sfx)
{
	size_t a = strlen(s), b = strlen(sfx);
	return a >= b && strcasecmp(s + a - b, sfx) == 0;
}

int rn__cli_java_prop(const char *key, const char *val,
		      int (*emit)(void *arg, const char *key, const char *val), void *arg,
		      char *why, size_t whylen)
{
	if (strcmp(key, "sasl.jaas.config") == 0) {
		char user[512], pass[512];
		if (!jaas_option(val, "username", user, sizeof(user)) ||
		    !jaas_option(val, "password", pass, sizeof(pass))) {
			snprintf(why, whylen,
				 "sasl.jaas.config without username=\"...\" and password=\"...\" "
				 "(only the PLAIN and SCRAM login modules work here)");
			return -1;
		}
		return emit(arg, "sasl.username", user) || emit(arg, "sasl.password", pass) ? -1
											    : 0;
	}
	if (strcmp(key, "sasl.mechanism") == 0)
		return emit(arg, "sasl.mechanisms", val);
	/* Kafka's PEM stores: librdkafka reads the same files under other names. Other store
	 * types are refused where the location is, since the type may come after it. */
	if (strcmp(key, "ssl.truststore.type") == 0 || strcmp(key, "ssl.keystore.type") == 0) {
		if (strcasecmp(val, "PEM") != 0 && strcasecmp(val, "PKCS12") != 0) {
			snprintf(why, whylen,
				 "%s=%s is not supported: use PEM (or PKCS12 keystores)", key, val);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "ssl.truststore.location") == 0) {
		if (ends_with(val, ".jks")) {
			snprintf(why, whylen, "JKS truststore %s is not supported: use PEM", val);
			return -1;
		}
		return emit(arg, "ssl.ca.location", val);
	}
	if (strcmp(key, "ssl.truststore.certificates") == 0)
		return emit(arg, "ssl.ca.pem", val);
	if (strcmp(key, "ssl.truststore.password") == 0)
		return 0; /* PEM truststores have none */
	if (strcmp(key, "ssl.keystore.location") == 0) {
		if (ends_with(val, ".jks")) {
			snprintf(why, whylen, "JKS keystore %s is not supported: use PEM", val);
			return -1;
		}
		if (ends_with(val, ".p12") || ends_with(val, ".pfx"))
			return emit(arg, "ssl.keystore.location", val);
		/* A PEM keystore holds the chain and the key: each reader takes its part. */
		return emit(arg, "ssl.certificate.location", val) ||
			       emit(arg, "ssl.key.location", val)
			   ? -1
			   : 0;
	}
	if (strcmp(key, "ssl.keystore.certificate.chain") == 0)
		return emit(arg, "ssl.certificate.pem", val);
	if (strcmp(key, "ssl.keystore.key") == 0)
		return emit(arg, "ssl.key.pem", val);
	if (strcmp(key, "ssl.endpoint.identification.algorithm") == 0 && !*val)
		return emit(arg, key, "none"); /* Kafka's empty value turns the check off */
	return emit(arg, key, val);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* The strings a command config made: kept for the process, freed at exit (c, which points at
 * them, lives on a subcommand's stack). */
static char *owned[RN_CLI_MAX_PROPS + 1];
static int nowned;

static void free_owned(void)
{
	while (nowned > 0)
		free(owned[--nowned]);
}

static char *keep(char *s)
{
	if (!s || nowned == (int)(sizeof(owned) / sizeof(owned[0]))) {
		free(s);
		return NULL;
	}
	if (nowned == 0)
		atexit(free_owned);
	owned[nowned++] = s;
	return s;
}

struct emit_ctx {
	struct rn_cli_common *c;
	const char *path;
	int line;
};

static int add_prop(void *arg, const char *key, const char *val)
{
	struct emit_ctx *e = arg;
	struct rn_cli_common *c = e->c;
	if (strcmp(key, "bootstrap.servers") == 0) {
		if (c->bootstrap_set)
			return 0; /* -b wins */
		if (rn__cli_check_bootstrap(c, val))
			return -1;
		char *b = keep(strdup(val));
		if (!b)
			return -1;
		c->bootstrap = b;
		return 0;
	}
	if (c->nfprops == RN_CLI_MAX_PROPS) {
		rn__cli_err(c, "%s: too many properties (max %d)", e->path, RN_CLI_MAX_PROPS);
		return -1;
	}
	size_t n = strlen(key) + strlen(val) + 2;
	char *kv = keep(malloc(n));
	if (!kv)
		return -1;
	snprintf(kv, n, "%s=%s", key, val);
	c->fprops[c->nfprops++] = kv;
	return 0;
}

int rn__cli_command_config(struct rn_cli_common *c, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		rn__cli_err(c, "--command-config %s: %s", path, strerror(errno));
		return -1;
	}
	struct emit_ctx e = {c, path, 0};
	char buf[16384], why[256] = "";
	int rc = 0;
	while (rc == 0 && fgets(buf, sizeof(buf), f)) {
		e.line++;
		/* A line ending in a backslash goes on in the next one (long sasl.jaas.config). */
		size_t n = strlen(buf);
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			buf[--n] = '\0';
		while (n && buf[n - 1] == '\\' && n + 1 < sizeof(buf)) {
			buf[--n] = '\0';
			if (!fgets(buf + n, (int)(sizeof(buf) - n), f))
				break;
			e.line++;
			char *cont = buf + n, *t = cont;
			while (isspace((unsigned char)*t))
				t++;
			memmove(cont, t, strlen(t) + 1);
			n = strlen(buf);
			while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
				buf[--n] = '\0';
		}
		char *s = trim(buf);
		if (!*s || *s == '#' || *s == '!')
			continue;
		/* The first unescaped '=' or ':' ends the key, as java.util.Properties reads it. */
		char *sep = s + strcspn(s, "=:");
		if (!*sep) {
			rn__cli_err(c, "%s:%d: not KEY=VALUE: '%s'", path, e.line, s);
			rc = -1;
			break;
		}
		*sep = '\0';
		char *key = trim(s), *val = trim(sep + 1);
		if (rn__cli_java_prop(key, val, add_prop, &e, why, sizeof(why)) < 0) {
			if (why[0]) /* else add_prop said what was wrong */
				rn__cli_err(c, "%s:%d: %s", path, e.line, why);
			rc = -1;
		}
	}
	fclose(f);
	return rc;
}
