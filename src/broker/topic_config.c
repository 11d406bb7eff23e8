#include "broker/topic_config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LMAX "9223372036854775807"

/* Apache Kafka 3.7's topic configs (LogConfig), in name order: DescribeConfigs returns exactly
 * these. no_effect marks those runnel accepts, stores and shows but does not act on. */
static const struct rn_topic_cfg_def defs[] = {
    {"cleanup.policy", "log.cleanup.policy", RN_CFG_LIST, "delete", false, false,
     "delete (old segments go by retention), compact (only the latest record per key stays), "
     "or both"},
    {"compression.type", "compression.type", RN_CFG_STRING, "producer", false, false,
     "codec batches are stored with: producer keeps the producer's, uncompressed, gzip, "
     "snappy, lz4 or zstd recompress on append"},
    {"delete.retention.ms", "log.cleaner.delete.retention.ms", RN_CFG_LONG, "86400000", false,
     false, "how long tombstones stay in a compacted topic"},
    {"file.delete.delay.ms", "log.segment.delete.delay.ms", RN_CFG_LONG, "60000", false, true,
     "wait before a deleted segment's files are removed"},
    {"flush.messages", "log.flush.interval.messages", RN_CFG_LONG, LMAX, false, false,
     "fdatasync after this many messages; 1 acknowledges only data on disk"},
    {"flush.ms", "log.flush.interval.ms", RN_CFG_LONG, LMAX, false, false,
     "longest time data stays unflushed"},
    {"follower.replication.throttled.replicas", NULL, RN_CFG_LIST, "", false, true,
     "replicas throttled on the follower side (no replication in runnel yet)"},
    {"index.interval.bytes", "log.index.interval.bytes", RN_CFG_INT, "4096", false, false,
     "bytes of log between two offset index entries"},
    {"leader.replication.throttled.replicas", NULL, RN_CFG_LIST, "", false, true,
     "replicas throttled on the leader side (runnel throttles the replicas a reassignment "
     "adds, whatever the list)"},
    {"local.retention.bytes", "log.local.retention.bytes", RN_CFG_LONG, "-2", false, true,
     "tiered storage: local size limit (-2: retention.bytes)"},
    {"local.retention.ms", "log.local.retention.ms", RN_CFG_LONG, "-2", false, true,
     "tiered storage: local time limit (-2: retention.ms)"},
    {"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", RN_CFG_LONG, LMAX, false, false,
     "longest time a record stays uncompacted"},
    {"max.message.bytes", "message.max.bytes", RN_CFG_INT, "1048588", false, false,
     "largest record batch accepted"},
    {"message.downconversion.enable", "log.message.downconversion.enable", RN_CFG_BOOL, "true",
     false, false, "whether fetches of old versions are answered by converting batches down"},
    {"message.format.version", "log.message.format.version", RN_CFG_STRING, "3.0-IV1", false, true,
     "ignored since Kafka 3.0: batches are always magic 2"},
    {"message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms", RN_CFG_LONG, LMAX,
     false, true, "largest lead of a create time over the broker's clock"},
    {"message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms", RN_CFG_LONG, LMAX,
     false, true, "largest age of a create time behind the broker's clock"},
    {"message.timestamp.difference.max.ms", "log.message.timestamp.difference.max.ms", RN_CFG_LONG,
     LMAX, false, true, "deprecated form of the two above"},
    {"message.timestamp.type", "log.message.timestamp.type", RN_CFG_STRING, "CreateTime", false,
     false, "CreateTime keeps the producer's timestamps, LogAppendTime stamps the broker's"},
    {"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", RN_CFG_DOUBLE, "0.5", false,
     false, "share of uncleaned log that makes a compacted partition eligible for cleaning"},
    {"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", RN_CFG_LONG, "0", false, false,
     "shortest time a record stays uncompacted"},
    {"min.insync.replicas", "min.insync.replicas", RN_CFG_INT, "1", false, false,
     "in-sync replicas acks=all needs in a cluster (a single broker always meets it)"},
    {"preallocate", "log.preallocate", RN_CFG_BOOL, "false", false, true,
     "preallocate segment files"},
    {"remote.storage.enable", NULL, RN_CFG_BOOL, "false", false, true,
     "tiered storage (not in runnel)"},
    {"retention.bytes", "log.retention.bytes", RN_CFG_LONG, "-1", false, false,
     "largest partition size before old segments are deleted; -1 = no limit"},
    {"retention.ms", "log.retention.ms", RN_CFG_LONG, "604800000", false, false,
     "age after which segments are deleted; -1 = forever"},
    {"segment.bytes", "log.segment.bytes", RN_CFG_INT, "1073741824", false, false,
     "segment size before a roll"},
    {"segment.index.bytes", "log.index.size.max.bytes", RN_CFG_INT, "10485760", false, false,
     "size of a segment's offset index"},
    {"segment.jitter.ms", "log.roll.jitter.ms", RN_CFG_LONG, "0", false, true,
     "random jitter subtracted from segment.ms"},
    {"segment.ms", "log.roll.ms", RN_CFG_LONG, "604800000", false, false,
     "segment age before a roll"},
    {"unclean.leader.election.enable", "unclean.leader.election.enable", RN_CFG_BOOL, "false",
     false, true, "elect an out-of-sync replica (no replication in runnel yet)"},
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))

