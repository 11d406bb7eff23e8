/*
 * The broker: the state every handler reaches through the request (config, metadata store,
 * log directory, flusher, topic table, metrics). One per process; its lifetime is serve.c's.
 */
#ifndef RN_BROKER_BROKER_H
#define RN_BROKER_BROKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/config.h"
#include "core/metrics.h"
#include "meta/store.h"
#include "storage/log_config.h"

struct rn_logdir;
struct rn_flusher;
struct rn_server;
struct rn_partition;
struct rn_http_admin;
struct rn_topic_waiter;
struct rn_replica_mgr;
struct rn_replica_part;
struct rn_controller;
struct rn_sasl_server;

#define RN_API_KEYS 70

struct rn_api_stats {
	_Atomic uint64_t requests;
	_Atomic uint64_t errors; /* requests that closed the connection */
	struct rn_hist latency;
};

struct rn_topic_stats {
	_Atomic uint64_t records_in, bytes_in, records_out, bytes_out;
	_Atomic uint64_t produce_requests, fetch_requests, failed_produce, failed_fetch;
	/* Records converted from (produce) or to (fetch) magic 0/1: broker/legacy.h. */
	_Atomic uint64_t produce_conversions, fetch_conversions;
};

/* A partition slot of a topic: the log and the fetches parked on it (long poll). */
struct rn_topic_part {
	struct rn_partition *log;   /* NULL also when this broker holds no replica of it */
	struct rn_replica_part *rp; /* replication state; NULL on a single broker */
	pthread_mutex_t wlock;
	struct rn_topic_waiter *waiters;
};

/*
 * A topic. Handlers hold a reference (rn_topic_get/rn_topic_put) while they use its partitions,
 * including while a fetch is parked, so deleting a topic only marks it: the partitions are
 * closed and their files removed when the last reference goes.
 */
struct rn_topic {
	char *name;
	uint8_t id[16];
	int32_t npart;
	struct rn_topic_part *parts;
	struct rn_cfg_kv *configs; /* overrides, owned */
	int nconfigs;
	struct rn_log_config logcfg; /* under rn_topics_cfg_lock: alters change it */
	_Atomic int compression; /* logcfg.compression, for produce and fetch without the lock */
	_Atomic int refs;
	_Atomic bool deleted;
	struct rn_topic_stats stats;
	struct rn_topic *hnext;    /* hash chain */
	struct rn_topic *id_hnext; /* hash chain by topic id */
	/* A cluster: slots this object gave up to a newer copy (broker/topics_int.h). */
	struct rn_topic_retired *retired;
};

struct rn_broker {
	struct rn_config *cfg;
	int32_t node_id;
	char adv_host[256]; /* the inter-broker listener's advertised address */
	int adv_port;
	struct rn_listeners *listeners; /* broker/listeners.h; NULL in tests without serve */
	char *log_dir;
	bool auto_create;
	int32_t num_partitions;
	int32_t message_max_bytes;

	struct rn_meta *meta;
	struct rn_logdir *logdir;
	struct rn_flusher *flusher;
	struct rn_server *server;
	struct rn_http_admin *admin;
	/* A cluster (metadata.store=etcd://...): all three set; a single broker has none. */
	bool clustered;
	struct rn_replica_mgr *replica;
	/* authorizer.class.name set: ACLs are enforced (auth/acl.h); NULL: everything allowed. */
	struct rn_authorizer *authorizer;
	/* SASL listeners' mechanisms, PLAIN users, SCRAM credentials (auth/sasl.h). */
	struct rn_sasl_server *sasl;
	struct rn_controller *controller;

	pthread_rwlock_t topics_lock; /* guards the hash table, not the topics */
	struct rn_topic **buckets;
	struct rn_topic **id_buckets; /* by topic id, as many buckets as by name */
	uint32_t nbuckets;
	uint32_t ntopics;
	struct rn_topic *graveyard; /* deleted topics still referenced */
	pthread_mutex_t admin_lock; /* serialises create/delete/alter */

	struct rn_api_stats api[RN_API_KEYS];
	_Atomic uint64_t unknown_api_requests;
	int64_t started_ms;
	_Atomic bool stopping; /* shutting down: parked fetches answer at once */
};

#endif
