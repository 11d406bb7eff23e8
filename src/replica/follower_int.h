/*
 * What the follower-side files of replica/ share (manager.c, fetcher.c, truncate.c,
 * throttle.c).
 *
 * Locks, taken in this order only: the manager's lock (its lists and queue, rp->pending,
 * rp->queued, rp->anext/aprev), or the fetcher-assignment lock (flock: the fetcher list and
 * every rp->fetcher; never held with the manager's lock, so the store's listener never waits
 * for a fetcher), then a fetcher's lock (its partition list and every rp field
 * the fetcher uses: fnext, fgen, fslot, fetch_delay_until, needs_truncation, needs_oor), then
 * rp->lock (rp->st, rp->leader, leader_leo and the leader half). Nobody takes a fetcher's lock
 * while holding an rp->lock, and network calls are made with no lock held.
 */
#ifndef RN_REPLICA_FOLLOWER_INT_H
#define RN_REPLICA_FOLLOWER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/prim.h"
#include "replica/replica_int.h"

struct rn_peer;

/* A token bucket (Kafka's replication quota, simplified): tokens refill at rate bytes per
 * second up to one second's worth; takes may drive it negative, and while it is negative the
 * throttled partitions are left out of fetches. Pure: time is passed in. */
struct rn__bucket {
	int64_t rate; /* bytes per second, <= 0: unlimited */
	double tokens;
	int64_t last_ms;
};
void rn__bucket_init(struct rn__bucket *b, int64_t rate, int64_t now_ms);
/* Refills to now and reports whether a throttled fetch may go (tokens >= 0). */
bool rn__bucket_allows(struct rn__bucket *b, int64_t now_ms);
/* Accounts n fetched bytes. */
void rn__bucket_take(struct rn__bucket *b, int64_t n, int64_t now_ms);
/* Milliseconds until rn__bucket_allows turns true (0 if it is). */
int64_t rn__bucket_wait_ms(struct rn__bucket *b, int64_t now_ms);

/* The manager's own state (mgr->impl). */
struct rn__mgr_impl {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t th;
	bool stop;
	struct rn_replica_part *parts; /* attached partitions (anext/aprev) */
	struct rn_replica_part *qhead, *qtail;
	struct rn_replica_part *busy; /* the partition the manager's thread works on unlocked */
	bool busy_freed;              /* busy was detached from inside a hook: free it after */
	struct rn_replica_part *tick_next; /* the tick's cursor (a detach moves it on) */
	pthread_cond_t busy_cond;
	pthread_mutex_t flock;       /* fetchers and every rp->fetcher; before a fetcher's lock */
	struct rn_fetcher *fetchers; /* started on demand, one per (source broker, index) */
	pthread_mutex_t throttle_lock;
	struct rn__bucket throttle;
	/* Tests only: where a broker id listens, instead of rn_meta_brokers. */
	int (*lookup)(void *arg, int32_t id, char *host, size_t hostlen, int *port);
	void *lookup_arg;
};

/* Tests only: set before the first rn_replica_apply. */
void rn__mgr_set_lookup(struct rn_replica_mgr *mgr,
			int (*lookup)(void *arg, int32_t id, char *host, size_t hostlen, int *port),
			void *arg);

static inline struct rn__mgr_impl *rn__impl(struct rn_replica_mgr *mgr)
{
	return mgr->impl;
}

/* manager.c: a came after b (leader_epoch first, then partition_epoch). */
bool rn__pstate_newer(const struct rn_pstate *a, const struct rn_pstate *b);

/* fetcher.c. */

/* Hands rp (a follower of source in rp->st) to the fetcher that serves it, starting it if
 * needed; rp must be in no fetcher. Marks it for truncation first when truncate is set. Called
 * by the manager's thread without locks held. */
void rn__fetcher_add(struct rn_replica_mgr *mgr, struct rn_replica_part *rp, int32_t source,
		     bool truncate);
/* Whether rp is in the fetcher of source now / was taken off by rn__fetchers_stop_all since
 * it last joined one. */
bool rn__fetcher_following(struct rn_replica_part *rp, int32_t source);
bool rn__fetcher_stopped(struct rn_replica_part *rp);
/* Takes rp off its fetcher, if any. When this returns the fetcher no longer touches rp. */
void rn__fetcher_remove(struct rn_replica_part *rp);
/* Stops and frees every fetcher thread (their partitions are dropped, rp->fetcher cleared). */
void rn__fetchers_stop_all(struct rn_replica_mgr *mgr);
/* Whether a partition in state st is throttled: this broker is being added to it and is not
 * in its ISR yet, and follower.replication.throttled.rate is set. */
