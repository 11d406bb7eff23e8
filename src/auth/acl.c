/*
 * The authorizer (acl.h): Kafka's AclAuthorizer semantics over an in-memory copy of the ACL
 * bindings. Deny wins over allow; an allow of READ, WRITE, DELETE or ALTER also allows DESCRIBE
 * and ALTER_CONFIGS allows DESCRIBE_CONFIGS, but a deny only denies its own operation (or ALL);
 * a resource without any ACL is allowed only with allow.everyone.if.no.acl.found. A broker has
 * tens of ACLs, not millions, so a linear scan under a read lock is the whole index.
 */
#include "auth/acl.h"

#include <pthread.h>
#include <string.h>

#include "auth/acl_int.h"
#include "auth/session.h"
#include "core/alloc.h"

struct rn_authorizer {
	pthread_rwlock_t lock;
	struct rn_acl *acls; /* strings owned, one allocation per binding (name first) */
	size_t n;
	char **supers;
	size_t nsupers;
	bool allow_if_no_acl;
	struct rn_meta *meta; /* set by rn_authorizer_follow */
};

static const char *const known_classes[] = {
    "kafka.security.authorizer.AclAuthorizer",
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "kafka.security.auth.SimpleAclAuthorizer",
};

bool rn_authorizer_class_known(const char *cls)
{
	for (size_t i = 0; cls && i < sizeof(known_classes) / sizeof(known_classes[0]); i++)
		if (strcmp(cls, known_classes[i]) == 0)
			return true;
	return false;
}

