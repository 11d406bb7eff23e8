/*
 * `runnel bench produce`. Two threads:
 *   - the main thread calls rd_kafka_produce(), on a clock schedule with -r;
 *   - a reporter thread sits in rd_kafka_poll() and runs the delivery callbacks, so each
 *     latency is read when the report arrives rather than when the producer loop next polls.
 * The reporter owns every statistic (histograms, window counters) and prints progress lines;
 * the main thread only reads the atomic completion count to know when to stop.
 *
 * With --transactional-id the main thread also commits a transaction every --txn-interval-ms.
 * commit_transaction() flushes, and librdkafka's flush serves delivery callbacks on the calling
 * thread, so callbacks can then run on both threads: `lock` serialises them with the reporter's
 * window printing. Uncontended outside commits, it costs every mode the same few nanoseconds.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "core/clock.h"
#include "cli/bench.h"
#include "cli/hist.h"

struct window {
	int64_t start_us;
	long long count;
	double sum_us;
	int64_t max_us;
};

struct prod {
	struct rn_bench_args *a;
	rd_kafka_t *rk;
	FILE *progress;
	pthread_mutex_t lock; /* delivery callbacks and print_window */
	/* Under lock (after the reporter's join: main thread). */
	struct rn_cli_hist hist;
	struct window win;
	long long ok;
	long long failed;
	char first_error[600];
	int64_t last_dr_us;
	/* Main thread only: transactions. */
	struct rn_cli_hist commit_hist; /* flush + commit_transaction(), us */
	struct rn_cli_hist endtxn_hist; /* commit_transaction() after the flush: EndTxn, us */
	long long txns;                 /* committed in the measured run */
	bool txn_failed;                /* a transactional call failed: the run is not valid */
	int64_t end_us;                 /* return of the last commit (0: not transactional) */
	/* Shared. */
	atomic_llong done; /* delivered + failed */
	atomic_bool stop_reporter;
	int64_t start_us;
	int nparts; /* partitions of the topic (wait_topic) */
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct prod *p = opaque;
	int64_t now = rn_mono_us();
	char why[512];

	pthread_mutex_lock(&p->lock);
	p->last_dr_us = now;
	if (m->err) {
		if (p->failed++ == 0)
			snprintf(p->first_error, sizeof(p->first_error), "%s",
				 rn__cli_explain(rk, m->err, why, sizeof(why)));
	} else {
		int64_t lat = m->_private ? now - (int64_t)(intptr_t)m->_private : 0;
		rn_cli_hist_record(&p->hist, lat);
		p->ok++;
		p->win.count++;
		p->win.sum_us += (double)lat;
		if (lat > p->win.max_us)
			p->win.max_us = lat;
	}
	pthread_mutex_unlock(&p->lock);
	atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
}

static void print_window(struct prod *p, int64_t now)
{
	struct window *w = &p->win;
	double secs = (double)(now - w->start_us) / 1e6;
	double rps = secs > 0 ? (double)w->count / secs : 0;

	fprintf(p->progress,
		"%lld records sent, %.1f records/sec (%.2f MB/sec), %.3f ms avg latency, "
		"%.3f ms max latency.\n",
		w->count, rps, rps * (double)p->a->size / RN_BENCH_MB,
		w->count ? w->sum_us / (double)w->count / 1000.0 : 0.0, (double)w->max_us / 1000.0);
	fflush(p->progress);
	memset(w, 0, sizeof(*w));
	w->start_us = now;
}

static void *reporter(void *arg)
{
	struct prod *p = arg;

	p->win.start_us = rn_mono_us();
	while (!atomic_load_explicit(&p->stop_reporter, memory_order_acquire)) {
		rd_kafka_poll(p->rk, 50);
		int64_t now = rn_mono_us();
		pthread_mutex_lock(&p->lock);
		if (now - p->win.start_us >= (int64_t)p->a->interval_ms * 1000)
			print_window(p, now);
		pthread_mutex_unlock(&p->lock);
	}
	rd_kafka_poll(p->rk, 0);
	return NULL;
}

/*
 * Waits until the absolute monotonic time t_us. Long waits sleep; the last ~25 us (about the
 * sleep's wake-up precision) spin with sched_yield(), so on a 2-vCPU box the broker still gets
 * the core whenever it has work, and the send is not late by a sleep overshoot.
 */
