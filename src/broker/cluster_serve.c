/*
 * A cluster broker's start-up and shutdown steps (broker/cluster.h), which serve.c runs around
 * its single-broker sequence when metadata.store names etcd: the store and the replica manager
 * first, registration and the controller once the table is loaded, and on SIGTERM the
 * controlled shutdown before anything closes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker/cluster.h"
#include "broker/topics.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "replica/controller.h"

static void replica_cfg(struct rn_broker *b, struct rn_replica_cfg *rc)
{
	const struct rn_config *c = b->cfg;
	memset(rc, 0, sizeof(*rc));
	rc->node_id = b->node_id;
	const char *rack = rn_config_get(c, "broker.rack");
	snprintf(rc->rack, sizeof(rc->rack), "%s", rack ? rack : "");
	rc->lag_time_max_ms = rn_config_get_i64(c, "replica.lag.time.max.ms");
	rc->fetch_max_bytes = (int32_t)rn_config_get_i64(c, "replica.fetch.max.bytes");
	rc->fetch_response_max_bytes =
	    (int32_t)rn_config_get_i64(c, "replica.fetch.response.max.bytes");
	rc->fetch_min_bytes = (int32_t)rn_config_get_i64(c, "replica.fetch.min.bytes");
	rc->fetch_wait_max_ms = (int32_t)rn_config_get_i64(c, "replica.fetch.wait.max.ms");
	rc->fetch_backoff_ms = (int32_t)rn_config_get_i64(c, "replica.fetch.backoff.ms");
	rc->socket_timeout_ms = (int32_t)rn_config_get_i64(c, "replica.socket.timeout.ms");
	rc->num_fetchers = (int32_t)rn_config_get_i64(c, "num.replica.fetchers");
	/* Kafka's "no throttle" is Long.MAX_VALUE; the manager's is 0. */
	int64_t f = rn_config_get_i64(c, "follower.replication.throttled.rate");
	int64_t l = rn_config_get_i64(c, "leader.replication.throttled.rate");
	rc->follower_throttle_bps = f == INT64_MAX ? 0 : f;
	rc->leader_throttle_bps = l == INT64_MAX ? 0 : l;
	rc->min_insync_replicas = (int32_t)rn_config_get_i64(c, "min.insync.replicas");
}

static int register_self(struct rn_broker *b);
static bool g_registered;

/* etcd down or slow when a broker starts (a machine that reboots with the cluster, a loaded
 * one) is worth waiting for, as Kafka's broker waits for its controllers up to
 * initial.broker.registration.timeout.ms before it gives up. */
static int64_t registration_deadline(struct rn_broker *b)
{
	return rn_mono_ms() + rn_config_get_i64(b->cfg, "initial.broker.registration.timeout.ms");
}

static bool wait_for_etcd(int rc, int64_t deadline, bool *said, const char *what)
{
	if (rc != RN_EUNAVAILABLE || rn_mono_ms() > deadline)
		return false;
	if (!*said)
		rn_warn("%s: etcd does not answer; retrying until "
			"initial.broker.registration.timeout.ms runs out",
			what);
	*said = true;
	usleep(500 * 1000);
	return true;
}

int rn_cluster_open(struct rn_broker *b, const char *uri)
{
	int64_t deadline = registration_deadline(b);
	bool said = false;
	int rc;
	do
		rc = rn_meta_open_etcd(uri, b->log_dir, b->node_id, &b->meta);
	while (wait_for_etcd(rc, deadline, &said, "metadata.store"));
	if (rc < 0) {
		rn_error("metadata.store %s: %s", uri,
			 rc == -EINVAL
			     ? "cannot parse (want etcd://host:port[,host:port...][/prefix])"
			 : rc == RN_EUNAVAILABLE ? "no etcd endpoint answered"
						 : rn_strerror(rc));
		return rc;
	}
	b->clustered = true;
	struct rn_replica_cfg cfg;
	replica_cfg(b, &cfg);
	struct rn_replica_hooks hooks;
	rn_cluster_hooks(b, &hooks);
	rc = rn_replica_mgr_new(b->meta, &cfg, &hooks, &b->replica);
	if (rc < 0) {
		rn_error("cannot start the replica manager: %s", rn_strerror(rc));
		return rc;
	}
	/* First of all, so a duplicate node.id stops here before it touches anything, and so the
	 * live broker count is right when the internal topics are created at start-up. */
	rc = register_self(b);
	if (rc == RN_EEXIST) {
		rn_error("node.id %d is already used by a live broker of this cluster; refusing to "
			 "start (give every broker its own node.id)",
			 b->node_id);
		return rc;
	}
	if (rc < 0) {
		rn_error("cannot register broker %d in the metadata store: %s", b->node_id,
			 rn_strerror(rc));
		return rc;
	}
	g_registered = true;
	const char *rack = rn_config_get(b->cfg, "broker.rack");
	rn_info("broker %d registered as %s:%d%s%s", b->node_id, b->adv_host, b->adv_port,
		rack ? ", rack " : "", rack ? rack : "");
	return 0;
}

