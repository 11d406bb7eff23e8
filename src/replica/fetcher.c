/*
 * Follower fetchers (Kafka's ReplicaFetcherThread): num.replica.fetchers threads per source
 * broker, each with one peer connection to it, copying the partitions it leads into the local
 * logs. One round:
 *
 *   truncate (OffsetForLeaderEpoch for partitions after a leader change, out-of-range recovery)
 *   -> Fetch v12 for the rest at their log end -> append_replica, follower HW, hooks.advanced
 *
 * A partition whose fetch failed is backed off replica.fetch.backoff.ms and the others go on.
 * The manager adds and removes partitions at any time; a request in flight remembers each
 * partition's generation and its answer is dropped for a partition that left or came back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/api.h"
#include "proto/kerr.h"
#include "proto/record_batch.h"
#include "replica/follower_int.h"
#include "replica/peer.h"
#include "storage/partition.h"

void rn__fetch_backoff(struct rn_fetcher *f, struct rn_replica_part *rp, int64_t now_ms)
{
	rp->fetch_delay_until = now_ms + f->mgr->cfg.fetch_backoff_ms;
}

void rn__fetch_backoff_err(struct rn_fetcher *f, struct rn_replica_part *rp, int16_t kerr,
			   int64_t now_ms)
{
	/* Right after an election the new leader may not have applied its own state yet (it
	 * reads the same store, milliseconds apart): a full replica.fetch.backoff.ms (1 s) there
	 * would hold acks=all writes that long after every failover. A state of ours that is
	 * behind (FENCED_LEADER_EPOCH) needs no retry: the new state re-adds the partition. */
	int64_t ms = f->mgr->cfg.fetch_backoff_ms;
	if ((kerr == RN_KERR_UNKNOWN_LEADER_EPOCH || kerr == RN_KERR_NOT_LEADER_OR_FOLLOWER) &&
	    ms > RN__LEADER_CATCHUP_MS)
		ms = RN__LEADER_CATCHUP_MS;
	rp->fetch_delay_until = now_ms + ms;
}

static int slot_cmp(const void *a, const void *b)
{
	const struct rn__fslot *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

void rn__slots_sort(struct rn_fetcher *f, struct rn__fslot *s, int n)
{
	qsort(s, (size_t)n, sizeof(*s), slot_cmp);
	for (struct rn_replica_part *rp = f->parts; rp; rp = rp->fnext)
		rp->fslot = -1;
	for (int i = 0; i < n; i++)
		s[i].rp->fslot = i;
}

void rn__slots_mark_live(struct rn_fetcher *f, struct rn__fslot *s, int n)
{
	for (int i = 0; i < n; i++)
		s[i].live = false;
	for (struct rn_replica_part *rp = f->parts; rp; rp = rp->fnext) {
		int k = rp->fslot;
		if (k >= 0 && k < n && s[k].rp == rp && s[k].gen == rp->fgen)
			s[k].live = true;
	}
}

struct rn__fslot *rn__slot_find(struct rn__fslot *s, int n, int *cursor, struct rn_str topic,
				int32_t idx)
{
	for (int k = 0; k < n; k++) {
		int i = (*cursor + k) % n;
		if (s[i].live && s[i].idx == idx && rn_str_eq(topic, s[i].topic)) {
			*cursor = i + 1;
			return &s[i];
		}
	}
	return NULL;
}

bool rn__throttled(struct rn_replica_mgr *mgr, const struct rn_pstate *st)
{
	/* As Kafka's shouldFollowerThrottle: only a replica being added that is not yet in
	 * sync; once in the ISR its fetches are what acks=all waits for. */
	int32_t self = mgr->cfg.node_id;
	return mgr->cfg.follower_throttle_bps > 0 && rn_pstate_has(st->adding, st->nadding, self) &&
	       !rn_pstate_has(st->isr, st->nisr, self);
}

/* Waits on f->cond for ms (f->lock held); an add, a remove or stop wakes it early. */
static void sleep_locked(struct rn_fetcher *f, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&f->cond, &f->lock, &ts);
}

