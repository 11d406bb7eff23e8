/*
 * The classic rebalance protocol (Kafka's GroupCoordinator): JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup and the timers. Rules that clients depend on:
 *
 * - a new dynamic member gets MEMBER_ID_REQUIRED only from JoinGroup v4 (require_known_id);
 *   its id is then "pending" and blocks the join phase until it rejoins or its session ends;
 * - the join phase ends when every member (and pending id) has rejoined, or at the rebalance
 *   timeout, when members that did not rejoin are removed; an Empty group joined for the first
 *   time waits group.initial.rebalance.delay.ms first, extended while members keep arriving;
 * - the protocol is chosen by a vote among those every member supports; the leader's JoinGroup
 *   response lists the members, followers get an empty list;
 * - any rejoin of a known member while Stable starts a rebalance (cooperative-sticky rejoins
 *   after revoking); a static member (group.instance.id) rejoining with an empty member id
 *   takes over its old identity and assignment without a rebalance when Stable;
 * - while CompletingRebalance, members that have not sent SyncGroup when the rebalance timeout
 *   ends are removed and the group rebalances again.
 */
#include <string.h>

#include "core/alloc.h"
#include "group/group_int.h"
#include "proto/kerr.h"

/* The parked JoinGroup of m, taken: it is answered once, by the caller. */
static struct rn_gc_join_wait take_join(struct rn_gc_member *m)
{
	struct rn_gc_join_wait w = m->join_wait;
	m->join_wait = (struct rn_gc_join_wait){0};
	return w;
}

static struct rn_gc_sync_wait take_sync(struct rn_gc_member *m)
{
	struct rn_gc_sync_wait w = m->sync_wait;
	m->sync_wait = (struct rn_gc_sync_wait){0};
	return w;
}

static void join_error(struct rn_gc_join_wait w, int16_t err, const char *member_id)
{
	struct rn_gc_join_result r = {
	    .error = err, .generation = -1, .member_id = member_id ? member_id : ""};
	w.fn(w.arg, &r);
}

static void sync_reply(struct rn_gc_sync_wait w, int16_t err, struct rn_group *g,
		       struct rn_gc_member *m)
{
	struct rn_gc_sync_result r = {.error = err};
	if (!err) {
		r.protocol_type = g->protocol_type;
		r.protocol_name = g->protocol_name;
		r.assignment = m->assignment;
		r.assignment_len = m->assignment ? m->assignment_len : 0;
	}
	w.fn(w.arg, &r);
}

static const struct rn_gc_protocol *member_proto(const struct rn_gc_member *m, const char *name)
{
	for (int i = 0; name && i < m->nprotos; i++)
		if (strcmp(m->protos[i].name, name) == 0)
			return &m->protos[i];
	return NULL;
}

/* The JoinGroup response for m in the current generation (members only for the leader). */
static void join_reply(struct rn_group *g, struct rn_gc_member *m, struct rn_gc_join_wait w)
{
	struct rn_gc_join_result r = {
	    .generation = g->generation,
	    .protocol_type = g->protocol_type,
	    .protocol_name = g->protocol_name,
	    .leader = g->leader_id ? g->leader_id : "",
	    .member_id = m->id,
	};
	struct rn_gc_join_member *ms = NULL;
	if (g->leader_id && strcmp(g->leader_id, m->id) == 0) {
		ms = rn_calloc((size_t)g->nmembers + 1, sizeof(*ms));
		for (struct rn_gc_member *x = g->members; x; x = x->next) {
			const struct rn_gc_protocol *p = member_proto(x, g->protocol_name);
			ms[r.nmembers++] = (struct rn_gc_join_member){
			    x->id, x->instance_id, p ? p->meta : NULL, p ? p->meta_len : 0};
		}
		r.members = ms;
	}
	w.fn(w.arg, &r);
	rn_free(ms);
}

static void stored(struct rn_gc *gc, struct rn_group *g)
{
	if (gc->hooks.group_stored)
		gc->hooks.group_stored(gc->hooks.arg, g);
}

