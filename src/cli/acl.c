/*
 * `runnel acl add|list|remove`: ACLs through CreateAcls, DescribeAcls and DeleteAcls, with
 * kafka-acls.sh's model and words. Raw requests (v1-3, the generated codec): librdkafka 2.0 refuses
 * the TRANSACTIONAL_ID resource type in its ACL calls.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/rawreq.h"
#include "proto/gen/rn_msg.h"

#define MAX_ITEMS 16

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

/* The fields of a DescribeAcls request and of a DeleteAcls filter (the same names). */
#define ACL_FILTER(x)                                                                              \
	{                                                                                          \
		.resource_type_filter = (int8_t)(x)->type,                                         \
		.resource_name_filter = rn_str_c((x)->name),                                       \
		.pattern_type_filter = (int8_t)(x)->pattern,                                       \
		.principal_filter = rn_str_c((x)->principal), .host_filter = rn_str_c((x)->host),  \
		.operation = (int8_t)(x)->op, .permission_type = (int8_t)(x)->perm,                \
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
	struct rn_create_acls_request_acl_creation *c = calloc((size_t)l.n, sizeof(*c));
	for (int i = 0; i < l.n; i++) {
		const struct acl *x = &l.v[i];
		c[i] = (struct rn_create_acls_request_acl_creation){
		    .resource_type = (int8_t)x->type,
		    .resource_name = rn_str_c(x->name),
		    .resource_pattern_type = (int8_t)x->pattern,
		    .principal = rn_str_c(x->principal),
		    .host = rn_str_c(x->host),
		    .operation = (int8_t)x->op,
		    .permission_type = (int8_t)x->perm,
		};
	}
	struct rn_create_acls_request rq = {.creations = c, .creations_count = l.n};
	struct rn__cli_rawreq r;
	struct rn_create_acls_response *resp;
	int rc = rn__cli_rawreq_call(&a->common, &r, RN_API_CREATE_ACLS, 1, 3, &rq, (void **)&resp);
	for (int32_t i = 0; resp && i < resp->results_count && i < l.n; i++) {
		char msg[768];
		const struct acl *x = &l.v[i];
		if (resp->results[i].error_code)
			rc = rn__cli_err(&a->common, "%s %s on %s %s for %s: %s",
					 NAME_OF(perm_names, x->perm), NAME_OF(op_names, x->op),
					 NAME_OF(type_names, x->type), x->name, x->principal,
					 rn__cli_kerr_msg(resp->results[i].error_code,
							  resp->results[i].error_message, msg,
							  sizeof(msg)));
		else
			printf("Added ACL: %s %s on %s %s (%s) for %s from host %s\n",
			       NAME_OF(perm_names, x->perm), NAME_OF(op_names, x->op),
			       NAME_OF(type_names, x->type), x->name,
			       NAME_OF(pattern_names, x->pattern), x->principal, x->host);
	}
	rn__cli_rawreq_free(&r);
	free(c);
	free(l.v);
	return rc;
}

/* Sends a DescribeAcls of filter f and prints the answer; returns the exit code. */
static int describe_one(struct acl_args *a, struct acl *f)
{
	struct rn_describe_acls_request rq = ACL_FILTER(f);
	struct rn__cli_rawreq r;
	struct rn_describe_acls_response *resp;
	int rc =
	    rn__cli_rawreq_call(&a->common, &r, RN_API_DESCRIBE_ACLS, 1, 3, &rq, (void **)&resp);
	if (resp && resp->error_code) {
		rc = rn__cli_kerr_err(&a->common, resp->error_code, resp->error_message);
		resp = NULL;
	}
	for (int32_t i = 0; resp && i < resp->resources_count; i++) {
		const struct rn_describe_acls_response_describe_acls_resource *res =
		    &resp->resources[i];
		char name[512];
		print_resource(res->resource_type,
			       rn__cli_str(res->resource_name, name, sizeof(name)),
			       res->pattern_type);
		for (int32_t j = 0; j < res->acls_count; j++) {
			const struct rn_describe_acls_response_acl_description *d = &res->acls[j];
			char pr[512], host[256];
			print_acl(rn__cli_str(d->principal, pr, sizeof(pr)),
				  rn__cli_str(d->host, host, sizeof(host)), d->operation,
				  d->permission_type);
		}
		printf("\n");
	}
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
	struct rn_delete_acls_request_delete_acls_filter *f = calloc((size_t)l.n, sizeof(*f));
	for (int i = 0; i < l.n; i++)
		f[i] = (struct rn_delete_acls_request_delete_acls_filter)ACL_FILTER(&l.v[i]);
	struct rn_delete_acls_request rq = {.filters = f, .filters_count = l.n};
	struct rn__cli_rawreq r;
	struct rn_delete_acls_response *resp;
	int rc = rn__cli_rawreq_call(&a->common, &r, RN_API_DELETE_ACLS, 1, 3, &rq, (void **)&resp);
	int removed = 0;
	for (int32_t i = 0; resp && i < resp->filter_results_count; i++) {
		const struct rn_delete_acls_response_delete_acls_filter_result *fr =
		    &resp->filter_results[i];
		char msg[768];
		if (fr->error_code)
			rc = rn__cli_err(
			    &a->common, "%s",
			    rn__cli_kerr_msg(fr->error_code, fr->error_message, msg, sizeof(msg)));
		for (int32_t j = 0; j < fr->matching_acls_count; j++) {
			const struct rn_delete_acls_response_delete_acls_matching_acl *m =
			    &fr->matching_acls[j];
			char name[512], pr[512], host[256];
			rn__cli_str(m->resource_name, name, sizeof(name));
			if (m->error_code) {
				rc = rn__cli_err(&a->common, "%s: %s", name,
						 rn__cli_kerr_msg(m->error_code, m->error_message,
								  msg, sizeof(msg)));
				continue;
			}
			removed++;
			printf("Removed ACL: %s %s on %s %s (%s) for %s from host %s\n",
			       NAME_OF(perm_names, m->permission_type),
			       NAME_OF(op_names, m->operation),
			       NAME_OF(type_names, m->resource_type), name,
			       NAME_OF(pattern_names, m->pattern_type),
			       rn__cli_str(m->principal, pr, sizeof(pr)),
			       rn__cli_str(m->host, host, sizeof(host)));
		}
	}
	if (resp && rc == 0 && removed == 0)
		printf("No ACL matched\n");
	rn__cli_rawreq_free(&r);
	free(f);
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
