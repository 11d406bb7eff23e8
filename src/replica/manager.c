/* STUB (issue 8 interface commit): the replica manager. Replaced by the follower slice. */
#include <string.h>

#include "core/err.h"
#include "replica/replica.h"

int rn_replica_mgr_new(struct rn_meta *meta, const struct rn_replica_cfg *cfg,
		       const struct rn_replica_hooks *hooks, struct rn_replica_mgr **out)
{
	(void)meta, (void)cfg, (void)hooks;
	*out = NULL;
	return RN_EUNSUPPORTED;
}
void rn_replica_mgr_free(struct rn_replica_mgr *mgr)
{
	(void)mgr;
}
void rn_replica_mgr_stop_fetchers(struct rn_replica_mgr *mgr)
{
	(void)mgr;
}
struct rn_replica_part *rn_replica_attach(struct rn_replica_mgr *mgr, const char *topic,
					  int32_t idx, struct rn_partition *log)
{
	(void)mgr, (void)topic, (void)idx, (void)log;
	return NULL;
}
void rn_replica_detach(struct rn_replica_mgr *mgr, struct rn_replica_part *rp)
{
	(void)mgr, (void)rp;
}
void rn_replica_apply(struct rn_replica_mgr *mgr, struct rn_replica_part *rp,
		      const struct rn_pstate *st)
{
	(void)mgr, (void)rp, (void)st;
}
void rn_replica_state(struct rn_replica_part *rp, struct rn_pstate *out)
{
	(void)rp;
	memset(out, 0, sizeof(*out));
	out->leader = -1;
}
void rn_replica_mgr_stats(struct rn_replica_mgr *mgr, struct rn_replica_stats *out)
{
	(void)mgr;
	memset(out, 0, sizeof(*out));
}
