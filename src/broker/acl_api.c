/* Helpers of the ACL handlers (acl_api.h). */
#include "broker/acl_api.h"

#include <stdio.h>

#include "broker/authz.h"

enum rn_res_type rn_acl_wire_type(int8_t v)
{
	return v >= RN_RES_ANY && v <= RN_RES_USER ? (enum rn_res_type)v : RN_RES_UNKNOWN;
}

enum rn_pattern rn_acl_wire_pattern(int8_t v)
{
	return v >= RN_PAT_ANY && v <= RN_PAT_PREFIXED ? (enum rn_pattern)v : RN_PAT_UNKNOWN;
}

enum rn_acl_op rn_acl_wire_op(int8_t v)
{
	return v >= RN_OP_ANY && v <= RN_OP_DESCRIBE_TOKENS ? (enum rn_acl_op)v : RN_OP_UNKNOWN;
}

enum rn_acl_perm rn_acl_wire_perm(int8_t v)
{
	return v >= RN_PERM_ANY && v <= RN_PERM_ALLOW ? (enum rn_acl_perm)v : RN_PERM_UNKNOWN;
}

void rn_acl_audit_change(struct rn_ctx *ctx, const char *api, const struct rn_acl *a,
			 const char *result)
{
	struct rn_session *s = rn_ctx_session(ctx);
	char res[600], what[400];
	snprintf(res, sizeof(res), "%s:%s:%.400s", rn_res_type_name(a->type),
		 rn_pattern_name(a->pattern), a->name);
	snprintf(what, sizeof(what), "%s(principal=%.256s,host=%.48s,operation=%s,permission=%s)",
		 result, a->principal, a->host, rn_acl_op_name(a->op), rn_acl_perm_name(a->perm));
	rn_audit(s->principal, s->peer, api, res, what);
}
