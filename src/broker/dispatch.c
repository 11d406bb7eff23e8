#include "broker/dispatch.h"

#include <errno.h>
#include <string.h>

#include "auth/sasl.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/listeners.h"
#include "broker/quotas.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/api.h"

/*
 * Advertised version ranges (../shared/docs/protocol.md, "advertise" column). Produce and Fetch
 * start at 0 as in Kafka 3.x: legacy message sets are converted (broker/legacy.h). librdkafka
 * enables features (compression, MsgVer2) only when the broker range OVERLAPS old versions, so
 * raising Produce's minimum above 0 would silently turn compression off in every librdkafka
 * client; kafka-python's version inference only looks for a version inside the range.
 * Maximums are Apache Kafka 3.7's where Runnel honours the version (docs/internals/broker.md,
 * "Advertised versions"): clients infer the broker's release from them.
 */
static const struct rn_api_entry entries[] = {
    {0, 0, 10, rn_h_produce},
    {1, 0, 16, rn_h_fetch},
    {2, 0, 8, rn_h_list_offsets},
    {3, 0, 12, rn_h_metadata},
    {10, 0, 4, rn_h_find_coordinator},
    {8, 0, 9, rn_h_offset_commit},
    {9, 0, 9, rn_h_offset_fetch},
    {11, 0, 9, rn_h_join_group},
    {12, 0, 4, rn_h_heartbeat},
    {13, 0, 5, rn_h_leave_group},
    {14, 0, 5, rn_h_sync_group},
    {15, 0, 5, rn_h_describe_groups},
    {16, 0, 4, rn_h_list_groups},
    {42, 0, 2, rn_h_delete_groups},
    {47, 0, 0, rn_h_offset_delete},
    {18, 0, 3, rn_h_api_versions},
    {19, 0, 7, rn_h_create_topics},
    {20, 0, 6, rn_h_delete_topics},
    {21, 0, 2, rn_h_delete_records},
    {22, 0, 4, rn_h_init_producer_id},
    {23, 0, 4, rn_h_offset_for_leader_epoch},
    {24, 0, 4, rn_h_add_partitions_to_txn},
    {25, 0, 3, rn_h_add_offsets_to_txn},
    {26, 0, 3, rn_h_end_txn},
    {27, 0, 1, rn_h_write_txn_markers},
    {28, 0, 3, rn_h_txn_offset_commit},
    {29, 0, 3, rn_h_describe_acls},
    {30, 0, 3, rn_h_create_acls},
    {31, 0, 3, rn_h_delete_acls},
    {32, 0, 4, rn_h_describe_configs},
    {33, 0, 2, rn_h_alter_configs},
    {35, 0, 4, rn_h_describe_log_dirs},
    {37, 0, 3, rn_h_create_partitions},
    {43, 0, 2, rn_h_elect_leaders},
    {44, 0, 1, rn_h_incremental_alter_configs},
    {45, 0, 0, rn_h_alter_partition_reassignments},
    {46, 0, 0, rn_h_list_partition_reassignments},
    {48, 0, 1, rn_h_describe_client_quotas},
    {49, 0, 1, rn_h_alter_client_quotas},
    {60, 0, 1, rn_h_describe_cluster},
    {17, 0, 1, rn_h_sasl_handshake},
    {36, 0, 2, rn_h_sasl_authenticate},
    {50, 0, 0, rn_h_describe_user_scram_credentials},
    {51, 0, 0, rn_h_alter_user_scram_credentials},
};

const struct rn_api_entry *rn_api_entries(int *n)
{
	*n = (int)(sizeof(entries) / sizeof(entries[0]));
	return entries;
}

const struct rn_api_entry *rn_api_entry(int16_t key)
{
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		if (entries[i].key == key)
			return &entries[i];
	return NULL;
}

enum rn_kerr rn_kerr_from(int err)
{
	switch (err) {
	case 0: return RN_KERR_NONE;
	case RN_ECORRUPT: return RN_KERR_CORRUPT_MESSAGE;
	case RN_ETOOLARGE: return RN_KERR_MESSAGE_TOO_LARGE;
	case RN_EUNSUPPORTED: return RN_KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
	case RN_ERANGE: return RN_KERR_OFFSET_OUT_OF_RANGE;
	case RN_ENOTFOUND: return RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
	case RN_EINVALID: return RN_KERR_INVALID_REQUEST;
	case RN_EOUTOFORDER: return RN_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
	case RN_EPRODUCER_EPOCH: return RN_KERR_INVALID_PRODUCER_EPOCH;
	case RN_EBADRECORD: return RN_KERR_INVALID_RECORD;
	case RN_EBADTIMESTAMP: return RN_KERR_INVALID_TIMESTAMP;
	case RN_ENOTLEADER: return RN_KERR_NOT_LEADER_OR_FOLLOWER;
	case RN_EUNAVAILABLE: return RN_KERR_REQUEST_TIMED_OUT;
	case RN_ESTALE: return RN_KERR_NOT_CONTROLLER;
	case RN_EOFFLINE:
	case -EIO:
	case -ENOSPC:
	case -EDQUOT:
	case -EROFS: return RN_KERR_KAFKA_STORAGE_ERROR;
	default: return RN_KERR_UNKNOWN_SERVER_ERROR;
	}
}

char *rn_ctx_strdup(struct rn_ctx *ctx, struct rn_str s)
{
	if (s.len < 0)
		return NULL;
	return rn_arena_strndup(&ctx->req->arena, s.ptr, (size_t)s.len);
}

