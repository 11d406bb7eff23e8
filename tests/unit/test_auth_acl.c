/* The authorizer's model: pattern matching, implied operations, deny over allow, hosts,
 * wildcards, super users, allow.everyone.if.no.acl.found, filters, authorized-operation sets,
 * by-resource-type checks, and the store encoding round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "auth/acl.h"
#include "auth/session.h"
#include "core/alloc.h"

static struct rn_session who(const char *principal, const char *host)
{
	struct rn_session s = {0};
	strcpy(s.principal, principal);
	strcpy(s.host, host);
	return s;
}

static struct rn_acl acl(enum rn_res_type t, enum rn_pattern p, const char *name,
			 const char *principal, const char *host, enum rn_acl_op op,
			 enum rn_acl_perm perm)
{
	return (struct rn_acl){t, p, name, principal, host, op, perm};
}

static bool can(struct rn_authorizer *az, const struct rn_session *s, enum rn_acl_op op,
		enum rn_res_type t, const char *name)
{
	return rn_authorize(az, s, op, t, name, strlen(name));
}

static void test_literal_prefixed_wildcard(void **state)
{
	(void)state;
	struct rn_authorizer *az = rn_authorizer_new(NULL, false);
	struct rn_session alice = who("User:alice", "127.0.0.1"), bob = who("User:bob", "10.0.0.2");
	struct rn_acl a[] = {
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "orders", "User:alice", "*", RN_OP_WRITE,
		RN_PERM_ALLOW),
	    acl(RN_RES_TOPIC, RN_PAT_PREFIXED, "logs.", "User:bob", "*", RN_OP_READ, RN_PERM_ALLOW),
	    acl(RN_RES_GROUP, RN_PAT_LITERAL, "*", "User:*", "*", RN_OP_READ, RN_PERM_ALLOW),
	};
	rn_authorizer_set(az, a, 3);
	assert_true(can(az, &alice, RN_OP_WRITE, RN_RES_TOPIC, "orders"));
	assert_false(can(az, &alice, RN_OP_WRITE, RN_RES_TOPIC, "orders2"));
	assert_false(can(az, &alice, RN_OP_WRITE, RN_RES_TOPIC, "order"));
	assert_false(can(az, &bob, RN_OP_WRITE, RN_RES_TOPIC, "orders"));
	assert_false(can(az, &alice, RN_OP_READ, RN_RES_TOPIC, "orders"));
	assert_true(can(az, &bob, RN_OP_READ, RN_RES_TOPIC, "logs.app"));
	assert_true(can(az, &bob, RN_OP_READ, RN_RES_TOPIC, "logs."));
	assert_false(can(az, &bob, RN_OP_READ, RN_RES_TOPIC, "logs"));
	assert_false(can(az, &alice, RN_OP_READ, RN_RES_TOPIC, "logs.app"));
	/* The wildcard literal and the wildcard principal. */
	assert_true(can(az, &alice, RN_OP_READ, RN_RES_GROUP, "anything"));
	assert_true(can(az, &bob, RN_OP_READ, RN_RES_GROUP, "g"));
	assert_false(can(az, &bob, RN_OP_DELETE, RN_RES_GROUP, "g"));
	/* Types do not mix: a topic ACL says nothing about a group of that name. */
	assert_false(can(az, &alice, RN_OP_WRITE, RN_RES_TRANSACTIONAL_ID, "orders"));
	rn_authorizer_free(az);
}

