/*
 * Changing configs at run time (AlterConfigs, IncrementalAlterConfigs): topic overrides and the
 * broker's dynamic keys, validated as Kafka validates them, made durable in the metadata store
 * and then applied at once (partitions get their new rn_log_config; a broker default reaches
 * every topic that does not override it). Callers run on any thread; changes are serialised by
 * the broker's admin_lock.
 */
#ifndef RN_BROKER_CONFIG_ALTER_H
#define RN_BROKER_CONFIG_ALTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "meta/store.h"
#include "proto/kerr.h"
#include "proto/prim.h"

/* DescribeConfigs config sources (Kafka's ConfigSource ids). */
enum rn_cfg_source {
	RN_CFG_SRC_DYNAMIC_TOPIC = 1,
	RN_CFG_SRC_DYNAMIC_BROKER = 2,
	RN_CFG_SRC_DYNAMIC_DEFAULT = 3,
	RN_CFG_SRC_STATIC_BROKER = 4,
	RN_CFG_SRC_DEFAULT = 5,
};

/* IncrementalAlterConfigs operations. */
enum rn_cfg_op {
	RN_CFG_OP_SET = 0,
	RN_CFG_OP_DELETE = 1,
	RN_CFG_OP_APPEND = 2,
	RN_CFG_OP_SUBTRACT = 3
};

/* One requested change; val NULL for DELETE. */
struct rn_cfg_change {
	const char *key;
	const char *val;
	int8_t op;
};

struct rn_ctx;
/* Checks a broker resource name: "" (cluster default) or this node's id. On false, *err and
 * msg hold Kafka's INVALID_REQUEST answer. */
bool rn_broker_resource_ok(struct rn_ctx *ctx, struct rn_str name, int16_t *err, char *msg,
			   size_t msglen);

/* Applies changes to topic name. replace: AlterConfigs semantics (the changes become the whole
 * override set); else incremental. validate_only checks everything and changes nothing.
 * Returns a Kafka error code with Kafka's message in msg. */
enum rn_kerr rn_topic_alter_configs(struct rn_broker *b, const char *name,
				    const struct rn_cfg_change *ch, int n, bool replace,
				    bool validate_only, char *msg, size_t msglen);

/* The same for the broker's dynamic keys; per_broker selects the "<node id>" layer, else the
 * cluster default (""). */
enum rn_kerr rn_broker_alter_configs(struct rn_broker *b, bool per_broker,
				     const struct rn_cfg_change *ch, int n, bool replace,
				     bool validate_only, char *msg, size_t msglen);

/* Start-up: loads the broker's dynamic configs from the metadata store into b->cfg (before
 * the topics are loaded, so they resolve against them). Invalid stored values are skipped
 * with a warning. */
void rn_broker_configs_load(struct rn_broker *b);
/* A cluster: another broker altered the stored dynamic broker configs; both layers are made
 * what the store holds, as AlterConfigs installs them. Takes admin_lock. */
void rn_broker_configs_reload(struct rn_broker *b);
/* A cluster: topic t's stored override set changed elsewhere; installs kv[0..n) (copied) as
 * rn_topic_alter_configs does. Caller holds admin_lock. */
void rn_topic_configs_reload(struct rn_broker *b, struct rn_topic *t, const struct rn_cfg_kv *kv,
			     int n);

#endif
