/* ssl.principal.mapping.rules: Kafka's rule syntax and the names it gives, cases after
 * Kafka's SslPrincipalMapperTest, plus the POSIX translation of Java pattern features. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "auth/principal.h"

static const char *map(const char *rules, const char *dn)
{
	static char out[256];
	char err[256] = "";
	struct rn_principal_map *m = NULL;
	int rc = rn_principal_map_new(rules, &m, err, sizeof(err));
	if (rc != 0)
		fail_msg("rules '%s' refused: %s", rules, err);
	rc = rn_principal_map_apply(m, dn, out, sizeof(out));
	rn_principal_map_free(m);
	return rc == 0 ? out : NULL;
}

static void assert_invalid(const char *rules)
{
	char err[256] = "";
	struct rn_principal_map *m = NULL;
	int rc = rn_principal_map_new(rules, &m, err, sizeof(err));
	if (rc == 0) {
		rn_principal_map_free(m);
		fail_msg("rules '%s' should be refused", rules);
	}
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "ssl.principal.mapping.rules"));
}

static void test_default(void **state)
{
	(void)state;
	assert_string_equal(map(NULL, "CN=alice,O=Runnel"), "CN=alice,O=Runnel");
	assert_string_equal(map("", "CN=alice,O=Runnel"), "CN=alice,O=Runnel");
	assert_string_equal(map("DEFAULT", "CN=alice,O=Runnel"), "CN=alice,O=Runnel");
}

static void test_rule_then_default(void **state)
{
	(void)state;
	const char *rules = "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,DEFAULT";
	assert_string_equal(map(rules, "CN=kafka-server1,OU=ServiceUsers,O=Org,C=US"),
			    "kafka-server1");
	assert_string_equal(map(rules, "CN=duke,OU=JavaSoft,O=Sun Microsystems"),
			    "CN=duke,OU=JavaSoft,O=Sun Microsystems");
}

static void test_case_flags(void **state)
{
	(void)state;
	const char *dn = "CN=Duke,OU=JavaSoft,O=Sun Microsystems,L=Santa Clara,ST=CA,C=US";
	assert_string_equal(
	    map("RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L", dn),
	    "duke@javasoft");
	assert_string_equal(
	    map("RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/U", dn),
	    "DUKE@JAVASOFT");
	assert_string_equal(map("RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L", dn), "duke");
}

static void test_no_rule_matches(void **state)
{
	(void)state;
	assert_null(map("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/", "CN=duke,O=Sun"));
	/* The pattern must match the whole subject, not a part of it. */
	assert_null(map("RULE:CN=([a-z]+)/$1/", "CN=duke,O=Sun"));
	assert_string_equal(map("RULE:CN=([a-z]+),O=Sun/$1/", "CN=duke,O=Sun"), "duke");
}

static void test_whitespace_and_commas(void **state)
{
	(void)state;
	const char *rules = "   RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L   ,  DEFAULT   ";
	assert_string_equal(map(rules, "CN=Svc1,OU=ServiceUsers,O=Org"), "svc1");
	assert_string_equal(map(rules, "CN=alice,O=Org"), "CN=alice,O=Org");
	/* Empty rules between commas are ignored. */
	assert_string_equal(map("RULE:^CN=([^,]*),.*$/$1/,,DEFAULT", "CN=bob,O=x"), "bob");
}

static void test_escapes_and_references(void **state)
{
	(void)state;
	/* \/ in the pattern and the replacement is a slash. */
	assert_string_equal(map("RULE:^CN=([^,]*),OU=a\\/b$/$1\\/x/", "CN=eve,OU=a/b"), "eve/x");
	/* A reference beyond the pattern's groups stays literal text, as in Kafka. */
	assert_string_equal(map("RULE:^CN=([^,]*),O=([^,]*)$/$1@$4/", "CN=eve,O=org"), "eve@$4");
	/* $12 with two groups is group 1 then "2"; $0 is the whole subject. */
	assert_string_equal(map("RULE:^CN=([^,]*),O=([^,]*)$/$12/", "CN=eve,O=org"), "eve2");
	assert_string_equal(map("RULE:^CN=([^,]*),O=([^,]*)$/<$0>/", "CN=eve,O=org"),
			    "<CN=eve,O=org>");
	/* Java shorthands. */
	assert_string_equal(map("RULE:^CN=(\\w+)-(\\d+)\\s*,.*$/$2:$1/", "CN=node-42 ,O=x"),
			    "42:node");
}

static void test_invalid_rules(void **state)
{
	(void)state;
	assert_invalid("default");
	assert_invalid("DEFAUL");
	assert_invalid("DEFAULTX");
	assert_invalid("RULE:/");
	assert_invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1");
	assert_invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/LU");
	assert_invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/X");
	assert_invalid("RULE:^CN=((.*?),OU=ServiceUsers.*$/$1/");
	assert_invalid("RULE:^CN=(?i)(.*)$/$1/");
	assert_invalid("DEFAULT,junk");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default),
	    cmocka_unit_test(test_rule_then_default),
	    cmocka_unit_test(test_case_flags),
	    cmocka_unit_test(test_no_rule_matches),
	    cmocka_unit_test(test_whitespace_and_commas),
	    cmocka_unit_test(test_escapes_and_references),
	    cmocka_unit_test(test_invalid_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