static void test_implied_operations(void **state)
{
	(void)state;
	struct rn_authorizer *az = rn_authorizer_new(NULL, false);
	struct rn_session s = who("User:u", "1.2.3.4");
	struct rn_acl a[] = {
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "r", "User:u", "*", RN_OP_READ, RN_PERM_ALLOW),
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "w", "User:u", "*", RN_OP_WRITE, RN_PERM_ALLOW),
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "d", "User:u", "*", RN_OP_DELETE, RN_PERM_ALLOW),
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "a", "User:u", "*", RN_OP_ALTER, RN_PERM_ALLOW),
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "c", "User:u", "*", RN_OP_ALTER_CONFIGS,
		RN_PERM_ALLOW),
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "all", "User:u", "*", RN_OP_ALL, RN_PERM_ALLOW),
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "cr", "User:u", "*", RN_OP_CREATE, RN_PERM_ALLOW),
	};
	rn_authorizer_set(az, a, 7);
	const char *desc[] = {"r", "w", "d", "a", "all"};
	for (size_t i = 0; i < 5; i++)
		assert_true(can(az, &s, RN_OP_DESCRIBE, RN_RES_TOPIC, desc[i]));
	assert_false(can(az, &s, RN_OP_DESCRIBE, RN_RES_TOPIC, "cr"));
	assert_false(can(az, &s, RN_OP_DESCRIBE, RN_RES_TOPIC, "c"));
	assert_true(can(az, &s, RN_OP_DESCRIBE_CONFIGS, RN_RES_TOPIC, "c"));
	assert_false(can(az, &s, RN_OP_DESCRIBE_CONFIGS, RN_RES_TOPIC, "r"));
	assert_false(can(az, &s, RN_OP_WRITE, RN_RES_TOPIC, "r"));
	assert_false(can(az, &s, RN_OP_READ, RN_RES_TOPIC, "w"));
	for (int op = RN_OP_READ; op <= RN_OP_ALTER_CONFIGS; op++)
		assert_true(can(az, &s, (enum rn_acl_op)op, RN_RES_TOPIC, "all"));
	assert_int_equal(rn_authorized_ops(az, &s, RN_RES_TOPIC, "r", 1),
			 1 << RN_OP_READ | 1 << RN_OP_DESCRIBE);
	assert_int_equal(rn_authorized_ops(az, &s, RN_RES_TOPIC, "all", 3),
			 rn_acl_supported_ops(RN_RES_TOPIC));
	assert_int_equal(rn_authorized_ops(NULL, &s, RN_RES_GROUP, "g", 1),
			 1 << RN_OP_READ | 1 << RN_OP_DESCRIBE | 1 << RN_OP_DELETE);
	rn_authorizer_free(az);
}

static void test_deny_wins_hosts(void **state)
{
	(void)state;
	struct rn_authorizer *az = rn_authorizer_new(NULL, false);
	struct rn_session near = who("User:u", "127.0.0.1"), far = who("User:u", "10.9.9.9");
	struct rn_acl a[] = {
	    acl(RN_RES_TOPIC, RN_PAT_PREFIXED, "t", "User:*", "*", RN_OP_ALL, RN_PERM_ALLOW),
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "t-secret", "User:u", "*", RN_OP_READ, RN_PERM_DENY),
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "t-local", "User:u", "10.9.9.9", RN_OP_ALL,
		RN_PERM_DENY),
	    acl(RN_RES_GROUP, RN_PAT_LITERAL, "g", "User:u", "127.0.0.1", RN_OP_READ,
		RN_PERM_ALLOW),
	};
	rn_authorizer_set(az, a, 4);
	assert_true(can(az, &near, RN_OP_READ, RN_RES_TOPIC, "t-any"));
	assert_false(can(az, &near, RN_OP_READ, RN_RES_TOPIC, "t-secret"));
	/* A deny is for its own operation only: DESCRIBE is still allowed by the ALL allow. */
	assert_true(can(az, &near, RN_OP_DESCRIBE, RN_RES_TOPIC, "t-secret"));
	assert_true(can(az, &near, RN_OP_WRITE, RN_RES_TOPIC, "t-secret"));
	assert_true(can(az, &near, RN_OP_WRITE, RN_RES_TOPIC, "t-local"));
	assert_false(can(az, &far, RN_OP_WRITE, RN_RES_TOPIC, "t-local"));
	assert_false(can(az, &far, RN_OP_DESCRIBE, RN_RES_TOPIC, "t-local"));
	assert_true(can(az, &near, RN_OP_READ, RN_RES_GROUP, "g"));
	assert_false(can(az, &far, RN_OP_READ, RN_RES_GROUP, "g"));
	rn_authorizer_free(az);
}

