/* __consumer_offsets record formats (see records.h) and the batches that carry them. */
#include "group/records.h"

#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "group/group_int.h"
#include "proto/prim.h"
#include "proto/record_batch.h"

/* Java's String.hashCode over UTF-16 code units; the group id arrives as UTF-8. */
int32_t rn_gc_partition_for(const char *group, int32_t n)
{
	uint32_t h = 0;
	const uint8_t *p = (const uint8_t *)group;
	while (*p) {
		uint32_t cp;
		int len;
		if (p[0] < 0x80)
			cp = p[0], len = 1;
		else if ((p[0] & 0xe0) == 0xc0 && p[1])
			cp = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f), len = 2;
		else if ((p[0] & 0xf0) == 0xe0 && p[1] && p[2])
			cp = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 |
			     (p[2] & 0x3f),
			len = 3;
		else if ((p[0] & 0xf8) == 0xf0 && p[1] && p[2] && p[3])
			cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
			     (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f),
			len = 4;
		else
			cp = 0xfffd, len = 1; /* what Java's decoder makes of a bad byte */
		if (cp >= 0x10000) {
			cp -= 0x10000;
			h = h * 31 + (0xd800 + (cp >> 10));
			h = h * 31 + (0xdc00 + (cp & 0x3ff));
		} else {
			h = h * 31 + cp;
		}
		p += len;
	}
	int32_t hc = (int32_t)h;
	int32_t a = hc == INT32_MIN ? 0 : (hc < 0 ? -hc : hc); /* Kafka's Utils.abs */
	return n > 0 ? a % n : 0;
}

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

/* Classic string; NULL = null. Our strings come from requests (i16 lengths) so they fit. */
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

static void putbytes(struct rn_buf *b, const uint8_t *p, int32_t n)
{
	put32(b, n > 0 ? n : 0);
	if (n > 0)
		rn_buf_append(b, p, (size_t)n);
}

void rn_gc_key_offset(struct rn_buf *b, const char *group, const char *topic, int32_t part)
{
	put16(b, 1);
	putstr(b, group);
	putstr(b, topic);
	put32(b, part);
}

void rn_gc_value_offset(struct rn_buf *b, const struct rn_gc_offset *o)
{
	put16(b, 3);
	put64(b, o->offset);
	put32(b, o->leader_epoch);
	putstr(b, o->metadata ? o->metadata : "");
	put64(b, o->commit_ts);
}

void rn_gc_key_group(struct rn_buf *b, const char *group)
{
	put16(b, 2);
	putstr(b, group);
}

void rn_gc_value_group(struct rn_buf *b, const struct rn_group *g, int64_t now)
{
	put16(b, 3);
	putstr(b, g->protocol_type ? g->protocol_type : "");
	put32(b, g->generation);
	putstr(b, g->protocol_name);
	putstr(b, g->leader_id);
	put64(b, now);
	put32(b, g->nmembers);
	for (const struct rn_gc_member *m = g->members; m; m = m->next) {
		putstr(b, m->id);
		putstr(b, m->instance_id);
		putstr(b, m->client_id ? m->client_id : "");
		putstr(b, m->client_host ? m->client_host : "");
		put32(b, m->rebalance_ms);
		put32(b, m->session_ms);
		const struct rn_gc_protocol *p = NULL;
		for (int i = 0; g->protocol_name && i < m->nprotos; i++)
			if (strcmp(m->protos[i].name, g->protocol_name) == 0)
				p = &m->protos[i];
		putbytes(b, p ? p->meta : NULL, p ? p->meta_len : 0);
		putbytes(b, m->assignment, m->assignment_len);
	}
}

/* A NUL-terminated heap copy of a decoded string (NULL for null). */
static char *dupstr(struct rn_str s)
{
	return s.len < 0 ? NULL : rn_strndup(s.ptr, (size_t)s.len);
}

