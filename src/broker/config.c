#include "broker/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"

#define LMAX "9223372036854775807"

static const struct rn_cfg_def defs[] = {
    {"listeners", RN_CFG_LIST, "PLAINTEXT://127.0.0.1:9092", 0,
     "where the Kafka listener binds: PLAINTEXT://host:port", false},
    {"advertised.listeners", RN_CFG_LIST, NULL, 0,
     "address given to clients in Metadata (default: listeners)", false},
    {"admin.listener", RN_CFG_STRING, "127.0.0.1:9644", 0,
     "host:port of the HTTP listener for /metrics and /health (empty = off)", false},
    {"log.dirs", RN_CFG_LIST, NULL, 0, "directory holding the log data (one directory)", false},
    {"log.dir", RN_CFG_STRING, "./runnel-data", 0, "used when log.dirs is not set", false},
    {"node.id", RN_CFG_INT, "1", 0, "this broker's id", false},
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
    {"inter.broker.listener.name", RN_CFG_STRING, NULL, 0, "", true},
    {"listener.security.protocol.map", RN_CFG_LIST, NULL, 0, "", true},
    {"num.io.threads", RN_CFG_INT, "8", 0, "", true},
    {"num.recovery.threads.per.data.dir", RN_CFG_INT, "1", 0, "", true},
    {"socket.send.buffer.bytes", RN_CFG_INT, "102400", -1, "", true},
    {"socket.receive.buffer.bytes", RN_CFG_INT, "102400", -1, "", true},
    {"offsets.topic.replication.factor", RN_CFG_INT, "3", 0, "", true},
    {"transaction.state.log.replication.factor", RN_CFG_INT, "3", 0, "", true},
    {"transaction.state.log.min.isr", RN_CFG_INT, "2", 0, "", true},
    {"zookeeper.connect", RN_CFG_STRING, NULL, 0, "", true},
    {"zookeeper.connection.timeout.ms", RN_CFG_INT, NULL, 0, "", true},
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))

struct rn_config {
	char *vals[NDEFS];
	bool set[NDEFS];
};

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

struct rn_config *rn_config_new(void)
{
	struct rn_config *c = rn_calloc(1, sizeof(*c));
	for (size_t i = 0; i < NDEFS; i++)
		c->vals[i] = defs[i].def ? rn_strdup(defs[i].def) : NULL;
	return c;
}

void rn_config_free(struct rn_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NDEFS; i++)
		rn_free(c->vals[i]);
	rn_free(c);
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
	return 0;
}

int rn_config_set(struct rn_config *c, const char *key, const char *val, char *err, size_t errlen)
{
	int i = find(key);
	if (i < 0) {
		snprintf(err, errlen, "unknown config key '%s'", key);
		return -EINVAL;
	}
	int rc = validate(&defs[i], val, err, errlen);
	if (rc < 0)
		return rc;
	if (defs[i].no_effect)
		rn_warn("config %s=%s accepted for compatibility; it has no effect in runnel", key,
			val);
	rn_free(c->vals[i]);
	c->vals[i] = rn_strdup(val);
	c->set[i] = true;
	return 0;
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

int rn_config_load_file(struct rn_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
		return -errno;
	}
	char line[4096];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = trim(line);
		if (!*s || *s == '#' || *s == '!')
			continue;
		char *sep = strpbrk(s, "=:");
		if (!sep) {
			snprintf(err, errlen, "%s:%d: expected key=value", path, lineno);
			rc = -EINVAL;
			break;
		}
		*sep = '\0';
		char *key = trim(s), *val = trim(sep + 1);
		char why[512];
		if (rn_config_set(c, key, val, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			rc = -EINVAL;
			break;
		}
	}
	fclose(f);
	return rc;
}

const char *rn_config_get(const struct rn_config *c, const char *key)
{
	int i = find(key);
	return i < 0 ? NULL : c->vals[i];
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
	return i < 0 || !c->set[i];
}
