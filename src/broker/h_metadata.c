/*
 * Metadata: this broker, and the requested topics with their partitions (this node leads all
 * of them). In a cluster: every live broker, the controller, and per partition the leader,
 * leader epoch, replicas and ISR the store holds, replicas on brokers that are not live as
 * offline (a leader that is not live answers LEADER_NOT_AVAILABLE with leader -1, as Kafka's
 * metadata cache does; v0 also leaves dead replicas out and says REPLICA_NOT_AVAILABLE). Unknown
 * topics are created here when auto.create.topics.enable and the request allow it, as Kafka does:
 * librdkafka's producer relies on that for auto-creation. As in Kafka the creating request gets
 * LEADER_NOT_AVAILABLE for the topic and the next one its partitions. v0: an empty topic list means
 * all topics; v1+: null means all, empty means none. v10+ carry topic ids, v12 may ask by id.
 */
#include <stdio.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/cluster.h"
#include "broker/groups.h"
#include "broker/handler.h"
#include "broker/listeners.h"
#include "broker/topics.h"
#include "broker/topics_int.h"
#include "broker/txns.h"
#include "proto/gen/rn_msg.h"
#include "storage/partition.h"

/* A cluster's live brokers for this request (nlive < 0 on a single broker). */
struct view {
	struct rn_broker_reg *live;
	int nlive;
};

struct all_ctx {
	struct rn_ctx *ctx;
	const struct view *v;
	struct rn_metadata_response_metadata_response_topic *topics;
	int n, cap;
};

/* ids[0..n) into out, only the live ones when live_only; returns the count written. */
static int32_t copy_ids(const int32_t *ids, int32_t n, const struct view *v, bool live_only,
			int32_t *out)
{
	int32_t k = 0;
	for (int32_t i = 0; i < n; i++)
		if (!live_only || rn_cluster_is_live(v->live, v->nlive, ids[i]))
			out[k++] = ids[i];
	return k;
}

static void fill_replicated(struct rn_ctx *ctx,
			    struct rn_metadata_response_metadata_response_partition *p,
			    const char *topic, int32_t idx, const struct view *v)
{
	struct rn_pstate st;
	p->partition_index = idx;
	if (rn_meta_partition_get(ctx->b->meta, topic, idx, &st) < 0) {
		memset(&st, 0, sizeof(st));
		st.leader = -1;
		st.leader_epoch = -1;
	}
	bool v0 = ctx->hdr.api_version == 0;
	int32_t *ids = rn_arena_alloc(&ctx->req->arena,
				      (size_t)(2 * st.nreplicas + st.nisr + 1) * sizeof(int32_t));
	p->replica_nodes = ids;
	p->replica_nodes_count = copy_ids(st.replicas, st.nreplicas, v, v0, ids);
	p->isr_nodes = ids + st.nreplicas;
	p->isr_nodes_count = copy_ids(st.isr, st.nisr, v, v0, p->isr_nodes);
	p->offline_replicas = ids + st.nreplicas + st.nisr;
	p->offline_replicas_count = 0;
	for (int32_t i = 0; i < st.nreplicas; i++)
		if (!rn_cluster_is_live(v->live, v->nlive, st.replicas[i]))
			p->offline_replicas[p->offline_replicas_count++] = st.replicas[i];
	p->leader_epoch = st.leader_epoch;
	p->leader_id = st.leader;
	if (st.leader < 0 || !rn_cluster_is_live(v->live, v->nlive, st.leader)) {
		p->leader_id = -1;
		p->error_code = RN_KERR_LEADER_NOT_AVAILABLE;
	} else if (v0 && (p->replica_nodes_count < st.nreplicas || p->isr_nodes_count < st.nisr)) {
		p->error_code = RN_KERR_REPLICA_NOT_AVAILABLE;
	}
}

static void fill_topic(struct rn_ctx *ctx, struct rn_metadata_response_metadata_response_topic *rt,
		       struct rn_topic *t, const struct view *v)
{
	struct rn_arena *a = &ctx->req->arena;
	int32_t node = ctx->b->node_id;
	/* Copied: the topic may be gone by the time the response is encoded. */
	rt->name = rn_ctx_str(ctx, t->name);
	memcpy(rt->topic_id.b, t->id, 16);
	rt->is_internal = t->name[0] == '_' && t->name[1] == '_';
	rt->partitions_count = t->npart;
	rt->partitions = rn_arena_alloc(a, (size_t)t->npart * sizeof(*rt->partitions));
	if (v->nlive >= 0) {
		for (int32_t i = 0; i < t->npart; i++)
			fill_replicated(ctx, &rt->partitions[i], t->name, i, v);
		return;
	}
	int32_t *one = rn_arena_alloc(a, sizeof(int32_t));
	*one = node;
	for (int32_t i = 0; i < t->npart; i++) {
		struct rn_metadata_response_metadata_response_partition *p = &rt->partitions[i];
		p->partition_index = i;
		p->leader_id = node;
		p->leader_epoch = t->parts[i].log ? rn_partition_leader_epoch(t->parts[i].log) : 0;
		p->replica_nodes = one;
		p->replica_nodes_count = 1;
		p->isr_nodes = one;
		p->isr_nodes_count = 1;
		p->offline_replicas_count = 0;
		if (!t->parts[i].log || rn_partition_offline(t->parts[i].log)) {
			p->error_code = RN_KERR_KAFKA_STORAGE_ERROR;
			p->offline_replicas = one;
			p->offline_replicas_count = 1;
			p->isr_nodes_count = 0;
		}
	}
}