static void wait_until(int64_t t_us)
{
	int64_t now = rn_mono_us();

	if (t_us - now > 25) {
		int64_t wake = t_us - 25;
		struct timespec ts = {.tv_sec = wake / 1000000, .tv_nsec = (wake % 1000000) * 1000};
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	while (rn_mono_us() < t_us)
		sched_yield();
}

/*
 * Consumes e (may be NULL). On an error prints it, aborts the transaction if librdkafka says it
 * must be, marks the run failed and returns -1.
 */
static int txn_check(struct prod *p, rd_kafka_error_t *e, const char *what)
{
	if (!e)
		return 0;
	rn__cli_err(&p->a->common, "%s failed: %s", what, rd_kafka_error_string(e));
	if (rd_kafka_error_txn_requires_abort(e)) {
		rd_kafka_error_t *ae = rd_kafka_abort_transaction(p->rk, p->a->common.timeout_ms);
		if (ae) {
			rn__cli_err(&p->a->common, "abort_transaction failed: %s",
				    rd_kafka_error_string(ae));
			rd_kafka_error_destroy(ae);
		}
	}
	rd_kafka_error_destroy(e);
	p->txn_failed = true;
	return -1;
}

/*
 * Commits the open transaction: flush of its records, then EndTxn (markers written and, per the
 * partitions' flush policy, synced, before the broker answers). Retriable errors are retried as
 * librdkafka's documentation asks. commit_transaction() would flush by itself; flushing first
 * splits the time between draining the client's queue (which only grows with its size) and the
 * transaction's own round trip (endtxn_hist). The whole goes to commit_hist.
 */
static int txn_commit(struct prod *p)
{
	int64_t t0 = rn_mono_us();
	rd_kafka_error_t *e;

	/* A timeout here is not an error: commit_transaction() goes on flushing. */
	rd_kafka_flush(p->rk, p->a->common.timeout_ms);
	int64_t tf = rn_mono_us();

	/* -1: bounded by the rest of transaction.timeout.ms. */
	for (int tries = 0; (e = rd_kafka_commit_transaction(p->rk, -1)) &&
			    rd_kafka_error_is_retriable(e) && tries < 10 && !rn__cli_stop;
	     tries++)
		rd_kafka_error_destroy(e);
	if (txn_check(p, e, "commit_transaction"))
		return -1;
	int64_t t1 = rn_mono_us();
	rn_cli_hist_record(&p->commit_hist, t1 - t0);
	rn_cli_hist_record(&p->endtxn_hist, t1 - tf);
	p->txns++;
	p->end_us = t1;
	return 0;
}

/*
 * Sends a->count records. With a rate, record i is due at start + i/rate and its latency counts
 * from that due time even if the loop is late (coordinated omission). Returns how many records
 * librdkafka accepted (fewer after a signal or a produce error, which is printed).
 * Transactional: the records go in transactions of a->txn_interval_ms each, the commit time
 * counted in the run (Kafka's ProducerPerformance does the same); the last one stays open for
 * the caller to commit or abort.
 */
static long long send_all(struct prod *p, rd_kafka_topic_t *rkt, void *payload)
{
	struct rn_bench_args *a = p->a;
	double step_us = a->rate ? 1e6 / (double)a->rate : 0;
	int32_t part = a->partition >= 0 ? a->partition : RD_KAFKA_PARTITION_UA;
	int64_t txn_us = a->txn_interval_ms * 1000, txn_start = 0;
	long long i;

	p->start_us = rn_mono_us();
	if (a->txn_id) {
		if (txn_check(p, rd_kafka_begin_transaction(p->rk), "begin_transaction"))
			return 0;
		txn_start = p->start_us;
	}
	for (i = 0; i < a->count && !rn__cli_stop; i++) {
		int64_t due = rn_mono_us();
		if (a->txn_id && due - txn_start >= txn_us) {
			if (txn_commit(p) ||
			    txn_check(p, rd_kafka_begin_transaction(p->rk), "begin_transaction"))
				return i;
			due = txn_start = rn_mono_us();
		}
		if (a->rate) {
			due = p->start_us + (int64_t)((double)i * step_us);
			wait_until(due);
		}
		/* Flags 0: librdkafka points at payload, which lives for the whole run. */
		while (rd_kafka_produce(rkt, part, 0, payload, (size_t)a->size, NULL, 0,
					(void *)(intptr_t)due) == -1) {
			rd_kafka_resp_err_t err = rd_kafka_last_error();
			if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
				char why[512];
				rn__cli_err(&a->common, "produce failed: %s",
					    rn__cli_produce_error(p->rk, err, (size_t)a->size, why,
								  sizeof(why)));
				return i;
			}
			struct timespec ts = {0, 200000};
			nanosleep(&ts, NULL);
		}
	}
	return i;
}

