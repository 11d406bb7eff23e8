/*
 * The etcd store's insides, shared by store_etcd*.c. A full cache of the cluster prefix, kept by
 * one watch thread; writes are txns (store_etcd.c, store_etcd_cluster.c); the lease thread
 * keeps this broker's session (store_etcd_session.c).
 *
 * Locks, in the order they may be taken: lmu (one listener callback at a time, and listener
 * registration) before lock (the cache: readers share it; the watch thread writes). rev_mu only
 * guards rev's condition variable; pid_mu and sess_mu are leaves.
 */
#ifndef RN_META_STORE_ETCD_INT_H
#define RN_META_STORE_ETCD_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "meta/cluster.h"
#include "meta/etcd.h"
#include "meta/sec_table.h"

struct es_topic {
	struct rn_meta_topic t; /* t.name owned */
	int64_t mod_rev, gen;
	struct es_topic *hnext; /* the name hash's chain */
};

struct es_part {
	bool present;
	struct rn_pstate st;
	int64_t mod_rev, gen;
};

/* Partition states of one topic name, kept apart from the topic record: a load or a watch may
 * deliver them in any order. */
struct es_ptab {
	char *topic;
	struct es_part *p;
	int n;
	struct es_ptab *hnext;
};

#define ES_HASH 4096 /* buckets of the name hashes (topics, partition tables) */

struct es_broker {
	struct rn_broker_reg reg;
	int64_t mod_rev, gen, lease;
};

/* A change heard by the watch, told to the listeners once its whole revision is cached. */
/* NOTE_SEC: a security record of namespace topic changed (its watch hears it, not listeners). */
enum es_note_kind {
	NOTE_TOPIC,
	NOTE_PARTITION,
	NOTE_BROKERS,
	NOTE_CONTROLLER,
	NOTE_BCFG,
	NOTE_SEC
};
struct es_note {
	enum es_note_kind kind;
	char *topic;
	int32_t idx;
	bool deleted;
	struct rn_pstate st;
	int32_t id, epoch;
};

struct rn__es {
	struct rn__etcd *etcd;
	char *prefix; /* "/runnel/": every key starts with it */
	char *dir;
	int32_t node_id;
	char cluster_id[32];

	pthread_rwlock_t lock; /* the cache below */
	struct es_topic **topics;
	int ntopics, captopics;
	/* Replaced topic records: rn_meta_topic_get's pointers stay valid until close. */
	struct es_topic **retired;
	int nretired, capretired;
	struct es_ptab **ptabs; /* never removed before close */
	int nptabs, capptabs;
	struct es_topic **thash; /* ES_HASH buckets, by name */
	struct es_ptab **phash;
	struct es_broker *brokers; /* sorted by id */
	int nbrokers, capbrokers;
	int32_t ctrl_id, ctrl_epoch;
	int64_t ctrl_mod_rev, ctrl_gen, ctrl_lease;
	struct rn_meta_topic bcfg[2]; /* [0] cluster default "", [1] "<node id>" */
	int64_t bcfg_mod_rev[2], bcfg_gen[2];
	struct rn__sec sec; /* P/sec/<ns>/<key>; its watches are told by rn__es_notes_flush */
	int64_t gen;        /* the current load's mark (store_etcd_cache.c) */

	pthread_mutex_t rev_mu;
	pthread_cond_t rev_cond;
	int64_t rev; /* every change up to this revision is cached */

	struct es_note *notes; /* pending, watch thread only */
	int nnotes, capnotes;

	pthread_mutex_t lmu;
	struct rn_meta_listener *ls;
	int nls;

	pthread_t watch_thr;
	bool watch_started;
	atomic_bool stop;
	atomic_bool watch_kick;      /* the lease thread saw the watch fall behind: reconnect */
	atomic_bool watch_hold;      /* tests: stay disconnected (rn__es_watch_hold) */
	struct rn__etcd_wsock wsock; /* the watch's socket, for stop and kick */
	atomic_llong watch_streams;  /* streams made so far (1 while the first one lasts) */
	atomic_llong wait_timeouts;  /* writes that gave up waiting for the watch */

	pthread_mutex_t pid_mu;
	int64_t pid_next, pid_end;

	/* The session (store_etcd_session.c). */
	pthread_mutex_t sess_mu;
	pthread_cond_t sess_cond;
	struct rn_broker_reg self;
	bool registered, sess_thr_started, sess_told_valid;
	int64_t session_ms, hb_ms;
	atomic_llong ttl_ms; /* what etcd granted */
	atomic_llong lease;
	atomic_llong ack_sent_ms; /* when the last acknowledged keepalive (or grant) was sent */
	pthread_t sess_thr;
};

#define ES_WRITE_TIMEOUT_MS 2000
/* How long a writer waits for the watch to bring its write into the cache: the watch delivers
 * in milliseconds, so this much means it is stuck (and it is made again). */
