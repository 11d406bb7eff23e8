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

	/* Follower side (manager.c, fetcher.c, truncate.c). */
	struct rn_fetcher *fetcher;    /* the leader's fetcher while following */
	bool needs_truncation;         /* leader changed: OffsetForLeaderEpoch before fetching */
	struct rn_replica_part *fnext; /* in its fetcher's partition list */
	int64_t leader_leo;            /* the leader's log end, from its last fetch response */
	/* Follower side, added by the follower slice (follower_int.h says which lock guards what).
	 */
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
};

/* isr.c, called by the manager under rp->lock after rp->st was set. */
void rn__isr_become_leader(struct rn_replica_part *rp, int64_t now_ms);
/* Fails every parked acks=all wait with NOT_LEADER_OR_FOLLOWER. */
void rn__isr_become_follower(struct rn_replica_part *rp);
/* Periodic (the manager's thread, every ~replica.lag.time.max.ms / 2, without rp->lock):
 * shrinks the ISR of followers that fell behind, times out parked waits. */
void rn__isr_tick(struct rn_replica_part *rp, int64_t now_ms);

#endif
