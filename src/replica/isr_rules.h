/*
 * The leader's ISR and high-watermark decisions as pure functions (isr_rules.c), so they can be
 * tested without a log, a store or threads; isr.c feeds them under rp->lock. Each one is a rule
 * of Kafka's Partition / Replica (names in the comments). Times are monotonic milliseconds.
 */
#ifndef RN_REPLICA_ISR_RULES_H
#define RN_REPLICA_ISR_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "replica/replica_int.h"

/* A follower the leader has not heard from in this leadership (Kafka's UnknownOffset). */
#define RN_ISR_UNKNOWN (-1)
/* A time before any: "never caught up / never fetched", whatever the monotonic clock's origin. */
#define RN_ISR_NEVER (INT64_MIN / 4)

/* Kafka's Replica.resetReplicaState for a new leader epoch: progress unknown; an ISR member
 * counts as caught up now (so it is not shrunk before it could fetch), any other as never. */
void rn__isr_follower_reset(struct rn_replica_follower *f, int32_t id, bool in_isr, int64_t now_ms);

/* Replica.updateFetchStateOrThrow: a fetch at fetch_offset (it has everything below) while the
 * leader's log ended at leader_leo. It was caught up now if it reached leader_leo, or at its
 * previous fetch if it reached what the leader's log end was then. */
void rn__isr_follower_fetched(struct rn_replica_follower *f, int64_t fetch_offset,
			      int64_t leader_leo, int64_t now_ms);

/* ReplicaState.isCaughtUp: at the leader's log end, or caught up within lag_ms. */
bool rn__isr_caught_up(const struct rn_replica_follower *f, int64_t leader_leo, int64_t now_ms,
		       int64_t lag_ms);

/* What maybeIncrementLeaderHW would move the HW to: the leader's log end lowered to the
 * progress of every follower in the maximal ISR (the stored ISR plus a member being added),
 * and of every caught-up live follower that may join it, so a catching-up follower is waited
 * for instead of being outrun. Bit i of live is fol[i]'s broker being registered. The caller
 * moves the HW only upward (a result below it changes nothing). */
int64_t rn__isr_hw_candidate(int64_t leader_leo, const struct rn_replica_follower *fol, int nfol,
			     const int32_t *maximal, int nmaximal, uint32_t live, int64_t now_ms,
			     int64_t lag_ms);

/* isFollowerInSync + canAddReplicaToIsr: a live follower outside the ISR joins once it has
 * the HW and everything from the start of the leader's current epoch. */
bool rn__isr_may_join(const struct rn_replica_follower *f, bool in_isr, bool live, int64_t hw,
		      int64_t epoch_start);

/* getOutOfSyncReplicas: the ISR members other than self that are not caught up (or that the
 * leader has no progress for). Writes them to out (room for nisr) and returns how many. */
int rn__isr_out_of_sync(int32_t self, const int32_t *isr, int nisr,
			const struct rn_replica_follower *fol, int nfol, int64_t leader_leo,
			int64_t now_ms, int64_t lag_ms, int32_t *out);

/* The next stored state with ids removed from / id added to the ISR: partition_epoch + 1,
 * leader, leader epoch and replicas unchanged (Kafka's AlterPartition). */
void rn__isr_state_without(const struct rn_pstate *st, const int32_t *ids, int n,
			   struct rn_pstate *out);
void rn__isr_state_with(const struct rn_pstate *st, int32_t id, struct rn_pstate *out);

/* Partition.effectiveMinIsr: min.insync.replicas capped at the replica count. */
int32_t rn__isr_effective_min(int32_t min_isr, int32_t nreplicas);

/* checkEnoughReplicasReachOffset for one parked acks=all wait: false while the HW is below
 * offset; then true with *kerr NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND when the maximal ISR
 * is smaller than the effective min ISR. */
bool rn__isr_ack_done(int64_t hw, int64_t offset, int nmaximal, int32_t min_isr, int32_t nreplicas,
		      int16_t *kerr);

/* KIP-392 (RackAwareReplicaSelector): one replica a consumer could read from. */
struct rn_isr_read_candidate {
	int32_t id;
	const char *rack; /* "" none */
	int64_t leo;
	int64_t since_caught_up_ms;
};
/* The leader when no client rack is given, when no candidate shares it, or when the leader's
 * own rack is the client's; else the same-rack candidate with the highest log end, then the
 * most recently caught up, then the highest id. Returns the chosen id (leader_id for the
 * leader). cand excludes the leader. */
int32_t rn__isr_select_rack(const char *client_rack, int32_t leader_id, const char *leader_rack,
			    const struct rn_isr_read_candidate *cand, int n);

/*
 * Parked acks=all produces of one partition (hw_wait.c), a list sorted by offset. A wait is
 * done when the HW reaches its offset (rn__isr_ack_done decides NONE or AFTER_APPEND), when
 * its deadline passes (REQUEST_TIMED_OUT), or when leadership goes (all at once).
 */
struct rn_hw_wait {
	struct rn_hw_wait *next;
	int64_t offset;
	int32_t min_isr;
	int64_t deadline_ms;
	void (*cb)(void *arg, int16_t kerr);
	void *arg;
	int16_t kerr; /* the answer, once taken */
};

/* Allocates a wait (the list owns it from rn__hw_wait_insert until rn__hw_wait_fire). */
struct rn_hw_wait *rn__hw_wait_new(int64_t offset, int32_t min_isr, int64_t deadline_ms,
				   void (*cb)(void *arg, int16_t kerr), void *arg);
void rn__hw_wait_insert(struct rn_hw_wait **list, struct rn_hw_wait *w);
/* Detaches the waits that are done at this HW / time and returns them (kerr set), in offset
 * order. */
struct rn_hw_wait *rn__hw_wait_take(struct rn_hw_wait **list, int64_t hw, int nmaximal,
				    int32_t nreplicas, int64_t now_ms);
/* Detaches every wait with kerr. */
struct rn_hw_wait *rn__hw_wait_take_all(struct rn_hw_wait **list, int16_t kerr);
/* Calls each detached wait's cb (outside any lock where possible) and frees it. override,
 * when not NONE, replaces a NONE answer (a leader fenced meanwhile must not acknowledge). */
void rn__hw_wait_fire(struct rn_hw_wait *done, int16_t override);
int rn__hw_wait_count(const struct rn_hw_wait *list);

#endif
