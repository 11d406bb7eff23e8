/* The configured client quotas and Kafka's precedence between them (quota.h). */
#include <string.h>

#include "auth/quota.h"
#include "core/alloc.h"
#include "core/err.h"

struct qent {
	enum rn_quota_part uk, ck;
	char *user, *client; /* owned; NULL unless the part is a name */
	bool has[RN_QUOTA_NTYPES];
	double val[RN_QUOTA_NTYPES];
	struct qent *next;
};

struct rn_quota_cfg {
	struct qent *head;
};

static const char *const keys[RN_QUOTA_NTYPES] = {"producer_byte_rate", "consumer_byte_rate",
						  "request_percentage"};

const char *rn_quota_key(enum rn_quota_type t)
{
	return (unsigned)t < RN_QUOTA_NTYPES ? keys[t] : "?";
}

int rn_quota_key_parse(const char *key, size_t len)
{
	for (int i = 0; i < RN_QUOTA_NTYPES; i++)
		if (strlen(keys[i]) == len && memcmp(keys[i], key, len) == 0)
			return i;
	return -1;
}

struct rn_quota_cfg *rn_quota_cfg_new(void)
{
	return rn_calloc(1, sizeof(struct rn_quota_cfg));
}

static void qent_free(struct qent *e)
{
	rn_free(e->user);
	rn_free(e->client);
	rn_free(e);
}

void rn_quota_cfg_free(struct rn_quota_cfg *c)
{
	if (!c)
		return;
	for (struct qent *e = c->head, *next; e; e = next) {
		next = e->next;
		qent_free(e);
	}
	rn_free(c);
}

static bool part_eq(enum rn_quota_part k1, const char *n1, enum rn_quota_part k2, const char *n2)
{
	return k1 == k2 && (k1 != RN_QP_NAME || strcmp(n1, n2) == 0);
}

static struct qent **find(struct rn_quota_cfg *c, const struct rn_quota_entity *e)
{
	struct qent **pp = &c->head;
	while (*pp && !(part_eq((*pp)->uk, (*pp)->user, e->user_kind, e->user) &&
			part_eq((*pp)->ck, (*pp)->client, e->client_kind, e->client)))
		pp = &(*pp)->next;
	return pp;
}

static bool entity_valid(const struct rn_quota_entity *e)
{
	if (e->user_kind == RN_QP_NONE && e->client_kind == RN_QP_NONE)
		return false;
	if ((e->user_kind == RN_QP_NAME && !e->user) ||
	    (e->client_kind == RN_QP_NAME && !e->client))
		return false;
	return (unsigned)e->user_kind <= RN_QP_NAME && (unsigned)e->client_kind <= RN_QP_NAME;
}

int rn_quota_cfg_set(struct rn_quota_cfg *c, const struct rn_quota_entity *e, enum rn_quota_type t,
		     double v, bool remove)
{
	if (!entity_valid(e) || (unsigned)t >= RN_QUOTA_NTYPES)
		return RN_EINVALID;
	struct qent **pp = find(c, e);
	if (!*pp) {
		if (remove)
			return 0;
		struct qent *n = rn_calloc(1, sizeof(*n));
		n->uk = e->user_kind;
		n->ck = e->client_kind;
		n->user = e->user_kind == RN_QP_NAME ? rn_strdup(e->user) : NULL;
		n->client = e->client_kind == RN_QP_NAME ? rn_strdup(e->client) : NULL;
		*pp = n;
	}
	struct qent *q = *pp;
	q->has[t] = !remove;
	q->val[t] = remove ? 0 : v;
	bool any = false;
	for (int i = 0; i < RN_QUOTA_NTYPES; i++)
		any |= q->has[i];
	if (!any) {
		*pp = q->next;
		qent_free(q);
	}
	return 0;
}

bool rn_quota_cfg_get(const struct rn_quota_cfg *c, const struct rn_quota_entity *e,
		      enum rn_quota_type t, double *v)
{
	if ((unsigned)t >= RN_QUOTA_NTYPES || !entity_valid(e))
		return false;
	struct qent *q = *find((struct rn_quota_cfg *)c, e);
	if (!q || !q->has[t])
		return false;
	*v = q->val[t];
	return true;
}

void rn_quota_cfg_foreach(const struct rn_quota_cfg *c,
			  void (*cb)(const struct rn_quota_entity *e,
				     const bool has[RN_QUOTA_NTYPES],
				     const double val[RN_QUOTA_NTYPES], void *arg),
			  void *arg)
{
	for (const struct qent *q = c->head; q; q = q->next) {
		struct rn_quota_entity e = {q->uk, q->ck, q->user, q->client};
		cb(&e, q->has, q->val, arg);
	}
}

/* Kafka's precedence level of entity q for (user, client), 0 when it does not apply. */
static int level_of(const struct qent *q, const char *user, const char *client)
{
	bool u = q->uk == RN_QP_NAME && strcmp(q->user, user) == 0;
	bool cl = q->ck == RN_QP_NAME && strcmp(q->client, client) == 0;
	switch (q->uk) {
	case RN_QP_NAME:
		if (!u)
			return 0;
		return q->ck == RN_QP_NAME ? (cl ? 1 : 0) : q->ck == RN_QP_DEFAULT ? 2 : 3;
	case RN_QP_DEFAULT:
		return q->ck == RN_QP_NAME ? (cl ? 4 : 0) : q->ck == RN_QP_DEFAULT ? 5 : 6;
	case RN_QP_NONE: return q->ck == RN_QP_NAME ? (cl ? 7 : 0) : q->ck == RN_QP_DEFAULT ? 8 : 0;
	}
	return 0;
}

bool rn_quota_cfg_resolve(const struct rn_quota_cfg *c, enum rn_quota_type t, const char *user,
			  const char *client, double *limit, int *level)
{
	int best = 0;
	double v = 0;
	if ((unsigned)t < RN_QUOTA_NTYPES)
		for (const struct qent *q = c->head; q; q = q->next) {
			if (!q->has[t])
				continue;
			int l = level_of(q, user, client);
			if (l && (!best || l < best)) {
				best = l;
				v = q->val[t];
			}
		}
	if (level)
		*level = best;
	if (best && limit)
		*limit = v;
	return best != 0;
}
