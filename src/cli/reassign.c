/*
 * `runnel topic reassign TOPIC --partition N --replicas 2,3,1 | --cancel`, and
 * `runnel topic reassign --list [TOPIC]`: partition reassignment (KIP-455) as
 * kafka-reassign-partitions.sh --execute / --cancel / --list does it, one partition at a time.
 * librdkafka 2.0.2 has no reassignment API, so the requests (AlterPartitionReassignments,
 * ListPartitionReassignments) go raw, encoded by Runnel's codec, to the broker that answered
 * librdkafka's Metadata (any broker of a Runnel cluster accepts them: they are CAS writes).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/common.h"
#include "cli/raw.h"
#include "cli/reassign.h"
#include "core/arena.h"
#include "meta/cluster.h"
#include "proto/gen/rn_msg.h"

static const char usage_text[] =
    "Usage: runnel topic reassign TOPIC --partition N --replicas ID,ID,...\n"
    "       runnel topic reassign TOPIC --partition N --cancel\n"
    "       runnel topic reassign --list [TOPIC]\n"
    "\n"
    "Moves a partition to the given brokers (the first is its preferred leader): the new\n"
    "replicas copy the log in the background (follower.replication.throttled.rate), and the\n"
    "old ones leave once every new one is in sync. --cancel reverts a move in flight; --list\n"
    "shows the moves in flight (kafka-reassign-partitions.sh --list).\n"
    "\n"
    "Options:\n"
    "  -P, --partition N             the partition to move\n"
    "  -R, --replicas LIST           target broker ids, comma-separated\n"
    "      --cancel                  cancel the reassignment of the partition\n"
    "      --list                    list reassignments in flight (of TOPIC, or all)\n";

enum { OPT_CANCEL = RN_CLI_OPT_FIRST_FREE, OPT_LIST };

struct ra_args {
	struct rn_cli_common common;
	const char *topic;
	long long partition;
	int32_t replicas[RN_MAX_REPLICAS];
	int32_t nreplicas;
	bool have_replicas, cancel, list;
};

static int parse_replicas(struct ra_args *a, const char *arg)
{
	a->nreplicas = 0;
	for (const char *p = arg; *p;) {
		const char *e = strchr(p, ',');
		char tmp[24];
		size_t n = e ? (size_t)(e - p) : strlen(p);
		long long v;
		if (n == 0 || n >= sizeof(tmp) || a->nreplicas == RN_MAX_REPLICAS)
			return -1;
		memcpy(tmp, p, n);
		tmp[n] = 0;
		if (rn__cli_parse_ll(tmp, 0, INT32_MAX, false, &v))
			return -1;
		a->replicas[a->nreplicas++] = (int32_t)v;
		p += n + (e ? 1 : 0);
	}
	return a->nreplicas > 0 ? 0 : -1;
}

static int parse_opt(void *arg_, int opt, const char *arg)
{
	struct ra_args *a = arg_;
	switch (opt) {
	case 'P':
		if (rn__cli_parse_ll(arg, 0, INT32_MAX, false, &a->partition))
			return rn__cli_err(&a->common,
					   "--partition expects an index >= 0, got '%s'", arg);
		return 0;
	case 'R':
		if (parse_replicas(a, arg))
			return rn__cli_err(
			    &a->common, "--replicas expects broker ids like 2,3,1, got '%s'", arg);
		a->have_replicas = true;
		return 0;
	case OPT_CANCEL: a->cancel = true; return 0;
	case OPT_LIST: a->list = true; return 0;
	default: return 2;
	}
}

/* Returns -1 to go on, or the exit code (0 after --help). */
static int parse_args(struct ra_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"partition", required_argument, NULL, 'P'},
	    {"replicas", required_argument, NULL, 'R'},
	    {"cancel", no_argument, NULL, OPT_CANCEL},
	    {"list", no_argument, NULL, OPT_LIST},
	    {0},
	};
	int rc = rn__cli_getopt(&a->common, argc, argv, "P:R:", longopts, usage_text, parse_opt, a);
	if (rc >= 0)
		return rc;
	if (optind < argc)
		a->topic = argv[optind++];
	if (optind < argc)
		return rn__cli_err(&a->common, "unexpected argument '%s'", argv[optind]) + 1;
	if (a->list)
		return a->have_replicas || a->cancel
			   ? rn__cli_err(&a->common, "--list takes no --replicas or --cancel") + 1
			   : -1;
	if (!a->topic)
		return rn__cli_err(&a->common, "missing TOPIC (see --help)") + 1;
	if (a->partition < 0)
		return rn__cli_err(&a->common, "missing --partition N") + 1;
	if (a->have_replicas == a->cancel)
		return rn__cli_err(&a->common, "give either --replicas LIST or --cancel") + 1;
	return -1;
}

