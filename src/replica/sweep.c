/*
 * The controller's passes over every partition state (controller.c runs them):
 *  - the failover sweep: rn_elect_failover for each partition; the writes that change a
 *    leader go first, then the ISR-only ones (a dead follower out of a live leader's ISR can
 *    wait, a partition without a leader cannot), each group written by a few threads at once,
 *    because every write is an etcd round trip plus the watch bringing it back: one at a time,
 *    a broker leading hundreds of partitions would keep the last of them offline for seconds;
 *  - the preferred-leader rebalance (auto.leader.rebalance.enable).
 * Both stop early when the controllership goes (*active false).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/log.h"
#include "proto/kerr.h"
#include "replica/controller.h"
#include "replica/controller_int.h"
#include "replica/election.h"

#define WRITERS 4 /* threads writing one sweep's changes */

/* Partition states copied out of the store's cache (its foreach holds a read lock). */
struct part_ref {
	char *topic;
	int32_t idx;
	struct rn_pstate st;
	bool unclean;
};
struct part_list {
	struct part_ref *v;
	size_t n, cap;
};

static void collect_cb(const char *topic, int32_t idx, const struct rn_pstate *st, void *arg)
{
	struct part_list *l = arg;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = rn_realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct part_ref){rn_strdup(topic), idx, *st, false};
}

static void parts_free(struct part_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		rn_free(l->v[i].topic);
	rn_free(l->v);
}

static int16_t decide_failover(const struct rn_pstate *cur, const int32_t *live, int nlive,
			       void *arg, struct rn_pstate *next, bool *write)
{
	*write = rn_elect_failover(cur, live, nlive, *(bool *)arg, next);
	return RN_KERR_NONE;
}

static void write_failover(struct rn_meta *m, struct part_ref *p)
{
	struct rn_pstate next;
	int16_t kerr = rn__ctl_apply(m, p->topic, p->idx, decide_failover, &p->unclean, &next);
	if (kerr != RN_KERR_NONE)
		rn_log_every(5000, RN_LOG_WARN, "controller: cannot update %s-%d: error %d",
			     p->topic, p->idx, kerr);
	else if (next.leader < 0)
		rn_log_every(5000, RN_LOG_WARN,
			     "controller: %s-%d is offline: no live in-sync replica%s", p->topic,
			     p->idx,
			     p->unclean ? " and no live replica" : " (unclean election disabled)");
}

/* One group of writes shared by the writer threads. */
struct batch {
	struct rn_meta *m;
	struct part_ref **items;
	size_t n;
	_Atomic size_t next;
	_Atomic bool *active;
};

static void *writer_main(void *arg)
{
	struct batch *b = arg;
	size_t i;
	while (atomic_load(b->active) && (i = atomic_fetch_add(&b->next, 1)) < b->n)
		write_failover(b->m, b->items[i]);
	return NULL;
}

static void write_batch(struct rn_meta *m, struct part_ref **items, size_t n, _Atomic bool *active)
{
	struct batch b = {.m = m, .items = items, .n = n, .active = active};
	atomic_init(&b.next, 0);
	pthread_t thr[WRITERS - 1];
	int started = 0;
	for (size_t t = 1; t < WRITERS && t < n; t++)
		if (pthread_create(&thr[started], NULL, writer_main, &b) == 0)
			started++;
	writer_main(&b); /* this thread writes too (alone for a single change) */
	for (int t = 0; t < started; t++)
		pthread_join(thr[t], NULL);
}

void rn__ctl_sweep(struct rn_meta *m, const struct rn_controller_cfg *cfg, _Atomic bool *active)
{
	struct part_list l = {0};
	rn_meta_partitions_foreach(m, collect_cb, &l);
	int32_t *live;
	int nlive = rn__ctl_live(m, &live);
	/* Leader changes fill the array from the front, ISR-only changes from the back. */
	struct part_ref **todo = rn_malloc((l.n + 1) * sizeof(*todo));
	size_t nlead = 0, nrest = 0;
	for (size_t i = 0; i < l.n; i++) {
		struct part_ref *p = &l.v[i];
		p->unclean = cfg->unclean_enabled && cfg->unclean_enabled(cfg->arg, p->topic);
		struct rn_pstate next;
		if (!rn_elect_failover(&p->st, live, nlive, p->unclean, &next))
			continue;
		if (next.leader != p->st.leader)
			todo[nlead++] = p;
		else
			todo[l.n - ++nrest] = p;
	}
	rn_free(live);
	if (nlead)
		write_batch(m, todo, nlead, active);
	if (nrest)
		write_batch(m, todo + l.n - nrest, nrest, active);
	rn_free(todo);
	parts_free(&l);
}

static int16_t decide_rebalance(const struct rn_pstate *cur, const int32_t *live, int nlive,
				void *arg, struct rn_pstate *next, bool *write)
{
	(void)arg;
	int16_t kerr = rn_elect_preferred(cur, live, nlive, next);
	*write = kerr == RN_KERR_NONE && next->leader == cur->replicas[0];
	return kerr;
}

static bool preferred_by(const struct rn_pstate *st, int32_t b)
{
	return st->nreplicas > 0 && st->replicas[0] == b && !rn_pstate_reassigning(st);
}

/* ZooKeeper-era Kafka: per live broker b, imbalance = partitions whose preferred replica is b
 * but led by another / partitions whose preferred replica is b; above the percentage, every
 * such partition where b is in the ISR gets a preferred election. Reassigning partitions are
 * left alone. */
void rn__ctl_rebalance(struct rn_meta *m, const struct rn_controller_cfg *cfg, _Atomic bool *active)
{
	struct part_list l = {0};
	rn_meta_partitions_foreach(m, collect_cb, &l);
	int32_t *live;
	int nlive = rn__ctl_live(m, &live);
	for (int b = 0; b < nlive && atomic_load(active); b++) {
		int64_t total = 0, off = 0;
		for (size_t i = 0; i < l.n; i++) {
			if (!preferred_by(&l.v[i].st, live[b]))
				continue;
			total++;
			off += l.v[i].st.leader != live[b];
		}
		if (total == 0 || off * 100 <= (int64_t)cfg->imbalance_pct * total)
			continue;
		rn_info("controller: broker %d leads %lld of its %lld preferred partitions: moving "
			"leaders back",
			live[b], (long long)(total - off), (long long)total);
		for (size_t i = 0; i < l.n; i++) {
			const struct rn_pstate *st = &l.v[i].st;
			if (preferred_by(st, live[b]) && st->leader != live[b] &&
			    rn_pstate_has(st->isr, st->nisr, live[b]))
				rn__ctl_apply(m, l.v[i].topic, l.v[i].idx, decide_rebalance, NULL,
					      NULL);
		}
	}
	rn_free(live);
	parts_free(&l);
}
