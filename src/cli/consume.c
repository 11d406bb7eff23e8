/*
 * `runnel consume TOPIC`: prints records like kafka-console-consumer (or a kcat -f format).
 *
 * Without -G it reads partitions directly, with no consumer group and no offset commits.
 * librdkafka 2.0.2's rd_kafka_assign() refuses to work without a group.id ("Unknown group"), so
 * this uses the queue-based simple consumer (rd_kafka_consume_start_queue), as kcat -C does.
 * With -G it subscribes as a group member instead.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"

static const char usage_text[] =
    "Usage: runnel consume TOPIC [options]\n"
    "\n"
    "Prints the records of TOPIC (all partitions, or -p) to stdout, one per line, and\n"
    "\"Processed a total of N messages\" to stderr at the end. Stops after -c records, at the\n"
    "end of all partitions with -e, or on Ctrl-C.\n"
    "\n"
    "Options:\n"
    "  -p, --partition N       read only partition N\n"
    "  -o, --offset WHERE      beginning, end (default), an absolute OFFSET, or -N (the last\n"
    "                          N records of each partition)\n"
    "  -s, --from-timestamp MS start at the first record with timestamp >= MS (epoch ms)\n"
    "  -c, --count N           exit after N records\n"
    "  -e, --exit-at-end       exit when every partition has been read to its end\n"
    "  -G, --group GROUP       consume as a member of GROUP (subscribe, commits offsets)\n"
    "      --print-key         print the key (\"null\" if none)\n"
    "      --print-headers     print headers as k:v,k:v (\"NO_HEADERS\" if none)\n"
    "      --print-partition   print Partition:N\n"
    "      --print-offset      print Offset:N\n"
    "      --print-timestamp   print CreateTime:MS (or LogAppendTime:MS)\n"
    "                          (fields are tab-separated, in kafka-console-consumer's order)\n"
    "  -f, --format FMT        kcat-style format instead: %s value, %k key, %t topic,\n"
    "                          %p partition, %o offset, %T timestamp, %h headers, %S value\n"
    "                          size, %K key size, %% percent, \\n newline, \\t tab\n";

enum {
	OPT_PKEY = RN_CLI_OPT_FIRST_FREE,
	OPT_PHDR,
	OPT_PPART,
	OPT_POFF,
	OPT_PTS,
};

struct consume_args {
	struct rn_cli_common common;
	const char *topic;
	int partition; /* -1: all */
	int64_t offset;
	int64_t from_ts; /* -1: unset */
	long long count; /* 0: unlimited */
	bool exit_at_end;
	const char *group;
	const char *format;
	bool print_key, print_headers, print_partition, print_offset, print_ts;
};

static int parse_offset(struct consume_args *a, const char *arg)
{
	long long v;

	if (strcmp(arg, "beginning") == 0 || strcmp(arg, "earliest") == 0)
		a->offset = RD_KAFKA_OFFSET_BEGINNING;
	else if (strcmp(arg, "end") == 0 || strcmp(arg, "latest") == 0)
		a->offset = RD_KAFKA_OFFSET_END;
	else if (rn__cli_parse_ll(arg, INT64_MIN + 1, INT64_MAX, false, &v) == 0)
		a->offset = v >= 0 ? v : RD_KAFKA_OFFSET_TAIL(-v);
	else
		return rn__cli_err(&a->common,
				   "--offset expects beginning, end, OFFSET or -N, got '%s'", arg);
	return 0;
}

