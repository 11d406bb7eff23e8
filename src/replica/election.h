/*
 * The controller's decisions as pure functions of a partition state and the live brokers
 * (election.c): no store, no clock, so unit tests can take every case apart. Each one mirrors
 * what Kafka's KRaft controller computes in PartitionChangeBuilder (ELR aside): it returns
 * the state to write (partition_epoch + 1, leader_epoch + 1 when the leader changes or a
 * replica leaves the replica set) or says no change is needed. The callers write the result
 * with rn_meta_partition_cas(cur.partition_epoch) and recompute on RN_ESTALE.
 */
#ifndef RN_REPLICA_ELECTION_H
#define RN_REPLICA_ELECTION_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/cluster.h"

/* Who may lead: live brokers (sorted or not), except `exclude` (-1: nobody). */
struct rn_elect_env {
	const int32_t *live;
	int nlive;
	int32_t exclude; /* a broker in controlled shutdown */
};

enum rn_elect_mode {
	RN_ELECT_MODE_ONLINE,    /* keep a valid leader, else the first valid replica */
	RN_ELECT_MODE_PREFERRED, /* replicas[0] if valid, else as ONLINE */
	RN_ELECT_MODE_UNCLEAN,   /* as ONLINE, then any acceptable replica with ISR = {it} */
};

/*
 * Kafka's PartitionChangeBuilder.build. From the stored cur and a target (its replicas, isr,
 * adding and removing; its leader and epochs are ignored):
 *  1. completes a reassignment when the target ISR minus `removing` is non-empty and holds
 *     every replica not being removed: replicas and ISR lose `removing`, adding/removing clear;
 *  2. elects per mode among "valid" replicas (in the target ISR and acceptable: live and not
 *     env->exclude), keeping the current leader when it is valid (except PREFERRED, which
 *     takes replicas[0] first); nobody valid gives leader -1 (offline), or with UNCLEAN the
 *     first acceptable replica in replica order and ISR = {it};
 *  3. never writes an empty ISR: an empty target ISR keeps cur's (Kafka keeps the last member
 *     of the ISR when it goes, so that it alone may come back as a clean leader).
 * Returns true and fills *next when anything differs from cur, false when nothing changes.
 */
bool rn_elect_build(const struct rn_pstate *cur, const struct rn_pstate *target,
		    enum rn_elect_mode mode, const struct rn_elect_env *env,
		    struct rn_pstate *next);

/* The brokers' failover (the controller on every brokers change): every broker that is not
 * live leaves the ISR (never emptying it), a leader that is not live (or -1) is replaced by
 * the first live ISR member in replica order, else with `unclean` by the first live replica
 * (ISR = {it}), else the partition goes offline (leader -1) until an ISR member returns. Also
 * completes a reassignment whose new replicas joined the ISR. True when *next must be written. */
bool rn_elect_failover(const struct rn_pstate *cur, const int32_t *live, int nlive, bool unclean,
		       struct rn_pstate *next);

/* ElectLeaders PREFERRED: ELECTION_NOT_NEEDED when replicas[0] leads (and is live), NONE with
 * *next when it (or, for an offline partition, another ISR member) can be elected,
 * PREFERRED_LEADER_NOT_AVAILABLE otherwise. */
int16_t rn_elect_preferred(const struct rn_pstate *cur, const int32_t *live, int nlive,
			   struct rn_pstate *next);
/* ElectLeaders UNCLEAN: ELECTION_NOT_NEEDED when a live leader exists, NONE with *next (a live
 * ISR member if any, else the first live replica with ISR = {it}),
 * ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is live. */
int16_t rn_elect_unclean(const struct rn_pstate *cur, const int32_t *live, int nlive,
			 struct rn_pstate *next);

/* Controlled shutdown of node: leadership moves to another live ISR member (in replica
 * order) and node leaves the ISR where others remain. A partition with no other live ISR
 * member keeps node as leader (it still serves until its lease goes; see cluster.md). True
 * when *next must be written. */
bool rn_elect_shutdown(const struct rn_pstate *cur, int32_t node, const int32_t *live, int nlive,
		       struct rn_pstate *next);

/* Reassignment (KIP-455). Begin: target T (ntarget ids) validated (non-empty, no duplicate,
 * every broker live: INVALID_REPLICA_ASSIGNMENT otherwise); replicas = T followed by
 * removing = replicas \ T (ascending), adding = T \ replicas (ascending); completes at once
 * when nothing is to be added. NONE with *changed telling whether *next must be written. */
int16_t rn_reassign_begin(const struct rn_pstate *cur, const int32_t *target, int32_t ntarget,
			  const int32_t *live, int nlive, struct rn_pstate *next, bool *changed);
/* Cancel: NO_REASSIGNMENT_IN_PROGRESS when none; replicas and ISR lose `adding`; when that
 * empties the ISR the first remaining replica becomes it, which is an unclean election:
 * INVALID_REPLICA_ASSIGNMENT unless unclean_ok. NONE with *next. */
int16_t rn_reassign_cancel(const struct rn_pstate *cur, bool unclean_ok, const int32_t *live,
			   int nlive, struct rn_pstate *next, bool *changed);

bool rn_pstate_reassigning(const struct rn_pstate *st);

#endif
