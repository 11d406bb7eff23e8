/*
 * AclOperation bit sets (bit n = AclOperation code n) that Kafka reports as a resource's
 * authorized operations when no authorizer is configured: every operation the resource type
 * supports (AclEntry.supportedOperations). Codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7,
 * DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
 * Authorization (auth/acl*) will compute these per principal.
 */
#ifndef RN_BROKER_ACL_OPS_H
#define RN_BROKER_ACL_OPS_H

#define RN_TOPIC_OPERATIONS                                                                        \
	(1 << 3 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 7 | 1 << 8 | 1 << 10 | 1 << 11)
#define RN_CLUSTER_OPERATIONS (1 << 5 | 1 << 7 | 1 << 8 | 1 << 9 | 1 << 10 | 1 << 11 | 1 << 12)

#endif
