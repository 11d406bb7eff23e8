/*
 * The event loop: an fd -> callback table over the poller, a locked FIFO of posted tasks woken
 * by an eventfd, and one-shot timers (loop_timer.c). One iteration:
 *
 *   wait(timeout = earliest timer) -> I/O callbacks -> due timers -> posted tasks
 */
#include "net/loop.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "net/loop_int.h"

static _Thread_local struct rn_loop *tls_current;

struct rn_loop *rn_loop_current(void)
{
	return tls_current;
}

static void on_wake(struct rn_loop *l, int fd, int events, void *arg);

/* Creates a loop owned by the caller (rn_loop_free). Returns 0 or -errno. */
int rn_loop_new(struct rn_loop **out)
{
	struct rn_loop *l = rn_calloc(1, sizeof(*l));
	int err = rn__poller_new(&l->poller);
	if (err)
		goto out_free;
	l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->evfd < 0) {
		err = -errno;
		goto out_poller;
	}
	pthread_mutex_init(&l->lock, NULL);
	err = rn_loop_watch(l, l->evfd, RN_EV_READ, on_wake, NULL);
	if (err)
		goto out_evfd;
	*out = l;
	return 0;

out_evfd:
	pthread_mutex_destroy(&l->lock);
	close(l->evfd);
out_poller:
	rn__poller_free(l->poller);
out_free:
	rn_free(l);
	return err;
}

/* Frees the loop after rn_loop_run returned. Tasks still queued are dropped without running:
 * the threads that would complete them are gone, so running them could touch freed state. */
void rn_loop_free(struct rn_loop *l)
{
	if (!l)
		return;
	int dropped = 0;
	for (struct rn__task *t = l->task_head, *next; t; t = next) {
		next = t->next;
		rn_free(t);
		dropped++;
	}
	if (dropped)
		rn_debug("loop: dropped %d tasks posted after the loop stopped", dropped);
	rn__timers_free(l);
	rn__poller_free(l->poller);
	close(l->evfd);
	pthread_mutex_destroy(&l->lock);
	rn_free(l->watches);
	rn_free(l);
}

int rn_loop_watch(struct rn_loop *l, int fd, int events, rn_io_cb cb, void *arg)
{
	if (fd < 0)
		return -EBADF;
	if (fd >= l->nwatches) {
		int n = l->nwatches ? l->nwatches : 64;
		while (n <= fd)
			n *= 2;
		l->watches = rn_realloc(l->watches, (size_t)n * sizeof(*l->watches));
		for (int i = l->nwatches; i < n; i++)
			l->watches[i] = (struct rn__watch){0};
		l->nwatches = n;
	}
	struct rn__watch *w = &l->watches[fd];
	int err = rn__poller_set(l->poller, fd, w->events, events);
	if (err)
		return err;
	w->cb = cb;
	w->arg = arg;
	w->events = events;
	return 0;
}

int rn_loop_unwatch(struct rn_loop *l, int fd)
{
	if (fd < 0 || fd >= l->nwatches || l->watches[fd].events == 0)
		return 0;
	int err = rn__poller_set(l->poller, fd, l->watches[fd].events, 0);
	/* Forget the fd even if epoll had already dropped it (closed elsewhere): events still
	 * in the current batch for it are then skipped. */
	l->watches[fd] = (struct rn__watch){0};
	return err;
}

/* Queues a task; the task node is owned by the loop and freed after it ran. */
void rn_loop_post(struct rn_loop *l, rn_task_cb cb, void *arg)
{
	struct rn__task *t = rn_malloc(sizeof(*t));
	t->cb = cb;
	t->arg = arg;
	t->next = NULL;
	pthread_mutex_lock(&l->lock);
	if (l->task_tail)
		l->task_tail->next = t;
	else
		l->task_head = t;
	l->task_tail = t;
	bool wake = !l->wake_pending;
	l->wake_pending = true;
	pthread_mutex_unlock(&l->lock);
	if (wake) {
		uint64_t one = 1;
		ssize_t w = write(l->evfd, &one, sizeof(one));
		(void)w; /* EAGAIN means the counter is already non-zero: the loop wakes anyway */
	}
}

static void run_tasks(struct rn_loop *l)
{
	pthread_mutex_lock(&l->lock);
	struct rn__task *t = l->task_head;
	l->task_head = l->task_tail = NULL;
	l->wake_pending = false;
	pthread_mutex_unlock(&l->lock);
	/* Tasks posted by these callbacks land in the fresh list and run next iteration. */
	while (t) {
		struct rn__task *next = t->next;
		t->cb(t->arg);
		rn_free(t);
		t = next;
	}
}

static void on_wake(struct rn_loop *l, int fd, int events, void *arg)
{
	(void)events;
	(void)arg;
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
	run_tasks(l);
}

void rn_loop_stop(struct rn_loop *l)
{
	atomic_store(&l->stop, true);
	uint64_t one = 1;
	ssize_t w = write(l->evfd, &one, sizeof(one));
	(void)w;
}

static int run_once(struct rn_loop *l)
{
	struct rn__fired fired[128];
	int timeout = rn__timers_timeout(l, rn_mono_ms());
	int n = rn__poller_wait(l->poller, fired, 128, timeout);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		int fd = fired[i].fd;
		/* A callback earlier in this batch may have unwatched fd or narrowed its mask. */
		if (fd >= l->nwatches)
			continue;
		struct rn__watch w = l->watches[fd];
		int ev = fired[i].events & w.events;
		if (ev && w.cb)
			w.cb(l, fd, ev, w.arg);
	}
	rn__timers_run(l, rn_mono_ms());
	return 0;
}

int rn_loop_run(struct rn_loop *l)
{
	struct rn_loop *prev = tls_current;
	tls_current = l;
	int err = 0;
	while (!atomic_load(&l->stop)) {
		err = run_once(l);
		if (err) {
			rn_error("loop: poll failed: %d", err);
			break;
		}
	}
	atomic_store(&l->stop, false);
	tls_current = prev;
	return err;
}