const struct rn_topic_cfg_def *rn_topic_cfg_defs(size_t *n)
{
	*n = NDEFS;
	return defs;
}

void rn_topic_cfg_list(FILE *f)
{
	fprintf(f, "\nTopic configs (CreateTopics, AlterConfigs; default from the broker key):\n");
	for (size_t i = 0; i < NDEFS; i++)
		fprintf(f, "%-45s %s%s%s%s\n", defs[i].name, defs[i].def,
			defs[i].synonym ? "  <- " : "", defs[i].synonym ? defs[i].synonym : "",
			defs[i].no_effect ? "  (accepted, no effect)" : "");
}

const struct rn_topic_cfg_def *rn_topic_cfg_find(const char *name)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (strcmp(defs[i].name, name) == 0)
			return &defs[i];
	return NULL;
}

/* Kafka's lower bounds (LogConfig's atLeast/between), INT64_MIN where there is none. */
static int64_t min_of(const char *key)
{
	static const struct {
		const char *key;
		int64_t min;
	} mins[] = {
	    {"segment.bytes", 14},
	    {"segment.ms", 1},
	    {"segment.jitter.ms", 0},
	    {"segment.index.bytes", 4},
	    {"flush.messages", 1},
	    {"flush.ms", 0},
	    {"retention.ms", -1},
	    {"max.message.bytes", 0},
	    {"index.interval.bytes", 0},
	    {"delete.retention.ms", 0},
	    {"min.compaction.lag.ms", 0},
	    {"max.compaction.lag.ms", 1},
	    {"file.delete.delay.ms", 0},
	    {"min.insync.replicas", 1},
	    {"local.retention.ms", -2},
	    {"local.retention.bytes", -2},
	    {"message.timestamp.after.max.ms", 0},
	    {"message.timestamp.before.max.ms", 0},
	    {"message.timestamp.difference.max.ms", 0},
	};
	for (size_t i = 0; i < sizeof(mins) / sizeof(mins[0]); i++)
		if (strcmp(mins[i].key, key) == 0)
			return mins[i].min;
	return INT64_MIN;
}

/* "" or "*" or a list of partition:broker pairs (Kafka's ThrottledReplicaListValidator). */
static bool throttled_list_valid(const char *v)
{
	if (!*v || !strcmp(v, "*"))
		return true;
	while (*v) {
		while (*v == ' ')
			v++;
		char *e;
		strtol(v, &e, 10);
		if (e == v || *e != ':')
			return false;
		v = e + 1;
		strtol(v, &e, 10);
		if (e == v)
			return false;
		v = e;
		while (*v == ' ')
			v++;
		if (*v && *v++ != ',')
			return false;
	}
	return true;
}

static int check_string(const char *key, const char *val, char *why, size_t whylen)
{
	if (!strcmp(key, "message.timestamp.type") && strcmp(val, "CreateTime") &&
	    strcmp(val, "LogAppendTime")) {
		snprintf(why, whylen, "String must be one of: CreateTime, LogAppendTime");
		return -EINVAL;
	}
	if (!strcmp(key, "compression.type") && !rn_cfg_codec_valid(val)) {
		snprintf(why, whylen,
			 "String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer");
		return -EINVAL;
	}
	if (!strcmp(key, "cleanup.policy") && !rn_cfg_policy_valid(val)) {
		snprintf(why, whylen, "String must be one of: compact, delete");
		return -EINVAL;
	}
	if (strstr(key, "replication.throttled.replicas") && !throttled_list_valid(val)) {
		snprintf(why, whylen,
			 "must be the literal '*' or a list of replicas in the following format: "
			 "[partitionId]:[brokerId],[partitionId]:[brokerId],...");
		return -EINVAL;
	}
	return 0;
}

