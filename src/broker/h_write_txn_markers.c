/*
 * WriteTxnMarkers (v0-1), from a transaction coordinator (another broker or this one): for
 * each (producer, partition) the COMMIT or ABORT marker with the coordinator's epoch, written
 * on partitions this broker leads (NOT_LEADER_OR_FOLLOWER elsewhere) and acknowledged as
 * Kafka appends them (acks=-1): once replicated to the ISR, and flushed when the partition's
 * policy asks. A marker on a __consumer_offsets partition also completes the producer's
 * transactional offset commits there (the group coordinator).
 */
#include <string.h>

#include "broker/coord_wait.h"
#include "broker/groups.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/leader.h"
#include "broker/topics.h"
#include "core/err.h"
#include "core/log.h"
#include "net/loop.h"
#include "proto/gen/rn_msg.h"
#include "replica/replica.h"
#include "storage/partition.h"

struct answer {
	struct rn_ctx *ctx;
	struct rn_write_txn_markers_response resp;
	int pending; /* on the loop */
};

struct pwait {
	struct answer *a;
	int16_t *err;
	int16_t kerr;
};

static void respond(struct answer *a)
{
	struct rn_ctx *ctx = a->ctx;
	rn_respond_begin(ctx);
	rn_write_txn_markers_response_encode(&ctx->req->out, ctx->hdr.api_version, &a->resp);
	rn_respond_end(ctx);
}

static void waited_on_loop(void *arg)
{
	struct pwait *w = arg;
	struct answer *a = w->a;
	*w->err = w->kerr;
	if (--a->pending == 0)
		respond(a);
}

static void waited(void *arg, int16_t kerr)
{
	struct pwait *w = arg;
	w->kerr = kerr;
	rn_loop_post(w->a->ctx->req->loop, waited_on_loop, w);
}

/* Writes one marker; returns its error, or -1 when its answer waits for w. */
static int16_t write_one(struct rn_ctx *ctx,
			 const struct rn_write_txn_markers_request_writable_txn_marker *m,
			 struct rn_str name, int32_t idx, struct pwait *w)
{
	struct rn_broker *b = ctx->b;
	struct rn_topic *t = name.len > 0 ? rn_topic_get(b, name.ptr, (size_t)name.len) : NULL;
	struct rn_partition *p = NULL;
	int32_t epoch;
	int16_t err;
	/* A cluster: a partition with no replica here, or one followed here, is another's
	 * (Kafka's getPartitionOrError). */
	if (b->clustered && t && idx >= 0 && idx < t->npart &&
	    (!t->parts[idx].rp || rn_replica_leader(t->parts[idx].rp, &epoch) != 0))
		err = RN_KERR_NOT_LEADER_OR_FOLLOWER;
	else
		err = rn_leader_partition(t, idx, &p);
	struct rn_append_info ai = {0};
	if (err == RN_KERR_NONE) {
		int rc =
		    rn_partition_append_marker(p, m->producer_id, m->producer_epoch,
					       m->transaction_result, m->coordinator_epoch, &ai);
		err = rn_kerr_from(rc);
		if (rc < 0)
			rn_log_every(5000, RN_LOG_WARN,
				     "WriteTxnMarkers: %s marker of producer %lld to %.*s-%d: %s",
				     m->transaction_result ? "COMMIT" : "ABORT",
				     (long long)m->producer_id, (int)name.len, name.ptr, idx,
				     rn_strerror(rc));
	}
	if (err == RN_KERR_NONE) {
		rn_topic_notify(t, idx);
		if (strcmp(t->name, RN_OFFSETS_TOPIC) == 0)
			rn_groups_txn_marker(idx, m->producer_id, m->producer_epoch,
					     m->transaction_result);
		w->a->pending++;
		rn_coord_wait(b, t, idx, ai.last_offset + 1, ai.needs_flush, waited, w);
		err = -1;
	}
	if (t)
		rn_topic_put(b, t);
	return err;
}

void rn_h_write_txn_markers(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_write_txn_markers_request rq;
	if (rn_write_txn_markers_request_decode(&ctx->rd, ver, &rq) < 0 || ctx->rd.err) {
		rn_close_conn(ctx, "malformed WriteTxnMarkers request");
		return;
	}
	struct rn_arena *ar = &ctx->req->arena;
	struct answer *a = rn_arena_alloc(ar, sizeof(*a));
	a->ctx = ctx;
	a->pending = 1; /* ours, dropped below: no answer before every marker is written */
	struct rn_write_txn_markers_response *resp = &a->resp;
	int32_t nm = rq.markers_count > 0 ? rq.markers_count : 0;
	resp->markers_count = nm;
	resp->markers = rn_arena_alloc(ar, (size_t)(nm + 1) * sizeof(*resp->markers));
	/* Only brokers write markers: CLUSTER_ACTION, else every partition is refused. */
	bool allowed = rn_allowed_cluster(ctx, RN_OP_CLUSTER_ACTION);
	for (int32_t i = 0; i < nm; i++) {
		const struct rn_write_txn_markers_request_writable_txn_marker *m = &rq.markers[i];
		struct rn_write_txn_markers_response_writable_txn_marker_result *r =
		    &resp->markers[i];
		r->producer_id = m->producer_id;
		int32_t nt = m->topics_count > 0 ? m->topics_count : 0;
		r->topics_count = nt;
		r->topics = rn_arena_alloc(ar, (size_t)(nt + 1) * sizeof(*r->topics));
		for (int32_t j = 0; j < nt; j++) {
			const struct rn_write_txn_markers_request_writable_txn_marker_topic *mt =
			    &m->topics[j];
			int32_t np =
			    mt->partition_indexes_count > 0 ? mt->partition_indexes_count : 0;
			r->topics[j].name = mt->name;
			r->topics[j].partitions_count = np;
			r->topics[j].partitions =
			    rn_arena_alloc(ar, (size_t)(np + 1) * sizeof(*r->topics[j].partitions));
			for (int32_t k = 0; k < np; k++) {
				int32_t idx = mt->partition_indexes[k];
				struct pwait *w = rn_arena_alloc(ar, sizeof(*w));
				w->a = a;
				w->err = &r->topics[j].partitions[k].error_code;
				r->topics[j].partitions[k].partition_index = idx;
				int16_t e = allowed ? write_one(ctx, m, mt->name, idx, w)
						    : RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
				if (e >= 0)
					*w->err = e;
			}
		}
	}
	if (--a->pending == 0)
		respond(a);
}