/* Where the source broker listens: its registration in the store. */
static int find_source(struct rn_fetcher *f, char *host, size_t hostlen, int *port)
{
	struct rn__mgr_impl *im = rn__impl(f->mgr);
	if (im->lookup)
		return im->lookup(im->lookup_arg, f->source, host, hostlen, port);
	int cap = RN_MAX_REPLICAS * 4;
	struct rn_broker_reg *regs = rn_calloc((size_t)cap, sizeof(*regs));
	int n = rn_meta_brokers(f->mgr->meta, regs, cap);
	if (n > cap) {
		cap = n;
		regs = rn_realloc(regs, sizeof(*regs) * (size_t)cap);
		n = rn_meta_brokers(f->mgr->meta, regs, cap);
	}
	int r = RN_ENOTFOUND;
	for (int i = 0; i < n && i < cap; i++) {
		if (regs[i].id == f->source) {
			snprintf(host, hostlen, "%s", regs[i].host);
			*port = regs[i].port;
			r = 0;
			break;
		}
	}
	rn_free(regs);
	return r;
}

/* Opens the connection to the source broker (f->lock held, dropped meanwhile). */
static int connect_source(struct rn_fetcher *f)
{
	const struct rn_replica_cfg *cfg = &f->mgr->cfg;
	pthread_mutex_unlock(&f->lock);
	char host[256];
	int port = 0;
	struct rn_peer *p = NULL;
	int r = find_source(f, host, sizeof(host), &port);
	if (r == 0) {
		char cid[96];
		snprintf(cid, sizeof(cid), "broker-%d-fetcher-%d", cfg->node_id, f->index);
		r = rn_peer_connect(host, port, cfg->socket_timeout_ms, cid, &p);
	}
	pthread_mutex_lock(&f->lock);
	if (r < 0) {
		rn_log_every(10000, RN_LOG_INFO, "fetcher %d-%d: leader %d not reachable: %s",
			     f->source, f->index, f->source,
			     r == RN_ENOTFOUND ? "not registered" : rn_strerror(r));
		return r;
	}
	if (f->stop) {
		rn_peer_close(p);
		return RN_EUNAVAILABLE;
	}
	/* A response may exceed max_bytes by one batch (the first one always comes whole). */
	int64_t max = (int64_t)cfg->fetch_response_max_bytes + cfg->fetch_max_bytes + (1 << 20);
	rn_peer_set_max_frame(p, max > INT32_MAX ? INT32_MAX : (int32_t)max);
	f->peer = p;
	return 0;
}

static void drop_peer(struct rn_fetcher *f)
{
	rn_peer_close(f->peer);
	f->peer = NULL;
}

/* The partitions to fetch now; *wait_ms is set to when one becomes due if none is. */
static int collect(struct rn_fetcher *f, struct rn_arena *a, int64_t now, struct rn__fslot **out,
		   int64_t *wait_ms)
{
	struct rn_replica_mgr *mgr = f->mgr;
	struct rn__mgr_impl *im = rn__impl(mgr);
	struct rn__fslot *s = rn_arena_alloc(a, sizeof(*s) * (size_t)(f->nparts + 1));
	int n = 0;
	int64_t due = mgr->cfg.fetch_backoff_ms;
	pthread_mutex_lock(&im->throttle_lock);
	bool quota_ok = rn__bucket_allows(&im->throttle, now);
	int64_t quota_wait = rn__bucket_wait_ms(&im->throttle, now);
	pthread_mutex_unlock(&im->throttle_lock);
	for (struct rn_replica_part *rp = f->parts; rp; rp = rp->fnext) {
		if (rp->needs_truncation || rp->needs_oor) {
			/* Another round of truncation is due at once (KIP-279) or after its
			 * backoff: the fetcher must not sleep past it. */
			int64_t left = rp->fetch_delay_until - now;
			due = left <= 0 ? 0 : left < due ? left : due;
			continue;
		}
		if (rp->fetch_delay_until > now) {
			if (rp->fetch_delay_until - now < due)
				due = rp->fetch_delay_until - now;
			continue;
		}
		pthread_mutex_lock(&rp->lock);
		int32_t epoch = rp->st.leader_epoch;
		bool throttled = rn__throttled(mgr, &rp->st);
		pthread_mutex_unlock(&rp->lock);
		if (throttled && !quota_ok) {
			if (quota_wait < due)
				due = quota_wait;
			continue;
		}
		s[n++] =
		    (struct rn__fslot){.rp = rp,
				       .gen = rp->fgen,
				       .topic = rn_arena_strndup(a, rp->topic, strlen(rp->topic)),
				       .idx = rp->idx,
				       .offset = rn_partition_log_end(rp->log),
				       .leader_epoch = epoch,
				       .throttled = throttled};
	}
	*out = s;
	*wait_ms = n ? 0 : (due > 0 ? due : 1);
	return n;
}

