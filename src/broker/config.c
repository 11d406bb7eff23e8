#include "broker/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/config_compat.h"
#include "core/alloc.h"
#include "core/log.h"

#define LMAX "9223372036854775807"

static const struct rn_cfg_def defs[] = {
    {"listeners", RN_CFG_LIST, "PLAINTEXT://127.0.0.1:9092", 0,
     "where the Kafka listeners bind: NAME://host:port,... (NAME in "
     "listener.security.protocol.map)",
     false},
    {"advertised.listeners", RN_CFG_LIST, NULL, 0,
     "NAME://host:port per listener given to clients in Metadata (default: listeners)", false},
    {"admin.listener", RN_CFG_STRING, "127.0.0.1:9644", 0,
     "host:port of the HTTP listener for /metrics and /health (empty = off)", false},
    {"log.dirs", RN_CFG_LIST, NULL, 0, "directory holding the log data (one directory)", false},
    {"log.dir", RN_CFG_STRING, "./runnel-data", 0, "used when log.dirs is not set", false},
    {"node.id", RN_CFG_INT, "1", 0, "this broker's id", false},
    {"metadata.store", RN_CFG_STRING, "embedded", 0,
     "embedded (one broker, metadata in log.dirs) or etcd://host:port[,host:port...][/prefix] "
     "(a cluster whose metadata lives in etcd under prefix, default /runnel)",
     false},
    {"leader.replication.throttled.rate", RN_CFG_LONG, "9223372036854775807", 0,
     "bytes/s a leader sends to reassignment followers (leader.replication.throttled.replicas)",
     false},
    {"follower.replication.throttled.rate", RN_CFG_LONG, "9223372036854775807", 0,
     "bytes/s a reassignment follower fetches (follower.replication.throttled.replicas)", false},
    {"broker.id", RN_CFG_INT, NULL, -1, "legacy name of node.id", false},
    {"num.partitions", RN_CFG_INT, "1", 1, "partitions of auto-created topics", false},
    {"default.replication.factor", RN_CFG_INT, "1", 1, "replication factor of new topics", false},
    {"auto.create.topics.enable", RN_CFG_BOOL, "true", 0,
     "create unknown topics on Metadata/Produce", false},
    {"delete.topic.enable", RN_CFG_BOOL, "true", 0, "allow DeleteTopics", false},
    {"log.segment.bytes", RN_CFG_INT, "1073741824", 14, "segment size before a roll", false},
    {"log.roll.ms", RN_CFG_LONG, NULL, 1, "segment age before a roll", false},
    {"log.roll.hours", RN_CFG_INT, "168", 1, "segment age before a roll (hours)", false},
    {"log.retention.ms", RN_CFG_LONG, NULL, -1, "delete segments older than this", false},
    {"log.retention.minutes", RN_CFG_INT, NULL, -1, "retention in minutes", false},
    {"log.retention.hours", RN_CFG_INT, "168", -1, "retention in hours", false},
    {"log.retention.bytes", RN_CFG_LONG, "-1", -1, "max partition size before deletion", false},
    {"log.retention.check.interval.ms", RN_CFG_LONG, "300000", 1, "how often retention runs",
     false},
    {"log.flush.interval.messages", RN_CFG_LONG, LMAX, 1,
     "fdatasync once this many messages are unflushed; 1 = every ack is on disk", false},
    {"log.flush.interval.ms", RN_CFG_LONG, NULL, 0, "max time data stays unflushed", false},
    {"log.flush.scheduler.interval.ms", RN_CFG_LONG, LMAX, 0, "fallback of flush.ms", false},
    {"log.index.interval.bytes", RN_CFG_INT, "4096", 0, "bytes between index entries", false},
    {"log.index.size.max.bytes", RN_CFG_INT, "10485760", 4096, "max size of an index file", false},
    {"log.message.timestamp.type", RN_CFG_STRING, "CreateTime", 0, "CreateTime or LogAppendTime",
     false},
    {"log.cleanup.policy", RN_CFG_LIST, "delete", 0, "delete or compact", false},
    {"message.max.bytes", RN_CFG_INT, "1048588", 0, "largest record batch accepted", false},
    {"socket.request.max.bytes", RN_CFG_INT, "104857600", 1,
     "largest request frame; larger frames close the connection", false},
    {"num.network.threads", RN_CFG_INT, "0", 0, "event loop threads (0 = one per core)", false},
    {"compression.type", RN_CFG_STRING, "producer", 0, "topic default compression", false},
    {"min.insync.replicas", RN_CFG_INT, "1", 1, "min in-sync replicas for acks=all", false},
    {"unclean.leader.election.enable", RN_CFG_BOOL, "false", 0, "", false},
    {"log.cleaner.enable", RN_CFG_BOOL, "true", 0, "run the log cleaner for compacted topics",
     false},
    {"log.cleaner.threads", RN_CFG_INT, "1", 1, "log cleaner threads", false},
    {"log.cleaner.dedupe.buffer.size", RN_CFG_LONG, "134217728", 0,
     "memory of the cleaner's offset map, over all cleaner threads", false},
    {"log.cleaner.io.buffer.size", RN_CFG_INT, "524288", 0, "cleaner read/write buffer memory",
     false},
    {"log.cleaner.io.buffer.load.factor", RN_CFG_DOUBLE, "0.9", 0,
     "how full the cleaner's offset map may get", false},
    {"log.cleaner.io.max.bytes.per.second", RN_CFG_DOUBLE, "1.7976931348623157E308", 0,
     "cleaner I/O throttle (read plus write)", false},
    {"log.cleaner.backoff.ms", RN_CFG_LONG, "15000", 0,
     "cleaner sleep when there is nothing to clean", false},
    {"log.cleaner.delete.retention.ms", RN_CFG_LONG, "86400000", 0, "", false},
    {"log.cleaner.min.compaction.lag.ms", RN_CFG_LONG, "0", 0, "", false},
    {"log.cleaner.max.compaction.lag.ms", RN_CFG_LONG, LMAX, 1, "", false},
    {"log.cleaner.min.cleanable.ratio", RN_CFG_DOUBLE, "0.5", 0, "", false},
    {"log.segment.delete.delay.ms", RN_CFG_LONG, "60000", 0, "", false},
    {"log.preallocate", RN_CFG_BOOL, "false", 0, "", false},
    {"log.roll.jitter.ms", RN_CFG_LONG, "0", 0, "", false},
    {"log.message.timestamp.difference.max.ms", RN_CFG_LONG, LMAX, 0, "", false},
    {"log.message.downconversion.enable", RN_CFG_BOOL, "true", 0, "", false},
    {"log.message.timestamp.before.max.ms", RN_CFG_LONG, LMAX, 0,
     "largest age of a record's create time (not enforced by runnel)", true},
    {"log.message.timestamp.after.max.ms", RN_CFG_LONG, LMAX, 0,
     "largest lead of a record's create time over the broker's clock (not enforced)", true},
    {"log.message.format.version", RN_CFG_STRING, "3.0-IV1", 0,
     "ignored since Kafka 3.0: batches are always magic 2", true},
    {"log.local.retention.ms", RN_CFG_LONG, "-2", -2, "tiered storage (not in runnel)", true},
    {"log.local.retention.bytes", RN_CFG_LONG, "-2", -2, "tiered storage (not in runnel)", true},
    {"log.level", RN_CFG_STRING, "info", 0, "debug, info, warn or error", false},
    {"group.initial.rebalance.delay.ms", RN_CFG_INT, "3000", 0,
     "wait this long for more members before the first rebalance of an empty group", false},
    {"group.min.session.timeout.ms", RN_CFG_INT, "6000", 1, "smallest session.timeout.ms accepted",
     false},
    {"group.max.session.timeout.ms", RN_CFG_INT, "1800000", 1,
     "largest session.timeout.ms accepted", false},
    {"group.max.size", RN_CFG_INT, "2147483647", 1, "members per consumer group", false},
    {"offsets.topic.num.partitions", RN_CFG_INT, "50", 1,
     "partitions of __consumer_offsets (used when it is created)", false},
    {"offsets.topic.segment.bytes", RN_CFG_INT, "104857600", 14,
     "segment size of __consumer_offsets (compacted; the cleaner never touches the active segment)",
     false},
    {"offsets.retention.minutes", RN_CFG_INT, "10080", 1,
     "committed offsets of an empty group expire after this long", false},
    {"offsets.retention.check.interval.ms", RN_CFG_LONG, "600000", 1,
     "how often expired offsets are removed", false},
    {"offset.metadata.max.bytes", RN_CFG_INT, "4096", 0, "largest offset commit metadata", false},
    {"runnel.metrics.max.group.series", RN_CFG_INT, "10000", 0,
     "cap on consumer lag series (group, topic, partition) on /metrics", false},
    {"producer.id.expiration.ms", RN_CFG_LONG, "86400000", 1,
     "forget an idempotent producer's sequence state after this long without a write", false},
    {"transaction.max.timeout.ms", RN_CFG_INT, "900000", 1,
     "largest transaction.timeout.ms a producer may ask for", false},
    {"transaction.state.log.num.partitions", RN_CFG_INT, "50", 1,
     "partitions of __transaction_state (used when it is created)", false},
    {"transaction.state.log.segment.bytes", RN_CFG_INT, "104857600", 14,
     "segment size of __transaction_state (compacted; the cleaner never touches the active "
     "segment)",
     false},
    {"transactional.id.expiration.ms", RN_CFG_LONG, "604800000", 1,
     "forget a transactional id after this long without a transaction", false},
    {"transaction.abort.timed.out.transaction.cleanup.interval.ms", RN_CFG_LONG, "10000", 1,
     "how often transactions past their timeout are looked for and aborted", false},
    /* Kafka keys with no meaning for one Runnel node. */
    {"process.roles", RN_CFG_LIST, NULL, 0, "", true},
    {"controller.quorum.voters", RN_CFG_LIST, NULL, 0, "", true},
    {"controller.quorum.bootstrap.servers", RN_CFG_LIST, NULL, 0, "", true},
    {"controller.listener.names", RN_CFG_LIST, NULL, 0, "", true},
    {"inter.broker.listener.name", RN_CFG_STRING, NULL, 0,
     "listener other brokers connect to (default: the first of listeners)", false},
    {"listener.security.protocol.map", RN_CFG_LIST,
     "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", 0,
     "listener name -> security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)", false},
    {"num.io.threads", RN_CFG_INT, "8", 0, "", true},
    {"num.recovery.threads.per.data.dir", RN_CFG_INT, "1", 0, "", true},
    {"socket.send.buffer.bytes", RN_CFG_INT, "102400", -1, "", true},
    {"socket.receive.buffer.bytes", RN_CFG_INT, "102400", -1, "", true},
    {"offsets.topic.replication.factor", RN_CFG_INT, "3", 0,
     "replication factor of __consumer_offsets in a cluster (capped at the live brokers on one)",
     false},
    {"transaction.state.log.replication.factor", RN_CFG_INT, "3", 0,
     "replication factor of __transaction_state in a cluster", false},
    {"transaction.state.log.min.isr", RN_CFG_INT, "2", 0,
     "min.insync.replicas of __transaction_state in a cluster", false},
    {"zookeeper.connect", RN_CFG_STRING, NULL, 0, "", true},
    {"zookeeper.connection.timeout.ms", RN_CFG_INT, NULL, 0, "", true},
    /* Common keys of Kafka's shipped and production server.properties, Kafka's defaults.
     * Security keys first (ssl.*, sasl.*, listener.name.* are families: config_compat.c). */
    {"security.inter.broker.protocol", RN_CFG_STRING, "PLAINTEXT", 0,
     "protocol of the inter-broker listener when inter.broker.listener.name is not set", false},
    {"security.providers", RN_CFG_STRING, NULL, 0, "", true},
    {"authorizer.class.name", RN_CFG_STRING, "", 0,
     "ACLs are enforced when set to one of Kafka's standard authorizers (AclAuthorizer, "
     "StandardAuthorizer, SimpleAclAuthorizer); empty: no authorizer",
     false},
    {"super.users", RN_CFG_STRING, NULL, 0,
     "principals allowed everything, ';'-separated (User:admin;User:ops)", false},
    {"allow.everyone.if.no.acl.found", RN_CFG_BOOL, "false", 0,
     "allow a resource that has no ACL at all to everyone", false},
    {"authorizer.audit.log.file", RN_CFG_STRING, NULL, 0,
     "Runnel: also append audit lines (denials, ACL changes) to this file", false},
    {"principal.builder.class", RN_CFG_STRING,
     "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder", 0, "", true},
    {"connections.max.reauth.ms", RN_CFG_LONG, "0", 0,
     "SASL sessions expire after this long unless the client re-authenticates (0 = never)", false},
    {"sasl.enabled.mechanisms", RN_CFG_LIST, "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512", 0,
     "SASL mechanisms of SASL listeners (Kafka's default GSSAPI is not available; names runnel "
     "lacks are ignored with a warning)",
     false},
    {"zookeeper.set.acl", RN_CFG_BOOL, "false", 0, "", true},
    {"zookeeper.session.timeout.ms", RN_CFG_INT, "18000", 0, "", true},
    {"zookeeper.max.in.flight.requests", RN_CFG_INT, "10", 1, "", true},
    {"zookeeper.clientCnxnSocket", RN_CFG_STRING, NULL, 0, "", true},
    {"ssl.reload.check.interval.ms", RN_CFG_LONG, "30000", 0,
     "how often TLS certificate, key and truststore files are re-checked besides inotify "
     "(0 = inotify only)",
     false},
    {"zookeeper.metadata.migration.enable", RN_CFG_BOOL, "false", 0, "", true},
    {"inter.broker.protocol.version", RN_CFG_STRING, "3.7-IV4", 0, "", true},
    {"broker.rack", RN_CFG_STRING, NULL, 0,
     "rack of this broker: rack-aware placement, KIP-392 follower fetching", false},
    {"reserved.broker.max.id", RN_CFG_INT, "1000", 0, "", true},
    {"broker.id.generation.enable", RN_CFG_BOOL, "true", 0, "", true},
    {"auto.leader.rebalance.enable", RN_CFG_BOOL, "true", 0,
     "controller moves leadership back to preferred replicas", false},
    {"leader.imbalance.check.interval.seconds", RN_CFG_LONG, "300", 1,
     "how often the controller checks preferred leaders", false},
    {"leader.imbalance.per.broker.percentage", RN_CFG_INT, "10", 0,
     "imbalance per broker above which leaders are moved", false},
    {"replica.lag.time.max.ms", RN_CFG_LONG, "30000", 0,
     "a follower not caught up for this long leaves the ISR", false},
    {"replica.fetch.max.bytes", RN_CFG_INT, "1048576", 0,
     "bytes per partition a follower fetches at most", false},
    {"replica.fetch.min.bytes", RN_CFG_INT, "1", 0, "bytes a follower's fetch waits for", false},
    {"replica.fetch.wait.max.ms", RN_CFG_INT, "500", 0,
     "longest a follower's fetch waits at the leader", false},
    {"replica.fetch.backoff.ms", RN_CFG_INT, "1000", 0, "pause after a failed follower fetch",
     false},
    {"replica.fetch.response.max.bytes", RN_CFG_INT, "10485760", 0,
     "bytes a follower fetch response carries at most", false},
    {"replica.socket.timeout.ms", RN_CFG_INT, "30000", 0, "timeout of inter-broker requests",
     false},
    {"replica.socket.receive.buffer.bytes", RN_CFG_INT, "65536", 0, "", true},
    {"replica.high.watermark.checkpoint.interval.ms", RN_CFG_LONG, "5000", 1,
     "how often a cluster broker checkpoints high watermarks (and recovery points)", false},
    {"replica.selector.class", RN_CFG_STRING, NULL, 0,
     "KIP-392: org.apache.kafka.common.replica.RackAwareReplicaSelector lets consumers fetch from "
     "a replica in their rack",
     false},
    {"num.replica.fetchers", RN_CFG_INT, "1", 0, "fetcher threads per source broker", false},
    {"num.replica.alter.log.dirs.threads", RN_CFG_INT, NULL, 0, "", true},
    {"controlled.shutdown.enable", RN_CFG_BOOL, "true", 0,
     "on SIGTERM, move leaderships away before exiting", false},
    {"controlled.shutdown.max.retries", RN_CFG_INT, "3", 0, "attempts of a controlled shutdown",
     false},
    {"controlled.shutdown.retry.backoff.ms", RN_CFG_LONG, "5000", 0,
     "pause between controlled shutdown attempts", false},
    {"controller.socket.timeout.ms", RN_CFG_INT, "30000", 0, "", true},
    {"queued.max.requests", RN_CFG_INT, "500", 1, "", true},
    {"queued.max.request.bytes", RN_CFG_LONG, "-1", -1, "", true},
    {"background.threads", RN_CFG_INT, "10", 1, "", true},
    {"connections.max.idle.ms", RN_CFG_LONG, "600000", -1, "", true},
    {"max.connections", RN_CFG_INT, "2147483647", 0, "", true},
    {"max.connections.per.ip", RN_CFG_INT, "2147483647", 0, "", true},
    {"max.connections.per.ip.overrides", RN_CFG_STRING, "", 0, "", true},
    {"max.connection.creation.rate", RN_CFG_INT, "2147483647", 0, "", true},
    {"socket.listen.backlog.size", RN_CFG_INT, "50", 1, "", true},
    {"fetch.max.bytes", RN_CFG_INT, "57671680", 1024, "", true},
    {"request.timeout.ms", RN_CFG_INT, "30000", 0, "", true},
    {"quota.window.num", RN_CFG_INT, "11", 1,
     "samples client quota rates are measured over (producer_byte_rate, consumer_byte_rate, "
     "request_percentage)",
     false},
    {"quota.window.size.seconds", RN_CFG_INT, "1", 1, "length of one client quota sample", false},
    {"replication.quota.window.num", RN_CFG_INT, "11", 1, "", true},
    {"replication.quota.window.size.seconds", RN_CFG_INT, "1", 1, "", true},
    {"client.quota.callback.class", RN_CFG_STRING, NULL, 0, "", true},
    {"create.topic.policy.class.name", RN_CFG_STRING, NULL, 0, "", true},
    {"alter.config.policy.class.name", RN_CFG_STRING, NULL, 0, "", true},
    {"metric.reporters", RN_CFG_LIST, "", 0, "", true},
    {"metrics.num.samples", RN_CFG_INT, "2", 1, "", true},
    {"metrics.sample.window.ms", RN_CFG_LONG, "30000", 1, "", true},
    {"metrics.recording.level", RN_CFG_STRING, "INFO", 0, "", true},
    {"kafka.metrics.reporters", RN_CFG_LIST, "", 0, "", true},
    {"kafka.metrics.polling.interval.secs", RN_CFG_INT, "10", 1, "", true},
    {"auto.include.jmx.reporter", RN_CFG_BOOL, "true", 0, "", true},
    {"log.flush.offset.checkpoint.interval.ms", RN_CFG_INT, "60000", 0, "", true},
    {"log.flush.start.offset.checkpoint.interval.ms", RN_CFG_INT, "60000", 0, "", true},
    {"offsets.load.buffer.size", RN_CFG_INT, "5242880", 1, "", true},
    {"offsets.commit.timeout.ms", RN_CFG_INT, "5000", 1, "", true},
    {"offsets.commit.required.acks", RN_CFG_INT, "-1", -1, "", true},
    {"offsets.topic.compression.codec", RN_CFG_INT, "0", 0, "", true},
    {"transaction.state.log.load.buffer.size", RN_CFG_INT, "5242880", 1, "", true},
    {"transaction.remove.expired.transaction.cleanup.interval.ms", RN_CFG_INT, "3600000", 1, "",
     true},
    {"fetch.purgatory.purge.interval.requests", RN_CFG_INT, "1000", 0, "", true},
    {"producer.purgatory.purge.interval.requests", RN_CFG_INT, "1000", 0, "", true},
    {"delete.records.purgatory.purge.interval.requests", RN_CFG_INT, "1", 0, "", true},
    {"metadata.log.dir", RN_CFG_STRING, NULL, 0, "", true},
    {"metadata.log.segment.bytes", RN_CFG_INT, "1073741824", 0, "", true},
    {"metadata.max.retention.bytes", RN_CFG_LONG, "104857600", -1, "", true},
    {"metadata.max.retention.ms", RN_CFG_LONG, "604800000", -1, "", true},
    {"controller.quorum.election.timeout.ms", RN_CFG_INT, "1000", 0, "", true},
    {"controller.quorum.fetch.timeout.ms", RN_CFG_INT, "2000", 0, "", true},
    {"broker.heartbeat.interval.ms", RN_CFG_INT, "500", 0,
     "how often the broker's lease is kept alive", false},
    {"broker.session.timeout.ms", RN_CFG_INT, "2000", 0,
     "lease TTL of the broker's registration in etcd: a broker silent this long loses its "
     "leaderships",
     false},
    {"initial.broker.registration.timeout.ms", RN_CFG_INT, "60000", 0,
     "how long a starting broker keeps trying to reach etcd and register before it gives up",
     false},
    {"remote.log.storage.system.enable", RN_CFG_BOOL, "false", 0, "", true},
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))

