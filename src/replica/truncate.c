/*
 * Truncation of a follower's log before it fetches from a new leader (KIP-101, KIP-279), and
 * the recovery from OFFSET_OUT_OF_RANGE, as Kafka's AbstractFetcherThread does them.
 *
 * After a leader change the follower asks the leader, with OffsetForLeaderEpoch, where the
 * follower's latest epoch ends in the leader's log. Records past that point were never
 * committed (the leader does not have them) and are cut, so the follower's log becomes a
 * prefix of the leader's. When the leader does not know our latest epoch it answers the largest
 * epoch below it; if we do not know that one either, we cut to where our own next-lower epoch
 * ends and ask again with the epoch that is now our latest.
 */
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/api.h"
#include "proto/kerr.h"
#include "replica/follower_int.h"
#include "replica/peer.h"
#include "storage/partition.h"

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

bool rn__truncation_point(int32_t leader_epoch, int64_t leader_end, int32_t found_epoch,
			  int64_t found_end, int64_t leo, int64_t hw, int64_t *offset)
{
	if (leader_end < 0) {
		/* The leader knows nothing of our epoch (UNDEFINED_EPOCH_OFFSET): fall back to the
		 * pre-KIP-101 rule, the high watermark, which was committed. */
		*offset = min64(hw, leo);
		return true;
	}
	if (leader_epoch < 0 || found_end < 0) {
		/* An answer without an epoch, or one below every epoch we track: the leader's
		 * offset is all we have. */
		*offset = min64(leader_end, leo);
		return true;
	}
	if (found_epoch != leader_epoch) {
		/* We never had the leader's epoch: cut to where our largest epoch below it ends,
		 * then ask again. No progress possible means an inconsistent cache: stop there. */
		*offset = min64(found_end, leo);
		return *offset >= leo;
	}
	*offset = min64(min64(found_end, leader_end), leo);
	return true;
}

int rn__truncate_by_epoch(struct rn_replica_part *rp, int32_t leader_epoch, int64_t leader_end)
{
	struct rn_partition *log = rp->log;
	int64_t leo = rn_partition_log_end(log), hw = rn_partition_high_watermark(log);
	int32_t found_epoch = -1;
	int64_t found_end = -1;
	if (leader_epoch >= 0)
		rn_partition_epoch_end_offset(log, leader_epoch, &found_epoch, &found_end);
	int64_t to;
	bool done =
	    rn__truncation_point(leader_epoch, leader_end, found_epoch, found_end, leo, hw, &to);
	if (to < leo) {
		rn_log_every(
		    1000, RN_LOG_INFO,
		    "partition %s-%d: truncating from %lld to %lld (leader answered epoch %d "
		    "end %lld; ours for it: epoch %d end %lld)",
		    rp->topic, rp->idx, (long long)leo, (long long)to, leader_epoch,
		    (long long)leader_end, found_epoch, (long long)found_end);
		int r = rn_partition_truncate_to(log, to);
		if (r < 0) {
			rn_warn("partition %s-%d: truncation to %lld failed: %s", rp->topic,
				rp->idx, (long long)to, rn_strerror(r));
			return r;
		}
	}
	return done ? 1 : 0;
}

/* Collects the partitions of f that want an epoch question or an out-of-range recovery and
 * are not backed off; those without any epoch are truncated to their HW at once (Kafka's
 * truncateToHighWatermark). Returns the slot count (slots from a). */
static int collect(struct rn_fetcher *f, struct rn_arena *a, int64_t now, struct rn__fslot **out)
{
	struct rn__fslot *s = rn_arena_alloc(a, sizeof(*s) * (size_t)(f->nparts + 1));
	int n = 0;
	for (struct rn_replica_part *rp = f->parts; rp; rp = rp->fnext) {
		if (!(rp->needs_truncation || rp->needs_oor) || rp->fetch_delay_until > now)
			continue;
		int32_t latest = -1;
		int64_t start = -1;
		rn_partition_latest_epoch(rp->log, &latest, &start);
		if (rp->needs_truncation && latest < 0) {
			int64_t hw = rn_partition_high_watermark(rp->log);
			if (hw < rn_partition_log_end(rp->log) &&
			    rn_partition_truncate_to(rp->log, hw) < 0) {
				rn__fetch_backoff(f, rp, now);
				continue;
			}
			rp->needs_truncation = false;
			continue;
		}
		pthread_mutex_lock(&rp->lock);
		int32_t cur = rp->st.leader_epoch;
		pthread_mutex_unlock(&rp->lock);
		s[n] =
		    (struct rn__fslot){.rp = rp,
				       .gen = rp->fgen,
				       .topic = rn_arena_strndup(a, rp->topic, strlen(rp->topic)),
				       .idx = rp->idx,
				       .oor = !rp->needs_truncation,
				       .offset = -1,
				       .epoch = rp->needs_truncation ? latest : cur,
				       .leader_epoch = cur};
		n++;
	}
	*out = s;
	return n;
}