bool rn__throttled(struct rn_replica_mgr *mgr, const struct rn_pstate *st);

/* The fetcher's state, shared with truncate.c. */
struct rn_fetcher {
	struct rn_replica_mgr *mgr;
	int32_t source; /* the leader broker it fetches from */
	int index;      /* 0 .. num.replica.fetchers - 1 */
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct rn_replica_part *parts; /* by rp->fnext */
	int nparts;
	struct rn_peer *peer; /* NULL while disconnected */
	bool polling;         /* a Fetch (a long poll) is out */
	bool kicked;          /* ... and was interrupted for a new leadership: reconnect now */
	struct rn_fetcher *next;
};

/* One partition of a request in flight. The request is built under the fetcher's lock; while
 * it is out the partition may leave the fetcher (and be freed), so a slot is only used after
 * rn__slots_mark_live found its rp still there with the same generation. */
struct rn__fslot {
	struct rn_replica_part *rp; /* dereference only when live */
	uint64_t gen;
	const char *topic; /* arena copy */
	int32_t idx;
	bool live;
	bool oor;             /* truncate.c: an out-of-range recovery, not an epoch question */
	int64_t offset;       /* fetch: the fetch offset; truncate.c: the leader's log start */
	int32_t epoch;        /* the epoch asked about (OffsetForLeaderEpoch) */
	int32_t leader_epoch; /* rp->st.leader_epoch when the request was built */
	bool throttled;
	bool notify; /* fetch: hooks.advanced is due, called once the fetcher's lock is dropped */
};
/* Sorts s[0..n) by (topic, idx) (so requests group topics) and points each rp->fslot at its
 * slot (fetcher lock held; every other rp->fslot of f is reset to -1 first). */
void rn__slots_sort(struct rn_fetcher *f, struct rn__fslot *s, int n);
void rn__slots_mark_live(struct rn_fetcher *f, struct rn__fslot *s, int n);
/* The live slot of (topic, idx), or NULL; *cursor makes in-order lookups O(1). */
struct rn__fslot *rn__slot_find(struct rn__fslot *s, int n, int *cursor, struct rn_str topic,
				int32_t idx);

/* Back off rp after an error (fetcher lock held): replica.fetch.backoff.ms, or at most
 * RN__LEADER_CATCHUP_MS for a leader that has not applied its leadership yet (kerr
 * UNKNOWN_LEADER_EPOCH / NOT_LEADER_OR_FOLLOWER). */
#define RN__LEADER_CATCHUP_MS 100
void rn__fetch_backoff(struct rn_fetcher *f, struct rn_replica_part *rp, int64_t now_ms);
void rn__fetch_backoff_err(struct rn_fetcher *f, struct rn_replica_part *rp, int16_t kerr,
			   int64_t now_ms);

/* Kafka's name of the error codes a follower handles, for log lines ("error" otherwise). */
const char *rn__kerr_name(int16_t kerr);

/* truncate.c. */

/* Kafka's getOffsetTruncationState, pure: the leader answered OffsetForLeaderEpoch (or a
 * diverging epoch) with (leader_epoch, leader_end); ours are found_epoch / found_end, what our
 * log says for leader_epoch (rn_partition_epoch_end_offset; found_end -1: none), leo and hw.
 * Sets *offset to truncate to and returns true when truncation is complete, false when another
 * round with our (new) latest epoch is needed. */
bool rn__truncation_point(int32_t leader_epoch, int64_t leader_end, int32_t found_epoch,
			  int64_t found_end, int64_t leo, int64_t hw, int64_t *offset);
/* Applies the same rule to rp's log and truncates it (fetcher lock held). Returns 1 when
 * complete, 0 when another round is needed, < 0 on a storage error. */
int rn__truncate_by_epoch(struct rn_replica_part *rp, int32_t leader_epoch, int64_t leader_end);
/* Runs OffsetForLeaderEpoch (needs_truncation) and the out-of-range recovery (needs_oor) for
 * the partitions of f that want them. Called with f->lock held; drops it around the network
 * calls. Returns 0 or RN_EUNAVAILABLE (the connection broke). */
int rn__fetcher_truncate(struct rn_fetcher *f);

#endif
