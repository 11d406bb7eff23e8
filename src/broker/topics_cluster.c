/*
 * Topic creation, growth and deletion in a cluster: the broker that takes the request decides
 * the replica placement over the live brokers (rn_placement_assign) and writes it to the store
 * in one transaction, which refuses a name already taken; every broker's table, this one's too,
 * then follows through the store listener (cluster.c). The request is answered once this
 * broker's table shows the change, so a client that creates a topic and produces to it at once
 * finds it.
 */
#include <stdio.h>
#include <string.h>

#include "broker/cluster.h"
#include "broker/groups.h"
#include "broker/topics_int.h"
#include "broker/txns.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "replica/controller.h"

/* How long an admin request waits for its own change to reach this broker's table. */
#define TABLE_WAIT_MS 10000

/* The live brokers, sorted by id; the caller frees *out. */
static int live_brokers(struct rn_broker *b, struct rn_broker_reg **out)
{
	int cap = 16;
	for (;;) {
		struct rn_broker_reg *r = rn_calloc((size_t)cap, sizeof(*r));
		int n = rn_meta_brokers(b->meta, r, cap);
		if (n <= cap) {
			*out = r;
			return n;
		}
		rn_free(r);
		cap = n;
	}
}

static bool registered(const struct rn_broker_reg *br, int nb, int32_t id)
{
	for (int i = 0; i < nb; i++)
		if (br[i].id == id)
			return true;
	return false;
}

/* Kafka's checks of a manual assignment (ReplicationControlManager), on one partition. want is
 * the replica count the others have (-1: the first partition sets it). */
static enum rn_kerr check_replicas(const struct rn_assignment *as, int32_t want,
				   const struct rn_broker_reg *br, int nb, char *msg, size_t msglen)
{
	if (as->n <= 0) {
		snprintf(msg, msglen,
			 "The manual partition assignment includes an empty replica "
			 "list.");
		return RN_KERR_INVALID_REPLICA_ASSIGNMENT;
	}
	for (int32_t i = 0; i < as->n; i++) {
		if (!registered(br, nb, as->ids[i])) {
			snprintf(msg, msglen,
				 "The manual partition assignment includes broker %d, but no such "
				 "broker is registered.",
				 as->ids[i]);
			return RN_KERR_INVALID_REPLICA_ASSIGNMENT;
		}
		for (int32_t j = 0; j < i; j++) {
			if (as->ids[j] == as->ids[i]) {
				snprintf(msg, msglen,
					 "The manual partition assignment includes the broker %d "
					 "more than once.",
					 as->ids[i]);
				return RN_KERR_INVALID_REPLICA_ASSIGNMENT;
			}
		}
	}
	if (want >= 0 && as->n != want) {
		snprintf(msg, msglen,
			 "The manual partition assignment includes a partition with %d replica(s), "
			 "but this is not consistent with previous partitions, which have %d "
			 "replica(s).",
			 as->n, want);
		return RN_KERR_INVALID_REPLICA_ASSIGNMENT;
	}
	if (as->n > RN_MAX_REPLICAS) {
		snprintf(msg, msglen, "At most %d replicas per partition are supported.",
			 RN_MAX_REPLICAS);
		return RN_KERR_INVALID_REPLICATION_FACTOR;
	}
	return RN_KERR_NONE;
}

/* Validates and flattens n manual assignments into flat[i * rf + r]; *rf set (want: the
 * topic's factor, -1 to take the first partition's). */
static enum rn_kerr flatten(const struct rn_assignment *as, int32_t n, int32_t want,
			    const struct rn_broker_reg *br, int nb, int32_t **flat, int32_t *rf,
			    char *msg, size_t msglen)
{
	*flat = NULL;
	for (int32_t p = 0; p < n; p++) {
		enum rn_kerr e = check_replicas(&as[p], p ? as[0].n : want, br, nb, msg, msglen);
		if (e != RN_KERR_NONE)
			return e;
	}
	*rf = as[0].n;
	*flat = rn_calloc((size_t)n * (size_t)*rf, sizeof(int32_t));
	for (int32_t p = 0; p < n; p++)
		memcpy(*flat + (size_t)p * (size_t)*rf, as[p].ids, (size_t)*rf * sizeof(int32_t));
	return RN_KERR_NONE;
}

/* The replication factor a topic gets when the request leaves it to the broker. Deviation
 * from Kafka: the internal topics take their factor capped at the live brokers, where Kafka
 * answers COORDINATOR_NOT_AVAILABLE until that many brokers exist. */
