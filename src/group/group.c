/*
 * The group table (groups by id, chained hash), group and member lifetimes, and loading a
 * group from its stored metadata. The state machine itself is in state.c.
 */
#include "group/group_int.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "core/alloc.h"

const char *rn_group_state_name(enum rn_group_state s)
{
	switch (s) {
	case RN_GROUP_EMPTY: return "Empty";
	case RN_GROUP_PREPARING_REBALANCE: return "PreparingRebalance";
	case RN_GROUP_COMPLETING_REBALANCE: return "CompletingRebalance";
	case RN_GROUP_STABLE: return "Stable";
	case RN_GROUP_DEAD: return "Dead";
	}
	return "Unknown";
}

void rn_gc_config_default(struct rn_gc_config *c)
{
	c->initial_delay_ms = 3000;
	c->min_session_ms = 6000;
	c->max_session_ms = 1800000;
	c->max_size = INT32_MAX;
	c->offsets_retention_ms = 10080LL * 60000;
	c->metadata_max_bytes = 4096;
}

struct rn_gc *rn_gc_new(const struct rn_gc_config *cfg, const struct rn_gc_hooks *hooks)
{
	struct rn_gc *gc = rn_calloc(1, sizeof(*gc));
	gc->cfg = *cfg;
	gc->hooks = *hooks;
	gc->nbuckets = 64;
	gc->buckets = rn_calloc(gc->nbuckets, sizeof(*gc->buckets));
	return gc;
}

void rn_gc_free(struct rn_gc *gc)
{
	if (!gc)
		return;
	for (uint32_t i = 0; i < gc->nbuckets; i++) {
		struct rn_group *g = gc->buckets[i];
		while (g) {
			struct rn_group *next = g->hnext;
			rn__gc_group_free(g);
			g = next;
		}
	}
	rn_free(gc->buckets);
	rn_free(gc);
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

void rn__gc_set_str(char **dst, const char *src)
{
	if (*dst && src && strcmp(*dst, src) == 0)
		return;
	rn_free(*dst);
	*dst = src ? rn_strdup(src) : NULL;
}

void rn__gc_member_free(struct rn_gc_member *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->nprotos; i++) {
		rn_free(m->protos[i].name);
		rn_free(m->protos[i].meta);
	}
	rn_free(m->protos);
	rn_free(m->id);
	rn_free(m->instance_id);
	rn_free(m->client_id);
	rn_free(m->client_host);
	rn_free(m->assignment);
	rn_free(m);
}

