/*
 * __consumer_offsets under compaction: the coordinator's records (the same encoders and
 * tombstone builders the broker uses) go into a model log; the log is then "cleaned" the way
 * Kafka's cleaner cleans one (only the latest record per key survives in the cleaned range,
 * tombstones optionally dropped once older records are gone) and replayed into a fresh
 * coordinator. Every cleaned log must replay to the same state as the whole log, and to the
 * live coordinator's offsets; and the tombstones must be exactly where Kafka writes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_builder.h"
#include "core/alloc.h"
#include "group/group.h"
#include "group/persist.h"
#include "group/records.h"
#include "group/tombstones.h"
#include "proto/kerr.h"
#include "storage/cleaner.h"
#include "storage/partition.h"

#define DAY (24 * 3600 * 1000LL)

/* ---- a model log ---- */

struct mrec {
	uint8_t *key, *val; /* val NULL: tombstone */
	int32_t klen, vlen;
};

static struct mlog {
	struct mrec *v;
	int n, cap;
} L;

static void log_add(const uint8_t *k, int32_t kl, const uint8_t *v, int32_t vl)
{
	if (L.n == L.cap) {
		L.cap = L.cap ? L.cap * 2 : 256;
		L.v = realloc(L.v, (size_t)L.cap * sizeof(*L.v));
	}
	struct mrec *r = &L.v[L.n++];
	r->key = malloc((size_t)kl + 1);
	memcpy(r->key, k, (size_t)kl);
	r->klen = kl;
	r->val = v ? malloc((size_t)vl + 1) : NULL;
	if (v)
		memcpy(r->val, v, (size_t)vl);
	r->vlen = v ? vl : -1;
}

static void log_recs(const struct rn_gc_recs *rs)
{
	struct rn_gc_rec *v = rn_gc_recs_view(rs);
	for (int i = 0; i < rs->n; i++)
		log_add(v[i].key, v[i].klen, v[i].val, v[i].vlen);
	rn_free(v);
}

static void log_free(void)
{
	for (int i = 0; i < L.n; i++) {
		free(L.v[i].key);
		free(L.v[i].val);
	}
	free(L.v);
	memset(&L, 0, sizeof(L));
}

static bool same_key(const struct mrec *a, const struct mrec *b)
{
	return a->klen == b->klen && memcmp(a->key, b->key, (size_t)a->klen) == 0;
}

/*
 * Kafka's cleaner on [0, cut): a record is dropped if a later record of its key lies before
 * cut (the offset map covers the cleanable range); the rest, from cut on, is the active
 * segment and stays. drop_tombs: tombstones in the cleaned range are dropped as well (their
 * delete.retention.ms has passed; every older record of the key is already gone).
 * Returns the indexes kept, in log order (caller frees).
 */
static int *clean(int cut, bool drop_tombs, int *nkept)
{
	int *keep = malloc((size_t)(L.n + 1) * sizeof(int));
	int n = 0;
	for (int i = 0; i < L.n; i++) {
		bool gone = false;
		for (int j = i + 1; i < cut && j < cut && !gone; j++)
			gone = same_key(&L.v[i], &L.v[j]);
		if (i < cut && drop_tombs && !L.v[i].val)
			gone = true;
		if (!gone)
			keep[n++] = i;
	}
	*nkept = n;
	return keep;
}

/* ---- the coordinator, wired as broker/groups.c wires it ---- */

static int64_t NOW;

static void stored(void *arg, struct rn_group *g)
{
	(void)arg;
	struct rn_buf k = {0}, v = {0};
	rn_gc_key_group(&k, g->id);
	rn_gc_value_group(&v, g, NOW);
	g->has_stored = true;
	log_add(k.data, (int32_t)k.len, v.data, (int32_t)v.len);
	rn_buf_free(&k);
	rn_buf_free(&v);
}

static char last_member[128];
static void joined(void *arg, const struct rn_gc_join_result *r)
{
	(void)arg;
	assert_int_equal(r->error, 0);
	snprintf(last_member, sizeof(last_member), "%s", r->member_id);
}

static void synced(void *arg, const struct rn_gc_sync_result *r)
{
	(void)arg;
	assert_int_equal(r->error, 0);
}

static struct rn_gc *mk(void)
{
	struct rn_gc_config c;
	rn_gc_config_default(&c);
	c.initial_delay_ms = 0;
	c.offsets_retention_ms = 7 * DAY;
	struct rn_gc_hooks h = {.group_stored = stored};
	return rn_gc_new(&c, &h);
}

