/*
 * Client quotas in the metadata store (namespace "quota", store.h "Security records"). One
 * record per entity, keyed like Kafka's ZooKeeper paths with names percent-encoded:
 * "users/alice", "users/alice/clients/app-1", "users/<default>/clients/<default>",
 * "clients/app-1"; the value is "producer_byte_rate=1048576;request_percentage=50".
 */
#ifndef RN_AUTH_QUOTA_STORE_H
#define RN_AUTH_QUOTA_STORE_H

#include "auth/quota.h"

struct rn_meta;

#define RN_QUOTA_NS "quota"

/* One change to an entity's values (AlterClientQuotas' ops). */
struct rn_quota_op {
	enum rn_quota_type type;
	double value;
	bool remove;
};

/* The store key of e; the caller frees it (rn_free). NULL for an entity with neither part. */
char *rn_quota_store_key(const struct rn_quota_entity *e);
/* Parses a store key into e; the names are copied into *user / *client (caller frees, NULL when
 * not a name). RN_EINVALID for a key that is not one of ours. */
int rn_quota_store_parse_key(const char *key, struct rn_quota_entity *e, char **user,
			     char **client);
/* The store value of a set of values; the caller frees it. */
char *rn_quota_store_value(const bool has[RN_QUOTA_NTYPES], const double val[RN_QUOTA_NTYPES]);
/* Parses a store value (unknown keys are skipped); RN_EINVALID if malformed. */
int rn_quota_store_parse_value(const char *v, bool has[RN_QUOTA_NTYPES],
			       double val[RN_QUOTA_NTYPES]);

/* Every quota record of m, as a configuration the caller owns (records that do not parse are
 * skipped with a log line). */
struct rn_quota_cfg *rn_quota_store_load(struct rn_meta *m);
/* Applies ops to e's record durably (read, modify, compare-and-set, retried on a race); a record
 * left without values is deleted. Returns 0 or -errno / RN_E*. */
int rn_quota_store_alter(struct rn_meta *m, const struct rn_quota_entity *e,
			 const struct rn_quota_op *ops, int nops);

#endif
