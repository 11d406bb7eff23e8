/*
 * Committed offsets of a group: per topic an array indexed by partition (RN_GC_NO_OFFSET =
 * none), and Kafka's expiry rules for offsets.retention.minutes. Any committed value is kept,
 * negative ones too: an admin's "reset to earliest" commits -2 and consumers act on it.
 */
#include <string.h>

#include "core/alloc.h"
#include "group/group_int.h"

void rn__gc_offsets_free(struct rn_group *g)
{
	struct rn_gc_topic *t = g->topics;
	while (t) {
		struct rn_gc_topic *next = t->next;
		for (int32_t i = 0; i < t->nparts; i++)
			rn_free(t->parts[i].metadata);
		rn_free(t->parts);
		rn_free(t->name);
		rn_free(t);
		t = next;
	}
	g->topics = NULL;
	g->noffsets = 0;
}

static struct rn_gc_topic *find_topic(struct rn_group *g, const char *topic)
{
	for (struct rn_gc_topic *t = g->topics; t; t = t->next)
		if (strcmp(t->name, topic) == 0)
			return t;
	return NULL;
}

const struct rn_gc_offset *rn_gc_offset_get(struct rn_group *g, const char *topic, int32_t part)
{
	struct rn_gc_topic *t = find_topic(g, topic);
	if (!t || part < 0 || part >= t->nparts || t->parts[part].offset == RN_GC_NO_OFFSET)
		return NULL;
	return &t->parts[part];
}