static int32_t default_rf(struct rn_broker *b, const char *name, int nlive)
{
	const char *key = "default.replication.factor";
	if (!strcmp(name, RN_OFFSETS_TOPIC))
		key = "offsets.topic.replication.factor";
	else if (!strcmp(name, RN_TXN_TOPIC))
		key = "transaction.state.log.replication.factor";
	int32_t rf = (int32_t)rn_config_get_i64(b->cfg, key);
	if (key[0] != 'd' && rf > nlive)
		rf = nlive > 0 ? nlive : 1;
	return rf;
}

static enum rn_kerr place(struct rn_broker *b, const struct rn_broker_reg *br, int nb,
			  int32_t first, int32_t n, int32_t rf, int32_t **flat, char *msg,
			  size_t msglen)
{
	*flat = NULL;
	if (rf > nb || rf > RN_MAX_REPLICAS) {
		snprintf(msg, msglen,
			 "Unable to replicate the partition %d time(s): The target replication "
			 "factor of %d cannot be reached because only %d broker(s) are registered.",
			 rf, rf, nb);
		return RN_KERR_INVALID_REPLICATION_FACTOR;
	}
	*flat = rn_calloc((size_t)n * (size_t)rf, sizeof(int32_t));
	int rc = rn_placement_assign(br, nb, first, n, rf, *flat);
	if (rc < 0) {
		snprintf(msg, msglen, "cannot place the replicas: %s", rn_strerror(rc));
		rn_free(*flat);
		*flat = NULL;
		return RN_KERR_INVALID_REPLICATION_FACTOR;
	}
	(void)b;
	return RN_KERR_NONE;
}

/* A store write's failure as the client sees it. */
static enum rn_kerr store_error(int rc, const char *what, char *msg, size_t msglen)
{
	if (rc == RN_EUNAVAILABLE) {
		snprintf(msg, msglen, "The metadata store is unavailable; %s not done", what);
		return RN_KERR_REQUEST_TIMED_OUT; /* retriable, as a controller timeout in Kafka */
	}
	snprintf(msg, msglen, "cannot record %s: %s", what, rn_strerror(rc));
	return RN_KERR_KAFKA_STORAGE_ERROR;
}

static enum rn_kerr exists_check(struct rn_broker *b, const char *name, char *msg, size_t msglen)
{
	struct rn_topic *t = rn_topic_get(b, name, strlen(name));
	if (t) {
		rn_topic_put(b, t);
		snprintf(msg, msglen, "Topic '%s' already exists.", name);
		return RN_KERR_TOPIC_ALREADY_EXISTS;
	}
	pthread_mutex_lock(&b->admin_lock);
	bool dying = rn__in_graveyard(b, name);
	pthread_mutex_unlock(&b->admin_lock);
	if (dying) {
		snprintf(msg, msglen, "Topic '%s' is marked for deletion.", name);
		return RN_KERR_TOPIC_ALREADY_EXISTS;
	}
	return RN_KERR_NONE;
}

enum rn_kerr rn__topic_create_cluster(struct rn_broker *b, const char *name, int32_t partitions,
				      int32_t rf, const struct rn_assignment *assign,
				      const struct rn_cfg_kv *cfg, int ncfg, bool validate_only,
				      bool wait, int32_t *rf_out, char *msg, size_t msglen)
{
	enum rn_kerr e = exists_check(b, name, msg, msglen);
	if (e != RN_KERR_NONE)
		return e;
	struct rn_broker_reg *br;
	int nb = live_brokers(b, &br);
	int32_t *flat = NULL;
	if (assign) {
		e = flatten(assign, partitions, -1, br, nb, &flat, &rf, msg, msglen);
	} else {
		if (rf == -1)
			rf = default_rf(b, name, nb);
		if (rf <= 0) {
			snprintf(msg, msglen,
				 "Replication factor must be larger than 0, or -1 to "
				 "use the default value.");
			e = RN_KERR_INVALID_REPLICATION_FACTOR;
		} else {
			e = place(b, br, nb, 0, partitions, rf, &flat, msg, msglen);
		}
	}
	rn_free(br);
	*rf_out = rf;
	if (e != RN_KERR_NONE || validate_only)
		goto out;
	uint8_t id[16];
	int rc = rn_meta_topic_create_assigned(b->meta, name, partitions, rf, flat, cfg, ncfg, id);
	if (rc == RN_EEXIST) {
		snprintf(msg, msglen, "Topic '%s' already exists.", name);
		e = RN_KERR_TOPIC_ALREADY_EXISTS;
		goto out;
	}
	if (rc < 0) {
		e = store_error(rc, "the topic", msg, msglen);
		goto out;
	}
	rn_info("topic %s created with %d partition(s), replication factor %d", name, partitions,
		rf);
	if (wait && !rn_cluster_wait_topic(b, name, id, partitions, TABLE_WAIT_MS))
		rn_warn("topic %s: created, but not yet in this broker's table after %d ms", name,
			TABLE_WAIT_MS);
out:
	rn_free(flat);
	return e;
}

