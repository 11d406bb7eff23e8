/*
 * The acknowledgement of a coordinator's write (__consumer_offsets, __transaction_state) or of
 * a transaction marker: Kafka appends them with acks=-1 and the topic's min.insync.replicas,
 * so in a cluster they are acknowledged only once the high watermark covers them; the flush
 * policy (flush.messages) adds an fsync on either kind of broker. One helper for the offset
 * commits, the transaction coordinator and WriteTxnMarkers.
 */
#ifndef RN_BROKER_COORD_WAIT_H
#define RN_BROKER_COORD_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"

/* Calls cb(arg, kerr) exactly once, from any thread (possibly before returning): NONE when
 * partition idx of t holds everything below end replicated to its ISR (when it has an rp) and
 * flushed (when needs_flush); else NOT_ENOUGH_REPLICAS(_AFTER_APPEND), NOT_LEADER_OR_FOLLOWER,
 * REQUEST_TIMED_OUT (request.timeout.ms) or KAFKA_STORAGE_ERROR (the fsync failed). t is
 * referenced until then. */
void rn_coord_wait(struct rn_broker *b, struct rn_topic *t, int32_t idx, int64_t end,
		   bool needs_flush, void (*cb)(void *arg, int16_t kerr), void *arg);

/* What a client gets for a coordinator write that failed (the append's or the wait's code):
 * offset commits as Kafka's GroupMetadataManager.storeOffsets maps them
 * (NOT_ENOUGH_REPLICAS* and UNKNOWN_TOPIC_OR_PARTITION -> COORDINATOR_NOT_AVAILABLE,
 * NOT_LEADER_OR_FOLLOWER and KAFKA_STORAGE_ERROR -> NOT_COORDINATOR, MESSAGE_TOO_LARGE ->
 * INVALID_COMMIT_OFFSET_SIZE, others as they are), transaction state as its
 * TransactionStateManager does (REQUEST_TIMED_OUT too -> COORDINATOR_NOT_AVAILABLE, others
 * UNKNOWN_SERVER_ERROR). A single broker keeps its earlier answers for a failed fsync. */
int16_t rn_coord_commit_error(int16_t kerr, bool clustered);
int16_t rn_coord_txn_error(int16_t kerr, bool clustered);

/* The topic's min.insync.replicas (override or broker default). */
int32_t rn_coord_min_isr(struct rn_broker *b, struct rn_topic *t);

#endif
