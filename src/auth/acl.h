/*
 * Kafka's authorization model (AclAuthorizer / StandardAuthorizer): resources, patterns,
 * operations and permissions with their wire codes, and the one question every request asks.
 *
 * acl.c: the model and the matching; acl_store.c: ACL bindings as security records of the
 * metadata store (namespace "acl"); audit.c: the audit log.
 */
#ifndef RN_AUTH_ACL_H
#define RN_AUTH_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ResourceType codes. */
enum rn_res_type {
	RN_RES_UNKNOWN = 0,
	RN_RES_ANY = 1,
	RN_RES_TOPIC = 2,
	RN_RES_GROUP = 3,
	RN_RES_CLUSTER = 4,
	RN_RES_TRANSACTIONAL_ID = 5,
	RN_RES_DELEGATION_TOKEN = 6,
	RN_RES_USER = 7,
};

/* PatternType codes. */
enum rn_pattern {
	RN_PAT_UNKNOWN = 0,
	RN_PAT_ANY = 1,
	RN_PAT_MATCH = 2,
	RN_PAT_LITERAL = 3,
	RN_PAT_PREFIXED = 4,
};

/* AclOperation codes. */
enum rn_acl_op {
	RN_OP_UNKNOWN = 0,
	RN_OP_ANY = 1,
	RN_OP_ALL = 2,
	RN_OP_READ = 3,
	RN_OP_WRITE = 4,
	RN_OP_CREATE = 5,
	RN_OP_DELETE = 6,
	RN_OP_ALTER = 7,
	RN_OP_DESCRIBE = 8,
	RN_OP_CLUSTER_ACTION = 9,
	RN_OP_DESCRIBE_CONFIGS = 10,
	RN_OP_ALTER_CONFIGS = 11,
	RN_OP_IDEMPOTENT_WRITE = 12,
	RN_OP_CREATE_TOKENS = 13,
	RN_OP_DESCRIBE_TOKENS = 14,
};

/* AclPermissionType codes. */
enum rn_acl_perm {
	RN_PERM_UNKNOWN = 0,
	RN_PERM_ANY = 1,
	RN_PERM_DENY = 2,
	RN_PERM_ALLOW = 3,
};

/* The cluster resource's one name. */
#define RN_CLUSTER_RESOURCE "kafka-cluster"

struct rn_authorizer;
struct rn_session;
struct rn_meta;

/* May the session's principal, from its host, do op on the resource (type, name[0..len))?
 * Always true when az is NULL (no authorizer.class.name). Denials are NOT logged here (the
 * caller decides, as Kafka's logIfDenied). Thread-safe. */
bool rn_authorize(struct rn_authorizer *az, const struct rn_session *s, enum rn_acl_op op,
		  enum rn_res_type type, const char *name, size_t len);

/* One ACL binding: a resource pattern and an access control entry. The strings are borrowed
 * unless the function that hands the binding out says otherwise. */
struct rn_acl {
	enum rn_res_type type;
	enum rn_pattern pattern; /* LITERAL or PREFIXED in a binding */
	const char *name;
	const char *principal; /* "User:alice", "User:*" */
	const char *host;      /* "*" or an exact ip */
	enum rn_acl_op op;
	enum rn_acl_perm perm;
};

/* A filter as DescribeAcls / DeleteAcls carry it: NULL strings and the ANY codes match
 * everything; pattern MATCH matches the bindings that apply to `name` (the literal itself, the
 * literal "*", prefixes of it). */
typedef struct rn_acl rn_acl_filter;

/* Kafka's standard authorizer class names: true for any of them (authorizer.class.name). */
bool rn_authorizer_class_known(const char *cls);

/* A new authorizer with no ACLs. super_users: "User:admin;User:ops" (NULL or "" for none).
 * The caller owns the result (rn_authorizer_free). */
struct rn_authorizer *rn_authorizer_new(const char *super_users, bool allow_if_no_acl);
void rn_authorizer_free(struct rn_authorizer *az);
/* Replaces every cached ACL with copies of acls[0..n). Thread-safe against rn_authorize. */
void rn_authorizer_set(struct rn_authorizer *az, const struct rn_acl *acls, size_t n);
/* Calls cb on a consistent snapshot of the cached ACLs (under a read lock: cb must not call
 * rn_authorizer_set). */
void rn_authorizer_foreach(struct rn_authorizer *az, void (*cb)(const struct rn_acl *a, void *arg),
			   void *arg);
bool rn_authorizer_is_super(const struct rn_authorizer *az, const char *principal);

/* Kafka's authorizeByResourceType (InitProducerId's "WRITE on any topic"): may the session do
 * op on at least one resource of this type? */
bool rn_authorize_any(struct rn_authorizer *az, const struct rn_session *s, enum rn_acl_op op,
		      enum rn_res_type type);

/* The AclOperation bit set (bit n = code n) of the operations the session may do on the
 * resource among those its type supports; every supported one when az is NULL. */
int32_t rn_authorized_ops(struct rn_authorizer *az, const struct rn_session *s,
			  enum rn_res_type type, const char *name, size_t len);
/* The operations a resource type supports (Kafka's AclEntry.supportedOperations), as bits. */
int32_t rn_acl_supported_ops(enum rn_res_type type);

/* Does the filter match the binding? */
bool rn_acl_filter_match(const rn_acl_filter *f, const struct rn_acl *a);
/* Is the binding one CreateAcls may store? 0, or -1 with a reason (static string) in *why. */
int rn_acl_validate(const struct rn_acl *a, const char **why);
/* Is the filter well formed (no UNKNOWN codes; ALL is a valid op)? 0 or -1 with *why. */
int rn_acl_filter_validate(const rn_acl_filter *f, const char **why);

/* Kafka's names ("Topic", "Read", "Allow", "Literal") for logs and the audit. */
const char *rn_acl_op_name(enum rn_acl_op op);
const char *rn_res_type_name(enum rn_res_type t);
const char *rn_pattern_name(enum rn_pattern p);
const char *rn_acl_perm_name(enum rn_acl_perm p);

/* Security records of the metadata store (acl_store.c). */
#define RN_ACL_NS "acl"
/* The record key and value for a binding (key and value are the same text: "v1," then the
 * codes and the percent-encoded strings, comma separated). The caller owns the result
 * (rn_free). */
char *rn_acl_encode(const struct rn_acl *a);
/* Parses an encoded binding; strings are allocated in one block the caller frees with rn_free
 * (*block). 0 or -1. */
int rn_acl_decode(const char *text, struct rn_acl *a, char **block);
/* Reloads the cache from m's "acl" namespace. */
void rn_authorizer_load(struct rn_authorizer *az, struct rn_meta *m);
/* Loads now and reloads on every change of the namespace (rn_meta_sec_watch). */
void rn_authorizer_follow(struct rn_authorizer *az, struct rn_meta *m);

/* The audit log: one line per denial and per security change. Lines go to the broker's log
 * with an "audit:" prefix, and also to the file set with rn_audit_open. principal, client
 * ("ip:port"), operation, resource ("Topic:LITERAL:orders") and result ("DENIED", "CREATED",
 * "DELETED", ...) may be NULL ("-"). Thread-safe. */
void rn_audit(const char *principal, const char *client, const char *operation,
	      const char *resource, const char *result);
/* Appends audit lines to path too (authorizer.audit.log.file); 0 or -errno. */
int rn_audit_open(const char *path);
void rn_audit_close(void);

#endif
