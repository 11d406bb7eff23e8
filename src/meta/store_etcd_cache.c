/*
 * The etcd store's cache: every key under the prefix that means something, parsed. Changed only
 * by the watch thread (and the initial load) with the lock held for writing; each change that a
 * listener should hear is queued as a note, told once the whole revision is cached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "meta/store_etcd_int.h"

static struct es_note *note(struct rn__es *es, enum es_note_kind kind)
{
	if (es->nnotes == es->capnotes) {
		es->capnotes = es->capnotes ? 2 * es->capnotes : 16;
		es->notes = rn_realloc(es->notes, (size_t)es->capnotes * sizeof(*es->notes));
	}
	struct es_note *n = &es->notes[es->nnotes++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	return n;
}

static size_t hash(const char *s)
{
	size_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % ES_HASH;
}

struct es_topic *rn__es_topic_find(struct rn__es *es, const char *name)
{
	for (struct es_topic *t = es->thash ? es->thash[hash(name)] : NULL; t; t = t->hnext)
		if (strcmp(t->t.name, name) == 0)
			return t;
	return NULL;
}

static void topic_hash_add(struct rn__es *es, struct es_topic *t)
{
	if (!es->thash)
		es->thash = rn_calloc(ES_HASH, sizeof(*es->thash));
	struct es_topic **b = &es->thash[hash(t->t.name)];
	t->hnext = *b;
	*b = t;
}

static void topic_hash_del(struct rn__es *es, struct es_topic *t)
{
	for (struct es_topic **p = &es->thash[hash(t->t.name)]; *p; p = &(*p)->hnext)
		if (*p == t) {
			*p = t->hnext;
			return;
		}
}

static struct es_ptab *ptab_find(struct rn__es *es, const char *topic, bool create)
{
	for (struct es_ptab *pt = es->phash ? es->phash[hash(topic)] : NULL; pt; pt = pt->hnext)
		if (strcmp(pt->topic, topic) == 0)
			return pt;
	if (!create)
		return NULL;
	if (es->nptabs == es->capptabs) {
		es->capptabs = es->capptabs ? 2 * es->capptabs : 16;
		es->ptabs = rn_realloc(es->ptabs, (size_t)es->capptabs * sizeof(*es->ptabs));
	}
	if (!es->phash)
		es->phash = rn_calloc(ES_HASH, sizeof(*es->phash));
	struct es_ptab *pt = rn_calloc(1, sizeof(*pt));
	pt->topic = rn_strdup(topic);
	pt->hnext = es->phash[hash(topic)];
	es->phash[hash(topic)] = pt;
	es->ptabs[es->nptabs++] = pt;
	return pt;
}

static void note_part(struct rn__es *es, const char *topic, int32_t idx, const struct rn_pstate *st)
{
	struct es_note *n = note(es, NOTE_PARTITION);
	n->topic = rn_strdup(topic);
	n->idx = idx;
	n->st = *st;
}

/* A partition state counts only below its topic's partition count: states written ahead of
 * their topic record (a create or CreatePartitions in several txns) wait there unseen. */
static bool part_visible(struct rn__es *es, const char *topic, int32_t idx)
{
	struct es_topic *t = rn__es_topic_find(es, topic);
	return t && idx < t->t.partitions;
}

int32_t rn__es_visible_parts(struct rn__es *es, const struct es_ptab *pt)
{
	struct es_topic *t = rn__es_topic_find(es, pt->topic);
	return !t ? 0 : t->t.partitions < pt->n ? t->t.partitions : pt->n;
}

struct es_part *rn__es_part_find(struct rn__es *es, const char *topic, int32_t idx)
{
	struct es_ptab *pt = ptab_find(es, topic, false);
	if (!pt || idx < 0 || idx >= pt->n || !pt->p[idx].present || !part_visible(es, topic, idx))
		return NULL;
	return &pt->p[idx];
}

static void retire(struct rn__es *es, struct es_topic *t)
{
	if (es->nretired == es->capretired) {
		es->capretired = es->capretired ? 2 * es->capretired : 16;
		es->retired =
		    rn_realloc(es->retired, (size_t)es->capretired * sizeof(*es->retired));
	}
	es->retired[es->nretired++] = t;
}