/* The broker that answered librdkafka's Metadata (or the first one listed). */
static const struct rd_kafka_metadata_broker *pick_broker(const struct rd_kafka_metadata *md)
{
	for (int i = 0; i < md->broker_cnt; i++)
		if (md->brokers[i].id == md->orig_broker_id)
			return &md->brokers[i];
	return md->broker_cnt > 0 ? &md->brokers[0] : NULL;
}

struct ra_exchange {
	struct rn_buf body;
	struct rn_arena arena;
	struct rn_rd rd;
};

/* Sends w to the broker; on 0, x->rd is on the response body. */
static int exchange(struct ra_args *a, const struct rd_kafka_metadata_broker *br,
		    struct rn_iochain *w, int16_t key, struct ra_exchange *x)
{
	int fd = rn__cli_connect(&a->common, br->host, br->port);
	if (fd < 0)
		return -1;
	size_t off = 0;
	int rc = rn__cli_raw_exchange(fd, w, key, 0, &x->body, &off);
	rn__cli_raw_close(fd);
	if (rc < 0) {
		rn__cli_err(&a->common, "no answer from broker %d at %s:%d", br->id, br->host,
			    br->port);
		return -1;
	}
	rn_rd_init(&x->rd, x->body.data + off, x->body.len - off, &x->arena);
	return 0;
}

