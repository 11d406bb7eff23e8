#include "cli/configs.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_CHANGES 64

struct cfg_args {
	struct rn_cli_common common;
	const char *name; /* topic, or broker id */
	int nsets, ndels;
	const char *sets[MAX_CHANGES];
	const char *dels[MAX_CHANGES];
	bool cluster_default;
	const char *broker_id; /* --broker-id as given, NULL for the first broker */
	int32_t broker_num;
};

int rn__cli_configs_describe(struct rn_cli_common *c, rd_kafka_t *rk, rd_kafka_queue_t *q,
			     rd_kafka_ResourceType_t type, const char *name, rd_kafka_event_t **ev,
			     const rd_kafka_ConfigResource_t **res)
{
	rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(type, name);
	rd_kafka_AdminOptions_t *o =
	    rn__cli_admin_opts(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, c->timeout_ms);
	rd_kafka_DescribeConfigs(rk, &cr, 1, o, q);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_ConfigResource_destroy(cr);
	*ev = rn__cli_admin_wait(c, rk, q, c->timeout_ms, "");
	if (!*ev)
		return 1;
	size_t n;
	const rd_kafka_ConfigResource_t **r = rd_kafka_DescribeConfigs_result_resources(
	    rd_kafka_event_DescribeConfigs_result(*ev), &n);
	if (n != 1 || rd_kafka_ConfigResource_error(r[0])) {
		rn__cli_err(c, "cannot describe configs of %s '%s': %s",
			    type == RD_KAFKA_RESOURCE_TOPIC ? "topic" : "broker", name,
			    n == 1 ? rd_kafka_ConfigResource_error_string(r[0]) : "no result");
		rd_kafka_event_destroy(*ev);
		*ev = NULL;
		return 1;
	}
	*res = r[0];
	return 0;
}

void rn__cli_configs_list(const rd_kafka_ConfigResource_t *res)
{
	size_t n;
	const rd_kafka_ConfigEntry_t **e = rd_kafka_ConfigResource_configs(res, &n);
	for (size_t i = 0; i < n; i++) {
		const char *v = rd_kafka_ConfigEntry_value(e[i]);
		printf("  %s=%s\t(%s%s)\n", rd_kafka_ConfigEntry_name(e[i]), v ? v : "null",
		       rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(e[i])),
		       rd_kafka_ConfigEntry_is_read_only(e[i]) ? ", read-only" : "");
	}
}

static bool deleted(const struct cfg_args *a, const char *key)
{
	for (int i = 0; i < a->ndels; i++)
		if (strcmp(a->dels[i], key) == 0)
			return true;
	return false;
}

static bool set_here(const struct cfg_args *a, const char *key)
{
	size_t kl = strlen(key);
	for (int i = 0; i < a->nsets; i++)
		if (strncmp(a->sets[i], key, kl) == 0 && a->sets[i][kl] == '=')
			return true;
	return false;
}

/* The resource's current dynamic values (keep), minus --delete, plus --set, with AlterConfigs. */
static int alter(struct cfg_args *a, rd_kafka_t *rk, rd_kafka_queue_t *q,
		 rd_kafka_ResourceType_t type, rd_kafka_ConfigSource_t keep)
{
	struct rn_cli_common *c = &a->common;
	rd_kafka_event_t *ev;
	const rd_kafka_ConfigResource_t *res;
	if (rn__cli_configs_describe(c, rk, q, type, a->name, &ev, &res))
		return 1;
	rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(type, a->name);
	size_t n;
	const rd_kafka_ConfigEntry_t **e = rd_kafka_ConfigResource_configs(res, &n);
	for (size_t i = 0; i < n; i++) {
		const char *k = rd_kafka_ConfigEntry_name(e[i]);
		/* A read-only key may carry a dynamic source only as the head of its synonym
		 * chain (log.retention.hours under a dynamic log.retention.ms): not its own. */
		if (rd_kafka_ConfigEntry_source(e[i]) == keep &&
		    !rd_kafka_ConfigEntry_is_read_only(e[i]) && !deleted(a, k) && !set_here(a, k))
			rd_kafka_ConfigResource_set_config(cr, k, rd_kafka_ConfigEntry_value(e[i]));
	}
	rd_kafka_event_destroy(ev);
	for (int i = 0; i < a->nsets; i++) {
		char k[512];
		const char *v = rn__cli_split_kv(a->sets[i], k, sizeof(k));
		rd_kafka_ConfigResource_set_config(cr, k, v);
	}
	rd_kafka_AdminOptions_t *o =
	    rn__cli_admin_opts(rk, RD_KAFKA_ADMIN_OP_ALTERCONFIGS, c->timeout_ms);
	rd_kafka_AlterConfigs(rk, &cr, 1, o, q);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_ConfigResource_destroy(cr);
	ev = rn__cli_admin_wait(c, rk, q, c->timeout_ms, "");
	if (!ev)
		return 1;
	const rd_kafka_ConfigResource_t **r =
	    rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
	int rc = 0;
	if (n != 1 || rd_kafka_ConfigResource_error(r[0]))
		rc = rn__cli_err(c, "cannot alter configs: %s",
				 n == 1 ? rd_kafka_ConfigResource_error_string(r[0]) : "no result");
	rd_kafka_event_destroy(ev);
	return rc;
}

