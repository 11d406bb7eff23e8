/*
 * Topic-level configs (retention.ms, segment.bytes, ...): each has a broker-level synonym whose
 * value is the default (segment.bytes <- log.segment.bytes), as in Kafka. A topic stores only
 * its overrides; the effective value is resolved against the broker config.
 */
#ifndef RN_BROKER_TOPIC_CONFIG_H
#define RN_BROKER_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "broker/config.h"
#include "meta/store.h"
#include "storage/log_config.h"

struct rn_topic_cfg_def {
	const char *name;
	const char *synonym; /* Kafka's primary broker key (log.retention.ms), or NULL */
	enum rn_cfg_type type;
	const char *def; /* used when the synonym has no value */
	bool sensitive;
	bool no_effect; /* stored and shown, but runnel does not act on it */
	const char *doc;
};

/* The broker keys behind a topic key, highest precedence first, as Kafka lists them in
 * DescribeConfigs synonyms (retention.ms: log.retention.ms, log.retention.minutes,
 * log.retention.hours). Returns how many (0..3) were written to names. */
int rn_topic_cfg_synonyms(const struct rn_topic_cfg_def *d, const char *names[3]);

const struct rn_topic_cfg_def *rn_topic_cfg_defs(size_t *n);
const struct rn_topic_cfg_def *rn_topic_cfg_find(const char *name);
/* Prints the topic keys for `runnel serve --list-config`: default, broker synonym, and whether
 * runnel acts on the key. */
void rn_topic_cfg_list(FILE *f);

/* Kafka's ConfigSource of a topic key: 1 for an override, else that of the first broker
 * synonym with a value (2 dynamic per-broker, 3 cluster default, 4 static, 5 default). */
int rn_topic_cfg_source(const struct rn_config *bc, const struct rn_cfg_kv *ov, int nov,
			const struct rn_topic_cfg_def *d);

/* A broker synonym's value in the topic key's unit (log.retention.hours=1 -> 3600000); v
 * itself, or tmp holding the conversion. */
const char *rn_topic_cfg_broker_ms(const char *name, const char *v, char *tmp, size_t tmplen);

/* Checks that key is a topic config and val is valid for it; writes a reason to err. */
int rn_topic_cfg_validate(const char *key, const char *val, char *err, size_t errlen);

/* Kafka's checks across keys of a whole override set (min.compaction.lag.ms <=
 * max.compaction.lag.ms), after each key passed rn_topic_cfg_validate. */
int rn_topic_cfg_validate_set(const struct rn_config *bc, const struct rn_cfg_kv *ov, int nov,
			      char *err, size_t errlen);

/* The effective value of key for a topic with these overrides. *is_default is set when the
 * value comes from the broker or the built-in default. Returns NULL for a null value. */
const char *rn_topic_cfg_value(const struct rn_config *bc, const struct rn_cfg_kv *ov, int nov,
			       const char *key, bool *is_default);

/* Builds the storage settings of a topic from broker defaults and its overrides. */
void rn_topic_cfg_resolve(const struct rn_config *bc, const struct rn_cfg_kv *ov, int nov,
			  struct rn_log_config *out);

#endif
