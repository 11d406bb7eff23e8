/*
 * A follower (the replica manager with a local log) copying from a real `runnel serve` as its
 * leader: catch-up byte for byte, the follower HW, OFFSET_OUT_OF_RANGE below the leader's log
 * start, and truncation of a divergent tail by leader epoch after the leader restarted in a
 * new epoch. The leader is a single broker, which serves replica fetches as consumer ones; the
 * cluster-wide flows are in tests/e2e_cluster/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_builder.h"
#include "core/clock.h"
#include "core/err.h"
#include "meta/store.h"
#include "proto/api.h"
#include "replica/follower_int.h"
#include "replica/peer.h"
#include "runnel_proc.h"
#include "storage/partition.h"

enum { SELF = 2, LEADER = 1 };

static struct runnel_proc g_leader;

static int lookup(void *arg, int32_t id, char *host, size_t hostlen, int *port)
{
	(void)arg, (void)id;
	snprintf(host, hostlen, "127.0.0.1");
	*port = g_leader.port;
	return 0;
}

static struct rn_peer *leader_peer(void)
{
	struct rn_peer *p = NULL;
	assert_int_equal(rn_peer_connect("127.0.0.1", g_leader.port, 5000, "test", &p), 0);
	rn_peer_set_max_frame(p, 64 << 20);
	return p;
}

static void create_topic(const char *name)
{
	struct rn_peer *p = leader_peer();
	struct rn_create_topics_request_creatable_topic t = {
	    .name = rn_str_c(name), .num_partitions = 1, .replication_factor = 1};
	struct rn_create_topics_request req = {
	    .topics = &t, .topics_count = 1, .timeout_ms = 10000};
	void *out;
	assert_int_equal(rn_peer_roundtrip(p, RN_API_CREATE_TOPICS, 4, &req, 10000, &out), 0);
	struct rn_create_topics_response *r = out;
	assert_int_equal(r->topics[0].error_code, 0);
	rn_peer_close(p);
}

/* Produces n batches of 10 records to name-0 (acks=1). */
static void produce(const char *name, int n)
{
	struct rn_peer *p = leader_peer();
	for (int i = 0; i < n; i++) {
		struct rn_buf b = {0};
		bb_batch(&b, 10, rn_wall_ms(), 50);
		struct rn_produce_request_partition_produce_data pd = {
		    .index = 0, .records = {.ptr = b.data, .len = (int32_t)b.len}};
		struct rn_produce_request_topic_produce_data td = {
		    .name = rn_str_c(name), .partition_data = &pd, .partition_data_count = 1};
		struct rn_produce_request req = {.transactional_id = RN_STR_NULL,
						 .acks = 1,
						 .timeout_ms = 10000,
						 .topic_data = &td,
						 .topic_data_count = 1};
		void *out;
		assert_int_equal(rn_peer_roundtrip(p, RN_API_PRODUCE, 8, &req, 10000, &out), 0);
		struct rn_produce_response *r = out;
		assert_int_equal(r->responses[0].partition_responses[0].error_code, 0);
		rn_buf_free(&b);
	}
	rn_peer_close(p);
}

/* The leader's log of name-0 from offset 0 as a consumer sees it (a copy; caller frees). */
static struct rn_buf leader_bytes(const char *name, int64_t from)
{
	struct rn_peer *p = leader_peer();
	struct rn_fetch_request_fetch_partition fp = {.partition = 0,
						      .current_leader_epoch = -1,
						      .fetch_offset = from,
						      .last_fetched_epoch = -1,
						      .log_start_offset = -1,
						      .partition_max_bytes = 32 << 20};
	struct rn_fetch_request_fetch_topic ft = {
	    .topic = rn_str_c(name), .partitions = &fp, .partitions_count = 1};
	struct rn_fetch_request req = {.cluster_id = RN_STR_NULL,
				       .replica_id = -1,
				       .max_wait_ms = 0,
				       .min_bytes = 0,
				       .max_bytes = 32 << 20,
				       .session_epoch = -1,
				       .topics = &ft,
				       .topics_count = 1,
				       .rack_id = rn_str_c("")};
	void *out;
	assert_int_equal(rn_peer_roundtrip(p, RN_API_FETCH, 12, &req, 10000, &out), 0);
	struct rn_fetch_response *r = out;
	struct rn_fetch_response_partition_data *pd = &r->responses[0].partitions[0];
	assert_int_equal(pd->error_code, 0);
	struct rn_buf b = {0};
	if (pd->records.len > 0)
		rn_buf_append(&b, pd->records.ptr, (size_t)pd->records.len);
	rn_peer_close(p);
	return b;
}

