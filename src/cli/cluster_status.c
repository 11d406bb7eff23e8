/*
 * `runnel cluster status`: the brokers (id, address, rack), the controller, and every
 * under-replicated partition (ISR smaller than its replica set) and offline partition (no
 * leader), as an operator checks a Kafka cluster before and after touching it. Partitions,
 * replicas and ISR come from librdkafka's Metadata; the brokers' racks, the cluster id and the
 * controller id are not in librdkafka's metadata API, so one raw Metadata v7 (no topics) goes
 * to a broker through Runnel's own codec. Exit status 2 when anything is under-replicated or
 * offline, so scripts can wait for a healthy cluster.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/raw.h"
#include "core/arena.h"
#include "proto/gen/rn_msg.h"

#define MD_VERSION 7 /* racks, cluster id, controller id; still the classic encoding */

static const char usage_text[] =
    "Usage: runnel cluster status [-b BOOTSTRAP]\n"
    "\n"
    "Shows the cluster's brokers (id, host:port, rack), its controller, and the partitions\n"
    "that are under-replicated (fewer in-sync replicas than replicas) or offline (no leader).\n"
    "\n"
    "Exit status: 0 when every partition has a leader and its full ISR, 2 when some partition\n"
    "is under-replicated or offline (or for bad options), 1 when no broker answers.\n"
    "\n";

static const char *const actions[] = {"status"};

struct st_args {
	struct rn_cli_common common;
};

/* What the raw Metadata says about the cluster itself. */
struct st_cluster {
	struct rn_arena arena;
	struct rn_buf body;
	struct rn_metadata_response r;
};

static int parse_opt(void *arg, int opt, const char *optarg_)
{
	(void)arg, (void)opt, (void)optarg_;
	return 2;
}

/* Metadata v7 asking for no topics: brokers, racks, cluster id, controller. 0 or -1. */
static int raw_cluster(struct st_args *a, const struct rd_kafka_metadata_broker *br,
		       struct st_cluster *cl)
{
	int fd = rn__cli_connect(&a->common, br->host, br->port);
	if (fd < 0)
		return -1;
	struct rn_iochain w = {0};
	rn__cli_raw_begin(&w, RN_API_METADATA, MD_VERSION, "runnel-cluster-status");
	struct rn_metadata_request rq = {.topics = NULL, .topics_count = 0};
	rn_metadata_request_encode(&w, MD_VERSION, &rq);
	size_t off = 0;
	int rc = rn__cli_raw_exchange(fd, &w, RN_API_METADATA, MD_VERSION, &cl->body, &off);
	rn__cli_raw_close(fd);
	if (rc == 0) {
		struct rn_rd rd;
		rn_rd_init(&rd, cl->body.data + off, cl->body.len - off, &cl->arena);
		rc = rn_metadata_response_decode(&rd, MD_VERSION, &cl->r) < 0 ? -1 : 0;
	}
	if (rc < 0)
		rn__cli_err(&a->common, "no Metadata answer from broker %d at %s:%d", br->id,
			    br->host, br->port);
	return rc;
}

static void print_brokers(const struct st_cluster *cl)
{
	const struct rn_metadata_response *r = &cl->r;
	printf("Cluster id: %.*s\n", r->cluster_id.len < 0 ? 1 : r->cluster_id.len,
	       r->cluster_id.len < 0 ? "-" : r->cluster_id.ptr);
	if (r->controller_id >= 0)
		printf("Controller: %d\n", r->controller_id);
	else
		printf("Controller: none\n");
	printf("Brokers: %d\n", r->brokers_count);
	printf("  %-6s %-30s %s\n", "ID", "HOST:PORT", "RACK");
	for (int32_t i = 0; i < r->brokers_count; i++) {
		const struct rn_metadata_response_metadata_response_broker *b = &r->brokers[i];
		char addr[300];
		snprintf(addr, sizeof(addr), "%.*s:%d", b->host.len, b->host.ptr, b->port);
		printf("  %-6d %-30s %.*s\n", b->node_id, addr, b->rack.len < 0 ? 1 : b->rack.len,
		       b->rack.len < 0 ? "-" : b->rack.ptr);
	}
}

