/* Shared between the files of the group module; not for other modules. */
#ifndef RN_GROUP_GROUP_INT_H
#define RN_GROUP_GROUP_INT_H

#include "group/group.h"

struct rn_gc {
	struct rn_gc_config cfg;
	struct rn_gc_hooks hooks;
	struct rn_group **buckets;
	uint32_t nbuckets;
	int ngroups;
};

void rn__gc_member_free(struct rn_gc_member *m);
/* A new member id: "<client id>-<uuid>", as Kafka makes them. Caller frees. */
char *rn__gc_member_id(const char *client_id);
void rn__gc_group_free(struct rn_group *g);
void rn__gc_offsets_free(struct rn_group *g);
void rn__gc_txn_offsets_free(struct rn_group *g);
void rn__gc_set_str(char **dst, const char *src);

#endif