static void put_topic(struct rn__es *es, const char *name, const char *val, size_t vlen,
		      int64_t mod_rev)
{
	struct es_topic *old = rn__es_topic_find(es, name);
	int32_t old_n = old ? old->t.partitions : 0;
	if (old && old->mod_rev == mod_rev) {
		old->gen = es->gen;
		return;
	}
	struct es_topic *t = rn_calloc(1, sizeof(*t));
	if (rn__es_topic_parse(val, vlen, &t->t) < 0) {
		rn_error("etcd store: bad topic record %stopics/%s, skipped: %.*s", es->prefix,
			 name, (int)(vlen > 200 ? 200 : vlen), val);
		rn__es_topic_clear(&t->t);
		rn_free(t);
		if (old)
			old->gen = es->gen; /* keep what we had rather than invent a deletion */
		return;
	}
	t->t.name = rn_strdup(name);
	t->mod_rev = mod_rev;
	t->gen = es->gen;
	if (old && memcmp(old->t.id, t->t.id, 16) != 0) {
		/* Deleted and made again while we were away (a reload): say both. */
		struct es_note *n = note(es, NOTE_TOPIC);
		n->topic = rn_strdup(name);
		n->deleted = true;
		old_n = 0;
	}
	int i = 0;
	while (i < es->ntopics && es->topics[i] != old)
		i++;
	topic_hash_add(es, t);
	if (old) {
		topic_hash_del(es, old);
		es->topics[i] = t;
		retire(es, old);
	} else {
		if (es->ntopics == es->captopics) {
			es->captopics = es->captopics ? 2 * es->captopics : 16;
			es->topics =
			    rn_realloc(es->topics, (size_t)es->captopics * sizeof(*es->topics));
		}
		es->topics[es->ntopics++] = t;
	}
	note(es, NOTE_TOPIC)->topic = rn_strdup(name);
	/* States that were there before the record (or beyond the old count) show up now. */
	struct es_ptab *pt = ptab_find(es, name, false);
	for (int32_t k = old_n; pt && k < pt->n && k < t->t.partitions; k++)
		if (pt->p[k].present)
			note_part(es, name, k, &pt->p[k].st);
}

static void del_topic(struct rn__es *es, const char *name)
{
	struct es_topic *t = rn__es_topic_find(es, name);
	for (int i = 0; t && i < es->ntopics; i++) {
		if (es->topics[i] != t)
			continue;
		topic_hash_del(es, es->topics[i]);
		retire(es, es->topics[i]);
		es->topics[i] = es->topics[--es->ntopics];
		struct es_note *n = note(es, NOTE_TOPIC);
		n->topic = rn_strdup(name);
		n->deleted = true;
		return;
	}
}

/* Splits "<topic>/<idx>" in place; -1 when it is not that. */
static int split_part(char *rel, int32_t *idx)
{
	char *slash = strrchr(rel, '/'), *end;
	if (!slash || slash == rel)
		return -1;
	long v = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1 || v < 0 || v >= 1 << 20)
		return -1;
	*slash = '\0';
	*idx = (int32_t)v;
	return 0;
}

static void put_part(struct rn__es *es, char *rel, const char *val, size_t vlen, int64_t mod_rev)
{
	int32_t idx;
	if (split_part(rel, &idx) < 0)
		return;
	struct es_ptab *pt = ptab_find(es, rel, true);
	if (idx >= pt->n) {
		pt->p = rn_realloc(pt->p, (size_t)(idx + 1) * sizeof(*pt->p));
		memset(pt->p + pt->n, 0, (size_t)(idx + 1 - pt->n) * sizeof(*pt->p));
		pt->n = idx + 1;
	}
	struct es_part *p = &pt->p[idx];
	p->gen = es->gen;
	if (p->present && p->mod_rev == mod_rev)
		return;
	struct rn_pstate st;
	if (rn__es_pstate_parse(val, vlen, &st) < 0) {
		rn_error("etcd store: bad partition state %spartitions/%s/%d, skipped: %.*s",
			 es->prefix, rel, idx, (int)(vlen > 200 ? 200 : vlen), val);
		return;
	}
	p->present = true;
	p->st = st;
	p->mod_rev = mod_rev;
	if (part_visible(es, rel, idx))
		note_part(es, rel, idx, &st);
}

static void del_part(struct rn__es *es, char *rel)
{
	int32_t idx;
	if (split_part(rel, &idx) < 0)
		return;
	struct es_ptab *pt = ptab_find(es, rel, false);
	if (pt && idx < pt->n)
		pt->p[idx].present = false;
}

