/* What Metadata and DescribeCluster tell of a cluster: the live brokers (broker/cluster.h). */
#include "broker/cluster.h"
#include "broker/handler.h"

int rn_cluster_live(struct rn_ctx *ctx, struct rn_broker_reg **out)
{
	struct rn_arena *a = &ctx->req->arena;
	int cap = 16;
	for (;;) {
		struct rn_broker_reg *r = rn_arena_alloc(a, (size_t)cap * sizeof(*r));
		int n = rn_meta_brokers(ctx->b->meta, r, cap);
		if (n <= cap) {
			*out = r;
			return n;
		}
		cap =
		    n; /* more registered meanwhile: the arena keeps the first try until the end */
	}
}

bool rn_cluster_is_live(const struct rn_broker_reg *live, int n, int32_t id)
{
	for (int i = 0; i < n; i++)
		if (live[i].id == id)
			return true;
	return false;
}
