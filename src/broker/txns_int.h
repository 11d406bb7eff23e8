/*
 * What broker/txns.c (the transaction coordinator service) and broker/txns_cluster.c (its
 * cluster side: partitions loaded and dropped as leadership moves, markers sent once Prepare*
 * is replicated) share. Not for other files.
 */
#ifndef RN_BROKER_TXNS_INT_H
#define RN_BROKER_TXNS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/txn_markers.h"
#include "broker/txns.h"
#include "group/parts.h"

struct kick;

/* The service's state: one per process; lock guards everything but evlock's queue. */
struct rn__txns {
	struct rn_broker *b;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stop, closed;
	struct rn_tc *tc;
	struct rn_tc_config tcfg;
	/* __transaction_state, referenced while running; in a cluster NULL until it exists */
	struct rn_topic *topic;
	int32_t nparts;
	struct rn_gc_parts parts; /* the partitions coordinated here */
	int64_t check_every_ms;
	/* From replica threads and replication waits, handled by the thread. */
	pthread_mutex_t evlock;
	struct rn_gc_part_events ev;
	struct kick *kicks;
};
extern struct rn__txns rn__txns;

/* txns.c, under the lock. */
bool rn__txns_have_topic(void);
int rn__txns_tc_apply(void *arg, const uint8_t *key, int32_t klen, const uint8_t *val,
		      int32_t vlen);
bool rn__txns_preparing(const struct rn_txn *t);
void rn__txns_apply_offsets(struct rn_txn *t);

/* txns_cluster.c. Under the lock: after t's Prepare* record (ending at end) is appended, its
 * markers are sent once it is replicated. */
void rn__txns_kick_when_replicated(struct rn_txn *t, int64_t end);
/* Under the lock: t is Prepare* and replicated: one marker per partition to the sender. */
void rn__txns_send_markers(struct rn_txn *t, bool commit);
/* The coordinator thread, under the lock (released while partitions load): leadership
 * changes and finished replication waits. */
void rn__txns_handle_events(void);
/* The marker sender's hooks (struct rn_txn_markers_hooks). */
int rn__txns_marker_valid(void *arg, int32_t coord_idx, uint64_t gen);
void rn__txns_marker_done(void *arg, const struct rn_txn_marker *m);
/* Frees the replication completions still queued (rn_txns_free). */
void rn__txns_kicks_free(void);

#endif
