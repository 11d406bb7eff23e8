/* The transaction marker sender (see txn_markers.h). */
#include "broker/txn_markers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/iochain.h"
#include "core/log.h"
#include "meta/cluster.h"
#include "proto/gen/rn_msg.h"
#include "proto/kerr.h"
#include "replica/peer.h"

#define API_KEY     27
#define API_VERSION 1
#define MAX_BROKERS 64
#define BACKOFF_MS  100

struct job {
	struct rn_txn_marker m; /* txn_id and topic owned */
	int32_t leader;
	int16_t err; /* this round's answer, -1 none yet */
	int64_t due_ms;
	int attempts;
	struct job *next;
};

struct conn {
	int32_t id;
	char host[256];
	int32_t port;
	struct rn_peer *peer;
};

static struct {
	struct rn_broker *b;
	struct rn_txn_markers_hooks h;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stop;
	struct job *queue;
	struct conn conns[MAX_BROKERS];
	int nconns;
} M = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void job_free(struct job *j)
{
	rn_free((char *)j->m.txn_id);
	rn_free((char *)j->m.topic);
	rn_free(j);
}

void rn_txn_markers_send(const struct rn_txn_marker *m)
{
	struct job *j = rn_calloc(1, sizeof(*j));
	j->m = *m;
	j->m.txn_id = rn_strdup(m->txn_id);
	j->m.topic = rn_strdup(m->topic);
	j->due_ms = rn_mono_ms();
	pthread_mutex_lock(&M.lock);
	j->next = M.queue;
	M.queue = j;
	pthread_mutex_unlock(&M.lock);
	pthread_cond_signal(&M.cond);
}

/* The connection to broker id, (re)made when its registration changed or it failed. */
static struct rn_peer *peer_for(int32_t id)
{
	struct rn_broker_reg regs[MAX_BROKERS];
	int n = rn_meta_brokers(M.b->meta, regs, MAX_BROKERS);
	const struct rn_broker_reg *reg = NULL;
	for (int i = 0; i < n && i < MAX_BROKERS; i++)
		if (regs[i].id == id)
			reg = &regs[i];
	if (!reg)
		return NULL;
	struct conn *c = NULL;
	for (int i = 0; i < M.nconns; i++)
		if (M.conns[i].id == id)
			c = &M.conns[i];
	if (!c) {
		if (M.nconns == MAX_BROKERS)
			return NULL;
		c = &M.conns[M.nconns++];
		*c = (struct conn){.id = id};
	}
	if (c->peer && (c->port != reg->port || strcmp(c->host, reg->host) != 0)) {
		rn_peer_close(c->peer);
		c->peer = NULL;
	}
	if (!c->peer) {
		snprintf(c->host, sizeof(c->host), "%s", reg->host);
		c->port = reg->port;
		char cid[64];
		snprintf(cid, sizeof(cid), "runnel-txn-markers-%d", (int)M.b->node_id);
		int timeout = (int)rn_config_get_i64(M.b->cfg, "replica.socket.timeout.ms");
		if (rn_peer_connect(c->host, c->port, timeout > 0 ? timeout : 30000, cid,
				    &c->peer) < 0)
			c->peer = NULL;
	}
	return c->peer;
}

static void peer_failed(int32_t id)
{
	for (int i = 0; i < M.nconns; i++) {
		if (M.conns[i].id == id && M.conns[i].peer) {
			rn_peer_close(M.conns[i].peer);
			M.conns[i].peer = NULL;
		}
	}
}

/* One WriteTxnMarkers to broker leader with one marker per job of that leader (jobs[i]->err
 * gets each partition's answer; a lost connection leaves them -1). */
