/*
 * The broker side of a cluster (metadata.store=etcd://...): the topic table follows the store.
 * A listener on the store (its callbacks come on the store's watch thread and only queue work)
 * feeds one worker thread, which opens the logs of the partitions this broker replicates,
 * attaches them to the replica manager, hands it every partition state, swaps topic objects in
 * and out of the table (broker/topics_int.h) and deletes what the store deleted. Handlers and
 * admin paths wait on that worker when they need to see their own change (CreateTopics).
 *
 * cluster_serve.c holds the start-up and shutdown sequence that serve.c runs in a cluster.
 */
#ifndef RN_BROKER_CLUSTER_H
#define RN_BROKER_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"
#include "replica/replica.h"

/* Starts the worker and the store listener, whose replay builds the table; returns once the
 * replay is applied (every present topic in the table, local logs open and attached). b->meta
 * and b->replica must be set. 0 or -errno. */
int rn_cluster_start(struct rn_broker *b);
/* Stops the worker (what it still holds to release is released) and ignores further store
 * changes. Before rn_topics_unload. */
void rn_cluster_stop(struct rn_broker *b);

/* The replica manager's completions: leadership of the internal topics' partitions goes to the
 * coordinators, log or HW movement wakes parked fetches. */
void rn_cluster_hooks(struct rn_broker *b, struct rn_replica_hooks *out);
/* Coordinators hear about leadership only between these two: rn_cluster_coord_open (after
 * rn_groups_start / rn_txns_start) replays the leaderships already held, rn_cluster_coord_close
 * (before they stop) silences the hook. */
void rn_cluster_coord_open(struct rn_broker *b);
void rn_cluster_coord_close(struct rn_broker *b);

/* rn_topic_put's last reference in a cluster: true when the worker took t to release. */
bool rn_cluster_defer_release(struct rn_broker *b, struct rn_topic *t);

/* Waits up to timeout_ms for this broker's table to show topic name with id (NULL: any) and at
 * least npart partitions, or (npart < 0) no topic of that name with that id. true if it did. */
bool rn_cluster_wait_topic(struct rn_broker *b, const char *name, const uint8_t *id, int32_t npart,
			   int64_t timeout_ms);

/* The live brokers, sorted by id, copied into the request's arena (cluster_view.c); their
 * count. */
struct rn_ctx;
int rn_cluster_live(struct rn_ctx *ctx, struct rn_broker_reg **out);
bool rn_cluster_is_live(const struct rn_broker_reg *live, int n, int32_t id);

/* Start-up and shutdown in a cluster (cluster_serve.c), called by serve.c. */
/* Opens the etcd store named by metadata.store, creates the replica manager and registers this
 * broker (b->adv_host/adv_port set): a live duplicate node.id is refused (RN_EEXIST) once a
 * session of ours that a kill left behind would have expired. */
int rn_cluster_open(struct rn_broker *b, const char *uri);
/* Starts the controller (campaigning), once this broker serves. */
int rn_cluster_join(struct rn_broker *b);
/* SIGTERM: controlled shutdown, the table frozen (rn_cluster_stop), fetchers stopped,
 * controller stopped, unregistered. */
void rn_cluster_leave(struct rn_broker *b);
/* After rn_topics_unload: frees the replica manager (unregisters first if rn_cluster_leave did
 * not run: a start-up that failed). */
void rn_cluster_free(struct rn_broker *b);

#endif
