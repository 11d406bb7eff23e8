/*
 * `runnel topic create|list|describe|delete|add-partitions`: topic administration through the
 * librdkafka Admin API, printing what kafka-topics.sh prints so scripts and eyes carry over.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/topic_records.h"
#include "cli/configs.h"
#include "cli/reassign.h"

static const char usage_text[] =
    "Usage: runnel topic <action> [options]\n"
    "\n"
    "Actions:\n"
    "  create TOPIC [--partitions N] [--replication-factor R] [--config K=V ...]\n"
    "               [--if-not-exists]\n"
    "  list\n"
    "  describe TOPIC                (partitions, then every config with its source)\n"
    "  alter TOPIC --set K=V --delete K   (see runnel topic alter --help)\n"
    "  delete TOPIC [--if-exists]\n"
    "  add-partitions TOPIC --partitions N   (N is the new total)\n"
    "  delete-records TOPIC --partition P --before OFFSET   (see delete-records --help)\n"
    "  log-dirs [--topic-list T1,T2]   partition sizes per log dir (kafka-log-dirs.sh)\n"
    "  reassign TOPIC --partition N --replicas 2,3,1 | --cancel; reassign --list [TOPIC]\n"
    "\n"
    "Options:\n"
    "  -p, --partitions N            partition count (create: default is the broker's\n"
    "                                num.partitions)\n"
    "  -r, --replication-factor R    replication factor (default: the broker's)\n"
    "  -c, --config KEY=VALUE        topic config, repeatable (e.g. retention.ms=60000)\n"
    "      --if-not-exists           create: succeed if the topic exists (and say so)\n"
    "      --if-exists               delete: succeed if the topic does not exist (and say so)\n";

enum { OPT_IF_NOT_EXISTS = RN_CLI_OPT_FIRST_FREE, OPT_IF_EXISTS };

struct topic_args {
	struct rn_cli_common common;
	const char *action;
	const char *topic;
	int partitions;
	int replication;
	int nconfigs;
	const char *configs[64];
	bool if_not_exists;
	bool if_exists;
};

static int parse_opt(void *arg_, int opt, const char *arg)
{
	struct topic_args *a = arg_;
	long long v;

	switch (opt) {
	case 'p':
		if (rn__cli_parse_ll(arg, 1, 1000000, false, &v))
			return rn__cli_err(&a->common,
					   "--partitions expects a count >= 1, got '%s'", arg);
		a->partitions = (int)v;
		return 0;
	case 'r':
		if (rn__cli_parse_ll(arg, 1, 32767, false, &v))
			return rn__cli_err(
			    &a->common, "--replication-factor expects a count >= 1, got '%s'", arg);
		a->replication = (int)v;
		return 0;
	case 'c':
		if (!strchr(arg, '=') || a->nconfigs == 64)
			return rn__cli_err(&a->common, "--config expects KEY=VALUE, got '%s'", arg);
		a->configs[a->nconfigs++] = arg;
		return 0;
	case OPT_IF_NOT_EXISTS: a->if_not_exists = true; return 0;
	case OPT_IF_EXISTS: a->if_exists = true; return 0;
	default: return 2;
	}
}

/* Returns 0 to go on, or an exit code (0 after --help). Sets a->topic from the positionals. */
static int parse_args(struct topic_args *a, int argc, char **argv, bool *done)
{
	static const struct option longopts[] = {
	    {"partitions", required_argument, NULL, 'p'},
	    {"replication-factor", required_argument, NULL, 'r'},
	    {"config", required_argument, NULL, 'c'},
	    {"if-not-exists", no_argument, NULL, OPT_IF_NOT_EXISTS},
	    {"if-exists", no_argument, NULL, OPT_IF_EXISTS},
	    {0},
	};

	*done = true;
	int rc =
	    rn__cli_getopt(&a->common, argc, argv, "p:r:c:", longopts, usage_text, parse_opt, a);
	if (rc >= 0)
		return rc;
	if (optind < argc)
		a->topic = argv[optind++];
	if (optind < argc)
		return rn__cli_err(&a->common, "unexpected argument '%s'", argv[optind]) + 1;
	*done = false;
	return 0;
}

/*
 * Prints the one error line for a per-topic result; returns the exit code. With --if-not-exists
 * or --if-exists an existing (missing) topic is no error: *noop says that nothing was done.
 */