static void test_super_and_no_acl(void **state)
{
	(void)state;
	struct rn_session admin = who("User:admin", "1.1.1.1"), ops = who("User:ops", "1.1.1.1"),
			  anon = who("User:ANONYMOUS", "1.1.1.1");
	struct rn_authorizer *az = rn_authorizer_new(" User:admin ; User:ops;", false);
	struct rn_acl deny =
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "*", "User:*", "*", RN_OP_ALL, RN_PERM_DENY);
	rn_authorizer_set(az, &deny, 1);
	assert_true(can(az, &admin, RN_OP_WRITE, RN_RES_TOPIC, "x"));
	assert_true(can(az, &ops, RN_OP_ALTER, RN_RES_CLUSTER, RN_CLUSTER_RESOURCE));
	assert_false(can(az, &anon, RN_OP_WRITE, RN_RES_TOPIC, "x"));
	/* No ACL on the cluster: denied unless allow.everyone.if.no.acl.found. */
	assert_false(can(az, &anon, RN_OP_DESCRIBE, RN_RES_CLUSTER, RN_CLUSTER_RESOURCE));
	rn_authorizer_free(az);
	az = rn_authorizer_new("", true);
	struct rn_acl only = acl(RN_RES_TOPIC, RN_PAT_LITERAL, "guarded", "User:admin", "*",
				 RN_OP_READ, RN_PERM_ALLOW);
	rn_authorizer_set(az, &only, 1);
	assert_true(can(az, &anon, RN_OP_DESCRIBE, RN_RES_CLUSTER, RN_CLUSTER_RESOURCE));
	assert_true(can(az, &anon, RN_OP_WRITE, RN_RES_TOPIC, "open"));
	/* An ACL exists on the resource (for someone else): the default no longer applies. */
	assert_false(can(az, &anon, RN_OP_READ, RN_RES_TOPIC, "guarded"));
	assert_false(rn_authorizer_is_super(az, "User:admin"));
	rn_authorizer_free(az);
	assert_true(can(NULL, &anon, RN_OP_ALTER, RN_RES_CLUSTER, RN_CLUSTER_RESOURCE));
}

static void test_by_resource_type(void **state)
{
	(void)state;
	struct rn_session u = who("User:u", "1.1.1.1"), v = who("User:v", "1.1.1.1");
	struct rn_authorizer *az = rn_authorizer_new(NULL, false);
	struct rn_acl a[] = {
	    acl(RN_RES_TOPIC, RN_PAT_PREFIXED, "app.", "User:u", "*", RN_OP_WRITE, RN_PERM_ALLOW),
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "x", "User:v", "*", RN_OP_WRITE, RN_PERM_ALLOW),
	    acl(RN_RES_TOPIC, RN_PAT_PREFIXED, "x", "User:v", "*", RN_OP_WRITE, RN_PERM_DENY),
	};
	rn_authorizer_set(az, a, 3);
	assert_true(rn_authorize_any(az, &u, RN_OP_WRITE, RN_RES_TOPIC));
	assert_false(rn_authorize_any(az, &u, RN_OP_READ, RN_RES_TOPIC));
	assert_false(rn_authorize_any(az, &v, RN_OP_WRITE, RN_RES_TOPIC));
	rn_authorizer_free(az);
}

static void test_filters(void **state)
{
	(void)state;
	struct rn_acl lit =
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "orders", "User:a", "*", RN_OP_READ, RN_PERM_ALLOW);
	struct rn_acl pre =
	    acl(RN_RES_TOPIC, RN_PAT_PREFIXED, "ord", "User:a", "*", RN_OP_READ, RN_PERM_ALLOW);
	struct rn_acl wild =
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "*", "User:b", "1.1.1.1", RN_OP_WRITE, RN_PERM_DENY);
	rn_acl_filter any = {RN_RES_ANY, RN_PAT_ANY, NULL, NULL, NULL, RN_OP_ANY, RN_PERM_ANY};
	assert_true(rn_acl_filter_match(&any, &lit));
	assert_true(rn_acl_filter_match(&any, &wild));
	rn_acl_filter f = any;
	f.name = "orders";
	assert_true(rn_acl_filter_match(&f, &lit));
	assert_false(rn_acl_filter_match(&f, &pre)); /* ANY: exact names of any pattern type */
	f.pattern = RN_PAT_MATCH;
	assert_true(rn_acl_filter_match(&f, &lit));
	assert_true(rn_acl_filter_match(&f, &pre));
	assert_true(rn_acl_filter_match(&f, &wild));
	f.pattern = RN_PAT_PREFIXED;
	assert_false(rn_acl_filter_match(&f, &pre));
	f.name = "ord";
	assert_true(rn_acl_filter_match(&f, &pre));
	f = any;
	f.pattern = RN_PAT_LITERAL;
	assert_false(rn_acl_filter_match(&f, &pre));
	f = any;
	f.principal = "User:b";
	f.op = RN_OP_WRITE;
	f.perm = RN_PERM_DENY;
	f.host = "1.1.1.1";
	assert_true(rn_acl_filter_match(&f, &wild));
	f.host = "*";
	assert_false(rn_acl_filter_match(&f, &wild));
	f = any;
	f.type = RN_RES_GROUP;
	assert_false(rn_acl_filter_match(&f, &lit));
	const char *why = NULL;
	assert_int_equal(rn_acl_filter_validate(&any, &why), 0);
	f = any;
	f.op = RN_OP_UNKNOWN;
	assert_int_equal(rn_acl_filter_validate(&f, &why), -1);
	assert_non_null(why);
}