static int check_value(const struct rn_topic_cfg_def *d, const char *val, char *why, size_t whylen)
{
	int64_t v;
	bool b;
	switch (d->type) {
	case RN_CFG_INT:
	case RN_CFG_LONG: {
		bool is_int = d->type == RN_CFG_INT;
		if (rn_cfg_parse_i64(val, &v) < 0 || (is_int && (v > INT32_MAX || v < INT32_MIN))) {
			snprintf(why, whylen, "Not a number of type %s", is_int ? "INT" : "LONG");
			return -EINVAL;
		}
		int64_t min = min_of(d->name);
		if (v < min) {
			snprintf(why, whylen, "Value must be at least %lld", (long long)min);
			return -EINVAL;
		}
		return 0;
	}
	case RN_CFG_BOOL:
		if (rn_cfg_parse_bool(val, &b) < 0) {
			snprintf(why, whylen, "Expected value to be either true or false");
			return -EINVAL;
		}
		return 0;
	case RN_CFG_DOUBLE: {
		char *end;
		double x = strtod(val, &end);
		if (end == val || *end) {
			snprintf(why, whylen, "Not a number of type DOUBLE");
			return -EINVAL;
		}
		if (x < 0 || x > 1) {
			snprintf(why, whylen, "Value must be no more than 1");
			if (x < 0)
				snprintf(why, whylen, "Value must be at least 0");
			return -EINVAL;
		}
		return 0;
	}
	default: return check_string(d->name, val, why, whylen);
	}
}

int rn_topic_cfg_validate(const char *key, const char *val, char *err, size_t errlen)
{
	const struct rn_topic_cfg_def *d = rn_topic_cfg_find(key);
	if (!d) {
		snprintf(err, errlen, "Unknown topic config name: %s", key);
		return -EINVAL;
	}
	if (!val) {
		snprintf(err, errlen, "Null value not supported for topic configs: %s", key);
		return -EINVAL;
	}
	char why[256];
	if (check_value(d, val, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "Invalid value %s for configuration %s: %s", val, key, why);
		return -EINVAL;
	}
	return 0;
}

int rn_topic_cfg_validate_set(const struct rn_config *bc, const struct rn_cfg_kv *ov, int nov,
			      char *err, size_t errlen)
{
	int64_t lo = 0, hi = 0;
	const char *a = rn_topic_cfg_value(bc, ov, nov, "min.compaction.lag.ms", NULL);
	const char *z = rn_topic_cfg_value(bc, ov, nov, "max.compaction.lag.ms", NULL);
	if (a && z && rn_cfg_parse_i64(a, &lo) == 0 && rn_cfg_parse_i64(z, &hi) == 0 && lo > hi) {
		snprintf(err, errlen,
			 "conflict topic config setting min.compaction.lag.ms (%s) > "
			 "max.compaction.lag.ms (%s)",
			 a, z);
		return -EINVAL;
	}
	return 0;
}

int rn_topic_cfg_synonyms(const struct rn_topic_cfg_def *d, const char *names[3])
{
	if (!d->synonym)
		return 0;
	int n = 0;
	names[n++] = d->synonym;
	if (!strcmp(d->name, "retention.ms")) {
		names[n++] = "log.retention.minutes";
		names[n++] = "log.retention.hours";
	} else if (!strcmp(d->name, "segment.ms")) {
		names[n++] = "log.roll.hours";
	} else if (!strcmp(d->name, "flush.ms")) {
		names[n++] = "log.flush.scheduler.interval.ms";
	}
	return n;
}

int rn_topic_cfg_source(const struct rn_config *bc, const struct rn_cfg_kv *ov, int nov,
			const struct rn_topic_cfg_def *d)
{
	for (int i = 0; i < nov; i++)
		if (strcmp(ov[i].key, d->name) == 0)
			return 1; /* DYNAMIC_TOPIC_CONFIG */
	const char *names[3];
	int n = rn_topic_cfg_synonyms(d, names);
	for (int i = 0; i < n; i++) {
		if (rn_config_layer_get(bc, RN_CFG_DYN_BROKER, names[i]))
			return 2;
		if (rn_config_layer_get(bc, RN_CFG_DYN_DEFAULT, names[i]))
			return 3;
		if (rn_config_static_get(bc, names[i]))
			return 4;
		const struct rn_cfg_def *bd = rn_config_def(names[i]);
		if (bd && bd->def)
			return 5;
	}
	return 5; /* DEFAULT_CONFIG */
}

