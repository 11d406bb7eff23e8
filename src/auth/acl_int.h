/* Between acl.c and acl_store.c: the store an authorizer follows. */
#ifndef RN_AUTH_ACL_INT_H
#define RN_AUTH_ACL_INT_H

#include "auth/acl.h"

struct rn_meta *rn__authorizer_meta(struct rn_authorizer *az);
void rn__authorizer_set_meta(struct rn_authorizer *az, struct rn_meta *m);

#endif
