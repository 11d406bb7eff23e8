/*
 * `runnel mock`: librdkafka's in-memory mock cluster as a standalone process. It is the
 * benchmark ceiling: the same client and protocol with a "broker" that persists nothing and does
 * almost no per-record work, so Runnel's numbers can be stated as a fraction of it.
 *
 * librdkafka 2.0.2 has no call to choose the mock's listen port, so the ephemeral bootstrap
 * address is printed and scripts parse the line "mock cluster bootstrap: HOST:PORT".
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"

/* After rdkafka.h (via common.h): the mock header relies on its RD_EXPORT. */
#include <librdkafka/rdkafka_mock.h>

static const char usage_text[] =
    "Usage: runnel mock [--brokers N] [--topic NAME[:PARTITIONS] ...]\n"
    "\n"
    "Runs librdkafka's in-memory mock cluster on 127.0.0.1 until SIGINT/SIGTERM and prints\n"
    "\"mock cluster bootstrap: 127.0.0.1:PORT\" on stdout once it listens.\n"
    "The mock keeps only the last 5 MiB per partition and auto-creates unknown topics with\n"
    "4 partitions; use --topic to pre-create topics with another partition count.\n"
    "\n"
    "Options:\n"
    "      --brokers N                 number of mock brokers (default 1)\n"
    "  -t, --topic NAME[:PARTITIONS]   create a topic (default 1 partition), repeatable\n"
    "  -h, --help                      show this help\n";

struct mock_topic {
	char name[256];
	int partitions;
};

static int parse_topic(const char *arg, struct mock_topic *t)
{
	const char *colon = strrchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
	long long n = 1;

	if (len == 0 || len >= sizeof(t->name))
		return -1;
	if (colon && rn__cli_parse_ll(colon + 1, 1, 100000, false, &n))
		return -1;
	memcpy(t->name, arg, len);
	t->name[len] = '\0';
	t->partitions = (int)n;
	return 0;
}

static int create_topics(rd_kafka_mock_cluster_t *mc, const struct mock_topic *t, int n)
{
	for (int i = 0; i < n; i++) {
		rd_kafka_resp_err_t err =
		    rd_kafka_mock_topic_create(mc, t[i].name, t[i].partitions, 1);
		if (err) {
			fprintf(stderr, "runnel mock: cannot create topic '%s': %s\n", t[i].name,
				rd_kafka_err2str(err));
			return -1;
		}
	}
	return 0;
}

int rn_cli_mock(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"brokers", required_argument, NULL, 'n'},
	    {"topic", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct rn_cli_common c;
	struct mock_topic topics[64];
	int ntopics = 0, opt;
	long long brokers = 1;

	rn__cli_common_init(&c, "runnel mock");
	c.optstring = "t:h";
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, c.optstring, longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': return rn__cli_usage(usage_text, true);
		case 'n':
			if (rn__cli_parse_ll(optarg, 1, 64, false, &brokers))
				return rn__cli_err(&c, "--brokers expects 1..64, got '%s'",
						   optarg) +
				       1;
			break;
		case 't':
			if (ntopics == 64 || parse_topic(optarg, &topics[ntopics]))
				return rn__cli_err(&c,
						   "--topic expects NAME[:PARTITIONS], got '%s'",
						   optarg) +
				       1;
			ntopics++;
			break;
		default: return rn__cli_bad_opt(&c, argc, argv);
		}
	}
	if (optind < argc)
		return rn__cli_err(&c, "unexpected argument '%s'", argv[optind]) + 1;

	/* The mock cluster hangs off a client handle; this producer is never used otherwise. */
	rd_kafka_conf_t *conf = rn__cli_conf(&c, NULL);
	if (!conf)
		return 2;
	rd_kafka_t *rk = rn__cli_new(&c, RD_KAFKA_PRODUCER, conf);
	if (!rk)
		return 1;
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
	if (!mc) {
		rd_kafka_destroy(rk);
		return rn__cli_err(&c, "cannot start the mock cluster");
	}
	int rc = 0;
	if (create_topics(mc, topics, ntopics)) {
		rc = 1;
		goto out;
	}
	rn__cli_catch_signals();
	printf("mock cluster bootstrap: %s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (!rn__cli_stop)
		pause();
out:
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return rc;
}
