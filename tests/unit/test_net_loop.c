/* rn_loop: timers in order, cancel, posting from another thread in order, fd watches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <unistd.h>

#include "core/clock.h"
#include "net/loop.h"

struct trace {
	int order[64];
	int n;
	struct rn_loop *loop;
};

static struct trace g_trace;

static void record(struct rn_loop *l, void *arg)
{
	assert_ptr_equal(rn_loop_current(), l);
	g_trace.order[g_trace.n++] = (int)(intptr_t)arg;
}

static void stop_cb(struct rn_loop *l, void *arg)
{
	(void)arg;
	rn_loop_stop(l);
}

static void test_timers_order_and_cancel(void **state)
{
	(void)state;
	struct rn_loop *l;
	assert_int_equal(rn_loop_new(&l), 0);
	g_trace.n = 0;
	rn_loop_timer_add(l, 30, record, (void *)3);
	rn_loop_timer_add(l, 10, record, (void *)1);
	struct rn_timer *c = rn_loop_timer_add(l, 15, record, (void *)99);
	rn_loop_timer_add(l, 20, record, (void *)2);
	rn_loop_timer_add(l, 30, record, (void *)4); /* same deadline: after 3 */
	rn_loop_timer_add(l, 0, record, (void *)0);
	rn_loop_timer_cancel(l, c);
	rn_loop_timer_add(l, 60, stop_cb, NULL);
	int64_t t0 = rn_mono_ms();
	assert_null(rn_loop_current());
	assert_int_equal(rn_loop_run(l), 0);
	assert_null(rn_loop_current());
	assert_true(rn_mono_ms() - t0 >= 55);
	assert_int_equal(g_trace.n, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(g_trace.order[i], i);
	/* Pending timers are freed with the loop (checked by ASan). */
	rn_loop_timer_add(l, 100000, record, NULL);
	rn_loop_free(l);
}

struct poster {
	struct rn_loop *loop;
	int next;
	int got;
	int bad;
};

static void post_task(void *arg)
{
	struct poster *p = arg;
	if (rn_loop_current() != p->loop)
		p->bad++;
	p->got++;
	if (p->got == 10000)
		rn_loop_stop(p->loop);
}

struct seq_item {
	struct poster *p;
	int seq;
};

static struct seq_item g_items[10000];

static void seq_task(void *arg)
{
	struct seq_item *it = arg;
	if (it->seq != it->p->next)
		it->p->bad++;
	it->p->next++;
	post_task(it->p);
}

static void *post_thread(void *arg)
{
	struct poster *p = arg;
	for (int i = 0; i < 10000; i++) {
		g_items[i] = (struct seq_item){p, i};
		rn_loop_post(p->loop, seq_task, &g_items[i]);
	}
	return NULL;
}

static void test_post_from_thread_in_order(void **state)
{
	(void)state;
	struct poster p = {0};
	assert_int_equal(rn_loop_new(&p.loop), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, post_thread, &p), 0);
	assert_int_equal(rn_loop_run(p.loop), 0);
	pthread_join(th, NULL);
	assert_int_equal(p.got, 10000);
	assert_int_equal(p.bad, 0);
	rn_loop_free(p.loop);
}

static void *stop_thread(void *arg)
{
	usleep(20000);
	rn_loop_stop(arg);
	return NULL;
}

static void test_stop_from_thread(void **state)
{
	(void)state;
	struct rn_loop *l;
	assert_int_equal(rn_loop_new(&l), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, stop_thread, l), 0);
	assert_int_equal(rn_loop_run(l), 0);
	pthread_join(th, NULL);
	rn_loop_free(l);
}

static int g_reads;

static void on_pipe(struct rn_loop *l, int fd, int events, void *arg)
{
	(void)arg;
	assert_true(events & RN_EV_READ);
	char c;
	assert_int_equal(read(fd, &c, 1), 1);
	if (++g_reads == 3) {
		assert_int_equal(rn_loop_unwatch(l, fd), 0);
		rn_loop_stop(l);
	}
}

static void test_watch_pipe(void **state)
{
	(void)state;
	struct rn_loop *l;
	assert_int_equal(rn_loop_new(&l), 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "abcd", 4), 4);
	assert_int_equal(rn_loop_watch(l, p[0], RN_EV_READ, on_pipe, NULL), 0);
	assert_int_equal(rn_loop_run(l), 0);
	assert_int_equal(g_reads, 3); /* level-triggered: one byte per event, then unwatched */
	close(p[0]);
	close(p[1]);
	rn_loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timers_order_and_cancel),
	    cmocka_unit_test(test_post_from_thread_in_order),
	    cmocka_unit_test(test_stop_from_thread),
	    cmocka_unit_test(test_watch_pipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
