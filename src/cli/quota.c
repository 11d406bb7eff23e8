/*
 * `runnel quota alter|list`: client quotas (producer_byte_rate, consumer_byte_rate,
 * request_percentage, ...) per user, per client id or both, through AlterClientQuotas and
 * DescribeClientQuotas (raw requests with the generated codec: librdkafka 2.0 lacks them). Output
 * as kafka-configs.sh --describe prints it.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/rawreq.h"
#include "proto/gen/rn_msg.h"

#define MAX_OPS 32

static const char usage_text[] =
    "Usage: runnel quota <action> [options]\n"
    "\n"
    "Actions:\n"
    "  alter (--user U | --user-default) [--client-id C | --client-id-default]\n"
    "        [--set KEY=VALUE ...] [--delete KEY ...] [--validate-only]\n"
    "                                e.g. --user alice --set producer_byte_rate=1048576\n"
    "  list [--user U | --user-default] [--client-id C | --client-id-default]\n"
    "                                every quota, or those of the entities named\n"
    "\n"
    "Options:\n"
    "  -u, --user U                  the user principal's name (alice for User:alice)\n"
    "      --user-default            the default of all users\n"
    "  -c, --client-id C             the client id\n"
    "      --client-id-default       the default of all client ids (or --client-default)\n"
    "  -s, --set KEY=VALUE           producer_byte_rate, consumer_byte_rate,\n"
    "                                request_percentage, controller_mutation_rate\n"
    "  -d, --delete KEY              remove that quota of the entity\n"
    "      --validate-only           alter: let the broker check it, change nothing\n"
    "      --strict                  list: only entities with exactly the parts named\n";

enum {
	OPT_USER_DEFAULT = RN_CLI_OPT_FIRST_FREE,
	OPT_CLIENT_DEFAULT,
	OPT_VALIDATE_ONLY,
	OPT_STRICT,
};

struct quota_args {
	struct rn_cli_common common;
	const char *user, *client;
	bool user_default, client_default, validate_only, strict;
	int nops;
	struct {
		char key[128];
		double val;
		bool remove;
	} ops[MAX_OPS];
};

static int parse_opt(void *arg, int opt, const char *val)
{
	struct quota_args *a = arg;
	switch (opt) {
	case 'u': a->user = val; return 0;
	case 'c': a->client = val; return 0;
	case OPT_USER_DEFAULT: a->user_default = true; return 0;
	case OPT_CLIENT_DEFAULT: a->client_default = true; return 0;
	case OPT_VALIDATE_ONLY: a->validate_only = true; return 0;
	case OPT_STRICT: a->strict = true; return 0;
	case 's':
	case 'd': {
		if (a->nops == MAX_OPS)
			return rn__cli_err(&a->common, "too many --set/--delete (max %d)", MAX_OPS);
		char *end = NULL;
		const char *v =
		    opt == 's' ? rn__cli_split_kv(val, a->ops[a->nops].key, sizeof(a->ops[0].key))
			       : NULL;
		if (opt == 's') {
			double d = v ? strtod(v, &end) : 0;
			if (!v || !*v || *end || !isfinite(d) || !*a->ops[a->nops].key)
				return rn__cli_err(&a->common, "--set expects KEY=NUMBER, got '%s'",
						   val);
			a->ops[a->nops].val = d;
		} else {
			snprintf(a->ops[a->nops].key, sizeof(a->ops[0].key), "%s", val);
			a->ops[a->nops].remove = true;
		}
		a->nops++;
		return 0;
	}
	default: return 2;
	}
}

/* The entity's (type, name) pairs; name NULL is the type's default. Returns how many. */
static int entity(const struct quota_args *a, const char *types[2], const char *names[2])
{
	int n = 0;
	if (a->user || a->user_default) {
		types[n] = "user";
		names[n++] = a->user_default ? NULL : a->user;
	}
	if (a->client || a->client_default) {
		types[n] = "client-id";
		names[n++] = a->client_default ? NULL : a->client;
	}
	return n;
}

/* Appends one decoded (type, name) of an entity to out: "user-principal 'alice'", then
 * ", client-id 'c1'" (more); a null name is the type's default. */
static void entity_part(struct rn_str type, struct rn_str name, bool more, char *out, size_t len)
{
	char t[64], nm[256];
	rn__cli_str(type, t, sizeof(t));
	const char *tn = strcmp(t, "user") == 0 ? "user-principal" : t;
	size_t l = strlen(out);
	if (name.len < 0)
		snprintf(out + l, len - l, "%sthe default %s", more ? ", " : "", tn);
	else
		snprintf(out + l, len - l, "%s%s '%s'", more ? ", " : "", tn,
			 rn__cli_str(name, nm, sizeof(nm)));
}

