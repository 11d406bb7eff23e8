/*
 * The group coordinator service: __consumer_offsets setup and replay, the coordinator lock,
 * the timer thread, and the hooks that persist group metadata (see groups.h).
 */
#include "broker/groups.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "broker/coord_wait.h"
#include "broker/topics.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "group/parts.h"
#include "group/persist.h"
#include "group/tombstones.h"
#include "proto/kerr.h"
#include "replica/replica.h"
#include "storage/partition.h"

static struct {
	struct rn_broker *b;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stop;
	bool closed; /* stopping: handlers answer COORDINATOR_NOT_AVAILABLE */
	struct rn_gc *gc;
	struct rn_gc_config gcfg;
	/* __consumer_offsets, referenced while running; in a cluster NULL until it exists */
	struct rn_topic *topic;
	int32_t nparts;
	struct rn_gc_parts parts; /* the partitions coordinated here */
	struct rn_gc_pseqs *seqs; /* per partition: producers' transactional offset commits */
	int64_t expire_every_ms;
	int32_t metadata_max;
	/* Leadership changes from replica threads, handled by the coordinator thread. */
	pthread_mutex_t evlock;
	struct rn_gc_part_events ev;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .cond = PTHREAD_COND_INITIALIZER,
       .evlock = PTHREAD_MUTEX_INITIALIZER};

/* Under the lock: __consumer_offsets once it exists (a cluster creates it on the first
 * FindCoordinator, any broker may), with the partition table sized for it. */
static bool have_topic(void)
{
	if (S.topic)
		return true;
	S.topic = rn_topic_get(S.b, RN_OFFSETS_TOPIC, strlen(RN_OFFSETS_TOPIC));
	if (!S.topic)
		return false;
	S.nparts = S.topic->npart;
	rn_gc_parts_init(&S.parts, S.nparts, !S.b->clustered);
	S.seqs = rn_calloc((size_t)S.nparts + 1, sizeof(*S.seqs));
	return true;
}

static struct rn_topic_part *slot_of(const char *group)
{
	if (!have_topic())
		return NULL;
	return &S.topic->parts[rn_gc_partition_for(group, S.nparts)];
}

struct rn_replica_part *rn_groups_rp(const char *group)
{
	struct rn_topic_part *tp = slot_of(group);
	return tp ? tp->rp : NULL;
}

void rn_groups_wait(const char *group, int64_t end, bool needs_flush,
		    void (*cb)(void *arg, int16_t kerr), void *arg)
{
	if (!have_topic()) {
		cb(arg, RN_KERR_UNKNOWN_TOPIC_OR_PARTITION);
		return;
	}
	rn_coord_wait(S.b, S.topic, rn_gc_partition_for(group, S.nparts), end, needs_flush, cb,
		      arg);
}

int rn_groups_write(const char *group, const struct rn_gc_rec *recs, int n,
		    struct rn_append_info *ai, struct rn_partition **pp)
{
	struct rn_topic_part *tp = slot_of(group);
	struct rn_partition *p = tp ? tp->log : NULL;
	if (pp)
		*pp = p;
	if (!p)
		return RN_EOFFLINE;
	/* A cluster: only the partition's leader writes it (the coordinator may learn that it
	 * lost the partition a moment after the replica layer did). */
	int32_t epoch;
	if (S.b->clustered && (!rn_gc_parts_owned(&S.parts, rn_gc_partition_for(group, S.nparts)) ||
			       !tp->rp || rn_replica_leader(tp->rp, &epoch) != 0))
		return RN_ENOTLEADER;
	struct rn_append_info tmp;
	int rc = rn_gc_write(p, recs, n, rn_wall_ms(), ai ? ai : &tmp);
	if (rc < 0)
		rn_warn("group %s: cannot write to %s: %s", group, RN_OFFSETS_TOPIC,
			rn_strerror(rc));
	return rc;
}