static const struct rn_gc_protocol_view range[] = {{"range", (const uint8_t *)"m", 1}};

/* One member joins and syncs: generation completes, its metadata is stored. */
static void member(struct rn_gc *gc, const char *group, char *id_out)
{
	struct rn_gc_join_req jr = {.group = group,
				    .member_id = "",
				    .client_id = "c",
				    .client_host = "/127.0.0.1",
				    .protocol_type = "consumer",
				    .session_ms = 10000,
				    .rebalance_ms = 10000,
				    .protos = range,
				    .nprotos = 1,
				    .done = {joined, NULL}};
	rn_gc_join(gc, NOW, &jr);
	strcpy(id_out, last_member);
	struct rn_gc_assignment as = {id_out, (const uint8_t *)"A", 1};
	struct rn_group *g = rn_gc_group(gc, group);
	struct rn_gc_sync_req sr = {.group = group,
				    .member_id = id_out,
				    .generation = g->generation,
				    .assignments = &as,
				    .nassignments = 1,
				    .done = {synced, NULL}};
	rn_gc_sync(gc, NOW, &sr);
	assert_int_equal(g->state, RN_GROUP_STABLE);
}

/* OffsetCommit as h_offset_commit.c does it: the record, then the coordinator. */
static void commit(struct rn_gc *gc, const char *group, const char *topic, int32_t part,
		   int64_t offset, int64_t expire_ts)
{
	struct rn_group *g = rn_gc_group_get_or_create(gc, group, NOW);
	struct rn_gc_offset o = {.offset = offset,
				 .leader_epoch = 3,
				 .metadata = (char *)(offset % 2 ? "meta" : NULL),
				 .commit_ts = NOW,
				 .expire_ts = expire_ts};
	struct rn_buf k = {0}, v = {0};
	rn_gc_key_offset(&k, group, topic, part);
	rn_gc_value_offset(&v, &o);
	log_add(k.data, (int32_t)k.len, v.data, (int32_t)v.len);
	rn_gc_offset_set(g, topic, part, &o);
	rn_buf_free(&k);
	rn_buf_free(&v);
}

/* DeleteGroups as rn_groups_delete does it. */
static void delete_group(struct rn_gc *gc, const char *group)
{
	struct rn_group *g = rn_gc_group(gc, group);
	assert_non_null(g);
	struct rn_gc_recs r = {0};
	rn_gc_tombstone_offsets(g, &r);
	rn_gc_tombstone_group(g, &r);
	log_recs(&r);
	rn_gc_recs_free(&r);
	rn_gc_group_remove(gc, g);
}

/* OffsetDelete as h_offset_delete.c does it. */
static void delete_offset(struct rn_gc *gc, const char *group, const char *topic, int32_t part)
{
	struct rn_group *g = rn_gc_group(gc, group);
	struct rn_gc_recs r = {0};
	rn_gc_tombstone_offset(g, topic, part, &r);
	log_recs(&r);
	rn_gc_recs_free(&r);
	rn_gc_offset_set(g, topic, part, NULL);
	if (rn_gc_group_dead(g))
		delete_group(gc, group);
}

/* The expiry pass of broker/groups.c. */
static void expire_one(struct rn_group *g, void *arg)
{
	struct rn_gc *gc = arg;
	struct rn_gc_recs r = {0};
	rn_gc_expire_tombstones(gc, g, NOW, &r);
	bool dead = rn_gc_group_dead(g);
	if (dead)
		rn_gc_tombstone_group(g, &r);
	log_recs(&r);
	rn_gc_recs_free(&r);
	if (dead)
		rn_gc_group_remove(gc, g);
}

/* ---- state dumps ---- */

struct dump {
	char **lines;
	int n, cap;
	struct rn_buf *cur;
};

static void dump_offset(struct rn_group *g, const char *topic, int32_t part,
			const struct rn_gc_offset *o, void *arg)
{
	(void)g;
	char s[256];
	int n = snprintf(s, sizeof(s), " %s-%d=%lld/%d/%s/%lld/%lld", topic, part,
			 (long long)o->offset, o->leader_epoch, o->metadata ? o->metadata : "~",
			 (long long)o->commit_ts, (long long)o->expire_ts);
	rn_buf_append(arg, s, (size_t)n);
}

