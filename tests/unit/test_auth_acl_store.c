/* The authorizer over the real embedded metadata store: ACL records load at follow time,
 * changes reach the cache through the store's watch, records survive a reopen, an unreadable
 * record is skipped; the audit file gets one timestamped line per call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/acl.h"
#include "auth/session.h"
#include "core/alloc.h"
#include "meta/store.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rn-aclstore-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static int put(struct rn_meta *m, const struct rn_acl *a, bool del)
{
	char *rec = rn_acl_encode(a);
	int rc = rn_meta_sec_put(m, RN_ACL_NS, rec, del ? NULL : rec);
	rn_free(rec);
	return rc;
}

static void test_follow_watch_reopen(void **state)
{
	(void)state;
	struct rn_meta *m;
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	struct rn_acl w = {RN_RES_TOPIC, RN_PAT_PREFIXED, "app, with spaces/", "User:a",
			   "*",          RN_OP_WRITE,     RN_PERM_ALLOW};
	struct rn_acl r = {RN_RES_TOPIC, RN_PAT_LITERAL, "x",          "User:a",
			   "*",          RN_OP_READ,     RN_PERM_ALLOW};
	assert_int_equal(put(m, &w, false), 0);
	assert_int_equal(rn_meta_sec_put(m, RN_ACL_NS, "junk", "not an acl"), 0);
	struct rn_session s = {0};
	strcpy(s.principal, "User:a");
	strcpy(s.host, "127.0.0.1");
	struct rn_authorizer *az = rn_authorizer_new(NULL, false);
	rn_authorizer_follow(az, m);
	const char *t = "app, with spaces/orders";
	assert_true(rn_authorize(az, &s, RN_OP_WRITE, RN_RES_TOPIC, t, strlen(t)));
	assert_false(rn_authorize(az, &s, RN_OP_READ, RN_RES_TOPIC, "x", 1));
	/* The watch reloads on every change. */
	assert_int_equal(put(m, &r, false), 0);
	assert_true(rn_authorize(az, &s, RN_OP_READ, RN_RES_TOPIC, "x", 1));
	assert_int_equal(put(m, &w, true), 0);
	assert_false(rn_authorize(az, &s, RN_OP_WRITE, RN_RES_TOPIC, t, strlen(t)));
	rn_meta_close(m);
	rn_authorizer_free(az);
	/* Durable: a new store and authorizer see what is left. */
	assert_int_equal(rn_meta_open(dir, 1, &m), 0);
	az = rn_authorizer_new(NULL, false);
	rn_authorizer_follow(az, m);
	assert_true(rn_authorize(az, &s, RN_OP_READ, RN_RES_TOPIC, "x", 1));
	assert_false(rn_authorize(az, &s, RN_OP_WRITE, RN_RES_TOPIC, t, strlen(t)));
	rn_meta_close(m);
	rn_authorizer_free(az);
}

static void test_audit_file(void **state)
{
	(void)state;
	char path[300];
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	assert_int_equal(rn_audit_open(path), 0);
	rn_audit("User:a", "127.0.0.1:1", "Write", "Topic:t", "DENIED");
	rn_audit(NULL, NULL, "CreateAcls", "Topic:LITERAL:t", "CREATED");
	rn_audit_close();
	rn_audit("User:b", "x", "Read", "Topic:t", "DENIED"); /* log only, file closed */
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[512];
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(strstr(line, "Z principal=User:a client=127.0.0.1:1 operation=Write "
				     "resource=Topic:t result=DENIED\n"));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(strstr(line, "principal=- client=- operation=CreateAcls"));
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_follow_watch_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