enum { OPT_SET = RN_CLI_OPT_FIRST_FREE, OPT_DELETE, OPT_DEFAULT, OPT_BROKER_ID };

static int parse_opt(void *arg_, int opt, const char *arg)
{
	struct cfg_args *a = arg_;
	long long v;

	switch (opt) {
	case OPT_SET:
		if (!strchr(arg, '=') || arg[0] == '=' || a->nsets == MAX_CHANGES)
			return rn__cli_err(&a->common, "--set expects KEY=VALUE, got '%s'", arg);
		a->sets[a->nsets++] = arg;
		return 0;
	case OPT_DELETE:
		if (!arg[0] || a->ndels == MAX_CHANGES)
			return rn__cli_err(&a->common, "--delete expects KEY, got '%s'", arg);
		a->dels[a->ndels++] = arg;
		return 0;
	case OPT_DEFAULT: a->cluster_default = true; return 0;
	case OPT_BROKER_ID:
		if (rn__cli_parse_ll(arg, 0, INT32_MAX, false, &v))
			return rn__cli_err(&a->common,
					   "--broker-id expects a broker id >= 0, got '%s'", arg);
		a->broker_id = arg;
		a->broker_num = (int32_t)v;
		return 0;
	default: return 2;
	}
}

/*
 * The shared option loop, with --default and --broker-id for `broker configs` only. Returns -1
 * to go on, with a->name set from the one positional argument, or the exit code.
 */
static int parse(struct cfg_args *a, int argc, char **argv, bool broker, const char *usage)
{
	static const struct option longopts[] = {
	    {"set", required_argument, NULL, OPT_SET},
	    {"delete", required_argument, NULL, OPT_DELETE},
	    {"default", no_argument, NULL, OPT_DEFAULT},
	    {"broker-id", required_argument, NULL, OPT_BROKER_ID},
	    {0},
	};
	static const struct option topic_longopts[] = {
	    {"set", required_argument, NULL, OPT_SET},
	    {"delete", required_argument, NULL, OPT_DELETE},
	    {0},
	};

	int rc = rn__cli_getopt(&a->common, argc, argv, "", broker ? longopts : topic_longopts,
				usage, parse_opt, a);
	if (rc >= 0)
		return rc;
	if (optind < argc)
		a->name = argv[optind++];
	if (optind < argc)
		return rn__cli_err(&a->common, "unexpected argument '%s'", argv[optind]) + 1;
	return -1;
}

static const char topic_usage[] =
    "Usage: runnel topic alter TOPIC [--set KEY=VALUE ...] [--delete KEY ...]\n"
    "\n"
    "Changes a topic's config overrides at run time; --delete returns a key to the broker's\n"
    "default. Keys not named keep their current value.\n";

static int run_topic_alter(void *arg, rd_kafka_t *rk)
{
	struct cfg_args *a = arg;
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	int rc =
	    alter(a, rk, q, RD_KAFKA_RESOURCE_TOPIC, RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG);
	if (!rc)
		printf("Completed updating config for topic %s.\n", a->name);
	rd_kafka_queue_destroy(q);
	return rc;
}

int rn__cli_topic_alter(int argc, char **argv)
{
	struct cfg_args a = {0};
	rn__cli_common_init(&a.common, "runnel topic alter");
	int rc = parse(&a, argc, argv, false, topic_usage);
	if (rc >= 0)
		return rc;
	if (!a.name)
		return rn__cli_err(&a.common, "missing TOPIC (see --help)") + 1;
	if (!a.nsets && !a.ndels)
		return rn__cli_err(&a.common, "nothing to change: give --set or --delete") + 1;
	return rn__cli_run(&a.common, run_topic_alter, &a);
}

