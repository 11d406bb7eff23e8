/*
 * ElectLeaders (KIP-183 preferred, KIP-460 unclean): per partition, as Kafka's KRaft
 * controller answers (ReplicationControlManager.electLeaders): UNKNOWN_TOPIC_OR_PARTITION,
 * ELECTION_NOT_NEEDED (the preferred replica already leads / a live leader exists),
 * PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE, or NONE after the election
 * was written. Null topic_partitions means every partition, and then the partitions that
 * needed nothing are left out (each topic still listed). An election type other than 0/1 is
 * INVALID_REQUEST everywhere, as Kafka's getErrorResponse.
 *
 * A cluster runs the election on whichever broker gets the request: it is a CAS on the
 * partition state, so it is as safe as the controller's own writes. A single broker is every
 * partition's only replica, which already leads: ELECTION_NOT_NEEDED, as Kafka with one
 * replica answers. The store write is synchronous on the loop, as the other admin handlers'.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/handler.h"
#include "broker/topics.h"
#include "core/alloc.h"
#include "meta/cluster.h"
#include "proto/gen/rn_msg.h"
#include "replica/controller.h"

static const char *message_for(int16_t kerr)
{
	switch (kerr) {
	case RN_KERR_UNKNOWN_TOPIC_OR_PARTITION: return "The partition does not exist.";
	case RN_KERR_PREFERRED_LEADER_NOT_AVAILABLE:
		return "The preferred leader is not live or not in the ISR.";
	case RN_KERR_ELIGIBLE_LEADERS_NOT_AVAILABLE: return "No replica of the partition is live.";
	case RN_KERR_REQUEST_TIMED_OUT: return "The metadata store did not answer.";
	case RN_KERR_INVALID_REQUEST: return "Unknown election type.";
	default: return NULL;
	}
}

/* One partition's result: a cluster elects; a single broker has nothing to elect. */
static int16_t elect_one(struct rn_ctx *ctx, const char *topic, int32_t idx, int8_t type)
{
	struct rn_broker *b = ctx->b;
	if (b->clustered)
		return rn_election_run(b->meta, topic, idx,
				       type == 1 ? RN_ELECT_UNCLEAN : RN_ELECT_PREFERRED);
	struct rn_topic *t = rn_topic_get(b, topic, strlen(topic));
	bool known = t && idx >= 0 && idx < t->npart;
	if (t)
		rn_topic_put(b, t);
	return known ? RN_KERR_ELECTION_NOT_NEEDED : RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
}

static void set_result(struct rn_ctx *ctx, struct rn_elect_leaders_response_partition_result *r,
		       int32_t idx, int16_t kerr)
{
	r->partition_id = idx;
	r->error_code = kerr;
	r->error_message = rn_ctx_str(ctx, message_for(kerr));
}

static void answer_listed(struct rn_ctx *ctx, const struct rn_elect_leaders_request *rq,
			  struct rn_elect_leaders_response *resp, int16_t all_err)
{
	struct rn_arena *a = &ctx->req->arena;
	int32_t nt = rq->topic_partitions_count;
	resp->replica_election_results_count = nt;
	resp->replica_election_results = rn_arena_alloc(
	    a, (size_t)(nt + 1) * sizeof(struct rn_elect_leaders_response_replica_election_result));
	for (int32_t i = 0; i < nt; i++) {
		const struct rn_elect_leaders_request_topic_partitions *tp =
		    &rq->topic_partitions[i];
		struct rn_elect_leaders_response_replica_election_result *rt =
		    &resp->replica_election_results[i];
		char *name = rn_ctx_strdup(ctx, tp->topic);
		int32_t np = tp->partition_id_count > 0 ? tp->partition_id_count : 0;
		rt->topic = tp->topic;
		rt->partition_result_count = np;
		rt->partition_result = rn_arena_alloc(
		    a,
		    (size_t)(np + 1) * sizeof(struct rn_elect_leaders_response_partition_result));
		for (int32_t j = 0; j < np; j++) {
			int32_t idx = tp->partition_id[j];
			int16_t kerr =
			    all_err ? all_err
				    : elect_one(ctx, name ? name : "", idx, rq->election_type);
			set_result(ctx, &rt->partition_result[j], idx, kerr);
		}
	}
}