static void send_to(int32_t leader, struct job **jobs, int n)
{
	struct rn_peer *peer = peer_for(leader);
	if (!peer)
		return;
	struct rn_arena ar = {0};
	struct rn_write_txn_markers_request rq = {0};
	rq.markers_count = n;
	rq.markers = rn_arena_alloc(&ar, (size_t)n * sizeof(*rq.markers));
	for (int i = 0; i < n; i++) {
		const struct rn_txn_marker *m = &jobs[i]->m;
		struct rn_write_txn_markers_request_writable_txn_marker *x = &rq.markers[i];
		x->producer_id = m->pid;
		x->producer_epoch = m->epoch;
		x->transaction_result = m->commit;
		x->coordinator_epoch = m->coord_epoch;
		x->topics_count = 1;
		x->topics = rn_arena_alloc(&ar, sizeof(*x->topics));
		x->topics[0].name = rn_str_c(m->topic);
		x->topics[0].partition_indexes_count = 1;
		x->topics[0].partition_indexes = rn_arena_alloc(&ar, sizeof(int32_t));
		x->topics[0].partition_indexes[0] = m->partition;
	}
	struct rn_iochain body = {0};
	rn_write_txn_markers_request_encode(&body, API_VERSION, &rq);
	/* The leader answers once the markers are replicated (up to its request.timeout.ms);
	 * waiting less only resends them sooner (a marker written twice closes nothing more) and
	 * keeps a stopping broker from hanging on a slow peer. */
	int timeout = (int)rn_config_get_i64(M.b->cfg, "request.timeout.ms") + 2000;
	if (timeout > 10000)
		timeout = 10000;
	struct rn_rd rd;
	int rc = rn_peer_call(peer, API_KEY, API_VERSION, &body, timeout, &rd);
	rn_iochain_free(&body);
	struct rn_write_txn_markers_response resp = {0};
	if (rc == 0) {
		rd.arena = &ar;
		if (rn_write_txn_markers_response_decode(&rd, API_VERSION, &resp) < 0 || rd.err)
			rc = RN_EMALFORMED;
	}
	if (rc < 0) {
		rn_log_every(5000, RN_LOG_WARN, "transaction markers to broker %d: %s", leader,
			     rn_strerror(rc));
		peer_failed(leader);
		rn_arena_free(&ar);
		return;
	}
	for (int32_t i = 0; i < resp.markers_count; i++) {
		const struct rn_write_txn_markers_response_writable_txn_marker_result *r =
		    &resp.markers[i];
		for (int32_t t = 0; t < r->topics_count; t++)
			for (int32_t p = 0; p < r->topics[t].partitions_count; p++)
				for (int k = 0; k < n; k++)
					if (jobs[k]->m.pid == r->producer_id && jobs[k]->err < 0 &&
					    jobs[k]->m.partition ==
						r->topics[t].partitions[p].partition_index &&
					    rn_str_eq(r->topics[t].name, jobs[k]->m.topic)) {
						jobs[k]->err =
						    r->topics[t].partitions[p].error_code;
						break;
					}
	}
	rn_arena_free(&ar);
}

bool rn_txn_marker_final(int16_t err)
{
	switch (err) {
	case -1:
	case RN_KERR_NOT_LEADER_OR_FOLLOWER:
	case RN_KERR_NOT_ENOUGH_REPLICAS:
	case RN_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
	case RN_KERR_REQUEST_TIMED_OUT:
	case RN_KERR_UNKNOWN_TOPIC_OR_PARTITION:
	case RN_KERR_KAFKA_STORAGE_ERROR:
	case RN_KERR_COORDINATOR_LOAD_IN_PROGRESS: return false;
	default: return true;
	}
}

