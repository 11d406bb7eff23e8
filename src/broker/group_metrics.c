/*
 * Consumer lag on /metrics, under kafka_exporter's names, so dashboards built for it work:
 *
 *   kafka_consumergroup_current_offset{consumergroup,topic,partition}  committed offset
 *   kafka_consumergroup_lag{...}            high watermark - committed offset (>= 0)
 *   kafka_consumergroup_lag_seconds{...}    now - timestamp of the first uncommitted record
 *   kafka_consumergroup_members{consumergroup}
 *
 * Groups without members keep their series as long as they have offsets. The number of
 * partition series is capped by runnel.metrics.max.group.series (the rest are counted in
 * runnel_consumergroup_series_dropped). The coordinator lock is held only to copy the
 * committed offsets; log reads happen after.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker/groups.h"
#include "broker/topics.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "proto/record_batch.h"
#include "storage/partition.h"

struct row {
	char *group, *topic;
	int32_t part;
	int64_t offset;
	bool known; /* the partition exists: lag is meaningful */
	int64_t lag;
	double secs;
};

struct snap {
	struct row *rows;
	int n, cap, max;
	long dropped;
	struct rn_buf members; /* kafka_consumergroup_members lines */
};

static struct rn_broker *g_b;

/* Prometheus label value: backslash, quote and newline escaped. */
static void label(struct rn_buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			rn_buf_append(out, "\\", 1);
		if (*s == '\n') {
			rn_buf_append(out, "\\n", 2);
			continue;
		}
		rn_buf_append(out, s, 1);
	}
}

static void add_row(struct rn_group *g, const char *topic, int32_t part,
		    const struct rn_gc_offset *o, void *arg)
{
	struct snap *s = arg;
	if (s->n >= s->max) {
		s->dropped++;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->rows = rn_realloc(s->rows, (size_t)s->cap * sizeof(*s->rows));
	}
	s->rows[s->n++] =
	    (struct row){rn_strdup(g->id), rn_strdup(topic), part, o->offset, false, 0, 0};
}

static void add_group(struct rn_group *g, void *arg)
{
	struct snap *s = arg;
	if (!g->nmembers && !g->noffsets)
		return;
	rn_buf_printf(&s->members, "kafka_consumergroup_members{consumergroup=\"");
	label(&s->members, g->id);
	rn_buf_printf(&s->members, "\"} %d\n", g->nmembers);
	rn_gc_offsets_foreach(g, add_row, s);
}

/* Timestamp of the record at offset off (its batch's first timestamp if it cannot be read). */
static int64_t ts_at(struct rn_partition *p, int64_t off)
{
	struct rn_read_info ri;
	if (rn_partition_read(p, off, 1, true, &ri) < 0 || ri.len == 0)
		return -1;
	int64_t ts = -1;
	size_t len = ri.len < (8u << 20) ? ri.len : RN_BATCH_HEADER_SIZE;
	uint8_t *buf = rn_malloc(len);
	if (pread(ri.file->fd, buf, len, (off_t)ri.pos) == (ssize_t)len &&
	    len >= RN_BATCH_HEADER_SIZE) {
		struct rn_batch_header h;
		rn_batch_header_parse(buf, &h);
		ts = h.base_timestamp;
		struct rn_record_iter it;
		struct rn_buf scratch = {0};
		struct rn_batch_header vh;
		if (len == ri.len && rn_batch_validate_stored(buf, len, &vh) > 0 &&
		    rn_record_iter_init_any(&it, buf, len, &scratch, 64u << 20) == 0) {
			struct rn_record r;
			while (rn_record_iter_next(&it, &r) == 1)
				if (r.offset >= off) {
					ts = r.timestamp;
					break;
				}
		}
		rn_buf_free(&scratch);
	}
	rn_free(buf);
	rn_fileref_put(ri.file);
	return ts;
}

