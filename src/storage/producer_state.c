#include "storage/producer_state.h"

#include <string.h>

#include "core/alloc.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "proto/record_batch.h"

#define PS_MAGIC       0x524e5053u /* "RNPS" */
#define PS_VERSION     2
#define PS_HEADER      16
#define PS_ENTRY_V1    20
#define PS_ENTRY_FIXED 28
#define PS_BATCH       24

int32_t rn_ps_last_seq(int32_t first_seq, int32_t last_offset_delta)
{
	/* Kafka's DefaultRecordBatch.incrementSequence. */
	if (first_seq > INT32_MAX - last_offset_delta)
		return last_offset_delta - (INT32_MAX - first_seq) - 1;
	return first_seq + last_offset_delta;
}

static bool in_sequence(int32_t last, int32_t next)
{
	return (int64_t)next == (int64_t)last + 1 || (next == 0 && last == INT32_MAX);
}

void rn_ps_init(struct rn_producer_state *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->next_expiry_ms = INT64_MAX;
}

void rn_ps_free(struct rn_producer_state *ps)
{
	rn_free(ps->tab);
	rn_free(ps->open);
	rn_ps_init(ps);
}

static uint32_t slot(const struct rn_producer_state *ps, int64_t pid)
{
	uint64_t h = (uint64_t)pid * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32) & (ps->cap - 1);
}

struct rn_ps_entry *rn_ps_find(struct rn_producer_state *ps, int64_t pid)
{
	if (!ps->n)
		return NULL;
	for (uint32_t i = slot(ps, pid);; i = (i + 1) & (ps->cap - 1)) {
		struct rn_ps_entry *e = &ps->tab[i];
		if (e->pid == pid)
			return e;
		if (e->pid < 0)
			return NULL;
	}
}

/* A free slot for pid (which is not in the table); grows at half load. */
static struct rn_ps_entry *insert_slot(struct rn_producer_state *ps, int64_t pid)
{
	if ((ps->n + 1) * 2 > ps->cap) {
		struct rn_ps_entry *old = ps->tab;
		uint32_t ocap = ps->cap;
		ps->cap = ocap ? ocap * 2 : 8;
		ps->tab = rn_malloc((size_t)ps->cap * sizeof(*ps->tab));
		for (uint32_t i = 0; i < ps->cap; i++)
			ps->tab[i].pid = -1;
		for (uint32_t i = 0; i < ocap; i++) {
			if (old[i].pid < 0)
				continue;
			uint32_t j = slot(ps, old[i].pid);
			while (ps->tab[j].pid >= 0)
				j = (j + 1) & (ps->cap - 1);
			ps->tab[j] = old[i];
		}
		rn_free(old);
	}
	uint32_t j = slot(ps, pid);
	while (ps->tab[j].pid >= 0)
		j = (j + 1) & (ps->cap - 1);
	ps->n++;
	return &ps->tab[j];
}

/* Backward-shift deletion keeps every probe sequence unbroken without tombstones. */
static void remove_at(struct rn_producer_state *ps, uint32_t i)
{
	uint32_t mask = ps->cap - 1;
	for (uint32_t j = (i + 1) & mask; ps->tab[j].pid >= 0; j = (j + 1) & mask) {
		uint32_t home = slot(ps, ps->tab[j].pid);
		/* Entry j may move to the hole at i if its home is not in (i, j] (cyclically). */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			ps->tab[i] = ps->tab[j];
			i = j;
		}
	}
	ps->tab[i].pid = -1;
	ps->n--;
}

static const struct rn_ps_batch *last_batch(const struct rn_ps_entry *e)
{
	return &e->b[(e->head + e->nbatches - 1) % RN_PS_CACHED_BATCHES];
}

int rn_ps_check(const struct rn_ps_entry *e, int16_t epoch, int32_t first_seq, int32_t last_seq,
		struct rn_ps_batch *dup)
{
	if (!e)
		return 0;
	if (epoch < e->epoch)
		return RN_EPRODUCER_EPOCH;
	if (epoch > e->epoch)
		return first_seq == 0 ? 0 : RN_EOUTOFORDER;
	for (int k = 0; k < e->nbatches; k++) {
		const struct rn_ps_batch *b = &e->b[(e->head + k) % RN_PS_CACHED_BATCHES];
		if (b->first_seq == first_seq && b->last_seq == last_seq) {
			*dup = *b;
			return RN_EDUPLICATE;
		}
	}
	/* Same epoch without cached batches (state from a control batch, later): a fresh start. */
	int32_t last = e->nbatches ? last_batch(e)->last_seq : -1;
	return in_sequence(last, first_seq) ? 0 : RN_EOUTOFORDER;
}