static void collect_all(struct rn_topic *t, void *arg)
{
	struct all_ctx *ac = arg;
	if (ac->n == ac->cap)
		return;
	/* Listing every topic hides the ones the principal may not describe, without audit
	 * lines (Kafka's logIfDenied=false). */
	if (!rn_allowed_quiet(ac->ctx, RN_OP_DESCRIBE, RN_RES_TOPIC, t->name, strlen(t->name)))
		return;
	fill_topic(ac->ctx, &ac->topics[ac->n++], t, ac->v);
}

/* v12 names topics by id (name null); v10-11 carry the field but Kafka refuses ids there.
 * Returns true when rt is complete. */
static bool by_id(struct rn_ctx *ctx, const struct rn_metadata_request_metadata_request_topic *q,
		  struct rn_metadata_response_metadata_response_topic *rt, const struct view *v)
{
	static const uint8_t zero[16];
	bool has_id = memcmp(q->topic_id.b, zero, 16) != 0;
	if (!has_id && q->name.len >= 0)
		return false;
	if (ctx->hdr.api_version < 12) {
		rt->error_code = RN_KERR_INVALID_REQUEST;
		return true;
	}
	struct rn_topic *t = rn_topic_get_by_id(ctx->b, q->topic_id.b);
	if (!t) {
		rt->error_code = RN_KERR_UNKNOWN_TOPIC_ID;
		rt->name = RN_STR_NULL;
		rt->topic_id = q->topic_id;
		return true;
	}
	if (!rn_allowed(ctx, RN_OP_DESCRIBE, RN_RES_TOPIC, t->name, strlen(t->name))) {
		rt->error_code = RN_KERR_TOPIC_AUTHORIZATION_FAILED;
		rt->name = RN_STR_NULL;
		rt->topic_id = q->topic_id;
		rn_topic_put(ctx->b, t);
		return true;
	}
	fill_topic(ctx, rt, t, v);
	rn_topic_put(ctx->b, t);
	return true;
}

/* Metadata's auto-creation. A cluster answers without waiting for its table (the client
 * retries anyway), and creates an internal topic as its coordinator would, with its own
 * partition count, factor and configs, as Kafka's auto-creation does. */
static enum rn_kerr create_auto(struct rn_broker *b, const char *name, char *msg, size_t msglen)
{
	if (!b->clustered)
		return rn_topic_create(b, name, -1, NULL, 0, false, msg, msglen);
	if (!strcmp(name, RN_OFFSETS_TOPIC))
		return rn_groups_topic_create(b, msg, msglen);
	if (!strcmp(name, RN_TXN_TOPIC))
		return rn_txns_topic_create(b, msg, msglen);
	int32_t rf;
	return rn__topic_create_cluster(b, name, b->num_partitions, -1, NULL, NULL, 0, false, false,
					&rf, msg, msglen);
}

static void fill_brokers(struct rn_ctx *ctx, struct rn_metadata_response *resp, struct view *v)
{
	v->nlive = rn_cluster_live(ctx, &v->live);
	resp->brokers =
	    rn_arena_alloc(&ctx->req->arena, (size_t)(v->nlive + 1) * sizeof(*resp->brokers));
	resp->brokers_count = v->nlive;
	for (int i = 0; i < v->nlive; i++) {
		struct rn_broker_reg *r = &v->live[i];
		resp->brokers[i].node_id = r->id;
		resp->brokers[i].host = rn_str_c(r->host);
		resp->brokers[i].port = r->port;
		resp->brokers[i].rack = r->rack[0] ? rn_str_c(r->rack) : RN_STR_NULL;
	}
	int32_t epoch;
	resp->controller_id = rn_meta_controller(ctx->b->meta, &epoch);
}

