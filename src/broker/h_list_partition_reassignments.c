/*
 * ListPartitionReassignments (KIP-455): the partitions with a reassignment in flight (replicas,
 * adding, removing), for every topic (null topics) or the listed partitions; unknown topics
 * and partitions without one are left out, and topics with none are omitted, as Kafka's KRaft
 * controller answers. A single broker never has one.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/handler.h"
#include "core/alloc.h"
#include "meta/cluster.h"
#include "proto/gen/rn_msg.h"
#include "replica/election.h"

struct lr_ref {
	char *topic;
	int32_t idx;
	struct rn_pstate st;
};
struct lr_list {
	struct lr_ref *v;
	size_t n, cap;
	const struct rn_list_partition_reassignments_request *rq;
};

static bool wanted(const struct rn_list_partition_reassignments_request *rq, const char *topic,
		   int32_t idx)
{
	if (rq->topics_count < 0)
		return true;
	for (int32_t i = 0; i < rq->topics_count; i++) {
		const struct
		    rn_list_partition_reassignments_request_list_partition_reassignments_topics *t =
			&rq->topics[i];
		if (!rn_str_eq(t->name, topic))
			continue;
		for (int32_t j = 0; j < t->partition_indexes_count; j++)
			if (t->partition_indexes[j] == idx)
				return true;
	}
	return false;
}

static void collect(const char *topic, int32_t idx, const struct rn_pstate *st, void *arg)
{
	struct lr_list *l = arg;
	if (!rn_pstate_reassigning(st) || !wanted(l->rq, topic, idx))
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = rn_realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct lr_ref){rn_strdup(topic), idx, *st};
}

static int cmp_ref(const void *a, const void *b)
{
	const struct lr_ref *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static int32_t *ids_copy(struct rn_arena *a, const int32_t *v, int32_t n)
{
	int32_t *out = rn_arena_alloc(a, (size_t)(n + 1) * sizeof(*out));
	if (n > 0)
		memcpy(out, v, (size_t)n * sizeof(*v));
	return out;
}

static void
fill_partition(struct rn_arena *a, const struct lr_ref *r,
	       struct rn_list_partition_reassignments_response_ongoing_partition_reassignment *p)
{
	p->partition_index = r->idx;
	p->replicas = ids_copy(a, r->st.replicas, r->st.nreplicas);
	p->replicas_count = r->st.nreplicas;
	p->adding_replicas = ids_copy(a, r->st.adding, r->st.nadding);
	p->adding_replicas_count = r->st.nadding;
	p->removing_replicas = ids_copy(a, r->st.removing, r->st.nremoving);
	p->removing_replicas_count = r->st.nremoving;
}

static void build(struct rn_ctx *ctx, struct lr_list *l,
		  struct rn_list_partition_reassignments_response *resp)
{
	struct rn_arena *a = &ctx->req->arena;
	if (l->n > 1) /* qsort(NULL, 0) is undefined */
		qsort(l->v, l->n, sizeof(*l->v), cmp_ref);
	resp->topics = rn_arena_alloc(a, (l->n + 1) * sizeof(*resp->topics));
	for (size_t i = 0; i < l->n;) {
		size_t end = i;
		while (end < l->n && strcmp(l->v[end].topic, l->v[i].topic) == 0)
			end++;
		struct rn_list_partition_reassignments_response_ongoing_topic_reassignment *t =
		    &resp->topics[resp->topics_count++];
		t->name = rn_ctx_str(ctx, l->v[i].topic);
		t->partitions = rn_arena_alloc(a, (end - i + 1) * sizeof(*t->partitions));
		for (; i < end; i++)
			fill_partition(a, &l->v[i], &t->partitions[t->partitions_count++]);
	}
}

void rn_h_list_partition_reassignments(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_list_partition_reassignments_request rq;
	if (rn_list_partition_reassignments_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed ListPartitionReassignments request");
		return;
	}
	struct rn_list_partition_reassignments_response resp = {0};
	resp.error_message = RN_STR_NULL;
	struct lr_list l = {.rq = &rq};
	if (!rn_allowed_cluster(ctx, RN_OP_DESCRIBE)) {
		resp.error_code = RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
		rn_respond_begin(ctx);
		rn_list_partition_reassignments_response_encode(&ctx->req->out, ver, &resp);
		rn_respond_end(ctx);
		return;
	}
	if (ctx->b->clustered)
		rn_meta_partitions_foreach(ctx->b->meta, collect, &l);
	build(ctx, &l, &resp);
	for (size_t i = 0; i < l.n; i++)
		rn_free(l.v[i].topic);
	rn_free(l.v);
	rn_respond_begin(ctx);
	rn_list_partition_reassignments_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
