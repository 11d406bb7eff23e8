/*
 * TxnOffsetCommit (v0-3), sent to the group coordinator: offsets committed inside a
 * transaction.
 *
 * A single broker is also the transaction coordinator: the offsets are kept with the
 * transaction (and in its __transaction_state record, so a broker restart does not lose them)
 * and become the group's committed offsets only when EndTxn commits (broker/txns.c); an abort
 * drops them. The group must have been added with AddOffsetsToTxn.
 *
 * In a cluster the transaction is usually coordinated elsewhere, so this is Kafka's way: the
 * offsets are written to the group's __consumer_offsets partition as a transactional batch of
 * the producer (AddOffsetsToTxn added that partition to the transaction) and wait in the group;
 * the producer's COMMIT marker on that partition makes them the group's committed offsets, an
 * ABORT drops them (rn_groups_txn_marker), and a coordinator loading the partition finds both
 * in the log. Acknowledged once replicated.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/coord_wait.h"
#include "broker/groups.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/txns.h"
#include "core/clock.h"
#include "core/err.h"
#include "group/records.h"
#include "net/loop.h"
#include "proto/gen/rn_msg.h"
#include "storage/partition.h"

struct answer {
	struct rn_txn_offset_commit_response resp;
};

static void set_all(struct rn_txn_offset_commit_response *resp, int16_t err)
{
	for (int32_t i = 0; i < resp->topics_count; i++)
		for (int32_t j = 0; j < resp->topics[i].partitions_count; j++)
			if (resp->topics[i].partitions[j].error_code == RN_KERR_NONE)
				resp->topics[i].partitions[j].error_code = err;
}

static void respond(struct rn_ctx *ctx, void *arg, int16_t err)
{
	struct answer *a = arg;
	for (int32_t i = 0; i < a->resp.topics_count; i++)
		for (int32_t j = 0; j < a->resp.topics[i].partitions_count; j++)
			if (a->resp.topics[i].partitions[j].error_code == RN_KERR_NONE)
				a->resp.topics[i].partitions[j].error_code = err;
	rn_respond_begin(ctx);
	rn_txn_offset_commit_response_encode(&ctx->req->out, ctx->hdr.api_version, &a->resp);
	rn_respond_end(ctx);
}

/* Under the coordinator lock: the error for the whole request, or NONE after adding. */
static int16_t commit(struct rn_ctx *ctx, struct rn_tc *tc,
		      const struct rn_txn_offset_commit_request *rq,
		      struct rn_txn_offset_commit_response *resp, struct rn_txns_flushes *fl)
{
	struct rn_txn *t;
	int16_t fenced =
	    ctx->hdr.api_version >= 3 ? RN_KERR_PRODUCER_FENCED : RN_KERR_INVALID_PRODUCER_EPOCH;
	int16_t err = rn_tc_check(tc, rn_ctx_strdup(ctx, rq->transactional_id), rq->producer_id,
				  rq->producer_epoch, fenced, &t);
	if (err != RN_KERR_NONE)
		return err;
	char *group = rn_ctx_strdup(ctx, rq->group_id);
	if (!rn_tc_has_group(t, group))
		return RN_KERR_INVALID_TXN_STATE;
	int32_t max_meta = rn_groups_metadata_max();
	bool any = false;
	for (int32_t i = 0; i < rq->topics_count; i++) {
		char *topic = rn_ctx_strdup(ctx, rq->topics[i].name);
		for (int32_t j = 0; j < rq->topics[i].partitions_count; j++) {
			struct rn_txn_offset_commit_request_txn_offset_commit_request_partition
			    *rp = &rq->topics[i].partitions[j];
			if (resp->topics[i].partitions[j].error_code) /* denied */
				continue;
			if (max_meta > 0 && rp->committed_metadata.len > max_meta) {
				resp->topics[i].partitions[j].error_code =
				    RN_KERR_OFFSET_METADATA_TOO_LARGE;
				continue;
			}
			struct rn_txn_offset o = {group,
						  topic,
						  rp->partition_index,
						  rp->committed_offset,
						  rp->committed_leader_epoch,
						  rn_ctx_strdup(ctx, rp->committed_metadata)};
			rn_tc_add_offset(t, &o);
			any = true;
		}
	}
	if (any && rn_txns_store(t, fl) < 0)
		return RN_KERR_COORDINATOR_NOT_AVAILABLE;
	return RN_KERR_NONE;
}