/* An offset commit value (versions 0-3) into *o (metadata heap-copied: the caller frees). */
static int read_offset_value(const uint8_t *val, int32_t vlen, struct rn_gc_offset *o)
{
	struct rn_rd v;
	rn_rd_init(&v, (uint8_t *)val, (size_t)vlen, NULL);
	int16_t ver = rn_rd_i16(&v);
	*o = (struct rn_gc_offset){.leader_epoch = -1, .expire_ts = -1};
	o->offset = rn_rd_i64(&v);
	if (ver >= 3)
		o->leader_epoch = rn_rd_i32(&v);
	struct rn_str meta = rn_rd_string(&v, false);
	o->commit_ts = rn_rd_i64(&v);
	if (ver == 1)
		o->expire_ts = rn_rd_i64(&v);
	if (v.err || ver < 0 || ver > 3)
		return RN_ECORRUPT;
	o->metadata = meta.len > 0 ? dupstr(meta) : NULL;
	return 0;
}

static int apply_offset(struct rn_gc *gc, int64_t now, struct rn_rd *k, const uint8_t *val,
			int32_t vlen)
{
	struct rn_str g = rn_rd_string(k, false), t = rn_rd_string(k, false);
	int32_t part = rn_rd_i32(k);
	if (k->err || g.len < 0 || t.len < 0)
		return RN_ECORRUPT;
	char *gid = dupstr(g), *topic = dupstr(t);
	int rc = 0;
	if (!val) {
		struct rn_group *grp = rn_gc_group(gc, gid);
		if (grp)
			rn_gc_offset_set(grp, topic, part, NULL);
		/* A group known only by its offsets (no metadata record: simple commits) is gone
		 * with its last one, as Kafka loads it; it died without a group tombstone. */
		if (grp && !grp->noffsets && !grp->has_stored && !grp->nmembers && !grp->ntxn)
			rn_gc_group_remove(gc, grp);
		goto out;
	}
	struct rn_gc_offset o;
	rc = read_offset_value(val, vlen, &o);
	if (rc == 0)
		rn_gc_offset_set(rn_gc_group_get_or_create(gc, gid, now), topic, part, &o);
	rn_free(o.metadata);
out:
	rn_free(gid);
	rn_free(topic);
	return rc;
}

int rn_gc_apply_txn(struct rn_gc *gc, int64_t now, int64_t pid, const uint8_t *key, int32_t klen,
		    const uint8_t *val, int32_t vlen)
{
	if (!key || klen < 2 || !val || vlen < 0)
		return RN_ECORRUPT;
	struct rn_rd k;
	rn_rd_init(&k, (uint8_t *)key, (size_t)klen, NULL);
	int16_t ver = rn_rd_i16(&k);
	struct rn_str g = rn_rd_string(&k, false), t = rn_rd_string(&k, false);
	int32_t part = rn_rd_i32(&k);
	if ((ver != 0 && ver != 1) || k.err || g.len < 0 || t.len < 0)
		return RN_ECORRUPT;
	struct rn_gc_offset o;
	int rc = read_offset_value(val, vlen, &o);
	if (rc == 0) {
		char *gid = dupstr(g), *topic = dupstr(t);
		rn_gc_txn_offset_add(rn_gc_group_get_or_create(gc, gid, now), pid, topic, part, &o);
		rn_free(gid);
		rn_free(topic);
	}
	rn_free(o.metadata);
	return rc;
}

static struct rn_gc_member *read_member(struct rn_rd *v, int16_t ver, const char *protocol)
{
	struct rn_gc_member *m = rn_calloc(1, sizeof(*m));
	m->id = dupstr(rn_rd_string(v, false));
	if (ver >= 3)
		m->instance_id = dupstr(rn_rd_string(v, false));
	m->client_id = dupstr(rn_rd_string(v, false));
	m->client_host = dupstr(rn_rd_string(v, false));
	m->rebalance_ms = ver >= 1 ? rn_rd_i32(v) : 0;
	m->session_ms = rn_rd_i32(v);
	if (ver == 0)
		m->rebalance_ms = m->session_ms;
	struct rn_bytes sub = rn_rd_bytes(v, false), asg = rn_rd_bytes(v, false);
	m->protos = rn_calloc(1, sizeof(*m->protos));
	m->nprotos = 1;
	m->protos[0].name = rn_strdup(protocol ? protocol : "");
	int32_t sl = sub.len > 0 ? sub.len : 0, al = asg.len > 0 ? asg.len : 0;
	m->protos[0].meta = rn_malloc((size_t)sl + 1);
	if (sl)
		memcpy(m->protos[0].meta, sub.ptr, (size_t)sl);
	m->protos[0].meta_len = sl;
	m->assignment = rn_malloc((size_t)al + 1);
	if (al)
		memcpy(m->assignment, asg.ptr, (size_t)al);
	m->assignment_len = al;
	if (!m->id || !m->client_id || !m->client_host) {
		rn__gc_member_free(m);
		return NULL;
	}
	return m;
}

