/* A fetch parked on a partition, woken by appends (see h_fetch.c). */
#ifndef RN_BROKER_WAITER_H
#define RN_BROKER_WAITER_H

struct rn_loop;

struct rn_topic_waiter {
	struct rn_topic_waiter *prev, *next;
	struct rn_loop *loop;
	/* Called under the partition's waiter lock: it must only post to its loop. */
	void (*wake)(struct rn_topic_waiter *w);
	void *arg;
};

struct rn_topic;
/* Register/unregister w on partition idx of t. */
void rn_topic_wait(struct rn_topic *t, int32_t idx, struct rn_topic_waiter *w);
void rn_topic_unwait(struct rn_topic *t, int32_t idx, struct rn_topic_waiter *w);

#endif
