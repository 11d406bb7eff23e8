/*
 * Client quotas, Kafka's model (ClientQuotaManager with the default quota callback):
 *
 *  - Three quota types, each its own manager: producer_byte_rate (bytes/s of Produce requests),
 *    consumer_byte_rate (bytes/s of Fetch responses) and request_percentage (handler time, as a
 *    percentage of one thread).
 *  - Quotas are configured on entities: a user, a client-id, or both, each part either a name
 *    or the <default> of its kind. For a request from (user, client-id) and one quota type the
 *    first configured entity in this order wins (Kafka's precedence):
 *        1 users/U/clients/C        5 users/<default>/clients/<default>
 *        2 users/U/clients/<default> 6 users/<default>
 *        3 users/U                  7 clients/C
 *        4 users/<default>/clients/C 8 clients/<default>
 *    The level also decides who shares the measured rate: levels 1, 2, 4, 5 give one sensor
 *    per (user, client-id), 3 and 6 one per user (all its client-ids together), 7 and 8 one per
 *    client-id (all its users together), as Kafka's metric tags.
 *  - A rate is Kafka's Rate over a SampledStat: quota.window.num samples of
 *    quota.window.size.seconds, the rate is the samples' sum over the elapsed time since the
 *    oldest sample, but at least (num - 1) windows. A value is recorded first, then checked;
 *    over the quota the throttle time is (rate - quota) / quota * that elapsed time, capped at
 *    num * size for byte rates and at one window for request_percentage (Kafka's caps).
 *
 * Names: the user is the principal's name without "User:" ("alice", "ANONYMOUS"), the client-id
 * the request header's. Thread-safe: one mutex per rn_quotas.
 */
#ifndef RN_AUTH_QUOTA_H
#define RN_AUTH_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rn_buf;

enum rn_quota_type {
	RN_QUOTA_PRODUCE = 0, /* producer_byte_rate */
	RN_QUOTA_FETCH = 1,   /* consumer_byte_rate */
	RN_QUOTA_REQUEST = 2, /* request_percentage */
	RN_QUOTA_NTYPES = 3,
};

/* "producer_byte_rate", "consumer_byte_rate", "request_percentage"; parse gives -1 if unknown. */
const char *rn_quota_key(enum rn_quota_type t);
int rn_quota_key_parse(const char *key, size_t len);

/* One part of an entity: absent, the <default> of its kind, or a name. */
enum rn_quota_part {
	RN_QP_NONE = 0,
	RN_QP_DEFAULT = 1,
	RN_QP_NAME = 2,
};

/* An entity; the names are borrowed (NUL-terminated), used only when the kind is RN_QP_NAME. */
struct rn_quota_entity {
	enum rn_quota_part user_kind, client_kind;
	const char *user, *client;
};

/* The configured quotas: an owned list of entities with their values. */
struct rn_quota_cfg;

/* An empty configuration; the caller owns it (rn_quota_cfg_free). Never fails (OOM aborts). */
struct rn_quota_cfg *rn_quota_cfg_new(void);
void rn_quota_cfg_free(struct rn_quota_cfg *c);
/* Sets (remove false) or removes one value of entity e; copies the names. An entity left with
 * no value is dropped. RN_EINVALID for an entity with neither part. */
int rn_quota_cfg_set(struct rn_quota_cfg *c, const struct rn_quota_entity *e, enum rn_quota_type t,
		     double v, bool remove);
/* The value of type t configured on exactly e; false if none. */
bool rn_quota_cfg_get(const struct rn_quota_cfg *c, const struct rn_quota_entity *e,
		      enum rn_quota_type t, double *v);
/* Calls cb for every entity with at least one value; has[t] tells which values are set. */
void rn_quota_cfg_foreach(const struct rn_quota_cfg *c,
			  void (*cb)(const struct rn_quota_entity *e,
				     const bool has[RN_QUOTA_NTYPES],
				     const double val[RN_QUOTA_NTYPES], void *arg),
			  void *arg);

/* The quota of type t that applies to (user, client) and the precedence level (1..8) of the
 * entity it came from; false (level 0) when none applies. */
bool rn_quota_cfg_resolve(const struct rn_quota_cfg *c, enum rn_quota_type t, const char *user,
			  const char *client, double *limit, int *level);

/* A quota manager: the configuration plus the measured rates (sensors). */
struct rn_quotas;

/* num samples of size_ms each (quota.window.num, quota.window.size.seconds * 1000). The caller
 * owns the result (rn_quotas_free). Never fails (OOM aborts). */
struct rn_quotas *rn_quotas_new(int num, int64_t size_ms);
void rn_quotas_free(struct rn_quotas *q);
/* Replaces the configuration; takes ownership of cfg. Sensors keep their history and are
 * checked against the new quotas from the next record on (Kafka updates their bounds). */
void rn_quotas_swap_cfg(struct rn_quotas *q, struct rn_quota_cfg *cfg);
/* Runs cb with the current configuration under q's lock (cb must not call q). */
void rn_quotas_with_cfg(struct rn_quotas *q, void (*cb)(const struct rn_quota_cfg *c, void *arg),
			void *arg);
/* How many sensors exist. Sensors idle for an hour go (Kafka's inactive sensor expiry), and at
 * most 50000 exist (the least recently used goes first). */
int rn_quotas_sensors(struct rn_quotas *q);
/* quota.window.size.seconds in ms. */
int64_t rn_quotas_window_ms(const struct rn_quotas *q);
/* True if any quota of type t is configured (a fast path for the unconfigured broker). */
bool rn_quotas_enabled(struct rn_quotas *q, enum rn_quota_type t);

/* Records v (bytes for the byte rates, percent-ms of handler time for request_percentage:
 * 1 ms of one thread = 0.1) for (user, client) at now_ms and returns the throttle time in ms:
 * 0 when within the quota or when no quota applies (then nothing is recorded). */
int64_t rn_quotas_record(struct rn_quotas *q, enum rn_quota_type t, const char *user,
			 const char *client, double v, int64_t now_ms);
/* The throttle time a zero-valued record would give now (nothing is recorded). */
int64_t rn_quotas_check(struct rn_quotas *q, enum rn_quota_type t, const char *user,
			const char *client, int64_t now_ms);
/* Notes that a response of type t for (user, client) was throttled for ms (the throttle-time
 * metrics: avg and max over the window). */
void rn_quotas_note_throttle(struct rn_quotas *q, enum rn_quota_type t, const char *user,
			     const char *client, int64_t ms, int64_t now_ms);

/* The measured rate of the sensor (user, client) resolves to (bytes/s, or percent); -1 if none
 * exists. For tests and metrics. */
double rn_quotas_rate(struct rn_quotas *q, enum rn_quota_type t, const char *user,
		      const char *client, int64_t now_ms);

/* Appends the Prometheus text of every sensor (Kafka's names: kafka_server_produce_byte_rate,
 * kafka_server_produce_throttle_time_avg / _max, the same for fetch, and
 * kafka_server_request_request_time, kafka_server_request_throttle_time_avg / _max). */
void rn_quotas_render(struct rn_quotas *q, struct rn_buf *out, int64_t now_ms);

#endif
