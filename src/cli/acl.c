/*
 * `runnel acl add|list|remove`: ACLs through CreateAcls, DescribeAcls and DeleteAcls, with
 * kafka-acls.sh's model and words. Raw requests (v1-3): librdkafka 2.0 refuses the
 * TRANSACTIONAL_ID resource type in its ACL calls.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/rawreq.h"

#define API_DESCRIBE_ACLS 29
#define API_CREATE_ACLS   30
#define API_DELETE_ACLS   31
#define MAX_ITEMS         16

/* Kafka's enums (AclOperation, ResourceType, PatternType, AclPermissionType), by their ids. */
static const char *const op_names[] = {"UNKNOWN",
				       "ANY",
				       "ALL",
				       "READ",
				       "WRITE",
				       "CREATE",
				       "DELETE",
				       "ALTER",
				       "DESCRIBE",
				       "CLUSTER_ACTION",
				       "DESCRIBE_CONFIGS",
				       "ALTER_CONFIGS",
				       "IDEMPOTENT_WRITE",
				       "CREATE_TOKENS",
				       "DESCRIBE_TOKENS"};
static const char *const type_names[] = {
    "UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER"};
static const char *const pattern_names[] = {"UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"};
static const char *const perm_names[] = {"UNKNOWN", "ANY", "DENY", "ALLOW"};
enum { T_ANY = 1, T_TOPIC, T_GROUP, T_CLUSTER, T_TXN, T_TOKEN };
enum { P_ANY = 1, P_MATCH, P_LITERAL, P_PREFIXED };
enum { PERM_ANY = 1, PERM_DENY, PERM_ALLOW };
enum { OP_ANY = 1 };

#define NAME_OF(tab, v) ((v) >= 0 && (size_t)(v) < sizeof(tab) / sizeof(tab[0]) ? tab[v] : "?")

static const char usage_text[] =
    "Usage: runnel acl <action> [options]\n"
    "\n"
    "Actions:\n"
    "  add --allow|--deny PRINCIPAL --operation OP RESOURCE... [--prefixed] [--host H]\n"
    "                                e.g. --allow User:alice --operation WRITE --topic orders\n"
    "  list [RESOURCE...] [--allow|--deny|--principal P] [--operation OP]\n"
    "                                every ACL, or those matching the filters\n"
    "  remove RESOURCE... [--allow|--deny P] [--operation OP] [--prefixed] [--host H]\n"
    "                                the ACLs matching (no principal/operation: all of the\n"
    "                                resource's)\n"
    "\n"
    "Resources (repeatable):\n"
    "      --topic T | --group G | --transactional-id T | --delegation-token T | --cluster\n"
    "Options:\n"
    "      --allow PRINCIPAL         allow this principal (User:NAME), repeatable\n"
    "      --deny PRINCIPAL          deny this principal, repeatable\n"
    "      --principal PRINCIPAL     list: either permission\n"
    "      --operation OP            READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE,\n"
    "                                CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS,\n"
    "                                IDEMPOTENT_WRITE, ALL; repeatable\n"
    "      --prefixed                the resource names are prefixes\n"
    "      --resource-pattern-type T literal, prefixed, match or any\n"
    "      --host H                  the client host the ACL applies to (default *)\n"
    "  (kafka-acls.sh's --allow-principal, --deny-principal, --allow-host, --deny-host are\n"
    "   accepted too)\n";

enum {
	OPT_ALLOW = RN_CLI_OPT_FIRST_FREE,
	OPT_DENY,
	OPT_PRINCIPAL,
	OPT_OPERATION,
	OPT_TOPIC,
	OPT_GROUP,
	OPT_TXN,
	OPT_TOKEN,
	OPT_CLUSTER,
	OPT_PREFIXED,
	OPT_PATTERN,
	OPT_HOST,
};

struct acl_args {
	struct rn_cli_common common;
	const char *action;
	struct {
		const char *name;
		int perm;
	} principals[MAX_ITEMS];
	int nprincipals;
	int ops[MAX_ITEMS], nops;
	struct {
		int type;
		const char *name;
	} res[MAX_ITEMS];
	int nres;
	int pattern; /* 0: the action's default */
	const char *host;
};

