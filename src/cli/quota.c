/*
 * `runnel quota alter` and `runnel quota list`: client quotas (producer_byte_rate,
 * consumer_byte_rate, request_percentage) on users, client-ids or both, as kafka-configs.sh
 * --entity-type users/clients does. librdkafka has no client quota API, so one raw
 * AlterClientQuotas / DescribeClientQuotas v0 goes to the first broker that answers, encoded by
 * Runnel's own codec.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/raw.h"
#include "core/arena.h"
#include "proto/gen/rn_msg.h"

#define MAX_CHANGES 16

static const char usage_text[] =
    "Usage: runnel quota alter (--user U | --user-default) [--client-id C | --client-default]\n"
    "                          [--set KEY=VALUE ...] [--delete KEY ...] [--validate-only]\n"
    "       runnel quota alter (--client-id C | --client-default) ...\n"
    "       runnel quota list [--user U | --user-default] [--client-id C | --client-default]\n"
    "                         [--strict]\n"
    "\n"
    "Client quotas, Kafka's: KEY is producer_byte_rate or consumer_byte_rate (bytes per second)\n"
    "or request_percentage (handler time, percent of one thread), set on a user, a client-id or\n"
    "both; the --*-default options name the <default> entity of their kind. A client over its\n"
    "quota is slowed down (throttle_time_ms), never refused.\n"
    "list without options shows every quota; with them, the entities naming that user /\n"
    "client-id (--strict: only entities with exactly the parts given).\n"
    "\n";

static const char *const actions[] = {"alter", "list"};

struct q_args {
	struct rn_cli_common common;
	bool alter;
	const char *user, *client;
	bool user_default, client_default, strict, validate_only;
	const char *sets[MAX_CHANGES], *dels[MAX_CHANGES];
	int nsets, ndels;
};

enum {
	OPT_USER = RN_CLI_OPT_FIRST_FREE,
	OPT_CLIENT,
	OPT_USER_DEFAULT,
	OPT_CLIENT_DEFAULT,
	OPT_SET,
	OPT_DELETE,
	OPT_STRICT,
	OPT_VALIDATE,
};

static int parse_opt(void *arg_, int opt, const char *arg)
{
	struct q_args *a = arg_;
	switch (opt) {
	case OPT_USER: a->user = arg; return 0;
	case OPT_CLIENT: a->client = arg; return 0;
	case OPT_USER_DEFAULT: a->user_default = true; return 0;
	case OPT_CLIENT_DEFAULT: a->client_default = true; return 0;
	case OPT_STRICT: a->strict = true; return 0;
	case OPT_VALIDATE: a->validate_only = true; return 0;
	case OPT_SET:
		if (!a->alter || !strchr(arg, '=') || arg[0] == '=' || a->nsets == MAX_CHANGES)
			return rn__cli_err(&a->common, "--set expects KEY=VALUE, got '%s'", arg);
		a->sets[a->nsets++] = arg;
		return 0;
	case OPT_DELETE:
		if (!a->alter || !arg[0] || a->ndels == MAX_CHANGES)
			return rn__cli_err(&a->common, "--delete expects KEY, got '%s'", arg);
		a->dels[a->ndels++] = arg;
		return 0;
	default: return 2;
	}
}

/* One exchange with the first broker of the metadata that takes the connection; body and *off
 * as rn__cli_raw_exchange. 0, or 1 after the error line. Frees w. */
static int exchange(struct q_args *a, rd_kafka_t *rk, struct rn_iochain *w, int16_t key,
		    struct rn_buf *body, size_t *off)
{
	const struct rd_kafka_metadata *md;
	if (rn__cli_metadata(&a->common, rk, &md) < 0) {
		rn_iochain_free(w);
		return 1;
	}
	int fd = -1;
	for (int i = 0; i < md->broker_cnt && fd < 0; i++)
		fd = rn__cli_connect(&a->common, md->brokers[i].host, md->brokers[i].port);
	rd_kafka_metadata_destroy(md);
	if (fd < 0) {
		rn_iochain_free(w);
		return 1;
	}
	int rc = rn__cli_raw_exchange(fd, w, key, 0, body, off);
	close(fd);
	if (rc < 0)
		return rn__cli_err(&a->common, "no answer to the quota request");
	return 0;
}