static int parse_opt(void *arg_, int opt, const char *arg)
{
	struct consume_args *a = arg_;
	long long v;

	switch (opt) {
	case 'p':
		if (rn__cli_parse_ll(arg, 0, INT32_MAX, false, &v))
			return rn__cli_err(&a->common, "--partition expects a number, got '%s'",
					   arg);
		a->partition = (int)v;
		return 0;
	case 'o': return parse_offset(a, arg);
	case 's':
		if (rn__cli_parse_ll(arg, 0, INT64_MAX, false, &v))
			return rn__cli_err(&a->common,
					   "--from-timestamp expects epoch ms, got '%s'", arg);
		a->from_ts = v;
		return 0;
	case 'c':
		if (rn__cli_parse_ll(arg, 1, INT64_MAX, true, &v))
			return rn__cli_err(&a->common, "--count expects a number >= 1, got '%s'",
					   arg);
		a->count = v;
		return 0;
	case 'e': a->exit_at_end = true; return 0;
	case 'G': a->group = arg; return 0;
	case 'f': a->format = arg; return 0;
	case OPT_PKEY: a->print_key = true; return 0;
	case OPT_PHDR: a->print_headers = true; return 0;
	case OPT_PPART: a->print_partition = true; return 0;
	case OPT_POFF: a->print_offset = true; return 0;
	case OPT_PTS: a->print_ts = true; return 0;
	default: return 2;
	}
}

/* Returns -1 to go on, or an exit code (0 after --help). */
static int parse_args(struct consume_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"partition", required_argument, NULL, 'p'},
	    {"offset", required_argument, NULL, 'o'},
	    {"from-timestamp", required_argument, NULL, 's'},
	    {"count", required_argument, NULL, 'c'},
	    {"exit-at-end", no_argument, NULL, 'e'},
	    {"group", required_argument, NULL, 'G'},
	    {"format", required_argument, NULL, 'f'},
	    {"print-key", no_argument, NULL, OPT_PKEY},
	    {"print-headers", no_argument, NULL, OPT_PHDR},
	    {"print-partition", no_argument, NULL, OPT_PPART},
	    {"print-offset", no_argument, NULL, OPT_POFF},
	    {"print-timestamp", no_argument, NULL, OPT_PTS},
	    {0},
	};
	int rc = rn__cli_getopt(&a->common, argc, argv, "p:o:s:c:eG:f:", longopts, usage_text,
				parse_opt, a);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return rn__cli_err(&a->common, "missing TOPIC (see --help)") + 1;
	a->topic = argv[optind++];
	if (optind < argc)
		return rn__cli_err(&a->common, "unexpected argument '%s'", argv[optind]) + 1;
	if (a->group && (a->partition >= 0 || a->from_ts >= 0))
		return rn__cli_err(&a->common, "-G cannot be combined with -p or -s") + 1;
	return -1;
}

static void print_headers(const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *h = NULL;
	const char *name;
	const void *val;
	size_t size;

	if (rd_kafka_message_headers(m, &h) || !rd_kafka_header_cnt(h)) {
		fputs("NO_HEADERS", stdout);
		return;
	}
	for (size_t i = 0; !rd_kafka_header_get_all(h, i, &name, &val, &size); i++)
		printf("%s%s:%.*s", i ? "," : "", name, val ? (int)size : 4,
		       val ? (const char *)val : "null");
}

/* kafka-console-consumer's DefaultMessageFormatter: tab-separated, value last. */
static void print_default(const struct consume_args *a, const rd_kafka_message_t *m)
{
	rd_kafka_timestamp_type_t tstype;
	int64_t ts = rd_kafka_message_timestamp(m, &tstype);

	if (a->print_ts)
		printf("%s:%lld\t",
		       tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? "LogAppendTime"
								    : "CreateTime",
		       (long long)ts);
	if (a->print_partition)
		printf("Partition:%d\t", m->partition);
	if (a->print_offset)
		printf("Offset:%lld\t", (long long)m->offset);
	if (a->print_headers) {
		print_headers(m);
		putchar('\t');
	}
	if (a->print_key) {
		if (m->key)
			fwrite(m->key, 1, m->key_len, stdout);
		else
			fputs("null", stdout);
		putchar('\t');
	}
	if (m->payload)
		fwrite(m->payload, 1, m->len, stdout);
	else if (a->print_key)
		fputs("null", stdout);
	putchar('\n');
}

