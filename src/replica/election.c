/*
 * Leader elections and the other partition-state decisions of the controller, as pure
 * functions (election.h), plus rn_election_run, which applies one to the store.
 * Semantics from Kafka's KRaft controller: PartitionChangeBuilder (electLeader,
 * completeReassignmentIfNeeded, the ISR never written empty), ReplicationControlManager
 * (electLeader for ElectLeaders, generateLeaderAndIsrUpdates for fenced brokers), and
 * PartitionReassignmentReplicas / PartitionReassignmentRevert for KIP-455.
 */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "proto/kerr.h"
#include "replica/controller.h"
#include "replica/election.h"

static bool has(const int32_t *set, int32_t n, int32_t id)
{
	return rn_pstate_has(set, n, id);
}

/* out = a \ b, in a's order; out may alias a. */
static int32_t set_minus(const int32_t *a, int32_t na, const int32_t *b, int32_t nb, int32_t *out)
{
	int32_t n = 0;
	for (int32_t i = 0; i < na; i++)
		if (!has(b, nb, a[i]))
			out[n++] = a[i];
	return n;
}

static bool list_eq(const int32_t *a, int32_t na, const int32_t *b, int32_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof(*a)) == 0);
}

static bool contains_all(const int32_t *a, int32_t na, const int32_t *b, int32_t nb)
{
	for (int32_t i = 0; i < nb; i++)
		if (!has(a, na, b[i]))
			return false;
	return true;
}

static bool acceptable(const struct rn_elect_env *env, int32_t id)
{
	return id >= 0 && id != env->exclude && has(env->live, env->nlive, id);
}

static bool valid_leader(const struct rn_pstate *t, const struct rn_elect_env *env, int32_t id)
{
	return has(t->isr, t->nisr, id) && acceptable(env, id);
}

bool rn_pstate_reassigning(const struct rn_pstate *st)
{
	return st->nadding > 0 || st->nremoving > 0;
}

/* Kafka's completeReassignmentIfNeeded on the target t. */
static void complete_reassignment(struct rn_pstate *t)
{
	if (!rn_pstate_reassigning(t))
		return;
	int32_t isr[RN_MAX_REPLICAS], reps[RN_MAX_REPLICAS];
	int32_t nisr = set_minus(t->isr, t->nisr, t->removing, t->nremoving, isr);
	int32_t nreps = set_minus(t->replicas, t->nreplicas, t->removing, t->nremoving, reps);
	if (nisr == 0 || nreps == 0 || !contains_all(isr, nisr, reps, nreps))
		return;
	memcpy(t->isr, isr, sizeof(isr));
	t->nisr = nisr;
	memcpy(t->replicas, reps, sizeof(reps));
	t->nreplicas = nreps;
	t->nadding = t->nremoving = 0;
}

/* Kafka's electLeader: the new leader (-1: none), *unclean when it is not an ISR member. */
static int32_t elect(const struct rn_pstate *cur, const struct rn_pstate *t,
		     enum rn_elect_mode mode, const struct rn_elect_env *env, bool *unclean)
{
	*unclean = false;
	if (mode == RN_ELECT_MODE_PREFERRED && t->nreplicas > 0 &&
	    valid_leader(t, env, t->replicas[0]))
		return t->replicas[0];
	if (valid_leader(t, env, cur->leader))
		return cur->leader;
	for (int32_t i = 0; i < t->nreplicas; i++)
		if (valid_leader(t, env, t->replicas[i]))
			return t->replicas[i];
	if (mode != RN_ELECT_MODE_UNCLEAN)
		return -1;
	for (int32_t i = 0; i < t->nreplicas; i++) {
		if (acceptable(env, t->replicas[i])) {
			*unclean = true;
			return t->replicas[i];
		}
	}
	return -1;
}