static int broker_index(struct rn__es *es, int32_t id)
{
	for (int i = 0; i < es->nbrokers; i++)
		if (es->brokers[i].reg.id == id)
			return i;
	return -1;
}

static void put_broker(struct rn__es *es, const char *rel, const char *val, size_t vlen,
		       int64_t mod_rev, int64_t lease)
{
	struct rn_broker_reg reg;
	int i = broker_index(es, atoi(rel));
	if (i >= 0 && es->brokers[i].mod_rev == mod_rev) {
		es->brokers[i].gen = es->gen;
		return;
	}
	if (rn__es_broker_parse(val, vlen, &reg) < 0 || reg.id != atoi(rel)) {
		rn_error("etcd store: bad broker registration %sbrokers/%s, skipped: %.*s",
			 es->prefix, rel, (int)(vlen > 200 ? 200 : vlen), val);
		if (i >= 0)
			es->brokers[i].gen = es->gen;
		return;
	}
	if (i < 0) {
		if (es->nbrokers == es->capbrokers) {
			es->capbrokers = es->capbrokers ? 2 * es->capbrokers : 8;
			es->brokers =
			    rn_realloc(es->brokers, (size_t)es->capbrokers * sizeof(*es->brokers));
		}
		i = es->nbrokers++;
		while (i > 0 && es->brokers[i - 1].reg.id > reg.id) {
			es->brokers[i] = es->brokers[i - 1];
			i--;
		}
	}
	es->brokers[i] = (struct es_broker){reg, mod_rev, es->gen, lease};
	note(es, NOTE_BROKERS);
}

static void del_broker(struct rn__es *es, const char *rel)
{
	int i = broker_index(es, atoi(rel));
	if (i < 0)
		return;
	memmove(&es->brokers[i], &es->brokers[i + 1],
		(size_t)(es->nbrokers - i - 1) * sizeof(*es->brokers));
	es->nbrokers--;
	note(es, NOTE_BROKERS);
}

static void put_controller(struct rn__es *es, const char *val, size_t vlen, int64_t mod_rev,
			   int64_t lease)
{
	es->ctrl_gen = es->gen;
	if (es->ctrl_id >= 0 && es->ctrl_mod_rev == mod_rev)
		return;
	int32_t id, epoch;
	if (rn__es_controller_parse(val, vlen, &id, &epoch) < 0) {
		rn_error("etcd store: bad controller record %scontroller, skipped: %.*s",
			 es->prefix, (int)(vlen > 200 ? 200 : vlen), val);
		return;
	}
	es->ctrl_id = id;
	es->ctrl_epoch = epoch;
	es->ctrl_mod_rev = mod_rev;
	es->ctrl_lease = lease;
	struct es_note *n = note(es, NOTE_CONTROLLER);
	n->id = id;
	n->epoch = epoch;
}

static void del_controller(struct rn__es *es)
{
	if (es->ctrl_id < 0)
		return;
	es->ctrl_id = es->ctrl_epoch = -1;
	es->ctrl_mod_rev = es->ctrl_lease = 0;
	struct es_note *n = note(es, NOTE_CONTROLLER);
	n->id = n->epoch = -1;
}

static int bcfg_entity(struct rn__es *es, const char *rel)
{
	if (rel[0] == '\0')
		return 0;
	return atoi(rel) == es->node_id && strspn(rel, "0123456789") == strlen(rel) ? 1 : -1;
}

static void put_bcfg(struct rn__es *es, const char *rel, const char *val, size_t vlen,
		     int64_t mod_rev)
{
	int e = bcfg_entity(es, rel);
	if (e < 0)
		return;
	es->bcfg_gen[e] = es->gen;
	if (es->bcfg_mod_rev[e] == mod_rev)
		return;
	struct rn_meta_topic t = {0};
	if (rn__es_cfg_parse(val, vlen, &t) < 0) {
		rn_error("etcd store: bad broker configs %sconfigs/brokers/%s, skipped", es->prefix,
			 rel);
		rn__es_topic_clear(&t);
		return;
	}
	t.name = es->bcfg[e].name;
	es->bcfg[e].name = NULL;
	rn__es_topic_clear(&es->bcfg[e]);
	es->bcfg[e] = t;
	es->bcfg_mod_rev[e] = mod_rev;
	note(es, NOTE_BCFG);
}