/* One round over the due jobs (without the lock). Returns those to retry. */
static struct job *process(struct job *batch)
{
	struct job *retry = NULL, *live = NULL;
	int nlive = 0;
	for (struct job *j = batch, *next; j; j = next) {
		next = j->next;
		struct rn_pstate st;
		j->err = -1;
		if (!M.h.valid(M.h.arg, j->m.coord_idx, j->m.gen)) {
			job_free(j);
			continue;
		}
		int rc = rn_meta_partition_get(M.b->meta, j->m.topic, j->m.partition, &st);
		if (rc == RN_ENOTFOUND) { /* deleted: nothing left to mark (Kafka drops it too) */
			M.h.done(M.h.arg, &j->m);
			job_free(j);
			continue;
		}
		j->leader = rc == 0 ? st.leader : -1;
		j->next = live;
		live = j;
		nlive++;
	}
	struct job **v = rn_calloc((size_t)nlive + 1, sizeof(*v));
	int n = 0;
	for (struct job *j = live; j; j = j->next)
		v[n++] = j;
	/* Per leader, one request. */
	struct job **group = rn_calloc((size_t)nlive + 1, sizeof(*group));
	for (int i = 0; i < n; i++) {
		if (!v[i] || v[i]->leader < 0)
			continue;
		int32_t leader = v[i]->leader;
		int k = 0;
		for (int x = i; x < n; x++)
			if (v[x] && v[x]->leader == leader && v[x]->err < 0)
				group[k++] = v[x];
		send_to(leader, group, k);
		for (int x = 0; x < k; x++)
			group[x]->leader = -2; /* sent this round */
	}
	for (int i = 0; i < n; i++) {
		struct job *j = v[i];
		if (rn_txn_marker_final(j->err)) {
			if (j->err != RN_KERR_NONE)
				rn_warn("transactional id %s: %s marker for %s-%d answered %d: "
					"considered written",
					j->m.txn_id, j->m.commit ? "COMMIT" : "ABORT", j->m.topic,
					j->m.partition, j->err);
			M.h.done(M.h.arg, &j->m);
			job_free(j);
			continue;
		}
		j->attempts++;
		int64_t backoff = (int64_t)BACKOFF_MS * (j->attempts < 10 ? j->attempts : 10);
		j->due_ms = rn_mono_ms() + backoff;
		j->next = retry;
		retry = j;
	}
	rn_free(group);
	rn_free(v);
	return retry;
}

static void *thread_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&M.lock);
	while (!M.stop) {
		int64_t now = rn_mono_ms(), next = now + 100;
		struct job *due = NULL, **pp = &M.queue;
		while (*pp) {
			struct job *j = *pp;
			if (j->due_ms <= now) {
				*pp = j->next;
				j->next = due;
				due = j;
			} else {
				next = j->due_ms < next ? j->due_ms : next;
				pp = &j->next;
			}
		}
		if (due) {
			pthread_mutex_unlock(&M.lock);
			struct job *retry = process(due);
			pthread_mutex_lock(&M.lock);
			while (retry) {
				struct job *j = retry;
				retry = j->next;
				j->next = M.queue;
				M.queue = j;
			}
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t wait = next - now > 0 ? next - now : 1;
		ts.tv_nsec += (long)wait * 1000000;
		ts.tv_sec += ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&M.cond, &M.lock, &ts);
	}
	pthread_mutex_unlock(&M.lock);
	return NULL;
}

int rn_txn_markers_start(struct rn_broker *b, const struct rn_txn_markers_hooks *h)
{
	M.b = b;
	M.h = *h;
	M.stop = false;
	if (pthread_create(&M.thread, NULL, thread_main, NULL) != 0)
		return -EAGAIN;
	M.running = true;
	return 0;
}

void rn_txn_markers_stop(void)
{
	if (!M.running)
		return;
	pthread_mutex_lock(&M.lock);
	M.stop = true;
	pthread_cond_signal(&M.cond);
	pthread_mutex_unlock(&M.lock);
	pthread_join(M.thread, NULL);
	M.running = false;
	while (M.queue) {
		struct job *j = M.queue;
		M.queue = j->next;
		job_free(j);
	}
	for (int i = 0; i < M.nconns; i++)
		if (M.conns[i].peer)
			rn_peer_close(M.conns[i].peer);
	M.nconns = 0;
}