/*
 * Four layers per key, highest first, as Kafka's DynamicBrokerConfig: the per-broker dynamic
 * value (resource "<node id>"), the cluster-wide dynamic default (resource ""), the static value
 * (server.properties or --set), the built-in default. eff[] points at the winner and is read
 * without a lock from any thread; a replaced string is retired, never freed before the config,
 * so a pointer handed out by rn_config_get stays valid. Writers are serialised by the caller.
 */
struct rn_config {
	char *vals[NDEFS];           /* static or built-in default */
	bool set[NDEFS];             /* vals[] came from the file or --set */
	char *_Atomic dyn[2][NDEFS]; /* read by describe on other threads while an alter runs */
	char *_Atomic eff[NDEFS];
	char **retired;
	size_t nretired;
	/* Keys of the prefix families (ssl.*, sasl.*, listener.name.* ...: config_compat.c), as
	 * set from the file or --set; read back with rn_config_get. Start-up only. */
	char **fam_keys, **fam_vals;
	size_t nfam;
};

/* The keys Kafka's DynamicBrokerConfig lets AlterConfigs change, among those runnel has:
 * every log.* topic-config synonym (DynamicLogConfig), the cleaner's (LogCleaner) and
 * producer.id.expiration.ms. Kafka's num.network.threads is dynamic too, but runnel's event
 * loops are fixed at start-up, so it stays read-only here. */
