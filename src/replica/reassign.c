/*
 * Partition reassignment (KIP-455) against the store: the first write of a reassignment and
 * its cancellation. The rest is the controller's sweep: rn_elect_failover (through
 * rn_elect_build) completes a reassignment as soon as the ISR holds every target replica, so
 * the leader's own ISR expansion, which wakes the controller, ends the move. The new
 * replicas start fetching when their brokers apply the state naming them in `adding`.
 */
#include "core/log.h"
#include "proto/kerr.h"
#include "replica/controller.h"
#include "replica/controller_int.h"
#include "replica/election.h"

struct reassign_req {
	const int32_t *target;
	int32_t n;
	bool unclean_ok;
};

static int16_t decide_reassign(const struct rn_pstate *cur, const int32_t *live, int nlive,
			       void *arg, struct rn_pstate *next, bool *write)
{
	const struct reassign_req *r = arg;
	if (!r->target)
		return rn_reassign_cancel(cur, r->unclean_ok, live, nlive, next, write);
	return rn_reassign_begin(cur, r->target, r->n, live, nlive, next, write);
}

int16_t rn_controller_reassign(struct rn_meta *m, const char *topic, int32_t idx,
			       const int32_t *target, int32_t n, bool unclean_ok)
{
	struct reassign_req r = {target, n, unclean_ok};
	struct rn_pstate after;
	int16_t kerr = rn__ctl_apply(m, topic, idx, decide_reassign, &r, &after);
	if (kerr == RN_KERR_NONE)
		rn_info("reassignment of %s-%d %s: replicas of %d, adding %d, removing %d", topic,
			idx, target ? "started" : "cancelled", after.nreplicas, after.nadding,
			after.nremoving);
	return kerr;
}