/* The leader's leader epoch of name-0 (Metadata v9). */
static int32_t leader_epoch(const char *name)
{
	struct rn_peer *p = leader_peer();
	struct rn_metadata_request_metadata_request_topic t = {.name = rn_str_c(name)};
	struct rn_metadata_request req = {.topics = &t, .topics_count = 1};
	void *out;
	assert_int_equal(rn_peer_roundtrip(p, RN_API_METADATA, 9, &req, 10000, &out), 0);
	struct rn_metadata_response *r = out;
	int32_t e = r->topics[0].partitions[0].leader_epoch;
	rn_peer_close(p);
	return e;
}

static struct rn_buf local_bytes(struct rn_partition *log, int64_t from)
{
	struct rn_read_info ri = {0};
	struct rn_buf b = {0};
	assert_int_equal(rn_partition_read_replica(log, from, 32 << 20, true, &ri), 0);
	if (ri.len > 0) {
		uint8_t *dst = rn_buf_reserve(&b, ri.len);
		assert_int_equal(pread(ri.file->fd, dst, ri.len, (off_t)ri.pos), (ssize_t)ri.len);
		b.len = ri.len;
		rn_fileref_put(ri.file);
	}
	return b;
}

static void assert_same_log(const char *name, struct rn_partition *log, int64_t from)
{
	struct rn_buf a = leader_bytes(name, from), b = local_bytes(log, from);
	assert_true(a.len > 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	rn_buf_free(&a);
	rn_buf_free(&b);
}

struct fx {
	char *dir;
	struct rn_meta *meta;
	struct rn_partition *log;
	struct rn_replica_mgr *mgr;
	struct rn_replica_part *rp;
};

static void fx_open_log(struct fx *x)
{
	char d[4096];
	snprintf(d, sizeof(d), "%s/t-0", x->dir);
	struct rn_log_config c;
	rn_log_config_default(&c);
	assert_int_equal(rn_partition_open(d, &c, -1, 0, true, &x->log), 0);
}

/* The hooks and long-poll time of the next manager; by default none and 200 ms. */
static struct rn_replica_hooks g_hooks;
static int32_t g_wait_max_ms = 200;

static void fx_start(struct fx *x)
{
	struct rn_replica_cfg cfg = {.node_id = SELF,
				     .lag_time_max_ms = 30000,
				     .fetch_max_bytes = 1 << 20,
				     .fetch_response_max_bytes = 10 << 20,
				     .fetch_min_bytes = 1,
				     .fetch_wait_max_ms = g_wait_max_ms,
				     .fetch_backoff_ms = 50,
				     .socket_timeout_ms = 5000,
				     .num_fetchers = 1};
	assert_int_equal(rn_replica_mgr_new(x->meta, &cfg, &g_hooks, &x->mgr), 0);
	rn__mgr_set_lookup(x->mgr, lookup, NULL);
}

static void fx_open(struct fx *x)
{
	x->dir = bb_tmpdir();
	char d[4096];
	snprintf(d, sizeof(d), "%s/meta", x->dir);
	mkdir(d, 0755);
	assert_int_equal(rn_meta_open(d, SELF, &x->meta), 0);
	fx_open_log(x);
	fx_start(x);
}

static void follow(struct rn_replica_mgr *mgr, struct rn_replica_part *rp, int32_t epoch,
		   int32_t pe)
{
	struct rn_pstate st = {.leader = LEADER, .leader_epoch = epoch, .partition_epoch = pe};
	st.nreplicas = st.nisr = 2;
	st.replicas[0] = st.isr[0] = LEADER;
	st.replicas[1] = st.isr[1] = SELF;
	rn_replica_apply(mgr, rp, &st);
}

static void fx_follow(struct fx *x, const char *topic, int32_t epoch, int32_t pe)
{
	if (!x->rp)
		x->rp = rn_replica_attach(x->mgr, topic, 0, x->log);
	follow(x->mgr, x->rp, epoch, pe);
}

static void fx_stop(struct fx *x)
{
	if (x->rp)
		rn_replica_detach(x->mgr, x->rp);
	x->rp = NULL;
	rn_replica_mgr_free(x->mgr);
	x->mgr = NULL;
}

static void fx_close(struct fx *x)
{
	if (x->mgr)
		fx_stop(x);
	rn_partition_close(x->log);
	rn_meta_close(x->meta);
	bb_rmrf(x->dir);
	free(x->dir);
}

static void wait_leo(struct rn_partition *log, int64_t leo)
{
	int64_t deadline = rn_mono_ms() + 60000;
	while (rn_partition_log_end(log) != leo && rn_mono_ms() < deadline)
		usleep(5000);
	assert_int_equal(rn_partition_log_end(log), leo);
}

static void wait_hw(struct rn_partition *log, int64_t hw)
{
	int64_t deadline = rn_mono_ms() + 60000;
	while (rn_partition_high_watermark(log) != hw && rn_mono_ms() < deadline)
		usleep(5000);
	assert_int_equal(rn_partition_high_watermark(log), hw);
}

static void test_catch_up(void **state)
{
	(void)state;
	create_topic("catchup");
	produce("catchup", 20);
	struct fx x = {0};
	fx_open(&x);
	fx_follow(&x, "catchup", leader_epoch("catchup"), 1);
	wait_leo(x.log, 200);
	wait_hw(x.log, 200);
	assert_same_log("catchup", x.log, 0);
	/* It keeps following: more records arrive while it long-polls. */
	produce("catchup", 10);
	wait_leo(x.log, 300);
	wait_hw(x.log, 300);
	assert_same_log("catchup", x.log, 0);
	struct rn_replica_stats s;
	rn_replica_mgr_stats(x.mgr, &s);
	assert_int_equal(s.leaders, 0);
	assert_int_equal(s.max_fetcher_lag, 0);
	fx_close(&x);
}

/* The leader deleted records below 105 (inside a batch of ten) before the follower started:
 * the follower, empty at 0, is out of range, restarts its log at the leader's start, then at
 * the base of the leader's first batch (the only place it can append), and ends with the
 * leader's log start. */
static void test_out_of_range(void **state)
{
	(void)state;
	create_topic("oor");
	produce("oor", 20);
	struct rn_peer *p = leader_peer();
	struct rn_delete_records_request_delete_records_partition dp = {.partition_index = 0,
									.offset = 105};
	struct rn_delete_records_request_delete_records_topic dt = {
	    .name = rn_str_c("oor"), .partitions = &dp, .partitions_count = 1};
	struct rn_delete_records_request req = {
	    .topics = &dt, .topics_count = 1, .timeout_ms = 10000};
	void *out;
	assert_int_equal(rn_peer_roundtrip(p, RN_API_DELETE_RECORDS, 1, &req, 10000, &out), 0);
	rn_peer_close(p);
	struct fx x = {0};
	fx_open(&x);
	fx_follow(&x, "oor", leader_epoch("oor"), 1);
	wait_leo(x.log, 200);
	wait_hw(x.log, 200);
	assert_int_equal(rn_partition_log_start(x.log), 105);
	assert_same_log("oor", x.log, 105);
	fx_close(&x);
}

/* Unclean history: the follower holds 50 records of epoch 0 its leader never had; the leader
 * restarted (epoch 1) and took 100 others. Following again cuts the tail at 150, where epoch 0
 * ends on the leader, and the logs end identical. */
static void test_divergent_tail(void **state)
{
	(void)state;
	create_topic("div");
	produce("div", 15);
	struct fx x = {0};
	fx_open(&x);
	int32_t e0 = leader_epoch("div");
	fx_follow(&x, "div", e0, 1);
	wait_leo(x.log, 150);
	fx_stop(&x);

	/* Our own appends in the same epoch: the divergent tail. */
	assert_int_equal(rn_partition_set_leader_epoch(x.log, e0), 0);
	for (int i = 0; i < 5; i++) {
		struct rn_buf b = {0};
		bb_batch(&b, 10, 1, 7);
		struct rn_append_info info = {0};
		assert_int_equal(rn_partition_append(x.log, b.data, b.len, &info), 0);
		rn_buf_free(&b);
	}
	assert_int_equal(rn_partition_log_end(x.log), 200);

	runnel_kill(&g_leader);
	assert_int_equal(runnel_spawn(&g_leader), 0);
	int32_t e1 = leader_epoch("div");
	assert_true(e1 > e0);
	produce("div", 10);

	fx_start(&x);
	fx_follow(&x, "div", e1, 2);
	wait_leo(x.log, 250);
	assert_same_log("div", x.log, 0);
	int32_t latest;
	int64_t start;
	rn_partition_latest_epoch(x.log, &latest, &start);
	assert_int_equal(latest, e1);
	assert_int_equal(start, 150);
	fx_close(&x);
}

/* KIP-279 in two rounds: our tail is in epoch 50, which the leader never had; it answers its
 * current epoch (restarted: 1 or more), which we never had either, so we cut to where our
 * epoch below it (0) ends and ask again about 0, whose end the leader and we agree on. */
static void test_two_round_truncation(void **state)
{
	(void)state;
	create_topic("tworound");
	produce("tworound", 10);
	struct fx x = {0};
	fx_open(&x);
	int32_t e0 = leader_epoch("tworound");
	fx_follow(&x, "tworound", e0, 1);
	wait_leo(x.log, 100);
	fx_stop(&x);

	assert_int_equal(rn_partition_set_leader_epoch(x.log, 50), 0);
	for (int i = 0; i < 5; i++) {
		struct rn_buf b = {0};
		bb_batch(&b, 10, 1, 7);
		struct rn_append_info info = {0};
		assert_int_equal(rn_partition_append(x.log, b.data, b.len, &info), 0);
		rn_buf_free(&b);
	}
	assert_int_equal(rn_partition_log_end(x.log), 150);

	runnel_kill(&g_leader);
	assert_int_equal(runnel_spawn(&g_leader), 0);
	int32_t e1 = leader_epoch("tworound");
	assert_true(e1 > e0 && e1 < 50);
	produce("tworound", 3);

	fx_start(&x);
	fx_follow(&x, "tworound", e1, 2);
	wait_leo(x.log, 130);
	assert_same_log("tworound", x.log, 0);
	int32_t latest;
	int64_t start;
	rn_partition_latest_epoch(x.log, &latest, &start);
	assert_int_equal(latest, e1);
	assert_int_equal(start, 100);
	fx_close(&x);
}

/* hooks.advanced detaching the partition it is told about (the glue dropping a deleted topic's
 * last reference inside the hook) on the fetcher's thread: no deadlock. */
static struct fx *g_fx;
static _Atomic int g_advanced;

static void detach_on_advance(void *arg, const char *topic, int32_t idx)
{
	(void)arg, (void)topic, (void)idx;
	if (atomic_fetch_add(&g_advanced, 1) == 0) {
		rn_replica_detach(g_fx->mgr, g_fx->rp);
		g_fx->rp = NULL;
	}
}

static void test_detach_from_hook(void **state)
{
	(void)state;
	create_topic("hookdetach");
	produce("hookdetach", 3);
	struct fx x = {0};
	g_fx = &x;
	g_hooks = (struct rn_replica_hooks){.advanced = detach_on_advance};
	fx_open(&x);
	g_hooks = (struct rn_replica_hooks){0};
	fx_follow(&x, "hookdetach", leader_epoch("hookdetach"), 1);
	int64_t deadline = rn_mono_ms() + 60000;
	while (atomic_load(&g_advanced) == 0 && rn_mono_ms() < deadline)
		usleep(5000);
	assert_int_equal(atomic_load(&g_advanced), 1);
	assert_null(x.rp);
	assert_int_equal(rn_partition_log_end(x.log), 30);
	fx_close(&x); /* the fetcher thread is still alive and answers its stop */
}

/* A partition joining a fetcher parked in a long poll (here one longer than the test's patience)
 * is fetched at once: a new leadership cuts the poll short. */
static void test_new_leadership_cuts_long_poll(void **state)
{
	(void)state;
	create_topic("poll1");
	create_topic("poll2");
	produce("poll1", 2);
	produce("poll2", 2);
	struct fx x = {0};
	g_wait_max_ms = 600000;
	fx_open(&x);
	g_wait_max_ms = 200;
	fx_follow(&x, "poll1", leader_epoch("poll1"), 1);
	wait_leo(x.log, 20);
	usleep(200000); /* lets the next fetch park; nothing observable tells it did */
	char d[4096];
	snprintf(d, sizeof(d), "%s/t-1", x.dir);
	struct rn_log_config c;
	rn_log_config_default(&c);
	struct rn_partition *log2;
	assert_int_equal(rn_partition_open(d, &c, -1, 0, true, &log2), 0);
	struct rn_replica_part *rp2 = rn_replica_attach(x.mgr, "poll2", 0, log2);
	follow(x.mgr, rp2, leader_epoch("poll2"), 1);
	wait_leo(log2, 20);
	rn_replica_detach(x.mgr, rp2);
	rn_partition_close(log2);
	fx_close(&x);
}

static int setup(void **state)
{
	(void)state;
	return runnel_start(&g_leader);
}

static int teardown(void **state)
{
	(void)state;
	if (g_leader.port)
		runnel_stop(&g_leader);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_catch_up),
	    cmocka_unit_test(test_out_of_range),
	    cmocka_unit_test(test_divergent_tail),
	    cmocka_unit_test(test_two_round_truncation),
	    cmocka_unit_test(test_detach_from_hook),
	    cmocka_unit_test(test_new_leadership_cuts_long_poll),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
