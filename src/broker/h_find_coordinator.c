/*
 * FindCoordinator. A single broker coordinates every group and transactional id itself. In a
 * cluster the coordinator of a key is the current leader of its partition of the internal
 * topic (__consumer_offsets for groups, __transaction_state for transactional ids; partition
 * abs(javaHashCode(key)) % partitions), with the host and port it registered; no leader, or a
 * topic not created yet, answers COORDINATOR_NOT_AVAILABLE (the client retries). The first
 * request for a topic that does not exist creates it.
 * Answered even before the group coordinator exists, because librdkafka enables LZ4 (and its
 * group-coordinator feature) only when FindCoordinator v0 is in the broker's ApiVersions.
 */
#include <stdio.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/groups.h"
#include "broker/handler.h"
#include "broker/listeners.h"
#include "broker/topics.h"
#include "broker/txns.h"
#include "core/log.h"
#include "group/records.h"
#include "meta/cluster.h"
#include "proto/gen/rn_msg.h"

#define MAX_BROKERS 64

struct coord {
	int16_t err;
	const char *msg;
	int32_t node_id;
	struct rn_str host;
	int32_t port;
};

/* The internal topic does not exist yet: create it (its replication factor is capped at the
 * live brokers by the topic table, a deviation from Kafka documented there). */
static void create_internal(struct rn_ctx *ctx, bool txn)
{
	struct rn_broker *b = ctx->b;
	char msg[256];
	enum rn_kerr k = txn ? rn_txns_topic_create(b, msg, sizeof(msg))
			     : rn_groups_topic_create(b, msg, sizeof(msg));
	if (k != RN_KERR_NONE && k != RN_KERR_TOPIC_ALREADY_EXISTS)
		rn_log_every(10000, RN_LOG_WARN, "cannot create %s: %s",
			     txn ? RN_TXN_TOPIC : RN_OFFSETS_TOPIC, msg);
}

/* A cluster: the leader of key's internal partition. */
static void lookup(struct rn_ctx *ctx, bool txn, struct rn_str key, struct coord *c)
{
	struct rn_broker *b = ctx->b;
	const char *name = txn ? RN_TXN_TOPIC : RN_OFFSETS_TOPIC;
	*c = (struct coord){RN_KERR_COORDINATOR_NOT_AVAILABLE, "The coordinator is not available",
			    -1, rn_str_c(""), -1};
	struct rn_topic *t = rn_topic_get(b, name, strlen(name));
	if (!t) {
		create_internal(ctx, txn);
		return;
	}
	int32_t nparts = t->npart;
	rn_topic_put(b, t);
	char *id = rn_ctx_strdup(ctx, key);
	struct rn_pstate st;
	int32_t idx = rn_gc_partition_for(id ? id : "", nparts);
	if (rn_meta_partition_get(b->meta, name, idx, &st) != 0 || st.leader < 0)
		return;
	struct rn_broker_reg *regs =
	    rn_arena_alloc(&ctx->req->arena, MAX_BROKERS * sizeof(struct rn_broker_reg));
	int n = rn_meta_brokers(b->meta, regs, MAX_BROKERS);
	for (int i = 0; i < n && i < MAX_BROKERS; i++) {
		if (regs[i].id != st.leader)
			continue;
		*c = (struct coord){RN_KERR_NONE, NULL, regs[i].id, rn_ctx_str(ctx, regs[i].host),
				    regs[i].port};
		return;
	}
}

static void coordinator_of(struct rn_ctx *ctx, int8_t type, struct rn_str key, struct coord *c)
{
	struct rn_broker *b = ctx->b;
	if (type != 0 && type != 1)
		*c = (struct coord){RN_KERR_INVALID_REQUEST, "Invalid coordinator type", -1,
				    rn_str_c(""), -1};
	else if (!rn_allowed_view(ctx, RN_OP_DESCRIBE,
				  type == 0 ? RN_RES_GROUP : RN_RES_TRANSACTIONAL_ID, key.ptr,
				  key.len))
		*c = (struct coord){type == 0 ? RN_KERR_GROUP_AUTHORIZATION_FAILED
					      : RN_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
				    NULL, -1, rn_str_c(""), -1};
	else if (!b->clustered) {
		*c = (struct coord){RN_KERR_NONE, NULL, b->node_id, RN_STR_NULL, 0};
		rn_ctx_advertised(ctx, &c->host, &c->port);
	} else
		lookup(ctx, type == 1, key, c);
}

void rn_h_find_coordinator(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_find_coordinator_request rq;
	if (rn_find_coordinator_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed FindCoordinator request");
		return;
	}
	struct rn_find_coordinator_response resp = {0};
	struct coord c;
	if (ver < 4) {
		coordinator_of(ctx, rq.key_type, rq.key, &c);
		resp.error_code = c.err;
		resp.error_message = c.msg ? rn_str_c(c.msg) : RN_STR_NULL;
		resp.node_id = c.node_id;
		resp.host = c.host;
		resp.port = c.port;
	}
	int32_t n = ver >= 4 && rq.coordinator_keys_count > 0 ? rq.coordinator_keys_count : 0;
	resp.coordinators_count = n;
	resp.coordinators =
	    rn_arena_alloc(&ctx->req->arena, (size_t)(n + 1) * sizeof(*resp.coordinators));
	for (int32_t i = 0; i < n; i++) {
		coordinator_of(ctx, rq.key_type, rq.coordinator_keys[i], &c);
		resp.coordinators[i].key = rq.coordinator_keys[i];
		resp.coordinators[i].node_id = c.node_id;
		resp.coordinators[i].host = c.host;
		resp.coordinators[i].port = c.port;
		resp.coordinators[i].error_code = c.err;
		resp.coordinators[i].error_message = c.msg ? rn_str_c(c.msg) : RN_STR_NULL;
	}
	rn_respond_begin(ctx);
	rn_find_coordinator_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