/* ---- a cluster: transactional offset commits in __consumer_offsets ---- */

struct cwait {
	struct rn_ctx *ctx;
	struct answer *a;
	int16_t kerr;
};

static void acked_on_loop(void *arg)
{
	struct cwait *w = arg;
	set_all(&w->a->resp, rn_coord_commit_error(w->kerr, true));
	respond(w->ctx, w->a, RN_KERR_NONE);
}

static void acked(void *arg, int16_t kerr)
{
	struct cwait *w = arg;
	w->kerr = kerr;
	rn_loop_post(w->ctx->req->loop, acked_on_loop, w);
}

/* Under the group lock: the records of the accepted partitions, one key and value each. */
static int build(struct rn_ctx *ctx, const struct rn_txn_offset_commit_request *rq,
		 struct rn_txn_offset_commit_response *resp, const char *group, int64_t now,
		 struct rn_gc_rec *recs, struct rn_gc_offset *offs, const char **topics,
		 int32_t *parts)
{
	int32_t max_meta = rn_groups_metadata_max();
	int n = 0;
	for (int32_t i = 0; i < rq->topics_count; i++) {
		char *topic = rn_ctx_strdup(ctx, rq->topics[i].name);
		for (int32_t j = 0; j < rq->topics[i].partitions_count; j++) {
			struct rn_txn_offset_commit_request_txn_offset_commit_request_partition
			    *rp = &rq->topics[i].partitions[j];
			if (resp->topics[i].partitions[j].error_code) /* denied */
				continue;
			if (!topic) {
				resp->topics[i].partitions[j].error_code =
				    RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
			if (max_meta > 0 && rp->committed_metadata.len > max_meta) {
				resp->topics[i].partitions[j].error_code =
				    RN_KERR_OFFSET_METADATA_TOO_LARGE;
				continue;
			}
			offs[n] = (struct rn_gc_offset){
			    .offset = rp->committed_offset,
			    .leader_epoch = rp->committed_leader_epoch,
			    .metadata = rn_ctx_strdup(ctx, rp->committed_metadata),
			    .commit_ts = now,
			    .expire_ts = -1};
			struct rn_buf k = {0}, v = {0};
			rn_gc_key_offset(&k, group, topic, rp->partition_index);
			rn_gc_value_offset(&v, &offs[n]);
			uint8_t *kc = rn_arena_alloc(&ctx->req->arena, k.len + v.len + 1);
			memcpy(kc, k.data, k.len);
			memcpy(kc + k.len, v.data, v.len);
			recs[n] =
			    (struct rn_gc_rec){kc, (int32_t)k.len, kc + k.len, (int32_t)v.len};
			rn_buf_free(&k);
			rn_buf_free(&v);
			topics[n] = topic;
			parts[n] = rp->partition_index;
			n++;
		}
	}
	return n;
}

static void commit_clustered(struct rn_ctx *ctx, const struct rn_txn_offset_commit_request *rq,
			     struct answer *a)
{
	struct rn_arena *ar = &ctx->req->arena;
	char *group = rn_ctx_strdup(ctx, rq->group_id);
	int16_t err;
	struct rn_gc *gc = rn_groups_lock_group(group, &err);
	if (!gc) {
		set_all(&a->resp, err);
		respond(ctx, a, RN_KERR_NONE);
		return;
	}
	if (!group || !*group) {
		rn_groups_unlock();
		set_all(&a->resp, RN_KERR_INVALID_GROUP_ID);
		respond(ctx, a, RN_KERR_NONE);
		return;
	}
	int total = 0;
	for (int32_t i = 0; i < rq->topics_count; i++)
		total += rq->topics[i].partitions_count > 0 ? rq->topics[i].partitions_count : 0;
	struct rn_gc_rec *recs = rn_arena_alloc(ar, (size_t)(total + 1) * sizeof(*recs));
	struct rn_gc_offset *offs = rn_arena_alloc(ar, (size_t)(total + 1) * sizeof(*offs));
	const char **topics = rn_arena_alloc(ar, (size_t)(total + 1) * sizeof(*topics));
	int32_t *parts = rn_arena_alloc(ar, (size_t)(total + 1) * sizeof(*parts));
	int64_t now = rn_wall_ms();
	int n = build(ctx, rq, &a->resp, group, now, recs, offs, topics, parts);
	struct rn_append_info ai = {0};
	int rc =
	    n ? rn_groups_write_txn(group, rq->producer_id, rq->producer_epoch, recs, n, &ai) : 0;
	if (rc < 0) {
		rn_groups_unlock();
		int16_t k = rc == RN_ENOTLEADER ? RN_KERR_NOT_COORDINATOR : rn_kerr_from(rc);
		if (rc == RN_EPRODUCER_EPOCH && ctx->hdr.api_version >= 3)
			k = RN_KERR_PRODUCER_FENCED;
		set_all(&a->resp, rn_coord_commit_error(k, true));
		respond(ctx, a, RN_KERR_NONE);
		return;
	}
	if (n) {
		struct rn_group *g = rn_gc_group_get_or_create(gc, group, now);
		for (int i = 0; i < n; i++)
			rn_gc_txn_offset_add(g, rq->producer_id, topics[i], parts[i], &offs[i]);
		struct cwait *w = rn_arena_alloc(ar, sizeof(*w));
		*w = (struct cwait){ctx, a, RN_KERR_NONE};
		rn_groups_wait(group, ai.last_offset + 1, ai.needs_flush, acked, w);
	}
	rn_groups_unlock();
	if (!n)
		respond(ctx, a, RN_KERR_NONE);
}

void rn_h_txn_offset_commit(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_txn_offset_commit_request rq;
	if (rn_txn_offset_commit_request_decode(&ctx->rd, ver, &rq) < 0 || ctx->rd.err ||
	    rq.transactional_id.len < 0 || rq.group_id.len < 0) {
		rn_close_conn(ctx, "malformed TxnOffsetCommit request");
		return;
	}
	struct rn_arena *ar = &ctx->req->arena;
	struct answer *a = rn_arena_alloc(ar, sizeof(*a));
	struct rn_txn_offset_commit_response *resp = &a->resp;
	resp->topics_count = rq.topics_count > 0 ? rq.topics_count : 0;
	resp->topics = rn_arena_alloc(ar, (size_t)(resp->topics_count + 1) * sizeof(*resp->topics));
	for (int32_t i = 0; i < resp->topics_count; i++) {
		int32_t np = rq.topics[i].partitions_count > 0 ? rq.topics[i].partitions_count : 0;
		resp->topics[i].name = rq.topics[i].name;
		resp->topics[i].partitions_count = np;
		resp->topics[i].partitions =
		    rn_arena_alloc(ar, (size_t)(np + 1) * sizeof(*resp->topics[i].partitions));
		for (int32_t j = 0; j < np; j++)
			resp->topics[i].partitions[j].partition_index =
			    rq.topics[i].partitions[j].partition_index;
	}
	/* Kafka: WRITE on the transactional id, READ on the group (every partition), then READ
	 * per topic. */
	int16_t deny =
	    !rn_allowed_view(ctx, RN_OP_WRITE, RN_RES_TRANSACTIONAL_ID, rq.transactional_id.ptr,
			     rq.transactional_id.len)
		? RN_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED
	    : !rn_allowed_view(ctx, RN_OP_READ, RN_RES_GROUP, rq.group_id.ptr, rq.group_id.len)
		? RN_KERR_GROUP_AUTHORIZATION_FAILED
		: RN_KERR_NONE;
	if (deny) {
		set_all(resp, deny);
		rn_txns_respond_after(ctx, NULL, respond, a);
		return;
	}
	for (int32_t i = 0; i < resp->topics_count; i++)
		if (!rn_allowed_view(ctx, RN_OP_READ, RN_RES_TOPIC, rq.topics[i].name.ptr,
				     rq.topics[i].name.len))
			for (int32_t j = 0; j < resp->topics[i].partitions_count; j++)
				resp->topics[i].partitions[j].error_code =
				    RN_KERR_TOPIC_AUTHORIZATION_FAILED;
	if (ctx->b->clustered) {
		commit_clustered(ctx, &rq, a);
		return;
	}
	struct rn_txns_flushes *fl = NULL;
	struct rn_tc *tc = rn_txns_lock(&fl);
	int16_t err = RN_KERR_COORDINATOR_NOT_AVAILABLE;
	if (tc) {
		err = commit(ctx, tc, &rq, resp, fl);
		rn_txns_unlock();
	}
	if (err != RN_KERR_NONE)
		set_all(resp, err);
	rn_txns_respond_after(ctx, fl, respond, a);
}