void rn_ps_record(struct rn_producer_state *ps, struct rn_ps_entry *e, int64_t pid, int16_t epoch,
		  const struct rn_ps_batch *b, int64_t now_ms)
{
	if (!e) {
		e = insert_slot(ps, pid);
		e->pid = pid;
		e->epoch = epoch;
		e->nbatches = 0;
		e->head = 0;
		e->txn_first = -1;
	} else if (epoch != e->epoch) {
		e->epoch = epoch;
		e->nbatches = 0;
		e->head = 0;
	}
	if (e->nbatches == RN_PS_CACHED_BATCHES) {
		e->b[e->head] = *b;
		e->head = (uint8_t)((e->head + 1) % RN_PS_CACHED_BATCHES);
	} else {
		e->b[(e->head + e->nbatches) % RN_PS_CACHED_BATCHES] = *b;
		e->nbatches++;
	}
	e->last_ms = now_ms;
}

static void open_push(struct rn_producer_state *ps, int64_t pid, int64_t first)
{
	if (ps->nopen == ps->opencap) {
		ps->opencap = ps->opencap ? ps->opencap * 2 : 8;
		ps->open = rn_realloc(ps->open, (size_t)ps->opencap * sizeof(*ps->open));
	}
	/* Appends come in offset order, so this is a push at the end except at load time. */
	uint32_t i = ps->nopen;
	while (i > 0 && ps->open[i - 1].first > first) {
		ps->open[i] = ps->open[i - 1];
		i--;
	}
	ps->open[i] = (struct rn_ps_open){pid, first};
	ps->nopen++;
}

static void open_remove(struct rn_producer_state *ps, int64_t pid)
{
	for (uint32_t i = 0; i < ps->nopen; i++) {
		if (ps->open[i].pid != pid)
			continue;
		memmove(ps->open + i, ps->open + i + 1, (ps->nopen - i - 1) * sizeof(*ps->open));
		ps->nopen--;
		return;
	}
}

void rn_ps_txn_begin(struct rn_producer_state *ps, struct rn_ps_entry *e, int64_t offset)
{
	if (e->txn_first >= 0)
		return;
	e->txn_first = offset;
	open_push(ps, e->pid, offset);
}

int64_t rn_ps_txn_end(struct rn_producer_state *ps, int64_t pid, int16_t epoch, int64_t now_ms)
{
	struct rn_ps_entry *e = rn_ps_find(ps, pid);
	if (!e) {
		e = insert_slot(ps, pid);
		*e = (struct rn_ps_entry){.pid = pid, .epoch = epoch, .txn_first = -1};
	} else if (epoch > e->epoch) {
		/* Sequences restart at 0 in a new epoch. */
		e->epoch = epoch;
		e->nbatches = 0;
		e->head = 0;
	}
	e->last_ms = now_ms;
	if (now_ms < ps->next_expiry_ms)
		ps->next_expiry_ms = now_ms; /* recomputed by the next expiry pass */
	int64_t first = e->txn_first;
	if (first >= 0) {
		open_remove(ps, pid);
		e->txn_first = -1;
	}
	return first;
}

int rn_ps_expire(struct rn_producer_state *ps, int64_t now_ms, int64_t expiration_ms)
{
	if (!ps->n || now_ms < ps->next_expiry_ms)
		return 0;
	int removed = 0;
	int64_t next = INT64_MAX;
	for (uint32_t i = 0; i < ps->cap;) {
		struct rn_ps_entry *e = &ps->tab[i];
		if (e->pid >= 0 && e->txn_first < 0 && now_ms - e->last_ms >= expiration_ms) {
			/* The backward shift may move another entry into i: look at i again. */
			remove_at(ps, i);
			removed++;
			continue;
		}
		if (e->pid >= 0 && e->txn_first < 0 && e->last_ms + expiration_ms < next)
			next = e->last_ms + expiration_ms;
		i++;
	}
	ps->next_expiry_ms = next;
	return removed;
}

static void put16(struct rn_buf *o, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	rn_buf_append(o, b, 2);
}

static void put32(struct rn_buf *o, uint32_t v)
{
	uint8_t b[4];
	rn_put_be32(b, v);
	rn_buf_append(o, b, 4);
}