static void test_validate(void **state)
{
	(void)state;
	const char *why;
	struct rn_acl ok =
	    acl(RN_RES_TOPIC, RN_PAT_LITERAL, "t", "User:a", "*", RN_OP_READ, RN_PERM_ALLOW);
	assert_int_equal(rn_acl_validate(&ok, &why), 0);
	struct rn_acl bad = ok;
	bad.pattern = RN_PAT_MATCH;
	assert_int_equal(rn_acl_validate(&bad, &why), -1);
	bad = ok;
	bad.op = RN_OP_ANY;
	assert_int_equal(rn_acl_validate(&bad, &why), -1);
	bad = ok;
	bad.perm = RN_PERM_ANY;
	assert_int_equal(rn_acl_validate(&bad, &why), -1);
	bad = ok;
	bad.name = "";
	assert_int_equal(rn_acl_validate(&bad, &why), -1);
	bad = ok;
	bad.principal = "alice";
	assert_int_equal(rn_acl_validate(&bad, &why), -1);
	bad = ok;
	bad.type = RN_RES_CLUSTER;
	assert_int_equal(rn_acl_validate(&bad, &why), -1);
	bad.name = RN_CLUSTER_RESOURCE;
	assert_int_equal(rn_acl_validate(&bad, &why), 0);
	assert_true(rn_authorizer_class_known("kafka.security.authorizer.AclAuthorizer"));
	assert_true(
	    rn_authorizer_class_known("org.apache.kafka.metadata.authorizer.StandardAuthorizer"));
	assert_true(rn_authorizer_class_known("kafka.security.auth.SimpleAclAuthorizer"));
	assert_false(rn_authorizer_class_known("com.example.Other"));
}

static void test_encoding(void **state)
{
	(void)state;
	struct rn_acl a = acl(RN_RES_GROUP, RN_PAT_PREFIXED, "we,ird/na%me\n", "User:CN=x,O=y", "*",
			      RN_OP_DELETE, RN_PERM_DENY);
	char *text = rn_acl_encode(&a);
	assert_null(strchr(text + 3, '/'));
	assert_null(strchr(text, '\n'));
	struct rn_acl b;
	char *blk;
	assert_int_equal(rn_acl_decode(text, &b, &blk), 0);
	assert_int_equal(b.type, a.type);
	assert_int_equal(b.pattern, a.pattern);
	assert_int_equal(b.op, a.op);
	assert_int_equal(b.perm, a.perm);
	assert_string_equal(b.name, a.name);
	assert_string_equal(b.principal, a.principal);
	assert_string_equal(b.host, a.host);
	rn_free(blk);
	rn_free(text);
	assert_int_equal(rn_acl_decode("v1,2,3,3,3,User:a,*", &b, &blk), -1);
	assert_int_equal(rn_acl_decode("v1,2,3,3,3,User:a,*,%Z1", &b, &blk), -1);
	assert_int_equal(rn_acl_decode("garbage", &b, &blk), -1);
	assert_int_equal(rn_acl_decode("v1,2,9,3,3,User:a,*,t", &b, &blk), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_literal_prefixed_wildcard),
	    cmocka_unit_test(test_implied_operations),
	    cmocka_unit_test(test_deny_wins_hosts),
	    cmocka_unit_test(test_super_and_no_acl),
	    cmocka_unit_test(test_by_resource_type),
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_validate),
	    cmocka_unit_test(test_encoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