char *rn__gc_member_id(const char *client_id)
{
	uint8_t u[16];
	if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u)) {
		static uint64_t ctr;
		uint64_t c = ++ctr ^ (uint64_t)(uintptr_t)&ctr;
		memcpy(u, &c, 8);
		memcpy(u + 8, &c, 8);
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4, as java.util.UUID.randomUUID */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	char buf[64];
	snprintf(buf, sizeof(buf),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
	size_t cl = client_id ? strlen(client_id) : 0;
	char *id = rn_malloc(cl + 1 + strlen(buf) + 1);
	memcpy(id, client_id ? client_id : "", cl);
	id[cl] = '-';
	memcpy(id + cl + 1, buf, strlen(buf) + 1);
	return id;
}

void rn__gc_group_free(struct rn_group *g)
{
	struct rn_gc_member *m = g->members;
	while (m) {
		struct rn_gc_member *next = m->next;
		rn__gc_member_free(m);
		m = next;
	}
	for (int i = 0; i < g->npending; i++)
		rn_free(g->pending[i].id);
	rn_free(g->pending);
	rn__gc_offsets_free(g);
	rn__gc_txn_offsets_free(g);
	rn_free(g->id);
	rn_free(g->protocol_type);
	rn_free(g->protocol_name);
	rn_free(g->leader_id);
	rn_free(g);
}

struct rn_group *rn_gc_group(struct rn_gc *gc, const char *id)
{
	for (struct rn_group *g = gc->buckets[hash(id) & (gc->nbuckets - 1)]; g; g = g->hnext)
		if (strcmp(g->id, id) == 0)
			return g;
	return NULL;
}

static void grow(struct rn_gc *gc)
{
	uint32_t n = gc->nbuckets * 2;
	struct rn_group **nb = rn_calloc(n, sizeof(*nb));
	for (uint32_t i = 0; i < gc->nbuckets; i++) {
		struct rn_group *g = gc->buckets[i];
		while (g) {
			struct rn_group *next = g->hnext;
			uint32_t h = hash(g->id) & (n - 1);
			g->hnext = nb[h];
			nb[h] = g;
			g = next;
		}
	}
	rn_free(gc->buckets);
	gc->buckets = nb;
	gc->nbuckets = n;
}

/* Links g (not in any table) into gc. */
static void link_group(struct rn_gc *gc, struct rn_group *g)
{
	if ((uint32_t)gc->ngroups + 1 > gc->nbuckets)
		grow(gc);
	uint32_t h = hash(g->id) & (gc->nbuckets - 1);
	g->hnext = gc->buckets[h];
	gc->buckets[h] = g;
	gc->ngroups++;
}

struct rn_group *rn_gc_group_get_or_create(struct rn_gc *gc, const char *id, int64_t now)
{
	struct rn_group *g = rn_gc_group(gc, id);
	if (g)
		return g;
	g = rn_calloc(1, sizeof(*g));
	g->id = rn_strdup(id);
	g->state = RN_GROUP_EMPTY;
	g->state_ts = now;
	g->delay_deadline = -1;
	link_group(gc, g);
	return g;
}

void rn_gc_group_remove(struct rn_gc *gc, struct rn_group *g)
{
	uint32_t h = hash(g->id) & (gc->nbuckets - 1);
	for (struct rn_group **pp = &gc->buckets[h]; *pp; pp = &(*pp)->hnext) {
		if (*pp == g) {
			*pp = g->hnext;
			gc->ngroups--;
			break;
		}
	}
	rn__gc_group_free(g);
}

int rn_gc_adopt(struct rn_gc *dst, struct rn_gc *src)
{
	int n = 0;
	for (uint32_t i = 0; i < src->nbuckets; i++) {
		struct rn_group *g = src->buckets[i];
		src->buckets[i] = NULL;
		while (g) {
			struct rn_group *next = g->hnext;
			struct rn_group *old = rn_gc_group(dst, g->id);
			if (old)
				rn_gc_group_remove(dst, old);
			link_group(dst, g);
			n++;
			g = next;
		}
	}
	src->ngroups = 0;
	return n;
}

void rn_gc_foreach(struct rn_gc *gc, void (*cb)(struct rn_group *g, void *arg), void *arg)
{
	for (uint32_t i = 0; i < gc->nbuckets; i++) {
		struct rn_group *g = gc->buckets[i];
		while (g) {
			struct rn_group *next = g->hnext; /* cb may remove g */
			cb(g, arg);
			g = next;
		}
	}
}

int rn_gc_ngroups(const struct rn_gc *gc)
{
	return gc->ngroups;
}

struct rn_gc_member *rn_gc_member_find(struct rn_group *g, const char *id)
{
	for (struct rn_gc_member *m = g->members; m; m = m->next)
		if (strcmp(m->id, id) == 0)
			return m;
	return NULL;
}

struct rn_group *rn_gc_group_load(struct rn_gc *gc, int64_t now, const char *id,
				  const char *protocol_type, int32_t generation,
				  const char *protocol_name, const char *leader,
				  struct rn_gc_member *members)
{
	struct rn_group *g = rn_gc_group_get_or_create(gc, id, now);
	struct rn_gc_member *m = g->members;
	while (m) {
		struct rn_gc_member *next = m->next;
		rn__gc_member_free(m);
		m = next;
	}
	g->members = members;
	g->nmembers = 0;
	for (m = members; m; m = m->next) {
		m->deadline = now + m->session_ms;
		g->nmembers++;
	}
	g->generation = generation;
	rn__gc_set_str(&g->protocol_type, protocol_type && *protocol_type ? protocol_type : NULL);
	rn__gc_set_str(&g->protocol_name, g->nmembers ? protocol_name : NULL);
	rn__gc_set_str(&g->leader_id, g->nmembers ? leader : NULL);
	if (g->nmembers && (!g->leader_id || !rn_gc_member_find(g, g->leader_id)))
		rn__gc_set_str(&g->leader_id, members->id);
	g->state = g->nmembers ? RN_GROUP_STABLE : RN_GROUP_EMPTY;
	g->state_ts = now;
	return g;
}