#define ES_CACHE_WAIT_MS 1500

/* store_etcd_cache.c: applying keys to the cache (lock held for writing). */
void rn__es_cache_put(struct rn__es *es, const char *key, const char *val, size_t vlen,
		      int64_t mod_rev, int64_t lease);
void rn__es_cache_del(struct rn__es *es, const char *key);
/* Mark and sweep for a full load: begin bumps the mark, every put marks its key, end deletes
 * what no put marked. Puts with an unchanged mod_revision change nothing and say nothing. */
void rn__es_cache_begin(struct rn__es *es);
void rn__es_cache_end(struct rn__es *es);
void rn__es_cache_free(struct rn__es *es);
/* Tells the listeners every pending note (lmu taken here; lock not held). */
void rn__es_notes_flush(struct rn__es *es);
struct es_topic *rn__es_topic_find(struct rn__es *es, const char *name);
/* A visible partition state (its topic exists and counts it), NULL otherwise. */
struct es_part *rn__es_part_find(struct rn__es *es, const char *topic, int32_t idx);
/* How many of pt's entries are visible: the first min(pt->n, topic's partitions). */
int32_t rn__es_visible_parts(struct rn__es *es, const struct es_ptab *pt);

/* store_etcd_watch.c */
/* Loads the whole prefix into the cache (mark and sweep) and notes the differences. */
int rn__es_load(struct rn__es *es);
int rn__es_watch_start(struct rn__es *es);
void rn__es_watch_stop(struct rn__es *es);
/* Makes the watch drop its stream at once and make a new one (another endpoint's, when
 * elsewhere has been marked failed). */
void rn__es_watch_kick(struct rn__es *es);
/* Waits (up to ES_CACHE_WAIT_MS) until the cache holds revision rev, so a writer reads its own
 * write. Returns at once on the watch thread itself, which applies revisions in order. */
void rn__es_wait_rev(struct rn__es *es, int64_t rev);
int64_t rn__es_rev(struct rn__es *es);

/* store_etcd_json.c: values to and from their stored JSON; parse returns -1 on bad data. */
char *rn__es_topic_json(const struct rn_meta_topic *t);
int rn__es_topic_parse(const char *val, size_t vlen, struct rn_meta_topic *t);
char *rn__es_pstate_json(const struct rn_pstate *st);
int rn__es_pstate_parse(const char *val, size_t vlen, struct rn_pstate *st);
char *rn__es_broker_json(const struct rn_broker_reg *b);
int rn__es_broker_parse(const char *val, size_t vlen, struct rn_broker_reg *b);
char *rn__es_cfg_json(const struct rn_cfg_kv *kv, int n);
int rn__es_cfg_parse(const char *val, size_t vlen, struct rn_meta_topic *t);
char *rn__es_controller_json(int32_t id, int32_t epoch);
int rn__es_controller_parse(const char *val, size_t vlen, int32_t *id, int32_t *epoch);
/* A JSON string or number holding an integer ("\"42\"" or "42"). */
char *rn__es_num_json(int64_t n);
int rn__es_num_parse(const char *val, size_t vlen, int64_t *out);
void rn__es_topic_clear(struct rn_meta_topic *t);
/* prefix + rel, heap copy. */
char *rn__es_key(const struct rn__es *es, const char *rel);

/* The current value of one key read from etcd itself (not the cache): 0 with *val (heap, NULL
 * when absent) and *mod_rev (0 when absent), or an error as rn__etcd_call. */
int rn__es_get(struct rn__es *es, const char *rel, char **val, size_t *vlen, int64_t *mod_rev);
/* The revision a txn answer's header names: the txn's own when it wrote. Only then is it one
 * the watch delivers (other prefixes move etcd's revision too). */
int64_t rn__es_resp_rev(const json_t *resp);
/* The mod_revision of the key a failed txn's first failure op (a range) read; 0 if absent. */
int64_t rn__es_fail_rev(const json_t *resp);

/* store_etcd_topics.c: as rn_meta_topic_create_assigned / rn_meta_topic_add_partitions_assigned
 * (assign NULL: the topic record alone). */
int rn__es_topic_create_assigned(struct rn__es *es, const char *name, int32_t partitions,
				 int32_t rf, const int32_t *assign, const struct rn_cfg_kv *cfg,
				 int ncfg, uint8_t id_out[16]);
int rn__es_topic_add_partitions_assigned(struct rn__es *es, const char *name, int32_t partitions,
					 int32_t rf, const int32_t *assign);

/* store_etcd_session.c */
void rn__es_session_stop(struct rn__es *es);
/* Tells the listeners session(valid) (lmu taken here). */
void rn__es_tell_session(struct rn__es *es, bool valid);

#endif
