/*
 * The cleaner's offset map: fixed memory however many keys there are (cleaner_int.h). Keys are
 * hashed with MurmurHash3 x64-128 (public domain algorithm by Austin Appleby): fast, and 128
 * bits so that collisions are as unlikely as with Kafka's MD5.
 */
#include <string.h>

#include "core/alloc.h"
#include "storage/cleaner_int.h"

#define SLOT 24

static inline uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t fmix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v; /* little-endian host assumed by the algorithm's reference output */
}

static void murmur3_128(const uint8_t *key, size_t len, uint64_t out[2])
{
	const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
	uint64_t h1 = 0x9747b28c, h2 = 0x9747b28c;
	size_t nblocks = len / 16;
	for (size_t i = 0; i < nblocks; i++) {
		uint64_t k1 = load64(key + i * 16), k2 = load64(key + i * 16 + 8);
		k1 *= c1;
		k1 = rotl(k1, 31);
		k1 *= c2;
		h1 ^= k1;
		h1 = rotl(h1, 27);
		h1 += h2;
		h1 = h1 * 5 + 0x52dce729;
		k2 *= c2;
		k2 = rotl(k2, 33);
		k2 *= c1;
		h2 ^= k2;
		h2 = rotl(h2, 31);
		h2 += h1;
		h2 = h2 * 5 + 0x38495ab5;
	}
	const uint8_t *tail = key + nblocks * 16;
	uint64_t k1 = 0, k2 = 0;
	size_t rem = len & 15;
	for (size_t i = rem; i > 8; i--)
		k2 ^= (uint64_t)tail[i - 1] << ((i - 9) * 8);
	if (rem > 8) {
		k2 *= c2;
		k2 = rotl(k2, 33);
		k2 *= c1;
		h2 ^= k2;
	}
	for (size_t i = rem < 8 ? rem : 8; i > 0; i--)
		k1 ^= (uint64_t)tail[i - 1] << ((i - 1) * 8);
	if (rem > 0) {
		k1 *= c1;
		k1 = rotl(k1, 31);
		k1 *= c2;
		h1 ^= k1;
	}
	h1 ^= len;
	h2 ^= len;
	h1 += h2;
	h2 += h1;
	h1 = fmix(h1);
	h2 = fmix(h2);
	h1 += h2;
	h2 += h1;
	out[0] = h1;
	out[1] = h2;
}

void rn__omap_init(struct rn__omap *m, size_t bytes, double load_factor)
{
	m->cap = bytes / SLOT;
	if (m->cap < 8)
		m->cap = 8;
	if (load_factor <= 0 || load_factor > 1)
		load_factor = 0.9;
	m->load_factor = load_factor;
	/* calloc: untouched pages cost nothing until a clean uses them. */
	m->slots = rn_calloc(m->cap, SLOT);
	m->touched = 0;
	rn__omap_reset(m, UINT64_MAX);
}

void rn__omap_free(struct rn__omap *m)
{
	rn_free(m->slots);
	m->slots = NULL;
}

void rn__omap_reset(struct rn__omap *m, uint64_t max_keys)
{
	if (m->touched)
		memset(m->slots, 0, m->touched * SLOT);
	double want = (double)max_keys / m->load_factor + 1;
	m->nslots = want < (double)m->cap ? (size_t)want : m->cap;
	if (m->nslots < 8)
		m->nslots = m->cap < 8 ? m->cap : 8;
	m->touched = m->nslots;
	m->max_used = (size_t)((double)m->nslots * m->load_factor);
	if (m->max_used < 1)
		m->max_used = 1;
	m->used = 0;
	m->last_offset = -1;
}

void rn__omap_clear(struct rn__omap *m)
{
	rn__omap_reset(m, UINT64_MAX);
}

/* Slot of hash h: the one holding it, or the empty one where it would go. */
static uint8_t *probe(const struct rn__omap *m, const uint64_t h[2])
{
	size_t i = (size_t)(h[0] % m->nslots);
	for (;;) {
		uint8_t *s = m->slots + i * SLOT;
		uint64_t off;
		memcpy(&off, s + 16, 8);
		if (off == 0 || !memcmp(s, h, 16))
			return s;
		if (++i == m->nslots)
			i = 0;
	}
}

int rn__omap_put(struct rn__omap *m, const uint8_t *key, size_t len, int64_t offset)
{
	uint64_t h[2];
	murmur3_128(key, len, h);
	uint8_t *s = probe(m, h);
	uint64_t cur;
	memcpy(&cur, s + 16, 8);
	if (cur == 0) {
		/* The probe always finds an empty slot: used never exceeds max_used < nslots. */
		if (m->used >= m->max_used || m->used + 1 >= m->nslots)
			return 1;
		memcpy(s, h, 16);
		m->used++;
	}
	uint64_t v = (uint64_t)offset + 1;
	memcpy(s + 16, &v, 8);
	if (offset > m->last_offset)
		m->last_offset = offset;
	return 0;
}

int64_t rn__omap_get(const struct rn__omap *m, const uint8_t *key, size_t len)
{
	uint64_t h[2];
	murmur3_128(key, len, h);
	const uint8_t *s = probe(m, h);
	uint64_t v;
	memcpy(&v, s + 16, 8);
	return v ? (int64_t)(v - 1) : -1;
}