static void series(struct rn_buf *out, const char *name, const struct row *r)
{
	rn_buf_printf(out, "%s{consumergroup=\"", name);
	label(out, r->group);
	rn_buf_printf(out, "\",topic=\"");
	label(out, r->topic);
	rn_buf_printf(out, "\",partition=\"%d\"} ", r->part);
}

static void measure(struct row *r, int64_t now)
{
	struct rn_topic *t = rn_topic_get(g_b, r->topic, strlen(r->topic));
	struct rn_partition *p = t && r->part < t->npart ? t->parts[r->part].log : NULL;
	if (p && r->offset >= 0) { /* a logical commit (-2 = earliest) has no lag to show */
		int64_t hw = rn_partition_high_watermark(p);
		r->known = true;
		r->lag = hw > r->offset ? hw - r->offset : 0;
		if (r->lag > 0) {
			int64_t ts = ts_at(p, r->offset);
			if (ts >= 0 && now > ts)
				r->secs = (double)(now - ts) / 1000.0;
		}
	}
	if (t)
		rn_topic_put(g_b, t);
}

static void collect(struct rn_buf *out, void *arg)
{
	(void)arg;
	struct snap s = {.max =
			     (int)rn_config_get_i64(g_b->cfg, "runnel.metrics.max.group.series")};
	struct rn_gc *gc = rn_groups_lock();
	if (!gc)
		return;
	rn_gc_foreach(gc, add_group, &s);
	rn_groups_unlock();
	rn_buf_printf(out, "# HELP kafka_consumergroup_members Members of the consumer group\n"
			   "# TYPE kafka_consumergroup_members gauge\n");
	rn_buf_append(out, s.members.data, s.members.len);
	int64_t now = rn_wall_ms();
	for (int i = 0; i < s.n; i++)
		measure(&s.rows[i], now);
	/* Each family's samples must be contiguous in the exposition format. */
	rn_buf_printf(out, "# HELP kafka_consumergroup_current_offset Committed offset\n"
			   "# TYPE kafka_consumergroup_current_offset gauge\n");
	for (int i = 0; i < s.n; i++) {
		series(out, "kafka_consumergroup_current_offset", &s.rows[i]);
		rn_buf_printf(out, "%lld\n", (long long)s.rows[i].offset);
	}
	rn_buf_printf(out, "# HELP kafka_consumergroup_lag High watermark minus committed offset\n"
			   "# TYPE kafka_consumergroup_lag gauge\n");
	for (int i = 0; i < s.n; i++) {
		if (!s.rows[i].known)
			continue;
		series(out, "kafka_consumergroup_lag", &s.rows[i]);
		rn_buf_printf(out, "%lld\n", (long long)s.rows[i].lag);
	}
	rn_buf_printf(out, "# HELP kafka_consumergroup_lag_seconds Age of the first unconsumed "
			   "record\n# TYPE kafka_consumergroup_lag_seconds gauge\n");
	for (int i = 0; i < s.n; i++) {
		if (!s.rows[i].known)
			continue;
		series(out, "kafka_consumergroup_lag_seconds", &s.rows[i]);
		rn_buf_printf(out, "%.3f\n", s.rows[i].secs);
	}
	for (int i = 0; i < s.n; i++) {
		rn_free(s.rows[i].group);
		rn_free(s.rows[i].topic);
	}
	rn_buf_printf(out,
		      "# HELP runnel_consumergroup_series_dropped Partition series over "
		      "runnel.metrics.max.group.series\n"
		      "# TYPE runnel_consumergroup_series_dropped gauge\n"
		      "runnel_consumergroup_series_dropped %ld\n",
		      s.dropped);
	rn_free(s.rows);
	rn_buf_free(&s.members);
}

void rn__groups_metrics_register(struct rn_broker *b)
{
	g_b = b;
	rn_metrics_register(collect, NULL);
}

void rn__groups_metrics_unregister(void)
{
	rn_metrics_unregister(collect, NULL);
}
