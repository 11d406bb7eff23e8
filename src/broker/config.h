/*
 * Broker configuration, under Kafka's own key names (server.properties). Every known key has a
 * type and a default; values are kept as validated strings so DescribeConfigs can show them as
 * the user wrote them. Keys that Kafka has but that mean nothing to a single Runnel node are
 * accepted with a warning; unknown keys are errors, never ignored silently.
 */
#ifndef RN_BROKER_CONFIG_H
#define RN_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rn_cfg_type {
	RN_CFG_STRING,
	RN_CFG_INT,
	RN_CFG_LONG,
	RN_CFG_BOOL,
	RN_CFG_LIST,
	RN_CFG_DOUBLE
};

struct rn_cfg_def {
	const char *name;
	enum rn_cfg_type type;
	const char *def; /* NULL = no default (Kafka's null) */
	int64_t min;     /* numeric lower bound */
	const char *doc;
	bool no_effect; /* accepted for compatibility with Kafka's files; has no effect here */
};

struct rn_config;

/* A config holding every default; the caller owns it (rn_config_free). */
struct rn_config *rn_config_new(void);
void rn_config_free(struct rn_config *c);

/* Validates and sets one key. On error returns -EINVAL and writes a one-line reason to err. */
int rn_config_set(struct rn_config *c, const char *key, const char *val, char *err, size_t errlen);
/* Parses "key=value" (as given to --set). */
int rn_config_set_kv(struct rn_config *c, const char *kv, char *err, size_t errlen);
/* Loads a server.properties file: key=value or key: value lines, # and ! comments. */
int rn_config_load_file(struct rn_config *c, const char *path, char *err, size_t errlen);

/* Dynamic layers (AlterConfigs on the broker resource), above the static value. */
enum rn_cfg_layer { RN_CFG_DYN_DEFAULT = 0, RN_CFG_DYN_BROKER = 1 };

/* True for the keys AlterConfigs may change at run time (Kafka's DynamicBrokerConfig). */
bool rn_config_is_dynamic(const char *key);
/* Checks a value for key without setting it. */
int rn_config_validate(const char *key, const char *val, char *err, size_t errlen);
/* Sets (val NULL: removes) a dynamic value. Callers serialise writers (the broker's admin_lock);
 * readers on other threads may go on calling rn_config_get meanwhile. -EINVAL with a reason
 * in err for an unknown, non-dynamic or invalid key. */
int rn_config_set_dynamic(struct rn_config *c, enum rn_cfg_layer layer, const char *key,
			  const char *val, char *err, size_t errlen);
/* The value of one layer, or NULL. Valid as long as c. */
const char *rn_config_layer_get(const struct rn_config *c, enum rn_cfg_layer layer,
				const char *key);
/* The value from server.properties or --set, or NULL when the key was not set there. */
const char *rn_config_static_get(const struct rn_config *c, const char *key);
const struct rn_cfg_def *rn_config_def(const char *key);

/* The effective value (per-broker dynamic, cluster dynamic, static, default). Values live as
 * long as c, even after the key is set again. NULL for a null default. */
const char *rn_config_get(const struct rn_config *c, const char *key);
int64_t rn_config_get_i64(const struct rn_config *c, const char *key);
bool rn_config_get_bool(const struct rn_config *c, const char *key);
/* True when no layer above the built-in default has a value. */
bool rn_config_is_default(const struct rn_config *c, const char *key);

/* The key table, for --help and DescribeConfigs on the broker resource. */
const struct rn_cfg_def *rn_config_defs(size_t *n);

/* Parses a value of the given type; 0 or -EINVAL. */
int rn_cfg_parse_i64(const char *s, int64_t *out);
int rn_cfg_parse_bool(const char *s, bool *out);
/* compression.type values: producer, uncompressed, gzip, snappy, lz4, zstd. */
bool rn_cfg_codec_valid(const char *v);
/* cleanup.policy values: a list of compact and delete. */
bool rn_cfg_policy_valid(const char *v);

#endif
