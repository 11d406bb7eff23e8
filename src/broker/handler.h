/*
 * What every API handler (h_<api>.c) shares. A handler receives the request context with the
 * header already parsed and a cursor on the body, decodes the body with the generated codec,
 * does its work, and completes with rn_respond (or rn_respond_none / rn_close_conn). It may
 * complete later, on the request's loop (long-poll fetches, acks waiting for fsync).
 *
 * Lifetime: the context, the decoded request and every view into the frame live in the
 * request's arena until the response has been sent.
 */
#ifndef RN_BROKER_HANDLER_H
#define RN_BROKER_HANDLER_H

#include "broker/broker.h"
#include "net/server.h"
#include "proto/frame.h"
#include "proto/kerr.h"
#include "proto/prim.h"

struct rn_ctx {
	struct rn_broker *b;
	struct rn_req *req;
	struct rn_request_header hdr;
	struct rn_rd rd; /* positioned on the body */
};

typedef void (*rn_handler_fn)(struct rn_ctx *ctx);

/* Writes the response header into req->out; the handler then encodes its body there. */
void rn_respond_begin(struct rn_ctx *ctx);
/* Completes the request after the body has been encoded (records latency, rn_req_done). */
void rn_respond_end(struct rn_ctx *ctx);
/* Completes a request that gets no response (Produce with acks=0). */
void rn_respond_none(struct rn_ctx *ctx);
/* Malformed or unsupported input: log why and close the connection, as Kafka does. */
void rn_close_conn(struct rn_ctx *ctx, const char *why);

/* Maps an internal error (core/err.h, -errno) onto the Kafka error code a client expects. */
enum rn_kerr rn_kerr_from(int err);

/* A NUL-terminated copy of a string view, in the request arena. */
char *rn_ctx_strdup(struct rn_ctx *ctx, struct rn_str s);
/* A string view of a copy of s in the request arena (NULL gives the null string), for
 * response fields whose source may not outlive the request. */
struct rn_str rn_ctx_str(struct rn_ctx *ctx, const char *s);

/* The handlers. */
void rn_h_api_versions(struct rn_ctx *ctx);
void rn_h_metadata(struct rn_ctx *ctx);
void rn_h_produce(struct rn_ctx *ctx);
void rn_h_fetch(struct rn_ctx *ctx);
void rn_h_list_offsets(struct rn_ctx *ctx);
void rn_h_delete_records(struct rn_ctx *ctx);
void rn_h_offset_for_leader_epoch(struct rn_ctx *ctx);
void rn_h_describe_log_dirs(struct rn_ctx *ctx);
void rn_h_create_topics(struct rn_ctx *ctx);
void rn_h_delete_topics(struct rn_ctx *ctx);
void rn_h_create_partitions(struct rn_ctx *ctx);
void rn_h_describe_configs(struct rn_ctx *ctx);
void rn_h_alter_configs(struct rn_ctx *ctx);
void rn_h_incremental_alter_configs(struct rn_ctx *ctx);
void rn_h_describe_cluster(struct rn_ctx *ctx);
void rn_h_find_coordinator(struct rn_ctx *ctx);
void rn_h_write_txn_markers(struct rn_ctx *ctx);
void rn_h_join_group(struct rn_ctx *ctx);
void rn_h_sync_group(struct rn_ctx *ctx);
void rn_h_heartbeat(struct rn_ctx *ctx);
void rn_h_leave_group(struct rn_ctx *ctx);
void rn_h_offset_commit(struct rn_ctx *ctx);
void rn_h_offset_fetch(struct rn_ctx *ctx);
void rn_h_describe_groups(struct rn_ctx *ctx);
void rn_h_list_groups(struct rn_ctx *ctx);
void rn_h_delete_groups(struct rn_ctx *ctx);
void rn_h_offset_delete(struct rn_ctx *ctx);
void rn_h_init_producer_id(struct rn_ctx *ctx);
void rn_h_add_partitions_to_txn(struct rn_ctx *ctx);
void rn_h_add_offsets_to_txn(struct rn_ctx *ctx);
void rn_h_end_txn(struct rn_ctx *ctx);
void rn_h_txn_offset_commit(struct rn_ctx *ctx);
void rn_h_elect_leaders(struct rn_ctx *ctx);
void rn_h_alter_partition_reassignments(struct rn_ctx *ctx);
void rn_h_list_partition_reassignments(struct rn_ctx *ctx);
void rn_h_sasl_handshake(struct rn_ctx *ctx);
void rn_h_sasl_authenticate(struct rn_ctx *ctx);
/* A raw SASL token frame (no request header) after SaslHandshake v0. */
void rn_h_sasl_raw(struct rn_ctx *ctx);
void rn_h_describe_user_scram_credentials(struct rn_ctx *ctx);
void rn_h_alter_user_scram_credentials(struct rn_ctx *ctx);
void rn_h_describe_acls(struct rn_ctx *ctx);
void rn_h_create_acls(struct rn_ctx *ctx);
void rn_h_delete_acls(struct rn_ctx *ctx);
void rn_h_describe_client_quotas(struct rn_ctx *ctx);
void rn_h_alter_client_quotas(struct rn_ctx *ctx);

/* Shutdown: every parked fetch answers now instead of at its max_wait_ms. */
void rn_fetch_shutdown(struct rn_broker *b);

/* The advertised API table (ApiVersions answers from it). */
struct rn_api_entry {
	int16_t key;
	int16_t min_version; /* advertised; some minimums are 0 on purpose, see dispatch.c */
	int16_t max_version;
	rn_handler_fn handler;
};
const struct rn_api_entry *rn_api_entries(int *n);
const struct rn_api_entry *rn_api_entry(int16_t key);

#endif