static int apply_group(struct rn_gc *gc, int64_t now, struct rn_rd *k, const uint8_t *val,
		       int32_t vlen)
{
	struct rn_str gs = rn_rd_string(k, false);
	if (k->err || gs.len < 0)
		return RN_ECORRUPT;
	char *gid = dupstr(gs);
	int rc = RN_ECORRUPT;
	if (!val) {
		struct rn_group *g = rn_gc_group(gc, gid);
		if (g && !g->noffsets)
			rn_gc_group_remove(gc, g);
		else if (g)
			rn_gc_group_load(gc, now, gid, g->protocol_type, g->generation, NULL, NULL,
					 NULL)
			    ->has_stored = false;
		rn_free(gid);
		return 0;
	}
	struct rn_rd v;
	rn_rd_init(&v, (uint8_t *)val, (size_t)vlen, NULL);
	int16_t ver = rn_rd_i16(&v);
	char *ptype = dupstr(rn_rd_string(&v, false));
	int32_t gen = rn_rd_i32(&v);
	char *proto = dupstr(rn_rd_string(&v, false));
	char *leader = dupstr(rn_rd_string(&v, false));
	/* currentStateTimestamp: an Empty group's offsets expire counting from it, across
	 * restarts, as in Kafka. */
	int64_t state_ts = ver >= 2 ? rn_rd_i64(&v) : -1;
	int32_t n = rn_rd_count(&v, false);
	struct rn_gc_member *head = NULL, **tail = &head;
	for (int32_t i = 0; i < n && !v.err; i++) {
		struct rn_gc_member *m = read_member(&v, ver, proto);
		if (!m)
			break;
		*tail = m;
		tail = &m->next;
	}
	if (!v.err && ver >= 0 && ver <= 3) {
		struct rn_group *g =
		    rn_gc_group_load(gc, now, gid, ptype, gen, proto, leader, head);
		g->has_stored = true;
		if (state_ts >= 0)
			g->state_ts = state_ts;
		head = NULL;
		rc = 0;
	}
	while (head) {
		struct rn_gc_member *next = head->next;
		rn__gc_member_free(head);
		head = next;
	}
	rn_free(ptype);
	rn_free(proto);
	rn_free(leader);
	rn_free(gid);
	return rc;
}

int rn_gc_apply(struct rn_gc *gc, int64_t now, const uint8_t *key, int32_t klen, const uint8_t *val,
		int32_t vlen)
{
	if (!key || klen < 2)
		return RN_ECORRUPT;
	struct rn_rd k;
	rn_rd_init(&k, (uint8_t *)key, (size_t)klen, NULL);
	int16_t ver = rn_rd_i16(&k);
	if (vlen < 0)
		val = NULL;
	if (ver == 0 || ver == 1)
		return apply_offset(gc, now, &k, val, vlen);
	if (ver == 2)
		return apply_group(gc, now, &k, val, vlen);
	return RN_ECORRUPT; /* a record type we do not know (transactions, KIP-848) */
}