static int lookup(const char *const *tab, size_t n, const char *s)
{
	for (size_t i = 1; i < n; i++) {
		/* kafka-acls.sh spells them CamelCase (IdempotentWrite) or upper case. */
		const char *a = tab[i], *b = s;
		while (*a && *b) {
			if (*a == '_') {
				a++;
				if (*b == '_')
					b++;
				continue;
			}
			if ((*a | 0x20) != (*b | 0x20))
				break;
			a++, b++;
		}
		if (!*a && !*b)
			return (int)i;
	}
	return -1;
}

static int parse_opt(void *arg, int opt, const char *val)
{
	struct acl_args *a = arg;
	if ((opt == OPT_ALLOW || opt == OPT_DENY || opt == OPT_PRINCIPAL) &&
	    a->nprincipals < MAX_ITEMS) {
		if (!strchr(val, ':'))
			return rn__cli_err(&a->common,
					   "principal '%s' is not TYPE:NAME (User:alice)", val);
		a->principals[a->nprincipals].name = val;
		a->principals[a->nprincipals++].perm = opt == OPT_ALLOW  ? PERM_ALLOW
						       : opt == OPT_DENY ? PERM_DENY
									 : PERM_ANY;
		return 0;
	}
	if (opt == OPT_OPERATION && a->nops < MAX_ITEMS) {
		int op = lookup(op_names, sizeof(op_names) / sizeof(op_names[0]), val);
		if (op < 0)
			return rn__cli_err(&a->common, "unknown --operation '%s' (see --help)",
					   val);
		a->ops[a->nops++] = op;
		return 0;
	}
	if (opt >= OPT_TOPIC && opt <= OPT_CLUSTER && a->nres < MAX_ITEMS) {
		static const int types[] = {T_TOPIC, T_GROUP, T_TXN, T_TOKEN, T_CLUSTER};
		a->res[a->nres].type = types[opt - OPT_TOPIC];
		a->res[a->nres++].name = opt == OPT_CLUSTER ? "kafka-cluster" : val;
		return 0;
	}
	switch (opt) {
	case OPT_PREFIXED: a->pattern = P_PREFIXED; return 0;
	case OPT_PATTERN:
		a->pattern =
		    lookup(pattern_names, sizeof(pattern_names) / sizeof(pattern_names[0]), val);
		if (a->pattern < 0)
			return rn__cli_err(&a->common,
					   "--resource-pattern-type expects literal, prefixed, "
					   "match or any, got '%s'",
					   val);
		return 0;
	case OPT_HOST: a->host = val; return 0;
	default: return rn__cli_err(&a->common, "too many values (max %d each)", MAX_ITEMS);
	}
}

static void wr_str(struct rn_iochain *w, const char *s, bool flex)
{
	rn_wr_string(w, s ? rn_str_c(s) : RN_STR_NULL, flex);
}

/* One (resource type, name, pattern, principal, host, op, perm): a binding or a filter. */
struct acl {
	int type;
	const char *name;
	int pattern;
	const char *principal, *host;
	int op, perm;
};

struct acl_list {
	struct acl *v;
	int n;
};

static void encode_acl(struct rn_iochain *w, const struct acl *x, bool flex)
{
	rn_wr_i8(w, (int8_t)x->type);
	wr_str(w, x->name, flex);
	rn_wr_i8(w, (int8_t)x->pattern);
	wr_str(w, x->principal, flex);
	wr_str(w, x->host, flex);
	rn_wr_i8(w, (int8_t)x->op);
	rn_wr_i8(w, (int8_t)x->perm);
}

/* CreateAcls and DeleteAcls: an array of them; DescribeAcls: the one filter. */
static void encode_array(struct rn_iochain *w, int16_t v, bool flex, void *arg)
{
	(void)v;
	const struct acl_list *l = arg;
	rn_wr_count(w, l->n, flex);
	for (int i = 0; i < l->n; i++) {
		encode_acl(w, &l->v[i], flex);
		if (flex)
			rn_wr_empty_tags(w);
	}
	if (flex)
		rn_wr_empty_tags(w);
}

