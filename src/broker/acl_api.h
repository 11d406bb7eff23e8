/* What the three ACL handlers share: wire codes to the model's enums, audit lines. */
#ifndef RN_BROKER_ACL_API_H
#define RN_BROKER_ACL_API_H

#include "auth/acl.h"
#include "broker/handler.h"

/* Codes outside Kafka's ranges become UNKNOWN, as Kafka's fromCode does. */
enum rn_res_type rn_acl_wire_type(int8_t v);
enum rn_pattern rn_acl_wire_pattern(int8_t v);
enum rn_acl_op rn_acl_wire_op(int8_t v);
enum rn_acl_perm rn_acl_wire_perm(int8_t v);
/* An audit line for a created or deleted binding, by the request's principal. */
void rn_acl_audit_change(struct rn_ctx *ctx, const char *api, const struct rn_acl *a,
			 const char *result);

#endif