int rn_groups_write_txn(const char *group, int64_t pid, int16_t epoch, const struct rn_gc_rec *recs,
			int n, struct rn_append_info *ai)
{
	struct rn_topic_part *tp = slot_of(group);
	struct rn_partition *p = tp ? tp->log : NULL;
	if (!p)
		return RN_EOFFLINE;
	int32_t idx = rn_gc_partition_for(group, S.nparts), epoch_l;
	if (S.b->clustered && (!rn_gc_parts_owned(&S.parts, idx) || !tp->rp ||
			       rn_replica_leader(tp->rp, &epoch_l) != 0))
		return RN_ENOTLEADER;
	int rc = 0;
	/* A duplicate means our view of the producer's sequence was behind: step past it. */
	for (int attempt = 0; attempt < 3; attempt++) {
		int32_t seq = rn_gc_pseqs_next(&S.seqs[idx], pid, epoch);
		struct rn_buf b = {0};
		rn_gc_txn_batch(&b, recs, n, rn_wall_ms(), pid, epoch, seq);
		*ai = (struct rn_append_info){0};
		rc = rn_partition_append(p, b.data, b.len, ai);
		rn_buf_free(&b);
		if (rc == 0)
			rn_gc_pseqs_batch(&S.seqs[idx], pid, epoch, seq + n - 1);
		if (rc < 0 || !ai->duplicate)
			break;
		rn_warn("group %s: transactional offset commit of producer %lld at sequence %d "
			"was a duplicate, writing it again",
			group, (long long)pid, seq);
	}
	if (rc < 0)
		rn_warn("group %s: cannot write a transactional offset commit to %s: %s", group,
			RN_OFFSETS_TOPIC, rn_strerror(rc));
	return rc;
}

static void group_stored(void *arg, struct rn_group *g)
{
	(void)arg;
	struct rn_buf k = {0}, v = {0};
	rn_gc_key_group(&k, g->id);
	rn_gc_value_group(&v, g, rn_wall_ms());
	g->has_stored = true;
	struct rn_gc_rec r = {k.data, (int32_t)k.len, v.data, (int32_t)v.len};
	rn_groups_write(g->id, &r, 1, NULL, NULL);
	rn_buf_free(&k);
	rn_buf_free(&v);
}

int32_t rn_groups_metadata_max(void)
{
	return S.metadata_max;
}

struct rn_gc *rn_groups_lock(void)
{
	pthread_mutex_lock(&S.lock);
	if (!S.gc || S.closed) {
		pthread_mutex_unlock(&S.lock);
		return NULL;
	}
	return S.gc;
}

struct rn_gc *rn_groups_lock_group(const char *group, int16_t *err)
{
	*err = RN_KERR_NONE;
	struct rn_gc *gc = rn_groups_lock();
	if (!gc) {
		*err = RN_KERR_COORDINATOR_NOT_AVAILABLE;
		return NULL;
	}
	/* Invalid ids go on to the coordinator, which answers INVALID_GROUP_ID as Kafka does
	 * before it looks for the group's partition. */
	if (!group || !*group)
		return gc;
	int16_t e = have_topic()
			? rn_gc_parts_status(&S.parts, rn_gc_partition_for(group, S.nparts))
			: RN_KERR_NOT_COORDINATOR;
	if (e != RN_KERR_NONE) {
		pthread_mutex_unlock(&S.lock);
		*err = e;
		return NULL;
	}
	return gc;
}

void rn_groups_unlock(void)
{
	pthread_mutex_unlock(&S.lock);
}

static int write_recs(const char *group, const struct rn_gc_recs *r)
{
	struct rn_gc_rec *v = rn_gc_recs_view(r);
	int rc = r->n ? rn_groups_write(group, v, r->n, NULL, NULL) : 0;
	rn_free(v);
	return rc;
}

int rn_groups_delete(struct rn_group *g)
{
	struct rn_gc_recs r = {0};
	rn_gc_tombstone_offsets(g, &r);
	rn_gc_tombstone_group(g, &r);
	int rc = write_recs(g->id, &r);
	rn_gc_recs_free(&r);
	if (rc == 0)
		rn_gc_group_remove(S.gc, g);
	return rc;
}