static void encode_one(struct rn_iochain *w, int16_t v, bool flex, void *arg)
{
	(void)v;
	encode_acl(w, arg, flex);
	if (flex)
		rn_wr_empty_tags(w);
}

/* The cross product principals x operations x resources (ANY for what is not given when
 * filter). Returns how many (the caller frees l->v). */
static int expand(const struct acl_args *a, bool filter, int pattern, struct acl_list *l)
{
	int np = a->nprincipals ? a->nprincipals : 1, no = a->nops ? a->nops : 1,
	    nr = a->nres ? a->nres : 1;
	l->v = calloc((size_t)(np * no * nr), sizeof(*l->v));
	l->n = 0;
	for (int r = 0; r < nr; r++)
		for (int p = 0; p < np; p++)
			for (int o = 0; o < no; o++) {
				struct acl *x = &l->v[l->n++];
				x->type = a->nres ? a->res[r].type : T_ANY;
				x->name = a->nres ? a->res[r].name : NULL;
				x->pattern = pattern;
				x->principal = a->nprincipals ? a->principals[p].name : NULL;
				x->perm = a->nprincipals ? a->principals[p].perm : PERM_ANY;
				x->host = a->host ? a->host : filter ? NULL : "*";
				x->op = a->nops ? a->ops[o] : OP_ANY;
			}
	return l->n;
}

static void print_resource(int type, const char *name, int pattern)
{
	printf("Current ACLs for resource `ResourcePattern(resourceType=%s, name=%s, "
	       "patternType=%s)`: \n",
	       NAME_OF(type_names, type), name, NAME_OF(pattern_names, pattern));
}

static void print_acl(const char *principal, const char *host, int op, int perm)
{
	printf(" \t(principal=%s, host=%s, operation=%s, permissionType=%s)\n", principal, host,
	       NAME_OF(op_names, op), NAME_OF(perm_names, perm));
}

static int do_add(struct acl_args *a)
{
	if (!a->nprincipals || !a->nops || !a->nres)
		return rn__cli_err(&a->common, "add needs --allow or --deny PRINCIPAL, --operation "
					       "and a resource (see --help)") +
		       1;
	for (int i = 0; i < a->nprincipals; i++)
		if (a->principals[i].perm == PERM_ANY)
			return rn__cli_err(&a->common, "add takes --allow or --deny, not "
						       "--principal") +
			       1;
	int pattern = a->pattern ? a->pattern : P_LITERAL;
	if (pattern != P_LITERAL && pattern != P_PREFIXED)
		return rn__cli_err(&a->common, "add takes a literal or prefixed pattern") + 1;
	struct acl_list l;
	expand(a, false, pattern, &l);
	struct rn__cli_rawreq r;
	int rc = rn__cli_rawreq_call(&a->common, &r, API_CREATE_ACLS, 1, 3, 2, encode_array, &l,
				     "CreateAcls");
	struct rn_rd *rd = &r.rd;
	if (rc == 0) {
		bool flex = r.flexible;
		rn_rd_i32(rd);
		int32_t n = rn_rd_count(rd, flex);
		for (int32_t i = 0; i < n && i < l.n && !rd->err; i++) {
			char msg[512];
			int16_t err = rn_rd_i16(rd);
			rn__cli_str(rn_rd_string(rd, flex), msg, sizeof(msg));
			if (flex)
				rn_rd_skip_tags(rd);
			if (rd->err)
				break;
			const struct acl *x = &l.v[i];
			if (err)
				rc = rn__cli_err(
				    &a->common, "%s %s on %s %s for %s: %s%s%s",
				    NAME_OF(perm_names, x->perm), NAME_OF(op_names, x->op),
				    NAME_OF(type_names, x->type), x->name, x->principal,
				    rn__cli_kerr(err), *msg ? ": " : "", msg);
			else
				printf("Added ACL: %s %s on %s %s (%s) for %s from host %s\n",
				       NAME_OF(perm_names, x->perm), NAME_OF(op_names, x->op),
				       NAME_OF(type_names, x->type), x->name,
				       NAME_OF(pattern_names, x->pattern), x->principal, x->host);
		}
		if (rd->err)
			rc = rn__cli_err(&a->common, "malformed CreateAcls response");
	}
	rn__cli_rawreq_free(&r);
	free(l.v);
	return rc;
}

