/*
 * What the files of replica/ share. The leader-side fields are isr.c's, the follower-side ones
 * manager.c's and fetcher.c's; rp->lock guards both halves and the applied state.
 */
#ifndef RN_REPLICA_INT_H
#define RN_REPLICA_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "replica/replica.h"

struct rn_hw_wait;
struct rn_fetcher;

/* A follower as its leader sees it (Kafka's Replica state on the leader). */
struct rn_replica_follower {
	int32_t id;
	int64_t leo;               /* its last fetch offset: it has everything below */
	int64_t last_caught_up_ms; /* last time leo reached the leader's log end */
	int64_t last_fetch_ms;
	int64_t last_fetch_leader_leo; /* the leader's log end at its previous fetch */
};

struct rn_replica_part {
	struct rn_replica_mgr *mgr;
	char *topic; /* owned */
	int32_t idx;
	struct rn_partition *log;
	pthread_mutex_t lock;
	struct rn_pstate st; /* the state applied last */
	bool applied;        /* st holds a real state */
	bool leader;         /* st.leader == this node and the log was made leader */

	/* Leader side (isr.c). */
	struct rn_replica_follower fol[RN_MAX_REPLICAS];
	int nfol;
	struct rn_hw_wait *waits; /* parked acks=all produces, by offset */
	bool isr_write_pending;   /* a CAS of the ISR is in flight */
	bool isr_leading;         /* rn__isr_become_leader ran and no become_follower since */
	int32_t isr_epoch;        /* the leader epoch fol[] belongs to, while isr_leading */
	int64_t epoch_start; /* log end when that epoch began (Kafka's leaderEpochStartOffset) */
	struct rn_pstate isr_pending; /* the state being written while isr_write_pending */
	uint32_t fol_live;        /* bit i: fol[i]'s broker is registered (refreshed by ticks) */
	int32_t isr_synced_epoch; /* partition_epoch fol[] was last matched to st.replicas */
	int32_t nisr_seen, isr_seen[RN_MAX_REPLICAS]; /* the ISR then (counting changes) */

	/* Follower side (manager.c, fetcher.c, truncate.c). */
	struct rn_fetcher *fetcher;    /* the leader's fetcher while following */
	bool needs_truncation;         /* leader changed: OffsetForLeaderEpoch before fetching */
	struct rn_replica_part *fnext; /* in its fetcher's partition list */
	int64_t leader_leo;            /* the leader's log end, from its last fetch response */
	/* Follower side (follower_int.h says which lock guards what). */
	uint64_t fgen;             /* bumped when it joins a fetcher: older responses are dropped */
	int fslot;                 /* its slot in the fetcher's request in flight, -1 none */
	int64_t fetch_delay_until; /* monotonic ms: backed off after an error until then */
	bool needs_oor;            /* OFFSET_OUT_OF_RANGE: ask the leader for its log start / end */
	bool fetch_stopped;        /* rn_replica_mgr_stop_fetchers took it off its fetcher */
	bool detached;             /* rn_replica_detach began: the manager thread skips it */
	bool has_pending, queued;  /* a state waits for the manager's thread */
	struct rn_pstate pending;
	struct rn_replica_part *qnext;         /* in the manager's work queue */
	struct rn_replica_part *anext, *aprev; /* in the manager's list of attached partitions */
	int32_t min_isr; /* for the under-min-ISR count (rn_replica_set_min_isr) */
};

struct rn_replica_mgr {
	struct rn_meta *meta;
	struct rn_replica_cfg cfg;
	struct rn_replica_hooks hooks;
	_Atomic int64_t isr_shrinks, isr_expands;
	/* manager.c's own state follows (partitions, fetchers, its thread). */
	void *impl;
	/* leader.replication.throttled.rate's token bucket (leader_quota.c): bytes left, and the
	 * last refill; all zero (a calloc'ed manager) is a bucket that fills on first use. */
	_Atomic int64_t lq_tokens, lq_last_ms;
};

/* isr.c, called by the manager under rp->lock after rp->st was set. */
void rn__isr_become_leader(struct rn_replica_part *rp, int64_t now_ms);
/* Fails every parked acks=all wait with NOT_LEADER_OR_FOLLOWER. */
void rn__isr_become_follower(struct rn_replica_part *rp);
/* Periodic (the manager's thread, every 100-500 ms: parked acks=all waits time out here, and
 * ISR expansion waits for it; without rp->lock, never on a loop thread: it may write the
 * partition state to the store): fences the leader when its session is not surely valid,
 * shrinks the ISR of followers that fell behind, expands it with those caught up (CAS through
 * rn_meta_partition_cas; on success rp->st becomes the written state), times out parked waits.
 * isr.c reads the monotonic clock itself: now_ms is unused. Also call rn__isr_become_follower
 * before rn_replica_detach frees rp (it releases the parked waits). */
void rn__isr_tick(struct rn_replica_part *rp, int64_t now_ms);

#endif
