/* Broker and topic configuration: Kafka names, validation, precedence, unknown keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/config.h"
#include "broker/topic_config.h"

static void test_defaults_and_set(void **state)
{
	(void)state;
	struct rn_config *c = rn_config_new();
	char err[256];
	assert_string_equal(rn_config_get(c, "listeners"), "PLAINTEXT://127.0.0.1:9092");
	assert_int_equal(rn_config_get_i64(c, "message.max.bytes"), 1048588);
	assert_true(rn_config_is_default(c, "num.partitions"));
	assert_int_equal(rn_config_set_kv(c, "num.partitions=3", err, sizeof(err)), 0);
	assert_int_equal(rn_config_get_i64(c, "num.partitions"), 3);
	assert_false(rn_config_is_default(c, "num.partitions"));
	assert_int_not_equal(rn_config_set_kv(c, "no.such.key=1", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "no.such.key"));
	assert_int_not_equal(rn_config_set_kv(c, "num.partitions=abc", err, sizeof(err)), 0);
	assert_int_not_equal(rn_config_set_kv(c, "num.partitions=0", err, sizeof(err)), 0);
	assert_int_not_equal(
	    rn_config_set_kv(c, "auto.create.topics.enable=maybe", err, sizeof(err)), 0);
	assert_int_not_equal(
	    rn_config_set_kv(c, "log.message.timestamp.type=Now", err, sizeof(err)), 0);
	assert_int_not_equal(rn_config_set_kv(c, "novalue", err, sizeof(err)), 0);
	rn_config_free(c);
}

static void test_file(void **state)
{
	(void)state;
	char path[] = "/tmp/rn-cfg-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "# comment\n! also a comment\n\nlog.retention.hours = 1\n"
			   "node.id: 7\nlog.segment.bytes=1048576\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct rn_config *c = rn_config_new();
	char err[600];
	assert_int_equal(rn_config_load_file(c, path, err, sizeof(err)), 0);
	assert_int_equal(rn_config_get_i64(c, "node.id"), 7);
	/* Precedence of the broker's retention settings: ms over minutes over hours. */
	struct rn_log_config lc;
	rn_topic_cfg_resolve(c, NULL, 0, &lc);
	assert_int_equal(lc.retention_ms, 3600000);
	assert_int_equal(lc.segment_bytes, 1048576);
	assert_int_equal(rn_config_set_kv(c, "log.retention.minutes=2", err, sizeof(err)), 0);
	rn_topic_cfg_resolve(c, NULL, 0, &lc);
	assert_int_equal(lc.retention_ms, 120000);
	assert_int_equal(rn_config_set_kv(c, "log.retention.ms=5", err, sizeof(err)), 0);
	rn_topic_cfg_resolve(c, NULL, 0, &lc);
	assert_int_equal(lc.retention_ms, 5);
	/* An unknown key in a file names the line. */
	FILE *f = fopen(path, "a");
	fputs("bogus.key=1\n", f);
	fclose(f);
	assert_int_not_equal(rn_config_load_file(c, path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, ":7:"));
	assert_non_null(strstr(err, "bogus.key"));
	unlink(path);
	rn_config_free(c);
}

static void test_topic_overrides(void **state)
{
	(void)state;
	struct rn_config *c = rn_config_new();
	char err[256];
	struct rn_cfg_kv ov[] = {{"retention.bytes", "1000"},
				 {"message.timestamp.type", "LogAppendTime"}};
	struct rn_log_config lc;
	rn_topic_cfg_resolve(c, ov, 2, &lc);
	assert_int_equal(lc.retention_bytes, 1000);
	assert_true(lc.log_append_time);
	assert_int_equal(lc.max_message_bytes, 1048588);
	assert_int_equal(lc.retention_ms, 7 * 24 * 3600 * 1000LL);
	bool def;
	assert_string_equal(rn_topic_cfg_value(c, ov, 2, "retention.bytes", &def), "1000");
	assert_false(def);
	assert_string_equal(rn_topic_cfg_value(c, ov, 2, "cleanup.policy", &def), "delete");
	assert_true(def);
	assert_int_equal(rn_topic_cfg_validate("retention.ms", "-1", err, sizeof(err)), 0);
	assert_int_not_equal(rn_topic_cfg_validate("retention.ms", "x", err, sizeof(err)), 0);
	assert_int_not_equal(rn_topic_cfg_validate("segment.bytes", "-1", err, sizeof(err)), 0);
	assert_int_not_equal(rn_topic_cfg_validate("nope", "1", err, sizeof(err)), 0);
	assert_int_not_equal(rn_topic_cfg_validate("cleanup.policy", "purge", err, sizeof(err)), 0);
	rn_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_and_set),
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_topic_overrides),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