bool rn_elect_build(const struct rn_pstate *cur, const struct rn_pstate *target,
		    enum rn_elect_mode mode, const struct rn_elect_env *env, struct rn_pstate *next)
{
	struct rn_pstate t = *target;
	complete_reassignment(&t);
	bool unclean;
	int32_t leader = elect(cur, &t, mode, env, &unclean);
	/* A leader "set" bumps leader_epoch: a new leader, or a replica dropped from the set
	 * (Kafka's triggerLeaderEpochBumpForReplicaReassignmentIfNeeded), which fences the
	 * removed follower's fetches. */
	bool leader_set = leader != cur->leader ||
			  !contains_all(t.replicas, t.nreplicas, cur->replicas, cur->nreplicas);
	*next = *cur;
	next->leader = leader;
	if (leader != cur->leader && unclean) {
		next->isr[0] = leader;
		next->nisr = 1;
	} else if (t.nisr > 0) {
		memcpy(next->isr, t.isr, sizeof(t.isr));
		next->nisr = t.nisr;
	}
	memcpy(next->replicas, t.replicas, sizeof(t.replicas));
	next->nreplicas = t.nreplicas;
	memcpy(next->adding, t.adding, sizeof(t.adding));
	next->nadding = t.nadding;
	memcpy(next->removing, t.removing, sizeof(t.removing));
	next->nremoving = t.nremoving;
	bool changed = leader_set || !list_eq(next->isr, next->nisr, cur->isr, cur->nisr) ||
		       !list_eq(next->replicas, next->nreplicas, cur->replicas, cur->nreplicas) ||
		       !list_eq(next->adding, next->nadding, cur->adding, cur->nadding) ||
		       !list_eq(next->removing, next->nremoving, cur->removing, cur->nremoving);
	if (!changed)
		return false;
	next->partition_epoch = cur->partition_epoch + 1;
	if (leader_set)
		next->leader_epoch = cur->leader_epoch + 1;
	return true;
}

/* The target for every decision: cur with the brokers that are not live out of the ISR (the
 * controller has processed their fencing, as Kafka's would have). */
static void live_target(const struct rn_pstate *cur, const int32_t *live, int nlive,
			struct rn_pstate *t)
{
	*t = *cur;
	int32_t n = 0;
	for (int32_t i = 0; i < cur->nisr; i++)
		if (has(live, nlive, cur->isr[i]))
			t->isr[n++] = cur->isr[i];
	t->nisr = n;
}

bool rn_elect_failover(const struct rn_pstate *cur, const int32_t *live, int nlive, bool unclean,
		       struct rn_pstate *next)
{
	struct rn_elect_env env = {live, nlive, -1};
	struct rn_pstate t;
	live_target(cur, live, nlive, &t);
	return rn_elect_build(cur, &t, unclean ? RN_ELECT_MODE_UNCLEAN : RN_ELECT_MODE_ONLINE, &env,
			      next);
}

int16_t rn_elect_preferred(const struct rn_pstate *cur, const int32_t *live, int nlive,
			   struct rn_pstate *next)
{
	if (cur->nreplicas > 0 && cur->leader == cur->replicas[0] && has(live, nlive, cur->leader))
		return RN_KERR_ELECTION_NOT_NEEDED;
	struct rn_elect_env env = {live, nlive, -1};
	struct rn_pstate t;
	live_target(cur, live, nlive, &t);
	if (!rn_elect_build(cur, &t, RN_ELECT_MODE_PREFERRED, &env, next))
		return RN_KERR_PREFERRED_LEADER_NOT_AVAILABLE;
	return RN_KERR_NONE;
}

int16_t rn_elect_unclean(const struct rn_pstate *cur, const int32_t *live, int nlive,
			 struct rn_pstate *next)
{
	if (cur->leader >= 0 && has(live, nlive, cur->leader))
		return RN_KERR_ELECTION_NOT_NEEDED;
	struct rn_elect_env env = {live, nlive, -1};
	struct rn_pstate t;
	live_target(cur, live, nlive, &t);
	if (!rn_elect_build(cur, &t, RN_ELECT_MODE_UNCLEAN, &env, next))
		return RN_KERR_ELIGIBLE_LEADERS_NOT_AVAILABLE;
	return RN_KERR_NONE;
}

