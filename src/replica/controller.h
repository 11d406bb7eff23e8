/*
 * The controller's decisions, written to the metadata store: replica placement for new topics
 * and partitions (placement.c), leader elections (election.c) and the controller itself
 * (controller.c), which one broker runs after winning rn_meta_controller_acquire: it watches
 * the live brokers and, when one goes, elects new leaders from the ISR (unclean only where
 * unclean.leader.election.enable allows), removes the dead broker from ISRs, moves preferred
 * leaders back (auto.leader.rebalance.enable) and drives reassignments. Every write is a
 * partition-epoch CAS, so an old controller that lost its lease cannot overwrite a new one.
 */
#ifndef RN_REPLICA_CONTROLLER_H
#define RN_REPLICA_CONTROLLER_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/cluster.h"

struct rn_controller;

struct rn_controller_cfg {
	int32_t node_id;
	bool auto_rebalance;        /* auto.leader.rebalance.enable */
	int64_t imbalance_check_ms; /* leader.imbalance.check.interval.seconds * 1000 */
	int32_t imbalance_pct;      /* leader.imbalance.per.broker.percentage */
	/* unclean.leader.election.enable as in force for topic (topic override or broker). */
	bool (*unclean_enabled)(void *arg, const char *topic);
	void *arg;
};

/* Starts campaigning (a thread; it listens to the store). The caller owns *out. */
int rn_controller_start(struct rn_meta *m, const struct rn_controller_cfg *cfg,
			struct rn_controller **out);
/* Stops campaigning and frees; the controllership goes with the lease or at unregister. */
void rn_controller_stop(struct rn_controller *c);
bool rn_controller_active(struct rn_controller *c);

/* Placement (Kafka's rack-aware assignment): assign[(p - first) * rf + r] for partitions
 * [first, first + npart); leaders spread evenly, replicas of a partition on distinct brokers
 * and, with racks, distinct racks where possible. RN_EINVALID when rf > nb or rf < 1. The
 * start index is random, as Kafka's, so that the partitions 0 of many topics do not all
 * land on the same broker. */
int rn_placement_assign(const struct rn_broker_reg *brokers, int nb, int32_t first, int32_t npart,
			int32_t rf, int32_t *assign);
/* The same with a fixed start index (Kafka's fixedStartIndex, >= 0; -1 = random): partition p
 * leads on the ((p + start) mod nb)-th broker of the (rack-alternated) id-sorted list, so the
 * result is deterministic. CreatePartitions may pass the index of the broker leading
 * partition 0, as Kafka does, to continue the topic's round robin. */
int rn_placement_assign_at(const struct rn_broker_reg *brokers, int nb, int32_t first,
			   int32_t npart, int32_t rf, int32_t start, int32_t *assign);

/* Elections any broker may run (ElectLeaders, controlled shutdown); each is a CAS. */
enum rn_election { RN_ELECT_PREFERRED = 0, RN_ELECT_UNCLEAN = 1 };
/* Returns a Kafka error code for the partition: NONE, ELECTION_NOT_NEEDED,
 * PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION,
 * REQUEST_TIMED_OUT (store unavailable). */
int16_t rn_election_run(struct rn_meta *m, const char *topic, int32_t idx, enum rn_election type);
/* Reassignment (KIP-455, reassign.c): target != NULL starts moving (topic, idx) to target[0..n)
 * (replicas = target + the ones to remove, adding/removing set, the ISR untouched); the
 * controller completes it when every new replica is in the ISR (replicas = target, removed
 * ones out of the ISR, a new leader when the leader was removed). target == NULL cancels: the
 * added replicas go, the removed ones stay (unclean_ok: the topic's
 * unclean.leader.election.enable, needed when only added replicas are in sync). Returns NONE,
 * UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT, NO_REASSIGNMENT_IN_PROGRESS,
 * REQUEST_TIMED_OUT. */
int16_t rn_controller_reassign(struct rn_meta *m, const char *topic, int32_t idx,
			       const int32_t *target, int32_t n, bool unclean_ok);

/* Controlled shutdown of node: every partition it leads gets another ISR member as leader
 * and node leaves every ISR where others remain. Returns how many partitions node still leads
 * (0 when all moved) after trying for up to timeout_ms; it stops early once every partition
 * it still leads has no other live ISR member (waiting cannot move those). */
int rn_controller_shutdown_broker(struct rn_meta *m, int32_t node_id, int64_t timeout_ms);

#endif