static void print_entity(const struct rn_describe_client_quotas_response_entry_data *e)
{
	char s[600];
	size_t at = 0;
	s[0] = 0;
	for (int32_t i = 0; i < e->entity_count && at < sizeof(s) - 1; i++) {
		struct rn_str t = e->entity[i].entity_type, n = e->entity[i].entity_name;
		at +=
		    (size_t)snprintf(s + at, sizeof(s) - at, "%s%.*s=%.*s", i ? "," : "", t.len,
				     t.ptr, n.len < 0 ? 9 : n.len, n.len < 0 ? "<default>" : n.ptr);
	}
	printf("%-50s", s);
	for (int32_t i = 0; i < e->values_count; i++) {
		double v = e->values[i].value;
		if (v == floor(v) && fabs(v) < 1e15)
			printf(" %.*s=%.0f", e->values[i].key.len, e->values[i].key.ptr, v);
		else
			printf(" %.*s=%g", e->values[i].key.len, e->values[i].key.ptr, v);
	}
	printf("\n");
}

static int run_list(struct q_args *a, rd_kafka_t *rk)
{
	struct rn_describe_client_quotas_request_component_data comp[2];
	int n = 0;
	if (a->user || a->user_default)
		comp[n++] = (struct rn_describe_client_quotas_request_component_data){
		    rn_str_c("user"), (int8_t)(a->user ? 0 : 1),
		    a->user ? rn_str_c(a->user) : RN_STR_NULL};
	if (a->client || a->client_default)
		comp[n++] = (struct rn_describe_client_quotas_request_component_data){
		    rn_str_c("client-id"), (int8_t)(a->client ? 0 : 1),
		    a->client ? rn_str_c(a->client) : RN_STR_NULL};
	struct rn_describe_client_quotas_request rq = {comp, n, a->strict};
	struct rn_iochain w = {0};
	rn__cli_raw_begin(&w, RN_API_DESCRIBE_CLIENT_QUOTAS, 0, "runnel-quota");
	rn_describe_client_quotas_request_encode(&w, 0, &rq);
	struct rn_buf body = {0};
	size_t off = 0;
	int rc = exchange(a, rk, &w, RN_API_DESCRIBE_CLIENT_QUOTAS, &body, &off);
	if (rc) {
		rn_buf_free(&body);
		return rc;
	}
	struct rn_arena arena = {0};
	struct rn_rd rd;
	rn_rd_init(&rd, body.data + off, body.len - off, &arena);
	struct rn_describe_client_quotas_response r;
	if (rn_describe_client_quotas_response_decode(&rd, 0, &r) < 0)
		rc = rn__cli_err(&a->common, "malformed DescribeClientQuotas answer");
	else if (r.error_code)
		rc = rn__cli_err(&a->common, "cannot list quotas: error %d: %.*s", r.error_code,
				 r.error_message.len < 0 ? 0 : r.error_message.len,
				 r.error_message.len < 0 ? "" : r.error_message.ptr);
	else
		for (int32_t i = 0; i < r.entries_count; i++)
			print_entity(&r.entries[i]);
	rn_arena_free(&arena);
	rn_buf_free(&body);
	return rc;
}

