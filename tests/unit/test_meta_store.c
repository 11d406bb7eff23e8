/* Metadata store: changes survive a reopen; a torn tail is truncated, not fatal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "meta/store.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rn-meta-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void test_create_reopen(void **state)
{
	(void)state;
	struct rn_meta *m;
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	char cid[64];
	snprintf(cid, sizeof(cid), "%s", rn_meta_cluster_id(m));
	assert_int_equal(strlen(cid), 22);
	struct rn_cfg_kv cfg[] = {{"retention.ms", "1000"}, {"weird", "tab\there\nnl\\"}};
	uint8_t id[16], id2[16];
	assert_int_equal(rn_meta_topic_create(m, "orders", 3, cfg, 2, id), 0);
	assert_int_equal(rn_meta_topic_create(m, "orders", 3, NULL, 0, id2), RN_EEXIST);
	assert_int_equal(rn_meta_topic_create(m, "gone", 1, NULL, 0, id2), 0);
	assert_int_equal(rn_meta_topic_delete(m, "gone"), 0);
	assert_int_equal(rn_meta_topic_delete(m, "gone"), RN_ENOTFOUND);
	assert_int_equal(rn_meta_topic_set_partitions(m, "orders", 5), 0);
	assert_int_equal(rn_meta_topic_set_config(m, "orders", "retention.ms", NULL), 0);
	rn_meta_close(m);

	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	assert_string_equal(rn_meta_cluster_id(m), cid);
	assert_null(rn_meta_topic_get(m, "gone"));
	const struct rn_meta_topic *t = rn_meta_topic_get(m, "orders");
	assert_non_null(t);
	assert_int_equal(t->partitions, 5);
	assert_memory_equal(t->id, id, 16);
	assert_int_equal(t->nconfigs, 1);
	assert_string_equal(t->configs[0].key, "weird");
	assert_string_equal(t->configs[0].val, "tab\there\nnl\\");
	rn_meta_close(m);
	/* A different node.id must not adopt this directory. */
	assert_int_not_equal(rn_meta_open(dir, 2, &m), 0);
}

static void test_torn_tail(void **state)
{
	(void)state;
	struct rn_meta *m;
	uint8_t id[16];
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	assert_int_equal(rn_meta_topic_create(m, "a", 1, NULL, 0, id), 0);
	assert_int_equal(rn_meta_topic_create(m, "b", 1, NULL, 0, id), 0);
	rn_meta_close(m);
	char path[300];
	snprintf(path, sizeof(path), "%s/runnel-metadata.log", dir);
	FILE *f = fopen(path, "r+");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fclose(f);
	/* Cut the last record in half: it must vanish, the first one must stay. */
	assert_int_equal(truncate(path, size - 5), 0);
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	assert_non_null(rn_meta_topic_get(m, "a"));
	assert_null(rn_meta_topic_get(m, "b"));
	/* Appends after the truncation are readable again. */
	assert_int_equal(rn_meta_topic_create(m, "c", 2, NULL, 0, id), 0);
	rn_meta_close(m);
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	assert_non_null(rn_meta_topic_get(m, "c"));
	rn_meta_close(m);
}

static void test_corrupt_record(void **state)
{
	(void)state;
	struct rn_meta *m;
	uint8_t id[16];
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	assert_int_equal(rn_meta_topic_create(m, "x", 1, NULL, 0, id), 0);
	rn_meta_close(m);
	char path[300];
	snprintf(path, sizeof(path), "%s/runnel-metadata.log", dir);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "y", 1, 11), 1); /* flip a byte of the topic name */
	close(fd);
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	assert_null(rn_meta_topic_get(m, "x"));
	rn_meta_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_record, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