static void print_format(const char *f, const rd_kafka_message_t *m)
{
	for (; *f; f++) {
		if (*f == '\\' && f[1]) {
			f++;
			putchar(*f == 'n' ? '\n' : *f == 't' ? '\t' : *f);
			continue;
		}
		if (*f != '%' || !f[1]) {
			putchar(*f);
			continue;
		}
		switch (*++f) {
		case 's': fwrite(m->payload, 1, m->payload ? m->len : 0, stdout); break;
		case 'k': fwrite(m->key, 1, m->key ? m->key_len : 0, stdout); break;
		case 'S': printf("%zd", m->payload ? (ssize_t)m->len : -1); break;
		case 'K': printf("%zd", m->key ? (ssize_t)m->key_len : -1); break;
		case 't': fputs(rd_kafka_topic_name(m->rkt), stdout); break;
		case 'p': printf("%d", m->partition); break;
		case 'o': printf("%lld", (long long)m->offset); break;
		case 'T': printf("%lld", (long long)rd_kafka_message_timestamp(m, NULL)); break;
		case 'h': print_headers(m); break;
		default:
			putchar('%');
			putchar(*f);
			break;
		}
	}
}

/* State of one consume run, shared by the direct and the group paths. */
struct consume_run {
	struct consume_args *a;
	rd_kafka_t *rk;
	rd_kafka_queue_t *q; /* direct mode */
	int npart;           /* partitions being read (direct mode) */
	int at_end;          /* partitions that reported EOF */
	long long seen;
};

/* Handles one message or event; returns true when the run is over. */
static bool handle(struct consume_run *r, rd_kafka_message_t *m)
{
	struct consume_args *a = r->a;

	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		if (a->common.verbose)
			fprintf(stderr, "%% Reached end of topic %s [%d] at offset %lld\n",
				a->topic, m->partition, (long long)m->offset);
		return a->exit_at_end && ++r->at_end >= r->npart;
	}
	if (m->err) {
		char why[512];
		rn__cli_err(&a->common, "%s",
			    m->rkt ? rd_kafka_message_errstr(m)
				   : rn__cli_explain(r->rk, m->err, why, sizeof(why)));
		return m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
		       m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
	}
	if (a->format)
		print_format(a->format, m);
	else
		print_default(a, m);
	r->seen++;
	return a->count && r->seen >= a->count;
}

static void consume_loop(struct consume_run *r)
{
	bool done = false;

	while (!done && !rn__cli_stop) {
		rd_kafka_message_t *m =
		    r->q ? rd_kafka_consume_queue(r->q, 200) : rd_kafka_consumer_poll(r->rk, 200);
		if (!m)
			continue;
		done = handle(r, m);
		rd_kafka_message_destroy(m);
	}
	fflush(stdout);
}

/* Resolves -s TIMESTAMP into per-partition start offsets (in place). Returns 0 or -1. */
static int offsets_for_times(struct consume_run *r, rd_kafka_topic_partition_list_t *l)
{
	char why[512];

	for (int i = 0; i < l->cnt; i++)
		l->elems[i].offset = r->a->from_ts;
	rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(r->rk, l, r->a->common.timeout_ms);
	if (err) {
		rn__cli_err(&r->a->common, "cannot look up offsets for timestamp %lld: %s",
			    (long long)r->a->from_ts,
			    rn__cli_explain(r->rk, err, why, sizeof(why)));
		return -1;
	}
	/* No record at or after the timestamp: start at the end, as Kafka's tools do. */
	for (int i = 0; i < l->cnt; i++)
		if (l->elems[i].offset < 0)
			l->elems[i].offset = RD_KAFKA_OFFSET_END;
	return 0;
}