/* Writes the tombstones in r (freed), with the group's own when it is left Dead (Kafka drops a
 * Dead group's metadata in the same batch), and forgets a Dead group only once that is
 * durable. Returns write_recs' code. */
static int write_reaping(struct rn_group *g, struct rn_gc_recs *r)
{
	bool dead = rn_gc_group_dead(g);
	if (dead)
		rn_gc_tombstone_group(g, r);
	int rc = write_recs(g->id, r);
	rn_gc_recs_free(r);
	if (dead && rc == 0)
		rn_gc_group_remove(S.gc, g);
	return rc;
}

/* offsets.retention.minutes: expired offsets get tombstones; an Empty group left with no
 * offsets is Dead and removed, with its metadata tombstone in the same batch, as Kafka's
 * cleanupGroupMetadata does. */
static void expire_group(struct rn_group *g, void *arg)
{
	int64_t now = *(int64_t *)arg;
	struct rn_gc_recs r = {0};
	int n = rn_gc_expire_tombstones(S.gc, g, now, &r);
	if (n)
		rn_info("group %s: %d committed offset(s) expired", g->id, n);
	write_reaping(g, &r);
}

static void tombstone_cb(struct rn_group *g, const char *topic, int32_t part, void *arg)
{
	rn_gc_tombstone_offset(g, topic, part, arg);
}

struct dropped {
	const char *topic;
	int n;
};

/* A deleted topic's offsets get tombstones, and a group they leave Dead goes with its metadata
 * tombstone in the same batch (Kafka's handleDeletedPartitions). */
static void drop_topic_group(struct rn_group *g, void *arg)
{
	struct dropped *d = arg;
	struct rn_gc_recs r = {0};
	int n = rn_gc_offsets_drop_topic(g, d->topic, tombstone_cb, &r);
	if (!n)
		return;
	d->n += n;
	int rc = write_reaping(g, &r);
	if (rc < 0)
		rn_warn("group %s: cannot write tombstones for the offsets of deleted topic %s: %s",
			g->id, d->topic, rn_strerror(rc));
}

void rn_groups_topic_deleted(const char *topic)
{
	struct rn_gc *gc = rn_groups_lock();
	if (!gc)
		return;
	struct dropped d = {topic, 0};
	rn_gc_foreach(gc, drop_topic_group, &d);
	rn_groups_unlock();
	if (d.n)
		rn_info("topic %s deleted: removed %d committed offset(s)", topic, d.n);
}

/* ---- a cluster: partitions led here are coordinated here ---- */

static void group_stored(void *arg, struct rn_group *g);

struct drop {
	int32_t idx;
	int n;
};

/* Under the lock: a group of the resigned partition goes; its parked JoinGroup/SyncGroup get
 * NOT_COORDINATOR and its members find the new coordinator. */
static void drop_group(struct rn_group *g, void *arg)
{
	struct drop *d = arg;
	if (rn_gc_partition_for(g->id, S.nparts) != d->idx)
		return;
	rn_gc_abort_group(S.gc, g, RN_KERR_NOT_COORDINATOR);
	rn_gc_group_remove(S.gc, g);
	d->n++;
}

/* Under the lock, released while the log is read: loads partition idx into a scratch
 * coordinator and adopts its groups unless the partition moved on meanwhile (gen is stale).
 * Kafka's loadGroupsAndOffsets: the log is read to its end, not only to the high watermark:
 * what a previous leader wrote beyond it is kept by this leader and replicated. */
