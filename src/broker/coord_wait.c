/* Replicated (and flushed) acknowledgement of coordinator writes (see coord_wait.h). */
#include "broker/coord_wait.h"

#include <stdlib.h>

#include "broker/topic_config.h"
#include "broker/topics.h"
#include "core/alloc.h"
#include "proto/kerr.h"
#include "replica/replica.h"
#include "storage/flusher.h"

struct wait {
	struct rn_broker *b;
	struct rn_topic *t;
	int32_t idx;
	bool needs_flush;
	void (*cb)(void *arg, int16_t kerr);
	void *arg;
};

static void finish(struct wait *w, int16_t kerr)
{
	void (*cb)(void *, int16_t) = w->cb;
	void *arg = w->arg;
	rn_topic_put(w->b, w->t);
	rn_free(w);
	cb(arg, kerr);
}

static void flushed(void *arg, int err)
{
	finish(arg, err ? RN_KERR_KAFKA_STORAGE_ERROR : RN_KERR_NONE);
}

static void replicated(void *arg, int16_t kerr)
{
	struct wait *w = arg;
	if (kerr != RN_KERR_NONE || !w->needs_flush) {
		finish(w, kerr);
		return;
	}
	rn_flusher_submit(w->b->flusher, w->t->parts[w->idx].log, flushed, w);
}

int32_t rn_coord_min_isr(struct rn_broker *b, struct rn_topic *t)
{
	bool dflt;
	rn_topics_cfg_lock(false);
	const char *v =
	    rn_topic_cfg_value(b->cfg, t->configs, t->nconfigs, "min.insync.replicas", &dflt);
	int32_t n = v ? (int32_t)strtol(v, NULL, 10) : 1;
	rn_topics_cfg_unlock();
	return n > 0 ? n : 1;
}

void rn_coord_wait(struct rn_broker *b, struct rn_topic *t, int32_t idx, int64_t end,
		   bool needs_flush, void (*cb)(void *arg, int16_t kerr), void *arg)
{
	struct rn_replica_part *rp = t->parts[idx].rp;
	if (!rp && !needs_flush) {
		cb(arg, RN_KERR_NONE);
		return;
	}
	struct wait *w = rn_malloc(sizeof(*w));
	atomic_fetch_add(&t->refs, 1);
	*w = (struct wait){b, t, idx, needs_flush, cb, arg};
	if (!rp) {
		replicated(w, RN_KERR_NONE);
		return;
	}
	int64_t timeout = rn_config_get_i64(b->cfg, "request.timeout.ms");
	rn_replica_wait_hw(rp, end, rn_coord_min_isr(b, t), timeout > 0 ? timeout : 30000,
			   replicated, w);
}

int16_t rn_coord_commit_error(int16_t kerr, bool clustered)
{
	switch (kerr) {
	case RN_KERR_UNKNOWN_TOPIC_OR_PARTITION:
	case RN_KERR_NOT_ENOUGH_REPLICAS:
	case RN_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND: return RN_KERR_COORDINATOR_NOT_AVAILABLE;
	case RN_KERR_NOT_LEADER_OR_FOLLOWER: return RN_KERR_NOT_COORDINATOR;
	case RN_KERR_KAFKA_STORAGE_ERROR:
		/* A single broker's failed fsync: the records may be lost, the commit did not
		 * happen (as before clusters existed). */
		return clustered ? RN_KERR_NOT_COORDINATOR : RN_KERR_COORDINATOR_NOT_AVAILABLE;
	case RN_KERR_MESSAGE_TOO_LARGE:
	case RN_KERR_RECORD_LIST_TOO_LARGE: return RN_KERR_INVALID_COMMIT_OFFSET_SIZE;
	default: return kerr;
	}
}

int16_t rn_coord_txn_error(int16_t kerr, bool clustered)
{
	switch (kerr) {
	case RN_KERR_NONE: return RN_KERR_NONE;
	case RN_KERR_NOT_ENOUGH_REPLICAS:
	case RN_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
	case RN_KERR_REQUEST_TIMED_OUT:
	case RN_KERR_UNKNOWN_TOPIC_OR_PARTITION: return RN_KERR_COORDINATOR_NOT_AVAILABLE;
	case RN_KERR_NOT_LEADER_OR_FOLLOWER:
	case RN_KERR_KAFKA_STORAGE_ERROR:
		/* A single broker's failed fsync takes the partition offline and its next use says
		 * so; the answer stays what it was before clusters existed. */
		return clustered ? RN_KERR_NOT_COORDINATOR : RN_KERR_NONE;
	default: return RN_KERR_UNKNOWN_SERVER_ERROR;
	}
}
