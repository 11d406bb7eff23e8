/*
 * The transaction marker sender of a cluster (Kafka's TransactionMarkerChannelManager): the
 * transaction coordinator hands it one marker per partition of a completing transaction; a
 * thread sends them as WriteTxnMarkers (v1) to each partition's current leader (this broker
 * included) over one peer connection per broker, and retries each until its leader
 * acknowledges it (written and replicated) or the partition is gone. Markers of a coordinator
 * partition this broker no longer coordinates (valid() false) are dropped.
 *
 * Threads: rn_txn_markers_send from any thread (it copies the marker; the coordinator calls
 * it under its lock); the hooks run on the sender's thread with no sender lock held, so they
 * may take the coordinator's lock. Only a clustered broker starts it.
 */
#ifndef RN_BROKER_TXN_MARKERS_H
#define RN_BROKER_TXN_MARKERS_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"

struct rn_txn_marker {
	const char *txn_id;
	int64_t pid;
	int16_t epoch;
	bool commit;
	int32_t coord_epoch; /* the __transaction_state partition's leader epoch */
	int32_t coord_idx;   /* that partition, and the coordinator generation that sent it */
	uint64_t gen;
	const char *topic;
	int32_t partition;
};

struct rn_txn_markers_hooks {
	/* Is the coordinator of (coord_idx, gen) still this broker? false drops the marker. */
	bool (*valid)(void *arg, int32_t coord_idx, uint64_t gen);
	/* m is written at its partition (or the partition is gone): called once per marker. */
	void (*done)(void *arg, const struct rn_txn_marker *m);
	void *arg;
};

/* Does a partition's answer (-1: none, the connection failed) end its marker? Retried, as
 * Kafka's TransactionMarkerRequestCompletionHandler retries: the leader moved or lags
 * (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS*, REQUEST_TIMED_OUT, UNKNOWN_TOPIC_OR_PARTITION
 * while metadata catches up, KAFKA_STORAGE_ERROR, COORDINATOR_LOAD_IN_PROGRESS). Anything else
 * is final: written, or nothing a retry could change (a newer producer epoch closed the
 * transaction there), and the transaction completes. */
bool rn_txn_marker_final(int16_t err);

/* Starts the sender thread. Returns 0 or -errno. */
int rn_txn_markers_start(struct rn_broker *b, const struct rn_txn_markers_hooks *h);
/* Stops the thread and drops what is queued (a coordinator taking over sends it again). */
void rn_txn_markers_stop(void);
/* Queues m (copied) for sending. */
void rn_txn_markers_send(const struct rn_txn_marker *m);

#endif