static void load_partition(int32_t idx, uint64_t gen)
{
	struct rn_partition *p = S.topic->parts[idx].log;
	if (!p) {
		rn_error("%s-%d: led here but its log is not open: its groups stay unavailable",
			 RN_OFFSETS_TOPIC, idx);
		return;
	}
	struct rn_gc_hooks hooks = {.group_stored = group_stored};
	struct rn_gc *scratch = rn_gc_new(&S.gcfg, &hooks);
	struct rn_gc_pseqs seqs = {0};
	pthread_mutex_unlock(&S.lock);
	int64_t n = 0, next = 0, t0 = rn_mono_us();
	int rc = rn_gc_replay_from(scratch, p, 0, rn_wall_ms(), &seqs, &n, &next);
	pthread_mutex_lock(&S.lock);
	if (rc < 0) {
		rn_error("loading %s-%d: %s", RN_OFFSETS_TOPIC, idx, rn_strerror(rc));
	} else if (rn_gc_parts_loaded(&S.parts, idx, gen)) {
		int k = rn_gc_adopt(S.gc, scratch);
		rn_gc_pseqs_free(&S.seqs[idx]);
		S.seqs[idx] = seqs;
		seqs = (struct rn_gc_pseqs){0};
		/* Markers a coordinator wrote meanwhile (their completion was ignored while the
		 * partition loaded) are in the log after next. */
		int64_t more = 0;
		if (rn_partition_log_end(p) > next)
			rn_gc_replay_from(S.gc, p, next, rn_wall_ms(), &S.seqs[idx], &more, NULL);
		rn_info("group coordinator for %s-%d (epoch %d): %d group(s) loaded from %lld "
			"record(s) in %.1f ms",
			RN_OFFSETS_TOPIC, idx, S.parts.v[idx].epoch, k, (long long)n,
			(double)(rn_mono_us() - t0) / 1000.0);
	}
	rn_gc_free(scratch);
	rn_gc_pseqs_free(&seqs);
}

static void handle_event(const struct rn_gc_part_event *e)
{
	if (e->leader) {
		uint64_t gen = rn_gc_parts_lead(&S.parts, e->idx, e->epoch);
		if (gen)
			load_partition(e->idx, gen);
	} else if (rn_gc_parts_resign(&S.parts, e->idx, e->epoch)) {
		struct drop d = {e->idx, 0};
		rn_gc_foreach(S.gc, drop_group, &d);
		rn_gc_pseqs_free(&S.seqs[e->idx]);
		rn_info("group coordinator for %s-%d resigned: %d group(s) unloaded",
			RN_OFFSETS_TOPIC, e->idx, d.n);
	}
}

/* Under the lock (released while partitions load). */
static void handle_events(void)
{
	struct rn_gc_part_events ev;
	pthread_mutex_lock(&S.evlock);
	rn_gc_part_events_take(&S.ev, &ev);
	pthread_mutex_unlock(&S.evlock);
	int i = 0;
	/* The topic table learns of the topic before its partitions are attached, so this is
	 * only a moment: keep the events for the next pass. */
	for (; i < ev.n && !S.stop && have_topic(); i++)
		handle_event(&ev.v[i]);
	if (i < ev.n && !S.stop) {
		pthread_mutex_lock(&S.evlock);
		rn_gc_part_events_requeue(&S.ev, &ev, i);
		pthread_mutex_unlock(&S.evlock);
	}
	rn_free(ev.v);
}

void rn_groups_partition_leadership(struct rn_broker *b, int32_t idx, bool leader, int32_t epoch)
{
	(void)b;
	pthread_mutex_lock(&S.evlock);
	rn_gc_part_events_push(&S.ev, idx, leader, epoch);
	pthread_mutex_unlock(&S.evlock);
	pthread_cond_signal(&S.cond);
}

static void *thread_main(void *arg)
{
	(void)arg;
	int64_t last_expire = rn_wall_ms();
	pthread_mutex_lock(&S.lock);
	while (!S.stop) {
		handle_events();
		int64_t now = rn_wall_ms();
		int64_t next = rn_gc_tick(S.gc, now);
		if (now - last_expire >= S.expire_every_ms) {
			rn_gc_foreach(S.gc, expire_group, &now);
			last_expire = now;
		}
		/* Timers fire within 50 ms; handlers never need to wake us. */
		int64_t wait = next - now;
		if (wait > 50)
			wait = 50;
		if (wait < 1)
			wait = 1;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)wait * 1000000;
		ts.tv_sec += ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&S.cond, &S.lock, &ts);
	}
	pthread_mutex_unlock(&S.lock);
	return NULL;
}

