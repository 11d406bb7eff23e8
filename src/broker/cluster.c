/*
 * The store listener and the worker that keeps the topic table in step with the cluster's
 * metadata (broker/cluster.h). Why a worker: the store's watch thread must not block, and
 * opening a log, detaching a replica (which waits for its fetcher) or deleting files can; the
 * worker also keeps every table change on one thread, in the store's order.
 */
#include "broker/cluster.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/config_alter.h"
#include "broker/groups.h"
#include "broker/partition_meta.h"
#include "broker/topics_int.h"
#include "broker/txns.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "storage/logdir.h"
#include "storage/partition.h"

enum ev_kind { EV_TOPIC, EV_TOPIC_DELETED, EV_PARTITION, EV_BROKER_CONFIGS, EV_RELEASE };

struct ev {
	enum ev_kind kind;
	char *topic; /* owned */
	int32_t idx;
	struct rn_pstate st;
	struct rn_topic *t; /* EV_RELEASE */
	bool replay;        /* posted by the listener's replay of the present */
	struct ev *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;    /* the worker: work queued, or stop */
	pthread_cond_t changed; /* waiters: the worker applied something */
	struct ev *head, *tail;
	bool running;   /* events are taken */
	bool replaying; /* rn_meta_add_listener is replaying the present */
	bool stopping;  /* the worker drains releases and exits */
	pthread_t thread;
	struct rn_broker *b;
	uint64_t posted, done;
	_Atomic bool coord_open;
	_Atomic bool hooks_off; /* shutting down: the table is about to go */
} C = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .wake = PTHREAD_COND_INITIALIZER,
       .changed = PTHREAD_COND_INITIALIZER};

static void post(struct ev *e)
{
	pthread_mutex_lock(&C.lock);
	if (!C.running) {
		pthread_mutex_unlock(&C.lock);
		rn_free(e->topic);
		rn_free(e);
		return;
	}
	e->replay = C.replaying;
	if (C.tail)
		C.tail->next = e;
	else
		C.head = e;
	C.tail = e;
	C.posted++;
	pthread_cond_signal(&C.wake);
	pthread_mutex_unlock(&C.lock);
}

static struct ev *ev_new(enum ev_kind kind, const char *topic)
{
	struct ev *e = rn_calloc(1, sizeof(*e));
	e->kind = kind;
	e->topic = topic ? rn_strdup(topic) : NULL;
	return e;
}

/* Store listener callbacks (the watch thread): queue and return. */

static void on_topic(void *arg, const char *name, bool deleted)
{
	(void)arg;
	post(ev_new(deleted ? EV_TOPIC_DELETED : EV_TOPIC, name));
}

static void on_partition(void *arg, const char *topic, int32_t idx, const struct rn_pstate *st)
{
	(void)arg;
	struct ev *e = ev_new(EV_PARTITION, topic);
	e->idx = idx;
	e->st = *st;
	post(e);
}

static void on_broker_configs(void *arg)
{
	(void)arg;
	post(ev_new(EV_BROKER_CONFIGS, NULL));
}

/* The worker's side. */

struct meta_copy {
	const char *name;
	bool found;
	uint8_t id[16];
	int32_t partitions;
	struct rn_cfg_kv *cfg;
	int ncfg;
};

static void copy_one(const struct rn_meta_topic *mt, void *arg)
{
	struct meta_copy *mc = arg;
	if (mc->found || strcmp(mt->name, mc->name) != 0)
		return;
	mc->found = true;
	memcpy(mc->id, mt->id, 16);
	mc->partitions = mt->partitions;
	for (int i = 0; i < mt->nconfigs; i++)
		rn_cfg_kv_set(&mc->cfg, &mc->ncfg, mt->configs[i].key, mt->configs[i].val);
}

/* A copy of the store's record of name, made under the store's lock (the watch thread may
 * change the record meanwhile). */
static bool meta_topic(struct rn_broker *b, const char *name, struct meta_copy *mc)
{
	memset(mc, 0, sizeof(*mc));
	mc->name = name;
	rn_meta_topics_foreach(b->meta, copy_one, mc);
	return mc->found;
}

static void meta_copy_free(struct meta_copy *mc)
{
	for (int i = 0; i < mc->ncfg; i++) {
		rn_free(mc->cfg[i].key);
		rn_free(mc->cfg[i].val);
	}
	rn_free(mc->cfg);
}

