/*
 * `runnel topic log-dirs [--topic-list T1,T2]`: each broker's log directories with the size
 * of every partition, printed as kafka-log-dirs.sh --describe prints them (two lines, then one
 * JSON document). librdkafka has no DescribeLogDirs, so after finding the brokers through
 * librdkafka's Metadata this sends the request itself, encoded by Runnel's own codec, over a
 * plain blocking TCP connection to each broker.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/common.h"
#include "cli/raw.h"
#include "cli/topic_records.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/iochain.h"
#include "core/metrics.h"
#include "proto/frame.h"
#include "proto/gen/rn_msg.h"
#include "proto/record_batch.h"

static const char usage_text[] =
    "Usage: runnel topic log-dirs [--topic-list T1,T2,...]\n"
    "\n"
    "Describes every broker's log directories and the size of each partition in them\n"
    "(kafka-log-dirs.sh --describe). Without --topic-list, every topic.\n"
    "\n"
    "Options:\n"
    "  -t, --topic-list LIST         comma-separated topics to show\n";

#define DLD_VERSION 1

struct ld_args {
	struct rn_cli_common common;
	const char *topics; /* comma list or NULL */
};

static int parse_opt(void *arg_, int opt, const char *arg)
{
	struct ld_args *a = arg_;

	if (opt != 't')
		return 2;
	a->topics = arg;
	return 0;
}

/* Returns -1 to go on, or the exit code (0 after --help). */
static int parse_args(struct ld_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"topic-list", required_argument, NULL, 't'},
	    {0},
	};

	int rc = rn__cli_getopt(&a->common, argc, argv, "t:", longopts, usage_text, parse_opt, a);
	if (rc >= 0)
		return rc;
	if (optind < argc)
		return rn__cli_err(&a->common, "unexpected argument '%s'", argv[optind]) + 1;
	return -1;
}

/* One request/response exchange; the response body (after its header) starts at *off. */
static int exchange(int fd, struct rn_buf *body, size_t *off)
{
	struct rn_iochain w = {0};
	rn__cli_raw_begin(&w, RN_API_DESCRIBE_LOG_DIRS, DLD_VERSION, "runnel-topic-log-dirs");
	struct rn_describe_log_dirs_request rq = {.topics = NULL, .topics_count = -1};
	rn_describe_log_dirs_request_encode(&w, DLD_VERSION, &rq);
	return rn__cli_raw_exchange(fd, &w, RN_API_DESCRIBE_LOG_DIRS, DLD_VERSION, body, off);
}

static void json_str(struct rn_buf *o, const char *s, int32_t n)
{
	rn_buf_printf(o, "\"");
	for (int32_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			rn_buf_printf(o, "\\%c", c);
		else if (c < 0x20)
			rn_buf_printf(o, "\\u%04x", c);
		else
			rn_buf_printf(o, "%c", c);
	}
	rn_buf_printf(o, "\"");
}

static bool listed(const char *list, struct rn_str t)
{
	if (!list)
		return true;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (t.len >= 0 && n == (size_t)t.len && !memcmp(p, t.ptr, n))
			return true;
		p += n + (e ? 1 : 0);
	}
	return false;
}

static void print_dirs(struct rn_buf *o, const struct ld_args *a,
		       const struct rn_describe_log_dirs_response *r)
{
	for (int32_t i = 0; i < r->results_count; i++) {
		const struct rn_describe_log_dirs_response_describe_log_dirs_result *d =
		    &r->results[i];
		rn_buf_printf(o, "%s{\"logDir\":", i ? "," : "");
		json_str(o, d->log_dir.ptr, d->log_dir.len);
		if (d->error_code)
			rn_buf_printf(o, ",\"error\":\"%s\"",
				      rd_kafka_err2name((rd_kafka_resp_err_t)d->error_code));
		else
			rn_buf_printf(o, ",\"error\":null");
		rn_buf_printf(o, ",\"partitions\":[");
		bool first = true;
		for (int32_t j = 0; j < d->topics_count; j++) {
			const struct rn_describe_log_dirs_response_describe_log_dirs_topic *t =
			    &d->topics[j];
			if (!listed(a->topics, t->name))
				continue;
			for (int32_t k = 0; k < t->partitions_count; k++) {
				const struct
				    rn_describe_log_dirs_response_describe_log_dirs_partition *p =
					&t->partitions[k];
				rn_buf_printf(
				    o,
				    "%s{\"partition\":\"%.*s-%d\",\"size\":%lld,\"offsetLag\":%lld,"
				    "\"isFuture\":%s}",
				    first ? "" : ",", t->name.len, t->name.ptr, p->partition_index,
				    (long long)p->partition_size, (long long)p->offset_lag,
				    p->is_future_key ? "true" : "false");
				first = false;
			}
		}
		rn_buf_printf(o, "]}");
	}
}

/* Asks one broker; prints its JSON object. Returns 0 or 1 after an error line. */
static int one_broker(struct rn_buf *o, struct ld_args *a,
		      const struct rd_kafka_metadata_broker *br, bool first)
{
	int fd = rn__cli_connect(&a->common, br->host, br->port);
	if (fd < 0)
		return 1;
	struct rn_buf body = {0};
	struct rn_arena arena = {0};
	struct rn_describe_log_dirs_response r;
	struct rn_rd rd;
	size_t off = 0;
	int rc = exchange(fd, &body, &off);
	rn__cli_raw_close(fd);
	if (rc == 0) {
		rn_rd_init(&rd, body.data + off, body.len - off, &arena);
		rc = rn_describe_log_dirs_response_decode(&rd, DLD_VERSION, &r);
	}
	if (rc < 0) {
		rc = rn__cli_err(&a->common, "no DescribeLogDirs answer from broker %d at %s:%d",
				 br->id, br->host, br->port);
	} else {
		rn_buf_printf(o, "%s{\"broker\":%d,\"logDirs\":[", first ? "" : ",", br->id);
		print_dirs(o, a, &r);
		rn_buf_printf(o, "]}");
		rc = 0;
	}
	rn_arena_free(&arena);
	rn_buf_free(&body);
	return rc;
}

static int run(void *arg, rd_kafka_t *rk)
{
	struct ld_args *a = arg;
	const struct rd_kafka_metadata *md;
	if (rn__cli_metadata(&a->common, rk, &md) < 0)
		return 1;
	printf("Querying brokers for log directories information\n");
	fflush(stdout);
	struct rn_buf o = {0};
	int rc = 0;
	for (int i = 0; i < md->broker_cnt && rc == 0; i++)
		rc = one_broker(&o, a, &md->brokers[i], i == 0);
	if (rc == 0) {
		printf("Received log directory information from brokers ");
		for (int i = 0; i < md->broker_cnt; i++)
			printf("%s%d", i ? "," : "", md->brokers[i].id);
		printf("\n{\"version\":1,\"brokers\":[%.*s]}\n", (int)o.len, (const char *)o.data);
	}
	rn_buf_free(&o);
	rd_kafka_metadata_destroy(md);
	return rc;
}

int rn__cli_topic_log_dirs(int argc, char **argv)
{
	struct ld_args a = {0};

	rn__cli_common_init(&a.common, "runnel topic log-dirs");
	int rc = parse_args(&a, argc, argv);
	if (rc >= 0)
		return rc;
	/* The brokers come from librdkafka's Metadata, so the bootstrap check is the shared one;
	 * each broker is then asked over rn__cli_connect(), which words a failure the same way. */
	return rn__cli_run(&a.common, run, &a);
}