static void print_ids(const int32_t *ids, int n)
{
	char s[256];
	size_t at = 0;
	s[0] = 0;
	for (int i = 0; i < n && at < sizeof(s) - 16; i++)
		at += (size_t)snprintf(s + at, sizeof(s) - at, "%s%d", i ? "," : "", ids[i]);
	printf(" %-16s", n ? s : "-");
}

static bool offline(const rd_kafka_metadata_partition_t *p)
{
	return p->leader < 0;
}

static bool under_replicated(const rd_kafka_metadata_partition_t *p)
{
	return !offline(p) && p->isr_cnt < p->replica_cnt;
}

/* Prints the partitions for which pick() holds under title; returns how many there were. */
static int print_parts(const struct rd_kafka_metadata *md, const char *title,
		       bool (*pick)(const rd_kafka_metadata_partition_t *))
{
	int n = 0;
	for (int i = 0; i < md->topic_cnt; i++)
		for (int j = 0; j < md->topics[i].partition_cnt; j++)
			n += pick(&md->topics[i].partitions[j]);
	printf("%s: %d\n", title, n);
	if (!n)
		return 0;
	printf("  %-40s %-9s %-6s %-16s %-16s\n", "TOPIC", "PARTITION", "LEADER", "REPLICAS",
	       "ISR");
	for (int i = 0; i < md->topic_cnt; i++) {
		const struct rd_kafka_metadata_topic *t = &md->topics[i];
		for (int j = 0; j < t->partition_cnt; j++) {
			const rd_kafka_metadata_partition_t *p = &t->partitions[j];
			if (!pick(p))
				continue;
			printf("  %-40s %-9d %-6d", t->topic, p->id, p->leader);
			print_ids(p->replicas, p->replica_cnt);
			print_ids(p->isrs, p->isr_cnt);
			printf("\n");
		}
	}
	return n;
}

static int run(void *arg, rd_kafka_t *rk)
{
	struct st_args *a = arg;
	const struct rd_kafka_metadata *md;
	if (rn__cli_metadata(&a->common, rk, &md) < 0)
		return 1;
	struct st_cluster cl = {0};
	int rc = -1;
	/* The broker that answered librdkafka first is as good as any; try each until one does. */
	for (int i = 0; i < md->broker_cnt && rc < 0; i++) {
		rn_arena_free(&cl.arena);
		rc = raw_cluster(a, &md->brokers[i], &cl);
	}
	if (rc == 0) {
		print_brokers(&cl);
		int parts = 0;
		for (int i = 0; i < md->topic_cnt; i++)
			parts += md->topics[i].partition_cnt;
		printf("Topics: %d, partitions: %d\n", md->topic_cnt, parts);
		int bad = print_parts(md, "Under-replicated partitions", under_replicated);
		bad += print_parts(md, "Offline partitions", offline);
		rc = bad ? 2 : 0;
	} else {
		rc = 1;
	}
	rn_arena_free(&cl.arena);
	rn_buf_free(&cl.body);
	rd_kafka_metadata_destroy(md);
	return rc;
}

static int cmd_status(int argc, char **argv)
{
	struct st_args a;
	rn__cli_common_init(&a.common, "runnel cluster status");
	int rc = rn__cli_getopt(&a.common, argc, argv, "", (const struct option[]){{0}}, usage_text,
				parse_opt, &a);
	if (rc >= 0)
		return rc;
	if (optind < argc)
		return rn__cli_err(&a.common, "unexpected argument '%s'", argv[optind]) + 1;
	return rn__cli_run(&a.common, run, &a);
}

int rn_cli_cluster(int argc, char **argv)
{
	int rc = rn__cli_action(argc, argv, "cluster", actions, 1, usage_text);
	if (rc >= 0)
		return rc;
	return cmd_status(argc - 1, argv + 1);
}