static void set_state(struct rn_group *g, enum rn_group_state s, int64_t now)
{
	g->state = s;
	g->state_ts = now;
}

static int64_t max_rebalance_ms(const struct rn_group *g)
{
	int64_t t = 0;
	for (const struct rn_gc_member *m = g->members; m; m = m->next)
		if (m->rebalance_ms > t)
			t = m->rebalance_ms;
	return t;
}

static struct rn_gc_member *find_static(struct rn_group *g, const char *instance_id)
{
	for (struct rn_gc_member *m = g->members; m; m = m->next)
		if (m->instance_id && strcmp(m->instance_id, instance_id) == 0)
			return m;
	return NULL;
}

static int find_pending(const struct rn_group *g, const char *id)
{
	for (int i = 0; i < g->npending; i++)
		if (strcmp(g->pending[i].id, id) == 0)
			return i;
	return -1;
}

static void drop_pending(struct rn_group *g, int i)
{
	rn_free(g->pending[i].id);
	g->pending[i] = g->pending[--g->npending];
}

/* Assignments are void once a new rebalance starts: parked SyncGroups learn it. */
static void reset_assignments(struct rn_group *g, int16_t err)
{
	for (struct rn_gc_member *m = g->members; m; m = m->next) {
		rn_free(m->assignment);
		m->assignment = NULL;
		m->assignment_len = 0;
		if (m->sync_wait.fn)
			sync_reply(take_sync(m), err, g, m);
	}
}

static void prepare_rebalance(struct rn_gc *gc, struct rn_group *g, int64_t now)
{
	if (g->state == RN_GROUP_COMPLETING_REBALANCE)
		reset_assignments(g, RN_KERR_REBALANCE_IN_PROGRESS);
	int64_t rebalance = max_rebalance_ms(g);
	g->delay_deadline = -1;
	if (g->state == RN_GROUP_EMPTY && gc->cfg.initial_delay_ms > 0) {
		int64_t d =
		    gc->cfg.initial_delay_ms < rebalance ? gc->cfg.initial_delay_ms : rebalance;
		g->delay_deadline = now + d;
		g->delay_left = rebalance - d;
		g->new_member_added = false;
	}
	g->join_deadline = now + rebalance;
	set_state(g, RN_GROUP_PREPARING_REBALANCE, now);
}

static bool all_joined(const struct rn_group *g)
{
	if (g->npending)
		return false;
	for (const struct rn_gc_member *m = g->members; m; m = m->next)
		if (!m->join_wait.fn)
			return false;
	return true;
}

/* The protocol every member supports that most members list first (Kafka's vote). */
static const char *select_protocol(const struct rn_group *g)
{
	const struct rn_gc_member *first = g->members;
	const char *best = NULL;
	int best_votes = -1;
	for (int i = 0; first && i < first->nprotos; i++) {
		const char *cand = first->protos[i].name;
		bool everyone = true;
		for (const struct rn_gc_member *m = g->members; m && everyone; m = m->next)
			everyone = member_proto(m, cand) != NULL;
		if (!everyone)
			continue;
		int votes = 0;
		for (const struct rn_gc_member *m = g->members; m; m = m->next) {
			/* Each member votes for its first choice among the candidates. */
			for (int j = 0; j < m->nprotos; j++) {
				const char *c = m->protos[j].name;
				bool ok = true;
				for (const struct rn_gc_member *x = g->members; x && ok;
				     x = x->next)
					ok = member_proto(x, c) != NULL;
				if (ok) {
					votes += strcmp(c, cand) == 0;
					break;
				}
			}
		}
		if (votes > best_votes) {
			best = cand;
			best_votes = votes;
		}
	}
	return best;
}