/* with_meta false: offsets only (the live coordinator's groups may be mid-rebalance). */
static bool with_meta;
static void dump_group(struct rn_group *g, void *arg)
{
	struct dump *d = arg;
	struct rn_buf b = {0};
	char s[512];
	int n = snprintf(s, sizeof(s), "%s", g->id);
	rn_buf_append(&b, s, (size_t)n);
	if (with_meta) {
		n = snprintf(s, sizeof(s), " gen=%d type=%s proto=%s leader=%s state=%s ts=%lld",
			     g->generation, g->protocol_type ? g->protocol_type : "~",
			     g->protocol_name ? g->protocol_name : "~",
			     g->leader_id ? g->leader_id : "~", rn_group_state_name(g->state),
			     (long long)(g->state == RN_GROUP_EMPTY ? g->state_ts : 0));
		rn_buf_append(&b, s, (size_t)n);
		for (struct rn_gc_member *m = g->members; m; m = m->next) {
			n = snprintf(s, sizeof(s), " m:%s", m->id);
			rn_buf_append(&b, s, (size_t)n);
		}
	}
	rn_gc_offsets_foreach(g, dump_offset, &b);
	rn_buf_append(&b, "", 1);
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->lines = realloc(d->lines, (size_t)d->cap * sizeof(char *));
	}
	d->lines[d->n++] = strdup((char *)b.data);
	rn_buf_free(&b);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The coordinator's state as one string (groups sorted; caller frees). */
static char *dump(struct rn_gc *gc, bool meta)
{
	with_meta = meta;
	struct dump d = {0};
	rn_gc_foreach(gc, dump_group, &d);
	qsort(d.lines, (size_t)d.n, sizeof(char *), cmp_str);
	size_t len = 1;
	for (int i = 0; i < d.n; i++)
		len += strlen(d.lines[i]) + 1;
	char *out = calloc(1, len);
	for (int i = 0; i < d.n; i++) {
		strcat(out, d.lines[i]);
		strcat(out, "\n");
		free(d.lines[i]);
	}
	free(d.lines);
	return out;
}

static struct rn_gc *replay(const int *idx, int n)
{
	struct rn_gc *gc = mk();
	for (int i = 0; i < n; i++) {
		const struct mrec *r = &L.v[idx ? idx[i] : i];
		assert_int_equal(rn_gc_apply(gc, NOW, r->key, r->klen, r->val, r->vlen), 0);
	}
	return gc;
}

static int count_tombstones(bool group_keys)
{
	int n = 0;
	for (int i = 0; i < L.n; i++)
		if (!L.v[i].val && (L.v[i].key[1] == 2) == group_keys)
			n++;
	return n;
}

