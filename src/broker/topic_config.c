#include "broker/topic_config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LMAX "9223372036854775807"

static const struct rn_topic_cfg_def defs[] = {
    {"cleanup.policy", "log.cleanup.policy", RN_CFG_LIST, "delete", false},
    {"compression.type", "compression.type", RN_CFG_STRING, "producer", false},
    {"delete.retention.ms", "log.cleaner.delete.retention.ms", RN_CFG_LONG, "86400000", false},
    {"file.delete.delay.ms", "log.segment.delete.delay.ms", RN_CFG_LONG, "60000", false},
    {"flush.messages", "log.flush.interval.messages", RN_CFG_LONG, LMAX, false},
    {"flush.ms", "log.flush.interval.ms", RN_CFG_LONG, LMAX, false},
    {"index.interval.bytes", "log.index.interval.bytes", RN_CFG_INT, "4096", false},
    {"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", RN_CFG_LONG, LMAX, false},
    {"max.message.bytes", "message.max.bytes", RN_CFG_INT, "1048588", false},
    {"message.downconversion.enable", "log.message.downconversion.enable", RN_CFG_BOOL, "true",
     false},
    {"message.timestamp.difference.max.ms", "log.message.timestamp.difference.max.ms", RN_CFG_LONG,
     LMAX, false},
    {"message.timestamp.type", "log.message.timestamp.type", RN_CFG_STRING, "CreateTime", false},
    {"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", RN_CFG_DOUBLE, "0.5", false},
    {"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", RN_CFG_LONG, "0", false},
    {"min.insync.replicas", "min.insync.replicas", RN_CFG_INT, "1", false},
    {"preallocate", "log.preallocate", RN_CFG_BOOL, "false", false},
    {"retention.bytes", "log.retention.bytes", RN_CFG_LONG, "-1", false},
    {"retention.ms", "log.retention.ms", RN_CFG_LONG, "604800000", false},
    {"segment.bytes", "log.segment.bytes", RN_CFG_INT, "1073741824", false},
    {"segment.index.bytes", "log.index.size.max.bytes", RN_CFG_INT, "10485760", false},
    {"segment.jitter.ms", "log.roll.jitter.ms", RN_CFG_LONG, "0", false},
    {"segment.ms", "log.roll.ms", RN_CFG_LONG, "604800000", false},
    {"unclean.leader.election.enable", "unclean.leader.election.enable", RN_CFG_BOOL, "false",
     false},
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))

const struct rn_topic_cfg_def *rn_topic_cfg_defs(size_t *n)
{
	*n = NDEFS;
	return defs;
}

const struct rn_topic_cfg_def *rn_topic_cfg_find(const char *name)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (strcmp(defs[i].name, name) == 0)
			return &defs[i];
	return NULL;
}

static bool in_list(const char *v, const char *const *ok)
{
	for (; *ok; ok++)
		if (strcmp(v, *ok) == 0)
			return true;
	return false;
}

int rn_topic_cfg_validate(const char *key, const char *val, char *err, size_t errlen)
{
	const struct rn_topic_cfg_def *d = rn_topic_cfg_find(key);
	if (!d) {
		snprintf(err, errlen, "Unknown topic config name: %s", key);
		return -EINVAL;
	}
	if (!val) {
		snprintf(err, errlen, "Null value not supported for topic config %s", key);
		return -EINVAL;
	}
	int64_t v;
	bool b;
	switch (d->type) {
	case RN_CFG_INT:
	case RN_CFG_LONG:
		if (rn_cfg_parse_i64(val, &v) < 0 ||
		    (d->type == RN_CFG_INT && (v > INT32_MAX || v < INT32_MIN)))
			goto bad;
		if (v < -1 ||
		    (v < 0 && strcmp(key, "retention.ms") && strcmp(key, "retention.bytes")))
			goto bad;
		if ((!strcmp(key, "segment.bytes") && v < 14) ||
		    (!strcmp(key, "flush.messages") && v < 1) ||
		    (!strcmp(key, "min.insync.replicas") && v < 1) ||
		    (!strcmp(key, "segment.ms") && v < 1) ||
		    (!strcmp(key, "segment.index.bytes") && v < 4))
			goto bad;
		return 0;
	case RN_CFG_BOOL:
		if (rn_cfg_parse_bool(val, &b) < 0)
			goto bad;
		return 0;
	default: break;
	}
	static const char *const ts_types[] = {"CreateTime", "LogAppendTime", NULL};
	static const char *const codecs[] = {"producer", "uncompressed", "gzip", "snappy",
					     "lz4",      "zstd",         NULL};
	if (!strcmp(key, "message.timestamp.type") && !in_list(val, ts_types))
		goto bad;
	if (!strcmp(key, "compression.type") && !in_list(val, codecs))
		goto bad;
	if (!strcmp(key, "cleanup.policy")) {
		static const char *const pol[] = {"delete", "compact", "compact,delete",
						  "delete,compact", NULL};
		if (!in_list(val, pol))
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "Invalid value %s for configuration %s", val, key);
	return -EINVAL;
}

/* Kafka's precedence for the time-based broker settings: ms over minutes over hours. */
static const char *broker_value(const struct rn_config *bc, const char *key, char *tmp,
				size_t tmplen)
{
	if (!strcmp(key, "log.retention.ms")) {
		const char *v = rn_config_get(bc, "log.retention.ms");
		if (v)
			return v;
		const char *m = rn_config_get(bc, "log.retention.minutes");
		int64_t n = m ? rn_config_get_i64(bc, "log.retention.minutes")
			      : rn_config_get_i64(bc, "log.retention.hours") * 60;
		snprintf(tmp, tmplen, "%lld", n < 0 ? -1LL : (long long)(n * 60000));
		return tmp;
	}
	if (!strcmp(key, "log.roll.ms")) {
		const char *v = rn_config_get(bc, "log.roll.ms");
		if (v)
			return v;
		snprintf(tmp, tmplen, "%lld",
			 (long long)rn_config_get_i64(bc, "log.roll.hours") * 3600000LL);
		return tmp;
	}
	if (!strcmp(key, "log.flush.interval.ms")) {
		const char *v = rn_config_get(bc, "log.flush.interval.ms");
		return v ? v : rn_config_get(bc, "log.flush.scheduler.interval.ms");
	}
	return rn_config_get(bc, key);
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
	const char *v = d->synonym ? broker_value(bc, d->synonym, tmp, sizeof(tmp)) : NULL;
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
