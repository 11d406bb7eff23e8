/*
 * Kafka's JAAS config text (sasl.jaas.config):
 *   org.apache.kafka.common.security.plain.PlainLoginModule required
 *       username="admin" password="admin-secret" user_alice="alice-secret";
 * One or more "<class> <flag> [name=value ...];" entries; values bare or double-quoted with
 * backslash escapes. The broker's PLAIN users are the user_<name> options.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth/sasl_int.h"
#include "core/alloc.h"

static const char *skip_ws(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

/* A bare word: up to a space, '=', ';' or a quote. */
static const char *word(const char *p, char *out, size_t cap)
{
	size_t n = 0;
	while (*p && !isspace((unsigned char)*p) && *p != '=' && *p != ';' && *p != '"') {
		if (n + 1 < cap)
			out[n++] = *p;
		p++;
	}
	out[n] = 0;
	return p;
}

/* A value: quoted (escapes \" and \\) or bare; NULL if a quote is not closed. Caller frees. */
static const char *value(const char *p, char **out)
{
	size_t cap = strlen(p) + 1, n = 0;
	char *v = rn_malloc(cap);
	if (*p == '"') {
		p++;
		while (*p && *p != '"') {
			if (*p == '\\' && p[1])
				p++;
			v[n++] = *p++;
		}
		if (*p != '"') {
			rn_free(v);
			return NULL;
		}
		p++;
	} else {
		while (*p && !isspace((unsigned char)*p) && *p != ';')
			v[n++] = *p++;
	}
	v[n] = 0;
	*out = v;
	return p;
}

void rn__jaas_free(struct rn__jaas_user *users, int n)
{
	for (int i = 0; i < n; i++) {
		rn_free(users[i].name);
		if (users[i].password)
			memset(users[i].password, 0, strlen(users[i].password));
		rn_free(users[i].password);
	}
	rn_free(users);
}

/* user_<name> options into users; username / password (this broker's own login, for
 * inter-broker connections) into *login_user / *login_pw when those are not NULL. */
static int parse(const char *text, struct rn__jaas_user **users, int *n, char **login_user,
		 char **login_pw, char *err, size_t errlen)
{
	struct rn__jaas_user *u = NULL;
	int nu = 0;
	const char *p = skip_ws(text);
	char tok[256];
	while (*p) {
		p = word(p, tok, sizeof(tok)); /* the login module class */
		if (!tok[0])
			goto bad;
		p = word(skip_ws(p), tok, sizeof(tok)); /* required / requisite / ... */
		if (strcmp(tok, "required") && strcmp(tok, "requisite") &&
		    strcmp(tok, "sufficient") && strcmp(tok, "optional"))
			goto bad;
		for (p = skip_ws(p); *p && *p != ';'; p = skip_ws(p)) {
			char key[256], *val = NULL;
			p = word(p, key, sizeof(key));
			p = skip_ws(p);
			if (!key[0] || *p != '=')
				goto bad;
			p = value(skip_ws(p + 1), &val);
			if (!p)
				goto bad;
			char **login = strcmp(key, "username") == 0   ? login_user
				       : strcmp(key, "password") == 0 ? login_pw
								      : NULL;
			if (strncmp(key, "user_", 5) == 0 && key[5]) {
				u = rn_realloc(u, (size_t)(nu + 1) * sizeof(*u));
				u[nu].name = rn_strdup(key + 5);
				u[nu++].password = val;
			} else if (login) {
				rn_free(*login);
				*login = val;
			} else {
				rn_free(val);
			}
		}
		if (*p != ';')
			goto bad;
		p = skip_ws(p + 1);
	}
	*users = u;
	*n = nu;
	return 0;
bad:
	snprintf(err, errlen,
		 "sasl.jaas.config: cannot parse near offset %d (want '<LoginModule class> "
		 "required name=\"value\" ...;')",
		 (int)(p - text));
	rn__jaas_free(u, nu);
	return -EINVAL;
}

int rn__jaas_parse(const char *text, struct rn__jaas_user **users, int *n, char *err, size_t errlen)
{
	return parse(text, users, n, NULL, NULL, err, errlen);
}

int rn_sasl_jaas_login(const char *text, char **user, char **password)
{
	struct rn__jaas_user *u = NULL;
	int n = 0;
	char err[128];
	*user = *password = NULL;
	int rc = parse(text, &u, &n, user, password, err, sizeof(err));
	rn__jaas_free(u, n);
	if (rc == 0 && *user && *password)
		return 0;
	rn_free(*user);
	if (*password)
		memset(*password, 0, strlen(*password));
	rn_free(*password);
	*user = *password = NULL;
	return -EINVAL;
}