static void del_bcfg(struct rn__es *es, const char *rel)
{
	int e = bcfg_entity(es, rel);
	if (e < 0 || es->bcfg_mod_rev[e] == 0)
		return;
	char *name = es->bcfg[e].name;
	es->bcfg[e].name = NULL;
	rn__es_topic_clear(&es->bcfg[e]);
	es->bcfg[e].name = name;
	es->bcfg_mod_rev[e] = 0;
	note(es, NOTE_BCFG);
}

/* "<ns>/<key>" split at its first '/' into a heap copy of ns; NULL when it is not that. */
static char *sec_split(const char *rel, const char **key)
{
	const char *slash = strchr(rel, '/');
	if (!slash || slash == rel || !slash[1])
		return NULL;
	*key = slash + 1;
	return rn_strndup(rel, (size_t)(slash - rel));
}

static void note_sec(struct rn__es *es, const char *ns)
{
	note(es, NOTE_SEC)->topic = rn_strdup(ns);
}

static void put_sec(struct rn__es *es, const char *rel, const char *val, size_t vlen,
		    int64_t mod_rev)
{
	const char *key;
	char *ns = sec_split(rel, &key);
	if (!ns)
		return;
	struct rn__sec_rec *r = rn__sec_find(&es->sec, ns, key);
	if (r && r->mod_rev == mod_rev) {
		r->gen = es->gen;
	} else if (strlen(val) != vlen) {
		rn_error("etcd store: bad security record %ssec/%s (a NUL inside), skipped",
			 es->prefix, rel);
		if (r)
			r->gen = es->gen;
	} else {
		r = rn__sec_set(&es->sec, ns, key, val);
		r->mod_rev = mod_rev;
		r->gen = es->gen;
		note_sec(es, ns);
	}
	rn_free(ns);
}

static void del_sec(struct rn__es *es, const char *rel)
{
	const char *key;
	char *ns = sec_split(rel, &key);
	if (ns && rn__sec_find(&es->sec, ns, key)) {
		rn__sec_set(&es->sec, ns, key, NULL);
		note_sec(es, ns);
	}
	rn_free(ns);
}

static void sweep_sec(struct rn__sec_rec *r, void *arg)
{
	struct rn__es *es = arg;
	if (r->gen == es->gen)
		return;
	note_sec(es, r->ns);
	char *ns = rn_strdup(r->ns), *key = rn_strdup(r->key);
	rn__sec_set(&es->sec, ns, key, NULL);
	rn_free(ns);
	rn_free(key);
}

static const char *strip(const char *rel, const char *what)
{
	size_t n = strlen(what);
	return strncmp(rel, what, n) == 0 ? rel + n : NULL;
}

void rn__es_cache_put(struct rn__es *es, const char *key, const char *val, size_t vlen,
		      int64_t mod_rev, int64_t lease)
{
	size_t pl = strlen(es->prefix);
	if (strncmp(key, es->prefix, pl) != 0)
		return;
	const char *rel = key + pl, *r;
	if ((r = strip(rel, "topics/")) && *r) {
		put_topic(es, r, val, vlen, mod_rev);
	} else if ((r = strip(rel, "partitions/"))) {
		char *c = rn_strdup(r);
		put_part(es, c, val, vlen, mod_rev);
		rn_free(c);
	} else if ((r = strip(rel, "brokers/")) && *r) {
		put_broker(es, r, val, vlen, mod_rev, lease);
	} else if (strcmp(rel, "controller") == 0) {
		put_controller(es, val, vlen, mod_rev, lease);
	} else if ((r = strip(rel, "configs/brokers/"))) {
		put_bcfg(es, r, val, vlen, mod_rev);
	} else if ((r = strip(rel, "sec/"))) {
		put_sec(es, r, val, vlen, mod_rev);
	}
}

void rn__es_cache_del(struct rn__es *es, const char *key)
{
	size_t pl = strlen(es->prefix);
	if (strncmp(key, es->prefix, pl) != 0)
		return;
	const char *rel = key + pl, *r;
	if ((r = strip(rel, "topics/"))) {
		del_topic(es, r);
	} else if ((r = strip(rel, "partitions/"))) {
		char *c = rn_strdup(r);
		del_part(es, c);
		rn_free(c);
	} else if ((r = strip(rel, "brokers/"))) {
		del_broker(es, r);
	} else if (strcmp(rel, "controller") == 0) {
		del_controller(es);
	} else if ((r = strip(rel, "configs/brokers/"))) {
		del_bcfg(es, r);
	} else if ((r = strip(rel, "sec/"))) {
		del_sec(es, r);
	}
}

void rn__es_cache_begin(struct rn__es *es)
{
	es->gen++;
}

