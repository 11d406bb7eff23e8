/*
 * Replication on one broker: for every local partition of a replicated topic, whether this
 * broker leads it (and in which epoch) or follows, the followers' progress and the ISR when it
 * leads (isr.c), the fetcher threads that copy from the leader when it follows (fetcher.c) and
 * the truncation a new leadership may demand (truncate.c). Kafka's ReplicaManager and
 * Partition, without the network handling: handlers ask it through the calls below.
 *
 * The broker creates one manager when metadata.store is etcd, attaches each local partition
 * log (rn_replica_attach) and hands it every state the store reports (rn_replica_apply). A
 * single broker has no manager: every rp the broker passes is then NULL and never reaches here.
 */
#ifndef RN_REPLICA_REPLICA_H
#define RN_REPLICA_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/cluster.h"

struct rn_partition;
struct rn_replica_mgr;
struct rn_replica_part;

struct rn_replica_cfg {
	int32_t node_id;
	char rack[64];                    /* broker.rack, "" none */
	int64_t lag_time_max_ms;          /* replica.lag.time.max.ms */
	int32_t fetch_max_bytes;          /* replica.fetch.max.bytes (per partition) */
	int32_t fetch_response_max_bytes; /* replica.fetch.response.max.bytes */
	int32_t fetch_min_bytes;          /* replica.fetch.min.bytes */
	int32_t fetch_wait_max_ms;        /* replica.fetch.wait.max.ms */
	int32_t fetch_backoff_ms;         /* replica.fetch.backoff.ms */
	int32_t socket_timeout_ms;        /* replica.socket.timeout.ms */
	int32_t num_fetchers;             /* num.replica.fetchers (threads per source broker) */
	int64_t follower_throttle_bps;    /* follower.replication.throttled.rate, 0 = none */
	int64_t leader_throttle_bps;      /* leader.replication.throttled.rate, 0 = none */
	/* min.insync.replicas of the broker (0: 1), for the
	 * under-min-ISR count of topics without an override (acks=all gets it per call). */
	int32_t min_insync_replicas;
};

/* Completions the broker passes in (arrows point down: replica/ never names a broker symbol).
 * Called from replica threads; they must not block. */
struct rn_replica_hooks {
	/* This broker now leads (leader true, in epoch) or follows / no longer leads (topic, idx).
	 * Group and transaction coordinators load or unload their partition here. */
	void (*leadership)(void *arg, const char *topic, int32_t idx, bool leader, int32_t epoch);
	/* The log end or the high watermark of (topic, idx) moved: wake parked fetches. */
	void (*advanced)(void *arg, const char *topic, int32_t idx);
	void *arg;
};

/* The caller owns *out (rn_replica_mgr_free, which stops every fetcher first). meta and the
 * hooks' arg must outlive the manager. Returns 0 or -errno. */
int rn_replica_mgr_new(struct rn_meta *meta, const struct rn_replica_cfg *cfg,
		       const struct rn_replica_hooks *hooks, struct rn_replica_mgr **out);
void rn_replica_mgr_free(struct rn_replica_mgr *mgr);
/* Controlled shutdown and lost sessions: stop every fetcher now (partitions stay attached). */
void rn_replica_mgr_stop_fetchers(struct rn_replica_mgr *mgr);

/* Starts tracking a local partition log (not yet leader or follower: it answers
 * NOT_LEADER_OR_FOLLOWER until the first rn_replica_apply). The manager owns the result;
 * rn_replica_detach releases it, and must come before the log is closed. */
struct rn_replica_part *rn_replica_attach(struct rn_replica_mgr *mgr, const char *topic,
					  int32_t idx, struct rn_partition *log);
void rn_replica_detach(struct rn_replica_mgr *mgr, struct rn_replica_part *rp);
/* A new stored state for this partition (from the store's listener, any thread): makes the
 * log leader (rn_partition_set_leader_epoch, follower progress reset, HW recomputed) or
 * follower (fail parked acks=all waits with NOT_LEADER_OR_FOLLOWER, truncate by leader epoch,
 * fetch from the leader). Ignores states older than the one applied. */
