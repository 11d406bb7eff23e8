/*
 * `runnel produce TOPIC`: one record per stdin line, like kcat -P and kafka-console-producer.
 * Waits for every delivery report and exits non-zero if any record failed, so shell pipelines
 * can trust the exit code.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"

static const char usage_text[] =
    "Usage: runnel produce TOPIC [options] < lines\n"
    "\n"
    "Produces one record per line of stdin (the newline is not part of the value) and waits\n"
    "for every delivery report. Records with the same key go to the same partition as with\n"
    "the Java client (murmur2 partitioner; keyless records are spread randomly).\n"
    "\n"
    "Options:\n"
    "  -K, --key-separator SEP   split each line at the first SEP into key and value\n"
    "                            (a line without SEP becomes a keyless record)\n"
    "  -p, --partition N         produce to partition N instead of using the partitioner\n"
    "  -H, --header KEY=VALUE    add a header to every record, repeatable\n"
    "  -a, --acks 0|1|all        acknowledgements to wait for (default all)\n"
    "  -z, --compression CODEC   gzip, snappy, lz4, zstd or none (default none)\n";

struct produce_args {
	struct rn_cli_common common;
	const char *topic;
	const char *key_sep;
	int partition;
	const char *acks;
	const char *codec;
	rd_kafka_headers_t *headers;
};

/* Delivery bookkeeping, touched only from rd_kafka_poll()/flush() on the main thread. */
struct produce_stats {
	long long sent;
	long long delivered;
	long long failed;
	char first_error[600]; /* cause of the first failure, for the one summary line */
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct produce_stats *st = opaque;
	char why[512];

	if (!m->err) {
		st->delivered++;
		return;
	}
	/* One summary line at the end; a dead broker would otherwise print a line per record. */
	if (st->failed++ == 0)
		snprintf(st->first_error, sizeof(st->first_error), "%s",
			 rn__cli_explain(rk, m->err, why, sizeof(why)));
}

static int parse_opt(void *arg_, int opt, const char *arg)
{
	struct produce_args *a = arg_;
	long long v;

	switch (opt) {
	case 'K':
		if (!*arg)
			return rn__cli_err(&a->common, "--key-separator must not be empty");
		a->key_sep = arg;
		return 0;
	case 'p':
		if (rn__cli_parse_ll(arg, 0, INT32_MAX, false, &v))
			return rn__cli_err(&a->common, "--partition expects a number, got '%s'",
					   arg);
		a->partition = (int)v;
		return 0;
	case 'H': {
		const char *eq = strchr(arg, '=');
		if (!eq || eq == arg)
			return rn__cli_err(&a->common, "--header expects KEY=VALUE, got '%s'", arg);
		rd_kafka_header_add(a->headers, arg, eq - arg, eq + 1, (ssize_t)strlen(eq + 1));
		return 0;
	}
	case 'a':
		if (strcmp(arg, "0") && strcmp(arg, "1") && strcmp(arg, "all") && strcmp(arg, "-1"))
			return rn__cli_err(&a->common, "--acks expects 0, 1 or all, got '%s'", arg);
		a->acks = arg;
		return 0;
	case 'z':
		if (strcmp(arg, "gzip") && strcmp(arg, "snappy") && strcmp(arg, "lz4") &&
		    strcmp(arg, "zstd") && strcmp(arg, "none"))
			return rn__cli_err(&a->common,
					   "--compression expects gzip, snappy, lz4, zstd or none, "
					   "got '%s'",
					   arg);
		a->codec = arg;
		return 0;
	default: return 2;
	}
}

/* Returns -1 to go on, or an exit code (0 after --help). */
static int parse_args(struct produce_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"key-separator", required_argument, NULL, 'K'},
	    {"partition", required_argument, NULL, 'p'},
	    {"header", required_argument, NULL, 'H'},
	    {"acks", required_argument, NULL, 'a'},
	    {"compression", required_argument, NULL, 'z'},
	    {0},
	};
	int rc = rn__cli_getopt(&a->common, argc, argv, "K:p:H:a:z:", longopts, usage_text,
				parse_opt, a);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return rn__cli_err(&a->common, "missing TOPIC (see --help)") + 1;
	a->topic = argv[optind++];
	if (optind < argc)
		return rn__cli_err(&a->common, "unexpected argument '%s'", argv[optind]) + 1;
	return -1;
}

