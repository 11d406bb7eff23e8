/*
 * One-shot timers as a binary min-heap keyed on (deadline, sequence): add and cancel are
 * O(log n) because each timer remembers its heap index, and equal deadlines fire in the order
 * they were added. Only the loop's own thread touches the heap.
 */
#include <stdbool.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "net/loop_int.h"

static bool before(const struct rn_timer *a, const struct rn_timer *b)
{
	return a->when_ms < b->when_ms || (a->when_ms == b->when_ms && a->seq < b->seq);
}

static void place(struct rn_loop *l, int i, struct rn_timer *t)
{
	l->heap[i] = t;
	t->idx = i;
}

static void sift_up(struct rn_loop *l, int i)
{
	struct rn_timer *t = l->heap[i];
	while (i > 0) {
		int parent = (i - 1) / 2;
		if (!before(t, l->heap[parent]))
			break;
		place(l, i, l->heap[parent]);
		i = parent;
	}
	place(l, i, t);
}

static void sift_down(struct rn_loop *l, int i)
{
	struct rn_timer *t = l->heap[i];
	for (;;) {
		int c = 2 * i + 1;
		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && before(l->heap[c + 1], l->heap[c]))
			c++;
		if (!before(l->heap[c], t))
			break;
		place(l, i, l->heap[c]);
		i = c;
	}
	place(l, i, t);
}

/* Removes the timer at heap index i; the caller owns it afterwards. */
static void heap_remove(struct rn_loop *l, int i)
{
	struct rn_timer *last = l->heap[--l->nheap];
	l->heap[i]->idx = -1;
	if (i == l->nheap)
		return;
	place(l, i, last);
	sift_up(l, i);
	sift_down(l, last->idx);
}

/* Returns a timer owned by the loop: it is freed after its callback ran or by cancel. */
struct rn_timer *rn_loop_timer_add(struct rn_loop *l, int64_t delay_ms, rn_timer_cb cb, void *arg)
{
	struct rn_timer *t = rn_malloc(sizeof(*t));
	t->when_ms = rn_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
	t->seq = l->timer_seq++;
	t->cb = cb;
	t->arg = arg;
	if (l->nheap == l->capheap) {
		l->capheap = l->capheap ? 2 * l->capheap : 16;
		l->heap = rn_realloc(l->heap, (size_t)l->capheap * sizeof(*l->heap));
	}
	place(l, l->nheap++, t);
	sift_up(l, t->idx);
	return t;
}

void rn_loop_timer_cancel(struct rn_loop *l, struct rn_timer *t)
{
	/* idx < 0: t's own callback is running and cancels it; it is freed when that returns. */
	if (!t || t->idx < 0)
		return;
	heap_remove(l, t->idx);
	rn_free(t);
}

int rn__timers_timeout(struct rn_loop *l, int64_t now_ms)
{
	if (l->nheap == 0)
		return -1;
	int64_t d = l->heap[0]->when_ms - now_ms;
	if (d <= 0)
		return 0;
	return d > 3600 * 1000 ? 3600 * 1000 : (int)d;
}

void rn__timers_run(struct rn_loop *l, int64_t now_ms)
{
	/* Timers that callbacks add during this pass wait for the next one, even with delay 0, so
	 * a callback re-arming itself cannot starve I/O. */
	uint64_t limit = l->timer_seq;
	while (l->nheap > 0 && l->heap[0]->when_ms <= now_ms) {
		struct rn_timer *t = l->heap[0];
		if (t->seq >= limit)
			break;
		heap_remove(l, 0);
		t->cb(l, t->arg);
		rn_free(t);
	}
}

void rn__timers_free(struct rn_loop *l)
{
	for (int i = 0; i < l->nheap; i++)
		rn_free(l->heap[i]);
	rn_free(l->heap);
	l->heap = NULL;
	l->nheap = l->capheap = 0;
}
