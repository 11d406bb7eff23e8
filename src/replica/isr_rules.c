/* The leader's ISR and high-watermark rules, pure (see isr_rules.h). */
#include "replica/isr_rules.h"

#include <string.h>

#include "proto/kerr.h"

void rn__isr_follower_reset(struct rn_replica_follower *f, int32_t id, bool in_isr, int64_t now_ms)
{
	f->id = id;
	f->leo = RN_ISR_UNKNOWN;
	f->last_fetch_leader_leo = RN_ISR_UNKNOWN;
	f->last_fetch_ms = RN_ISR_NEVER;
	/* Not in the ISR: never caught up, so it holds back no HW until it fetches. */
	f->last_caught_up_ms = in_isr ? now_ms : RN_ISR_NEVER;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

void rn__isr_follower_fetched(struct rn_replica_follower *f, int64_t fetch_offset,
			      int64_t leader_leo, int64_t now_ms)
{
	/* A follower fetching behind a busy leader may never equal its log end; having reached
	 * what the log end was at its previous fetch means it was caught up then. */
	if (fetch_offset >= leader_leo)
		f->last_caught_up_ms = max64(f->last_caught_up_ms, now_ms);
	else if (fetch_offset >= f->last_fetch_leader_leo)
		f->last_caught_up_ms = max64(f->last_caught_up_ms, f->last_fetch_ms);
	f->leo = fetch_offset;
	f->last_fetch_leader_leo = max64(leader_leo, f->last_fetch_leader_leo);
	f->last_fetch_ms = now_ms;
}

bool rn__isr_caught_up(const struct rn_replica_follower *f, int64_t leader_leo, int64_t now_ms,
		       int64_t lag_ms)
{
	return f->leo == leader_leo || now_ms - f->last_caught_up_ms <= lag_ms;
}

static bool has(const int32_t *set, int n, int32_t id)
{
	for (int i = 0; i < n; i++)
		if (set[i] == id)
			return true;
	return false;
}

int64_t rn__isr_hw_candidate(int64_t leader_leo, const struct rn_replica_follower *fol, int nfol,
			     const int32_t *maximal, int nmaximal, uint32_t live, int64_t now_ms,
			     int64_t lag_ms)
{
	int64_t hw = leader_leo;
	for (int i = 0; i < nfol; i++) {
		const struct rn_replica_follower *f = &fol[i];
		if (f->leo >= hw)
			continue;
		bool joining = (live >> i & 1u) && rn__isr_caught_up(f, leader_leo, now_ms, lag_ms);
		if (has(maximal, nmaximal, f->id) || joining)
			hw = f->leo;
	}
	return hw;
}

bool rn__isr_may_join(const struct rn_replica_follower *f, bool in_isr, bool live, int64_t hw,
		      int64_t epoch_start)
{
	/* Joining before it has the current epoch's start could let it be elected without
	 * records committed between the HW and that start. */
	return !in_isr && live && f->leo != RN_ISR_UNKNOWN && f->leo >= hw && f->leo >= epoch_start;
}

int rn__isr_out_of_sync(int32_t self, const int32_t *isr, int nisr,
			const struct rn_replica_follower *fol, int nfol, int64_t leader_leo,
			int64_t now_ms, int64_t lag_ms, int32_t *out)
{
	int n = 0;
	for (int i = 0; i < nisr; i++) {
		if (isr[i] == self)
			continue;
		const struct rn_replica_follower *f = NULL;
		for (int j = 0; j < nfol && !f; j++)
			if (fol[j].id == isr[i])
				f = &fol[j];
		if (!f || !rn__isr_caught_up(f, leader_leo, now_ms, lag_ms))
			out[n++] = isr[i];
	}
	return n;
}

void rn__isr_state_without(const struct rn_pstate *st, const int32_t *ids, int n,
			   struct rn_pstate *out)
{
	*out = *st;
	out->nisr = 0;
	for (int32_t i = 0; i < st->nisr; i++)
		if (!has(ids, n, st->isr[i]))
			out->isr[out->nisr++] = st->isr[i];
	out->partition_epoch = st->partition_epoch + 1;
}

void rn__isr_state_with(const struct rn_pstate *st, int32_t id, struct rn_pstate *out)
{
	*out = *st;
	if (!has(st->isr, st->nisr, id) && out->nisr < RN_MAX_REPLICAS)
		out->isr[out->nisr++] = id;
	out->partition_epoch = st->partition_epoch + 1;
}

int32_t rn__isr_effective_min(int32_t min_isr, int32_t nreplicas)
{
	if (nreplicas > 0 && min_isr > nreplicas)
		return nreplicas;
	return min_isr;
}

bool rn__isr_ack_done(int64_t hw, int64_t offset, int nmaximal, int32_t min_isr, int32_t nreplicas,
		      int16_t *kerr)
{
	if (hw < offset)
		return false;
	/* Appended and replicated to what the ISR is now, which may have shrunk meanwhile. */
	*kerr = nmaximal >= rn__isr_effective_min(min_isr, nreplicas)
		    ? RN_KERR_NONE
		    : RN_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
	return true;
}

/* ReplicaView.comparator: log end, then the least time since caught up, then id. */
static bool better(const struct rn_isr_read_candidate *a, const struct rn_isr_read_candidate *b)
{
	if (a->leo != b->leo)
		return a->leo > b->leo;
	if (a->since_caught_up_ms != b->since_caught_up_ms)
		return a->since_caught_up_ms < b->since_caught_up_ms;
	return a->id > b->id;
}

int32_t rn__isr_select_rack(const char *client_rack, int32_t leader_id, const char *leader_rack,
			    const struct rn_isr_read_candidate *cand, int n)
{
	if (!client_rack || !client_rack[0])
		return leader_id;
	if (leader_rack && strcmp(leader_rack, client_rack) == 0)
		return leader_id;
	const struct rn_isr_read_candidate *best = NULL;
	for (int i = 0; i < n; i++)
		if (cand[i].rack && strcmp(cand[i].rack, client_rack) == 0 &&
		    (!best || better(&cand[i], best)))
			best = &cand[i];
	return best ? best->id : leader_id;
}