static void unlink_member(struct rn_group *g, struct rn_gc_member *m)
{
	for (struct rn_gc_member **pp = &g->members; *pp; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			g->nmembers--;
			break;
		}
	}
	if (g->leader_id && strcmp(g->leader_id, m->id) == 0)
		rn__gc_set_str(&g->leader_id, g->members ? g->members->id : NULL);
}

static void complete_join(struct rn_gc *gc, struct rn_group *g, int64_t now)
{
	g->delay_deadline = -1;
	struct rn_gc_member *m = g->members;
	while (m) { /* members that did not rejoin in time leave the group */
		struct rn_gc_member *next = m->next;
		if (!m->join_wait.fn) {
			unlink_member(g, m);
			if (m->sync_wait.fn)
				sync_reply(take_sync(m), RN_KERR_UNKNOWN_MEMBER_ID, g, m);
			rn__gc_member_free(m);
		}
		m = next;
	}
	g->generation++;
	if (!g->nmembers) {
		rn__gc_set_str(&g->protocol_name, NULL);
		rn__gc_set_str(&g->leader_id, NULL);
		set_state(g, RN_GROUP_EMPTY, now);
		stored(gc, g);
		return;
	}
	rn__gc_set_str(&g->protocol_name, select_protocol(g));
	if (!g->leader_id)
		rn__gc_set_str(&g->leader_id, g->members->id);
	set_state(g, RN_GROUP_COMPLETING_REBALANCE, now);
	g->sync_deadline = now + max_rebalance_ms(g);
	for (m = g->members; m; m = m->next) {
		struct rn_gc_join_wait w = take_join(m);
		m->is_new = false;
		m->deadline = now + m->session_ms;
		join_reply(g, m, w);
	}
}

static void maybe_complete_join(struct rn_gc *gc, struct rn_group *g, int64_t now)
{
	if (g->state == RN_GROUP_PREPARING_REBALANCE && g->delay_deadline < 0 && all_joined(g))
		complete_join(gc, g, now);
}

/* After a member left or expired. */
static void member_gone(struct rn_gc *gc, struct rn_group *g, int64_t now)
{
	if (g->state == RN_GROUP_STABLE || g->state == RN_GROUP_COMPLETING_REBALANCE)
		prepare_rebalance(gc, g, now);
	maybe_complete_join(gc, g, now);
}

static void remove_member(struct rn_gc *gc, struct rn_group *g, struct rn_gc_member *m, int64_t now)
{
	unlink_member(g, m);
	if (m->join_wait.fn)
		join_error(take_join(m), RN_KERR_UNKNOWN_MEMBER_ID, m->id);
	if (m->sync_wait.fn)
		sync_reply(take_sync(m), RN_KERR_UNKNOWN_MEMBER_ID, g, m);
	rn__gc_member_free(m);
	member_gone(gc, g, now);
}

static void set_protocols(struct rn_gc_member *m, const struct rn_gc_join_req *rq)
{
	for (int i = 0; i < m->nprotos; i++) {
		rn_free(m->protos[i].name);
		rn_free(m->protos[i].meta);
	}
	rn_free(m->protos);
	m->protos = rn_calloc((size_t)rq->nprotos + 1, sizeof(*m->protos));
	m->nprotos = rq->nprotos;
	for (int i = 0; i < rq->nprotos; i++) {
		m->protos[i].name = rn_strdup(rq->protos[i].name);
		int32_t n = rq->protos[i].meta_len > 0 ? rq->protos[i].meta_len : 0;
		m->protos[i].meta = rn_malloc((size_t)n + 1);
		if (n)
			memcpy(m->protos[i].meta, rq->protos[i].meta, (size_t)n);
		m->protos[i].meta_len = n;
	}
	m->session_ms = rq->session_ms;
	m->rebalance_ms = rq->rebalance_ms;
	rn__gc_set_str(&m->client_id, rq->client_id ? rq->client_id : "");
	rn__gc_set_str(&m->client_host, rq->client_host ? rq->client_host : "");
}

