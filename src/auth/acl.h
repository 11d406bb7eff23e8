/*
 * Kafka's authorization model (AclAuthorizer / StandardAuthorizer): resources, patterns,
 * operations and permissions with their wire codes, and the one question every request asks.
 *
 * PLACEHOLDER interface for the ACL room (auth/acl*.c): the enums are final (Kafka's codes);
 * rn_authorize answers "allowed" until the authorizer lands.
 */
#ifndef RN_AUTH_ACL_H
#define RN_AUTH_ACL_H

#include <stdbool.h>
#include <stddef.h>

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

/* May the session's principal, from its host, do op on the resource (type, name[0..len))?
 * Always true when az is NULL (no authorizer.class.name). Thread-safe. */
bool rn_authorize(struct rn_authorizer *az, const struct rn_session *s, enum rn_acl_op op,
		  enum rn_res_type type, const char *name, size_t len);

#endif