static void build_fetch(struct rn_fetcher *f, struct rn_arena *a, struct rn__fslot *s, int n,
			struct rn_fetch_request *req)
{
	const struct rn_replica_cfg *cfg = &f->mgr->cfg;
	*req = (struct rn_fetch_request){
	    .cluster_id = RN_STR_NULL,
	    .replica_id = cfg->node_id,
	    .replica_state = {.replica_id = cfg->node_id, .replica_epoch = -1},
	    .max_wait_ms = cfg->fetch_wait_max_ms,
	    .min_bytes = cfg->fetch_min_bytes,
	    .max_bytes = cfg->fetch_response_max_bytes,
	    .isolation_level = 0,
	    .session_id = 0,
	    .session_epoch = -1, /* sessionless full fetch */
	    .rack_id = rn_str_c("")};
	req->topics = rn_arena_alloc(a, sizeof(*req->topics) * (size_t)n);
	struct rn_fetch_request_fetch_topic *t = NULL;
	for (int i = 0; i < n; i++) {
		if (!t || strcmp(s[i - 1].topic, s[i].topic) != 0) {
			t = &req->topics[req->topics_count++];
			t->topic = rn_str_c(s[i].topic);
			t->partitions = rn_arena_alloc(a, sizeof(*t->partitions) * (size_t)(n - i));
		}
		int32_t last_epoch = -1;
		int64_t start = -1;
		rn_partition_latest_epoch(s[i].rp->log, &last_epoch, &start);
		t->partitions[t->partitions_count++] = (struct rn_fetch_request_fetch_partition){
		    .partition = s[i].idx,
		    .current_leader_epoch = s[i].leader_epoch,
		    .fetch_offset = s[i].offset,
		    .last_fetched_epoch = last_epoch,
		    .log_start_offset = rn_partition_log_start(s[i].rp->log),
		    .partition_max_bytes = cfg->fetch_max_bytes};
	}
}

const char *rn__kerr_name(int16_t kerr)
{
	switch (kerr) {
	case RN_KERR_NONE: return "NONE";
	case RN_KERR_OFFSET_OUT_OF_RANGE: return "OFFSET_OUT_OF_RANGE";
	case RN_KERR_UNKNOWN_TOPIC_OR_PARTITION: return "UNKNOWN_TOPIC_OR_PARTITION";
	case RN_KERR_NOT_LEADER_OR_FOLLOWER: return "NOT_LEADER_OR_FOLLOWER";
	case RN_KERR_KAFKA_STORAGE_ERROR: return "KAFKA_STORAGE_ERROR";
	case RN_KERR_FENCED_LEADER_EPOCH: return "FENCED_LEADER_EPOCH";
	case RN_KERR_UNKNOWN_LEADER_EPOCH: return "UNKNOWN_LEADER_EPOCH";
	default: return "error";
	}
}

/* A partition-level error of a fetch response (Kafka's AbstractFetcherThread cases). */
static void partition_error(struct rn_fetcher *f, struct rn_replica_part *rp, int16_t err,
			    int64_t now)
{
	if (err == RN_KERR_OFFSET_OUT_OF_RANGE) {
		rp->needs_oor = true;
		return;
	}
	/* NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH: the leadership
	 * moved or the leader has not heard of it yet; a new state will follow. Storage errors
	 * and unknown partitions are retried too, after the same backoff. */
	rn_log_every(5000, RN_LOG_INFO, "partition %s-%d: fetch from leader %d: %s (%d)", rp->topic,
		     rp->idx, f->source, rn__kerr_name(err), err);
	rn__fetch_backoff_err(f, rp, err, now);
}

/* An empty log restarted at the leader's log start (truncate_fully) may start inside the
 * leader's first batch (DeleteRecords cut it): Kafka's Partition then restarts the log at that
 * batch's base offset, the only place it can be appended. True when it did so. */