static void print_ids(const char *what, const int32_t *ids, int32_t n)
{
	printf(" %s: ", what);
	for (int32_t i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", ids[i]);
	printf(".");
}

static int do_list(struct ra_args *a, const struct rd_kafka_metadata_broker *br,
		   const struct rd_kafka_metadata_topic *mt)
{
	struct rn_iochain w = {0};
	rn__cli_raw_begin(&w, RN_API_LIST_PARTITION_REASSIGNMENTS, 0, "runnel-topic-reassign");
	struct rn_list_partition_reassignments_request rq = {.timeout_ms = a->common.timeout_ms,
							     .topics_count = -1};
	struct rn_list_partition_reassignments_request_list_partition_reassignments_topics t;
	int32_t idx[4096];
	if (mt) {
		t.name = rn_str_c(mt->topic);
		t.partition_indexes = idx;
		t.partition_indexes_count = mt->partition_cnt < 4096 ? mt->partition_cnt : 4096;
		for (int32_t i = 0; i < t.partition_indexes_count; i++)
			idx[i] = mt->partitions[i].id;
		rq.topics = &t;
		rq.topics_count = 1;
	}
	rn_list_partition_reassignments_request_encode(&w, 0, &rq);
	struct ra_exchange x = {0};
	struct rn_list_partition_reassignments_response r;
	int rc = exchange(a, br, &w, RN_API_LIST_PARTITION_REASSIGNMENTS, &x);
	if (rc == 0 && rn_list_partition_reassignments_response_decode(&x.rd, 0, &r) < 0)
		rc = rn__cli_err(&a->common, "malformed ListPartitionReassignments answer");
	if (rc == 0 && r.error_code)
		rc = rn__cli_err(&a->common, "%s",
				 rd_kafka_err2name((rd_kafka_resp_err_t)r.error_code));
	if (rc == 0 && r.topics_count <= 0)
		printf("No partition reassignments found.\n");
	else if (rc == 0)
		printf("Current partition reassignments:\n");
	for (int32_t i = 0; rc == 0 && i < r.topics_count; i++) {
		for (int32_t j = 0; j < r.topics[i].partitions_count; j++) {
			const struct
			    rn_list_partition_reassignments_response_ongoing_partition_reassignment
				*p = &r.topics[i].partitions[j];
			printf("%.*s-%d:", r.topics[i].name.len, r.topics[i].name.ptr,
			       p->partition_index);
			print_ids("replicas", p->replicas, p->replicas_count);
			print_ids("adding", p->adding_replicas, p->adding_replicas_count);
			print_ids("removing", p->removing_replicas, p->removing_replicas_count);
			printf("\n");
		}
	}
	rn_arena_free(&x.arena);
	rn_buf_free(&x.body);
	return rc ? 1 : 0;
}

static int do_alter(struct ra_args *a, const struct rd_kafka_metadata_broker *br)
{
	struct rn_iochain w = {0};
	rn__cli_raw_begin(&w, RN_API_ALTER_PARTITION_REASSIGNMENTS, 0, "runnel-topic-reassign");
	struct rn_alter_partition_reassignments_request_reassignable_partition p = {
	    .partition_index = (int32_t)a->partition,
	    .replicas = a->cancel ? NULL : a->replicas,
	    .replicas_count = a->cancel ? -1 : a->nreplicas};
	struct rn_alter_partition_reassignments_request_reassignable_topic t = {
	    .name = rn_str_c(a->topic), .partitions = &p, .partitions_count = 1};
	struct rn_alter_partition_reassignments_request rq = {
	    .timeout_ms = a->common.timeout_ms, .topics = &t, .topics_count = 1};
	rn_alter_partition_reassignments_request_encode(&w, 0, &rq);
	struct ra_exchange x = {0};
	struct rn_alter_partition_reassignments_response r;
	int rc = exchange(a, br, &w, RN_API_ALTER_PARTITION_REASSIGNMENTS, &x);
	if (rc == 0 && (rn_alter_partition_reassignments_response_decode(&x.rd, 0, &r) < 0 ||
			(r.error_code == 0 &&
			 (r.responses_count != 1 || r.responses[0].partitions_count != 1))))
		rc = rn__cli_err(&a->common, "malformed AlterPartitionReassignments answer");
	if (rc == 0) {
		int16_t err = r.error_code ? r.error_code : r.responses[0].partitions[0].error_code;
		struct rn_str msg =
		    r.error_code ? r.error_message : r.responses[0].partitions[0].error_message;
		if (err)
			rc = rn__cli_err(&a->common, "%s-%lld: %s%s%.*s", a->topic, a->partition,
					 rd_kafka_err2name((rd_kafka_resp_err_t)err),
					 msg.len > 0 ? ": " : "", msg.len > 0 ? msg.len : 0,
					 msg.len > 0 ? msg.ptr : "");
		else if (a->cancel)
			printf("Cancelled the reassignment of %s-%lld.\n", a->topic, a->partition);
		else
			printf("Started the reassignment of %s-%lld.\n", a->topic, a->partition);
	}
	rn_arena_free(&x.arena);
	rn_buf_free(&x.body);
	return rc ? 1 : 0;
}

static int run(void *arg, rd_kafka_t *rk)
{
	struct ra_args *a = arg;
	const struct rd_kafka_metadata *md;
	if (rn__cli_metadata(&a->common, rk, &md))
		return 1;
	int rc;
	const struct rd_kafka_metadata_broker *br = pick_broker(md);
	const struct rd_kafka_metadata_topic *mt =
	    a->topic ? rn__cli_find_topic(md, a->topic) : NULL;
	if (!br)
		rc = rn__cli_err(&a->common, "no broker in the cluster's metadata");
	else if (a->topic && !mt)
		rc = rn__cli_err(&a->common, "topic '%s' does not exist", a->topic);
	else if (a->list)
		rc = do_list(a, br, mt);
	else
		rc = do_alter(a, br);
	rd_kafka_metadata_destroy(md);
	return rc;
}

int rn__cli_topic_reassign(int argc, char **argv)
{
	struct ra_args a = {.partition = -1};
	rn__cli_common_init(&a.common, "runnel topic reassign");
	int rc = parse_args(&a, argc, argv);
	if (rc >= 0)
		return rc;
	return rn__cli_run(&a.common, run, &a);
}