/* Deletes whatever the load that just ended did not mark: keys gone while we were away. */
void rn__es_cache_end(struct rn__es *es)
{
	for (int i = es->ntopics - 1; i >= 0; i--)
		if (es->topics[i]->gen != es->gen) {
			char *name = rn_strdup(es->topics[i]->t.name);
			del_topic(es, name);
			rn_free(name);
		}
	for (int i = 0; i < es->nptabs; i++)
		for (int j = 0; j < es->ptabs[i]->n; j++)
			if (es->ptabs[i]->p[j].gen != es->gen)
				es->ptabs[i]->p[j].present = false;
	for (int i = es->nbrokers - 1; i >= 0; i--)
		if (es->brokers[i].gen != es->gen) {
			memmove(&es->brokers[i], &es->brokers[i + 1],
				(size_t)(es->nbrokers - i - 1) * sizeof(*es->brokers));
			es->nbrokers--;
			note(es, NOTE_BROKERS);
		}
	if (es->ctrl_gen != es->gen)
		del_controller(es);
	for (int e = 0; e < 2; e++)
		if (es->bcfg_gen[e] != es->gen && es->bcfg_mod_rev[e]) {
			del_bcfg(es, es->bcfg[e].name); /* "" or "<node id>" */
		}
	rn__sec_each_rec(&es->sec, sweep_sec, es);
}

void rn__es_cache_free(struct rn__es *es)
{
	for (int i = 0; i < es->ntopics; i++)
		retire(es, es->topics[i]);
	for (int i = 0; i < es->nretired; i++) {
		rn__es_topic_clear(&es->retired[i]->t);
		rn_free(es->retired[i]);
	}
	rn_free(es->retired);
	rn_free(es->topics);
	for (int i = 0; i < es->nptabs; i++) {
		rn_free(es->ptabs[i]->topic);
		rn_free(es->ptabs[i]->p);
		rn_free(es->ptabs[i]);
	}
	rn_free(es->ptabs);
	rn_free(es->thash);
	rn_free(es->phash);
	rn_free(es->brokers);
	rn__es_topic_clear(&es->bcfg[0]);
	rn__es_topic_clear(&es->bcfg[1]);
	for (int i = 0; i < es->nnotes; i++)
		rn_free(es->notes[i].topic);
	rn_free(es->notes);
}

static void tell(const struct rn_meta_listener *l, const struct es_note *n)
{
	switch (n->kind) {
	case NOTE_TOPIC:
		if (l->topic)
			l->topic(l->arg, n->topic, n->deleted);
		break;
	case NOTE_PARTITION:
		if (l->partition)
			l->partition(l->arg, n->topic, n->idx, &n->st);
		break;
	case NOTE_BROKERS:
		if (l->brokers)
			l->brokers(l->arg);
		break;
	case NOTE_CONTROLLER:
		if (l->controller)
			l->controller(l->arg, n->id, n->epoch);
		break;
	case NOTE_BCFG:
		if (l->broker_configs)
			l->broker_configs(l->arg);
		break;
	case NOTE_SEC: break;
	}
}

void rn__es_notes_flush(struct rn__es *es)
{
	if (es->nnotes == 0)
		return;
	pthread_mutex_lock(&es->lmu);
	for (int i = 0; i < es->nnotes; i++) {
		/* Several brokers notes in one revision say the same thing once. */
		if (es->notes[i].kind == NOTE_BROKERS && i > 0 &&
		    es->notes[i - 1].kind == NOTE_BROKERS)
			continue;
		for (int k = 0; k < es->nls; k++)
			tell(&es->ls[k], &es->notes[i]);
	}
	pthread_mutex_unlock(&es->lmu);
	/* Each namespace's watch once per revision (a reload may change thousands of ACLs); there
	 * are only a few namespaces. */
	const char *told[16];
	int ntold = 0;
	for (int i = 0; i < es->nnotes; i++) {
		if (es->notes[i].kind != NOTE_SEC)
			continue;
		int k = 0;
		while (k < ntold && strcmp(told[k], es->notes[i].topic) != 0)
			k++;
		if (k < ntold)
			continue;
		if (ntold < 16)
			told[ntold++] = es->notes[i].topic;
		rn__sec_notify(&es->sec, es->notes[i].topic);
	}
	for (int i = 0; i < es->nnotes; i++)
		rn_free(es->notes[i].topic);
	es->nnotes = 0;
}