static void remove_topic(struct rn_group *g, struct rn_gc_topic *t)
{
	for (struct rn_gc_topic **pp = &g->topics; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	for (int32_t i = 0; i < t->nparts; i++)
		rn_free(t->parts[i].metadata);
	rn_free(t->parts);
	rn_free(t->name);
	rn_free(t);
}

void rn_gc_offset_set(struct rn_group *g, const char *topic, int32_t part,
		      const struct rn_gc_offset *o)
{
	if (part < 0 || (o && o->offset == RN_GC_NO_OFFSET))
		return;
	struct rn_gc_topic *t = find_topic(g, topic);
	if (!o) {
		if (!t || part >= t->nparts || t->parts[part].offset == RN_GC_NO_OFFSET)
			return;
		rn_free(t->parts[part].metadata);
		t->parts[part] = (struct rn_gc_offset){.offset = RN_GC_NO_OFFSET};
		g->noffsets--;
		bool any = false;
		for (int32_t i = 0; i < t->nparts && !any; i++)
			any = t->parts[i].offset != RN_GC_NO_OFFSET;
		if (!any)
			remove_topic(g, t);
		return;
	}
	if (!t) {
		t = rn_calloc(1, sizeof(*t));
		t->name = rn_strdup(topic);
		t->next = g->topics;
		g->topics = t;
	}
	if (part >= t->nparts) {
		t->parts = rn_realloc(t->parts, (size_t)(part + 1) * sizeof(*t->parts));
		for (int32_t i = t->nparts; i <= part; i++)
			t->parts[i] = (struct rn_gc_offset){.offset = RN_GC_NO_OFFSET};
		t->nparts = part + 1;
	}
	struct rn_gc_offset *d = &t->parts[part];
	if (d->offset == RN_GC_NO_OFFSET)
		g->noffsets++;
	char *meta = rn_strdup(o->metadata ? o->metadata : "");
	rn_free(d->metadata);
	*d = *o;
	d->metadata = meta;
}

void rn_gc_offsets_foreach(struct rn_group *g,
			   void (*cb)(struct rn_group *g, const char *topic, int32_t part,
				      const struct rn_gc_offset *o, void *arg),
			   void *arg)
{
	for (struct rn_gc_topic *t = g->topics; t; t = t->next)
		for (int32_t i = 0; i < t->nparts; i++)
			if (t->parts[i].offset != RN_GC_NO_OFFSET)
				cb(g, t->name, i, &t->parts[i], arg);
}

int rn_gc_offsets_expire(struct rn_gc *gc, struct rn_group *g, int64_t now,
			 void (*cb)(struct rn_group *g, const char *topic, int32_t part, void *arg),
			 void *arg)
{
	/* Offsets of a consumer group only expire once it is Empty, counting from then; a
	 * group that never had members (simple commits) counts from each commit. */
	bool consumer = g->protocol_type != NULL;
	if (consumer && g->state != RN_GROUP_EMPTY)
		return 0;
	int n = 0;
	struct rn_gc_topic *t = g->topics;
	while (t) {
		struct rn_gc_topic *next = t->next;
		char *name = rn_strdup(t->name);
		for (int32_t i = t->nparts - 1; i >= 0; i--) {
			/* Deleting the last partition frees t: read what we need first. */
			struct rn_gc_offset *o = &t->parts[i];
			if (o->offset == RN_GC_NO_OFFSET)
				continue;
			int64_t base = consumer ? g->state_ts : o->commit_ts;
			bool expired = o->expire_ts >= 0
					   ? now >= o->expire_ts
					   : now >= base + gc->cfg.offsets_retention_ms;
			if (!expired)
				continue;
			if (cb)
				cb(g, name, i, arg);
			n++;
			rn_gc_offset_set(g, name, i, NULL);
			if (!find_topic(g, name))
				break;
		}
		rn_free(name);
		t = next;
	}
	return n;
}

int rn_gc_offsets_drop_topic(struct rn_group *g, const char *topic,
			     void (*cb)(struct rn_group *g, const char *topic, int32_t part,
					void *arg),
			     void *arg)
{
	struct rn_gc_topic *t = find_topic(g, topic);
	if (!t)
		return 0;
	int n = 0;
	for (int32_t i = 0; i < t->nparts; i++) {
		if (t->parts[i].offset == RN_GC_NO_OFFSET)
			continue;
		if (cb)
			cb(g, topic, i, arg);
		n++;
	}
	g->noffsets -= n;
	remove_topic(g, t);
	return n;
}

bool rn_gc_subscribed(struct rn_group *g, const char *topic)
{
	if (!g->protocol_type || strcmp(g->protocol_type, "consumer") || !g->protocol_name)
		return false;
	size_t tl = strlen(topic);
	for (struct rn_gc_member *m = g->members; m; m = m->next) {
		for (int i = 0; i < m->nprotos; i++) {
			if (strcmp(m->protos[i].name, g->protocol_name))
				continue;
			/* ConsumerProtocolSubscription: i16 version, [string topics], ... */
			const uint8_t *p = m->protos[i].meta, *end = p + m->protos[i].meta_len;
			if (end - p < 6)
				continue;
			int32_t n = (int32_t)((uint32_t)p[2] << 24 | (uint32_t)p[3] << 16 |
					      (uint32_t)p[4] << 8 | p[5]);
			p += 6;
			for (int32_t j = 0; j < n && end - p >= 2; j++) {
				int16_t l = (int16_t)(p[0] << 8 | p[1]);
				p += 2;
				if (l < 0 || end - p < l)
					break;
				if ((size_t)l == tl && memcmp(p, topic, tl) == 0)
					return true;
				p += l;
			}
		}
	}
	return false;
}

void rn_gc_txn_offset_add(struct rn_group *g, int64_t pid, const char *topic, int32_t part,
			  const struct rn_gc_offset *o)
{
	struct rn_gc_txn_offset *x = NULL;
	for (int i = 0; i < g->ntxn && !x; i++)
		if (g->txn[i].pid == pid && g->txn[i].part == part &&
		    strcmp(g->txn[i].topic, topic) == 0)
			x = &g->txn[i];
	if (!x) {
		if (g->ntxn == g->txncap) {
			g->txncap = g->txncap ? g->txncap * 2 : 4;
			g->txn = rn_realloc(g->txn, (size_t)g->txncap * sizeof(*g->txn));
		}
		x = &g->txn[g->ntxn++];
		*x = (struct rn_gc_txn_offset){.pid = pid, .topic = rn_strdup(topic), .part = part};
	}
	rn_free(x->o.metadata);
	x->o = *o;
	x->o.metadata = o->metadata ? rn_strdup(o->metadata) : NULL;
}

int rn_gc_txn_complete(struct rn_group *g, int64_t pid, bool commit)
{
	int n = 0;
	for (int i = 0; i < g->ntxn;) {
		struct rn_gc_txn_offset *x = &g->txn[i];
		if (x->pid != pid) {
			i++;
			continue;
		}
		if (commit)
			rn_gc_offset_set(g, x->topic, x->part, &x->o);
		rn_free(x->topic);
		rn_free(x->o.metadata);
		g->txn[i] = g->txn[--g->ntxn];
		n++;
	}
	return n;
}

void rn__gc_txn_offsets_free(struct rn_group *g)
{
	for (int i = 0; i < g->ntxn; i++) {
		rn_free(g->txn[i].topic);
		rn_free(g->txn[i].o.metadata);
	}
	rn_free(g->txn);
	g->txn = NULL;
	g->ntxn = g->txncap = 0;
}