bool rn_elect_shutdown(const struct rn_pstate *cur, int32_t node, const int32_t *live, int nlive,
		       struct rn_pstate *next)
{
	struct rn_elect_env env = {live, nlive, node};
	struct rn_pstate t;
	live_target(cur, live, nlive, &t);
	t.nisr = set_minus(t.isr, t.nisr, &node, 1, t.isr);
	if (!rn_elect_build(cur, &t, RN_ELECT_MODE_ONLINE, &env, next))
		return false;
	/* Nobody else can lead: node keeps leading until its lease goes rather than taking the
	 * partition offline early (its ISR is then kept as it was). */
	if (cur->leader == node && next->leader < 0)
		return false;
	return true;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* Ascending a \ b (Kafka builds removing and adding as TreeSets). */
static int32_t sorted_minus(const int32_t *a, int32_t na, const int32_t *b, int32_t nb,
			    int32_t *out)
{
	int32_t n = set_minus(a, na, b, nb, out);
	qsort(out, (size_t)n, sizeof(*out), cmp_i32);
	return n;
}

int16_t rn_reassign_begin(const struct rn_pstate *cur, const int32_t *target, int32_t ntarget,
			  const int32_t *live, int nlive, struct rn_pstate *next, bool *changed)
{
	*changed = false;
	if (ntarget < 1 || ntarget > RN_MAX_REPLICAS)
		return RN_KERR_INVALID_REPLICA_ASSIGNMENT;
	for (int32_t i = 0; i < ntarget; i++)
		if (!has(live, nlive, target[i]) || has(target, i, target[i]))
			return RN_KERR_INVALID_REPLICA_ASSIGNMENT;
	struct rn_pstate t;
	live_target(cur, live, nlive, &t);
	t.nremoving = sorted_minus(cur->replicas, cur->nreplicas, target, ntarget, t.removing);
	t.nadding = sorted_minus(target, ntarget, cur->replicas, cur->nreplicas, t.adding);
	if (ntarget + t.nremoving > RN_MAX_REPLICAS)
		return RN_KERR_INVALID_REPLICA_ASSIGNMENT;
	memcpy(t.replicas, target, (size_t)ntarget * sizeof(*target));
	memcpy(t.replicas + ntarget, t.removing, (size_t)t.nremoving * sizeof(*target));
	t.nreplicas = ntarget + t.nremoving;
	struct rn_elect_env env = {live, nlive, -1};
	*changed = rn_elect_build(cur, &t, RN_ELECT_MODE_ONLINE, &env, next);
	return RN_KERR_NONE;
}

int16_t rn_reassign_cancel(const struct rn_pstate *cur, bool unclean_ok, const int32_t *live,
			   int nlive, struct rn_pstate *next, bool *changed)
{
	*changed = false;
	if (!rn_pstate_reassigning(cur))
		return RN_KERR_NO_REASSIGNMENT_IN_PROGRESS;
	struct rn_pstate t = *cur;
	t.nreplicas =
	    set_minus(cur->replicas, cur->nreplicas, cur->adding, cur->nadding, t.replicas);
	t.nisr = set_minus(cur->isr, cur->nisr, cur->adding, cur->nadding, t.isr);
	if (t.nreplicas == 0)
		return RN_KERR_INVALID_REPLICA_ASSIGNMENT;
	bool unclean = t.nisr == 0;
	if (unclean) {
		if (!unclean_ok)
			return RN_KERR_INVALID_REPLICA_ASSIGNMENT;
		t.isr[0] = t.replicas[0];
		t.nisr = 1;
	}
	t.nadding = t.nremoving = 0;
	struct rn_elect_env env = {live, nlive, -1};
	*changed = rn_elect_build(
	    cur, &t, unclean_ok ? RN_ELECT_MODE_UNCLEAN : RN_ELECT_MODE_ONLINE, &env, next);
	return RN_KERR_NONE;
}