enum rn_kerr rn_groups_topic_create(struct rn_broker *b, char *msg, size_t msglen)
{
	struct rn_config *c = b->cfg;
	int32_t n = (int32_t)rn_config_get_i64(c, "offsets.topic.num.partitions");
	char seg[32];
	snprintf(seg, sizeof(seg), "%lld",
		 (long long)rn_config_get_i64(c, "offsets.topic.segment.bytes"));
	/* Kafka's groupMetadataTopicConfigs: compacted, so the log cleaner bounds it (the
	 * coordinator writes a tombstone wherever a key stops being live; retention leaves a
	 * compact-only topic alone). max.message.bytes, not Kafka's, leaves room for a large
	 * group's metadata record. */
	const struct rn_cfg_kv cfg[] = {
	    {(char *)"cleanup.policy", (char *)"compact"},
	    {(char *)"compression.type", (char *)"producer"},
	    {(char *)"segment.bytes", seg},
	    {(char *)"max.message.bytes", (char *)"10485760"},
	};
	return rn_topic_create(b, RN_OFFSETS_TOPIC, n > 0 ? n : 50, cfg,
			       (int)(sizeof(cfg) / sizeof(cfg[0])), false, msg, msglen);
}

static int ensure_topic(struct rn_broker *b)
{
	struct rn_topic *t = rn_topic_get(b, RN_OFFSETS_TOPIC, strlen(RN_OFFSETS_TOPIC));
	if (t) {
		rn_topic_put(b, t);
	} else {
		char msg[256];
		if (rn_groups_topic_create(b, msg, sizeof(msg)) != RN_KERR_NONE) {
			rn_error("cannot create %s: %s", RN_OFFSETS_TOPIC, msg);
			return -EIO;
		}
	}
	if (!have_topic())
		return -EIO;
	int32_t n = (int32_t)rn_config_get_i64(b->cfg, "offsets.topic.num.partitions");
	if (n > 0 && n != S.nparts)
		rn_warn("%s has %d partitions (offsets.topic.num.partitions=%d is used only when "
			"creating it)",
			RN_OFFSETS_TOPIC, S.nparts, n);
	return 0;
}

static int replay(void)
{
	int64_t t0 = rn_mono_us(), total = 0;
	for (int32_t i = 0; i < S.nparts; i++) {
		struct rn_partition *p = S.topic->parts[i].log;
		if (!p) {
			rn_error("%s-%d is offline: its groups are lost until it recovers",
				 RN_OFFSETS_TOPIC, i);
			continue;
		}
		int64_t n = 0;
		int rc = rn_gc_replay(S.gc, p, rn_wall_ms(), &n);
		total += n;
		if (rc < 0)
			rn_error("replaying %s-%d: %s", RN_OFFSETS_TOPIC, i, rn_strerror(rc));
	}
	rn_info("group coordinator: %d group(s) loaded from %lld record(s) in %.1f ms",
		rn_gc_ngroups(S.gc), (long long)total, (double)(rn_mono_us() - t0) / 1000.0);
	return 0;
}

