/* Client quotas, the broker's side (quotas.h). */
#include "broker/quotas.h"

#include <string.h>

#include "auth/quota_store.h"
#include "broker/authz.h"
#include "broker/handler.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "meta/store.h"
#include "net/server.h"

/* One broker per process; handlers reach the manager without a field in rn_broker. */
static struct rn_quotas *quotas;

struct rn_quotas *rn_broker_quotas(void)
{
	return quotas;
}

void rn_broker_quotas_reload(struct rn_broker *b)
{
	if (quotas)
		rn_quotas_swap_cfg(quotas, rn_quota_store_load(b->meta));
}

static void on_change(const char *ns, void *arg)
{
	(void)ns;
	rn_broker_quotas_reload(arg);
}

static void collect(struct rn_buf *out, void *arg)
{
	(void)arg;
	if (quotas)
		rn_quotas_render(quotas, out, rn_mono_ms());
}

int rn_broker_quotas_start(struct rn_broker *b)
{
	int64_t num = rn_config_get_i64(b->cfg, "quota.window.num");
	int64_t size = rn_config_get_i64(b->cfg, "quota.window.size.seconds");
	quotas = rn_quotas_new((int)num, size * 1000);
	rn_broker_quotas_reload(b);
	rn_meta_sec_watch(b->meta, RN_QUOTA_NS, on_change, b);
	rn_metrics_register(collect, NULL);
	return 0;
}

void rn_broker_quotas_stop(struct rn_broker *b)
{
	(void)b;
	rn_metrics_unregister(collect, NULL);
	/* The store's watch may still fire: the manager stays until the process ends. */
}

const char *rn_quota_user(struct rn_ctx *ctx)
{
	const char *p = rn_ctx_session(ctx)->principal;
	if (strncmp(p, "User:", 5) == 0)
		p += 5;
	return rn_arena_strndup(&ctx->req->arena, p, strlen(p));
}

const char *rn_quota_client(struct rn_ctx *ctx)
{
	struct rn_str c = ctx->hdr.client_id;
	return rn_arena_strndup(&ctx->req->arena, c.len > 0 ? c.ptr : "",
				c.len > 0 ? (size_t)c.len : 0);
}

static int32_t throttle(struct rn_ctx *ctx, enum rn_quota_type t, double v)
{
	if (!quotas || !rn_quotas_enabled(quotas, t))
		return (int32_t)ctx->req->mute_ms;
	const char *u = rn_quota_user(ctx), *c = rn_quota_client(ctx);
	int64_t now = rn_mono_ms();
	int64_t ms = rn_quotas_record(quotas, t, u, c, v, now);
	if (ms > 0) {
		rn_quotas_note_throttle(quotas, t, u, c, ms, now);
		rn_debug("quota: %s of user %s client-id %s throttled %lld ms", rn_quota_key(t), u,
			 c, (long long)ms);
		rn_req_mute(ctx->req, ms);
	}
	int64_t m = ctx->req->mute_ms;
	return m > INT32_MAX ? INT32_MAX : (int32_t)m;
}

int32_t rn_quota_produce(struct rn_ctx *ctx)
{
	return throttle(ctx, RN_QUOTA_PRODUCE, (double)ctx->req->len);
}

int32_t rn_quota_fetch(struct rn_ctx *ctx, int64_t bytes, bool *drop)
{
	int32_t ms = throttle(ctx, RN_QUOTA_FETCH, (double)bytes);
	*drop = ms > 0;
	/* Kafka's KafkaApis: the data of a throttled fetch is not sent, so it is not counted. */
	if (ms > 0 && bytes > 0 && quotas && rn_quotas_enabled(quotas, RN_QUOTA_FETCH))
		rn_quotas_record(quotas, RN_QUOTA_FETCH, rn_quota_user(ctx), rn_quota_client(ctx),
				 -(double)bytes, rn_mono_ms());
	return ms;
}

struct limit_arg {
	const char *u, *c;
	double limit;
	bool found;
};

static void find_limit(const struct rn_quota_cfg *cfg, void *arg)
{
	struct limit_arg *a = arg;
	a->found = rn_quota_cfg_resolve(cfg, RN_QUOTA_FETCH, a->u, a->c, &a->limit, NULL);
}

int32_t rn_quota_fetch_max_bytes(struct rn_ctx *ctx)
{
	if (!quotas || !rn_quotas_enabled(quotas, RN_QUOTA_FETCH))
		return INT32_MAX;
	struct limit_arg a = {rn_quota_user(ctx), rn_quota_client(ctx), 0, false};
	rn_quotas_with_cfg(quotas, find_limit, &a);
	if (!a.found)
		return INT32_MAX;
	double cap = a.limit * (double)rn_quotas_window_ms(quotas) / 1000.0;
	if (cap < 1)
		cap = 1;
	return cap >= (double)INT32_MAX ? INT32_MAX : (int32_t)cap;
}

/* Requests Kafka never throttles on request_percentage: the handshake before authentication,
 * and replication (Kafka exempts cluster actions): a follower's Fetch, told by its replica id,
 * the body's first field up to v14 (Runnel's followers send v12; v15+ carry it in a tag and
 * are counted). */
static bool exempt(const struct rn_ctx *ctx)
{
	int16_t key = ctx->hdr.api_key;
	if (key == 17 || key == 18 || key == 36)
		return true;
	if (key != 1 || ctx->hdr.api_version >= 15 || ctx->rd.end - ctx->rd.p < 4)
		return false;
	const uint8_t *p = ctx->rd.p;
	int32_t replica_id =
	    (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
	return replica_id >= 0;
}

void rn_quota_request_begin(struct rn_ctx *ctx, struct rn_quota_req *tok)
{
	tok->user = tok->client = NULL;
	if (!quotas || !rn_quotas_enabled(quotas, RN_QUOTA_REQUEST) || exempt(ctx))
		return;
	const char *u = rn_quota_user(ctx), *c = rn_quota_client(ctx);
	int64_t now = rn_mono_ms();
	int64_t ms = rn_quotas_check(quotas, RN_QUOTA_REQUEST, u, c, now);
	if (ms > 0) {
		rn_quotas_note_throttle(quotas, RN_QUOTA_REQUEST, u, c, ms, now);
		rn_req_mute(ctx->req, ms);
	}
	tok->user = rn_strdup(u);
	tok->client = rn_strdup(c);
	tok->t0_us = rn_mono_us();
}

void rn_quota_request_end(struct rn_quota_req *tok)
{
	if (!tok->user)
		return;
	int64_t us = rn_mono_us() - tok->t0_us;
	/* Kafka's unit: 100 per second of one thread, so the rate is a percentage. */
	rn_quotas_record(quotas, RN_QUOTA_REQUEST, tok->user, tok->client, (double)us / 1e4,
			 rn_mono_ms());
	rn_free(tok->user);
	rn_free(tok->client);
	tok->user = tok->client = NULL;
}
