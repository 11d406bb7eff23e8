/*
 * The broker's side of client quotas (auth/quota.h): one manager per process, loaded from the
 * metadata store's "quota" records and reloaded when they change, and the calls handlers make
 * to account a request and throttle its connection.
 *
 * Throttling is Kafka's (KIP-219): the response goes out at once carrying throttle_time_ms, and
 * the connection then reads nothing for that long (rn_req_mute); no error is ever returned.
 */
#ifndef RN_BROKER_QUOTAS_H
#define RN_BROKER_QUOTAS_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/quota.h"

struct rn_broker;
struct rn_ctx;

/* Creates the manager (quota.window.num, quota.window.size.seconds), loads the stored quotas
 * and watches them; also registers the /metrics collector. 0 or -errno. */
int rn_broker_quotas_start(struct rn_broker *b);
void rn_broker_quotas_stop(struct rn_broker *b);
/* The manager; NULL before start (then every call below is a no-op returning 0). */
struct rn_quotas *rn_broker_quotas(void);
/* Reads the store again (after an AlterClientQuotas, or from the store's watch). */
void rn_broker_quotas_reload(struct rn_broker *b);

/* The request's quota entity names: the principal's name without "User:" and the header's
 * client-id ("" when null), in the request arena. */
const char *rn_quota_user(struct rn_ctx *ctx);
const char *rn_quota_client(struct rn_ctx *ctx);

/* Produce: records the request's size against producer_byte_rate. Fetch: records the response's
 * record bytes against consumer_byte_rate. Both return the throttle time for the response's
 * throttle_time_ms (the larger of that and the request_percentage throttle found at dispatch),
 * and mute the connection for it once the response is written. A throttled Fetch answers
 * without its records (*drop), which are then not counted either, as Kafka's: the client asks
 * again for the same offsets after the throttle. */
int32_t rn_quota_produce(struct rn_ctx *ctx);
int32_t rn_quota_fetch(struct rn_ctx *ctx, int64_t bytes, bool *drop);
/* The most a Fetch may return under the client's consumer_byte_rate (one window's worth, as
 * Kafka's getMaxValueInQuotaWindow), INT32_MAX without a quota. */
int32_t rn_quota_fetch_max_bytes(struct rn_ctx *ctx);

/* Dispatch, around every handler: begin checks request_percentage (a throttle then mutes the
 * connection after this response) and returns a token; end records the handler's time. end
 * runs after the handler returned, when ctx may be gone: it uses only the token. */
struct rn_quota_req {
	char *user, *client; /* owned, NULL when request quotas are off */
	int64_t t0_us;
};
void rn_quota_request_begin(struct rn_ctx *ctx, struct rn_quota_req *tok);
void rn_quota_request_end(struct rn_quota_req *tok);

#endif