void rn_replica_apply(struct rn_replica_mgr *mgr, struct rn_replica_part *rp,
		      const struct rn_pstate *st);
/* The state last applied (leader -1 and empty sets before the first). */
void rn_replica_state(struct rn_replica_part *rp, struct rn_pstate *out);
/* Pins the min.insync.replicas rn_replica_mgr_stats counts rp
 * against (0: the topic's override in the store, else cfg.min_insync_replicas, else 1). */
void rn_replica_set_min_isr(struct rn_replica_part *rp, int32_t min_isr);

/* Leader-side checks for handlers (isr.c). */

/* 0 when this broker leads rp in *epoch and its session is valid, else RN_ENOTLEADER (with
 * *epoch the last known leader epoch). */
int rn_replica_leader(struct rn_replica_part *rp, int32_t *epoch);
/* Before an acks=all append: NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS when the ISR is
 * smaller than min_isr, else NONE. acks=1/0 only need rn_replica_leader. */
int16_t rn_replica_produce_check(struct rn_replica_part *rp, int32_t min_isr);
/* acks=all: calls cb(arg, kerr) exactly once, from any thread: NONE when the high watermark
 * reached offset (the append's last offset + 1), NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR
 * fell below min_isr before that, NOT_LEADER_OR_FOLLOWER when leadership was lost,
 * REQUEST_TIMED_OUT after timeout_ms. May call cb before returning. */
void rn_replica_wait_hw(struct rn_replica_part *rp, int64_t offset, int32_t min_isr,
			int64_t timeout_ms, void (*cb)(void *arg, int16_t kerr), void *arg);
/* A follower's Fetch reached the leader at fetch_offset (its log end): its progress moves,
 * the HW may advance (waking waits) and it may rejoin the ISR. Returns NONE,
 * NOT_LEADER_OR_FOLLOWER (not leader, or replica_id is not a replica), FENCED_LEADER_EPOCH /
 * UNKNOWN_LEADER_EPOCH for a current_leader_epoch older / newer than ours (-1: unchecked). */
int16_t rn_replica_follower_fetch(struct rn_replica_part *rp, int32_t replica_id,
				  int64_t fetch_offset, int32_t current_leader_epoch,
				  int64_t now_ms);
/* KIP-392: the replica a consumer in client_rack should read from (-1: the leader itself). */
int32_t rn_replica_preferred_read(struct rn_replica_part *rp, const char *client_rack);

/* The same for a consumer fetching at fetch_offset: only ISR followers that have it qualify
 * (-1: offset unchecked). Reads the live brokers' racks from the store; any thread. */
int32_t rn_replica_preferred_read_at(struct rn_replica_part *rp, const char *client_rack,
				     int64_t fetch_offset);
/* After any append on a partition this broker leads (produce, coordinator writes): moves the
 * HW when the ISR allows (alone in the ISR, it follows the log end) and completes the waits
 * that releases. The manager's tick does the same, later, for appends nobody reported. */
void rn_replica_leader_appended(struct rn_replica_part *rp);
/* leader.replication.throttled.rate (Kafka's leader replication quota, shouldLeaderThrottle):
 * true when a fetch by replica_id must get no data now, because replica_id is being added to
 * rp by a reassignment and is outside the ISR (the replicas Kafka's reassignment throttles;
 * in-sync ones never are) and this broker's quota is spent. Any thread. */
bool rn_replica_leader_throttled(struct rn_replica_part *rp, int32_t replica_id);
/* Counts bytes sent to replica_id against that quota when it is a throttled replica. */
void rn_replica_leader_sent(struct rn_replica_part *rp, int32_t replica_id, int64_t bytes);

/* Metrics (Kafka's names on /metrics). */
struct rn_replica_stats {
	int64_t isr_shrinks, isr_expands;
	int32_t leaders, under_replicated, under_min_isr;
	int64_t max_fetcher_lag; /* records, over followed partitions */
};
void rn_replica_mgr_stats(struct rn_replica_mgr *mgr, struct rn_replica_stats *out);

#endif