static void build_ofle(struct rn_arena *a, struct rn__fslot *s, int n, int32_t node_id,
		       struct rn_offset_for_leader_epoch_request *req)
{
	req->replica_id = node_id;
	req->topics = rn_arena_alloc(a, sizeof(*req->topics) * (size_t)n);
	req->topics_count = 0;
	struct rn_offset_for_leader_epoch_request_offset_for_leader_topic *t = NULL;
	for (int i = 0; i < n; i++) {
		if (!t || strcmp(s[i - 1].topic, s[i].topic) != 0) {
			t = &req->topics[req->topics_count++];
			t->topic = rn_str_c(s[i].topic);
			t->partitions = rn_arena_alloc(a, sizeof(*t->partitions) * (size_t)(n - i));
		}
		t->partitions[t->partitions_count++] =
		    (struct rn_offset_for_leader_epoch_request_offset_for_leader_partition){
			.partition = s[i].idx,
			.current_leader_epoch = s[i].leader_epoch,
			.leader_epoch = s[i].epoch};
	}
}

/* ListOffsets earliest for the out-of-range slots: the leader's log start. */
static int build_earliest(struct rn_arena *a, struct rn__fslot *s, int n, int32_t node_id,
			  struct rn_list_offsets_request *req)
{
	req->replica_id = node_id;
	req->topics = rn_arena_alloc(a, sizeof(*req->topics) * (size_t)n);
	int count = 0;
	const char *last = NULL;
	struct rn_list_offsets_request_list_offsets_topic *t = NULL;
	for (int i = 0; i < n; i++) {
		if (!s[i].oor)
			continue;
		if (!t || strcmp(last, s[i].topic) != 0) {
			t = &req->topics[req->topics_count++];
			t->name = rn_str_c(s[i].topic);
			t->partitions = rn_arena_alloc(a, sizeof(*t->partitions) * (size_t)(n - i));
			last = s[i].topic;
		}
		t->partitions[t->partitions_count++] =
		    (struct rn_list_offsets_request_list_offsets_partition){
			.partition_index = s[i].idx,
			.current_leader_epoch = s[i].leader_epoch,
			.timestamp = -2,
			.max_num_offsets = 1};
		count++;
	}
	return count;
}

/* Kafka's handleOutOfRangeError: a leader behind us (unclean election) means cutting to its
 * end; a leader whose log starts above our end means starting over at its start; otherwise
 * the fetch is simply retried. */
static void recover_out_of_range(struct rn_fetcher *f, struct rn__fslot *sl, int64_t leader_end,
				 int64_t now)
{
	struct rn_replica_part *rp = sl->rp;
	int64_t leo = rn_partition_log_end(rp->log);
	int r = 0;
	if (leader_end >= 0 && leader_end < leo) {
		rn_warn(
		    "partition %s-%d: leader %d ends at %lld, below our log end %lld: truncating "
		    "(unclean leader election?)",
		    rp->topic, rp->idx, f->source, (long long)leader_end, (long long)leo);
		r = rn_partition_truncate_to(rp->log, leader_end);
	} else if (sl->offset > leo) {
		rn_log_every(1000, RN_LOG_INFO,
			     "partition %s-%d: leader %d starts at %lld, above our log end %lld: "
			     "restarting the log there",
			     rp->topic, rp->idx, f->source, (long long)sl->offset, (long long)leo);
		r = rn_partition_truncate_fully(rp->log, sl->offset);
	}
	if (r < 0) {
		rn_log_every(5000, RN_LOG_WARN, "partition %s-%d: out-of-range recovery failed: %s",
			     rp->topic, rp->idx, rn_strerror(r));
		rn__fetch_backoff(f, rp, now);
		return;
	}
	rp->needs_oor = false;
}

