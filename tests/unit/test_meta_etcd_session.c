/* The etcd store's sessions against a real etcd: registration under a lease, a duplicate node
 * id, lease expiry of a killed broker, the controller race, and etcd going away and back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "etcd_proc.h"
#include "meta/cluster.h"
#include "meta/etcd.h"
#include "meta/store.h"

static struct etcd_cluster etcd;
static int test_no;

static int group_setup(void **state)
{
	(void)state;
	return etcd_cluster_start(&etcd, 1);
}

static int group_teardown(void **state)
{
	(void)state;
	etcd_cluster_stop(&etcd);
	return 0;
}

static void uri_for(char *uri, size_t n, int test)
{
	snprintf(uri, n, "etcd://%s/s%d-%d", etcd.endpoints, getpid(), test);
}

static struct rn_meta *open_node(int32_t node, int test)
{
	char uri[600], dir[600], cmd[700];
	uri_for(uri, sizeof(uri), test);
	snprintf(dir, sizeof(dir), "%s/t%d-n%d-%d", etcd.root, test, node, rand());
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	assert_int_equal(system(cmd), 0);
	struct rn_meta *m;
	assert_int_equal(rn_meta_open_etcd(uri, dir, node, &m), 0);
	return m;
}

static struct rn_broker_reg reg(int32_t id)
{
	struct rn_broker_reg r = {.id = id, .port = 9090 + id};
	snprintf(r.host, sizeof(r.host), "127.0.0.1");
	snprintf(r.rack, sizeof(r.rack), "r%d", id);
	return r;
}

struct heard {
	atomic_int brokers, controller, valid, invalid;
	atomic_int ctrl_id;
};

static void on_brokers(void *arg)
{
	atomic_fetch_add(&((struct heard *)arg)->brokers, 1);
}

static void on_controller(void *arg, int32_t id, int32_t epoch)
{
	(void)epoch;
	struct heard *h = arg;
	atomic_store(&h->ctrl_id, id);
	atomic_fetch_add(&h->controller, 1);
}

static void on_session(void *arg, bool valid)
{
	struct heard *h = arg;
	atomic_fetch_add(valid ? &h->valid : &h->invalid, 1);
}

static struct rn_meta_listener listener(struct heard *h)
{
	return (struct rn_meta_listener){
	    .brokers = on_brokers, .controller = on_controller, .session = on_session, .arg = h};
}

static void test_register_and_duplicate(void **state)
{
	(void)state;
	int t = ++test_no;
	struct rn_meta *a = open_node(1, t), *b = open_node(2, t), *dup = open_node(1, t);
	struct rn_broker_reg r1 = reg(1), r2 = reg(2);
	rn_meta_set_heartbeat_ms(a, 200);
	assert_int_equal(rn_meta_register_broker(a, &r1, 2000), 0);
	assert_true(rn_meta_session_valid(a));
	assert_int_equal(rn_meta_register_broker(b, &r2, 2000), 0);
	assert_true(ETCD_WAIT_UNTIL(rn_meta_broker_live(a, 2) && rn_meta_broker_live(b, 1), 10000));
	struct rn_broker_reg got[4];
	assert_int_equal(rn_meta_brokers(b, got, 4), 2);
	assert_int_equal(got[0].id, 1);
	assert_int_equal(got[1].id, 2);
	assert_string_equal(got[0].host, "127.0.0.1");
	assert_int_equal(got[0].port, 9091);
	assert_string_equal(got[0].rack, "r1");
	/* A second broker with node.id 1 while the first is alive and refreshing its lease. */
	assert_int_equal(rn_meta_register_broker(dup, &r1, 2000), RN_EEXIST);
	assert_true(rn_meta_session_valid(a));
	assert_true(rn_meta_broker_live(b, 1));
	rn_meta_close(dup);
	/* A clean unregister revokes the lease: the registration goes at once. */
	rn_meta_unregister_broker(a);
	assert_false(rn_meta_session_valid(a));
	assert_true(ETCD_WAIT_UNTIL(!rn_meta_broker_live(b, 1), 5000));
	rn_meta_close(a);
	rn_meta_close(b);
}

/* The holder: a child process (this binary again) that registers node 1, takes the
 * controller, says so on stdout and waits to be killed without a word to etcd. */
static int hold(const char *uri, const char *dir)
{
	struct rn_meta *m;
	int32_t epoch;
	struct rn_broker_reg r = reg(1);
	if (rn_meta_open_etcd(uri, dir, 1, &m) < 0 || rn_meta_register_broker(m, &r, 2000) < 0 ||
	    rn_meta_controller_acquire(m, &epoch) < 0)
		return 1;
	printf("holding\n");
	fflush(stdout);
	for (;;)
		pause();
}