static void finish_batch(struct rn_buf *out, size_t start, int n, int64_t ts)
{
	uint8_t *p = out->data + start;
	size_t total = out->len - start;
	rn_put_be64(p + RN_BATCH_OFF_BASE_OFFSET, 0);
	rn_put_be32(p + RN_BATCH_OFF_LENGTH, (uint32_t)(total - RN_BATCH_LOG_OVERHEAD));
	rn_put_be32(p + RN_BATCH_OFF_LEADER_EPOCH, (uint32_t)-1);
	p[RN_BATCH_OFF_MAGIC] = 2;
	p[RN_BATCH_OFF_ATTRIBUTES] = 0;
	p[RN_BATCH_OFF_ATTRIBUTES + 1] = 0;
	rn_put_be32(p + RN_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(n - 1));
	rn_put_be64(p + RN_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)ts);
	rn_put_be64(p + RN_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)ts);
	rn_put_be64(p + RN_BATCH_OFF_PRODUCER_ID, (uint64_t)-1);
	p[RN_BATCH_OFF_PRODUCER_EPOCH] = 0xff;
	p[RN_BATCH_OFF_PRODUCER_EPOCH + 1] = 0xff;
	rn_put_be32(p + RN_BATCH_OFF_BASE_SEQUENCE, (uint32_t)-1);
	rn_put_be32(p + RN_BATCH_OFF_RECORDS_COUNT, (uint32_t)n);
	rn_put_be32(p + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, p + RN_BATCH_OFF_ATTRIBUTES, total - RN_BATCH_OFF_ATTRIBUTES));
}

void rn_gc_batches(struct rn_buf *out, const struct rn_gc_rec *recs, int n, int64_t ts,
		   size_t max_batch)
{
	struct rn_buf rec = {0};
	int i = 0;
	while (i < n) {
		size_t start = out->len;
		uint8_t hdr[RN_BATCH_HEADER_SIZE] = {0};
		rn_buf_append(out, hdr, sizeof(hdr));
		int k = 0;
		for (; i < n; i++, k++) {
			if (k > 0 && out->len - start >= max_batch)
				break;
			rn_buf_reset(&rec);
			uint8_t attr = 0;
			rn_buf_append(&rec, &attr, 1);
			rn_record_put_varlong(&rec, 0); /* timestamp delta */
			rn_record_put_varlong(&rec, k); /* offset delta */
			rn_record_put_varlong(&rec, recs[i].klen);
			rn_buf_append(&rec, recs[i].key, (size_t)recs[i].klen);
			rn_record_put_varlong(&rec, recs[i].val ? recs[i].vlen : -1);
			if (recs[i].val && recs[i].vlen > 0)
				rn_buf_append(&rec, recs[i].val, (size_t)recs[i].vlen);
			rn_record_put_varlong(&rec, 0); /* headers */
			rn_record_put_varlong(out, (int64_t)rec.len);
			rn_buf_append(out, rec.data, rec.len);
		}
		finish_batch(out, start, k, ts);
	}
	rn_buf_free(&rec);
}

void rn_gc_txn_batch(struct rn_buf *out, const struct rn_gc_rec *recs, int n, int64_t ts,
		     int64_t pid, int16_t epoch, int32_t base_seq)
{
	size_t start = out->len;
	rn_gc_batches(out, recs, n, ts, SIZE_MAX);
	uint8_t *p = out->data + start;
	size_t total = out->len - start;
	p[RN_BATCH_OFF_ATTRIBUTES] = 0;
	p[RN_BATCH_OFF_ATTRIBUTES + 1] = RN_BATCH_ATTR_TRANSACTIONAL;
	rn_put_be64(p + RN_BATCH_OFF_PRODUCER_ID, (uint64_t)pid);
	p[RN_BATCH_OFF_PRODUCER_EPOCH] = (uint8_t)((uint16_t)epoch >> 8);
	p[RN_BATCH_OFF_PRODUCER_EPOCH + 1] = (uint8_t)epoch;
	rn_put_be32(p + RN_BATCH_OFF_BASE_SEQUENCE, (uint32_t)base_seq);
	rn_put_be32(p + RN_BATCH_OFF_CRC,
		    rn_crc32c(0, p + RN_BATCH_OFF_ATTRIBUTES, total - RN_BATCH_OFF_ATTRIBUTES));
}
