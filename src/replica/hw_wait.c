/* Parked acks=all produces of one partition, sorted by the offset they wait for (see
 * isr_rules.h). The list is rp->lock's; callbacks run after detaching. */
#include "core/alloc.h"
#include "proto/kerr.h"
#include "replica/isr_rules.h"

struct rn_hw_wait *rn__hw_wait_new(int64_t offset, int32_t min_isr, int64_t deadline_ms,
				   void (*cb)(void *arg, int16_t kerr), void *arg)
{
	struct rn_hw_wait *w = rn_calloc(1, sizeof(*w));
	w->offset = offset;
	w->min_isr = min_isr;
	w->deadline_ms = deadline_ms;
	w->cb = cb;
	w->arg = arg;
	return w;
}

void rn__hw_wait_insert(struct rn_hw_wait **list, struct rn_hw_wait *w)
{
	/* Appends come in offset order, so the tail is the usual place: walk from the head
	 * anyway, lists are as long as the produces in flight on one partition. */
	while (*list && (*list)->offset <= w->offset)
		list = &(*list)->next;
	w->next = *list;
	*list = w;
}

static void push_tail(struct rn_hw_wait ***tail, struct rn_hw_wait *w)
{
	w->next = NULL;
	**tail = w;
	*tail = &w->next;
}

struct rn_hw_wait *rn__hw_wait_take(struct rn_hw_wait **list, int64_t hw, int nmaximal,
				    int32_t nreplicas, int64_t now_ms)
{
	struct rn_hw_wait *done = NULL, **tail = &done;
	while (*list) {
		struct rn_hw_wait *w = *list;
		int16_t kerr;
		if (rn__isr_ack_done(hw, w->offset, nmaximal, w->min_isr, nreplicas, &kerr))
			w->kerr = kerr;
		else if (now_ms >= w->deadline_ms)
			w->kerr = RN_KERR_REQUEST_TIMED_OUT;
		else {
			list = &w->next;
			continue;
		}
		*list = w->next;
		push_tail(&tail, w);
	}
	return done;
}

struct rn_hw_wait *rn__hw_wait_take_all(struct rn_hw_wait **list, int16_t kerr)
{
	struct rn_hw_wait *done = *list;
	*list = NULL;
	for (struct rn_hw_wait *w = done; w; w = w->next)
		w->kerr = kerr;
	return done;
}

void rn__hw_wait_fire(struct rn_hw_wait *done, int16_t override)
{
	while (done) {
		struct rn_hw_wait *next = done->next;
		int16_t kerr = done->kerr;
		if (kerr == RN_KERR_NONE && override != RN_KERR_NONE)
			kerr = override;
		done->cb(done->arg, kerr);
		rn_free(done);
		done = next;
	}
}

int rn__hw_wait_count(const struct rn_hw_wait *list)
{
	int n = 0;
	for (; list; list = list->next)
		n++;
	return n;
}
