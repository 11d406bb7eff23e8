/* partition.metadata: written on first check, recognised afterwards, another topic id told. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/partition_meta.h"

static char g_dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/rn_pmeta_XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	char p[128];
	snprintf(p, sizeof(p), "%s/t-0", g_dir);
	return mkdir(p, 0755);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void read_file(char *buf, size_t len)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/t-0/partition.metadata", g_dir);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void test_written_then_matched(void **state)
{
	(void)state;
	uint8_t id[16] = {0};
	assert_int_equal(rn_partition_meta_check(g_dir, "t", 0, id), 0);
	char buf[128];
	read_file(buf, sizeof(buf));
	/* Kafka's Uuid text of sixteen zero bytes. */
	assert_string_equal(buf, "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA\n");
	assert_int_equal(rn_partition_meta_check(g_dir, "t", 0, id), 0);
}

static void test_known_id_text(void **state)
{
	(void)state;
	uint8_t id[16];
	for (int i = 0; i < 16; i++)
		id[i] = (uint8_t)(0xf0 + i);
	assert_int_equal(rn_partition_meta_check(g_dir, "t", 0, id), 0);
	char buf[128];
	read_file(buf, sizeof(buf));
	/* base64url of f0 f1 ... ff, unpadded. */
	assert_string_equal(buf, "version: 0\ntopic_id: 8PHy8_T19vf4-fr7_P3-_w\n");
}

static void test_other_topic_id(void **state)
{
	(void)state;
	uint8_t a[16] = {1}, b[16] = {2};
	assert_int_equal(rn_partition_meta_check(g_dir, "t", 0, a), 0);
	assert_int_equal(rn_partition_meta_check(g_dir, "t", 0, b), 1);
	assert_int_equal(rn_partition_meta_check(g_dir, "t", 0, a), 0);
}

static void test_missing_dir(void **state)
{
	(void)state;
	uint8_t a[16] = {1};
	assert_true(rn_partition_meta_check(g_dir, "absent", 3, a) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_written_then_matched, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_known_id_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_topic_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_dir, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