static pid_t spawn_holder(int t, FILE **out)
{
	char uri[600], dir[600], cmd[700];
	uri_for(uri, sizeof(uri), t);
	snprintf(dir, sizeof(dir), "%s/holder-%d", etcd.root, t);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	assert_int_equal(system(cmd), 0);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl("/proc/self/exe", "holder", "--hold", uri, dir, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	*out = fdopen(fds[0], "r");
	return pid;
}

static void test_lease_expiry(void **state)
{
	(void)state;
	int t = ++test_no;
	FILE *out;
	pid_t pid = spawn_holder(t, &out);
	char line[64] = "";
	assert_non_null(fgets(line, sizeof(line), out));
	assert_string_equal(line, "holding\n");
	struct rn_meta *b = open_node(2, t);
	struct heard h = {0};
	struct rn_meta_listener l = listener(&h);
	assert_int_equal(rn_meta_add_listener(b, &l), 0);
	assert_true(rn_meta_broker_live(b, 1));
	int32_t epoch;
	assert_int_equal(rn_meta_controller(b, &epoch), 1);
	assert_int_equal(epoch, 1);
	struct rn_broker_reg r2 = reg(2);
	assert_int_equal(rn_meta_register_broker(b, &r2, 2000), 0);
	assert_int_equal(rn_meta_controller_acquire(b, &epoch), RN_EEXIST);
	int before = atomic_load(&h.brokers);
	/* SIGKILL: no revoke, the lease just stops being refreshed. */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fclose(out);
	assert_true(ETCD_WAIT_UNTIL(!rn_meta_broker_live(b, 1), 15000));
	assert_true(atomic_load(&h.brokers) > before);
	assert_true(ETCD_WAIT_UNTIL(rn_meta_controller(b, NULL) == -1, 5000));
	assert_int_equal(atomic_load(&h.ctrl_id), -1);
	/* The survivor takes over in the next epoch. */
	assert_int_equal(rn_meta_controller_acquire(b, &epoch), 0);
	assert_int_equal(epoch, 2);
	assert_int_equal(rn_meta_controller(b, &epoch), 2);
	assert_int_equal(epoch, 2);
	assert_int_equal(rn_meta_controller_acquire(b, &epoch), 0); /* already ours */
	assert_int_equal(epoch, 2);
	rn_meta_close(b);
}

struct racer {
	struct rn_meta *m;
	pthread_barrier_t *go;
	int rc;
	int32_t epoch;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	pthread_barrier_wait(r->go);
	r->rc = rn_meta_controller_acquire(r->m, &r->epoch);
	return NULL;
}

static void test_controller_race(void **state)
{
	(void)state;
	int t = ++test_no;
	enum { N = 3 };
	struct rn_meta *m[N];
	struct racer r[N];
	pthread_t th[N];
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, N);
	int32_t epoch;
	for (int i = 0; i < N; i++) {
		m[i] = open_node(i + 1, t);
		assert_int_equal(rn_meta_controller_acquire(m[i], &epoch), RN_EUNAVAILABLE);
		struct rn_broker_reg b = reg(i + 1);
		assert_int_equal(rn_meta_register_broker(m[i], &b, 3000), 0);
		r[i] = (struct racer){m[i], &go, 0, -1};
	}
	for (int round = 1; round <= 2; round++) {
		for (int i = 0; i < N; i++)
			if (m[i])
				pthread_create(&th[i], NULL, race, &r[i]);
		int winner = -1;
		for (int i = 0; i < N; i++) {
			if (!m[i])
				continue;
			pthread_join(th[i], NULL);
			if (r[i].rc == 0) {
				assert_int_equal(winner, -1);
				winner = i;
				assert_int_equal(r[i].epoch, round);
			} else {
				assert_int_equal(r[i].rc, RN_EEXIST);
			}
		}
		assert_true(winner >= 0);
		for (int i = 0; i < N; i++)
			if (m[i])
				assert_true(ETCD_WAIT_UNTIL(
				    rn_meta_controller(m[i], NULL) == winner + 1, 5000));
		/* The winner goes: a new race among the rest, one epoch on. */
		rn_meta_close(m[winner]);
		m[winner] = NULL;
		pthread_barrier_destroy(&go);
		pthread_barrier_init(&go, NULL, N - round);
		for (int i = 0; i < N; i++)
			if (m[i])
				assert_true(
				    ETCD_WAIT_UNTIL(rn_meta_controller(m[i], NULL) == -1, 5000));
	}
	for (int i = 0; i < N; i++)
		rn_meta_close(m[i]);
	pthread_barrier_destroy(&go);
}

