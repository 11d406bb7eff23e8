/*
 * The inter-broker client (replica/peer.c) against a real `runnel serve` started here
 * (RUNNEL_BIN, else the runnel binary next to this test's), and against tiny fake servers for
 * the failures a real broker does not produce on demand: silence, a wrong correlation id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "proto/api.h"
#include "replica/peer.h"
#include "runnel_proc.h"

static struct runnel_proc g_broker;
static int g_port;

static int start_broker(void **state)
{
	(void)state;
	if (runnel_start(&g_broker) < 0)
		return -1;
	g_port = g_broker.port;
	return 0;
}

static int stop_broker(void **state)
{
	(void)state;
	runnel_stop(&g_broker);
	return 0;
}

static struct rn_peer *connect_broker(void)
{
	struct rn_peer *p = NULL;
	assert_int_equal(rn_peer_connect("127.0.0.1", g_port, 5000, "peer-test", &p), 0);
	assert_non_null(p);
	return p;
}

static void check_api_versions(struct rn_peer *p, int16_t ver)
{
	struct rn_api_versions_request req = {0};
	req.client_software_name = rn_str_c("runnel-peer-test");
	req.client_software_version = rn_str_c("1");
	void *out;
	assert_int_equal(rn_peer_roundtrip(p, RN_API_API_VERSIONS, ver, &req, 10000, &out), 0);
	struct rn_api_versions_response *r = out;
	assert_int_equal(r->error_code, 0);
	bool fetch = false, ofle = false;
	for (int i = 0; i < r->api_keys_count; i++) {
		if (r->api_keys[i].api_key == RN_API_FETCH && r->api_keys[i].max_version >= 12)
			fetch = true;
		if (r->api_keys[i].api_key == RN_API_OFFSET_FOR_LEADER_EPOCH)
			ofle = true;
	}
	assert_true(fetch);
	assert_true(ofle);
}

/* ApiVersions v0 (header v1) and v3 (request header v2, response header v0), twice on one
 * connection: correlation ids advance and both frames parse. */
static void test_api_versions(void **state)
{
	(void)state;
	struct rn_peer *p = connect_broker();
	check_api_versions(p, 0);
	check_api_versions(p, 3);
	check_api_versions(p, 3);
	assert_false(rn_peer_broken(p));
	rn_peer_close(p);
}

static void check_metadata(struct rn_peer *p, int16_t ver)
{
	struct rn_metadata_request req = {0};
	req.topics_count = -1; /* every topic */
	void *out;
	assert_int_equal(rn_peer_roundtrip(p, RN_API_METADATA, ver, &req, 10000, &out), 0);
	struct rn_metadata_response *r = out;
	assert_int_equal(r->brokers_count, 1);
	assert_int_equal(r->brokers[0].port, g_port);
	assert_true(rn_str_eq(r->brokers[0].host, "127.0.0.1"));
}

/* Metadata v1 (classic) and v9 (flexible: response header v1 with its tag buffer). */
static void test_metadata(void **state)
{
	(void)state;
	struct rn_peer *p = connect_broker();
	check_metadata(p, 1);
	check_metadata(p, 9);
	check_metadata(p, 12);
	rn_peer_close(p);
}

/* A response over the frame limit is refused before allocation and breaks the connection. */
static void test_frame_limit(void **state)
{
	(void)state;
	struct rn_peer *p = connect_broker();
	rn_peer_set_max_frame(p, 64);
	struct rn_api_versions_request req = {0};
	void *out;
	assert_int_equal(rn_peer_roundtrip(p, RN_API_API_VERSIONS, 0, &req, 5000, &out),
			 RN_EMALFORMED);
	assert_true(rn_peer_broken(p));
	assert_int_equal(rn_peer_roundtrip(p, RN_API_API_VERSIONS, 0, &req, 5000, &out),
			 RN_EUNAVAILABLE);
	rn_peer_close(p);
}

/* A fake server on an ephemeral port: mode 's' accepts and stays silent, 'c' answers every
 * frame with correlation id 4242, 'x' closes at once. */