/* Builds the list of partitions to read, after checking the topic exists. */
static rd_kafka_topic_partition_list_t *partitions(struct consume_run *r)
{
	const struct rd_kafka_metadata *md;
	struct consume_args *a = r->a;

	if (rn__cli_metadata(&a->common, r->rk, &md))
		return NULL;
	const struct rd_kafka_metadata_topic *t = rn__cli_find_topic(md, a->topic);
	rd_kafka_topic_partition_list_t *l = NULL;
	if (!t || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
		rn__cli_err(&a->common, "topic '%s' does not exist", a->topic);
	else if (a->partition >= t->partition_cnt)
		rn__cli_err(&a->common, "topic '%s' has no partition %d (it has %d)", a->topic,
			    a->partition, t->partition_cnt);
	else
		l = rd_kafka_topic_partition_list_new(t->partition_cnt);
	for (int i = 0; l && i < t->partition_cnt; i++)
		if (a->partition < 0 || t->partitions[i].id == a->partition)
			rd_kafka_topic_partition_list_add(l, a->topic, t->partitions[i].id)
			    ->offset = a->offset;
	rd_kafka_metadata_destroy(md);
	return l;
}

static int consume_direct(struct consume_run *r)
{
	rd_kafka_topic_partition_list_t *l = partitions(r);

	if (!l)
		return 1;
	if (r->a->from_ts >= 0 && offsets_for_times(r, l)) {
		rd_kafka_topic_partition_list_destroy(l);
		return 1;
	}
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(r->rk, r->a->topic, NULL);
	r->q = rd_kafka_queue_new(r->rk);
	r->npart = l->cnt;
	for (int i = 0; i < l->cnt; i++)
		rd_kafka_consume_start_queue(rkt, l->elems[i].partition, l->elems[i].offset, r->q);
	consume_loop(r);
	for (int i = 0; i < l->cnt; i++)
		rd_kafka_consume_stop(rkt, l->elems[i].partition);
	rd_kafka_queue_destroy(r->q);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_topic_partition_list_destroy(l);
	return 0;
}

static int consume_group(struct consume_run *r)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);

	rd_kafka_topic_partition_list_add(l, r->a->topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t err = rd_kafka_subscribe(r->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err)
		return rn__cli_err(&r->a->common, "cannot subscribe: %s", rd_kafka_err2str(err));
	rd_kafka_poll_set_consumer(r->rk);
	/* EOF events come per assigned partition; the count is unknown in group mode. */
	r->npart = 1 << 30;
	consume_loop(r);
	rd_kafka_consumer_close(r->rk);
	return 0;
}

int rn_cli_consume(int argc, char **argv)
{
	struct consume_args a = {.partition = -1, .offset = RD_KAFKA_OFFSET_END, .from_ts = -1};
	char eof_kv[64], group_kv[300], reset_kv[64];
	const char *defaults[4] = {eof_kv, NULL, NULL, NULL};

	rn__cli_common_init(&a.common, "runnel consume");
	int rc = parse_args(&a, argc, argv);
	if (rc >= 0)
		return rc;
	snprintf(eof_kv, sizeof(eof_kv), "enable.partition.eof=%s",
		 a.exit_at_end || a.common.verbose ? "true" : "false");
	if (a.group) {
		snprintf(group_kv, sizeof(group_kv), "group.id=%s", a.group);
		snprintf(reset_kv, sizeof(reset_kv), "auto.offset.reset=%s",
			 a.offset == RD_KAFKA_OFFSET_BEGINNING ? "earliest" : "latest");
		defaults[1] = group_kv;
		defaults[2] = reset_kv;
	}
	rd_kafka_t *rk = rn__cli_client(&a.common, RD_KAFKA_CONSUMER, defaults, NULL, NULL, &rc);
	if (!rk)
		return rc;
	rn__cli_catch_signals();
	struct consume_run r = {.a = &a, .rk = rk};
	rc = a.group ? consume_group(&r) : consume_direct(&r);
	rd_kafka_destroy(rk);
	if (!rc)
		fprintf(stderr, "Processed a total of %lld messages\n", r.seen);
	return rc;
}