static void apply_earliest(struct rn__fslot *s, int n, const struct rn_list_offsets_response *r)
{
	int cursor = 0;
	for (int i = 0; i < r->topics_count; i++) {
		const struct rn_list_offsets_response_list_offsets_topic_response *t =
		    &r->topics[i];
		for (int j = 0; j < t->partitions_count; j++) {
			const struct rn_list_offsets_response_list_offsets_partition_response *p =
			    &t->partitions[j];
			struct rn__fslot *sl =
			    rn__slot_find(s, n, &cursor, t->name, p->partition_index);
			if (sl && sl->oor && p->error_code == RN_KERR_NONE)
				sl->offset = p->offset;
		}
	}
}

static void apply_one(struct rn_fetcher *f, struct rn__fslot *sl,
		      const struct rn_offset_for_leader_epoch_response_epoch_end_offset *p,
		      int64_t now)
{
	struct rn_replica_part *rp = sl->rp;
	if (p->error_code != RN_KERR_NONE) {
		rn_log_every(5000, RN_LOG_INFO,
			     "partition %s-%d: OffsetForLeaderEpoch to leader %d: %s (%d)",
			     rp->topic, rp->idx, f->source, rn__kerr_name(p->error_code),
			     p->error_code);
		rn__fetch_backoff_err(f, rp, p->error_code, now);
		return;
	}
	if (sl->oor) {
		if (sl->offset < 0) /* ListOffsets failed for it */
			rn__fetch_backoff(f, rp, now);
		else
			recover_out_of_range(f, sl, p->end_offset, now);
		return;
	}
	int r = rn__truncate_by_epoch(rp, p->leader_epoch, p->end_offset);
	if (r < 0)
		rn__fetch_backoff(f, rp, now);
	else if (r == 1)
		rp->needs_truncation = false;
}

static void apply_ofle(struct rn_fetcher *f, struct rn__fslot *s, int n,
		       const struct rn_offset_for_leader_epoch_response *r, int64_t now)
{
	int cursor = 0;
	for (int i = 0; i < r->topics_count; i++) {
		const struct rn_offset_for_leader_epoch_response_offset_for_leader_topic_result *t =
		    &r->topics[i];
		for (int j = 0; j < t->partitions_count; j++) {
			struct rn__fslot *sl =
			    rn__slot_find(s, n, &cursor, t->topic, t->partitions[j].partition);
			if (sl) {
				apply_one(f, sl, &t->partitions[j], now);
				sl->live = false; /* answered once */
			}
		}
	}
	/* Partitions the leader left out of its answer are retried after a backoff. */
	for (int i = 0; i < n; i++)
		if (s[i].live)
			rn__fetch_backoff(f, s[i].rp, now);
}

int rn__fetcher_truncate(struct rn_fetcher *f)
{
	struct rn_arena a = {0};
	struct rn__fslot *s;
	int64_t now = rn_mono_ms();
	int n = collect(f, &a, now, &s);
	if (n == 0) {
		rn_arena_free(&a);
		return 0;
	}
	rn__slots_sort(f, s, n);
	struct rn_offset_for_leader_epoch_request oreq = {0};
	struct rn_list_offsets_request lreq = {0};
	build_ofle(&a, s, n, f->mgr->cfg.node_id, &oreq);
	int noor = build_earliest(&a, s, n, f->mgr->cfg.node_id, &lreq);
	struct rn_peer *peer = f->peer;
	int timeout = f->mgr->cfg.socket_timeout_ms;
	pthread_mutex_unlock(&f->lock);

	void *out = NULL;
	int r = 0;
	if (noor > 0) {
		r = rn_peer_roundtrip(peer, RN_API_LIST_OFFSETS, 4, &lreq, timeout, &out);
		if (r == 0) {
			pthread_mutex_lock(&f->lock);
			rn__slots_mark_live(f, s, n);
			apply_earliest(s, n, out);
			pthread_mutex_unlock(&f->lock);
		}
	}
	if (r == 0)
		r = rn_peer_roundtrip(peer, RN_API_OFFSET_FOR_LEADER_EPOCH, 4, &oreq, timeout,
				      &out);

	pthread_mutex_lock(&f->lock);
	now = rn_mono_ms();
	rn__slots_mark_live(f, s, n);
	if (r == 0)
		apply_ofle(f, s, n, out, now);
	rn_arena_free(&a);
	return r < 0 ? RN_EUNAVAILABLE : 0;
}