/* Every partition of the cluster or of the single broker, sorted by topic then index. */
struct el_ref {
	char *topic;
	int32_t idx;
};
struct el_all {
	struct el_ref *v;
	size_t n, cap;
};

static void add_ref(struct el_all *l, const char *topic, int32_t idx)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = rn_realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct el_ref){rn_strdup(topic), idx};
}

static void collect_cluster(const char *topic, int32_t idx, const struct rn_pstate *st, void *arg)
{
	(void)st;
	add_ref(arg, topic, idx);
}

static void collect_local(struct rn_topic *t, void *arg)
{
	for (int32_t i = 0; i < t->npart; i++)
		add_ref(arg, t->name, i);
}

static int cmp_ref(const void *a, const void *b)
{
	const struct el_ref *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static void answer_all(struct rn_ctx *ctx, int8_t type, struct rn_elect_leaders_response *resp)
{
	struct rn_arena *a = &ctx->req->arena;
	struct el_all l = {0};
	if (ctx->b->clustered)
		rn_meta_partitions_foreach(ctx->b->meta, collect_cluster, &l);
	else
		rn_topics_foreach(ctx->b, collect_local, &l);
	if (l.n > 1) /* qsort(NULL, 0) is undefined */
		qsort(l.v, l.n, sizeof(*l.v), cmp_ref);
	size_t ntopics = 0;
	for (size_t i = 0; i < l.n; i++)
		ntopics += i == 0 || strcmp(l.v[i].topic, l.v[i - 1].topic) != 0;
	resp->replica_election_results = rn_arena_alloc(
	    a, (ntopics + 1) * sizeof(struct rn_elect_leaders_response_replica_election_result));
	resp->replica_election_results_count = 0;
	for (size_t i = 0; i < l.n;) {
		size_t end = i;
		while (end < l.n && strcmp(l.v[end].topic, l.v[i].topic) == 0)
			end++;
		struct rn_elect_leaders_response_replica_election_result *rt =
		    &resp->replica_election_results[resp->replica_election_results_count++];
		rt->topic = rn_ctx_str(ctx, l.v[i].topic);
		rt->partition_result = rn_arena_alloc(
		    a, (end - i + 1) * sizeof(struct rn_elect_leaders_response_partition_result));
		rt->partition_result_count = 0;
		for (; i < end; i++) {
			int16_t kerr = elect_one(ctx, l.v[i].topic, l.v[i].idx, type);
			if (kerr != RN_KERR_ELECTION_NOT_NEEDED)
				set_result(ctx, &rt->partition_result[rt->partition_result_count++],
					   l.v[i].idx, kerr);
			rn_free(l.v[i].topic);
		}
	}
	rn_free(l.v);
}

void rn_h_elect_leaders(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_elect_leaders_request rq;
	if (rn_elect_leaders_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed ElectLeaders request");
		return;
	}
	struct rn_elect_leaders_response resp = {0};
	bool bad_type = rq.election_type != 0 && rq.election_type != 1;
	if (bad_type)
		resp.error_code = RN_KERR_INVALID_REQUEST;
	if (!rn_allowed_cluster(ctx, RN_OP_ALTER)) {
		/* Kafka: ALTER on the cluster; the error at the top and on every partition. */
		resp.error_code = RN_KERR_CLUSTER_AUTHORIZATION_FAILED;
		if (rq.topic_partitions_count >= 0)
			answer_listed(ctx, &rq, &resp, RN_KERR_CLUSTER_AUTHORIZATION_FAILED);
	} else if (rq.topic_partitions_count >= 0)
		answer_listed(ctx, &rq, &resp, bad_type ? RN_KERR_INVALID_REQUEST : 0);
	else if (!bad_type)
		answer_all(ctx, rq.election_type, &resp);
	rn_respond_begin(ctx);
	rn_elect_leaders_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
