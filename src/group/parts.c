/* Coordinated partitions of an internal topic (see parts.h). */
#include "group/parts.h"

#include "core/alloc.h"
#include "proto/kerr.h"

void rn_gc_parts_init(struct rn_gc_parts *t, int32_t n, bool owned)
{
	t->n = n > 0 ? n : 0;
	t->v = rn_calloc((size_t)t->n + 1, sizeof(*t->v));
	for (int32_t i = 0; i < t->n; i++)
		t->v[i] = (struct rn_gc_part){owned ? RN_GC_PART_OWNED : RN_GC_PART_NOT_OWNED,
					      owned ? 0 : -1, 1};
}

void rn_gc_parts_free(struct rn_gc_parts *t)
{
	rn_free(t->v);
	t->v = NULL;
	t->n = 0;
}

uint64_t rn_gc_parts_lead(struct rn_gc_parts *t, int32_t idx, int32_t epoch)
{
	if (idx < 0 || idx >= t->n)
		return 0;
	struct rn_gc_part *p = &t->v[idx];
	/* Kafka's onElection: a load is scheduled only for an epoch newer than the one known. */
	if (p->state != RN_GC_PART_NOT_OWNED && epoch <= p->epoch)
		return 0;
	if (p->state == RN_GC_PART_NOT_OWNED && p->epoch >= 0 && epoch < p->epoch)
		return 0;
	p->state = RN_GC_PART_LOADING;
	p->epoch = epoch;
	return ++p->gen;
}

bool rn_gc_parts_loaded(struct rn_gc_parts *t, int32_t idx, uint64_t gen)
{
	if (idx < 0 || idx >= t->n)
		return false;
	struct rn_gc_part *p = &t->v[idx];
	if (p->state != RN_GC_PART_LOADING || p->gen != gen)
		return false;
	p->state = RN_GC_PART_OWNED;
	return true;
}

bool rn_gc_parts_resign(struct rn_gc_parts *t, int32_t idx, int32_t epoch)
{
	if (idx < 0 || idx >= t->n)
		return false;
	struct rn_gc_part *p = &t->v[idx];
	if (p->state == RN_GC_PART_NOT_OWNED) {
		if (epoch > p->epoch)
			p->epoch = epoch; /* remembered: a later lead in an older epoch is stale */
		return false;
	}
	/* Kafka's onResignation skips when it already leads in a newer epoch. */
	if (epoch >= 0 && epoch < p->epoch)
		return false;
	p->state = RN_GC_PART_NOT_OWNED;
	if (epoch > p->epoch)
		p->epoch = epoch;
	p->gen++;
	return true;
}

int16_t rn_gc_parts_status(const struct rn_gc_parts *t, int32_t idx)
{
	if (idx < 0 || idx >= t->n)
		return RN_KERR_NOT_COORDINATOR;
	switch (t->v[idx].state) {
	case RN_GC_PART_OWNED: return RN_KERR_NONE;
	case RN_GC_PART_LOADING: return RN_KERR_COORDINATOR_LOAD_IN_PROGRESS;
	case RN_GC_PART_NOT_OWNED: break;
	}
	return RN_KERR_NOT_COORDINATOR;
}

bool rn_gc_parts_owned(const struct rn_gc_parts *t, int32_t idx)
{
	return rn_gc_parts_status(t, idx) == RN_KERR_NONE;
}

int32_t rn_gc_parts_epoch(const struct rn_gc_parts *t, int32_t idx)
{
	return rn_gc_parts_owned(t, idx) ? t->v[idx].epoch : -1;
}

void rn_gc_part_events_push(struct rn_gc_part_events *q, int32_t idx, bool leader, int32_t epoch)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		q->v = rn_realloc(q->v, (size_t)q->cap * sizeof(*q->v));
	}
	q->v[q->n++] = (struct rn_gc_part_event){idx, leader, epoch};
}

void rn_gc_part_events_take(struct rn_gc_part_events *q, struct rn_gc_part_events *out)
{
	*out = *q;
	*q = (struct rn_gc_part_events){0};
}

static struct rn_gc_pseq *pseq_find(const struct rn_gc_pseqs *s, int64_t pid)
{
	for (int i = 0; i < s->n; i++)
		if (s->v[i].pid == pid)
			return &s->v[i];
	return NULL;
}

static struct rn_gc_pseq *pseq_get(struct rn_gc_pseqs *s, int64_t pid, int16_t epoch)
{
	struct rn_gc_pseq *e = pseq_find(s, pid);
	if (e)
		return e;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = rn_realloc(s->v, (size_t)s->cap * sizeof(*s->v));
	}
	s->v[s->n] = (struct rn_gc_pseq){pid, epoch, 0};
	return &s->v[s->n++];
}

void rn_gc_pseqs_batch(struct rn_gc_pseqs *s, int64_t pid, int16_t epoch, int32_t last_seq)
{
	struct rn_gc_pseq *e = pseq_get(s, pid, epoch);
	if (epoch < e->epoch)
		return;
	e->epoch = epoch;
	e->next = last_seq == INT32_MAX ? 0 : last_seq + 1;
}

void rn_gc_pseqs_marker(struct rn_gc_pseqs *s, int64_t pid, int16_t epoch)
{
	struct rn_gc_pseq *e = pseq_get(s, pid, epoch);
	if (epoch > e->epoch) {
		e->epoch = epoch;
		e->next = 0;
	}
}

int32_t rn_gc_pseqs_next(const struct rn_gc_pseqs *s, int64_t pid, int16_t epoch)
{
	const struct rn_gc_pseq *e = pseq_find(s, pid);
	return e && e->epoch == epoch ? e->next : 0;
}

void rn_gc_pseqs_free(struct rn_gc_pseqs *s)
{
	rn_free(s->v);
	*s = (struct rn_gc_pseqs){0};
}

void rn_gc_part_events_requeue(struct rn_gc_part_events *q, const struct rn_gc_part_events *ev,
			       int from)
{
	struct rn_gc_part_events later = *q;
	*q = (struct rn_gc_part_events){0};
	for (int i = from; i < ev->n; i++)
		rn_gc_part_events_push(q, ev->v[i].idx, ev->v[i].leader, ev->v[i].epoch);
	for (int i = 0; i < later.n; i++)
		rn_gc_part_events_push(q, later.v[i].idx, later.v[i].leader, later.v[i].epoch);
	rn_free(later.v);
}