static const char *const dynamic_keys[] = {
    "log.segment.bytes",
    "log.roll.ms",
    "log.roll.jitter.ms",
    "log.index.size.max.bytes",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "log.retention.bytes",
    "log.retention.ms",
    "message.max.bytes",
    "log.index.interval.bytes",
    "log.cleaner.delete.retention.ms",
    "log.cleaner.min.compaction.lag.ms",
    "log.cleaner.max.compaction.lag.ms",
    "log.segment.delete.delay.ms",
    "log.cleaner.min.cleanable.ratio",
    "log.cleanup.policy",
    "unclean.leader.election.enable",
    "min.insync.replicas",
    "compression.type",
    "log.preallocate",
    "log.message.timestamp.type",
    "log.message.timestamp.difference.max.ms",
    "log.message.timestamp.before.max.ms",
    "log.message.timestamp.after.max.ms",
    "log.message.downconversion.enable",
    "log.local.retention.ms",
    "log.local.retention.bytes",
    "log.cleaner.threads",
    "log.cleaner.dedupe.buffer.size",
    "log.cleaner.io.buffer.load.factor",
    "log.cleaner.io.buffer.size",
    "log.cleaner.io.max.bytes.per.second",
    "log.cleaner.backoff.ms",
    "producer.id.expiration.ms",
    NULL,
};

