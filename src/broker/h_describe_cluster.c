/*
 * DescribeCluster (KIP-700): the brokers, the controller and the cluster id, as admin clients
 * ask for them instead of Metadata. v1's EndpointType: this node is a broker endpoint (1);
 * asking it for controllers (2) is MISMATCHED_ENDPOINT_TYPE, any other type
 * UNSUPPORTED_ENDPOINT_TYPE (INVALID_REQUEST in v0), as Kafka answers. In a cluster: every
 * live broker and the controller the store names, as Metadata.
 */
#include "broker/authz.h"
#include "broker/cluster.h"
#include "broker/handler.h"
#include "broker/listeners.h"
#include "meta/store.h"
#include "proto/gen/rn_msg.h"

static void fill_cluster(struct rn_ctx *ctx, struct rn_describe_cluster_response *resp)
{
	struct rn_broker_reg *live;
	int n = rn_cluster_live(ctx, &live);
	resp->brokers = rn_arena_alloc(&ctx->req->arena, (size_t)(n + 1) * sizeof(*resp->brokers));
	resp->brokers_count = n;
	for (int i = 0; i < n; i++) {
		resp->brokers[i].broker_id = live[i].id;
		resp->brokers[i].host = rn_str_c(live[i].host);
		resp->brokers[i].port = live[i].port;
		resp->brokers[i].rack = live[i].rack[0] ? rn_str_c(live[i].rack) : RN_STR_NULL;
	}
	int32_t epoch;
	resp->controller_id = rn_meta_controller(ctx->b->meta, &epoch);
}

void rn_h_describe_cluster(struct rn_ctx *ctx)
{
	int16_t ver = ctx->hdr.api_version;
	struct rn_describe_cluster_request rq;
	if (rn_describe_cluster_request_decode(&ctx->rd, ver, &rq) < 0) {
		rn_close_conn(ctx, "malformed DescribeCluster request");
		return;
	}
	struct rn_broker *b = ctx->b;
	struct rn_describe_cluster_response resp = {0};
	resp.endpoint_type = 1;
	resp.error_message = RN_STR_NULL;
	resp.cluster_id = rn_str_c(rn_meta_cluster_id(b->meta));
	resp.controller_id = -1;
	resp.cluster_authorized_operations = INT32_MIN;
	if (rq.endpoint_type != 1) {
		resp.error_code = ver == 0                ? RN_KERR_INVALID_REQUEST
				  : rq.endpoint_type == 2 ? RN_KERR_MISMATCHED_ENDPOINT_TYPE
							  : RN_KERR_UNSUPPORTED_ENDPOINT_TYPE;
		resp.error_message =
		    rn_str_c(rq.endpoint_type == 2 ? "The request was sent to a broker endpoint, "
						     "but it asks for controllers"
						   : "Unsupported endpoint type");
		resp.cluster_id = rn_str_c(""); /* Kafka's error answer carries no cluster */
		goto out;
	}
	if (b->clustered) {
		fill_cluster(ctx, &resp);
	} else {
		resp.controller_id = b->node_id;
		resp.brokers = rn_arena_alloc(&ctx->req->arena, sizeof(*resp.brokers));
		resp.brokers_count = 1;
		resp.brokers[0].broker_id = b->node_id;
		rn_ctx_advertised(ctx, &resp.brokers[0].host, &resp.brokers[0].port);
		resp.brokers[0].rack = RN_STR_NULL;
	}
	/* Kafka: the cluster's operations for a principal that may describe it, else none. */
	if (rq.include_cluster_authorized_operations)
		resp.cluster_authorized_operations =
		    rn_allowed_cluster(ctx, RN_OP_DESCRIBE)
			? rn_ctx_ops(ctx, RN_RES_CLUSTER, RN_CLUSTER_RESOURCE,
				     sizeof(RN_CLUSTER_RESOURCE) - 1)
			: 0;
out:
	rn_respond_begin(ctx);
	rn_describe_cluster_response_encode(&ctx->req->out, ver, &resp);
	rn_respond_end(ctx);
}