/* The whole life of several groups, then every cleaning of the log replays the same. */
static void test_cleaned_log_replays_the_same(void **state)
{
	(void)state;
	NOW = 1000000;
	struct rn_gc *gc = mk();
	char a[128], b[128], c[128], d[128];
	/* g1: a Stable consumer group committing the same three partitions over and over. */
	member(gc, "g1", a);
	for (int i = 0; i < 600; i++) {
		NOW += 10;
		commit(gc, "g1", "t", i % 3, i, -1);
	}
	/* g2: simple commits (generation 0); OffsetDelete of its last offset kills it without a
	 * group tombstone (it has no metadata record); then it comes back. */
	for (int i = 0; i < 50; i++)
		commit(gc, "g2", "u", 0, i, -1);
	delete_offset(gc, "g2", "u", 0);
	assert_null(rn_gc_group(gc, "g2"));
	assert_int_equal(count_tombstones(true), 0);
	commit(gc, "g2", "u", 1, 7, -1);
	/* g3: a member leaves (Empty, generation 2, stored), then DeleteGroups. */
	member(gc, "g3", b);
	commit(gc, "g3", "t", 0, 5, -1);
	commit(gc, "g3", "v", 2, 6, -1);
	NOW += 100;
	assert_int_equal(rn_gc_leave(gc, NOW, "g3", b, NULL), 0);
	assert_int_equal(rn_gc_group(gc, "g3")->state, RN_GROUP_EMPTY);
	delete_group(gc, "g3");
	assert_int_equal(count_tombstones(true), 1);
	/* g4: Empty with offsets; they expire a week later and the group dies with them. */
	member(gc, "g4", c);
	commit(gc, "g4", "t", 1, 9, -1);
	assert_int_equal(rn_gc_leave(gc, NOW, "g4", c, NULL), 0);
	/* g5: Empty since later, so its offsets outlive g4's; g6 has an explicit expiry. */
	NOW += DAY;
	member(gc, "g5", d);
	commit(gc, "g5", "t", 2, 11, -1);
	assert_int_equal(rn_gc_leave(gc, NOW, "g5", d, NULL), 0);
	commit(gc, "g6", "w", 0, 1, NOW + 2 * DAY);
	commit(gc, "g6", "w", 1, 2, -1);
	NOW += 6 * DAY + 1;
	rn_gc_foreach(gc, expire_one, gc);
	assert_null(rn_gc_group(gc, "g4"));
	assert_non_null(rn_gc_group(gc, "g5"));
	assert_null(rn_gc_offset_get(rn_gc_group(gc, "g6"), "w", 0));
	assert_non_null(rn_gc_offset_get(rn_gc_group(gc, "g6"), "w", 1));
	assert_int_equal(count_tombstones(true), 2); /* g3 and g4, never g2 */
	/* More traffic after the tombstones, so that the active segment holds a mix. */
	for (int i = 600; i < 660; i++)
		commit(gc, "g1", "t", i % 3, i, -1);

	struct rn_gc *full = replay(NULL, L.n);
	char *want = dump(full, true);
	char *live = dump(gc, false);
	char *full_offsets = dump(full, false);
	assert_string_equal(full_offsets, live);
	/* Every cut (end of the cleanable range), with and without the tombstones. */
	for (int cut = 0; cut <= L.n; cut += L.n / 37 + 1) {
		for (int drop = 0; drop < 2; drop++) {
			int n;
			int *keep = clean(cut, drop, &n);
			struct rn_gc *r = replay(keep, n);
			char *got = dump(r, true);
			if (strcmp(got, want))
				fail_msg("cut %d drop %d:\nwant %s\ngot  %s", cut, drop, want, got);
			free(got);
			rn_gc_free(r);
			free(keep);
		}
	}
	/* Fully cleaned, the log holds one record per live key: g1 (1 + 3 offsets), g5 (1 + 1),
	 * g6 (1); g2's last offset expired too, and it is gone without a group tombstone. */
	assert_null(strstr(want, "g2"));
	int n;
	int *keep = clean(L.n, true, &n);
	assert_int_equal(n, 4 + 2 + 1);
	free(keep);
	free(want);
	free(live);
	free(full_offsets);
	rn_gc_free(full);
	rn_gc_free(gc);
	log_free();
}

/* An Empty group's offsets expire counting from when it became Empty, across a replay: the
 * state timestamp comes from its metadata record, not from the time of the restart. */
static void test_empty_since_survives_replay(void **state)
{
	(void)state;
	NOW = 5 * DAY;
	struct rn_gc *gc = mk();
	char a[128];
	member(gc, "g", a);
	commit(gc, "g", "t", 0, 1, -1);
	assert_int_equal(rn_gc_leave(gc, NOW, "g", a, NULL), 0);
	int64_t empty_since = NOW;
	NOW += 3 * DAY; /* the "restart" */
	struct rn_gc *r = replay(NULL, L.n);
	struct rn_group *g = rn_gc_group(r, "g");
	assert_int_equal(g->state, RN_GROUP_EMPTY);
	assert_int_equal(g->state_ts, empty_since);
	NOW = empty_since + 7 * DAY;
	rn_gc_foreach(r, expire_one, r);
	assert_null(rn_gc_group(r, "g"));
	rn_gc_free(r);
	rn_gc_free(gc);
	log_free();
}

/* A log written by the previous version: its stop-gap snapshots appended the live records
 * again and moved the log start to them. Replaying from that log start (the old records
 * below it are gone), then cleaning it, gives the same state. */