struct fake {
	int lfd, port;
	char mode;
	pthread_t th;
};

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	int c = accept(f->lfd, NULL, NULL);
	if (c < 0)
		return NULL;
	uint8_t buf[4096];
	if (f->mode == 'c' && read(c, buf, sizeof(buf)) > 0) {
		uint8_t resp[] = {0, 0, 0, 6, 0, 0, 0x10, 0x92, 0, 0};
		(void)!write(c, resp, sizeof(resp));
	}
	if (f->mode != 'x')
		while (read(c, buf, sizeof(buf)) > 0)
			;
	close(c);
	return NULL;
}

static void fake_start(struct fake *f, char mode)
{
	f->mode = mode;
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	socklen_t len = sizeof(a);
	getsockname(f->lfd, (struct sockaddr *)&a, &len);
	f->port = ntohs(a.sin_port);
	pthread_create(&f->th, NULL, fake_main, f);
}

static void fake_stop(struct fake *f, struct rn_peer *p)
{
	rn_peer_close(p); /* ends the fake's read loop */
	pthread_join(f->th, NULL);
	close(f->lfd);
}

static void test_timeout(void **state)
{
	(void)state;
	struct fake f;
	fake_start(&f, 's');
	struct rn_peer *p = NULL;
	assert_int_equal(rn_peer_connect("127.0.0.1", f.port, 5000, "t", &p), 0);
	struct rn_api_versions_request req = {0};
	void *out;
	int64_t t0 = rn_mono_ms();
	assert_int_equal(rn_peer_roundtrip(p, RN_API_API_VERSIONS, 0, &req, 300, &out),
			 RN_EUNAVAILABLE);
	assert_true(rn_mono_ms() - t0 >= 300);
	assert_true(rn_peer_broken(p));
	fake_stop(&f, p);
}

static void test_wrong_correlation(void **state)
{
	(void)state;
	struct fake f;
	fake_start(&f, 'c');
	struct rn_peer *p = NULL;
	assert_int_equal(rn_peer_connect("127.0.0.1", f.port, 5000, "t", &p), 0);
	struct rn_api_versions_request req = {0};
	void *out;
	assert_int_equal(rn_peer_roundtrip(p, RN_API_API_VERSIONS, 0, &req, 5000, &out),
			 RN_EMALFORMED);
	assert_true(rn_peer_broken(p));
	fake_stop(&f, p);
}

static void test_closed_by_peer(void **state)
{
	(void)state;
	struct fake f;
	fake_start(&f, 'x');
	struct rn_peer *p = NULL;
	assert_int_equal(rn_peer_connect("127.0.0.1", f.port, 5000, "t", &p), 0);
	struct rn_api_versions_request req = {0};
	void *out;
	assert_int_equal(rn_peer_roundtrip(p, RN_API_API_VERSIONS, 0, &req, 5000, &out),
			 RN_EUNAVAILABLE);
	fake_stop(&f, p);
}

static void test_refused(void **state)
{
	(void)state;
	/* A port that was just free: bind, read it, close. */
	struct fake f;
	f.lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	getsockname(f.lfd, (struct sockaddr *)&a, &len);
	close(f.lfd);
	struct rn_peer *p = (struct rn_peer *)&f;
	assert_int_equal(rn_peer_connect("127.0.0.1", ntohs(a.sin_port), 2000, "t", &p),
			 RN_EUNAVAILABLE);
	assert_null(p);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest broker_tests[] = {
	    cmocka_unit_test(test_api_versions),
	    cmocka_unit_test(test_metadata),
	    cmocka_unit_test(test_frame_limit),
	};
	const struct CMUnitTest fake_tests[] = {
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_wrong_correlation),
	    cmocka_unit_test(test_closed_by_peer),
	    cmocka_unit_test(test_refused),
	};
	int r = cmocka_run_group_tests(fake_tests, NULL, NULL);
	return r + cmocka_run_group_tests(broker_tests, start_broker, stop_broker);
}