static int topic_result(struct topic_args *a, const rd_kafka_topic_result_t **res, size_t n,
			const char *verb, bool *noop)
{
	*noop = false;
	for (size_t i = 0; i < n; i++) {
		rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
		const char *msg = rd_kafka_topic_result_error_string(res[i]);
		if (!err)
			continue;
		if ((err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && a->if_not_exists) ||
		    (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && a->if_exists)) {
			*noop = true;
			continue;
		}
		if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
			return rn__cli_err(&a->common, "topic '%s' already exists", a->topic);
		if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
			return rn__cli_err(&a->common, "topic '%s' does not exist", a->topic);
		return rn__cli_err(&a->common, "cannot %s topic '%s': %s", verb, a->topic,
				   msg && *msg ? msg : rd_kafka_err2str(err));
	}
	return 0;
}

static int do_create(struct topic_args *a, rd_kafka_t *rk, rd_kafka_queue_t *q)
{
	char err[512];
	rd_kafka_NewTopic_t *nt =
	    rd_kafka_NewTopic_new(a->topic, a->partitions, a->replication, err, sizeof(err));
	if (!nt)
		return rn__cli_err(&a->common, "%s", err);
	for (int i = 0; i < a->nconfigs; i++) {
		char k[512];
		const char *v = rn__cli_split_kv(a->configs[i], k, sizeof(k));
		rd_kafka_NewTopic_set_config(nt, k, v);
	}
	rd_kafka_AdminOptions_t *o =
	    rn__cli_admin_opts(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, a->common.timeout_ms);
	rd_kafka_CreateTopics(rk, &nt, 1, o, q);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_NewTopic_destroy(nt);

	rd_kafka_event_t *ev = rn__cli_admin_wait(&a->common, rk, q, a->common.timeout_ms, "");
	if (!ev)
		return 1;
	size_t n;
	const rd_kafka_topic_result_t **res =
	    rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
	bool noop;
	int rc = topic_result(a, res, n, "create", &noop);
	rd_kafka_event_destroy(ev);
	if (!rc && noop)
		printf("Topic %s already exists; nothing done.\n", a->topic);
	else if (!rc)
		printf("Created topic %s.\n", a->topic);
	return rc;
}

static int do_delete(struct topic_args *a, rd_kafka_t *rk, rd_kafka_queue_t *q)
{
	rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(a->topic);
	rd_kafka_AdminOptions_t *o =
	    rn__cli_admin_opts(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS, a->common.timeout_ms);

	rd_kafka_DeleteTopics(rk, &dt, 1, o, q);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_DeleteTopic_destroy(dt);

	rd_kafka_event_t *ev = rn__cli_admin_wait(&a->common, rk, q, a->common.timeout_ms, "");
	if (!ev)
		return 1;
	size_t n;
	const rd_kafka_topic_result_t **res =
	    rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
	bool noop;
	int rc = topic_result(a, res, n, "delete", &noop);
	rd_kafka_event_destroy(ev);
	if (!rc && noop)
		printf("Topic %s does not exist; nothing done.\n", a->topic);
	else if (!rc)
		printf("Deleted topic %s.\n", a->topic);
	return rc;
}

