/*
 * Controlled shutdown (controlled.shutdown.enable, SIGTERM): the stopping broker itself moves
 * every leadership it holds to another live ISR member and leaves the ISRs where others
 * remain, before it unregisters, so clients see one NOT_LEADER_OR_FOLLOWER and a fresh
 * leader instead of waiting for its lease to expire. Each change is a partition-epoch CAS
 * like any controller write, so it cannot undo a concurrent election.
 *
 * Done means "leads nothing": a follower leaving an ISR may be added back by its leader if it
 * still fetches (the broker stops its fetchers first), which must not hold the exit up.
 */
#include <time.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "proto/kerr.h"
#include "replica/controller.h"
#include "replica/controller_int.h"
#include "replica/election.h"

#define RETRY_MS 100

struct sd_ref {
	char *topic;
	int32_t idx;
};
struct sd_list {
	int32_t node;
	struct sd_ref *v;
	size_t n, cap;
};

/* The partitions node leads or is an ISR member of. */
static void collect_cb(const char *topic, int32_t idx, const struct rn_pstate *st, void *arg)
{
	struct sd_list *l = arg;
	if (st->leader != l->node && !rn_pstate_has(st->isr, st->nisr, l->node))
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = rn_realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct sd_ref){rn_strdup(topic), idx};
}

static int16_t decide_shutdown(const struct rn_pstate *cur, const int32_t *live, int nlive,
			       void *arg, struct rn_pstate *next, bool *write)
{
	*write = rn_elect_shutdown(cur, *(int32_t *)arg, live, nlive, next);
	return RN_KERR_NONE;
}

/* True when a live ISR member other than node could take st over. */
static bool movable(struct rn_meta *m, const struct rn_pstate *st, int32_t node)
{
	for (int32_t i = 0; i < st->nisr; i++)
		if (st->isr[i] != node && rn_meta_broker_live(m, st->isr[i]))
			return true;
	return false;
}

/* One pass over node's partitions; returns how many node still leads, *stuck of them with
 * no other live ISR member (waiting cannot move those, as Kafka's controller does not wait
 * for them either: they go offline with the broker). */
static int shutdown_pass(struct rn_meta *m, int32_t node, int *stuck)
{
	*stuck = 0;
	struct sd_list l = {.node = node};
	rn_meta_partitions_foreach(m, collect_cb, &l);
	int leads = 0;
	for (size_t i = 0; i < l.n; i++) {
		struct rn_pstate after;
		int16_t kerr =
		    rn__ctl_apply(m, l.v[i].topic, l.v[i].idx, decide_shutdown, &node, &after);
		if (kerr == RN_KERR_NONE && after.leader == node) {
			leads++;
			if (!movable(m, &after, node))
				(*stuck)++;
		} else if (kerr != RN_KERR_NONE && kerr != RN_KERR_UNKNOWN_TOPIC_OR_PARTITION)
			leads++; /* unknown outcome: try again */
		rn_free(l.v[i].topic);
	}
	rn_free(l.v);
	return leads;
}

int rn_controller_shutdown_broker(struct rn_meta *m, int32_t node_id, int64_t timeout_ms)
{
	if (!rn_meta_clustered(m))
		return 0;
	int64_t deadline = rn_mono_ms() + timeout_ms;
	int leads, stuck;
	for (;;) {
		leads = shutdown_pass(m, node_id, &stuck);
		if (leads == stuck || rn_mono_ms() >= deadline)
			break;
		struct timespec ts = {0, RETRY_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (leads > 0)
		rn_warn("controlled shutdown: broker %d still leads %d partition(s) with no other "
			"live in-sync replica",
			node_id, leads);
	else
		rn_info("controlled shutdown: broker %d leads no partition any more", node_id);
	return leads;
}
