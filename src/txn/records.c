/* __transaction_state record formats (see txn.h). */
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "proto/prim.h"
#include "proto/record_batch.h"
#include "txn/txn.h"
#include "txn/txn_int.h"

static void put16(struct rn_buf *b, int16_t v)
{
	uint8_t x[2] = {(uint8_t)((uint16_t)v >> 8), (uint8_t)v};
	rn_buf_append(b, x, 2);
}

static void put32(struct rn_buf *b, int32_t v)
{
	uint8_t x[4];
	rn_put_be32(x, (uint32_t)v);
	rn_buf_append(b, x, 4);
}

static void put64(struct rn_buf *b, int64_t v)
{
	uint8_t x[8];
	rn_put_be64(x, (uint64_t)v);
	rn_buf_append(b, x, 8);
}

/* Classic string; NULL = null. Our strings come from requests (i16 lengths), so they fit. */
static void putstr(struct rn_buf *b, const char *s)
{
	if (!s) {
		put16(b, -1);
		return;
	}
	size_t n = strlen(s);
	if (n > INT16_MAX)
		n = INT16_MAX;
	put16(b, (int16_t)n);
	rn_buf_append(b, s, n);
}

void rn_tc_key(struct rn_buf *b, const char *id)
{
	put16(b, 0);
	putstr(b, id);
}

/* Kafka groups the partitions by topic; ours are in the order they were added. */
static void put_partitions(struct rn_buf *b, const struct rn_txn *t)
{
	size_t count_at = b->len;
	put32(b, 0);
	int32_t ntopics = 0;
	for (int i = 0; i < t->nparts; i++) {
		bool seen = false;
		for (int j = 0; j < i && !seen; j++)
			seen = !strcmp(t->parts[j].topic, t->parts[i].topic);
		if (seen)
			continue;
		ntopics++;
		putstr(b, t->parts[i].topic);
		int32_t n = 0;
		for (int j = i; j < t->nparts; j++)
			n += !strcmp(t->parts[j].topic, t->parts[i].topic);
		put32(b, n);
		for (int j = i; j < t->nparts; j++)
			if (!strcmp(t->parts[j].topic, t->parts[i].topic))
				put32(b, t->parts[j].partition);
	}
	rn_put_be32(b->data + count_at, (uint32_t)ntopics);
}

void rn_tc_value(struct rn_buf *b, const struct rn_txn *t)
{
	put16(b, 0);
	put64(b, t->pid);
	put16(b, t->epoch);
	put32(b, t->timeout_ms);
	uint8_t st = (uint8_t)t->state;
	rn_buf_append(b, &st, 1);
	put_partitions(b, t);
	put64(b, t->update_ms);
	put64(b, t->start_ms);
	/* Runnel's extension. */
	put64(b, t->last_pid);
	put16(b, t->last_epoch);
	put32(b, t->ngroups);
	for (int i = 0; i < t->ngroups; i++)
		putstr(b, t->groups[i]);
	put32(b, t->noffsets);
	for (int i = 0; i < t->noffsets; i++) {
		const struct rn_txn_offset *o = &t->offsets[i];
		putstr(b, o->group);
		putstr(b, o->topic);
		put32(b, o->partition);
		put64(b, o->offset);
		put32(b, o->leader_epoch);
		putstr(b, o->metadata);
	}
}

/* A NUL-terminated heap copy of a decoded string (NULL for null or on a read error). */
static char *dupstr(struct rn_rd *rd)
{
	struct rn_str s = rn_rd_string(rd, false);
	return rd->err || s.len < 0 ? NULL : rn_strndup(s.ptr, (size_t)s.len);
}

static void read_partitions(struct rn_rd *v, struct rn_txn *t)
{
	int32_t ntopics = rn_rd_i32(v);
	for (int32_t i = 0; i < ntopics && !v->err; i++) {
		char *topic = dupstr(v);
		int32_t n = rn_rd_i32(v);
		for (int32_t j = 0; j < n && !v->err && topic; j++)
			rn_tc_add_partition(t, topic, rn_rd_i32(v), t->start_ms);
		rn_free(topic);
	}
}

static void read_extension(struct rn_rd *v, struct rn_txn *t)
{
	if (rn_rd_left(v) == 0)
		return;
	t->last_pid = rn_rd_i64(v);
	t->last_epoch = rn_rd_i16(v);
	int32_t ng = rn_rd_i32(v);
	for (int32_t i = 0; i < ng && !v->err; i++) {
		char *g = dupstr(v);
		if (g)
			rn_tc_add_group(t, g, t->start_ms);
		rn_free(g);
	}
	int32_t no = rn_rd_i32(v);
	for (int32_t i = 0; i < no && !v->err; i++) {
		struct rn_txn_offset o = {0};
		o.group = dupstr(v);
		o.topic = dupstr(v);
		o.partition = rn_rd_i32(v);
		o.offset = rn_rd_i64(v);
		o.leader_epoch = rn_rd_i32(v);
		o.metadata = dupstr(v);
		if (!v->err && o.group && o.topic)
			rn_tc_add_offset(t, &o);
		rn_free(o.group);
		rn_free(o.topic);
		rn_free(o.metadata);
	}
}

int rn_tc_apply(struct rn_tc *tc, const uint8_t *key, int32_t klen, const uint8_t *val,
		int32_t vlen)
{
	if (!key || klen < 2)
		return RN_ECORRUPT;
	struct rn_rd k;
	rn_rd_init(&k, (uint8_t *)key, (size_t)klen, NULL);
	int16_t kver = rn_rd_i16(&k);
	char *id = dupstr(&k);
	if (k.err || kver != 0 || !id) {
		rn_free(id);
		return RN_ECORRUPT;
	}
	struct rn_txn *t = rn_tc_find(tc, id);
	if (!val) {
		if (t)
			rn_tc_remove(tc, t);
		rn_free(id);
		return 0;
	}
	struct rn_rd v;
	rn_rd_init(&v, (uint8_t *)val, (size_t)vlen, NULL);
	int16_t ver = rn_rd_i16(&v);
	int64_t pid = rn_rd_i64(&v);
	int16_t epoch = rn_rd_i16(&v);
	int32_t timeout = rn_rd_i32(&v);
	int8_t state = rn_rd_i8(&v);
	if (v.err || ver != 0 || state < RN_TXN_EMPTY || state > RN_TXN_DEAD) {
		rn_free(id);
		return RN_ECORRUPT;
	}
	t = rn__tc_get_or_create(tc, id);
	rn_free(id);
	rn__tc_set_pid(tc, t, pid);
	t->epoch = epoch;
	t->timeout_ms = timeout;
	/* Partitions and groups are re-added through the Ongoing path, then the state is set. */
	rn_tc_complete(t, 0);
	t->state = RN_TXN_ONGOING;
	read_partitions(&v, t);
	t->update_ms = rn_rd_i64(&v);
	t->start_ms = rn_rd_i64(&v);
	read_extension(&v, t);
	t->state = (enum rn_txn_state)state;
	return v.err ? RN_ECORRUPT : 0;
}
