/* Per-connection security state (see session.h). */
#include "auth/session.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"

static void (*sasl_free_hook)(struct rn_sasl *);
static void (*quota_free_hook)(struct rn_quota_conn *);

void rn_session_set_free_hooks(void (*sasl_free)(struct rn_sasl *),
			       void (*quota_free)(struct rn_quota_conn *))
{
	if (sasl_free)
		sasl_free_hook = sasl_free;
	if (quota_free)
		quota_free_hook = quota_free;
}

struct rn_session *rn_session_new(int listener, const char *listener_name, enum rn_secproto proto,
				  const char *peer)
{
	struct rn_session *s = rn_calloc(1, sizeof(*s));
	s->listener = listener;
	s->proto = proto;
	snprintf(s->listener_name, sizeof(s->listener_name), "%s",
		 listener_name ? listener_name : rn_secproto_name(proto));
	snprintf(s->peer, sizeof(s->peer), "%s", peer ? peer : "?");
	/* "ip:port" or "[v6]:port": the host part is what ACLs match. */
	const char *p = s->peer, *colon = strrchr(p, ':');
	size_t n = colon ? (size_t)(colon - p) : strlen(p);
	if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
		p++;
		n -= 2;
	}
	if (n >= sizeof(s->host))
		n = sizeof(s->host) - 1;
	memcpy(s->host, p, n);
	s->host[n] = 0;
	rn_session_set_principal(s, RN_PRINCIPAL_ANONYMOUS);
	s->authenticated = !rn_secproto_sasl(proto);
	return s;
}

void rn_session_free(struct rn_session *s)
{
	if (!s)
		return;
	if (s->sasl && sasl_free_hook)
		sasl_free_hook(s->sasl);
	if (s->quota && quota_free_hook)
		quota_free_hook(s->quota);
	rn_free(s);
}

void rn_session_set_principal(struct rn_session *s, const char *principal)
{
	snprintf(s->principal, sizeof(s->principal), "%s", principal);
}

static const char *const names[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};

const char *rn_secproto_name(enum rn_secproto p)
{
	return (unsigned)p < 4 ? names[p] : "UNKNOWN";
}

int rn_secproto_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(name, names[i]) == 0)
			return i;
	return -1;
}

bool rn_secproto_tls(enum rn_secproto p)
{
	return p == RN_SEC_SSL || p == RN_SEC_SASL_SSL;
}

bool rn_secproto_sasl(enum rn_secproto p)
{
	return p == RN_SEC_SASL_PLAINTEXT || p == RN_SEC_SASL_SSL;
}