static void trim(const char **b, const char **e)
{
	while (*b < *e && (**b == ' ' || **b == '\t'))
		(*b)++;
	while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

struct rn_authorizer *rn_authorizer_new(const char *super_users, bool allow_if_no_acl)
{
	struct rn_authorizer *az = rn_calloc(1, sizeof(*az));
	pthread_rwlock_init(&az->lock, NULL);
	az->allow_if_no_acl = allow_if_no_acl;
	for (const char *p = super_users; p && *p;) {
		const char *e = strchr(p, ';');
		const char *end = e ? e : p + strlen(p), *b = p;
		trim(&b, &end);
		if (end > b) {
			az->supers = rn_realloc(az->supers, (az->nsupers + 1) * sizeof(char *));
			az->supers[az->nsupers++] = rn_strndup(b, (size_t)(end - b));
		}
		p = e ? e + 1 : end;
		if (!e)
			break;
	}
	return az;
}

static void free_acls(struct rn_acl *acls, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rn_free((char *)acls[i].name);
	rn_free(acls);
}

void rn_authorizer_free(struct rn_authorizer *az)
{
	if (!az)
		return;
	free_acls(az->acls, az->n);
	for (size_t i = 0; i < az->nsupers; i++)
		rn_free(az->supers[i]);
	rn_free(az->supers);
	pthread_rwlock_destroy(&az->lock);
	rn_free(az);
}

/* One block per binding: name, principal and host back to back, so freeing name frees all. */
static void copy_acl(struct rn_acl *dst, const struct rn_acl *src)
{
	size_t ln = strlen(src->name) + 1, lp = strlen(src->principal) + 1,
	       lh = strlen(src->host) + 1;
	char *blk = rn_malloc(ln + lp + lh);
	memcpy(blk, src->name, ln);
	memcpy(blk + ln, src->principal, lp);
	memcpy(blk + ln + lp, src->host, lh);
	*dst = *src;
	dst->name = blk;
	dst->principal = blk + ln;
	dst->host = blk + ln + lp;
}

void rn_authorizer_set(struct rn_authorizer *az, const struct rn_acl *acls, size_t n)
{
	struct rn_acl *copy = rn_calloc(n + 1, sizeof(*copy));
	for (size_t i = 0; i < n; i++)
		copy_acl(&copy[i], &acls[i]);
	pthread_rwlock_wrlock(&az->lock);
	struct rn_acl *old = az->acls;
	size_t oldn = az->n;
	az->acls = copy;
	az->n = n;
	pthread_rwlock_unlock(&az->lock);
	free_acls(old, oldn);
}

void rn_authorizer_foreach(struct rn_authorizer *az, void (*cb)(const struct rn_acl *a, void *arg),
			   void *arg)
{
	pthread_rwlock_rdlock(&az->lock);
	for (size_t i = 0; i < az->n; i++)
		cb(&az->acls[i], arg);
	pthread_rwlock_unlock(&az->lock);
}

bool rn_authorizer_is_super(const struct rn_authorizer *az, const char *principal)
{
	for (size_t i = 0; az && i < az->nsupers; i++)
		if (strcmp(az->supers[i], principal) == 0)
			return true;
	return false;
}

/* Does the binding's pattern cover the resource (type, name[0..len))? */
static bool covers(const struct rn_acl *a, enum rn_res_type type, const char *name, size_t len)
{
	if (a->type != type)
		return false;
	size_t an = strlen(a->name);
	if (a->pattern == RN_PAT_LITERAL)
		return (an == len && memcmp(a->name, name, len) == 0) || strcmp(a->name, "*") == 0;
	if (a->pattern == RN_PAT_PREFIXED)
		return an <= len && memcmp(a->name, name, an) == 0;
	return false;
}

/* "User:*" stands for every principal of type User (Kafka's wildcard principal). */
static bool principal_match(const char *acl, const char *who)
{
	if (strcmp(acl, who) == 0)
		return true;
	return strcmp(acl, "User:*") == 0 && strncmp(who, "User:", 5) == 0;
}

static bool entry_match(const struct rn_acl *a, const struct rn_session *s)
{
	return principal_match(a->principal, s->principal) &&
	       (strcmp(a->host, "*") == 0 || strcmp(a->host, s->host) == 0);
}

/* Does an allow of acl_op also allow op? */
static bool implies(enum rn_acl_op acl_op, enum rn_acl_op op)
{
	if (acl_op == RN_OP_ALL || acl_op == op)
		return true;
	if (op == RN_OP_DESCRIBE)
		return acl_op == RN_OP_READ || acl_op == RN_OP_WRITE || acl_op == RN_OP_DELETE ||
		       acl_op == RN_OP_ALTER;
	if (op == RN_OP_DESCRIBE_CONFIGS)
		return acl_op == RN_OP_ALTER_CONFIGS;
	return false;
}

static bool authorize_locked(struct rn_authorizer *az, const struct rn_session *s,
			     enum rn_acl_op op, enum rn_res_type type, const char *name, size_t len)
{
	bool found = false, allowed = false;
	for (size_t i = 0; i < az->n; i++) {
		const struct rn_acl *a = &az->acls[i];
		if (!covers(a, type, name, len))
			continue;
		found = true;
		if (!entry_match(a, s))
			continue;
		if (a->perm == RN_PERM_DENY && (a->op == op || a->op == RN_OP_ALL))
			return false;
		if (a->perm == RN_PERM_ALLOW && implies(a->op, op))
			allowed = true;
	}
	return found ? allowed : az->allow_if_no_acl;
}

bool rn_authorize(struct rn_authorizer *az, const struct rn_session *s, enum rn_acl_op op,
		  enum rn_res_type type, const char *name, size_t len)
{
	if (!az || rn_authorizer_is_super(az, s->principal))
		return true;
	if (!name)
		name = "", len = 0;
	pthread_rwlock_rdlock(&az->lock);
	bool ok = authorize_locked(az, s, op, type, name, len);
	pthread_rwlock_unlock(&az->lock);
	return ok;
}

/* Is pattern p (literal or prefixed name n) wholly inside a deny of the same entry? */
static bool denied_pattern(struct rn_authorizer *az, const struct rn_session *s, enum rn_acl_op op,
			   enum rn_res_type type, const struct rn_acl *p)
{
	for (size_t i = 0; i < az->n; i++) {
		const struct rn_acl *d = &az->acls[i];
		if (d->type != type || d->perm != RN_PERM_DENY ||
		    (d->op != op && d->op != RN_OP_ALL) || !entry_match(d, s))
			continue;
		size_t dn = strlen(d->name);
		if (d->pattern == RN_PAT_LITERAL &&
		    (strcmp(d->name, "*") == 0 ||
		     (p->pattern == RN_PAT_LITERAL && strcmp(d->name, p->name) == 0)))
			return true;
		if (d->pattern == RN_PAT_PREFIXED && strncmp(d->name, p->name, dn) == 0)
			return true;
	}
	return false;
}

bool rn_authorize_any(struct rn_authorizer *az, const struct rn_session *s, enum rn_acl_op op,
		      enum rn_res_type type)
{
	/* As Kafka's default authorizeByResourceType: a made-up literal first, which grants super
	 * users and, without ACLs, allow.everyone.if.no.acl.found. */
	if (rn_authorize(az, s, op, type, "hardcode", 8))
		return true;
	bool ok = false;
	pthread_rwlock_rdlock(&az->lock);
	for (size_t i = 0; i < az->n && !ok; i++) {
		const struct rn_acl *a = &az->acls[i];
		if (a->type == type && a->perm == RN_PERM_ALLOW &&
		    (a->op == op || a->op == RN_OP_ALL) && entry_match(a, s) &&
		    !denied_pattern(az, s, op, type, a))
			ok = true;
	}
	pthread_rwlock_unlock(&az->lock);
	return ok;
}

#define B(op) (1 << (op))

int32_t rn_acl_supported_ops(enum rn_res_type type)
{
	switch (type) {
	case RN_RES_TOPIC:
		return B(RN_OP_READ) | B(RN_OP_WRITE) | B(RN_OP_CREATE) | B(RN_OP_DESCRIBE) |
		       B(RN_OP_DELETE) | B(RN_OP_ALTER) | B(RN_OP_DESCRIBE_CONFIGS) |
		       B(RN_OP_ALTER_CONFIGS);
	case RN_RES_GROUP: return B(RN_OP_READ) | B(RN_OP_DESCRIBE) | B(RN_OP_DELETE);
	case RN_RES_CLUSTER:
		return B(RN_OP_CREATE) | B(RN_OP_CLUSTER_ACTION) | B(RN_OP_DESCRIBE_CONFIGS) |
		       B(RN_OP_ALTER_CONFIGS) | B(RN_OP_IDEMPOTENT_WRITE) | B(RN_OP_ALTER) |
		       B(RN_OP_DESCRIBE);
	case RN_RES_TRANSACTIONAL_ID: return B(RN_OP_DESCRIBE) | B(RN_OP_WRITE);
	case RN_RES_DELEGATION_TOKEN: return B(RN_OP_DESCRIBE);
	case RN_RES_USER: return B(RN_OP_CREATE_TOKENS) | B(RN_OP_DESCRIBE_TOKENS);
	default: return 0;
	}
}

int32_t rn_authorized_ops(struct rn_authorizer *az, const struct rn_session *s,
			  enum rn_res_type type, const char *name, size_t len)
{
	int32_t sup = rn_acl_supported_ops(type), out = 0;
	for (int op = RN_OP_READ; op <= RN_OP_DESCRIBE_TOKENS; op++)
		if ((sup & B(op)) && rn_authorize(az, s, (enum rn_acl_op)op, type, name, len))
			out |= B(op);
	return out;
}

bool rn_acl_filter_match(const rn_acl_filter *f, const struct rn_acl *a)
{
	if (f->type != RN_RES_ANY && f->type != a->type)
		return false;
	if (f->pattern != RN_PAT_ANY && f->pattern != RN_PAT_MATCH && f->pattern != a->pattern)
		return false;
	if (f->name) {
		if (f->pattern == RN_PAT_MATCH) {
			if (!covers(a, a->type, f->name, strlen(f->name)))
				return false;
		} else if (strcmp(f->name, a->name) != 0) {
			return false;
		}
	}
	if (f->principal && strcmp(f->principal, a->principal) != 0)
		return false;
	if (f->host && strcmp(f->host, a->host) != 0)
		return false;
	if (f->op != RN_OP_ANY && f->op != a->op)
		return false;
	return f->perm == RN_PERM_ANY || f->perm == a->perm;
}

int rn_acl_validate(const struct rn_acl *a, const char **why)
{
	const char *w = NULL;
	if (a->type < RN_RES_TOPIC || a->type > RN_RES_USER)
		w = "Invalid resource type";
	else if (a->pattern != RN_PAT_LITERAL && a->pattern != RN_PAT_PREFIXED)
		w = "Invalid pattern type: ACLs are LITERAL or PREFIXED";
	else if (a->op < RN_OP_ALL || a->op > RN_OP_DESCRIBE_TOKENS)
		w = "Invalid operation";
	else if (a->perm != RN_PERM_ALLOW && a->perm != RN_PERM_DENY)
		w = "Invalid permission type";
	else if (!a->name || !*a->name)
		w = "Invalid empty resource name";
	else if (a->type == RN_RES_CLUSTER && strcmp(a->name, RN_CLUSTER_RESOURCE) != 0)
		w = "The only valid name for the CLUSTER resource is " RN_CLUSTER_RESOURCE;
	else if (!a->principal || !strchr(a->principal, ':') || a->principal[0] == ':')
		w = "Could not parse principal: want Type:name";
	else if (!a->host || !*a->host)
		w = "Invalid empty host";
	if (w && why)
		*why = w;
	return w ? -1 : 0;
}

int rn_acl_filter_validate(const rn_acl_filter *f, const char **why)
{
	const char *w = NULL;
	if (f->type < RN_RES_ANY || f->type > RN_RES_USER)
		w = "Invalid resource type filter";
	else if (f->pattern < RN_PAT_ANY || f->pattern > RN_PAT_PREFIXED)
		w = "Invalid pattern type filter";
	else if (f->op < RN_OP_ANY || f->op > RN_OP_DESCRIBE_TOKENS)
		w = "Invalid operation filter";
	else if (f->perm < RN_PERM_ANY || f->perm > RN_PERM_ALLOW)
		w = "Invalid permission type filter";
	if (w && why)
		*why = w;
	return w ? -1 : 0;
}

const char *rn_acl_op_name(enum rn_acl_op op)
{
	static const char *const n[] = {"Unknown",
					"Any",
					"All",
					"Read",
					"Write",
					"Create",
					"Delete",
					"Alter",
					"Describe",
					"ClusterAction",
					"DescribeConfigs",
					"AlterConfigs",
					"IdempotentWrite",
					"CreateTokens",
					"DescribeTokens"};
	return (unsigned)op < sizeof(n) / sizeof(n[0]) ? n[op] : "Unknown";
}

const char *rn_res_type_name(enum rn_res_type t)
{
	static const char *const n[] = {"Unknown",         "Any",     "Topic",
					"Group",           "Cluster", "TransactionalId",
					"DelegationToken", "User"};
	return (unsigned)t < sizeof(n) / sizeof(n[0]) ? n[t] : "Unknown";
}

const char *rn_pattern_name(enum rn_pattern p)
{
	static const char *const n[] = {"UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"};
	return (unsigned)p < sizeof(n) / sizeof(n[0]) ? n[p] : "UNKNOWN";
}

const char *rn_acl_perm_name(enum rn_acl_perm p)
{
	static const char *const n[] = {"Unknown", "Any", "Deny", "Allow"};
	return (unsigned)p < sizeof(n) / sizeof(n[0]) ? n[p] : "Unknown";
}

struct rn_meta *rn__authorizer_meta(struct rn_authorizer *az)
{
	return az->meta;
}

void rn__authorizer_set_meta(struct rn_authorizer *az, struct rn_meta *m)
{
	az->meta = m;
}