/* A second JoinGroup from a member whose first is still parked: the old one is answered. */
static void park_join(struct rn_gc_member *m, struct rn_gc_join_wait w)
{
	if (m->join_wait.fn)
		join_error(take_join(m), RN_KERR_REBALANCE_IN_PROGRESS, m->id);
	m->join_wait = w;
}

static void add_and_rebalance(struct rn_gc *gc, struct rn_group *g, int64_t now, char *id,
			      const struct rn_gc_join_req *rq)
{
	struct rn_gc_member *m = rn_calloc(1, sizeof(*m));
	m->id = id; /* ours now */
	m->instance_id = rq->instance_id ? rn_strdup(rq->instance_id) : NULL;
	set_protocols(m, rq);
	m->is_new = true;
	m->deadline = now + m->session_ms;
	m->join_wait = rq->done;
	struct rn_gc_member **pp = &g->members;
	while (*pp)
		pp = &(*pp)->next;
	*pp = m;
	g->nmembers++;
	if (!g->leader_id)
		rn__gc_set_str(&g->leader_id, m->id);
	if (g->state == RN_GROUP_PREPARING_REBALANCE)
		g->new_member_added = true;
	else
		prepare_rebalance(gc, g, now);
	maybe_complete_join(gc, g, now);
}

static void update_and_rebalance(struct rn_gc *gc, struct rn_group *g, int64_t now,
				 struct rn_gc_member *m, const struct rn_gc_join_req *rq)
{
	set_protocols(m, rq);
	park_join(m, rq->done);
	if (g->state != RN_GROUP_PREPARING_REBALANCE)
		prepare_rebalance(gc, g, now);
	maybe_complete_join(gc, g, now);
}

static bool same_protocols(const struct rn_gc_member *m, const struct rn_gc_join_req *rq)
{
	if (m->nprotos != rq->nprotos)
		return false;
	for (int i = 0; i < rq->nprotos; i++) {
		int32_t n = rq->protos[i].meta_len > 0 ? rq->protos[i].meta_len : 0;
		if (strcmp(m->protos[i].name, rq->protos[i].name) || m->protos[i].meta_len != n ||
		    (n && memcmp(m->protos[i].meta, rq->protos[i].meta, (size_t)n)))
			return false;
	}
	return true;
}

/* Can a member with these protocols join g (Kafka's supportsProtocols)? */
static bool supports(const struct rn_group *g, const struct rn_gc_join_req *rq)
{
	if (!rq->protocol_type || !*rq->protocol_type || rq->nprotos <= 0)
		return false;
	if (!g->nmembers)
		return true;
	if (!g->protocol_type || strcmp(g->protocol_type, rq->protocol_type))
		return false;
	for (int i = 0; i < rq->nprotos; i++) {
		bool everyone = true;
		for (const struct rn_gc_member *m = g->members; m && everyone; m = m->next)
			everyone = member_proto(m, rq->protos[i].name) != NULL;
		if (everyone)
			return true;
	}
	return false;
}

/* A static member restarted (empty member id, known instance id): it replaces its old self. */
static void replace_static(struct rn_gc *gc, struct rn_group *g, int64_t now,
			   struct rn_gc_member *m, const struct rn_gc_join_req *rq)
{
	char *new_id = rn__gc_member_id(rq->client_id);
	if (m->join_wait.fn)
		join_error(take_join(m), RN_KERR_FENCED_INSTANCE_ID, m->id);
	if (m->sync_wait.fn)
		sync_reply(take_sync(m), RN_KERR_FENCED_INSTANCE_ID, g, m);
	bool leader = g->leader_id && strcmp(g->leader_id, m->id) == 0;
	rn_free(m->id);
	m->id = new_id;
	if (leader)
		rn__gc_set_str(&g->leader_id, new_id);
	bool same = same_protocols(m, rq);
	if (g->state == RN_GROUP_STABLE && (same || member_proto(m, g->protocol_name))) {
		/* Same protocol next generation: no rebalance; the member syncs to get its
		 * old assignment back. */
		set_protocols(m, rq);
		m->deadline = now + m->session_ms;
		stored(gc, g);
		join_reply(g, m, rq->done);
		return;
	}
	update_and_rebalance(gc, g, now, m, rq);
}

