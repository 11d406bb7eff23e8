/*
 * The broker side of the transaction coordinator (src/txn/): one coordinator per process under
 * one mutex, __transaction_state setup and replay, the markers, the transactional
 * offset commits handed to the group coordinator, and a thread that aborts timed-out
 * transactions, retries unfinished ones and expires idle transactional ids.
 *
 * Lock order: the coordinator lock, then a partition's lock (appends), then the group
 * coordinator's lock. Nothing takes them the other way round.
 *
 * Order: rn_txns_start after the topics are loaded, the flusher runs and groups are started,
 * BEFORE the server accepts connections (it replays __transaction_state and finishes the
 * transactions a crash left between PrepareCommit/PrepareAbort and Complete*);
 * rn_txns_stop before rn_server_stop; rn_txns_free after it.
 */
#ifndef RN_BROKER_TXNS_H
#define RN_BROKER_TXNS_H

#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "proto/kerr.h"
#include "txn/txn.h"

struct rn_ctx;
struct rn_partition;
struct rn_topic;

#define RN_TXN_TOPIC "__transaction_state"

int rn_txns_start(struct rn_broker *b);
void rn_txns_stop(struct rn_broker *b);
void rn_txns_free(struct rn_broker *b);

/* Partitions whose flush policy wants an fsync before the answer (each with a reference on its
 * topic). Heap-allocated by rn_txns_lock's caller through rn_txns_flushes_new. */
struct rn_txns_flushes;

/* The coordinator, locked, with a fresh flush list in *fl; NULL (not locked) if transactions
 * are unavailable (then answer COORDINATOR_NOT_AVAILABLE). */
struct rn_tc *rn_txns_lock(struct rn_txns_flushes **fl);
void rn_txns_unlock(void);

/* Under the lock: writes t's record to __transaction_state. Returns 0 or an append error. */
int rn_txns_store(struct rn_txn *t, struct rn_txns_flushes *fl);
/* Under the lock: t is PrepareCommit/PrepareAbort and its record is written: writes the markers
 * to its partitions, hands its offsets to the group coordinator (commit), completes it and
 * writes its record. Returns 0, or an error with t left as it was (the thread retries). */
int rn_txns_finish(struct rn_txn *t, struct rn_txns_flushes *fl);
/* Allocates producer ids for rn_tc_init_pid (arg: the broker). */
int rn_txns_alloc_pid(void *arg, int64_t *pid);
/* A cluster: as rn_groups_partition_leadership, for partition idx of __transaction_state. A
 * transaction found in PrepareCommit/PrepareAbort gets its markers sent again. */
void rn_txns_partition_leadership(struct rn_broker *b, int32_t idx, bool leader, int32_t epoch);

/* After rn_txns_unlock: calls respond(ctx, arg, err) once every write in fl is acknowledged
 * (flushed where the flush policy asks, and in a cluster replicated to the ISR), at once when
 * there are none, on ctx's loop, and frees fl. err is NONE, or what Kafka's coordinator
 * answers for a write that failed to replicate (COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
 * UNKNOWN_SERVER_ERROR): the handler puts it in place of a NONE answer. */
void rn_txns_respond_after(struct rn_ctx *ctx, struct rn_txns_flushes *fl,
			   void (*respond)(struct rn_ctx *ctx, void *arg, int16_t err), void *arg);
/* Creates __transaction_state with Kafka's configs: a single broker at start-up, a cluster on
 * the first FindCoordinator. Returns rn_topic_create's code. */
enum rn_kerr rn_txns_topic_create(struct rn_broker *b, char *msg, size_t msglen);

/*
 * Produce of a transactional batch (KIP-890's verification, without its round trip): returns
 * NONE with the coordinator LOCKED if (pid, epoch) has (topic, partition) in its ongoing
 * transaction (the caller appends, then rn_txns_unlock, so an EndTxn cannot slip its marker in
 * between), else INVALID_PRODUCER_EPOCH / INVALID_TXN_STATE, unlocked. When transactions are
 * unavailable returns NONE unlocked with *locked false.
 */
int16_t rn_txns_produce_begin(int64_t pid, int16_t epoch, const char *topic, int32_t partition,
			      bool *locked);

#endif