void rn_h_metadata(struct rn_ctx *ctx)
{
	struct rn_broker *b = ctx->b;
	int16_t ver = ctx->hdr.api_version;
	struct rn_metadata_request rq;
	if (rn_metadata_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed Metadata request");
		return;
	}
	struct rn_arena *a = &ctx->req->arena;
	struct rn_metadata_response resp = {0};
	struct view v = {NULL, -1};
	if (b->clustered) {
		fill_brokers(ctx, &resp, &v);
	} else {
		resp.brokers = rn_arena_alloc(a, sizeof(*resp.brokers));
		resp.brokers_count = 1;
		resp.brokers[0].node_id = b->node_id;
		rn_ctx_advertised(ctx, &resp.brokers[0].host, &resp.brokers[0].port);
		resp.brokers[0].rack = RN_STR_NULL;
		resp.controller_id = b->node_id;
	}
	resp.cluster_id = rn_str_c(rn_meta_cluster_id(b->meta));
	/* v8-10: the cluster's operations for a principal that may describe it, else none;
	 * without an authorizer every operation the resource type supports. */
	resp.cluster_authorized_operations = INT32_MIN;
	if (ver >= 8 && ver <= 10 && rq.include_cluster_authorized_operations)
		resp.cluster_authorized_operations =
		    rn_allowed_cluster(ctx, RN_OP_DESCRIBE)
			? rn_ctx_ops(ctx, RN_RES_CLUSTER, RN_CLUSTER_RESOURCE,
				     sizeof(RN_CLUSTER_RESOURCE) - 1)
			: 0;

	bool all = rq.topics_count < 0 || (ver == 0 && rq.topics_count == 0);
	if (all) {
		/* Topics created between sizing and filling are simply left out. */
		pthread_rwlock_rdlock(&b->topics_lock);
		int cap = (int)b->ntopics;
		pthread_rwlock_unlock(&b->topics_lock);
		struct all_ctx ac = {
		    ctx, &v, rn_arena_alloc(a, (size_t)(cap + 1) * sizeof(*ac.topics)), 0, cap};
		rn_topics_foreach(b, collect_all, &ac);
		resp.topics = ac.topics;
		resp.topics_count = ac.n;
		goto respond;
	}
	resp.topics_count = rq.topics_count;
	resp.topics = rn_arena_alloc(a, (size_t)(rq.topics_count + 1) * sizeof(*resp.topics));
	bool auto_create = b->auto_create && rq.allow_auto_topic_creation;
	for (int32_t i = 0; i < rq.topics_count; i++) {
		struct rn_metadata_response_metadata_response_topic *rt = &resp.topics[i];
		struct rn_str name = rq.topics[i].name;
		rt->name = name;
		if (by_id(ctx, &rq.topics[i], rt, &v))
			continue;
		/* Before existence, so a denied principal cannot tell whether a topic exists. */
		if (!rn_allowed(ctx, RN_OP_DESCRIBE, RN_RES_TOPIC, name.ptr,
				name.len > 0 ? (size_t)name.len : 0)) {
			rt->error_code = RN_KERR_TOPIC_AUTHORIZATION_FAILED;
			continue;
		}
		if (!rn_topic_name_valid(name.ptr, (size_t)name.len)) {
			rt->error_code = RN_KERR_INVALID_TOPIC_EXCEPTION;
			continue;
		}
		struct rn_topic *t = rn_topic_get(b, name.ptr, (size_t)name.len);
		if (!t && auto_create &&
		    !rn_allowed_quiet(ctx, RN_OP_CREATE, RN_RES_CLUSTER, RN_CLUSTER_RESOURCE,
				      sizeof(RN_CLUSTER_RESOURCE) - 1) &&
		    !rn_allowed(ctx, RN_OP_CREATE, RN_RES_TOPIC, name.ptr, (size_t)name.len)) {
			rt->error_code = RN_KERR_TOPIC_AUTHORIZATION_FAILED;
			continue;
		}
		if (!t && auto_create) {
			char msg[256];
			char *cname = rn_ctx_strdup(ctx, name);
			enum rn_kerr e = create_auto(b, cname, msg, sizeof(msg));
			if (e != RN_KERR_NONE && e != RN_KERR_TOPIC_ALREADY_EXISTS) {
				rt->error_code = e == RN_KERR_INVALID_TOPIC_EXCEPTION
						     ? e
						     : RN_KERR_LEADER_NOT_AVAILABLE;
				continue;
			}
			/* Kafka answers the request that creates a topic with
			 * LEADER_NOT_AVAILABLE and no partitions (its leaders are being elected);
			 * clients retry and get the partitions in the next request. */
			rt->error_code = RN_KERR_LEADER_NOT_AVAILABLE;
			rt->is_internal = name.len > 1 && name.ptr[0] == '_' && name.ptr[1] == '_';
			continue;
		}
		if (!t) {
			rt->error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
			continue;
		}
		fill_topic(ctx, rt, t, &v);
		rn_topic_put(b, t);
	}
respond:
	for (int32_t i = 0; i < resp.topics_count; i++) {
		struct rn_metadata_response_metadata_response_topic *rt = &resp.topics[i];
		rt->topic_authorized_operations =
		    rq.include_topic_authorized_operations && rt->name.len >= 0
			? rn_ctx_ops(ctx, RN_RES_TOPIC, rt->name.ptr, (size_t)rt->name.len)
			: INT32_MIN;
	}
	rn_respond_begin(ctx);
	rn_metadata_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