static int run_alter(struct q_args *a, rd_kafka_t *rk)
{
	struct rn_alter_client_quotas_request_entity_data ent[2];
	int ne = 0;
	if (a->user || a->user_default)
		ent[ne++] = (struct rn_alter_client_quotas_request_entity_data){
		    rn_str_c("user"), a->user ? rn_str_c(a->user) : RN_STR_NULL};
	if (a->client || a->client_default)
		ent[ne++] = (struct rn_alter_client_quotas_request_entity_data){
		    rn_str_c("client-id"), a->client ? rn_str_c(a->client) : RN_STR_NULL};
	struct rn_alter_client_quotas_request_op_data ops[2 * MAX_CHANGES];
	char keys[MAX_CHANGES][64];
	int nops = 0;
	for (int i = 0; i < a->nsets; i++) {
		const char *v = rn__cli_split_kv(a->sets[i], keys[i], sizeof(keys[i]));
		char *end;
		double d = strtod(v, &end);
		if (!*v || *end)
			return rn__cli_err(&a->common, "--set %s: the value must be a number",
					   a->sets[i]) +
			       1;
		ops[nops++] =
		    (struct rn_alter_client_quotas_request_op_data){rn_str_c(keys[i]), d, false};
	}
	for (int i = 0; i < a->ndels; i++)
		ops[nops++] =
		    (struct rn_alter_client_quotas_request_op_data){rn_str_c(a->dels[i]), 0, true};
	struct rn_alter_client_quotas_request_entry_data entry = {ent, ne, ops, nops};
	struct rn_alter_client_quotas_request rq = {&entry, 1, a->validate_only};
	struct rn_iochain w = {0};
	rn__cli_raw_begin(&w, RN_API_ALTER_CLIENT_QUOTAS, 0, "runnel-quota");
	rn_alter_client_quotas_request_encode(&w, 0, &rq);
	struct rn_buf body = {0};
	size_t off = 0;
	int rc = exchange(a, rk, &w, RN_API_ALTER_CLIENT_QUOTAS, &body, &off);
	if (rc) {
		rn_buf_free(&body);
		return rc;
	}
	struct rn_arena arena = {0};
	struct rn_rd rd;
	rn_rd_init(&rd, body.data + off, body.len - off, &arena);
	struct rn_alter_client_quotas_response r;
	if (rn_alter_client_quotas_response_decode(&rd, 0, &r) < 0 || r.entries_count != 1)
		rc = rn__cli_err(&a->common, "malformed AlterClientQuotas answer");
	else if (r.entries[0].error_code)
		rc = rn__cli_err(
		    &a->common, "cannot alter quotas: error %d: %.*s", r.entries[0].error_code,
		    r.entries[0].error_message.len < 0 ? 0 : r.entries[0].error_message.len,
		    r.entries[0].error_message.len < 0 ? "" : r.entries[0].error_message.ptr);
	else
		printf("%s quotas of %s%s%s%s%s.\n", a->validate_only ? "Validated" : "Updated",
		       a->user           ? "user "
		       : a->user_default ? "the default user"
					 : "",
		       a->user ? a->user : "", ne == 2 ? ", " : "",
		       a->client           ? "client-id "
		       : a->client_default ? "the default client-id"
					   : "",
		       a->client ? a->client : "");
	rn_arena_free(&arena);
	rn_buf_free(&body);
	return rc;
}

static int run(void *arg, rd_kafka_t *rk)
{
	struct q_args *a = arg;
	return a->alter ? run_alter(a, rk) : run_list(a, rk);
}

int rn_cli_quota(int argc, char **argv)
{
	int rc = rn__cli_action(argc, argv, "quota", actions, 2, usage_text);
	if (rc >= 0)
		return rc;
	struct q_args a;
	memset(&a, 0, sizeof(a));
	a.alter = strcmp(argv[1], "alter") == 0;
	rn__cli_common_init(&a.common, a.alter ? "runnel quota alter" : "runnel quota list");
	static const struct option longopts[] = {
	    {"user", required_argument, NULL, OPT_USER},
	    {"client-id", required_argument, NULL, OPT_CLIENT},
	    {"user-default", no_argument, NULL, OPT_USER_DEFAULT},
	    {"client-default", no_argument, NULL, OPT_CLIENT_DEFAULT},
	    {"set", required_argument, NULL, OPT_SET},
	    {"delete", required_argument, NULL, OPT_DELETE},
	    {"strict", no_argument, NULL, OPT_STRICT},
	    {"validate-only", no_argument, NULL, OPT_VALIDATE},
	    {0},
	};
	rc = rn__cli_getopt(&a.common, argc - 1, argv + 1, "", longopts, usage_text, parse_opt, &a);
	if (rc >= 0)
		return rc;
	if (optind < argc - 1)
		return rn__cli_err(&a.common, "unexpected argument '%s'", argv[optind + 1]) + 1;
	if ((a.user && a.user_default) || (a.client && a.client_default))
		return rn__cli_err(&a.common,
				   "give a name or the default for each part, not both") +
		       1;
	if (a.alter && !a.user && !a.user_default && !a.client && !a.client_default)
		return rn__cli_err(&a.common, "name a --user and/or a --client-id (or a default)") +
		       1;
	if (a.alter && a.nsets + a.ndels == 0)
		return rn__cli_err(&a.common, "nothing to change: give --set or --delete") + 1;
	return rn__cli_run(&a.common, run, &a);
}
