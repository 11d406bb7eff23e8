/* The tombstones of __consumer_offsets (see tombstones.h). */
#include "group/tombstones.h"

#include "core/alloc.h"

void rn_gc_recs_add(struct rn_gc_recs *r, const struct rn_buf *key, const struct rn_buf *val)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->v = rn_realloc(r->v, (size_t)r->cap * sizeof(*r->v));
	}
	struct rn_gc_recs_ent *e = &r->v[r->n++];
	e->koff = r->data.len;
	e->klen = (int32_t)key->len;
	rn_buf_append(&r->data, key->data, key->len);
	e->voff = r->data.len;
	e->vlen = val ? (int32_t)val->len : -1;
	if (val)
		rn_buf_append(&r->data, val->data, val->len);
}

struct rn_gc_rec *rn_gc_recs_view(const struct rn_gc_recs *r)
{
	if (!r->n)
		return NULL;
	struct rn_gc_rec *v = rn_calloc((size_t)r->n, sizeof(*v));
	for (int i = 0; i < r->n; i++) {
		const struct rn_gc_recs_ent *e = &r->v[i];
		v[i] = (struct rn_gc_rec){r->data.data + e->koff, e->klen,
					  e->vlen < 0 ? NULL : r->data.data + e->voff, e->vlen};
	}
	return v;
}

void rn_gc_recs_free(struct rn_gc_recs *r)
{
	rn_buf_free(&r->data);
	rn_free(r->v);
	*r = (struct rn_gc_recs){0};
}

void rn_gc_tombstone_offset(const struct rn_group *g, const char *topic, int32_t part,
			    struct rn_gc_recs *out)
{
	struct rn_buf k = {0};
	rn_gc_key_offset(&k, g->id, topic, part);
	rn_gc_recs_add(out, &k, NULL);
	rn_buf_free(&k);
}

static void each_offset(struct rn_group *g, const char *topic, int32_t part,
			const struct rn_gc_offset *o, void *arg)
{
	(void)o;
	rn_gc_tombstone_offset(g, topic, part, arg);
}

void rn_gc_tombstone_offsets(struct rn_group *g, struct rn_gc_recs *out)
{
	rn_gc_offsets_foreach(g, each_offset, out);
}

bool rn_gc_group_dead(const struct rn_group *g)
{
	return g->state == RN_GROUP_EMPTY && g->noffsets == 0 && g->npending == 0 && g->ntxn == 0;
}

bool rn_gc_tombstone_group(const struct rn_group *g, struct rn_gc_recs *out)
{
	if (g->generation <= 0 && !g->has_stored)
		return false;
	struct rn_buf k = {0};
	rn_gc_key_group(&k, g->id);
	rn_gc_recs_add(out, &k, NULL);
	rn_buf_free(&k);
	return true;
}

static void expired(struct rn_group *g, const char *topic, int32_t part, void *arg)
{
	rn_gc_tombstone_offset(g, topic, part, arg);
}

int rn_gc_expire_tombstones(struct rn_gc *gc, struct rn_group *g, int64_t now,
			    struct rn_gc_recs *out)
{
	return rn_gc_offsets_expire(gc, g, now, expired, out);
}