static int do_add_partitions(struct topic_args *a, rd_kafka_t *rk, rd_kafka_queue_t *q)
{
	char err[512];

	if (a->partitions < 1)
		return rn__cli_err(&a->common, "add-partitions needs --partitions N (new total)");
	rd_kafka_NewPartitions_t *np =
	    rd_kafka_NewPartitions_new(a->topic, (size_t)a->partitions, err, sizeof(err));
	if (!np)
		return rn__cli_err(&a->common, "%s", err);
	rd_kafka_AdminOptions_t *o =
	    rn__cli_admin_opts(rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, a->common.timeout_ms);
	rd_kafka_CreatePartitions(rk, &np, 1, o, q);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_NewPartitions_destroy(np);

	rd_kafka_event_t *ev = rn__cli_admin_wait(&a->common, rk, q, a->common.timeout_ms, "");
	if (!ev)
		return 1;
	size_t n;
	const rd_kafka_topic_result_t **res =
	    rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
	bool noop;
	int rc = topic_result(a, res, n, "add partitions to", &noop);
	rd_kafka_event_destroy(ev);
	if (!rc)
		printf("Topic %s now has %d partitions.\n", a->topic, a->partitions);
	return rc;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int do_list(struct topic_args *a, rd_kafka_t *rk)
{
	const struct rd_kafka_metadata *md;

	if (rn__cli_metadata(&a->common, rk, &md))
		return 1;
	const char **names = calloc((size_t)md->topic_cnt + 1, sizeof(*names));
	for (int i = 0; i < md->topic_cnt; i++)
		names[i] = md->topics[i].topic;
	qsort(names, (size_t)md->topic_cnt, sizeof(*names), cmp_str);
	for (int i = 0; i < md->topic_cnt; i++)
		printf("%s\n", names[i]);
	free(names);
	rd_kafka_metadata_destroy(md);
	return 0;
}

/* Writes "k=v,k=v" of the topic's overrides into buf (kafka-topics.sh shows only those). */
static void overrides(const rd_kafka_ConfigResource_t *res, char *buf, size_t len)
{
	size_t ncfg, off = 0;
	const rd_kafka_ConfigEntry_t **cfg =
	    res ? rd_kafka_ConfigResource_configs(res, &ncfg) : NULL;

	buf[0] = '\0';
	for (size_t i = 0; cfg && i < ncfg && off < len; i++) {
		if (rd_kafka_ConfigEntry_source(cfg[i]) !=
		    RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG)
			continue;
		const char *v = rd_kafka_ConfigEntry_value(cfg[i]);
		off += (size_t)snprintf(buf + off, len - off, "%s%s=%s", off ? "," : "",
					rd_kafka_ConfigEntry_name(cfg[i]), v ? v : "");
	}
}

static void print_ids(const int32_t *ids, int n)
{
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", ids[i]);
}

static int do_describe(struct topic_args *a, rd_kafka_t *rk, rd_kafka_queue_t *q)
{
	const struct rd_kafka_metadata *md;
	char configs[4096];

	if (rn__cli_metadata(&a->common, rk, &md))
		return 1;
	const struct rd_kafka_metadata_topic *t = rn__cli_find_topic(md, a->topic);
	if (!t || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
		rd_kafka_metadata_destroy(md);
		return rn__cli_err(&a->common, "topic '%s' does not exist", a->topic);
	}
	if (t->err) {
		int rc =
		    rn__cli_err(&a->common, "topic '%s': %s", a->topic, rd_kafka_err2str(t->err));
		rd_kafka_metadata_destroy(md);
		return rc;
	}
	/* One DescribeConfigs serves the overrides on the first line and the full list; when it
	 * fails the partition table, the main output, is still printed. */
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_ConfigResource_t *res = NULL;
	int rc = rn__cli_configs_describe(&a->common, rk, q, RD_KAFKA_RESOURCE_TOPIC, a->topic, &ev,
					  &res);
	overrides(res, configs, sizeof(configs));
	printf("Topic: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n", t->topic,
	       t->partition_cnt, t->partition_cnt ? t->partitions[0].replica_cnt : 0, configs);
	for (int i = 0; i < t->partition_cnt; i++) {
		const struct rd_kafka_metadata_partition *p = &t->partitions[i];
		printf("\tTopic: %s\tPartition: %d\tLeader: %d\tReplicas: ", t->topic, p->id,
		       p->leader);
		print_ids(p->replicas, p->replica_cnt);
		printf("\tIsr: ");
		print_ids(p->isrs, p->isr_cnt);
		printf("\n");
	}
	rd_kafka_metadata_destroy(md);
	if (ev) {
		printf("Configs of %s:\n", a->topic);
		rn__cli_configs_list(res);
		rd_kafka_event_destroy(ev);
	}
	return rc;
}

static int run(void *arg, rd_kafka_t *rk)
{
	struct topic_args *a = arg;
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	const char *act = a->action;
	int rc;

	if (strcmp(act, "create") == 0)
		rc = do_create(a, rk, q);
	else if (strcmp(act, "delete") == 0)
		rc = do_delete(a, rk, q);
	else if (strcmp(act, "add-partitions") == 0)
		rc = do_add_partitions(a, rk, q);
	else if (strcmp(act, "describe") == 0)
		rc = do_describe(a, rk, q);
	else
		rc = do_list(a, rk);
	rd_kafka_queue_destroy(q);
	return rc;
}

int rn_cli_topic(int argc, char **argv)
{
	static const char *const actions[] = {"create", "list", "describe", "delete",
					      "add-partitions"};
	struct topic_args a = {.partitions = -1, .replication = -1};
	char cmd[64];
	bool done;

	if (argc > 1 && strcmp(argv[1], "delete-records") == 0)
		return rn__cli_topic_delete_records(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "log-dirs") == 0)
		return rn__cli_topic_log_dirs(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "reassign") == 0)
		return rn__cli_topic_reassign(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "alter") == 0)
		return rn__cli_topic_alter(argc - 1, argv + 1);
	int arc = rn__cli_action(argc, argv, "topic", actions, sizeof(actions) / sizeof(actions[0]),
				 usage_text);
	if (arc >= 0)
		return arc;
	snprintf(cmd, sizeof(cmd), "runnel topic %s", argv[1]);
	rn__cli_common_init(&a.common, cmd);
	a.action = argv[1];
	int rc = parse_args(&a, argc - 1, argv + 1, &done);
	if (done)
		return rc;
	if (!a.topic && strcmp(a.action, "list") != 0)
		return rn__cli_err(&a.common, "missing TOPIC (see --help)") + 1;

	return rn__cli_run(&a.common, run, &a);
}