struct rn_str rn_ctx_str(struct rn_ctx *ctx, const char *s)
{
	if (!s)
		return RN_STR_NULL;
	size_t n = strlen(s);
	return (struct rn_str){rn_arena_strndup(&ctx->req->arena, s, n), (int32_t)n};
}

static void record_latency(struct rn_ctx *ctx)
{
	int16_t k = ctx->hdr.api_key;
	if (k >= 0 && k < RN_API_KEYS)
		rn_hist_record(&ctx->b->api[k].latency, rn_mono_us() - ctx->req->recv_us);
}

void rn_respond_begin(struct rn_ctx *ctx)
{
	rn_response_header_encode(&ctx->req->out, ctx->hdr.api_key, ctx->hdr.api_version,
				  ctx->hdr.correlation_id);
}

void rn_respond_end(struct rn_ctx *ctx)
{
	record_latency(ctx);
	rn_req_done(ctx->req);
}

void rn_respond_none(struct rn_ctx *ctx)
{
	record_latency(ctx);
	ctx->req->no_response = true;
	rn_req_done(ctx->req);
}

void rn_close_conn(struct rn_ctx *ctx, const char *why)
{
	int16_t k = ctx->hdr.api_key;
	const struct rn_api_info *ai = rn_api_info(k);
	rn_warn("closing connection from %s: %s (api %s(%d) v%d, correlation id %d, client %.*s)",
		rn_req_peer(ctx->req), why, ai ? ai->name : "unknown", k, ctx->hdr.api_version,
		ctx->hdr.correlation_id, ctx->hdr.client_id.len > 0 ? ctx->hdr.client_id.len : 0,
		ctx->hdr.client_id.len > 0 ? ctx->hdr.client_id.ptr : "");
	if (k >= 0 && k < RN_API_KEYS)
		atomic_fetch_add_explicit(&ctx->b->api[k].errors, 1, memory_order_relaxed);
	rn_iochain_free(&ctx->req->out);
	ctx->req->no_response = true;
	ctx->req->close_after = true;
	rn_req_done(ctx->req);
}

/*
 * SASL listeners: before authentication only ApiVersions, SaslHandshake and SaslAuthenticate
 * pass; a session whose lifetime (connections.max.reauth.ms) ended without a
 * re-authentication is closed at its next other request. Both close, as Kafka does. True if
 * the request was consumed.
 */
static bool sasl_gate(struct rn_ctx *ctx, struct rn_session *s, int16_t key)
{
	if (!s || !rn_secproto_sasl(s->proto) || key == 17 || key == 36)
		return false;
	if (!s->authenticated && key != 18) {
		rn_close_conn(ctx, "request before SASL authentication");
		return true;
	}
	if (s->authenticated && rn_sasl_session_expired(s, rn_mono_ms())) {
		rn_close_conn(ctx, "SASL session expired without re-authentication "
				   "(connections.max.reauth.ms)");
		return true;
	}
	return false;
}

void rn_dispatch(struct rn_req *req, void *arg)
{
	struct rn_broker *b = arg;
	struct rn_ctx *ctx = rn_arena_alloc(&req->arena, sizeof(*ctx));
	ctx->b = b;
	ctx->req = req;
	rn_rd_init(&ctx->rd, req->frame, req->len, &req->arena);
	struct rn_session *s = rn_req_session(req);
	if (s && rn_sasl_raw_pending(s)) {
		/* After SaslHandshake v0 the frame is a bare SASL token (kafka-python). */
		memset(&ctx->hdr, 0, sizeof(ctx->hdr));
		ctx->hdr.api_key = 36;
		ctx->hdr.correlation_id = -1;
		atomic_fetch_add_explicit(&b->api[36].requests, 1, memory_order_relaxed);
		rn_h_sasl_raw(ctx);
		return;
	}
	if (rn_request_header_decode(&ctx->rd, &ctx->hdr) < 0 || ctx->rd.err) {
		ctx->hdr.api_key = -1;
		rn_close_conn(ctx, "malformed request header");
		return;
	}
	/* An SSL connection's principal comes from the client certificate, known once the
	 * handshake is done, which the first request proves. */
	if (s && !s->tls_checked && s->proto == RN_SEC_SSL &&
	    rn_listener_tls_principal(ctx, s) < 0) {
		rn_close_conn(ctx, "SSL authentication failed: no ssl.principal.mapping.rules rule "
				   "applies to the client certificate");
		return;
	}
	int16_t key = ctx->hdr.api_key, ver = ctx->hdr.api_version;
	const struct rn_api_entry *e = rn_api_entry(key);
	if (!e) {
		atomic_fetch_add_explicit(&b->unknown_api_requests, 1, memory_order_relaxed);
		rn_close_conn(ctx, "unsupported API key");
		return;
	}
	atomic_fetch_add_explicit(&b->api[key].requests, 1, memory_order_relaxed);
	if (sasl_gate(ctx, s, key))
		return;
	/* An ApiVersions of a version we do not know still gets an answer (a v0 body with
	 * UNSUPPORTED_VERSION), so the client can retry with one we do. */
	if ((ver < e->min_version || ver > e->max_version) && key != 18) {
		rn_close_conn(ctx, "unsupported API version");
		return;
	}
	/* The token outlives ctx: a handler that answers at once frees the request. */
	struct rn_quota_req qt;
	rn_quota_request_begin(ctx, &qt);
	e->handler(ctx);
	rn_quota_request_end(&qt);
}
