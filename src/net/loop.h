/*
 * Event loop: one per core, each run by its own thread, epoll behind this small interface
 * (Redis ae.h / ae_epoll.c). Everything about a connection happens on the loop that owns it;
 * other threads hand work to a loop with rn_loop_post (an eventfd wakes it).
 */
#ifndef RN_NET_LOOP_H
#define RN_NET_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct rn_loop;
struct rn_timer;

enum { RN_EV_READ = 1, RN_EV_WRITE = 2 };

typedef void (*rn_io_cb)(struct rn_loop *l, int fd, int events, void *arg);
typedef void (*rn_task_cb)(void *arg);
typedef void (*rn_timer_cb)(struct rn_loop *l, void *arg);

/* Creates a loop; the caller owns it and frees it with rn_loop_free after rn_loop_run returned.
 * rn_loop_free frees pending timers and drops tasks still queued without running them. */
int rn_loop_new(struct rn_loop **out);
void rn_loop_free(struct rn_loop *l);
/* Runs until rn_loop_stop; sets the thread's current loop. Returns 0 or -errno. */
int rn_loop_run(struct rn_loop *l);
/* Thread-safe. The loop finishes its current iteration and rn_loop_run returns. */
void rn_loop_stop(struct rn_loop *l);
/* The loop run by the calling thread, or NULL. */
struct rn_loop *rn_loop_current(void);

/* events is a mask of RN_EV_*; setting a new mask for a registered fd replaces it. */
int rn_loop_watch(struct rn_loop *l, int fd, int events, rn_io_cb cb, void *arg);
int rn_loop_unwatch(struct rn_loop *l, int fd);

/* Thread-safe: runs cb(arg) on l's thread soon, in submission order. Never fails (OOM aborts). */
void rn_loop_post(struct rn_loop *l, rn_task_cb cb, void *arg);

/* Loop-thread only. One-shot timer; the returned handle is valid until the callback has run or
 * rn_loop_timer_cancel was called, whichever comes first. */
struct rn_timer *rn_loop_timer_add(struct rn_loop *l, int64_t delay_ms, rn_timer_cb cb, void *arg);
void rn_loop_timer_cancel(struct rn_loop *l, struct rn_timer *t);

#endif
