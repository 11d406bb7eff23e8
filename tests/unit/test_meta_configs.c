/* Metadata store: dynamic broker configs and whole-set topic config replacement survive a
 * reopen and a snapshot rewrite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "meta/store.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rn-metacfg-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

struct seen {
	char text[512];
};

static void collect(const char *key, const char *val, void *arg)
{
	struct seen *s = arg;
	size_t n = strlen(s->text);
	snprintf(s->text + n, sizeof(s->text) - n, "%s=%s;", key, val);
}

static void check_broker(struct rn_meta *m, bool per_broker, const char *want)
{
	struct seen s = {""};
	rn_meta_broker_configs(m, per_broker, collect, &s);
	assert_string_equal(s.text, want);
}

static void test_broker_and_replace(void **state)
{
	(void)state;
	struct rn_meta *m;
	assert_int_equal(rn_meta_open(dir, 3, &m), 0);
	struct rn_cfg_kv a[] = {{"log.retention.ms", "1000"}, {"log.segment.bytes", "2048"}};
	assert_int_equal(rn_meta_broker_replace_configs(m, true, a, 2), 0);
	struct rn_cfg_kv d[] = {{"compression.type", "gzip"}};
	assert_int_equal(rn_meta_broker_replace_configs(m, false, d, 1), 0);
	/* Replacing drops what is not in the new set. */
	assert_int_equal(rn_meta_broker_replace_configs(m, true, a + 1, 1), 0);
	uint8_t id[16];
	struct rn_cfg_kv t0[] = {{"retention.ms", "5"}, {"segment.ms", "6"}};
	assert_int_equal(rn_meta_topic_create(m, "t", 1, t0, 2, id), 0);
	struct rn_cfg_kv t1[] = {{"segment.ms", "7"}, {"cleanup.policy", "compact"}};
	assert_int_equal(rn_meta_topic_replace_configs(m, "t", t1, 2), 0);
	assert_int_equal(rn_meta_topic_replace_configs(m, "nope", t1, 2), RN_ENOTFOUND);
	rn_meta_close(m);

	for (int round = 0; round < 2; round++) {
		assert_int_equal(rn_meta_open(dir, 3, &m), 0);
		check_broker(m, true, "log.segment.bytes=2048;");
		check_broker(m, false, "compression.type=gzip;");
		const struct rn_meta_topic *t = rn_meta_topic_get(m, "t");
		assert_non_null(t);
		assert_int_equal(t->nconfigs, 2);
		for (int i = 0; i < 2; i++) {
			if (!strcmp(t->configs[i].key, "segment.ms"))
				assert_string_equal(t->configs[i].val, "7");
			else
				assert_string_equal(t->configs[i].key, "cleanup.policy");
		}
		/* Enough dead records to trigger the snapshot rewrite on the next open. */
		for (int i = 0; round == 0 && i < 70; i++)
			assert_int_equal(rn_meta_broker_replace_configs(m, true, a + 1, 1), 0);
		rn_meta_close(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_broker_and_replace, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