static bool unclean_enabled(void *arg, const char *topic)
{
	struct rn_broker *b = arg;
	bool v = rn_config_get_bool(b->cfg, "unclean.leader.election.enable");
	struct rn_topic *t = rn_topic_get(b, topic, strlen(topic));
	if (!t)
		return v;
	rn_topics_cfg_lock(false);
	for (int i = 0; i < t->nconfigs; i++)
		if (!strcmp(t->configs[i].key, "unclean.leader.election.enable"))
			v = !strcmp(t->configs[i].val, "true");
	rn_topics_cfg_unlock();
	rn_topic_put(b, t);
	return v;
}

/* A live registration of our node.id may be our own previous life (killed less than a session
 * ago): its lease expires within broker.session.timeout.ms. One still there after that belongs
 * to another running broker. */
static int register_self(struct rn_broker *b)
{
	struct rn_broker_reg self = {.id = b->node_id, .port = b->adv_port};
	snprintf(self.host, sizeof(self.host), "%s", b->adv_host);
	const char *rack = rn_config_get(b->cfg, "broker.rack");
	snprintf(self.rack, sizeof(self.rack), "%s", rack ? rack : "");
	int64_t session = rn_config_get_i64(b->cfg, "broker.session.timeout.ms");
	rn_meta_set_heartbeat_ms(b->meta,
				 rn_config_get_i64(b->cfg, "broker.heartbeat.interval.ms"));
	int64_t deadline = rn_mono_ms() + session + 1000, reachable = registration_deadline(b);
	bool said = false, said_down = false;
	for (;;) {
		int rc = rn_meta_register_broker(b->meta, &self, session);
		if (wait_for_etcd(rc, reachable, &said_down, "broker registration")) {
			deadline =
			    rn_mono_ms() + session + 1000; /* its old lease ran on meanwhile */
			continue;
		}
		if (rc != RN_EEXIST || rn_mono_ms() > deadline)
			return rc;
		if (!said)
			rn_warn("node.id %d is registered by a live session; waiting up to %lld ms "
				"in case it is this broker's previous one",
				b->node_id, (long long)(session + 1000));
		said = true;
		usleep(200 * 1000);
	}
}

int rn_cluster_join(struct rn_broker *b)
{
	const struct rn_config *c = b->cfg;
	struct rn_controller_cfg cc = {
	    .node_id = b->node_id,
	    .auto_rebalance = rn_config_get_bool(c, "auto.leader.rebalance.enable"),
	    .imbalance_check_ms =
		rn_config_get_i64(c, "leader.imbalance.check.interval.seconds") * 1000,
	    .imbalance_pct =
		(int32_t)rn_config_get_i64(c, "leader.imbalance.per.broker.percentage"),
	    .unclean_enabled = unclean_enabled,
	    .arg = b,
	};
	int rc = rn_controller_start(b->meta, &cc, &b->controller);
	if (rc < 0) {
		rn_error("cannot start the controller: %s", rn_strerror(rc));
		return rc;
	}
	return 0;
}

void rn_cluster_leave(struct rn_broker *b)
{
	const struct rn_config *c = b->cfg;
	if (b->controller && rn_config_get_bool(c, "controlled.shutdown.enable")) {
		/* Kafka tries max.retries times, retry.backoff.ms apart: the same budget. */
		int64_t budget = rn_config_get_i64(c, "controlled.shutdown.max.retries") *
				 rn_config_get_i64(c, "controlled.shutdown.retry.backoff.ms");
		int left = rn_controller_shutdown_broker(b->meta, b->node_id, budget);
		if (left > 0)
			rn_warn("controlled shutdown: %d partition(s) still led here after %lld ms",
				left, (long long)budget);
		else
			rn_info("controlled shutdown: leaderships moved to other brokers");
	}
	/* The table freezes before the fetchers stop: a state applied afterwards would start
	 * them again. */
	rn_cluster_stop(b);
	if (b->replica)
		rn_replica_mgr_stop_fetchers(b->replica);
	if (b->controller)
		rn_controller_stop(b->controller);
	b->controller = NULL;
	if (g_registered)
		rn_meta_unregister_broker(b->meta);
	g_registered = false;
}

void rn_cluster_free(struct rn_broker *b)
{
	if (g_registered) /* a start-up that failed after registering */
		rn_meta_unregister_broker(b->meta);
	g_registered = false;
	if (b->replica)
		rn_replica_mgr_free(b->replica);
	b->replica = NULL;
}
