/*
 * Kafka's dynamic listener TLS configs: AlterConfigs / IncrementalAlterConfigs on this
 * broker's resource with listener.name.<listener>.<ssl key> for the keys Kafka reconfigures
 * live (ssl.keystore.*, ssl.truststore.*, ssl.key.password). They are stored with the other
 * per-broker dynamic configs and laid over the listener's static ssl.* settings through
 * rn_tls_ctx_set_overrides; a listener's TLS context is the one named "listener <NAME>".
 * Private to config_alter.c (rn__ prefix) except rn_broker_tls_dynamic_apply.
 */
#ifndef RN_BROKER_CONFIG_TLS_H
#define RN_BROKER_CONFIG_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "meta/store.h"
#include "proto/kerr.h"

struct rn_broker;

/* listener.name.<l>.<key> with key one of the live-reconfigurable ssl.* names. */
bool rn__cfg_tls_key(const char *key);
/* One of those ssl.* names without the listener prefix (Kafka refuses them dynamically). */
bool rn__cfg_tls_unprefixed(const char *key);
/* Lays the listener keys of kv[0..n) (the whole per-broker set) over every TLS listener;
 * validate_only builds and discards. RN_KERR_NONE, or INVALID_REQUEST with Kafka's message
 * in msg and nothing changed on any listener (a later listener's failure after an earlier
 * one was installed is logged). A new keystore must keep the subject and the subject
 * alternative names of the current one unless ssl.allow.dn.changes / ssl.allow.san.changes
 * (static, per listener or global) say true, as Kafka's SslFactory requires. */
struct rn_config;
enum rn_kerr rn__cfg_tls_apply(const struct rn_config *cfg, const struct rn_cfg_kv *kv, int n,
			       bool validate_only, const char *res, char *msg, size_t msglen);

/* Start-up, once the listeners' TLS contexts exist (rn_broker_configs_load calls it):
 * installs the stored per-broker listener ssl configs. */
void rn_broker_tls_dynamic_apply(struct rn_broker *b);

#endif