static void report(struct prod *p, long long sent)
{
	struct rn_bench_args *a = p->a;
	const struct rn_cli_hist *h = &p->hist;
	/* Transactional: records count as done once committed, so the last commit is included. */
	int64_t end = p->end_us > p->last_dr_us ? p->end_us : p->last_dr_us;
	double secs = (double)(end - p->start_us) / 1e6;
	double rps = secs > 0 ? (double)p->ok / secs : 0;
	double mbs = rps * (double)a->size / RN_BENCH_MB;
	const struct rn_cli_hist *c = &p->commit_hist, *et = &p->endtxn_hist;

	fprintf(p->progress,
		"%lld records sent, %.1f records/sec (%.2f MB/sec), %.3f ms avg latency, "
		"%.3f ms max latency, %.3f ms 50th, %.3f ms 95th, %.3f ms 99th, %.3f ms 99.9th.\n",
		p->ok, rps, mbs, rn_cli_hist_mean(h) / 1000.0, (double)h->max / 1000.0,
		(double)rn_cli_hist_percentile(h, 50) / 1000.0,
		(double)rn_cli_hist_percentile(h, 95) / 1000.0,
		(double)rn_cli_hist_percentile(h, 99) / 1000.0,
		(double)rn_cli_hist_percentile(h, 99.9) / 1000.0);
	if (a->txn_id)
		fprintf(p->progress,
			"%lld transactions committed, commit latency %.3f ms avg, %.3f ms 50th, "
			"%.3f ms 99th, %.3f ms max; after the flush (EndTxn) %.3f ms 50th, "
			"%.3f ms 99th.\n",
			p->txns, rn_cli_hist_mean(c) / 1000.0,
			(double)rn_cli_hist_percentile(c, 50) / 1000.0,
			(double)rn_cli_hist_percentile(c, 99) / 1000.0, (double)c->max / 1000.0,
			(double)rn_cli_hist_percentile(et, 50) / 1000.0,
			(double)rn_cli_hist_percentile(et, 99) / 1000.0);
	if (a->json) {
		printf("{\"mode\":\"produce\",\"topic\":\"%s\",\"size\":%lld,\"acks\":\"%s\","
		       "\"rate\":%lld,\"sent\":%lld,\"records\":%lld,\"failed\":%lld,"
		       "\"seconds\":%.6f,\"msgs_per_sec\":%.1f,\"mb_per_sec\":%.3f,"
		       "\"lat_us\":{\"avg\":%.1f,\"p50\":%lld,\"p95\":%lld,\"p99\":%lld,"
		       "\"p999\":%lld,\"max\":%lld},\"client_cpu_s\":%.3f",
		       a->topic, a->size, a->acks, a->rate, sent, p->ok, p->failed, secs, rps, mbs,
		       rn_cli_hist_mean(h), (long long)rn_cli_hist_percentile(h, 50),
		       (long long)rn_cli_hist_percentile(h, 95),
		       (long long)rn_cli_hist_percentile(h, 99),
		       (long long)rn_cli_hist_percentile(h, 99.9), (long long)h->max,
		       rn__bench_cpu_s());
		/* Extra keys only in the new modes: plain runs print exactly what they used to. */
		if (a->idempotence)
			printf(",\"idempotence\":true");
		if (a->txn_id)
			printf(
			    ",\"txn_interval_ms\":%lld,\"txns\":%lld,\"commit_us\":{\"avg\":%.1f,"
			    "\"p50\":%lld,\"p99\":%lld,\"max\":%lld},\"endtxn_us\":{\"p50\":%lld,"
			    "\"p99\":%lld,\"max\":%lld}",
			    a->txn_interval_ms, p->txns, rn_cli_hist_mean(c),
			    (long long)rn_cli_hist_percentile(c, 50),
			    (long long)rn_cli_hist_percentile(c, 99), (long long)c->max,
			    (long long)rn_cli_hist_percentile(et, 50),
			    (long long)rn_cli_hist_percentile(et, 99), (long long)et->max);
		printf("}\n");
		return;
	}
	printf("\n%-8s %10s %12s %10s %10s %10s %10s %10s\n", "mode", "records", "msgs/s", "MB/s",
	       "p50 us", "p99 us", "p99.9 us", "max us");
	printf("%-8s %10lld %12.0f %10.2f %10lld %10lld %10lld %10lld\n", "produce", p->ok, rps,
	       mbs, (long long)rn_cli_hist_percentile(h, 50),
	       (long long)rn_cli_hist_percentile(h, 99), (long long)rn_cli_hist_percentile(h, 99.9),
	       (long long)h->max);
}