static bool configs_equal(const struct rn_topic *t, const struct meta_copy *mc)
{
	if (t->nconfigs != mc->ncfg)
		return false;
	for (int i = 0; i < mc->ncfg; i++) {
		bool hit = false;
		for (int j = 0; j < t->nconfigs && !hit; j++)
			hit = !strcmp(t->configs[j].key, mc->cfg[i].key) &&
			      !strcmp(t->configs[j].val, mc->cfg[i].val);
		if (!hit)
			return false;
	}
	return true;
}

/* Opens and attaches slot idx of the unpublished t when this broker is one of its replicas.
 * Returns true when the slot got a replica (the caller applies *st once t is published). */
static bool slot_open(struct rn_broker *b, struct rn_topic *t, int32_t idx, bool fresh,
		      struct rn_pstate *st)
{
	if (rn_meta_partition_get(b->meta, t->name, idx, st) < 0)
		return false; /* its state comes with a partition event */
	if (!rn_pstate_has(st->replicas, st->nreplicas, b->node_id))
		return false;
	/* A topic new to the cluster can have no data here: whatever a directory of that name
	 * holds is left from an older topic of the same name (deleted while we were away). */
	if (fresh) {
		int rc = rn_logdir_delete_partition(b->logdir, t->name, idx);
		if (rc == 0)
			rn_warn("partition %s-%d: removed a stale log left by an older topic",
				t->name, idx);
	}
	struct rn_partition *log;
	int rc = rn_logdir_open_partition(b->logdir, t->name, idx, &t->logcfg, true, &log);
	if (rc == 0 &&
	    rn_partition_meta_check(rn_logdir_path(b->logdir), t->name, idx, t->id) == 1) {
		/* The directory is an older topic's of the same name: its data is not ours. */
		rn_warn("partition %s-%d: the log on disk belongs to an older topic of this name; "
			"removed",
			t->name, idx);
		rn_logdir_delete_partition(b->logdir, t->name, idx);
		rc = rn_logdir_open_partition(b->logdir, t->name, idx, &t->logcfg, true, &log);
		if (rc == 0)
			rn_partition_meta_check(rn_logdir_path(b->logdir), t->name, idx, t->id);
	}
	if (rc < 0) {
		rn_error("cannot open partition %s-%d: %s", t->name, idx, rn_strerror(rc));
		return false;
	}
	t->parts[idx].log = log;
	t->parts[idx].rp = rn_replica_attach(b->replica, t->name, idx, log);
	return t->parts[idx].rp != NULL;
}

/* Applies states to the published topic name's slots (outside admin_lock: a leadership hook
 * may reach the coordinators, which look topics up). */
static void apply_published(struct rn_broker *b, const char *name, int32_t from, int32_t to,
			    const bool *opened, const struct rn_pstate *st)
{
	struct rn_topic *t = rn_topic_get(b, name, strlen(name));
	if (!t)
		return;
	for (int32_t i = from; i < to && i < t->npart; i++)
		if (opened[i - from] && t->parts[i].rp)
			rn_replica_apply(b->replica, t->parts[i].rp, &st[i - from]);
	rn_topic_put(b, t);
}

static void forget_topic(struct rn_broker *b, struct rn_topic *t)
{
	rn__topic_unpublish(b, t);
	pthread_mutex_unlock(&b->admin_lock);
	char *name = rn_strdup(t->name);
	rn_topic_put(b, t); /* the table's */
	/* Every broker drops the committed offsets of the groups it coordinates. */
	rn_groups_topic_deleted(name);
	rn_info("topic %s deleted", name);
	rn_free(name);
	pthread_mutex_lock(&b->admin_lock);
}

