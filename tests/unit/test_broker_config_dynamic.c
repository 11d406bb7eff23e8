/* Dynamic broker config layers: per-broker over cluster default over static over default;
 * only Kafka's dynamic keys may change; old values stay readable; topics resolve through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "broker/config.h"
#include "broker/topic_config.h"

static void test_layers(void **state)
{
	(void)state;
	struct rn_config *c = rn_config_new();
	char err[256];
	assert_null(rn_config_get(c, "log.retention.ms"));
	assert_int_equal(rn_config_set(c, "log.retention.ms", "1000", err, sizeof(err)), 0);
	const char *old = rn_config_get(c, "log.retention.ms");
	assert_int_equal(rn_config_set_dynamic(c, RN_CFG_DYN_DEFAULT, "log.retention.ms", "2000",
					       err, sizeof(err)),
			 0);
	assert_string_equal(rn_config_get(c, "log.retention.ms"), "2000");
	assert_int_equal(rn_config_set_dynamic(c, RN_CFG_DYN_BROKER, "log.retention.ms", "3000",
					       err, sizeof(err)),
			 0);
	assert_string_equal(rn_config_get(c, "log.retention.ms"), "3000");
	assert_string_equal(old, "1000"); /* a pointer handed out earlier stays valid */
	assert_string_equal(rn_config_static_get(c, "log.retention.ms"), "1000");
	assert_string_equal(rn_config_layer_get(c, RN_CFG_DYN_DEFAULT, "log.retention.ms"), "2000");
	bool d;
	assert_string_equal(rn_topic_cfg_value(c, NULL, 0, "retention.ms", &d), "3000");
	assert_true(d);
	assert_int_equal(
	    rn_config_set_dynamic(c, RN_CFG_DYN_BROKER, "log.retention.ms", NULL, err, sizeof(err)),
	    0);
	assert_string_equal(rn_config_get(c, "log.retention.ms"), "2000");
	assert_int_not_equal(
	    rn_config_set_dynamic(c, RN_CFG_DYN_BROKER, "log.dirs", "/x", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "log.dirs"));
	assert_int_not_equal(
	    rn_config_set_dynamic(c, RN_CFG_DYN_BROKER, "compression.type", "br", err, sizeof(err)),
	    0);
	assert_true(rn_config_is_dynamic("log.cleaner.threads"));
	assert_false(rn_config_is_dynamic("log.retention.hours"));
	rn_config_free(c);
}

static void test_topic_validation_and_synonyms(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(rn_topic_cfg_validate("retention.ms", "-1", err, sizeof(err)), 0);
	assert_int_not_equal(rn_topic_cfg_validate("retention.ms", "-2", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "retention.ms"));
	assert_int_equal(rn_topic_cfg_validate("local.retention.ms", "-2", err, sizeof(err)), 0);
	assert_int_equal(
	    rn_topic_cfg_validate("cleanup.policy", "compact, delete", err, sizeof(err)), 0);
	assert_int_equal(rn_topic_cfg_validate("leader.replication.throttled.replicas", "0:1,1:1",
					       err, sizeof(err)),
			 0);
	assert_int_not_equal(
	    rn_topic_cfg_validate("follower.replication.throttled.replicas", "x", err, sizeof(err)),
	    0);
	assert_int_not_equal(
	    rn_topic_cfg_validate("min.cleanable.dirty.ratio", "1.01", err, sizeof(err)), 0);
	const char *n[3];
	assert_int_equal(rn_topic_cfg_synonyms(rn_topic_cfg_find("retention.ms"), n), 3);
	assert_string_equal(n[2], "log.retention.hours");
	assert_int_equal(rn_topic_cfg_synonyms(rn_topic_cfg_find("remote.storage.enable"), n), 0);
	size_t nd;
	rn_topic_cfg_defs(&nd);
	assert_int_equal(nd, 31); /* Kafka 3.7's topic key set */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layers),
	    cmocka_unit_test(test_topic_validation_and_synonyms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