static void put64(struct rn_buf *o, uint64_t v)
{
	uint8_t b[8];
	rn_put_be64(b, v);
	rn_buf_append(o, b, 8);
}

void rn_ps_encode(const struct rn_producer_state *ps, struct rn_buf *out)
{
	size_t start = out->len;
	put32(out, PS_MAGIC);
	put16(out, PS_VERSION);
	put16(out, 0);
	put32(out, 0); /* CRC, below */
	put32(out, ps->n);
	for (uint32_t i = 0; i < ps->cap; i++) {
		const struct rn_ps_entry *e = &ps->tab[i];
		if (e->pid < 0)
			continue;
		put64(out, (uint64_t)e->pid);
		put16(out, (uint16_t)e->epoch);
		uint8_t nb[2] = {e->nbatches, 0};
		rn_buf_append(out, nb, 2);
		put64(out, (uint64_t)e->last_ms);
		put64(out, (uint64_t)e->txn_first);
		for (int k = 0; k < e->nbatches; k++) {
			const struct rn_ps_batch *b = &e->b[(e->head + k) % RN_PS_CACHED_BATCHES];
			put32(out, (uint32_t)b->first_seq);
			put32(out, (uint32_t)b->last_seq);
			put64(out, (uint64_t)b->first_offset);
			put64(out, (uint64_t)b->last_offset);
		}
	}
	uint8_t *p = out->data + start;
	rn_put_be32(p + 8, rn_crc32c(0, p + 12, out->len - start - 12));
}

static int decode_entries(struct rn_producer_state *ps, const uint8_t *p, size_t len,
			  uint32_t count, int version, int64_t now_ms, int64_t expiration_ms)
{
	size_t off = PS_HEADER, fixed = version == 1 ? PS_ENTRY_V1 : PS_ENTRY_FIXED;
	for (uint32_t i = 0; i < count; i++) {
		if (len - off < fixed)
			return RN_ECORRUPT;
		int64_t pid = (int64_t)rn_be64(p + off);
		int16_t epoch = (int16_t)(p[off + 8] << 8 | p[off + 9]);
		uint8_t nb = p[off + 10];
		int64_t last_ms = (int64_t)rn_be64(p + off + 12);
		int64_t txn_first = version == 1 ? -1 : (int64_t)rn_be64(p + off + 20);
		off += fixed;
		if (pid < 0 || nb > RN_PS_CACHED_BATCHES || len - off < (size_t)nb * PS_BATCH ||
		    rn_ps_find(ps, pid))
			return RN_ECORRUPT;
		bool expired = txn_first < 0 && now_ms - last_ms >= expiration_ms;
		struct rn_ps_entry *e = NULL;
		if (!expired) {
			e = insert_slot(ps, pid);
			*e = (struct rn_ps_entry){
			    .pid = pid, .epoch = epoch, .last_ms = last_ms, .txn_first = txn_first};
			if (txn_first >= 0)
				open_push(ps, pid, txn_first);
			else if (last_ms + expiration_ms < ps->next_expiry_ms)
				ps->next_expiry_ms = last_ms + expiration_ms;
		}
		for (int k = 0; k < nb; k++, off += PS_BATCH) {
			if (!e)
				continue;
			e->b[k] = (struct rn_ps_batch){
			    .first_seq = (int32_t)rn_be32(p + off),
			    .last_seq = (int32_t)rn_be32(p + off + 4),
			    .first_offset = (int64_t)rn_be64(p + off + 8),
			    .last_offset = (int64_t)rn_be64(p + off + 16),
			};
			e->nbatches++;
		}
	}
	return off == len ? 0 : RN_ECORRUPT;
}

int rn_ps_decode(struct rn_producer_state *ps, const uint8_t *p, size_t len, int64_t now_ms,
		 int64_t expiration_ms)
{
	rn_ps_free(ps);
	int version = len >= PS_HEADER ? (p[4] << 8 | p[5]) : 0;
	if (len < PS_HEADER || rn_be32(p) != PS_MAGIC || version < 1 || version > PS_VERSION ||
	    rn_be32(p + 8) != rn_crc32c(0, p + 12, len - 12))
		return RN_ECORRUPT;
	int rc = decode_entries(ps, p, len, rn_be32(p + 12), version, now_ms, expiration_ms);
	if (rc < 0)
		rn_ps_free(ps);
	return rc;
}