/* Builds slots [from, to) of nt (unpublished) and publishes it, replacing old (NULL: new). */
static void publish(struct rn_broker *b, struct rn_topic *old, struct rn_topic *nt, int32_t from,
		    bool fresh)
{
	int32_t n = nt->npart - from, here = 0;
	bool *opened = rn_calloc((size_t)n + 1, sizeof(bool));
	struct rn_pstate *st = rn_calloc((size_t)n + 1, sizeof(*st));
	for (int32_t i = 0; i < n; i++)
		here += (opened[i] = slot_open(b, nt, from + i, fresh, &st[i]));
	if (old) {
		rn__topic_swap(b, old, nt);
	} else {
		pthread_rwlock_wrlock(&b->topics_lock);
		rn__table_insert(b, nt);
		pthread_rwlock_unlock(&b->topics_lock);
	}
	char name[256];
	snprintf(name, sizeof(name), "%s", nt->name);
	pthread_mutex_unlock(&b->admin_lock);
	apply_published(b, name, from, nt->npart, opened, st);
	pthread_mutex_lock(&b->admin_lock);
	if (old)
		rn_info("topic %s now has %d partition(s), %d more here", name, nt->npart, here);
	else
		rn_info("topic %s: %d partition(s), %d replicated here", name, nt->npart, here);
	rn_free(opened);
	rn_free(st);
}

/* A topic record appeared or changed: the table gets it, grows it or takes its configs.
 * Returns false when it must be retried later (a deleted namesake still has data here). */
static bool sync_topic(struct rn_broker *b, const char *name, bool fresh)
{
	struct meta_copy mc;
	if (!meta_topic(b, name, &mc))
		return true; /* deleted since: its deletion event follows */
	bool done = true;
	pthread_mutex_lock(&b->admin_lock);
	struct rn_topic *t = rn__table_find(b, name);
	if (t && memcmp(t->id, mc.id, 16) != 0) {
		forget_topic(b, t); /* deleted and created again while we were not looking */
		t = rn__table_find(b, name);
	}
	if (!t && rn__in_graveyard(b, name)) {
		done = false;
	} else if (!t) {
		struct rn_topic *nt = rn__topic_new(b, name, mc.id, mc.partitions, mc.cfg, mc.ncfg);
		publish(b, NULL, nt, 0, fresh);
	} else {
		if (!configs_equal(t, &mc))
			rn_topic_configs_reload(b, t, mc.cfg, mc.ncfg);
		if (mc.partitions > t->npart)
			publish(b, t, rn__topic_copy(b, t, mc.partitions), t->npart, false);
	}
	pthread_mutex_unlock(&b->admin_lock);
	meta_copy_free(&mc);
	return done;
}

static void delete_topic(struct rn_broker *b, const char *name)
{
	struct meta_copy mc;
	bool again = meta_topic(b, name, &mc);
	pthread_mutex_lock(&b->admin_lock);
	struct rn_topic *t = rn__table_find(b, name);
	/* A namesake created since keeps its entry (sync_topic replaces by id). */
	if (t && !(again && memcmp(t->id, mc.id, 16) == 0))
		forget_topic(b, t);
	pthread_mutex_unlock(&b->admin_lock);
	if (again)
		meta_copy_free(&mc);
}

/* This broker stopped being a replica of slot idx of t: the old object retires the slot (its
 * replica is detached and its log deleted when the last user of that object goes). */
static void retire_slot(struct rn_broker *b, struct rn_topic *t, int32_t idx)
{
	struct rn_topic *nt = rn__topic_copy(b, t, t->npart);
	struct rn_topic_retired *r = rn_calloc(1, sizeof(*r));
	r->idx = idx;
	r->log = t->parts[idx].log;
	r->rp = t->parts[idx].rp;
	r->next = t->retired;
	t->retired = r;
	nt->parts[idx].log = NULL;
	nt->parts[idx].rp = NULL;
	rn_info("partition %s-%d: this broker is no longer a replica", nt->name, idx);
	rn__topic_swap(b, t, nt);
}

static void partition_changed(struct rn_broker *b, const char *name, int32_t idx,
			      const struct rn_pstate *st)
{
	pthread_mutex_lock(&b->admin_lock);
	struct rn_topic *t = rn__table_find(b, name);
	if (!t) {
		pthread_mutex_unlock(&b->admin_lock);
		return; /* the topic's own event reads every state from the store */
	}
	if (idx >= t->npart) {
		pthread_mutex_unlock(&b->admin_lock);
		sync_topic(b, name, false);
		return;
	}
	bool local = rn_pstate_has(st->replicas, st->nreplicas, b->node_id);
	struct rn_topic_part *slot = &t->parts[idx];
	if (local && !slot->log) {
		struct rn_topic *nt = rn__topic_copy(b, t, t->npart);
		struct rn_pstate cur;
		bool opened = slot_open(b, nt, idx, false, &cur);
		rn__topic_swap(b, t, nt);
		pthread_mutex_unlock(&b->admin_lock);
		if (opened)
			apply_published(b, name, idx, idx + 1, &opened, &cur);
		rn_info("partition %s-%d: this broker is now a replica", name, idx);
		return;
	}
	struct rn_replica_part *rp = slot->rp;
	if (rp) /* also when leaving: the manager stops following first */
		rn_replica_apply(b->replica, rp, st);
	if (!local && slot->log)
		retire_slot(b, t, idx);
	pthread_mutex_unlock(&b->admin_lock);
}