static void test_snapshot_runs_of_old_versions(void **state)
{
	(void)state;
	NOW = 1000;
	struct rn_gc *gc = mk();
	char a[128];
	member(gc, "g", a);
	for (int i = 0; i < 100; i++)
		commit(gc, "g", "t", i % 2, i, -1);
	commit(gc, "s", "t", 0, 3, -1);
	/* The old snapshot: group metadata as stored, then every offset, appended again. */
	int start = L.n;
	struct rn_group *g = rn_gc_group(gc, "g");
	stored(NULL, g);
	commit(gc, "g", "t", 0, rn_gc_offset_get(g, "t", 0)->offset, -1);
	commit(gc, "g", "t", 1, rn_gc_offset_get(g, "t", 1)->offset, -1);
	commit(gc, "s", "t", 0, 3, -1);
	/* After it: more commits and a deleted group. */
	commit(gc, "g", "t", 0, 500, -1);
	delete_group(gc, "s");
	int n = L.n - start;
	int *tail = malloc((size_t)n * sizeof(int));
	for (int i = 0; i < n; i++)
		tail[i] = start + i;
	struct rn_gc *old = replay(tail, n);
	struct rn_gc *all = replay(NULL, L.n);
	char *want = dump(all, true), *got = dump(old, true);
	assert_string_equal(got, want);
	assert_non_null(strstr(want, "t-0=500/"));
	assert_null(strstr(want, "\ns "));
	free(got);
	/* The cleaner then works on the suffix like on any log. */
	int nk;
	int *keep = clean(L.n, true, &nk);
	int m = 0;
	for (int i = 0; i < nk; i++)
		if (keep[i] >= start)
			keep[m++] = keep[i];
	struct rn_gc *cleaned = replay(keep, m);
	got = dump(cleaned, true);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(keep);
	free(tail);
	rn_gc_free(cleaned);
	rn_gc_free(old);
	rn_gc_free(all);
	rn_gc_free(gc);
	log_free();
}

/* The real thing: the model log written to a compacted partition through rn_gc_write, cleaned
 * by the storage cleaner twice (the second clean drops the tombstones, delete.retention.ms 0),
 * and replayed from the log start with rn_gc_replay after each clean. */
static void test_partition_cleaned_replays_the_same(void **state)
{
	(void)state;
	NOW = 1000000;
	struct rn_gc *gc = mk();
	char a[128], b[128];
	member(gc, "g1", a);
	for (int i = 0; i < 3000; i++)
		commit(gc, "g1", "t", i % 4, i, -1);
	member(gc, "g2", b);
	commit(gc, "g2", "t", 0, 1, -1);
	assert_int_equal(rn_gc_leave(gc, NOW, "g2", b, NULL), 0);
	delete_group(gc, "g2");
	for (int i = 0; i < 20; i++)
		commit(gc, "s", "u", i, i, -1);
	delete_offset(gc, "s", "u", 3);
	for (int i = 3000; i < 3400; i++) /* the tombstones end up in closed segments */
		commit(gc, "g1", "t", i % 4, i, -1);

	char *dir = bb_tmpdir();
	struct rn_log_config c;
	rn_log_config_default(&c);
	c.segment_bytes = 8192;
	c.cleanup_compact = true;
	c.cleanup_delete = false;
	c.delete_retention_ms = 0;
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	/* Batches of up to three records, as a commit of several partitions is written: the
	 * cleaner leaves batches with fewer records than their offset range, which replay must
	 * read on (rn_batch_validate_stored). */
	for (int i = 0; i < L.n; i += 3) {
		struct rn_gc_rec r[3];
		int n = 0;
		for (; n < 3 && i + n < L.n; n++)
			r[n] = (struct rn_gc_rec){L.v[i + n].key, L.v[i + n].klen, L.v[i + n].val,
						  L.v[i + n].vlen};
		struct rn_append_info ai;
		assert_int_equal(rn_gc_write(p, r, n, NOW, &ai), 0);
	}
	struct rn_gc *before = mk();
	int64_t n0, n1, n2;
	assert_int_equal(rn_gc_replay(before, p, NOW, &n0), 0);
	assert_int_equal(n0, L.n);
	char *want = dump(before, true);
	char *live = dump(gc, false), *replayed = dump(before, false);
	assert_string_equal(live, replayed);
	free(live);
	free(replayed);
	struct rn_clean_opts o = {.map_bytes = 1 << 20,
				  .load_factor = 0.9,
				  .io_buffer_size = 1 << 16,
				  .now_ms = NOW,
				  .force = true};
	struct rn_clean_stats st;
	assert_int_equal(rn_partition_clean(p, &o, &st), 1);
	struct rn_gc *after1 = mk();
	assert_int_equal(rn_gc_replay(after1, p, NOW, &n1), 0);
	assert_true(n1 < n0 / 4);
	char *got = dump(after1, true);
	assert_string_equal(got, want);
	free(got);
	o.now_ms = NOW + 1000; /* past the delete horizons: the tombstones go */
	assert_true(rn_partition_clean(p, &o, &st) >= 0);
	struct rn_gc *after2 = mk();
	assert_int_equal(rn_gc_replay(after2, p, NOW, &n2), 0);
	assert_true(n2 < n1); /* the three tombstones are gone */
	fprintf(stderr,
		"records: %lld written, %lld after the first clean, %lld after the second\n",
		(long long)n0, (long long)n1, (long long)n2);
	got = dump(after2, true);
	assert_string_equal(got, want);
	free(got);
	free(want);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
	rn_gc_free(before);
	rn_gc_free(after1);
	rn_gc_free(after2);
	rn_gc_free(gc);
	log_free();
}