static void join_new(struct rn_gc *gc, struct rn_group *g, int64_t now,
		     const struct rn_gc_join_req *rq)
{
	if (rq->instance_id) {
		struct rn_gc_member *m = find_static(g, rq->instance_id);
		if (m) {
			replace_static(gc, g, now, m, rq);
			return;
		}
	}
	if (g->nmembers + g->npending >= gc->cfg.max_size) {
		join_error(rq->done, RN_KERR_GROUP_MAX_SIZE_REACHED, "");
		return;
	}
	char *id = rn__gc_member_id(rq->client_id);
	if (!rq->instance_id && rq->require_known_id) {
		g->pending =
		    rn_realloc(g->pending, (size_t)(g->npending + 1) * sizeof(*g->pending));
		g->pending[g->npending++] = (struct rn_gc_pending){id, now + rq->session_ms};
		join_error(rq->done, RN_KERR_MEMBER_ID_REQUIRED, id);
		return;
	}
	add_and_rebalance(gc, g, now, id, rq);
}

static void join_known(struct rn_gc *gc, struct rn_group *g, int64_t now,
		       const struct rn_gc_join_req *rq)
{
	int pi = find_pending(g, rq->member_id);
	if (pi >= 0) {
		char *id = g->pending[pi].id;
		g->pending[pi] = g->pending[--g->npending];
		add_and_rebalance(gc, g, now, id, rq);
		return;
	}
	struct rn_gc_member *m = rn_gc_member_find(g, rq->member_id);
	if (!m) {
		join_error(rq->done, RN_KERR_UNKNOWN_MEMBER_ID, rq->member_id);
		return;
	}
	if (rq->instance_id && (!m->instance_id || strcmp(m->instance_id, rq->instance_id))) {
		join_error(rq->done, RN_KERR_FENCED_INSTANCE_ID, rq->member_id);
		return;
	}
	m->deadline = now + rq->session_ms;
	switch (g->state) {
	case RN_GROUP_COMPLETING_REBALANCE:
		if (same_protocols(m, rq)) { /* a lost response: answer again */
			join_reply(g, m, rq->done);
			return;
		}
		update_and_rebalance(gc, g, now, m, rq);
		return;
	case RN_GROUP_PREPARING_REBALANCE:
	case RN_GROUP_STABLE: update_and_rebalance(gc, g, now, m, rq); return;
	default: join_error(rq->done, RN_KERR_UNKNOWN_MEMBER_ID, rq->member_id); return;
	}
}

void rn_gc_join(struct rn_gc *gc, int64_t now, const struct rn_gc_join_req *rq)
{
	const char *mid = rq->member_id ? rq->member_id : "";
	if (!rq->group || !*rq->group) {
		join_error(rq->done, RN_KERR_INVALID_GROUP_ID, mid);
		return;
	}
	if (rq->session_ms < gc->cfg.min_session_ms || rq->session_ms > gc->cfg.max_session_ms) {
		join_error(rq->done, RN_KERR_INVALID_SESSION_TIMEOUT, mid);
		return;
	}
	struct rn_group *g = rn_gc_group(gc, rq->group);
	if (!g && *mid) {
		join_error(rq->done, RN_KERR_UNKNOWN_MEMBER_ID, mid);
		return;
	}
	if (!g)
		g = rn_gc_group_get_or_create(gc, rq->group, now);
	if (g->state == RN_GROUP_DEAD) {
		join_error(rq->done, RN_KERR_COORDINATOR_NOT_AVAILABLE, mid);
		return;
	}
	if (!supports(g, rq)) {
		join_error(rq->done, RN_KERR_INCONSISTENT_GROUP_PROTOCOL, mid);
		return;
	}
	if (!g->nmembers)
		rn__gc_set_str(&g->protocol_type, rq->protocol_type);
	if (*mid)
		join_known(gc, g, now, rq);
	else
		join_new(gc, g, now, rq);
}