static bool restart_at_batch(struct rn_replica_part *rp, const uint8_t *buf, size_t len)
{
	struct rn_partition *log = rp->log;
	int64_t leo = rn_partition_log_end(log);
	if (len < RN_BATCH_HEADER_SIZE || leo != rn_partition_log_start(log))
		return false;
	int64_t base = (int64_t)rn_be64(buf + RN_BATCH_OFF_BASE_OFFSET);
	int64_t last = base + (int32_t)rn_be32(buf + RN_BATCH_OFF_LAST_OFFSET_DELTA);
	if (!(base < leo && last >= leo))
		return false;
	rn_info("partition %s-%d: the leader's first batch starts at %lld, below our empty log's "
		"start %lld: restarting the log there",
		rp->topic, rp->idx, (long long)base, (long long)leo);
	return rn_partition_truncate_fully(log, base) == 0;
}

static int append_fetched(struct rn_replica_part *rp, const uint8_t *buf, size_t len, size_t *used)
{
	struct rn_append_info info = {0};
	int r = rn_partition_append_replica(rp->log, buf, len, used, &info);
	if (r == RN_ERANGE && restart_at_batch(rp, buf, len)) {
		memset(&info, 0, sizeof(info));
		r = rn_partition_append_replica(rp->log, buf, len, used, &info);
	}
	return r;
}

/* Appends what the leader sent and moves the follower's HW and log start. */
static void apply_data(struct rn_fetcher *f, struct rn__fslot *sl,
		       const struct rn_fetch_response_partition_data *pd, int64_t now)
{
	struct rn_replica_part *rp = sl->rp;
	struct rn_partition *log = rp->log;
	if (rn_partition_log_end(log) != sl->offset)
		return; /* the log moved under the request (truncated): fetch again */
	size_t used = 0;
	if (pd->records.len > 0) {
		int r = append_fetched(rp, pd->records.ptr, (size_t)pd->records.len, &used);
		if (r < 0) {
			rn_log_every(
			    5000, RN_LOG_WARN,
			    "partition %s-%d: appending %d fetched bytes at %lld failed: %s",
			    rp->topic, rp->idx, pd->records.len, (long long)sl->offset,
			    rn_strerror(r));
			rn__fetch_backoff(f, rp, now);
			return;
		}
		if (sl->throttled) {
			struct rn__mgr_impl *im = rn__impl(f->mgr);
			pthread_mutex_lock(&im->throttle_lock);
			rn__bucket_take(&im->throttle, (int64_t)used, now);
			pthread_mutex_unlock(&im->throttle_lock);
		}
	}
	int64_t leo = rn_partition_log_end(log);
	int64_t old_hw = rn_partition_high_watermark(log);
	int64_t hw = rn_partition_set_high_watermark(
	    log, pd->high_watermark < leo ? pd->high_watermark : leo);
	if (pd->log_start_offset > rn_partition_log_start(log))
		(void)rn_partition_advance_log_start(log, pd->log_start_offset);
	pthread_mutex_lock(&rp->lock);
	rp->leader_leo = pd->high_watermark > leo ? pd->high_watermark : leo;
	pthread_mutex_unlock(&rp->lock);
	if (used > 0 || hw != old_hw)
		sl->notify = true;
}

static void apply_partition(struct rn_fetcher *f, struct rn__fslot *sl,
			    const struct rn_fetch_response_partition_data *pd, int64_t now)
{
	struct rn_replica_part *rp = sl->rp;
	if (rp->needs_truncation || rp->needs_oor)
		return;
	if (pd->error_code != RN_KERR_NONE) {
		partition_error(f, rp, pd->error_code, now);
		return;
	}
	if (pd->diverging_epoch.end_offset >= 0) {
		/* KIP-320: our last fetched epoch ends earlier on the leader; nothing in this
		 * answer may be appended. */
		int64_t leo = rn_partition_log_end(rp->log);
		int r = rn__truncate_by_epoch(rp, pd->diverging_epoch.epoch,
					      pd->diverging_epoch.end_offset);
		if (r == 0)
			rp->needs_truncation = true;
		else if (r < 0 || rn_partition_log_end(rp->log) == leo)
			rn__fetch_backoff(f, rp, now); /* no progress: do not spin */
		return;
	}
	apply_data(f, sl, pd, now);
}