static const char broker_usage[] =
    "Usage: runnel broker configs [--set KEY=VALUE ...] [--delete KEY ...] [--default]\n"
    "                             [--broker-id N]\n"
    "\n"
    "Without --set/--delete, prints the broker's configs with their source. --set and --delete\n"
    "change dynamic keys (e.g. log.retention.ms, log.segment.bytes, compression.type,\n"
    "log.cleaner.threads) at run time, for this broker, or with --default for the cluster-wide\n"
    "default. --broker-id picks the broker (default: the first one the bootstrap server lists).\n";

static int print_configs(struct rn_cli_common *c, rd_kafka_t *rk, rd_kafka_queue_t *q,
			 const char *id)
{
	rd_kafka_event_t *ev;
	const rd_kafka_ConfigResource_t *res;
	if (rn__cli_configs_describe(c, rk, q, RD_KAFKA_RESOURCE_BROKER, id, &ev, &res))
		return 1;
	rn__cli_configs_list(res);
	rd_kafka_event_destroy(ev);
	return 0;
}

/*
 * The id of the broker to ask, as a string in buf: --broker-id if the cluster lists it (else
 * librdkafka would wait the whole timeout for a broker it can never reach), or the first one.
 */
static int pick_broker(struct cfg_args *a, rd_kafka_t *rk, char *buf, size_t len)
{
	const struct rd_kafka_metadata *md;
	if (rn__cli_metadata(&a->common, rk, &md))
		return 1;
	int rc = md->broker_cnt > 0 ? 0 : rn__cli_err(&a->common, "the cluster lists no brokers");
	int i = 0;
	while (!rc && a->broker_id && i < md->broker_cnt && md->brokers[i].id != a->broker_num)
		i++;
	if (!rc && i == md->broker_cnt) {
		char ids[256] = "";
		for (int j = 0, off = 0; j < md->broker_cnt && off < (int)sizeof(ids); j++)
			off += snprintf(ids + off, sizeof(ids) - (size_t)off, "%s%d", j ? "," : "",
					md->brokers[j].id);
		rc =
		    rn__cli_err(&a->common, "--broker-id %s: no such broker (the cluster lists %s)",
				a->broker_id, ids);
	}
	if (!rc)
		snprintf(buf, len, "%d", md->brokers[i].id);
	rd_kafka_metadata_destroy(md);
	return rc;
}

static int run_broker_configs(void *arg, rd_kafka_t *rk)
{
	struct cfg_args *a = arg;
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	char id[32] = "";
	int rc = pick_broker(a, rk, id, sizeof(id));

	a->name = id;
	if (!rc && !a->nsets && !a->ndels) {
		rc = print_configs(&a->common, rk, q, id);
	} else if (!rc) {
		rc = alter(a, rk, q, RD_KAFKA_RESOURCE_BROKER,
			   RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG);
		if (!rc)
			printf("Completed updating config for broker.\n");
	}
	rd_kafka_queue_destroy(q);
	return rc;
}

int rn_cli_broker(int argc, char **argv)
{
	static const char *const actions[] = {"configs"};
	int arc = rn__cli_action(argc, argv, "broker", actions, 1, broker_usage);
	if (arc >= 0)
		return arc;
	struct cfg_args a = {0};
	rn__cli_common_init(&a.common, "runnel broker configs");
	int rc = parse(&a, argc - 1, argv + 1, true, broker_usage);
	if (rc >= 0)
		return rc;
	if (a.name)
		return rn__cli_err(&a.common, "unexpected argument '%s'", a.name) + 1;
	/* librdkafka 2.0.2 crashes on a broker resource named "" (the cluster default), so this
	 * client cannot ask for it; the broker serves it (Describe/Alter/IncrementalAlterConfigs).
	 * Said before connecting: no broker could change the answer. */
	if (a.cluster_default)
		return rn__cli_err(&a.common, "--default needs a client newer than librdkafka "
					      "2.0.2; use kafka-configs.sh --entity-default or an "
					      "admin client");
	return rn__cli_run(&a.common, run_broker_configs, &a);
}
