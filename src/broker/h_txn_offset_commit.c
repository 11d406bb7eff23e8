/*
 * TxnOffsetCommit (v0-3), sent to the group coordinator: offsets committed inside a
 * transaction. They are kept with the transaction (and in its __transaction_state record, so a
 * broker restart does not lose them) and become the group's committed offsets only when
 * EndTxn commits (broker/txns.c); an abort drops them. The group must have been added with
 * AddOffsetsToTxn.
 */
#include "broker/groups.h"
#include "broker/handler.h"
#include "broker/txns.h"
#include "proto/gen/rn_msg.h"

struct answer {
	struct rn_txn_offset_commit_response resp;
};

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
	struct rn_txns_flushes *fl = NULL;
	struct rn_tc *tc = rn_txns_lock(&fl);
	int16_t err = RN_KERR_COORDINATOR_NOT_AVAILABLE;
	if (tc) {
		err = commit(ctx, tc, &rq, resp, fl);
		rn_txns_unlock();
	}
	if (err != RN_KERR_NONE)
		for (int32_t i = 0; i < resp->topics_count; i++)
			for (int32_t j = 0; j < resp->topics[i].partitions_count; j++)
				resp->topics[i].partitions[j].error_code = err;
	rn_txns_respond_after(ctx, fl, respond, a);
}