/* Unknown member or a static member whose instance is now owned by another member id. */
static int16_t check_member(struct rn_group *g, const char *member_id, const char *instance_id,
			    struct rn_gc_member **out)
{
	*out = NULL;
	if (instance_id) {
		struct rn_gc_member *s = find_static(g, instance_id);
		if (s && strcmp(s->id, member_id) != 0)
			return RN_KERR_FENCED_INSTANCE_ID;
	}
	struct rn_gc_member *m = rn_gc_member_find(g, member_id);
	if (!m)
		return RN_KERR_UNKNOWN_MEMBER_ID;
	*out = m;
	return RN_KERR_NONE;
}

static void leader_sync(struct rn_group *g, const struct rn_gc_sync_req *rq)
{
	for (struct rn_gc_member *m = g->members; m; m = m->next) {
		rn_free(m->assignment);
		m->assignment = NULL;
		m->assignment_len = 0;
		for (int i = 0; i < rq->nassignments; i++) {
			const struct rn_gc_assignment *a = &rq->assignments[i];
			if (!a->member_id || strcmp(a->member_id, m->id))
				continue;
			int32_t n = a->len > 0 ? a->len : 0;
			m->assignment = rn_malloc((size_t)n + 1);
			if (n)
				memcpy(m->assignment, a->data, (size_t)n);
			m->assignment_len = n;
			break;
		}
	}
}

void rn_gc_sync(struct rn_gc *gc, int64_t now, const struct rn_gc_sync_req *rq)
{
	struct rn_group *g = rq->group ? rn_gc_group(gc, rq->group) : NULL;
	struct rn_gc_member *m = NULL;
	int16_t err = RN_KERR_NONE;
	if (!g)
		err = RN_KERR_UNKNOWN_MEMBER_ID;
	else if (g->state == RN_GROUP_DEAD)
		err = RN_KERR_COORDINATOR_NOT_AVAILABLE;
	else
		err = check_member(g, rq->member_id, rq->instance_id, &m);
	if (!err && rq->generation != g->generation)
		err = RN_KERR_ILLEGAL_GENERATION;
	if (!err && ((rq->protocol_type && g->protocol_type &&
		      strcmp(rq->protocol_type, g->protocol_type)) ||
		     (rq->protocol_name && g->protocol_name &&
		      strcmp(rq->protocol_name, g->protocol_name))))
		err = RN_KERR_INCONSISTENT_GROUP_PROTOCOL;
	if (!err && g->state == RN_GROUP_EMPTY)
		err = RN_KERR_UNKNOWN_MEMBER_ID;
	if (!err && g->state == RN_GROUP_PREPARING_REBALANCE)
		err = RN_KERR_REBALANCE_IN_PROGRESS;
	if (err) {
		sync_reply(rq->done, err, g, m);
		return;
	}
	m->deadline = now + m->session_ms;
	if (g->state == RN_GROUP_STABLE) {
		sync_reply(rq->done, RN_KERR_NONE, g, m);
		return;
	}
	/* CompletingRebalance: park until the leader's assignment arrives. */
	if (m->sync_wait.fn)
		sync_reply(take_sync(m), RN_KERR_REBALANCE_IN_PROGRESS, g, m);
	m->sync_wait = rq->done;
	if (!g->leader_id || strcmp(g->leader_id, m->id) != 0)
		return;
	leader_sync(g, rq);
	set_state(g, RN_GROUP_STABLE, now);
	stored(gc, g);
	for (struct rn_gc_member *x = g->members; x; x = x->next) {
		if (x->sync_wait.fn)
			sync_reply(take_sync(x), RN_KERR_NONE, g, x);
	}
}

