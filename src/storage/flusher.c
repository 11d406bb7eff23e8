/*
 * Group commit. Producers (loop threads) submit (partition, callback); the flusher thread
 * takes the whole queue at once, flushes each partition in it (a partition appearing several
 * times is synced once: later flushes find nothing dirty), then runs the callbacks. While it
 * syncs, new submissions queue up and form the next group, so the commit size follows the load.
 */
#include <pthread.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "storage/flusher.h"
#include "storage/segment.h"

struct flush_req {
	struct flush_req *next;
	struct rn_partition *p;
	rn_flush_cb cb;
	void *arg;
	int rc;
};

struct rn_flusher {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct flush_req *head, **tail;
	struct flush_req *free_list; /* recycled requests: no malloc per ack in steady state */
	bool stop;
	struct rn_hist hist;
};

static void run_group(struct rn_flusher *f, struct flush_req *r)
{
	/* Flush everything first, callbacks after: an ack never precedes its fdatasync.
	 * Consecutive requests for one partition share one flush; a later repeat finds nothing
	 * dirty and costs no fdatasync. */
	struct rn_partition *last = NULL;
	int last_rc = 0;
	for (struct flush_req *q = r; q; q = q->next) {
		if (q->p != last) {
			last_rc = rn__partition_flush(q->p, &f->hist);
			last = q->p;
		}
		q->rc = last_rc;
	}
	struct flush_req *tail = NULL;
	for (struct flush_req *q = r; q; q = q->next) {
		q->cb(q->arg, q->rc);
		tail = q;
	}
	pthread_mutex_lock(&f->lock);
	tail->next = f->free_list;
	f->free_list = r;
	pthread_mutex_unlock(&f->lock);
}

static void *flusher_main(void *arg)
{
	struct rn_flusher *f = arg;
	pthread_mutex_lock(&f->lock);
	for (;;) {
		while (!f->head && !f->stop)
			pthread_cond_wait(&f->cond, &f->lock);
		if (!f->head)
			break;
		struct flush_req *r = f->head;
		f->head = NULL;
		f->tail = &f->head;
		pthread_mutex_unlock(&f->lock);
		run_group(f, r);
		pthread_mutex_lock(&f->lock);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

int rn_flusher_start(struct rn_flusher **out)
{
	struct rn_flusher *f = rn_calloc(1, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->tail = &f->head;
	int rc = pthread_create(&f->thread, NULL, flusher_main, f);
	if (rc) {
		pthread_cond_destroy(&f->cond);
		pthread_mutex_destroy(&f->lock);
		rn_free(f);
		return -rc;
	}
	*out = f;
	return 0;
}

void rn_flusher_stop(struct rn_flusher *f)
{
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	while (f->free_list) {
		struct flush_req *n = f->free_list->next;
		rn_free(f->free_list);
		f->free_list = n;
	}
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	rn_free(f);
}

void rn_flusher_submit(struct rn_flusher *f, struct rn_partition *p, rn_flush_cb cb, void *arg)
{
	pthread_mutex_lock(&f->lock);
	struct flush_req *r = f->free_list;
	if (r)
		f->free_list = r->next;
	pthread_mutex_unlock(&f->lock);
	if (!r)
		r = rn_malloc(sizeof(*r));
	r->next = NULL;
	r->p = p;
	r->cb = cb;
	r->arg = arg;
	pthread_mutex_lock(&f->lock);
	*f->tail = r;
	f->tail = &r->next;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

const struct rn_hist *rn_flusher_fsync_hist(const struct rn_flusher *f)
{
	return &f->hist;
}