static void apply_response(struct rn_fetcher *f, struct rn__fslot *s, int n,
			   const struct rn_fetch_response *r, int64_t now)
{
	if (r->error_code != RN_KERR_NONE) {
		rn_log_every(5000, RN_LOG_WARN, "fetcher %d-%d: fetch failed: %s (%d)", f->source,
			     f->index, rn__kerr_name(r->error_code), r->error_code);
		for (int i = 0; i < n; i++)
			if (s[i].live)
				rn__fetch_backoff(f, s[i].rp, now);
		return;
	}
	int cursor = 0;
	for (int i = 0; i < r->responses_count; i++) {
		const struct rn_fetch_response_fetchable_topic_response *t = &r->responses[i];
		for (int j = 0; j < t->partitions_count; j++) {
			const struct rn_fetch_response_partition_data *pd = &t->partitions[j];
			struct rn__fslot *sl =
			    rn__slot_find(s, n, &cursor, t->topic, pd->partition_index);
			if (sl)
				apply_partition(f, sl, pd, now);
		}
	}
}

/* Wakes what waits on the partitions that moved, without the fetcher's lock: a hook may
 * detach a partition (the last reference of a deleted topic), which takes that lock. The slots'
 * names are copies, valid whatever happened to their partitions. */
static void notify(struct rn_fetcher *f, struct rn__fslot *s, int n)
{
	const struct rn_replica_hooks *h = &f->mgr->hooks;
	if (!h->advanced)
		return;
	pthread_mutex_unlock(&f->lock);
	for (int i = 0; i < n; i++)
		if (s[i].notify)
			h->advanced(h->arg, s[i].topic, s[i].idx);
	pthread_mutex_lock(&f->lock);
}

/* One Fetch round (f->lock held, dropped around the call). */
static int fetch_round(struct rn_fetcher *f, int64_t *wait_ms)
{
	struct rn_arena a = {0};
	struct rn__fslot *s;
	int n = collect(f, &a, rn_mono_ms(), &s, wait_ms);
	if (n == 0) {
		rn_arena_free(&a);
		return 0;
	}
	rn__slots_sort(f, s, n);
	struct rn_fetch_request req;
	build_fetch(f, &a, s, n, &req);
	struct rn_peer *peer = f->peer;
	int timeout = f->mgr->cfg.fetch_wait_max_ms + f->mgr->cfg.socket_timeout_ms;
	f->polling = true;
	pthread_mutex_unlock(&f->lock);
	void *out = NULL;
	int r = rn_peer_roundtrip(peer, RN_API_FETCH, 12, &req, timeout, &out);
	pthread_mutex_lock(&f->lock);
	f->polling = false;
	if (r == 0) {
		rn__slots_mark_live(f, s, n);
		apply_response(f, s, n, out, rn_mono_ms());
		notify(f, s, n);
	}
	rn_arena_free(&a);
	return r < 0 ? RN_EUNAVAILABLE : 0;
}

static void *fetcher_main(void *arg)
{
	struct rn_fetcher *f = arg;
	int64_t backoff = f->mgr->cfg.fetch_backoff_ms > 0 ? f->mgr->cfg.fetch_backoff_ms : 1;
	pthread_mutex_lock(&f->lock);
	while (!f->stop) {
		if (!f->parts) {
			/* Nothing to follow from this broker: no idle connection either. */
			if (f->peer)
				drop_peer(f);
			pthread_cond_wait(&f->cond, &f->lock);
			continue;
		}
		if (!f->peer && connect_source(f) < 0) {
			sleep_locked(f, backoff);
			continue;
		}
		int64_t wait_ms = 0;
		int r = rn__fetcher_truncate(f);
		if (r == 0 && !f->stop)
			r = fetch_round(f, &wait_ms);
		if (r < 0) {
			drop_peer(f);
			wait_ms = f->kicked ? 0 : backoff;
		}
		f->kicked = false;
		if (wait_ms > 0 && !f->stop)
			sleep_locked(f, wait_ms);
	}
	if (f->peer)
		drop_peer(f);
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static struct rn_fetcher *fetcher_start(struct rn_replica_mgr *mgr, int32_t source, int index)
{
	struct rn_fetcher *f = rn_calloc(1, sizeof(*f));
	f->mgr = mgr;
	f->source = source;
	f->index = index;
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&f->th, NULL, fetcher_main, f) != 0) {
		rn_error("fetcher %d-%d: cannot start its thread", source, index);
		abort();
	}
	return f;
}

