/* The transaction coordinator's state machine (see txn.h). */
#include "txn/txn.h"

#include <string.h>

#include "core/alloc.h"
#include "group/records.h"
#include "proto/kerr.h"
#include "txn/txn_int.h"

#define NBUCKETS 1024

struct rn_tc {
	struct rn_tc_config cfg;
	struct rn_txn *by_id[NBUCKETS];
	struct rn_txn *by_pid[NBUCKETS];
	int n;
};

const char *rn_txn_state_name(enum rn_txn_state s)
{
	static const char *const names[] = {"Empty",        "Ongoing",        "PrepareCommit",
					    "PrepareAbort", "CompleteCommit", "CompleteAbort",
					    "Dead"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "Unknown";
}

int32_t rn_tc_partition_for(const char *id, int32_t n)
{
	return rn_gc_partition_for(id, n); /* the same Java hash as groups */
}

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static uint32_t pid_bucket(int64_t pid)
{
	return (uint32_t)(((uint64_t)pid * 0x9e3779b97f4a7c15ull) >> 40) % NBUCKETS;
}

struct rn_tc *rn_tc_new(const struct rn_tc_config *cfg)
{
	struct rn_tc *tc = rn_calloc(1, sizeof(*tc));
	tc->cfg = *cfg;
	return tc;
}

static void clear_txn(struct rn_txn *t)
{
	for (int i = 0; i < t->nparts; i++)
		rn_free(t->parts[i].topic);
	for (int i = 0; i < t->ngroups; i++)
		rn_free(t->groups[i]);
	for (int i = 0; i < t->noffsets; i++) {
		rn_free(t->offsets[i].group);
		rn_free(t->offsets[i].topic);
		rn_free(t->offsets[i].metadata);
	}
	t->nparts = t->ngroups = t->noffsets = 0;
}

static void free_txn(struct rn_txn *t)
{
	clear_txn(t);
	rn_free(t->parts);
	rn_free(t->groups);
	rn_free(t->offsets);
	rn_free(t->id);
	rn_free(t);
}

static void unlink_pid(struct rn_tc *tc, struct rn_txn *t)
{
	if (t->pid < 0)
		return;
	for (struct rn_txn **pp = &tc->by_pid[pid_bucket(t->pid)]; *pp; pp = &(*pp)->pnext) {
		if (*pp == t) {
			*pp = t->pnext;
			return;
		}
	}
}

static void link_pid(struct rn_tc *tc, struct rn_txn *t)
{
	if (t->pid < 0)
		return;
	uint32_t b = pid_bucket(t->pid);
	t->pnext = tc->by_pid[b];
	tc->by_pid[b] = t;
}

void rn_tc_free(struct rn_tc *tc)
{
	if (!tc)
		return;
	for (int i = 0; i < NBUCKETS; i++) {
		struct rn_txn *t = tc->by_id[i];
		while (t) {
			struct rn_txn *next = t->hnext;
			free_txn(t);
			t = next;
		}
	}
	rn_free(tc);
}

struct rn_txn *rn_tc_find(struct rn_tc *tc, const char *id)
{
	for (struct rn_txn *t = tc->by_id[str_hash(id) % NBUCKETS]; t; t = t->hnext)
		if (!strcmp(t->id, id))
			return t;
	return NULL;
}

struct rn_txn *rn_tc_find_pid(struct rn_tc *tc, int64_t pid)
{
	for (struct rn_txn *t = tc->by_pid[pid_bucket(pid)]; t; t = t->pnext)
		if (t->pid == pid)
			return t;
	return NULL;
}

void rn_tc_foreach(struct rn_tc *tc, void (*cb)(struct rn_txn *t, void *arg), void *arg)
{
	for (int i = 0; i < NBUCKETS; i++) {
		struct rn_txn *t = tc->by_id[i];
		while (t) {
			struct rn_txn *next = t->hnext; /* cb may remove t */
			cb(t, arg);
			t = next;
		}
	}
}

int rn_tc_count(const struct rn_tc *tc)
{
	return tc->n;
}

bool rn_tc_expired(const struct rn_tc *tc, const struct rn_txn *t, int64_t now)
{
	bool idle = t->state == RN_TXN_EMPTY || t->state == RN_TXN_COMPLETE_COMMIT ||
		    t->state == RN_TXN_COMPLETE_ABORT;
	return idle && now - t->update_ms >= tc->cfg.id_expiration_ms;
}

void rn_tc_remove(struct rn_tc *tc, struct rn_txn *t)
{
	unlink_pid(tc, t);
	for (struct rn_txn **pp = &tc->by_id[str_hash(t->id) % NBUCKETS]; *pp; pp = &(*pp)->hnext) {
		if (*pp == t) {
			*pp = t->hnext;
			tc->n--;
			break;
		}
	}
	free_txn(t);
}

int rn_tc_adopt(struct rn_tc *dst, struct rn_tc *src)
{
	int n = 0;
	for (int i = 0; i < NBUCKETS; i++) {
		struct rn_txn *t = src->by_id[i];
		src->by_id[i] = NULL;
		while (t) {
			struct rn_txn *next = t->hnext;
			struct rn_txn *old = rn_tc_find(dst, t->id);
			if (old)
				rn_tc_remove(dst, old);
			uint32_t b = str_hash(t->id) % NBUCKETS;
			t->hnext = dst->by_id[b];
			dst->by_id[b] = t;
			dst->n++;
			link_pid(dst, t);
			n++;
			t = next;
		}
	}
	for (int i = 0; i < NBUCKETS; i++)
		src->by_pid[i] = NULL;
	src->n = 0;
	return n;
}

/* Creates an entry (no producer id yet). */
static struct rn_txn *create(struct rn_tc *tc, const char *id)
{
	struct rn_txn *t = rn_calloc(1, sizeof(*t));
	t->id = rn_strdup(id);
	t->pid = t->last_pid = -1;
	t->epoch = t->last_epoch = -1;
	t->state = RN_TXN_EMPTY;
	uint32_t b = str_hash(id) % NBUCKETS;
	t->hnext = tc->by_id[b];
	tc->by_id[b] = t;
	tc->n++;
	return t;
}

struct rn_txn *rn__tc_get_or_create(struct rn_tc *tc, const char *id)
{
	struct rn_txn *t = rn_tc_find(tc, id);
	return t ? t : create(tc, id);
}
void rn__tc_set_pid(struct rn_tc *tc, struct rn_txn *t, int64_t pid)
{
	unlink_pid(tc, t);
	t->pid = pid;
	link_pid(tc, t);
}

/* Next epoch for t, or a new producer id when the epoch is exhausted (Kafka bumps to a new id
 * before Short.MaxValue). Returns 0 or the allocator's error. */
static int bump(struct rn_tc *tc, struct rn_txn *t, rn_tc_pid_fn alloc, void *arg)
{
	t->last_pid = t->pid;
	t->last_epoch = t->epoch;
	if (t->pid >= 0 && t->epoch < INT16_MAX - 1) {
		t->epoch++;
		return 0;
	}
	int64_t pid;
	int rc = alloc(arg, &pid);
	if (rc < 0)
		return rc;
	rn__tc_set_pid(tc, t, pid);
	t->epoch = 0;
	return 0;
}

int16_t rn_tc_init_pid(struct rn_tc *tc, const char *id, int32_t timeout_ms, int64_t req_pid,
		       int16_t req_epoch, int64_t now, rn_tc_pid_fn alloc, void *arg,
		       struct rn_txn **out, bool *abort)
{
	*out = NULL;
	*abort = false;
	int16_t own = tc->cfg.owns ? tc->cfg.owns(tc->cfg.owns_arg, id) : RN_KERR_NONE;
	if (own != RN_KERR_NONE)
		return own;
	if (timeout_ms <= 0 || timeout_ms > tc->cfg.max_timeout_ms)
		return RN_KERR_INVALID_TRANSACTION_TIMEOUT;
	struct rn_txn *t = rn_tc_find(tc, id);
	if (!t)
		t = create(tc, id);
	if (req_pid >= 0 && t->pid >= 0) {
		/* KIP-360: the producer names its current id and epoch; a retry of an init that
		 * already bumped names the previous ones and gets the current answer again. */
		bool current = req_pid == t->pid && req_epoch == t->epoch;
		bool previous = req_pid == t->last_pid && req_epoch == t->last_epoch;
		if (previous && t->state == RN_TXN_EMPTY) {
			*out = t;
			return RN_KERR_NONE;
		}
		/* The previous epoch also names a producer whose transaction timed out (the
		 * abort bumped the epoch under it): it may start again. */
		if (!current && !previous)
			return RN_KERR_PRODUCER_FENCED;
	}
	switch (t->state) {
	case RN_TXN_PREPARE_COMMIT:
	case RN_TXN_PREPARE_ABORT: *out = t; return RN_KERR_CONCURRENT_TRANSACTIONS;
	case RN_TXN_ONGOING:
		/* Fence the old epoch and abort its transaction first. */
		if (bump(tc, t, alloc, arg) < 0)
			return RN_KERR_UNKNOWN_SERVER_ERROR;
		t->state = RN_TXN_PREPARE_ABORT;
		t->update_ms = now;
		*out = t;
		*abort = true;
		return RN_KERR_CONCURRENT_TRANSACTIONS;
	default: break;
	}
	if (bump(tc, t, alloc, arg) < 0)
		return RN_KERR_UNKNOWN_SERVER_ERROR;
	clear_txn(t);
	t->state = RN_TXN_EMPTY;
	t->timeout_ms = timeout_ms;
	t->start_ms = -1;
	t->update_ms = now;
	*out = t;
	return RN_KERR_NONE;
}

int16_t rn_tc_check(struct rn_tc *tc, const char *id, int64_t pid, int16_t epoch,
		    int16_t fenced_code, struct rn_txn **out)
{
	*out = NULL;
	int16_t own = tc->cfg.owns ? tc->cfg.owns(tc->cfg.owns_arg, id) : RN_KERR_NONE;
	if (own != RN_KERR_NONE)
		return own;
	struct rn_txn *t = rn_tc_find(tc, id);
	*out = t;
	if (!t || t->pid < 0 || t->pid != pid)
		return RN_KERR_INVALID_PRODUCER_ID_MAPPING;
	if (epoch != t->epoch)
		return fenced_code;
	if (t->state == RN_TXN_PREPARE_COMMIT || t->state == RN_TXN_PREPARE_ABORT)
		return RN_KERR_CONCURRENT_TRANSACTIONS;
	return RN_KERR_NONE;
}

static uint32_t part_hash(const char *topic, int32_t partition)
{
	return str_hash(topic) * 31u + (uint32_t)partition;
}

static void begin(struct rn_txn *t, int64_t now)
{
	if (t->state != RN_TXN_ONGOING) {
		clear_txn(t);
		t->state = RN_TXN_ONGOING;
		t->start_ms = now;
	}
	t->update_ms = now;
}

bool rn_tc_has_partition(const struct rn_txn *t, const char *topic, int32_t partition)
{
	if (t->state != RN_TXN_ONGOING)
		return false;
	uint32_t h = part_hash(topic, partition);
	for (int i = 0; i < t->nparts; i++)
		if (t->parts[i].hash == h && t->parts[i].partition == partition &&
		    !strcmp(t->parts[i].topic, topic))
			return true;
	return false;
}

bool rn_tc_add_partition(struct rn_txn *t, const char *topic, int32_t partition, int64_t now)
{
	if (rn_tc_has_partition(t, topic, partition))
		return false;
	begin(t, now);
	if (t->nparts == t->partcap) {
		t->partcap = t->partcap ? t->partcap * 2 : 4;
		t->parts = rn_realloc(t->parts, (size_t)t->partcap * sizeof(*t->parts));
	}
	t->parts[t->nparts++] =
	    (struct rn_txn_part){rn_strdup(topic), partition, part_hash(topic, partition)};
	return true;
}

bool rn_tc_has_group(const struct rn_txn *t, const char *group)
{
	if (t->state != RN_TXN_ONGOING)
		return false;
	for (int i = 0; i < t->ngroups; i++)
		if (!strcmp(t->groups[i], group))
			return true;
	return false;
}

bool rn_tc_add_group(struct rn_txn *t, const char *group, int64_t now)
{
	if (rn_tc_has_group(t, group))
		return false;
	begin(t, now);
	if (t->ngroups == t->groupcap) {
		t->groupcap = t->groupcap ? t->groupcap * 2 : 2;
		t->groups = rn_realloc(t->groups, (size_t)t->groupcap * sizeof(*t->groups));
	}
	t->groups[t->ngroups++] = rn_strdup(group);
	return true;
}

void rn_tc_add_offset(struct rn_txn *t, const struct rn_txn_offset *o)
{
	for (int i = 0; i < t->noffsets; i++) {
		struct rn_txn_offset *x = &t->offsets[i];
		if (x->partition == o->partition && !strcmp(x->group, o->group) &&
		    !strcmp(x->topic, o->topic)) {
			x->offset = o->offset;
			x->leader_epoch = o->leader_epoch;
			rn_free(x->metadata);
			x->metadata = o->metadata ? rn_strdup(o->metadata) : NULL;
			return;
		}
	}
	if (t->noffsets == t->offsetcap) {
		t->offsetcap = t->offsetcap ? t->offsetcap * 2 : 8;
		t->offsets = rn_realloc(t->offsets, (size_t)t->offsetcap * sizeof(*t->offsets));
	}
	t->offsets[t->noffsets++] = (struct rn_txn_offset){
	    rn_strdup(o->group), rn_strdup(o->topic), o->partition,
	    o->offset,           o->leader_epoch,     o->metadata ? rn_strdup(o->metadata) : NULL};
}

int16_t rn_tc_end(struct rn_tc *tc, const char *id, int64_t pid, int16_t epoch, bool commit,
		  int16_t fenced_code, int64_t now, struct rn_txn **out)
{
	struct rn_txn *t;
	int16_t err = rn_tc_check(tc, id, pid, epoch, fenced_code, &t);
	*out = t;
	if (err == RN_KERR_CONCURRENT_TRANSACTIONS && t) {
		/* A retried EndTxn while its markers are being written: same outcome, retry. */
		bool same = (t->state == RN_TXN_PREPARE_COMMIT) == commit;
		return same ? RN_KERR_CONCURRENT_TRANSACTIONS : RN_KERR_INVALID_TXN_STATE;
	}
	if (err != RN_KERR_NONE || !t)
		return err;
	switch (t->state) {
	case RN_TXN_ONGOING:
		t->state = commit ? RN_TXN_PREPARE_COMMIT : RN_TXN_PREPARE_ABORT;
		t->update_ms = now;
		return RN_KERR_NONE;
	case RN_TXN_COMPLETE_COMMIT: return commit ? RN_KERR_NONE : RN_KERR_INVALID_TXN_STATE;
	case RN_TXN_COMPLETE_ABORT: return commit ? RN_KERR_INVALID_TXN_STATE : RN_KERR_NONE;
	default: return RN_KERR_INVALID_TXN_STATE;
	}
}

bool rn_tc_fence_abort(struct rn_txn *t, int64_t now)
{
	if (t->state != RN_TXN_ONGOING)
		return false;
	/* The epoch is exhausted only after 32766 bumps; then the abort keeps the epoch and the
	 * next InitProducerId moves to a new producer id. */
	if (t->epoch < INT16_MAX - 1) {
		t->last_pid = t->pid;
		t->last_epoch = t->epoch;
		t->epoch++;
	}
	t->state = RN_TXN_PREPARE_ABORT;
	t->update_ms = now;
	return true;
}

void rn_tc_complete(struct rn_txn *t, int64_t now)
{
	if (t->state == RN_TXN_PREPARE_COMMIT)
		t->state = RN_TXN_COMPLETE_COMMIT;
	else if (t->state == RN_TXN_PREPARE_ABORT)
		t->state = RN_TXN_COMPLETE_ABORT;
	clear_txn(t);
	t->start_ms = -1;
	t->update_ms = now;
}

void rn_tc_timed_out(struct rn_tc *tc, int64_t now, void (*cb)(struct rn_txn *t, void *arg),
		     void *arg)
{
	for (int i = 0; i < NBUCKETS; i++) {
		struct rn_txn *t = tc->by_id[i];
		while (t) {
			struct rn_txn *next = t->hnext;
			if (t->state == RN_TXN_ONGOING && now - t->start_ms > t->timeout_ms)
				cb(t, arg);
			t = next;
		}
	}
}