enum rn_kerr rn__topic_delete_cluster(struct rn_broker *b, const char *name, char *msg,
				      size_t msglen)
{
	struct rn_topic *t = rn_topic_get(b, name, strlen(name));
	uint8_t id[16] = {0};
	if (t) {
		memcpy(id, t->id, 16);
		rn_topic_put(b, t);
	}
	int rc = rn_meta_topic_delete(b->meta, name);
	if (rc == RN_ENOTFOUND) {
		snprintf(msg, msglen, "This server does not host this topic-partition.");
		return RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
	}
	if (rc < 0)
		return store_error(rc, "the deletion", msg, msglen);
	if (!rn_cluster_wait_topic(b, name, t ? id : NULL, -1, TABLE_WAIT_MS))
		rn_warn("topic %s: deleted, but still in this broker's table after %d ms", name,
			TABLE_WAIT_MS);
	return RN_KERR_NONE;
}

static enum rn_kerr count_checks(struct rn_topic *t, int32_t count, char *msg, size_t msglen)
{
	if (count <= t->npart) {
		if (count == t->npart)
			snprintf(msg, msglen, "Topic already has %d partitions.", t->npart);
		else
			snprintf(msg, msglen,
				 "Topic currently has %d partitions, which is higher than the "
				 "requested %d.",
				 t->npart, count);
		return RN_KERR_INVALID_PARTITIONS;
	}
	if (count > 100000) {
		snprintf(msg, msglen, "Too many partitions.");
		return RN_KERR_INVALID_PARTITIONS;
	}
	return RN_KERR_NONE;
}

enum rn_kerr rn__topic_add_partitions_cluster(struct rn_broker *b, const char *name, int32_t count,
					      const struct rn_assignment *assign, int32_t nassign,
					      bool validate_only, char *msg, size_t msglen)
{
	struct rn_topic *t = rn_topic_get(b, name, strlen(name));
	if (!t) {
		snprintf(msg, msglen, "The topic '%s' does not exist.", name);
		return RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
	}
	int32_t old = t->npart;
	enum rn_kerr e = count_checks(t, count, msg, msglen);
	rn_topic_put(b, t);
	if (e != RN_KERR_NONE)
		return e;
	struct rn_pstate p0;
	int32_t rf = rn_meta_partition_get(b->meta, name, 0, &p0) == 0 ? p0.nreplicas : 1;
	struct rn_broker_reg *br;
	int nb = live_brokers(b, &br);
	int32_t *flat = NULL;
	if (assign && nassign != count - old) {
		snprintf(msg, msglen,
			 "Attempted to add %d additional partition(s), but only %d assignment(s) "
			 "were specified.",
			 count - old, nassign);
		e = RN_KERR_INVALID_REPLICA_ASSIGNMENT;
	} else if (assign) {
		e = flatten(assign, nassign, rf, br, nb, &flat, &rf, msg, msglen);
	} else {
		e = place(b, br, nb, old, count - old, rf, &flat, msg, msglen);
	}
	rn_free(br);
	if (e != RN_KERR_NONE || validate_only)
		goto out;
	int rc = rn_meta_topic_add_partitions_assigned(b->meta, name, count, rf, flat);
	if (rc == RN_ENOTFOUND) {
		snprintf(msg, msglen, "The topic '%s' does not exist.", name);
		e = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
		goto out;
	}
	if (rc < 0) {
		e = store_error(rc, "the partitions", msg, msglen);
		goto out;
	}
	rn_info("topic %s now has %d partitions", name, count);
	if (!rn_cluster_wait_topic(b, name, NULL, count, TABLE_WAIT_MS))
		rn_warn("topic %s: grown, but not yet in this broker's table after %d ms", name,
			TABLE_WAIT_MS);
out:
	rn_free(flat);
	return e;
}
