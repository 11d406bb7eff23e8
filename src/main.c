/* runnel: subcommand dispatch only. */
#include <stdio.h>
#include <string.h>

#include "broker/serve.h"
#include "cli/cli.h"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct subcommand cmds[] = {
    {"serve", rn_serve_main, "run the broker"},
    {"topic", rn_cli_topic, "create, list, describe and delete topics"},
    {"produce", rn_cli_produce, "produce lines from stdin to a topic"},
    {"consume", rn_cli_consume, "consume records from a topic to stdout"},
    {"broker", rn_cli_broker, "show and change the broker's configs at run time"},
    {"group", rn_cli_group, "list, describe, delete consumer groups and reset their offsets"},
    {"bench", rn_cli_bench, "producer/consumer load generator (perf-test style)"},
    {"user", rn_cli_user, "add, list and delete SCRAM users (SASL/SCRAM credentials)"},
    {"acl", rn_cli_acl, "add, list and remove ACLs"},
    {"quota", rn_cli_quota, "alter and list client quotas (per user and client id)"},
    {"cluster", rn_cli_cluster, "cluster status: brokers, controller, under-replicated partitions"},
    {"dev", rn_cli_dev, "development helpers: 'dev cluster' runs etcd and N brokers locally"},
    {"mock", rn_cli_mock, "run librdkafka's in-memory mock cluster (benchmark ceiling)"},
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: runnel <command> [options]\n\n"
	    "Runnel is a single-binary event streaming broker that speaks the Kafka protocol.\n\n"
	    "Commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nRun 'runnel <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return argc < 2 ? 1 : 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("runnel 0.1.0\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "runnel: unknown command '%s' (see 'runnel --help')\n", argv[1]);
	return 2;
}
