/*
 * Decisions applied to the store: the compare-and-set loop every controller write goes
 * through, and rn_election_run (ElectLeaders), which any broker may run because the CAS on
 * partition_epoch makes concurrent writers safe: the loser re-reads and decides again.
 */
#include <stdlib.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/kerr.h"
#include "replica/controller.h"
#include "replica/controller_int.h"
#include "replica/election.h"

int rn__ctl_live(struct rn_meta *m, int32_t **ids)
{
	int cap = 16;
	struct rn_broker_reg *regs = NULL;
	int n;
	for (;;) {
		regs = rn_realloc(regs, (size_t)cap * sizeof(*regs));
		n = rn_meta_brokers(m, regs, cap);
		if (n <= cap)
			break;
		cap = n;
	}
	*ids = NULL;
	if (n > 0) {
		*ids = rn_malloc((size_t)n * sizeof(**ids));
		for (int i = 0; i < n; i++)
			(*ids)[i] = regs[i].id;
	}
	rn_free(regs);
	return n > 0 ? n : 0;
}

int16_t rn__ctl_apply(struct rn_meta *m, const char *topic, int32_t idx, rn__ctl_decide_fn fn,
		      void *arg, struct rn_pstate *out)
{
	int16_t kerr = RN_KERR_REQUEST_TIMED_OUT;
	for (int attempt = 0; attempt < RN__CTL_RETRIES; attempt++) {
		struct rn_pstate cur, next;
		int rc = rn_meta_partition_get(m, topic, idx, &cur);
		if (rc == RN_ENOTFOUND)
			return RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
		if (rc < 0)
			return RN_KERR_REQUEST_TIMED_OUT;
		if (out)
			*out = cur;
		int32_t *live;
		int nlive = rn__ctl_live(m, &live);
		bool write = false;
		kerr = fn(&cur, live, nlive, arg, &next, &write);
		rn_free(live);
		if (!write)
			return kerr;
		rc = rn_meta_partition_cas(m, topic, idx, cur.partition_epoch, &next);
		if (rc == 0) {
			if (out)
				*out = next;
			if (next.leader != cur.leader)
				rn_info("controller: %s-%d leader %d -> %d (leader epoch %d), isr "
					"of %d",
					topic, idx, cur.leader, next.leader, next.leader_epoch,
					next.nisr);
			return kerr;
		}
		if (rc == RN_ENOTFOUND)
			return RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
		if (rc != RN_ESTALE)
			return RN_KERR_REQUEST_TIMED_OUT;
		/* Lost a race: decide again on the new state. The store's CAS returns RN_ESTALE
		 * only once its cache holds the winner (or saw a newer state than ours), so a
		 * re-read at once sees what won. */
		kerr = RN_KERR_REQUEST_TIMED_OUT;
	}
	return kerr;
}

static int16_t decide_election(const struct rn_pstate *cur, const int32_t *live, int nlive,
			       void *arg, struct rn_pstate *next, bool *write)
{
	enum rn_election type = *(enum rn_election *)arg;
	int16_t kerr = type == RN_ELECT_UNCLEAN ? rn_elect_unclean(cur, live, nlive, next)
						: rn_elect_preferred(cur, live, nlive, next);
	*write = kerr == RN_KERR_NONE;
	return kerr;
}

int16_t rn_election_run(struct rn_meta *m, const char *topic, int32_t idx, enum rn_election type)
{
	return rn__ctl_apply(m, topic, idx, decide_election, &type, NULL);
}