bool rn_config_is_dynamic(const char *key)
{
	for (const char *const *k = dynamic_keys; *k; k++)
		if (strcmp(*k, key) == 0)
			return true;
	return false;
}

const struct rn_cfg_def *rn_config_defs(size_t *n)
{
	*n = NDEFS;
	return defs;
}

static int find(const char *key)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (strcmp(defs[i].name, key) == 0)
			return (int)i;
	return -1;
}

const struct rn_cfg_def *rn_config_def(const char *key)
{
	int i = find(key);
	return i < 0 ? NULL : &defs[i];
}

struct rn_config *rn_config_new(void)
{
	struct rn_config *c = rn_calloc(1, sizeof(*c));
	for (size_t i = 0; i < NDEFS; i++) {
		c->vals[i] = defs[i].def ? rn_strdup(defs[i].def) : NULL;
		atomic_store(&c->eff[i], c->vals[i]);
	}
	return c;
}

void rn_config_free(struct rn_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NDEFS; i++) {
		rn_free(c->vals[i]);
		rn_free(atomic_load(&c->dyn[0][i]));
		rn_free(atomic_load(&c->dyn[1][i]));
	}
	for (size_t i = 0; i < c->nretired; i++)
		rn_free(c->retired[i]);
	rn_free(c->retired);
	for (size_t i = 0; i < c->nfam; i++) {
		rn_free(c->fam_keys[i]);
		rn_free(c->fam_vals[i]);
	}
	rn_free(c->fam_keys);
	rn_free(c->fam_vals);
	rn_free(c);
}

