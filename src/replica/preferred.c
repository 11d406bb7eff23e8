/*
 * KIP-392 on the leader: which replica a consumer should read from (Kafka's
 * ReplicaManager.findPreferredReadReplica with the RackAwareReplicaSelector). Candidates are the
 * live ISR followers that have the fetch offset; the racks come from the brokers' registrations.
 * The handler asks only when replica.selector.class names the rack-aware selector.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "replica/isr_int.h"

#define BROKERS_ON_STACK 16

static const char *rack_of(const struct rn_broker_reg *regs, int n, int32_t id)
{
	for (int i = 0; i < n; i++)
		if (regs[i].id == id)
			return regs[i].rack;
	return NULL;
}

int32_t rn_replica_preferred_read_at(struct rn_replica_part *rp, const char *client_rack,
				     int64_t fetch_offset)
{
	if (!client_rack || !client_rack[0])
		return -1;
	/* The store first, without rp->lock (see isr.c). */
	struct rn_broker_reg stack[BROKERS_ON_STACK], *regs = stack;
	int n = rn_meta_brokers(rp->mgr->meta, stack, BROKERS_ON_STACK);
	if (n > BROKERS_ON_STACK) {
		regs = rn_calloc((size_t)n, sizeof(*regs));
		int m = rn_meta_brokers(rp->mgr->meta, regs, n);
		n = m < n ? m : n;
	}
	struct rn_isr_read_candidate cand[RN_MAX_REPLICAS];
	int nc = 0;
	int64_t now = rn_mono_ms();
	int32_t self = rp->mgr->cfg.node_id, chosen = self;
	pthread_mutex_lock(&rp->lock);
	if (!rn__isr_leading(rp))
		goto out;
	for (int i = 0; i < rp->nfol; i++) {
		const struct rn_replica_follower *f = &rp->fol[i];
		const char *rack = rack_of(regs, n, f->id);
		/* A follower outside the ISR may lag for ever: never send consumers there. */
		if (!rack || !rn_pstate_has(rp->st.isr, rp->st.nisr, f->id) ||
		    f->leo == RN_ISR_UNKNOWN || (fetch_offset >= 0 && f->leo < fetch_offset))
			continue;
		cand[nc++] =
		    (struct rn_isr_read_candidate){f->id, rack, f->leo, now - f->last_caught_up_ms};
	}
	chosen = rn__isr_select_rack(client_rack, self, rp->mgr->cfg.rack, cand, nc);
out:
	pthread_mutex_unlock(&rp->lock);
	if (regs != stack)
		rn_free(regs);
	return chosen == self ? -1 : chosen;
}

int32_t rn_replica_preferred_read(struct rn_replica_part *rp, const char *client_rack)
{
	return rn_replica_preferred_read_at(rp, client_rack, -1);
}