static void test_etcd_restart(void **state)
{
	(void)state;
	int t = ++test_no;
	struct rn_meta *a = open_node(1, t);
	struct heard h = {0};
	struct rn_meta_listener l = listener(&h);
	assert_int_equal(rn_meta_add_listener(a, &l), 0);
	struct rn_broker_reg r1 = reg(1);
	rn_meta_set_heartbeat_ms(a, 250);
	assert_int_equal(rn_meta_register_broker(a, &r1, 2000), 0);
	assert_true(rn_meta_session_valid(a));
	etcd_member_kill(&etcd, 0);
	/* Writes fail fast while etcd is away; reads still come from the cache. */
	uint8_t id[16];
	assert_int_equal(rn_meta_topic_create(a, "x", 1, NULL, 0, id), RN_EUNAVAILABLE);
	assert_true(rn_meta_broker_live(a, 1));
	assert_true(ETCD_WAIT_UNTIL(!rn_meta_session_valid(a), 5000));
	assert_true(ETCD_WAIT_UNTIL(atomic_load(&h.invalid) >= 1, 5000));
	etcd_sleep_ms(2500); /* past the TTL: the lease may be gone when etcd returns */
	assert_int_equal(etcd_member_start(&etcd, 0), 0);
	assert_true(etcd_member_wait(&etcd, 0, 30000));
	assert_true(ETCD_WAIT_UNTIL(atomic_load(&h.valid) >= 1, 20000));
	assert_true(rn_meta_session_valid(a));
	assert_true(ETCD_WAIT_UNTIL(rn_meta_broker_live(a, 1), 10000));
	/* The watch came back too: a write lands in the cache. */
	assert_int_equal(rn_meta_topic_create(a, "x", 1, NULL, 0, id), 0);
	assert_non_null(rn_meta_topic_get(a, "x"));
	rn_meta_close(a);
}

/* The lease of key (under test t's prefix), read straight from etcd. */
static int64_t lease_of(struct rn__etcd *e, int t, const char *rel)
{
	char key[200];
	snprintf(key, sizeof(key), "/s%d-%d/%s", getpid(), t, rel);
	json_t *req = rn__etcd_range_req(key, NULL), *resp;
	assert_int_equal(rn__etcd_call(e, "/v3/kv/range", req, 2000, &resp), 0);
	json_decref(req);
	int64_t lease = rn__etcd_int(json_array_get(json_object_get(resp, "kvs"), 0), "lease", 0);
	json_decref(resp);
	return lease;
}

static void test_lost_lease(void **state)
{
	(void)state;
	int t = ++test_no;
	struct rn_meta *a = open_node(1, t);
	struct heard h = {0};
	struct rn_meta_listener l = listener(&h);
	assert_int_equal(rn_meta_add_listener(a, &l), 0);
	struct rn_broker_reg r1 = reg(1);
	rn_meta_set_heartbeat_ms(a, 200);
	assert_int_equal(rn_meta_register_broker(a, &r1, 2000), 0);
	int32_t epoch;
	assert_int_equal(rn_meta_controller_acquire(a, &epoch), 0);
	struct rn__etcd *e;
	assert_int_equal(rn__etcd_new(etcd.endpoints, strlen(etcd.endpoints), &e), 0);
	int64_t lease = lease_of(e, t, "brokers/1");
	assert_true(lease != 0);
	assert_int_equal(lease_of(e, t, "controller"), lease);
	/* Someone revokes our lease: the session is lost, then made again on a new lease. */
	assert_int_equal(rn__etcd_lease_revoke(e, lease, 2000), 0);
	assert_true(ETCD_WAIT_UNTIL(atomic_load(&h.invalid) >= 1, 5000));
	assert_true(ETCD_WAIT_UNTIL(atomic_load(&h.valid) >= 1, 5000));
	assert_true(ETCD_WAIT_UNTIL(rn_meta_broker_live(a, 1), 5000));
	assert_true(rn_meta_session_valid(a));
	int64_t lease2 = lease_of(e, t, "brokers/1");
	assert_true(lease2 != 0 && lease2 != lease);
	/* The controllership went with the old lease; taking it again moves the epoch on. */
	assert_true(ETCD_WAIT_UNTIL(rn_meta_controller(a, NULL) == -1, 5000));
	assert_int_equal(rn_meta_controller_acquire(a, &epoch), 0);
	assert_int_equal(epoch, 2);
	rn__etcd_free(e);
	rn_meta_close(a);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--hold") == 0)
		return hold(argv[2], argv[3]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register_and_duplicate), cmocka_unit_test(test_lease_expiry),
	    cmocka_unit_test(test_controller_race),        cmocka_unit_test(test_lost_lease),
	    cmocka_unit_test(test_etcd_restart),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