static void handle(struct rn_broker *b, struct ev *e)
{
	switch (e->kind) {
	case EV_TOPIC:
		if (!sync_topic(b, e->topic, !e->replay)) {
			/* Rare: a deleted namesake's last user (a parked fetch) has not gone yet.
			 * Queue it again behind the release that will come. */
			usleep(10 * 1000);
			struct ev *again = ev_new(EV_TOPIC, e->topic);
			post(again);
		}
		break;
	case EV_TOPIC_DELETED: delete_topic(b, e->topic); break;
	case EV_PARTITION: partition_changed(b, e->topic, e->idx, &e->st); break;
	case EV_BROKER_CONFIGS: rn_broker_configs_reload(b); break;
	case EV_RELEASE: rn__topic_release(b, e->t); break;
	}
}

static void *worker_main(void *arg)
{
	struct rn_broker *b = arg;
	pthread_mutex_lock(&C.lock);
	for (;;) {
		while (!C.head && !C.stopping)
			pthread_cond_wait(&C.wake, &C.lock);
		struct ev *e = C.head;
		if (!e)
			break;
		C.head = e->next;
		if (!C.head)
			C.tail = NULL;
		pthread_mutex_unlock(&C.lock);
		if (!C.stopping || e->kind == EV_RELEASE)
			handle(b, e);
		rn_free(e->topic);
		rn_free(e);
		pthread_mutex_lock(&C.lock);
		C.done++;
		pthread_cond_broadcast(&C.changed);
	}
	pthread_mutex_unlock(&C.lock);
	return NULL;
}

/* Data on disk for a partition this broker does not replicate (a topic deleted, or a replica
 * moved, while it was down). Kafka deletes such stray logs; Runnel leaves them for an operator
 * and says so: a topic created again under that name removes them (slot_open). */
static void stray_one(const char *topic, int32_t idx, void *arg)
{
	struct rn_broker *b = arg;
	struct rn_topic *t = rn_topic_get(b, topic, strlen(topic));
	if (!t || idx >= t->npart || !t->parts[idx].log)
		rn_warn("partition directory %s-%d holds data for a partition the cluster does not "
			"place on this broker; left on disk",
			topic, idx);
	if (t)
		rn_topic_put(b, t);
}

static void wait_done(uint64_t target)
{
	pthread_mutex_lock(&C.lock);
	while (C.done < target && C.running)
		pthread_cond_wait(&C.changed, &C.lock);
	pthread_mutex_unlock(&C.lock);
}

int rn_cluster_start(struct rn_broker *b)
{
	pthread_mutex_lock(&C.lock);
	C.b = b;
	C.running = true;
	C.stopping = false;
	C.replaying = true;
	atomic_store(&C.hooks_off, false);
	pthread_mutex_unlock(&C.lock);
	int rc = pthread_create(&C.thread, NULL, worker_main, b);
	if (rc != 0) {
		C.running = false;
		return -rc;
	}
	const struct rn_meta_listener l = {
	    .topic = on_topic,
	    .partition = on_partition,
	    .broker_configs = on_broker_configs,
	    .arg = b,
	};
	rc = rn_meta_add_listener(b->meta, &l);
	pthread_mutex_lock(&C.lock);
	C.replaying = false;
	uint64_t target = C.posted;
	pthread_mutex_unlock(&C.lock);
	if (rc < 0) {
		rn_cluster_stop(b);
		return rc;
	}
	wait_done(target);
	rn_logdir_scan(b->logdir, stray_one, b);
	return 0;
}

void rn_cluster_stop(struct rn_broker *b)
{
	(void)b;
	pthread_mutex_lock(&C.lock);
	if (!C.running) {
		pthread_mutex_unlock(&C.lock);
		return;
	}
	C.stopping = true;
	atomic_store(&C.hooks_off, true);
	pthread_cond_signal(&C.wake);
	pthread_mutex_unlock(&C.lock);
	pthread_join(C.thread, NULL);
	pthread_mutex_lock(&C.lock);
	C.running = false;
	pthread_cond_broadcast(&C.changed);
	pthread_mutex_unlock(&C.lock);
}

