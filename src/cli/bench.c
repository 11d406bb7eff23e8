/* `runnel bench produce|consume`: option parsing and dispatch. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/bench.h"
#include "cli/cli.h"

static const char usage_text[] =
    "Usage: runnel bench produce -t TOPIC -s SIZE -c COUNT [options]\n"
    "       runnel bench consume -t TOPIC -c COUNT [options]\n"
    "\n"
    "Load generator. produce prints a line every 2 s like kafka-producer-perf-test\n"
    "(\"N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency.\"), a\n"
    "final line with percentiles and a table. Latency is produce() call to delivery report,\n"
    "per record; with -r the sends follow a fixed schedule and latency counts from the\n"
    "scheduled time (corrected for coordinated omission). consume prints\n"
    "kafka-consumer-perf-test's CSV header and row. MB = 10^6 bytes.\n"
    "\n"
    "Options:\n"
    "  -t, --topic TOPIC        topic to use (required)\n"
    "  -s, --size BYTES         produce: value size (default 100)\n"
    "  -c, --count N            records to produce/consume (k/m/g suffixes: 10m)\n"
    "  -a, --acks 0|1|all       produce: acks (default 1; all with --idempotence)\n"
    "  -r, --rate N             produce: paced at N records/s (default: as fast as possible)\n"
    "  -p, --partition N        produce/consume only partition N\n"
    "      --partitions N       produce: create the topic with N partitions first (before\n"
    "                           anything could auto-create it); an existing topic must\n"
    "                           have N. Nothing but the measured records is written:\n"
    "                           connections are warmed up by reading each partition's\n"
    "                           offsets\n"
    "      --linger-ms MS       produce: linger.ms (default: librdkafka's, 5)\n"
    "      --batch-size BYTES   produce: batch.size (default: librdkafka's, 1000000)\n"
    "      --interval-ms MS     progress line period (default 2000)\n"
    "      --idempotence        produce: enable.idempotence=true (implies acks=all)\n"
    "      --transactional-id ID\n"
    "                           produce: transactional producer (implies idempotence):\n"
    "                           init_transactions, then begin, produce for --txn-interval-ms,\n"
    "                           commit, repeat; the last transaction is committed before the\n"
    "                           clock stops. Also prints the transactions' count and commit\n"
    "                           latency (flush of the queue + commit_transaction(), and\n"
    "                           commit_transaction() alone after the flush: EndTxn)\n"
    "      --txn-interval-ms MS produce: transaction length (default 100)\n"
    "      --json               print the final result as one JSON object on stdout\n"
    "                           (progress lines then go to stderr)\n";

enum {
	OPT_PARTITIONS = RN_CLI_OPT_FIRST_FREE,
	OPT_LINGER,
	OPT_BATCH,
	OPT_INTERVAL,
	OPT_JSON,
	OPT_IDEMPOTENCE,
	OPT_TXN_ID,
	OPT_TXN_INTERVAL,
};

static int num(struct rn_bench_args *a, const char *name, const char *arg, long long min,
	       long long max, long long *out)
{
	if (rn__cli_parse_ll(arg, min, max, true, out))
		return rn__cli_err(&a->common, "%s expects a number in [%lld, %lld], got '%s'",
				   name, min, max, arg);
	return 0;
}

static int parse_opt(void *arg_, int opt, const char *arg)
{
	struct rn_bench_args *a = arg_;
	long long v = 0;
	int rc = 0;

	switch (opt) {
	case 't': a->topic = arg; break;
	case 's': rc = num(a, "--size", arg, 0, 100000000, &a->size); break;
	case 'c': rc = num(a, "--count", arg, 1, INT64_MAX / 2, &a->count); break;
	case 'r': rc = num(a, "--rate", arg, 1, 100000000, &a->rate); break;
	case 'a':
		if (strcmp(arg, "0") && strcmp(arg, "1") && strcmp(arg, "all") && strcmp(arg, "-1"))
			return rn__cli_err(&a->common, "--acks expects 0, 1 or all, got '%s'", arg);
		a->acks = arg;
		a->acks_set = true;
		break;
	case 'p':
		rc = num(a, "--partition", arg, 0, INT32_MAX, &v);
		a->partition = (int)v;
		break;
	case OPT_PARTITIONS:
		rc = num(a, "--partitions", arg, 1, 1000000, &v);
		a->partitions = (int)v;
		break;
	case OPT_LINGER: rc = num(a, "--linger-ms", arg, 0, 900000, &a->linger_ms); break;
	case OPT_BATCH: rc = num(a, "--batch-size", arg, 1, 2147483647, &a->batch_size); break;
	case OPT_INTERVAL:
		rc = num(a, "--interval-ms", arg, 10, 3600000, &v);
		a->interval_ms = (int)v;
		break;
	case OPT_JSON: a->json = true; break;
	case OPT_IDEMPOTENCE: a->idempotence = true; break;
	case OPT_TXN_ID:
		if (!*arg)
			return rn__cli_err(&a->common, "--transactional-id expects a non-empty id");
		a->txn_id = arg;
		break;
	case OPT_TXN_INTERVAL:
		rc = num(a, "--txn-interval-ms", arg, 1, 3600000, &a->txn_interval_ms);
		break;
	default: return 2;
	}
	return rc;
}

/* Returns -1 to go on, or an exit code (0 after --help). */
static int parse_args(struct rn_bench_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"topic", required_argument, NULL, 't'},
	    {"size", required_argument, NULL, 's'},
	    {"count", required_argument, NULL, 'c'},
	    {"acks", required_argument, NULL, 'a'},
	    {"rate", required_argument, NULL, 'r'},
	    {"partition", required_argument, NULL, 'p'},
	    {"partitions", required_argument, NULL, OPT_PARTITIONS},
	    {"linger-ms", required_argument, NULL, OPT_LINGER},
	    {"batch-size", required_argument, NULL, OPT_BATCH},
	    {"interval-ms", required_argument, NULL, OPT_INTERVAL},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"idempotence", no_argument, NULL, OPT_IDEMPOTENCE},
	    {"transactional-id", required_argument, NULL, OPT_TXN_ID},
	    {"txn-interval-ms", required_argument, NULL, OPT_TXN_INTERVAL},
	    {0},
	};
	int rc = rn__cli_getopt(&a->common, argc, argv, "t:s:c:a:r:p:", longopts, usage_text,
				parse_opt, a);
	if (rc >= 0)
		return rc;
	if (optind < argc)
		return rn__cli_err(&a->common, "unexpected argument '%s'", argv[optind]) + 1;
	if (!a->topic)
		return rn__cli_err(&a->common, "missing -t TOPIC (see --help)") + 1;
	if (!a->count)
		return rn__cli_err(&a->common, "missing -c COUNT (see --help)") + 1;
	if (a->txn_id)
		a->idempotence = true;
	if (a->idempotence) {
		/* librdkafka refuses idempotence with acks other than all; say so in our words. */
		if (a->acks_set && strcmp(a->acks, "all") && strcmp(a->acks, "-1"))
			return rn__cli_err(&a->common, "--%s needs --acks all, got '%s'",
					   a->txn_id ? "transactional-id" : "idempotence",
					   a->acks) +
			       1;
		a->acks = "all";
	}
	return -1;
}

double rn__bench_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int rn_cli_bench(int argc, char **argv)
{
	struct rn_bench_args a = {.size = 100,
				  .acks = "1",
				  .partitions = -1,
				  .partition = -1,
				  .linger_ms = -1,
				  .batch_size = -1,
				  .interval_ms = 2000,
				  .txn_interval_ms = 100};
	char cmd[64];

	if (argc < 2 || (strcmp(argv[1], "produce") && strcmp(argv[1], "consume"))) {
		bool help = argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
		if (help)
			return rn__cli_usage(usage_text, true);
		fprintf(stderr, "runnel bench: expected 'produce' or 'consume'%s%s (see --help)\n",
			argc >= 2 ? ", got " : "", argc >= 2 ? argv[1] : "");
		return 2;
	}
	snprintf(cmd, sizeof(cmd), "runnel bench %s", argv[1]);
	rn__cli_common_init(&a.common, cmd);
	a.mode = argv[1];
	int rc = parse_args(&a, argc - 1, argv + 1);
	if (rc >= 0)
		return rc;
	rn__cli_catch_signals();
	return strcmp(a.mode, "produce") == 0 ? rn__bench_produce(&a) : rn__bench_consume(&a);
}