/* Reads a DescribeAcls answer and prints it; returns the exit code. */
static int describe_one(struct acl_args *a, struct acl *f)
{
	struct rn__cli_rawreq r;
	int rc = rn__cli_rawreq_call(&a->common, &r, API_DESCRIBE_ACLS, 1, 3, 2, encode_one, f,
				     "DescribeAcls");
	struct rn_rd *rd = &r.rd;
	if (rc) {
		rn__cli_rawreq_free(&r);
		return rc;
	}
	bool flex = r.flexible;
	char msg[512];
	rn_rd_i32(rd);
	int16_t err = rn_rd_i16(rd);
	rn__cli_str(rn_rd_string(rd, flex), msg, sizeof(msg));
	if (err && !rd->err) {
		rn__cli_rawreq_free(&r);
		return rn__cli_err(&a->common, "%s%s%s", rn__cli_kerr(err), *msg ? ": " : "", msg);
	}
	int32_t n = rn_rd_count(rd, flex);
	for (int32_t i = 0; i < n && !rd->err; i++) {
		char name[512];
		int type = rn_rd_i8(rd);
		rn__cli_str(rn_rd_string(rd, flex), name, sizeof(name));
		int pattern = rn_rd_i8(rd);
		int32_t k = rn_rd_count(rd, flex);
		if (!rd->err)
			print_resource(type, name, pattern);
		for (int32_t j = 0; j < k && !rd->err; j++) {
			char pr[512], host[256];
			rn__cli_str(rn_rd_string(rd, flex), pr, sizeof(pr));
			rn__cli_str(rn_rd_string(rd, flex), host, sizeof(host));
			int op = rn_rd_i8(rd), perm = rn_rd_i8(rd);
			if (flex)
				rn_rd_skip_tags(rd);
			if (!rd->err)
				print_acl(pr, host, op, perm);
		}
		if (flex)
			rn_rd_skip_tags(rd);
		if (!rd->err)
			printf("\n");
	}
	if (rd->err)
		rc = rn__cli_err(&a->common, "malformed DescribeAcls response");
	rn__cli_rawreq_free(&r);
	return rc;
}

static int do_list(struct acl_args *a)
{
	/* kafka-acls.sh: literal when a resource is named, else everything. */
	int pattern = a->pattern ? a->pattern : a->nres ? P_LITERAL : P_ANY;
	struct acl_list l;
	expand(a, true, pattern, &l);
	int rc = 0;
	for (int i = 0; i < l.n && rc == 0; i++)
		rc = describe_one(a, &l.v[i]);
	free(l.v);
	return rc;
}