/* A data dir of the previous version, for real: a partition whose log start an old snapshot
 * moved (the live records appended again, the segments below deleted), reopened, replayed,
 * then cleaned (the cleaner starts at the log start) and replayed again. */
static void test_old_snapshot_partition_upgrade(void **state)
{
	(void)state;
	NOW = 1000000;
	struct rn_gc *gc = mk();
	char a[128];
	member(gc, "g", a);
	for (int i = 0; i < 2000; i++)
		commit(gc, "g", "t", i % 3, i, -1);
	commit(gc, "s", "u", 0, 9, -1);
	char *dir = bb_tmpdir();
	struct rn_log_config c;
	rn_log_config_default(&c);
	c.segment_bytes = 8192;
	c.cleanup_compact = true;
	c.cleanup_delete = false;
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	struct rn_append_info ai;
	for (int i = 0; i < L.n; i++) {
		struct rn_gc_rec r = {L.v[i].key, L.v[i].klen, L.v[i].val, L.v[i].vlen};
		assert_int_equal(rn_gc_write(p, &r, 1, NOW, &ai), 0);
	}
	/* What rn_gc_snapshot did: the live records in one run, the log start moved to it. */
	int start = L.n;
	stored(NULL, rn_gc_group(gc, "g"));
	for (int i = 0; i < 3; i++)
		commit(gc, "g", "t", i, rn_gc_offset_get(rn_gc_group(gc, "g"), "t", i)->offset, -1);
	commit(gc, "s", "u", 0, 9, -1);
	struct rn_gc_rec run[5];
	for (int i = 0; i < 5; i++)
		run[i] = (struct rn_gc_rec){L.v[start + i].key, L.v[start + i].klen,
					    L.v[start + i].val, L.v[start + i].vlen};
	assert_int_equal(rn_gc_write(p, run, 5, NOW, &ai), 0);
	assert_int_equal(rn_partition_advance_log_start(p, ai.base_offset), 0);
	/* Then the new version: more commits and a deletion, through the same path. */
	int after = L.n;
	for (int i = 0; i < 300; i++)
		commit(gc, "g", "t", i % 3, 5000 + i, -1);
	delete_group(gc, "s");
	for (int i = after; i < L.n; i++) {
		struct rn_gc_rec r = {L.v[i].key, L.v[i].klen, L.v[i].val, L.v[i].vlen};
		assert_int_equal(rn_gc_write(p, &r, 1, NOW, &ai), 0);
	}
	rn_partition_close(p);
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, false, &p), 0);
	char *live = dump(gc, false);
	struct rn_gc *r1 = mk();
	int64_t n1, n2;
	assert_int_equal(rn_gc_replay(r1, p, NOW, &n1), 0);
	assert_true(n1 < L.n); /* the records below the old log start are gone */
	char *want = dump(r1, true), *got = dump(r1, false);
	assert_string_equal(got, live);
	free(got);
	struct rn_clean_opts o = {
	    .map_bytes = 1 << 20, .load_factor = 0.9, .now_ms = NOW, .force = true};
	assert_int_equal(rn_partition_clean(p, &o, NULL), 1);
	struct rn_gc *r2 = mk();
	assert_int_equal(rn_gc_replay(r2, p, NOW, &n2), 0);
	assert_true(n2 < n1);
	got = dump(r2, true);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(live);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
	rn_gc_free(r1);
	rn_gc_free(r2);
	rn_gc_free(gc);
	log_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cleaned_log_replays_the_same),
	    cmocka_unit_test(test_empty_since_survives_replay),
	    cmocka_unit_test(test_snapshot_runs_of_old_versions),
	    cmocka_unit_test(test_partition_cleaned_replays_the_same),
	    cmocka_unit_test(test_old_snapshot_partition_upgrade),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