bool rn_cluster_defer_release(struct rn_broker *b, struct rn_topic *t)
{
	(void)b;
	pthread_mutex_lock(&C.lock);
	bool ok = C.running && !C.stopping;
	/* The worker itself may post while stopping: it drains releases before it exits. */
	if (C.running && C.stopping && pthread_equal(pthread_self(), C.thread))
		ok = true;
	pthread_mutex_unlock(&C.lock);
	if (!ok)
		return false;
	struct ev *e = ev_new(EV_RELEASE, NULL);
	e->t = t;
	post(e);
	return true;
}

static bool table_shows(struct rn_broker *b, const char *name, const uint8_t *id, int32_t npart)
{
	struct rn_topic *t = rn_topic_get(b, name, strlen(name));
	bool match = t && (!id || memcmp(t->id, id, 16) == 0);
	bool ok = npart < 0 ? !match : match && t->npart >= npart;
	if (t)
		rn_topic_put(b, t);
	return ok;
}

bool rn_cluster_wait_topic(struct rn_broker *b, const char *name, const uint8_t *id, int32_t npart,
			   int64_t timeout_ms)
{
	int64_t deadline = rn_mono_us() + timeout_ms * 1000;
	pthread_mutex_lock(&C.lock);
	for (;;) {
		pthread_mutex_unlock(&C.lock);
		if (table_shows(b, name, id, npart))
			return true;
		pthread_mutex_lock(&C.lock);
		int64_t left = deadline - rn_mono_us();
		if (left <= 0 || !C.running)
			break;
		/* The worker broadcasts after every event; a short cap covers one applied between
		 * the check above and this wait. */
		if (left > 50 * 1000)
			left = 50 * 1000;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(left % 1000000) * 1000;
		ts.tv_sec += (time_t)(left / 1000000) + ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&C.changed, &C.lock, &ts);
	}
	pthread_mutex_unlock(&C.lock);
	return false;
}

/* Replica hooks (replica threads, or the worker inside rn_replica_apply). */

static void hook_leadership(void *arg, const char *topic, int32_t idx, bool leader, int32_t epoch)
{
	struct rn_broker *b = arg;
	if (!atomic_load(&C.coord_open))
		return;
	if (!strcmp(topic, RN_OFFSETS_TOPIC))
		rn_groups_partition_leadership(b, idx, leader, epoch);
	else if (!strcmp(topic, RN_TXN_TOPIC))
		rn_txns_partition_leadership(b, idx, leader, epoch);
}

static void hook_advanced(void *arg, const char *topic, int32_t idx)
{
	struct rn_broker *b = arg;
	if (atomic_load(&C.hooks_off))
		return;
	struct rn_topic *t = rn_topic_get(b, topic, strlen(topic));
	if (!t)
		return;
	if (idx >= 0 && idx < t->npart)
		rn_topic_notify(t, idx);
	rn_topic_put(b, t);
}

void rn_cluster_hooks(struct rn_broker *b, struct rn_replica_hooks *out)
{
	out->leadership = hook_leadership;
	out->advanced = hook_advanced;
	out->arg = b;
}

static void replay_leadership(struct rn_broker *b, const char *name)
{
	struct rn_topic *t = rn_topic_get(b, name, strlen(name));
	if (!t)
		return;
	for (int32_t i = 0; i < t->npart; i++) {
		if (!t->parts[i].rp)
			continue;
		struct rn_pstate st;
		rn_replica_state(t->parts[i].rp, &st);
		if (st.leader == b->node_id)
			hook_leadership(b, name, i, true, st.leader_epoch);
	}
	rn_topic_put(b, t);
}

void rn_cluster_coord_open(struct rn_broker *b)
{
	atomic_store(&C.coord_open, true);
	/* A leadership applied before the coordinators started was not passed on. One applied
	 * between the store above and this replay reaches them twice (they take that). */
	replay_leadership(b, RN_OFFSETS_TOPIC);
	replay_leadership(b, RN_TXN_TOPIC);
}

void rn_cluster_coord_close(struct rn_broker *b)
{
	(void)b;
	atomic_store(&C.coord_open, false);
}