static int do_remove(struct acl_args *a)
{
	if (!a->nres)
		return rn__cli_err(&a->common, "remove needs a resource (see --help)") + 1;
	struct acl_list l;
	expand(a, true, a->pattern ? a->pattern : P_LITERAL, &l);
	struct rn__cli_rawreq r;
	int rc = rn__cli_rawreq_call(&a->common, &r, API_DELETE_ACLS, 1, 3, 2, encode_array, &l,
				     "DeleteAcls");
	struct rn_rd *rd = &r.rd;
	int removed = 0;
	if (rc == 0) {
		bool flex = r.flexible;
		rn_rd_i32(rd);
		int32_t n = rn_rd_count(rd, flex);
		for (int32_t i = 0; i < n && !rd->err; i++) {
			char msg[512];
			int16_t err = rn_rd_i16(rd);
			rn__cli_str(rn_rd_string(rd, flex), msg, sizeof(msg));
			if (err && !rd->err)
				rc = rn__cli_err(&a->common, "%s%s%s", rn__cli_kerr(err),
						 *msg ? ": " : "", msg);
			int32_t k = rn_rd_count(rd, flex);
			for (int32_t j = 0; j < k && !rd->err; j++) {
				char name[512], pr[512], host[256];
				int16_t e2 = rn_rd_i16(rd);
				rn__cli_str(rn_rd_string(rd, flex), msg, sizeof(msg));
				int type = rn_rd_i8(rd);
				rn__cli_str(rn_rd_string(rd, flex), name, sizeof(name));
				int pattern = rn_rd_i8(rd);
				rn__cli_str(rn_rd_string(rd, flex), pr, sizeof(pr));
				rn__cli_str(rn_rd_string(rd, flex), host, sizeof(host));
				int op = rn_rd_i8(rd), perm = rn_rd_i8(rd);
				if (flex)
					rn_rd_skip_tags(rd);
				if (rd->err)
					break;
				if (e2) {
					rc = rn__cli_err(&a->common, "%s: %s%s%s", name,
							 rn__cli_kerr(e2), *msg ? ": " : "", msg);
					continue;
				}
				removed++;
				printf("Removed ACL: %s %s on %s %s (%s) for %s from host %s\n",
				       NAME_OF(perm_names, perm), NAME_OF(op_names, op),
				       NAME_OF(type_names, type), name,
				       NAME_OF(pattern_names, pattern), pr, host);
			}
			if (flex)
				rn_rd_skip_tags(rd);
		}
		if (rd->err)
			rc = rn__cli_err(&a->common, "malformed DeleteAcls response");
		else if (rc == 0 && removed == 0)
			printf("No ACL matched\n");
	}
	rn__cli_rawreq_free(&r);
	free(l.v);
	return rc;
}

int rn_cli_acl(int argc, char **argv)
{
	static const char *const actions[] = {"add", "list", "remove"};
	static const struct option longopts[] = {
	    {"allow", required_argument, NULL, OPT_ALLOW},
	    {"allow-principal", required_argument, NULL, OPT_ALLOW},
	    {"deny", required_argument, NULL, OPT_DENY},
	    {"deny-principal", required_argument, NULL, OPT_DENY},
	    {"principal", required_argument, NULL, OPT_PRINCIPAL},
	    {"operation", required_argument, NULL, OPT_OPERATION},
	    {"topic", required_argument, NULL, OPT_TOPIC},
	    {"group", required_argument, NULL, OPT_GROUP},
	    {"transactional-id", required_argument, NULL, OPT_TXN},
	    {"delegation-token", required_argument, NULL, OPT_TOKEN},
	    {"cluster", no_argument, NULL, OPT_CLUSTER},
	    {"prefixed", no_argument, NULL, OPT_PREFIXED},
	    {"resource-pattern-type", required_argument, NULL, OPT_PATTERN},
	    {"host", required_argument, NULL, OPT_HOST},
	    {"allow-host", required_argument, NULL, OPT_HOST},
	    {"deny-host", required_argument, NULL, OPT_HOST},
	    {0},
	};
	struct acl_args a = {0};
	char cmd[64];
	int arc = rn__cli_action(argc, argv, "acl", actions, sizeof(actions) / sizeof(actions[0]),
				 usage_text);
	if (arc >= 0)
		return arc;
	snprintf(cmd, sizeof(cmd), "runnel acl %s", argv[1]);
	rn__cli_common_init(&a.common, cmd);
	a.action = argv[1];
	int rc =
	    rn__cli_getopt(&a.common, argc - 1, argv + 1, "", longopts, usage_text, parse_opt, &a);
	if (rc >= 0)
		return rc;
	if (optind < argc - 1)
		return rn__cli_err(&a.common, "unexpected argument '%s'", argv[1 + optind]) + 1;
	if (strcmp(a.action, "add") == 0)
		return do_add(&a);
	if (strcmp(a.action, "remove") == 0)
		return do_remove(&a);
	return do_list(&a);
}