/* Converts a broker synonym's value into the topic key's unit (minutes and hours to ms). */
const char *rn_topic_cfg_broker_ms(const char *name, const char *v, char *tmp, size_t tmplen)
{
	int64_t mult = 1;
	if (strstr(name, ".minutes"))
		mult = 60000;
	else if (strstr(name, ".hours"))
		mult = 3600000;
	int64_t n;
	if (mult == 1 || rn_cfg_parse_i64(v, &n) < 0)
		return v;
	snprintf(tmp, tmplen, "%lld", n < 0 ? -1LL : (long long)(n * mult));
	return tmp;
}

/* The broker's value behind a topic key: the first synonym that has one (Kafka's precedence
 * for the time-based keys: ms over minutes over hours). */
static const char *broker_value(const struct rn_config *bc, const struct rn_topic_cfg_def *d,
				char *tmp, size_t tmplen)
{
	const char *names[3];
	int n = rn_topic_cfg_synonyms(d, names);
	for (int i = 0; i < n; i++) {
		const char *v = rn_config_get(bc, names[i]);
		if (v)
			return rn_topic_cfg_broker_ms(names[i], v, tmp, tmplen);
	}
	return NULL;
}

const char *rn_topic_cfg_value(const struct rn_config *bc, const struct rn_cfg_kv *ov, int nov,
			       const char *key, bool *is_default)
{
	static _Thread_local char tmp[32];
	for (int i = 0; i < nov; i++) {
		if (strcmp(ov[i].key, key) == 0) {
			if (is_default)
				*is_default = false;
			return ov[i].val;
		}
	}
	if (is_default)
		*is_default = true;
	const struct rn_topic_cfg_def *d = rn_topic_cfg_find(key);
	if (!d)
		return NULL;
	const char *v = broker_value(bc, d, tmp, sizeof(tmp));
	return v ? v : d->def;
}

static int64_t get_i64(const struct rn_config *bc, const struct rn_cfg_kv *ov, int nov,
		       const char *key)
{
	int64_t v = 0;
	const char *s = rn_topic_cfg_value(bc, ov, nov, key, NULL);
	if (s)
		rn_cfg_parse_i64(s, &v);
	return v;
}

void rn_topic_cfg_resolve(const struct rn_config *bc, const struct rn_cfg_kv *ov, int nov,
			  struct rn_log_config *out)
{
	out->segment_bytes = get_i64(bc, ov, nov, "segment.bytes");
	out->roll_ms = get_i64(bc, ov, nov, "segment.ms");
	out->retention_ms = get_i64(bc, ov, nov, "retention.ms");
	out->retention_bytes = get_i64(bc, ov, nov, "retention.bytes");
	out->flush_messages = get_i64(bc, ov, nov, "flush.messages");
	out->flush_ms = get_i64(bc, ov, nov, "flush.ms");
	out->index_interval_bytes = (int32_t)get_i64(bc, ov, nov, "index.interval.bytes");
	out->segment_index_bytes = (int32_t)get_i64(bc, ov, nov, "segment.index.bytes");
	out->max_message_bytes = (int32_t)get_i64(bc, ov, nov, "max.message.bytes");
	const char *ts = rn_topic_cfg_value(bc, ov, nov, "message.timestamp.type", NULL);
	out->log_append_time = ts && strcmp(ts, "LogAppendTime") == 0;
	out->producer_id_expiration_ms = rn_config_get_i64(bc, "producer.id.expiration.ms");
	const char *pol = rn_topic_cfg_value(bc, ov, nov, "cleanup.policy", NULL);
	out->cleanup_compact = pol && strstr(pol, "compact") != NULL;
	out->cleanup_delete = !pol || strstr(pol, "delete") != NULL;
	out->delete_retention_ms = get_i64(bc, ov, nov, "delete.retention.ms");
	out->min_compaction_lag_ms = get_i64(bc, ov, nov, "min.compaction.lag.ms");
	out->max_compaction_lag_ms = get_i64(bc, ov, nov, "max.compaction.lag.ms");
	const char *ratio = rn_topic_cfg_value(bc, ov, nov, "min.cleanable.dirty.ratio", NULL);
	out->min_cleanable_ratio = ratio ? strtod(ratio, NULL) : 0.5;
	static const char *const codecs[] = {"uncompressed", "gzip", "snappy", "lz4", "zstd"};
	const char *ct = rn_topic_cfg_value(bc, ov, nov, "compression.type", NULL);
	out->compression = RN_LOG_CODEC_PRODUCER;
	for (int8_t i = 0; ct && i < 5; i++)
		if (strcmp(ct, codecs[i]) == 0)
			out->compression = i;
	const char *dc = rn_topic_cfg_value(bc, ov, nov, "message.downconversion.enable", NULL);
	out->downconversion_enable = !dc || strcmp(dc, "false") != 0;
}