int16_t rn_gc_heartbeat(struct rn_gc *gc, int64_t now, const char *group, const char *member_id,
			const char *instance_id, int32_t generation)
{
	struct rn_group *g = group ? rn_gc_group(gc, group) : NULL;
	if (!g)
		return RN_KERR_UNKNOWN_MEMBER_ID;
	if (g->state == RN_GROUP_DEAD)
		return RN_KERR_COORDINATOR_NOT_AVAILABLE;
	struct rn_gc_member *m;
	int16_t err = check_member(g, member_id, instance_id, &m);
	if (err)
		return err;
	switch (g->state) {
	case RN_GROUP_PREPARING_REBALANCE:
		m->deadline = now + m->session_ms;
		return RN_KERR_REBALANCE_IN_PROGRESS;
	case RN_GROUP_COMPLETING_REBALANCE:
	case RN_GROUP_STABLE:
		if (generation != g->generation)
			return RN_KERR_ILLEGAL_GENERATION;
		m->deadline = now + m->session_ms;
		return RN_KERR_NONE;
	default: return RN_KERR_UNKNOWN_MEMBER_ID;
	}
}

int16_t rn_gc_leave(struct rn_gc *gc, int64_t now, const char *group, const char *member_id,
		    const char *instance_id)
{
	struct rn_group *g = group ? rn_gc_group(gc, group) : NULL;
	if (!g)
		return RN_KERR_UNKNOWN_MEMBER_ID;
	if (g->state == RN_GROUP_DEAD)
		return RN_KERR_COORDINATOR_NOT_AVAILABLE;
	struct rn_gc_member *m;
	if (instance_id) {
		m = find_static(g, instance_id);
		if (!m)
			return RN_KERR_UNKNOWN_MEMBER_ID;
		if (member_id && *member_id && strcmp(m->id, member_id))
			return RN_KERR_FENCED_INSTANCE_ID;
	} else {
		int pi = find_pending(g, member_id);
		if (pi >= 0) {
			drop_pending(g, pi);
			maybe_complete_join(gc, g, now);
			return RN_KERR_NONE;
		}
		m = rn_gc_member_find(g, member_id);
		if (!m)
			return RN_KERR_UNKNOWN_MEMBER_ID;
	}
	remove_member(gc, g, m, now);
	return RN_KERR_NONE;
}

int16_t rn_gc_commit_check(struct rn_gc *gc, int64_t now, const char *group, int32_t generation,
			   const char *member_id, const char *instance_id, struct rn_group **out)
{
	*out = NULL;
	if (!group || !*group)
		return RN_KERR_INVALID_GROUP_ID;
	struct rn_group *g = rn_gc_group(gc, group);
	if (!g) {
		if (generation >= 0)
			return RN_KERR_ILLEGAL_GENERATION;
		*out = rn_gc_group_get_or_create(gc, group, now);
		return RN_KERR_NONE;
	}
	if (g->state == RN_GROUP_DEAD)
		return RN_KERR_COORDINATOR_NOT_AVAILABLE;
	if (generation < 0 && g->state == RN_GROUP_EMPTY) {
		*out = g;
		return RN_KERR_NONE;
	}
	if (instance_id) {
		struct rn_gc_member *s = find_static(g, instance_id);
		if (s && (!member_id || strcmp(s->id, member_id)))
			return RN_KERR_FENCED_INSTANCE_ID;
	}
	const char *mid = member_id ? member_id : "";
	/* Neither a generation nor a member: an admin client or a consumer without group
	 * management. Once the group has members only they may commit (Kafka's
	 * validateOffsetCommit for non-transactional commits). */
	if (generation < 0 && !*mid && !instance_id)
		return RN_KERR_UNKNOWN_MEMBER_ID;
	struct rn_gc_member *m = rn_gc_member_find(g, mid);
	if (!m)
		return RN_KERR_UNKNOWN_MEMBER_ID;
	if (generation != g->generation)
		return RN_KERR_ILLEGAL_GENERATION;
	if (g->state == RN_GROUP_COMPLETING_REBALANCE)
		return RN_KERR_REBALANCE_IN_PROGRESS;
	m->deadline = now + m->session_ms;
	*out = g;
	return RN_KERR_NONE;
}