int rn_groups_start(struct rn_broker *b)
{
	S.b = b;
	S.stop = false;
	S.closed = false;
	struct rn_config *c = b->cfg;
	struct rn_gc_config gcfg;
	rn_gc_config_default(&gcfg);
	gcfg.initial_delay_ms = rn_config_get_i64(c, "group.initial.rebalance.delay.ms");
	gcfg.min_session_ms = (int32_t)rn_config_get_i64(c, "group.min.session.timeout.ms");
	gcfg.max_session_ms = (int32_t)rn_config_get_i64(c, "group.max.session.timeout.ms");
	gcfg.max_size = (int32_t)rn_config_get_i64(c, "group.max.size");
	gcfg.offsets_retention_ms = rn_config_get_i64(c, "offsets.retention.minutes") * 60000;
	gcfg.metadata_max_bytes = (int32_t)rn_config_get_i64(c, "offset.metadata.max.bytes");
	S.metadata_max = gcfg.metadata_max_bytes;
	S.expire_every_ms = rn_config_get_i64(c, "offsets.retention.check.interval.ms");
	if (S.expire_every_ms <= 0)
		S.expire_every_ms = 600000;
	S.gcfg = gcfg;
	struct rn_gc_hooks hooks = {.group_stored = group_stored};
	if (b->clustered) {
		/* Created on the first FindCoordinator; partitions load as leadership comes. */
		pthread_mutex_lock(&S.lock);
		S.gc = rn_gc_new(&gcfg, &hooks);
		have_topic();
		pthread_mutex_unlock(&S.lock);
	} else {
		int rc = ensure_topic(b);
		if (rc < 0)
			return rc;
		S.gc = rn_gc_new(&gcfg, &hooks);
		replay();
	}
	if (pthread_create(&S.thread, NULL, thread_main, NULL) != 0) {
		rn_error("cannot start the group coordinator thread");
		return -EAGAIN;
	}
	S.running = true;
	rn__groups_metrics_register(b);
	return 0;
}

void rn_groups_stop(struct rn_broker *b)
{
	(void)b;
	if (!S.running)
		return;
	rn__groups_metrics_unregister();
	pthread_mutex_lock(&S.lock);
	S.stop = true;
	S.closed = true;
	/* Kafka's answer when a coordinator resigns: clients look for it again. */
	rn_gc_abort_all(S.gc, RN_KERR_NOT_COORDINATOR);
	pthread_cond_signal(&S.cond);
	pthread_mutex_unlock(&S.lock);
	pthread_join(S.thread, NULL);
	S.running = false;
}

void rn_groups_free(struct rn_broker *b)
{
	rn_groups_stop(b);
	pthread_mutex_lock(&S.lock);
	rn_gc_free(S.gc);
	S.gc = NULL;
	pthread_mutex_unlock(&S.lock);
	if (S.topic)
		rn_topic_put(b, S.topic);
	S.topic = NULL;
	for (int32_t i = 0; S.seqs && i < S.nparts; i++)
		rn_gc_pseqs_free(&S.seqs[i]);
	rn_free(S.seqs);
	S.seqs = NULL;
	rn_gc_parts_free(&S.parts);
	pthread_mutex_lock(&S.evlock);
	rn_free(S.ev.v);
	S.ev = (struct rn_gc_part_events){0};
	pthread_mutex_unlock(&S.evlock);
}

struct completion {
	int32_t idx;
	int64_t pid;
	bool commit;
	int n;
};

static void complete_group(struct rn_group *g, void *arg)
{
	struct completion *c = arg;
	if (g->ntxn && rn_gc_partition_for(g->id, S.nparts) == c->idx)
		c->n += rn_gc_txn_complete(g, c->pid, c->commit);
}

void rn_groups_txn_marker(int32_t idx, int64_t pid, int16_t epoch, bool commit)
{
	pthread_mutex_lock(&S.lock);
	if (S.gc && have_topic() && rn_gc_parts_owned(&S.parts, idx)) {
		struct completion c = {idx, pid, commit, 0};
		rn_gc_foreach(S.gc, complete_group, &c);
		rn_gc_pseqs_marker(&S.seqs[idx], pid, epoch);
		if (c.n)
			rn_debug("%s-%d: %s marker of producer %lld: %d transactional offset(s)",
				 RN_OFFSETS_TOPIC, idx, commit ? "COMMIT" : "ABORT", (long long)pid,
				 c.n);
	}
	pthread_mutex_unlock(&S.lock);
}