/*
 * Creates the topic with a->partitions partitions if asked. Called before the producer learns
 * the topic's name: a producer's first Metadata request for a topic auto-creates it with the
 * broker's num.partitions, and --partitions would then be lost. A topic that exists already
 * is fine when its partition count matches (wait_topic checks). A broker without CreateTopics
 * (the mock) only gets a warning for a topic it lacks; its topics are made at start-up.
 */
static void create_topic(struct prod *p)
{
	struct rn_bench_args *a = p->a;
	char err[512];

	if (a->partitions < 0)
		return;
	/* An existing topic needs no CreateTopics (which the mock would time out on). */
	const struct rd_kafka_metadata *md;
	if (!rd_kafka_metadata(p->rk, 1, NULL, &md, a->common.timeout_ms)) {
		bool exists = rn__cli_find_topic(md, a->topic) != NULL;
		rd_kafka_metadata_destroy(md);
		if (exists)
			return;
	}
	rd_kafka_NewTopic_t *nt =
	    rd_kafka_NewTopic_new(a->topic, a->partitions, -1, err, sizeof(err));
	rd_kafka_queue_t *q = rd_kafka_queue_new(p->rk);
	rd_kafka_AdminOptions_t *o =
	    rd_kafka_AdminOptions_new(p->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_AdminOptions_set_request_timeout(o, 5000, err, sizeof(err));
	rd_kafka_CreateTopics(p->rk, &nt, 1, o, q);
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 7000);
	rd_kafka_resp_err_t e = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
	const char *msg = rd_kafka_err2str(e);
	if (!e) {
		size_t n;
		const rd_kafka_topic_result_t **r =
		    rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
		e = n ? rd_kafka_topic_result_error(r[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
		msg = n && e ? rd_kafka_topic_result_error_string(r[0]) : msg;
	}
	if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
		rn__cli_err(&a->common, "warning: cannot create topic '%s' with %d partitions: %s",
			    a->topic, a->partitions, msg);
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
}

/*
 * Waits until the topic has partitions with leaders, so connection set-up and auto-creation are
 * not part of the measurement. With --partitions, a topic with another partition count is an
 * error: the run would not measure what was asked. Returns 0 or -1 (error printed).
 */
static int wait_topic(struct prod *p, rd_kafka_topic_t *rkt)
{
	int64_t deadline = rn_mono_us() + (int64_t)p->a->common.timeout_ms * 1000;
	rd_kafka_resp_err_t err;
	int have = -1;

	for (;;) {
		const struct rd_kafka_metadata *md;
		err = rd_kafka_metadata(p->rk, 0, rkt, &md, 2000);
		if (!err) {
			const struct rd_kafka_metadata_topic *t =
			    md->topic_cnt ? &md->topics[0] : NULL;
			bool ready = t && !t->err && t->partition_cnt > 0;
			for (int i = 0; ready && i < t->partition_cnt; i++)
				ready = t->partitions[i].leader >= 0;
			err = t && t->err ? t->err : err;
			have = ready ? t->partition_cnt : -1;
			rd_kafka_metadata_destroy(md);
			if (ready)
				break;
		}
		if (rn_mono_us() > deadline || rn__cli_stop) {
			char why[512];
			rn__cli_err(&p->a->common, "topic '%s' not ready on %s: %s", p->a->topic,
				    p->a->common.bootstrap,
				    rn__cli_explain(p->rk, err, why, sizeof(why)));
			return -1;
		}
		struct timespec ts = {0, 100 * 1000000};
		nanosleep(&ts, NULL);
	}
	if (p->a->partitions >= 0 && have != p->a->partitions) {
		rn__cli_err(&p->a->common,
			    "topic '%s' exists with %d partitions, not the %d of --partitions "
			    "(delete it, or leave --partitions out)",
			    p->a->topic, have, p->a->partitions);
		return -1;
	}
	p->nparts = have;
	return 0;
}

/*
 * Moves connection set-up out of the measured run without writing anything: metadata travels
 * on the bootstrap connection, and each partition leader gets a connection of its own, which a
 * ListOffsets (the watermark query) per partition opens, as a first produce would. An earlier
 * version sent one warm-up record, which then stayed in the topic and showed in every count
 * downstream: Kafka cannot delete one record, and a throwaway warm-up topic would open the
 * connection of its own leader, not of this topic's. The idempotent producer asks for its
 * producer id as soon as the first broker is up, which wait_broker and wait_topic wait for.
 * Transactional: init_transactions() moves the coordinator look-up, its connection and
 * InitProducerId out of the run as well.
 */
static int warm_up(struct prod *p)
{
	struct rn_bench_args *a = p->a;
	int from = a->partition >= 0 ? a->partition : 0;
	int to = a->partition >= 0 ? a->partition + 1 : p->nparts;

	if (a->partition >= p->nparts) {
		rn__cli_err(&a->common, "topic '%s' has %d partitions, no partition %d", a->topic,
			    p->nparts, a->partition);
		return -1;
	}
	for (int i = from; i < to; i++) {
		int64_t lo, hi;
		rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
		    p->rk, a->topic, i, &lo, &hi, a->common.timeout_ms);
		if (err) {
			char why[512];
			rn__cli_err(&a->common, "partition %d of '%s' not reachable: %s", i,
				    a->topic, rn__cli_explain(p->rk, err, why, sizeof(why)));
			return -1;
		}
	}
	if (a->txn_id)
		return txn_check(p, rd_kafka_init_transactions(p->rk, a->common.timeout_ms),
				 "init_transactions");
	return 0;
}

static rd_kafka_t *make_producer(struct prod *p)
{
	struct rn_bench_args *a = p->a;
	char acks[32], linger[48], batch[48], txn[600];
	const char *defaults[6] = {acks, NULL, NULL, NULL, NULL, NULL};
	int n = 1;

	snprintf(acks, sizeof(acks), "acks=%s", a->acks);
	if (a->linger_ms >= 0) {
		snprintf(linger, sizeof(linger), "linger.ms=%lld", a->linger_ms);
		defaults[n++] = linger;
	}
	if (a->batch_size >= 0) {
		snprintf(batch, sizeof(batch), "batch.size=%lld", a->batch_size);
		defaults[n++] = batch;
	}
	if (a->idempotence)
		defaults[n++] = "enable.idempotence=true";
	if (a->txn_id) {
		snprintf(txn, sizeof(txn), "transactional.id=%s", a->txn_id);
		defaults[n++] = txn;
	}
	int rc;
	return rn__cli_client(&a->common, RD_KAFKA_PRODUCER, defaults, on_delivery, p, &rc);
}

/* Waits for outstanding deliveries; gives up after the message timeout or on a signal. */
static void drain(struct prod *p, long long sent)
{
	while (atomic_load_explicit(&p->done, memory_order_acquire) < sent && !rn__cli_stop) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
}

int rn__bench_produce(struct rn_bench_args *a)
{
	struct prod *p = calloc(1, sizeof(*p));
	pthread_t thr;
	int rc = 1;

	p->a = a;
	p->progress = a->json ? stderr : stdout;
	pthread_mutex_init(&p->lock, NULL);
	rn_cli_hist_init(&p->hist);
	rn_cli_hist_init(&p->commit_hist);
	rn_cli_hist_init(&p->endtxn_hist);
	void *payload = malloc((size_t)a->size + 1);
	/* Pseudo-random bytes, so -X compression.codec=... measures real work. */
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (long long i = 0; i < a->size; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		((unsigned char *)payload)[i] = (unsigned char)('a' + x % 26);
	}
	p->rk = make_producer(p);
	if (!p->rk)
		goto out;
	create_topic(p);
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, a->topic, NULL);
	if (wait_topic(p, rkt) || warm_up(p))
		goto out_topic;
	if (a->rate)
		prctl(PR_SET_TIMERSLACK, 1000UL); /* 1 us: the schedule needs precise wake-ups */
	pthread_create(&thr, NULL, reporter, p);
	long long sent = send_all(p, rkt, payload);
	if (a->txn_id && !p->txn_failed) {
		/* The open transaction: committed after a full run, aborted (which purges what
		 * is still queued) after a signal or a produce error. */
		if (sent == a->count && !rn__cli_stop)
			txn_commit(p);
		else
			txn_check(p, rd_kafka_abort_transaction(p->rk, a->common.timeout_ms),
				  "abort_transaction");
	}
	/* After a failed transactional call, queued and in-flight records might never get a
	 * report: purging gives each one (as failed) so the drain ends. */
	if (p->txn_failed)
		rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	drain(p, sent);
	if (rn__cli_stop)
		rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	atomic_store_explicit(&p->stop_reporter, true, memory_order_release);
	pthread_join(thr, NULL);
	report(p, sent);
	rc = p->failed || p->txn_failed || p->ok < a->count ? 1 : 0;
	if (p->failed)
		rn__cli_err(&a->common, "%lld of %lld records failed: %s", p->failed, sent,
			    p->first_error);
	else if (p->ok < a->count)
		rn__cli_err(&a->common, "interrupted after %lld of %lld records", p->ok, a->count);
out_topic:
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(p->rk);
out:
	free(payload);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return rc;
}
