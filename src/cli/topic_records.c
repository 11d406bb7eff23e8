/*
 * `runnel topic delete-records TOPIC --partition P --before OFFSET`: moves a partition's log
 * start offset (librdkafka's rd_kafka_DeleteRecords, Kafka's DeleteRecords API), printing what
 * kafka-delete-records.sh prints. --before end (or -1) deletes up to the high watermark.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/common.h"
#include "cli/topic_records.h"

static const char usage_text[] =
    "Usage: runnel topic delete-records TOPIC --partition P --before OFFSET\n"
    "\n"
    "Deletes the records of partition P below OFFSET: its log start offset moves there\n"
    "(never back). OFFSET 'end' or -1 means the partition's high watermark.\n"
    "\n"
    "Options:\n"
    "  -p, --partition P             the partition (repeatable)\n"
    "      --before OFFSET           first offset to keep\n";

enum { OPT_PARTITION = RN_CLI_OPT_FIRST_FREE, OPT_BEFORE };

#define MAX_PARTS 256

struct dr_args {
	struct rn_cli_common common;
	const char *topic;
	int nparts;
	int32_t parts[MAX_PARTS];
	int64_t before;
	bool before_set;
};

static int parse_opt(void *arg_, int opt, const char *arg)
{
	struct dr_args *a = arg_;
	long long v;

	switch (opt) {
	case 'p':
	case OPT_PARTITION:
		if (rn__cli_parse_ll(arg, 0, INT32_MAX, false, &v) || a->nparts == MAX_PARTS)
			return rn__cli_err(&a->common,
					   "--partition expects a partition >= 0, got '%s'", arg);
		a->parts[a->nparts++] = (int32_t)v;
		return 0;
	case OPT_BEFORE:
		if (strcmp(arg, "end") == 0)
			v = -1;
		else if (rn__cli_parse_ll(arg, -1, INT64_MAX, false, &v))
			return rn__cli_err(
			    &a->common, "--before expects an offset >= 0 or 'end', got '%s'", arg);
		a->before = v;
		a->before_set = true;
		return 0;
	default: return 2;
	}
}

/* Returns -1 to go on, or the exit code (0 after --help). */
static int parse_args(struct dr_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"partition", required_argument, NULL, OPT_PARTITION},
	    {"before", required_argument, NULL, OPT_BEFORE},
	    {0},
	};

	int rc = rn__cli_getopt(&a->common, argc, argv, "p:", longopts, usage_text, parse_opt, a);
	if (rc >= 0)
		return rc;
	if (optind < argc)
		a->topic = argv[optind++];
	if (optind < argc)
		return rn__cli_err(&a->common, "unexpected argument '%s'", argv[optind]) + 1;
	if (!a->topic)
		return rn__cli_err(&a->common, "missing TOPIC (see --help)") + 1;
	if (!a->nparts || !a->before_set)
		return rn__cli_err(&a->common, "--partition and --before are required") + 1;
	return -1;
}

/* Prints one line per partition; returns the exit code (1 if any failed). */
static int print_result(struct dr_args *a, const rd_kafka_DeleteRecords_result_t *res)
{
	const rd_kafka_topic_partition_list_t *out = rd_kafka_DeleteRecords_result_offsets(res);
	int rc = 0;

	printf("Records delete operation completed:\n");
	for (int i = 0; out && i < out->cnt; i++) {
		const rd_kafka_topic_partition_t *p = &out->elems[i];
		if (p->err) {
			printf("partition: %s-%d\terror: %s\n", p->topic, p->partition,
			       rd_kafka_err2str(p->err));
			rc = 1;
		} else {
			printf("partition: %s-%d\tlow_watermark: %lld\n", p->topic, p->partition,
			       (long long)p->offset);
		}
	}
	if (rc)
		rn__cli_err(&a->common, "some partitions failed (see above)");
	return rc;
}

static int run(void *arg, rd_kafka_t *rk)
{
	struct dr_args *a = arg;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(a->nparts);
	for (int i = 0; i < a->nparts; i++)
		rd_kafka_topic_partition_list_add(l, a->topic, a->parts[i])->offset =
		    a->before < 0 ? RD_KAFKA_OFFSET_END : a->before;
	rd_kafka_DeleteRecords_t *dr = rd_kafka_DeleteRecords_new(l);
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_AdminOptions_t *o =
	    rn__cli_admin_opts(rk, RD_KAFKA_ADMIN_OP_DELETERECORDS, a->common.timeout_ms);
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);

	printf("Executing records delete operation\n");
	fflush(stdout);
	rd_kafka_DeleteRecords(rk, &dr, 1, o, q);
	rd_kafka_DeleteRecords_destroy(dr);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_event_t *ev = rn__cli_admin_wait(&a->common, rk, q, a->common.timeout_ms, "");
	int rc = 1;
	if (ev) {
		rc = print_result(a, rd_kafka_event_DeleteRecords_result(ev));
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_queue_destroy(q);
	return rc;
}

int rn__cli_topic_delete_records(int argc, char **argv)
{
	struct dr_args a = {0};

	rn__cli_common_init(&a.common, "runnel topic delete-records");
	int rc = parse_args(&a, argc, argv);
	if (rc >= 0)
		return rc;
	return rn__cli_run(&a.common, run, &a);
}
