/* Internals of rn_loop shared by loop.c (dispatch, posting) and loop_timer.c (the timer heap). */
#ifndef RN_NET_LOOP_INT_H
#define RN_NET_LOOP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "net/loop.h"
#include "net/poller.h"

struct rn__watch {
	rn_io_cb cb;
	void *arg;
	int events; /* 0 = not watched */
};

struct rn__task {
	rn_task_cb cb;
	void *arg;
	struct rn__task *next;
};

struct rn_timer {
	int64_t when_ms; /* CLOCK_MONOTONIC deadline */
	uint64_t seq;    /* ties on when_ms fire in rn_loop_timer_add order */
	int idx;         /* position in the heap; -1 while its callback runs */
	rn_timer_cb cb;
	void *arg;
};

struct rn_loop {
	struct rn__poller *poller;
	struct rn__watch *watches; /* indexed by fd, grown on demand */
	int nwatches;

	/* rn_loop_post: a locked FIFO, drained in one swap per wake-up. */
	int evfd;
	pthread_mutex_t lock;
	struct rn__task *task_head, *task_tail;
	bool wake_pending; /* an eventfd write is outstanding; under lock */
	_Atomic bool stop;

	/* Timers: a binary min-heap on (when_ms, seq). */
	struct rn_timer **heap;
	int nheap, capheap;
	uint64_t timer_seq;
};

/* Milliseconds until the earliest timer is due (0 if overdue), or -1 if there is none. */
int rn__timers_timeout(struct rn_loop *l, int64_t now_ms);
/* Runs every timer due at now_ms, earliest first. */
void rn__timers_run(struct rn_loop *l, int64_t now_ms);
/* Frees pending timers without running them. */
void rn__timers_free(struct rn_loop *l);

#endif