/* Kafka's fetcher id: abs(31 * topic.hashCode + partition) % num.replica.fetchers. */
static int fetcher_index(const struct rn_replica_mgr *mgr, const char *topic, int32_t idx)
{
	int n = mgr->cfg.num_fetchers > 0 ? mgr->cfg.num_fetchers : 1;
	uint32_t h = 0;
	for (const char *c = topic; *c; c++)
		h = h * 31 + (uint8_t)*c;
	return (int)((h * 31u + (uint32_t)idx) % (uint32_t)n);
}

void rn__fetcher_add(struct rn_replica_mgr *mgr, struct rn_replica_part *rp, int32_t source,
		     bool truncate)
{
	struct rn__mgr_impl *im = rn__impl(mgr);
	int index = fetcher_index(mgr, rp->topic, rp->idx);
	pthread_mutex_lock(&im->flock);
	struct rn_fetcher *f = im->fetchers;
	while (f && !(f->source == source && f->index == index))
		f = f->next;
	if (!f) {
		f = fetcher_start(mgr, source, index);
		f->next = im->fetchers;
		im->fetchers = f;
	}
	pthread_mutex_lock(&f->lock);
	rp->fgen++;
	rp->fslot = -1;
	rp->fetch_delay_until = 0;
	rp->needs_truncation = truncate;
	rp->needs_oor = false;
	rp->fetch_stopped = false;
	rp->fnext = f->parts;
	f->parts = rp;
	f->nparts++;
	rp->fetcher = f;
	/* A new leadership should not wait out a long poll for the others (up to
	 * replica.fetch.wait.max.ms more before acks=all writes can complete again): cut it. */
	if (truncate && f->polling && f->peer && !f->kicked) {
		f->kicked = true;
		rn_peer_interrupt(f->peer);
	}
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_unlock(&im->flock);
}

static void unlink_locked(struct rn_fetcher *f, struct rn_replica_part *rp)
{
	for (struct rn_replica_part **pp = &f->parts; *pp; pp = &(*pp)->fnext) {
		if (*pp == rp) {
			*pp = rp->fnext;
			f->nparts--;
			break;
		}
	}
	rp->fnext = NULL;
	rp->fslot = -1;
	rp->fetcher = NULL;
}

bool rn__fetcher_following(struct rn_replica_part *rp, int32_t source)
{
	struct rn__mgr_impl *im = rn__impl(rp->mgr);
	pthread_mutex_lock(&im->flock);
	bool r = rp->fetcher && rp->fetcher->source == source;
	pthread_mutex_unlock(&im->flock);
	return r;
}

bool rn__fetcher_stopped(struct rn_replica_part *rp)
{
	struct rn__mgr_impl *im = rn__impl(rp->mgr);
	pthread_mutex_lock(&im->flock);
	bool r = rp->fetch_stopped;
	pthread_mutex_unlock(&im->flock);
	return r;
}

void rn__fetcher_remove(struct rn_replica_part *rp)
{
	struct rn__mgr_impl *im = rn__impl(rp->mgr);
	pthread_mutex_lock(&im->flock);
	struct rn_fetcher *f = rp->fetcher;
	if (f) {
		pthread_mutex_lock(&f->lock);
		unlink_locked(f, rp);
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->lock);
	}
	pthread_mutex_unlock(&im->flock);
}

void rn__fetchers_stop_all(struct rn_replica_mgr *mgr)
{
	struct rn__mgr_impl *im = rn__impl(mgr);
	pthread_mutex_lock(&im->flock);
	struct rn_fetcher *f = im->fetchers;
	im->fetchers = NULL;
	while (f) {
		pthread_mutex_lock(&f->lock);
		while (f->parts) {
			f->parts->fetch_stopped = true;
			unlink_locked(f, f->parts);
		}
		f->stop = true;
		if (f->peer)
			rn_peer_interrupt(f->peer);
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->lock);
		/* The thread never takes flock, so joining under it cannot deadlock; a call in
		 * flight was interrupted. */
		pthread_join(f->th, NULL);
		struct rn_fetcher *next = f->next;
		pthread_cond_destroy(&f->cond);
		pthread_mutex_destroy(&f->lock);
		rn_free(f);
		f = next;
	}
	pthread_mutex_unlock(&im->flock);
}