/* Produces one line; retries while the local queue is full. Returns 0 or -1 (error printed). */
static int produce_line(struct produce_args *a, rd_kafka_t *rk, char *line, size_t len)
{
	const char *key = NULL;
	size_t klen = 0;
	char *val = line;
	size_t vlen = len;

	if (a->key_sep) {
		char *sep = memmem(line, len, a->key_sep, strlen(a->key_sep));
		if (sep) {
			key = line;
			klen = (size_t)(sep - line);
			val = sep + strlen(a->key_sep);
			vlen = len - klen - strlen(a->key_sep);
		}
	}
	for (;;) {
		/* producev takes ownership of the header copy only on success. */
		rd_kafka_headers_t *h =
		    rd_kafka_header_cnt(a->headers) ? rd_kafka_headers_copy(a->headers) : NULL;
		rd_kafka_resp_err_t err = rd_kafka_producev(
		    rk, RD_KAFKA_V_TOPIC(a->topic), RD_KAFKA_V_PARTITION(a->partition),
		    RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE(val, vlen),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
		    RD_KAFKA_V_END);
		if (!err)
			return 0;
		if (h)
			rd_kafka_headers_destroy(h);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			char why[512];
			rn__cli_err(&a->common, "cannot produce to '%s': %s", a->topic,
				    rn__cli_produce_error(rk, err, klen + vlen, why, sizeof(why)));
			return -1;
		}
		rd_kafka_poll(rk, 100);
	}
}

static int produce_stdin(struct produce_args *a, rd_kafka_t *rk, struct produce_stats *st)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	while (!rn__cli_stop && (n = getline(&line, &cap, stdin)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (produce_line(a, rk, line, (size_t)n)) {
			rc = 1;
			break;
		}
		st->sent++;
		rd_kafka_poll(rk, 0);
	}
	free(line);
	/* Flush in slices so Ctrl-C during a long wait still ends the process promptly. */
	while (rd_kafka_outq_len(rk) > 0 && !rn__cli_stop)
		rd_kafka_flush(rk, 200);
	rd_kafka_poll(rk, 0);
	if (rd_kafka_outq_len(rk) > 0) {
		rn__cli_err(&a->common, "interrupted with %d records undelivered",
			    rd_kafka_outq_len(rk));
		rc = 1;
	}
	return rc;
}

int rn_cli_produce(int argc, char **argv)
{
	/*
	 * murmur2_random is the Java client's partitioner: the same key lands on the same partition
	 * whichever client wrote it. A bounded message timeout keeps a dead broker from hanging a
	 * shell pipeline for librdkafka's default 5 minutes.
	 */
	char acks_kv[32], codec_kv[64], timeout_kv[48];
	const char *const defaults[] = {"partitioner=murmur2_random", timeout_kv, acks_kv, codec_kv,
					NULL};
	struct produce_args a = {
	    .partition = RD_KAFKA_PARTITION_UA, .acks = "all", .codec = "none"};
	struct produce_stats st = {0};

	rn__cli_common_init(&a.common, "runnel produce");
	a.headers = rd_kafka_headers_new(4);
	int rc = parse_args(&a, argc, argv);
	if (rc >= 0)
		goto out_headers;

	snprintf(acks_kv, sizeof(acks_kv), "acks=%s", a.acks);
	snprintf(timeout_kv, sizeof(timeout_kv), "message.timeout.ms=%d",
		 a.common.timeout_set ? a.common.timeout_ms : 30000);
	snprintf(codec_kv, sizeof(codec_kv), "compression.codec=%s", a.codec);
	rd_kafka_t *rk =
	    rn__cli_client(&a.common, RD_KAFKA_PRODUCER, defaults, on_delivery, &st, &rc);
	if (!rk)
		goto out_headers;
	rn__cli_catch_signals();
	rc = produce_stdin(&a, rk, &st);
	if (st.failed) {
		rn__cli_err(&a.common, "%lld of %lld records failed: %s", st.failed, st.sent,
			    st.first_error);
		rc = 1;
	}
	rd_kafka_destroy(rk);
out_headers:
	rd_kafka_headers_destroy(a.headers);
	return rc;
}