static bool kept_alive(const struct rn_gc_member *m)
{
	return m->join_wait.fn || m->sync_wait.fn;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Fires g's due timers; returns its next deadline. */
static int64_t tick_group(struct rn_gc *gc, struct rn_group *g, int64_t now)
{
	for (int i = 0; i < g->npending;) {
		if (now >= g->pending[i].deadline) {
			drop_pending(g, i);
			maybe_complete_join(gc, g, now);
		} else {
			i++;
		}
	}
	for (struct rn_gc_member *m = g->members; m;) {
		struct rn_gc_member *next = m->next;
		if (!kept_alive(m) && now >= m->deadline) {
			remove_member(gc, g, m, now);
			next = g->members; /* the list may have changed: start over */
		}
		m = next;
	}
	if (g->state == RN_GROUP_PREPARING_REBALANCE) {
		if (g->delay_deadline >= 0 && now >= g->delay_deadline) {
			if (g->new_member_added && g->delay_left > 0) {
				int64_t d = min64(gc->cfg.initial_delay_ms, g->delay_left);
				g->delay_left -= d;
				g->delay_deadline = now + d;
				g->new_member_added = false;
			} else {
				complete_join(gc, g, now);
			}
		} else if (g->delay_deadline < 0 && now >= g->join_deadline) {
			complete_join(gc, g, now);
		}
	}
	if (g->state == RN_GROUP_COMPLETING_REBALANCE && now >= g->sync_deadline) {
		struct rn_gc_member *m = g->members;
		while (m) { /* members that never synced are gone (Kafka's pending sync) */
			struct rn_gc_member *next = m->next;
			if (!m->sync_wait.fn) {
				unlink_member(g, m);
				rn__gc_member_free(m);
			}
			m = next;
		}
		prepare_rebalance(gc, g, now);
		maybe_complete_join(gc, g, now);
	}
	int64_t next = INT64_MAX;
	for (int i = 0; i < g->npending; i++)
		next = min64(next, g->pending[i].deadline);
	for (struct rn_gc_member *m = g->members; m; m = m->next)
		if (!kept_alive(m))
			next = min64(next, m->deadline);
	if (g->state == RN_GROUP_PREPARING_REBALANCE)
		next = min64(next, g->delay_deadline >= 0 ? g->delay_deadline : g->join_deadline);
	if (g->state == RN_GROUP_COMPLETING_REBALANCE)
		next = min64(next, g->sync_deadline);
	return next;
}

struct tick_arg {
	struct rn_gc *gc;
	int64_t now, next;
};

static void tick_one(struct rn_group *g, void *arg)
{
	struct tick_arg *ta = arg;
	ta->next = min64(ta->next, tick_group(ta->gc, g, ta->now));
}

int64_t rn_gc_tick(struct rn_gc *gc, int64_t now)
{
	struct tick_arg ta = {gc, now, INT64_MAX};
	rn_gc_foreach(gc, tick_one, &ta);
	return ta.next;
}

static void abort_one(struct rn_group *g, void *arg)
{
	struct tick_arg *ta = arg;
	int16_t err = (int16_t)ta->now;
	for (struct rn_gc_member *m = g->members; m; m = m->next) {
		if (m->join_wait.fn)
			join_error(take_join(m), err, m->id);
		if (m->sync_wait.fn)
			sync_reply(take_sync(m), err, g, m);
	}
}

void rn_gc_abort_all(struct rn_gc *gc, int16_t err)
{
	struct tick_arg ta = {gc, err, 0};
	rn_gc_foreach(gc, abort_one, &ta);
}

void rn_gc_abort_group(struct rn_gc *gc, struct rn_group *g, int16_t err)
{
	struct tick_arg ta = {gc, err, 0};
	abort_one(g, &ta);
}