static void retire(struct rn_config *c, char *s)
{
	if (!s)
		return;
	c->retired = rn_realloc(c->retired, (c->nretired + 1) * sizeof(*c->retired));
	c->retired[c->nretired++] = s;
}

static void update_eff(struct rn_config *c, int i)
{
	char *v = atomic_load(&c->dyn[RN_CFG_DYN_BROKER][i]);
	if (!v)
		v = atomic_load(&c->dyn[RN_CFG_DYN_DEFAULT][i]);
	if (!v)
		v = c->vals[i];
	atomic_store(&c->eff[i], v);
}

int rn_cfg_parse_i64(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int rn_cfg_parse_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "true") == 0)
		*out = true;
	else if (strcasecmp(s, "false") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int validate(const struct rn_cfg_def *d, const char *val, char *err, size_t errlen)
{
	int64_t v;
	bool b;
	switch (d->type) {
	case RN_CFG_INT:
	case RN_CFG_LONG:
		if (rn_cfg_parse_i64(val, &v) < 0 ||
		    (d->type == RN_CFG_INT && (v > INT32_MAX || v < INT32_MIN))) {
			snprintf(err, errlen, "%s: '%s' is not a valid %s", d->name, val,
				 d->type == RN_CFG_INT ? "int" : "long");
			return -EINVAL;
		}
		if (v < d->min) {
			snprintf(err, errlen, "%s: %s is below the minimum %" PRId64, d->name, val,
				 d->min);
			return -EINVAL;
		}
		return 0;
	case RN_CFG_BOOL:
		if (rn_cfg_parse_bool(val, &b) < 0) {
			snprintf(err, errlen, "%s: '%s' is not true or false", d->name, val);
			return -EINVAL;
		}
		return 0;
	case RN_CFG_DOUBLE: {
		char *end;
		strtod(val, &end);
		if (end == val || *end) {
			snprintf(err, errlen, "%s: '%s' is not a number", d->name, val);
			return -EINVAL;
		}
		return 0;
	}
	default: break;
	}
	if (strcmp(d->name, "log.message.timestamp.type") == 0 && strcmp(val, "CreateTime") &&
	    strcmp(val, "LogAppendTime")) {
		snprintf(err, errlen, "%s: '%s' is not CreateTime or LogAppendTime", d->name, val);
		return -EINVAL;
	}
	if (strcmp(d->name, "compression.type") == 0 && !rn_cfg_codec_valid(val)) {
		snprintf(err, errlen,
			 "%s: '%s' is not one of producer, uncompressed, gzip, snappy, lz4, zstd",
			 d->name, val);
		return -EINVAL;
	}
	if (strcmp(d->name, "log.cleanup.policy") == 0 && !rn_cfg_policy_valid(val)) {
		snprintf(err, errlen, "%s: '%s' is not a list of compact and delete", d->name, val);
		return -EINVAL;
	}
	return 0;
}

bool rn_cfg_codec_valid(const char *v)
{
	static const char *const ok[] = {"producer", "uncompressed", "gzip", "snappy",
					 "lz4",      "zstd",         NULL};
	for (const char *const *k = ok; *k; k++)
		if (strcmp(v, *k) == 0)
			return true;
	return false;
}

bool rn_cfg_policy_valid(const char *v)
{
	/* A comma-separated list whose items are compact or delete (spaces allowed). */
	while (*v) {
		while (*v == ' ')
			v++;
		size_t n = strcspn(v, ", ");
		if (!((n == 7 && !strncmp(v, "compact", 7)) ||
		      (n == 6 && !strncmp(v, "delete", 6))))
			return false;
		v += n;
		while (*v == ' ')
			v++;
		if (*v == ',')
			v++;
	}
	return true;
}

/* A later value of the same key wins; the old string stays alive (retired) for readers. */
static void fam_set(struct rn_config *c, const char *key, const char *val)
{
	for (size_t i = 0; i < c->nfam; i++) {
		if (strcmp(c->fam_keys[i], key) == 0) {
			retire(c, c->fam_vals[i]);
			c->fam_vals[i] = rn_strdup(val);
			return;
		}
	}
	c->fam_keys = rn_realloc(c->fam_keys, (c->nfam + 1) * sizeof(char *));
	c->fam_vals = rn_realloc(c->fam_vals, (c->nfam + 1) * sizeof(char *));
	c->fam_keys[c->nfam] = rn_strdup(key);
	c->fam_vals[c->nfam++] = rn_strdup(val);
}

static const char *fam_get(const struct rn_config *c, const char *key)
{
	for (size_t i = 0; i < c->nfam; i++)
		if (strcmp(c->fam_keys[i], key) == 0)
			return c->fam_vals[i];
	return NULL;
}

int rn_config_set(struct rn_config *c, const char *key, const char *val, char *err, size_t errlen)
{
	int i = find(key);
	if (i < 0 && rn__cfg_compat_family(key)) {
		fam_set(c, key, val);
		return 0;
	}
	if (i < 0) {
		snprintf(err, errlen, "unknown config key '%s'", key);
		return -EINVAL;
	}
	int rc = validate(&defs[i], val, err, errlen);
	if (rc < 0)
		return rc;
	if (defs[i].no_effect && rn__cfg_first_warning(key))
		rn_warn("config %s=%s accepted for compatibility; it has no effect in runnel", key,
			val);
	retire(c, c->vals[i]);
	c->vals[i] = rn_strdup(val);
	c->set[i] = true;
	update_eff(c, i);
	return 0;
}

int rn_config_validate(const char *key, const char *val, char *err, size_t errlen)
{
	int i = find(key);
	if (i < 0) {
		snprintf(err, errlen, "unknown config key '%s'", key);
		return -EINVAL;
	}
	return validate(&defs[i], val, err, errlen);
}

int rn_config_set_dynamic(struct rn_config *c, enum rn_cfg_layer layer, const char *key,
			  const char *val, char *err, size_t errlen)
{
	int i = find(key);
	if (i < 0 || !rn_config_is_dynamic(key)) {
		snprintf(err, errlen, "Cannot update these configs dynamically: Set(%s)", key);
		return -EINVAL;
	}
	if (val) {
		int rc = validate(&defs[i], val, err, errlen);
		if (rc < 0)
			return rc;
	}
	retire(c, atomic_load(&c->dyn[layer][i]));
	atomic_store(&c->dyn[layer][i], val ? rn_strdup(val) : NULL);
	update_eff(c, i);
	return 0;
}

const char *rn_config_layer_get(const struct rn_config *c, enum rn_cfg_layer layer, const char *key)
{
	int i = find(key);
	return i < 0 ? NULL : atomic_load(&((struct rn_config *)c)->dyn[layer][i]);
}

const char *rn_config_static_get(const struct rn_config *c, const char *key)
{
	int i = find(key);
	return i < 0 || !c->set[i] ? NULL : c->vals[i];
}

int rn_config_set_kv(struct rn_config *c, const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv) {
		snprintf(err, errlen, "'%s' is not key=value", kv);
		return -EINVAL;
	}
	char *key = rn_strndup(kv, (size_t)(eq - kv));
	int rc = rn_config_set(c, key, eq + 1, err, errlen);
	rn_free(key);
	return rc;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* One logical "key=value" / "key: value" line of a properties file. */
static int load_line(struct rn_config *c, const char *path, int lineno, char *s, char *err,
		     size_t errlen)
{
	char *sep = strpbrk(s, "=:");
	if (!sep) {
		snprintf(err, errlen, "%s:%d: expected key=value", path, lineno);
		return -EINVAL;
	}
	*sep = '\0';
	char *key = trim(s), *val = trim(sep + 1);
	char why[512];
	if (rn_config_set(c, key, val, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
		return -EINVAL;
	}
	return 0;
}

int rn_config_load_file(struct rn_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
		return -errno;
	}
	/* A line ending in an odd number of backslashes continues on the next one, whose leading
	 * white space is dropped (java.util.Properties; Kafka's files split sasl.jaas.config so).
	 */
	char line[4096], *acc = NULL;
	size_t alen = 0;
	int lineno = 0, first = 0, rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = trim(line);
		if (!acc && (!*s || *s == '#' || *s == '!'))
			continue;
		size_t n = strlen(s), bs = 0;
		while (bs < n && s[n - 1 - bs] == '\\')
			bs++;
		bool more = bs % 2 == 1;
		if (more)
			s[--n] = '\0';
		if (alen + n >= 65536) {
			snprintf(err, errlen, "%s:%d: continued line longer than 64 KiB", path,
				 lineno);
			rc = -EINVAL;
			break;
		}
		if (!acc)
			first = lineno;
		acc = rn_realloc(acc, alen + n + 1);
		memcpy(acc + alen, s, n);
		alen += n;
		acc[alen] = '\0';
		if (more)
			continue;
		rc = load_line(c, path, first, acc, err, errlen);
		rn_free(acc);
		acc = NULL;
		alen = 0;
	}
	if (rc == 0 && acc)
		rc = load_line(c, path, first, acc, err, errlen);
	rn_free(acc);
	fclose(f);
	return rc;
}

const char *rn_config_get(const struct rn_config *c, const char *key)
{
	int i = find(key);
	return i < 0 ? fam_get(c, key) : atomic_load(&((struct rn_config *)c)->eff[i]);
}

int64_t rn_config_get_i64(const struct rn_config *c, const char *key)
{
	const char *v = rn_config_get(c, key);
	int64_t out = 0;
	if (v)
		rn_cfg_parse_i64(v, &out);
	return out;
}

bool rn_config_get_bool(const struct rn_config *c, const char *key)
{
	const char *v = rn_config_get(c, key);
	bool b = false;
	if (v)
		rn_cfg_parse_bool(v, &b);
	return b;
}

bool rn_config_is_default(const struct rn_config *c, const char *key)
{
	int i = find(key);
	struct rn_config *m = (struct rn_config *)c;
	return i < 0 || (!c->set[i] && !atomic_load(&m->dyn[0][i]) && !atomic_load(&m->dyn[1][i]));
}