static int do_alter(struct quota_args *a)
{
	const char *types[2], *names[2];
	int n = entity(a, types, names);
	if (n == 0)
		return rn__cli_err(&a->common, "alter needs --user or --client-id (see --help)") +
		       1;
	if (a->nops == 0)
		return rn__cli_err(&a->common, "alter needs --set KEY=VALUE or --delete KEY") + 1;
	struct rn_alter_client_quotas_request_entity_data ent[2];
	struct rn_alter_client_quotas_request_op_data ops[MAX_OPS];
	for (int i = 0; i < n; i++)
		ent[i] = (struct rn_alter_client_quotas_request_entity_data){rn_str_c(types[i]),
									     rn_str_c(names[i])};
	for (int i = 0; i < a->nops; i++)
		ops[i] = (struct rn_alter_client_quotas_request_op_data){
		    rn_str_c(a->ops[i].key), a->ops[i].val, a->ops[i].remove};
	struct rn_alter_client_quotas_request_entry_data entry = {
	    .entity = ent, .entity_count = n, .ops = ops, .ops_count = a->nops};
	struct rn_alter_client_quotas_request rq = {
	    .entries = &entry, .entries_count = 1, .validate_only = a->validate_only};
	struct rn__cli_rawreq r;
	struct rn_alter_client_quotas_response *resp;
	int rc = rn__cli_rawreq_call(&a->common, &r, RN_API_ALTER_CLIENT_QUOTAS, 0, 1, &rq,
				     (void **)&resp);
	for (int32_t i = 0; resp && i < resp->entries_count; i++) {
		const struct rn_alter_client_quotas_response_entry_data *e = &resp->entries[i];
		char msg[768], desc[600] = "";
		for (int32_t k = 0; k < e->entity_count; k++)
			entity_part(e->entity[k].entity_type, e->entity[k].entity_name, k > 0, desc,
				    sizeof(desc));
		if (e->error_code)
			rc = rn__cli_err(
			    &a->common, "%s: %s", desc,
			    rn__cli_kerr_msg(e->error_code, e->error_message, msg, sizeof(msg)));
		else
			printf("%s quota configs for %s\n",
			       a->validate_only ? "Validated" : "Completed updating", desc);
	}
	rn__cli_rawreq_free(&r);
	return rc;
}

static int do_list(struct quota_args *a)
{
	const char *types[2], *names[2];
	int n = entity(a, types, names);
	struct rn_describe_client_quotas_request_component_data comp[2];
	for (int i = 0; i < n; i++) /* match type 0: the exact name, 1: the default */
		comp[i] = (struct rn_describe_client_quotas_request_component_data){
		    rn_str_c(types[i]), names[i] ? 0 : 1, rn_str_c(names[i])};
	/* With both named: that pair only. */
	struct rn_describe_client_quotas_request rq = {
	    .components = comp, .components_count = n, .strict = a->strict || n == 2};
	struct rn__cli_rawreq r;
	struct rn_describe_client_quotas_response *resp;
	int rc = rn__cli_rawreq_call(&a->common, &r, RN_API_DESCRIBE_CLIENT_QUOTAS, 0, 1, &rq,
				     (void **)&resp);
	if (resp && resp->error_code) {
		rc = rn__cli_kerr_err(&a->common, resp->error_code, resp->error_message);
		resp = NULL;
	}
	for (int32_t i = 0; resp && i < resp->entries_count; i++) {
		const struct rn_describe_client_quotas_response_entry_data *e = &resp->entries[i];
		char desc[600] = "", vals[2048] = "";
		for (int32_t k = 0; k < e->entity_count; k++)
			entity_part(e->entity[k].entity_type, e->entity[k].entity_name, k > 0, desc,
				    sizeof(desc));
		for (int32_t j = 0; j < e->values_count; j++) {
			char key[128];
			rn__cli_str(e->values[j].key, key, sizeof(key));
			double d = e->values[j].value;
			size_t l = strlen(vals);
			/* Java prints doubles with a fraction: 1048576.0 */
			if (d == floor(d) && fabs(d) < 1e15)
				snprintf(vals + l, sizeof(vals) - l, "%s%s=%.1f", j ? ", " : "",
					 key, d);
			else
				snprintf(vals + l, sizeof(vals) - l, "%s%s=%g", j ? ", " : "", key,
					 d);
		}
		printf("Quota configs for %s are %s\n", desc, vals);
	}
	rn__cli_rawreq_free(&r);
	return rc;
}

int rn_cli_quota(int argc, char **argv)
{
	static const char *const actions[] = {"alter", "list"};
	static const struct option longopts[] = {
	    {"user", required_argument, NULL, 'u'},
	    {"user-default", no_argument, NULL, OPT_USER_DEFAULT},
	    {"client-id", required_argument, NULL, 'c'},
	    {"client-id-default", no_argument, NULL, OPT_CLIENT_DEFAULT},
	    {"client-default", no_argument, NULL, OPT_CLIENT_DEFAULT},
	    {"strict", no_argument, NULL, OPT_STRICT},
	    {"set", required_argument, NULL, 's'},
	    {"delete", required_argument, NULL, 'd'},
	    {"validate-only", no_argument, NULL, OPT_VALIDATE_ONLY},
	    {0},
	};
	struct quota_args a = {0};
	char cmd[64];
	int arc = rn__cli_action(argc, argv, "quota", actions, sizeof(actions) / sizeof(actions[0]),
				 usage_text);
	if (arc >= 0)
		return arc;
	snprintf(cmd, sizeof(cmd), "runnel quota %s", argv[1]);
	rn__cli_common_init(&a.common, cmd);
	int rc = rn__cli_getopt(&a.common, argc - 1, argv + 1, "u:c:s:d:", longopts, usage_text,
				parse_opt, &a);
	if (rc >= 0)
		return rc;
	if (optind < argc - 1)
		return rn__cli_err(&a.common, "unexpected argument '%s'", argv[1 + optind]) + 1;
	if ((a.user && a.user_default) || (a.client && a.client_default))
		return rn__cli_err(&a.common, "a name and its -default exclude each other") + 1;
	if (strcmp(argv[1], "alter") == 0)
		return do_alter(&a);
	if (a.nops)
		return rn__cli_err(&a.common, "list takes no --set/--delete") + 1;
	return do_list(&a);
}
