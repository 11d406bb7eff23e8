/*
 * `runnel group list|describe|delete|reset-offsets`: consumer group administration through the
 * librdkafka 2.0.2 Admin API, printing what kafka-consumer-groups.sh prints (its describe
 * columns, '-' for unknown values) so scripts and eyes carry over.
 *
 * Log end offsets and datetimes go through rd_kafka_offsets_for_times(): one ListOffsets
 * request per leader for the whole partition list, where rd_kafka_query_watermark_offsets()
 * would cost one round trip per partition.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/group_util.h"

static const char usage_text[] =
    "Usage: runnel group <action> [options]\n"
    "\n"
    "Actions:\n"
    "  list [--state]                 group names (with --state: GROUP STATE)\n"
    "  describe GROUP...              a summary (GROUP COORDINATOR STATE PROTOCOL MEMBERS\n"
    "                                 TOTAL-LAG), then GROUP TOPIC PARTITION CURRENT-OFFSET\n"
    "                                 LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID rows\n"
    "  delete GROUP...                delete groups without active members and their offsets\n"
    "  reset-offsets GROUP (--topic T[:P,P...] ... | --all-topics) --to-earliest |\n"
    "               --to-latest | --to-offset N | --to-datetime YYYY-MM-DDTHH:MM:SS[.sss]\n"
    "               [--execute]\n"
    "                                 print the new committed offsets (a dry run), or commit\n"
    "                                 them with --execute; refused while the group has\n"
    "                                 active members, as Kafka does\n"
    "\n"
    "Options:\n"
    "  -g, --group GROUP              the group (instead of the positional GROUP), repeatable\n"
    "      --state                    list: show each group's state\n"
    "  -t, --topic T[:P,P...]         reset-offsets: topic, optionally only these partitions;\n"
    "                                 repeatable\n"
    "      --all-topics               reset-offsets: every partition the group has offsets for\n"
    "      --to-earliest              reset to the log start offset\n"
    "      --to-latest                reset to the log end offset\n"
    "      --to-offset N              reset to N (clamped into [log start, log end])\n"
    "      --to-datetime DT           reset to the first offset with timestamp >= DT (the log\n"
    "                                 end offset if none); local time unless DT ends in Z or\n"
    "                                 +HH:MM\n"
    "      --dry-run                  only print the plan (the default)\n"
    "      --execute                  commit the new offsets\n";

enum {
	OPT_STATE = RN_CLI_OPT_FIRST_FREE,
	OPT_ALL_TOPICS,
	OPT_EARLIEST,
	OPT_LATEST,
	OPT_TO_OFFSET,
	OPT_TO_DATETIME,
	OPT_DRY_RUN,
	OPT_EXECUTE,
};

enum reset_how { RESET_NONE, RESET_EARLIEST, RESET_LATEST, RESET_OFFSET, RESET_DATETIME };

#define MAX_ARGS  64
#define MAX_PARTS 1024 /* partitions listed in one --topic T:P,P,... */

struct group_args {
	struct rn_cli_common common;
	const char *action;
	int ngroups;
	const char *groups[MAX_ARGS];
	bool state;
	int ntopics;
	const char *topics[MAX_ARGS];
	bool all_topics;
	enum reset_how how;
	int nhow; /* scenario options given: exactly one is allowed */
	int64_t to_offset;
	int64_t to_ts;
	bool execute;
};

static int parse_opt(void *arg_, int opt, const char *arg)
{
	struct group_args *a = arg_;
	long long v;

	switch (opt) {
	case 'g':
		if (a->ngroups == MAX_ARGS)
			return rn__cli_err(&a->common, "too many groups (max %d)", MAX_ARGS);
		a->groups[a->ngroups++] = arg;
		return 0;
	case OPT_STATE: a->state = true; return 0;
	case 't':
		if (a->ntopics == MAX_ARGS)
			return rn__cli_err(&a->common, "too many --topic options (max %d)",
					   MAX_ARGS);
		a->topics[a->ntopics++] = arg;
		return 0;
	case OPT_ALL_TOPICS: a->all_topics = true; return 0;
	case OPT_EARLIEST: a->how = RESET_EARLIEST; break;
	case OPT_LATEST: a->how = RESET_LATEST; break;
	case OPT_TO_OFFSET:
		if (rn__cli_parse_ll(arg, 0, INT64_MAX, false, &v))
			return rn__cli_err(&a->common,
					   "--to-offset expects an offset >= 0, got '%s'", arg);
		a->how = RESET_OFFSET;
		a->to_offset = v;
		break;
	case OPT_TO_DATETIME:
		if (rn_cli_parse_datetime(arg, &a->to_ts) || a->to_ts < 0)
			return rn__cli_err(
			    &a->common,
			    "--to-datetime expects YYYY-MM-DDTHH:MM:SS[.sss][Z|+HH:MM] "
			    "after 1970, got '%s'",
			    arg);
		a->how = RESET_DATETIME;
		break;
	case OPT_DRY_RUN: a->execute = false; return 0;
	case OPT_EXECUTE: a->execute = true; return 0;
	default: return 2;
	}
	a->nhow++;
	return 0;
}

/* Returns 0 to go on, or an exit code (0 after --help) with *done set. */
static int parse_args(struct group_args *a, int argc, char **argv, bool *done)
{
	static const struct option longopts[] = {
	    {"group", required_argument, NULL, 'g'},
	    {"state", no_argument, NULL, OPT_STATE},
	    {"topic", required_argument, NULL, 't'},
	    {"all-topics", no_argument, NULL, OPT_ALL_TOPICS},
	    {"to-earliest", no_argument, NULL, OPT_EARLIEST},
	    {"to-latest", no_argument, NULL, OPT_LATEST},
	    {"to-offset", required_argument, NULL, OPT_TO_OFFSET},
	    {"to-datetime", required_argument, NULL, OPT_TO_DATETIME},
	    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
	    {"execute", no_argument, NULL, OPT_EXECUTE},
	    {0},
	};

	*done = true;
	int rc = rn__cli_getopt(&a->common, argc, argv, "g:t:", longopts, usage_text, parse_opt, a);
	if (rc >= 0)
		return rc;
	for (; optind < argc; optind++) {
		if (a->ngroups == MAX_ARGS)
			return rn__cli_err(&a->common, "too many groups (max %d)", MAX_ARGS) + 1;
		a->groups[a->ngroups++] = argv[optind];
	}
	*done = false;
	return 0;
}

/* Checks the combination of options the action takes; returns 0 or 2 after the error line. */
static int check_args(struct group_args *a)
{
	const char *act = a->action;
	bool reset = strcmp(act, "reset-offsets") == 0;

	if (strcmp(act, "list") == 0 && a->ngroups)
		return rn__cli_err(&a->common, "unexpected argument '%s'", a->groups[0]) + 1;
	if (strcmp(act, "list") != 0 && a->ngroups == 0)
		return rn__cli_err(&a->common, "missing GROUP (see --help)") + 1;
	if (reset && a->ngroups > 1)
		return rn__cli_err(&a->common, "resets one group at a time, got %d", a->ngroups) +
		       1;
	if (!reset && (a->ntopics || a->all_topics || a->nhow || a->execute))
		return rn__cli_err(&a->common, "--topic, --all-topics, --to-* and --execute belong "
					       "to reset-offsets") +
		       1;
	if (!reset)
		return 0;
	if (!a->ntopics && !a->all_topics)
		return rn__cli_err(&a->common, "needs --topic T[:P,...] or --all-topics") + 1;
	if (a->ntopics && a->all_topics)
		return rn__cli_err(&a->common, "--topic and --all-topics exclude each other") + 1;
	for (int i = 0; i < a->ntopics; i++) {
		char topic[256];
		int32_t parts[MAX_PARTS];
		int np;
		if (rn_cli_parse_topic_spec(a->topics[i], topic, sizeof(topic), parts, MAX_PARTS,
					    &np))
			return rn__cli_err(&a->common,
					   "--topic expects TOPIC or TOPIC:P,P,..., got '%s'",
					   a->topics[i]) +
			       1;
	}
	if (a->nhow != 1)
		return rn__cli_err(
			   &a->common,
			   "needs exactly one of --to-earliest, --to-latest, --to-offset N, "
			   "--to-datetime DT") +
		       1;
	return 0;
}

static rd_kafka_AdminOptions_t *admin_opts(struct group_args *a, rd_kafka_t *rk,
					   rd_kafka_admin_op_t op)
{
	char err[256];
	rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);

	rd_kafka_AdminOptions_set_request_timeout(o, a->common.timeout_ms, err, sizeof(err));
	return o;
}

/* Waits for the admin result on q; NULL after printing the error line. */
static rd_kafka_event_t *admin_wait(struct group_args *a, rd_kafka_t *rk, rd_kafka_queue_t *q)
{
	char why[512];
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, a->common.timeout_ms + 2000);
	rd_kafka_resp_err_t err = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;

	if (!err)
		return ev;
	const char *s = ev ? rd_kafka_event_error_string(ev) : NULL;
	if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || !s || !*s)
		s = rn__cli_explain(rk, err, why, sizeof(why));
	rn__cli_err(&a->common, "no answer from %s: %s", a->common.bootstrap, s);
	if (ev)
		rd_kafka_event_destroy(ev);
	return NULL;
}

/*
 * The message of an rd_kafka_error_t, librdkafka's text when the broker sent none, and the
 * broker address with the connection error behind a local timeout. Returns a static buffer
 * (one thread, one error line).
 */
static const char *error_text(struct group_args *a, rd_kafka_t *rk, const rd_kafka_error_t *e)
{
	static char buf[1024];
	char why[768];
	rd_kafka_resp_err_t err = rd_kafka_error_code(e);
	const char *s = rd_kafka_error_string(e);

	if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT)
		snprintf(buf, sizeof(buf), "no answer from %s: %s", a->common.bootstrap,
			 rn__cli_explain(rk, err, why, sizeof(why)));
	else
		snprintf(buf, sizeof(buf), "%s", s && *s ? s : rd_kafka_err2str(err));
	return buf;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int do_list(struct group_args *a, rd_kafka_t *rk, rd_kafka_queue_t *q)
{
	rd_kafka_AdminOptions_t *o = admin_opts(a, rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);

	rd_kafka_ListConsumerGroups(rk, o, q);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_event_t *ev = admin_wait(a, rk, q);
	if (!ev)
		return 1;
	const rd_kafka_ListConsumerGroups_result_t *res =
	    rd_kafka_event_ListConsumerGroups_result(ev);
	size_t n, nerr;
	const rd_kafka_ConsumerGroupListing_t **l =
	    rd_kafka_ListConsumerGroups_result_valid(res, &n);
	const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(res, &nerr);
	struct rn_cli_table t;
	const char *hdr[] = {"GROUP", "STATE"};

	rn_cli_table_init(&t, 2, hdr);
	for (size_t i = 0; i < n; i++) {
		const char *row[] = {
		    rd_kafka_ConsumerGroupListing_group_id(l[i]),
		    rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(l[i]))};
		rn_cli_table_add(&t, row);
	}
	rn_cli_table_sort(&t, cmp_str);
	if (a->state)
		rn_cli_table_print(&t, stdout);
	else
		for (size_t r = 1; r < t.nrows; r++)
			printf("%s\n", t.cells[r * 2]);
	rn_cli_table_free(&t);
	/* Groups from the brokers that answered are printed; any that did not make it fail. */
	int rc = 0;
	for (size_t i = 0; i < nerr; i++)
		rc = rn__cli_err(&a->common, "cannot list groups: %s", error_text(a, rk, errs[i]));
	rd_kafka_event_destroy(ev);
	return rc;
}

static int do_delete(struct group_args *a, rd_kafka_t *rk, rd_kafka_queue_t *q)
{
	rd_kafka_DeleteGroup_t *dg[MAX_ARGS];
	rd_kafka_AdminOptions_t *o = admin_opts(a, rk, RD_KAFKA_ADMIN_OP_DELETEGROUPS);

	for (int i = 0; i < a->ngroups; i++)
		dg[i] = rd_kafka_DeleteGroup_new(a->groups[i]);
	rd_kafka_DeleteGroups(rk, dg, (size_t)a->ngroups, o, q);
	rd_kafka_DeleteGroup_destroy_array(dg, (size_t)a->ngroups);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_event_t *ev = admin_wait(a, rk, q);
	if (!ev)
		return 1;
	size_t n;
	const rd_kafka_group_result_t **res =
	    rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		const rd_kafka_error_t *e = rd_kafka_group_result_error(res[i]);
		const char *name = rd_kafka_group_result_name(res[i]);
		if (!e)
			printf("Deletion of requested consumer groups ('%s') was successful.\n",
			       name);
		else if (rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND)
			rc = rn__cli_err(&a->common, "group '%s' does not exist", name);
		else
			rc = rn__cli_err(&a->common, "cannot delete group '%s': %s", name,
					 error_text(a, rk, e));
	}
	rd_kafka_event_destroy(ev);
	return rc;
}

/*
 * Describes one group. Returns the result event, which owns *d (caller destroys it), or NULL
 * after the error line.
 */
static rd_kafka_event_t *describe_one(struct group_args *a, rd_kafka_t *rk, rd_kafka_queue_t *q,
				      const char *group,
				      const rd_kafka_ConsumerGroupDescription_t **d)
{
	rd_kafka_AdminOptions_t *o = admin_opts(a, rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);

	rd_kafka_DescribeConsumerGroups(rk, &group, 1, o, q);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_event_t *ev = admin_wait(a, rk, q);
	if (!ev)
		return NULL;
	size_t n;
	const rd_kafka_ConsumerGroupDescription_t **res =
	    rd_kafka_DescribeConsumerGroups_result_groups(
		rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
	const rd_kafka_error_t *e = n == 1 ? rd_kafka_ConsumerGroupDescription_error(res[0]) : NULL;
	if (n != 1) {
		rn__cli_err(&a->common, "group '%s': %zu descriptions in the answer", group, n);
	} else if (e && rd_kafka_error_code(e) != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
		rn__cli_err(&a->common, "cannot describe group '%s': %s", group,
			    error_text(a, rk, e));
	} else {
		*d = res[0];
		return ev;
	}
	rd_kafka_event_destroy(ev);
	return NULL;
}

/* Kafka describes an unknown group as Dead without an error; some brokers send error 69. */
static bool group_missing(const rd_kafka_ConsumerGroupDescription_t *d)
{
	const rd_kafka_error_t *e = rd_kafka_ConsumerGroupDescription_error(d);

	return (e && rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) ||
	       rd_kafka_ConsumerGroupDescription_state(d) == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD;
}

/*
 * Committed offsets of every partition the group has one for (OffsetFetch with null topics).
 * Returns a list the caller destroys (entries without a commit have offset < 0), or NULL after
 * the error line.
 */
static rd_kafka_topic_partition_list_t *committed(struct group_args *a, rd_kafka_t *rk,
						  rd_kafka_queue_t *q, const char *group)
{
	rd_kafka_ListConsumerGroupOffsets_t *l = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
	rd_kafka_AdminOptions_t *o = admin_opts(a, rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);

	rd_kafka_ListConsumerGroupOffsets(rk, &l, 1, o, q);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_ListConsumerGroupOffsets_destroy(l);
	rd_kafka_event_t *ev = admin_wait(a, rk, q);
	if (!ev)
		return NULL;
	size_t n;
	const rd_kafka_group_result_t **res = rd_kafka_ListConsumerGroupOffsets_result_groups(
	    rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
	const rd_kafka_error_t *e = n == 1 ? rd_kafka_group_result_error(res[0]) : NULL;
	rd_kafka_topic_partition_list_t *out = NULL;
	if (n != 1)
		rn__cli_err(&a->common, "group '%s': %zu offset results in the answer", group, n);
	else if (e && rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND)
		out = rd_kafka_topic_partition_list_new(0);
	else if (e)
		rn__cli_err(&a->common, "cannot fetch offsets of group '%s': %s", group,
			    error_text(a, rk, e));
	else if (!rd_kafka_group_result_partitions(res[0]))
		out = rd_kafka_topic_partition_list_new(0);
	else
		out = rd_kafka_topic_partition_list_copy(rd_kafka_group_result_partitions(res[0]));
	rd_kafka_event_destroy(ev);
	return out;
}

/*
 * Sets each element's .offset to the offset at timestamp ts: RD_KAFKA_OFFSET_END (-1) gives the
 * log end offset, RD_KAFKA_OFFSET_BEGINNING (-2) the log start, else the first offset with a
 * timestamp >= ts (-1 if none). Per-partition failures land in .err. Returns 0 or -1 after the
 * error line when the request as a whole failed.
 */
static int offsets_at(struct group_args *a, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l,
		      int64_t ts)
{
	char why[512];

	if (l->cnt == 0)
		return 0;
	for (int i = 0; i < l->cnt; i++)
		l->elems[i].offset = ts;
	rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, l, a->common.timeout_ms);
	if (err && err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
		rn__cli_err(&a->common, "cannot list offsets: %s",
			    rn__cli_explain(rk, err, why, sizeof(why)));
		return -1;
	}
	return 0;
}

static void fmt_i64(char *buf, size_t len, int64_t v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%" PRId64, v);
}

/* One describe row before formatting; topic NULL for a member without partitions. */
struct drow {
	const char *topic;
	int32_t partition;
	int64_t current; /* -1: no commit */
	int64_t leo;     /* -1: unknown */
	const rd_kafka_MemberDescription_t *member;
};

static int cmp_drow(const void *x, const void *y)
{
	const struct drow *p = x, *r = y;

	if (!p->topic || !r->topic)
		return !p->topic - !r->topic;
	int c = strcmp(p->topic, r->topic);
	return c ? c : (p->partition > r->partition) - (p->partition < r->partition);
}

/*
 * Collects the rows kafka-consumer-groups shows: each member's assigned partitions (a '-' row
 * for a member without any), then committed partitions no member owns. Returns the count.
 */
static struct drow *push_row(struct drow *rows, size_t n, size_t *cap)
{
	if (n == *cap || !rows) {
		*cap = *cap ? *cap * 2 : 16;
		rows = realloc(rows, *cap * sizeof(*rows));
		if (!rows)
			abort();
	}
	return rows;
}

static size_t collect_rows(const rd_kafka_ConsumerGroupDescription_t *d,
			   const rd_kafka_topic_partition_list_t *off, struct drow **out)
{
	size_t nm = rd_kafka_ConsumerGroupDescription_member_count(d), n = 0, cap = 0;
	struct drow *rows = push_row(NULL, 0, &cap);

	for (size_t m = 0; m < nm; m++) {
		const rd_kafka_MemberDescription_t *md =
		    rd_kafka_ConsumerGroupDescription_member(d, m);
		const rd_kafka_MemberAssignment_t *as = rd_kafka_MemberDescription_assignment(md);
		const rd_kafka_topic_partition_list_t *p =
		    as ? rd_kafka_MemberAssignment_partitions(as) : NULL;
		int np = p ? p->cnt : 0;
		for (int i = 0; i < (np ? np : 1); i++) {
			rows = push_row(rows, n, &cap);
			rows[n++] = (struct drow){np ? p->elems[i].topic : NULL,
						  np ? p->elems[i].partition : -1, -1, -1, md};
		}
	}
	size_t assigned = n;
	for (int i = 0; i < off->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &off->elems[i];
		bool owned = false;
		for (size_t r = 0; r < assigned && !owned; r++)
			owned = rows[r].topic && rows[r].partition == tp->partition &&
				strcmp(rows[r].topic, tp->topic) == 0;
		if (owned || tp->offset < 0 || tp->err)
			continue;
		rows = push_row(rows, n, &cap);
		rows[n++] = (struct drow){tp->topic, tp->partition, -1, -1, NULL};
	}
	*out = rows;
	return n;
}

/* Fills current and log end offsets of the rows. Returns 0 or -1 after the error line. */
static int fill_offsets(struct group_args *a, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *off,
			struct drow *rows, size_t n)
{
	rd_kafka_topic_partition_list_t *leo = rd_kafka_topic_partition_list_new((int)n);

	for (size_t r = 0; r < n; r++) {
		if (!rows[r].topic)
			continue;
		rd_kafka_topic_partition_t *c =
		    rd_kafka_topic_partition_list_find(off, rows[r].topic, rows[r].partition);
		if (c && !c->err && c->offset >= 0)
			rows[r].current = c->offset;
		if (!rd_kafka_topic_partition_list_find(leo, rows[r].topic, rows[r].partition))
			rd_kafka_topic_partition_list_add(leo, rows[r].topic, rows[r].partition);
	}
	int rc = offsets_at(a, rk, leo, RD_KAFKA_OFFSET_END);
	for (size_t r = 0; r < n && rc == 0; r++) {
		if (!rows[r].topic)
			continue;
		rd_kafka_topic_partition_t *e =
		    rd_kafka_topic_partition_list_find(leo, rows[r].topic, rows[r].partition);
		if (e && !e->err && e->offset >= 0)
			rows[r].leo = e->offset;
	}
	rd_kafka_topic_partition_list_destroy(leo);
	return rc;
}

static void print_summary(const char *group, const rd_kafka_ConsumerGroupDescription_t *d,
			  int64_t total_lag)
{
	static const char *const hdr[] = {"GROUP",    "COORDINATOR", "STATE",
					  "PROTOCOL", "MEMBERS",     "TOTAL-LAG"};
	const rd_kafka_Node_t *node = rd_kafka_ConsumerGroupDescription_coordinator(d);
	char coord[32] = "", members[32], lag[32];
	struct rn_cli_table t;

	if (node)
		snprintf(coord, sizeof(coord), "%d", rd_kafka_Node_id(node));
	snprintf(members, sizeof(members), "%zu",
		 rd_kafka_ConsumerGroupDescription_member_count(d));
	fmt_i64(lag, sizeof(lag), total_lag);
	const char *row[] = {
	    group,
	    coord,
	    rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d)),
	    rd_kafka_ConsumerGroupDescription_partition_assignor(d),
	    members,
	    lag};
	rn_cli_table_init(&t, 6, hdr);
	rn_cli_table_add(&t, row);
	rn_cli_table_print(&t, stdout);
	rn_cli_table_free(&t);
}

static void print_rows(const char *group, const struct drow *rows, size_t n)
{
	static const char *const hdr[] = {"GROUP",          "TOPIC",          "PARTITION",
					  "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
					  "CONSUMER-ID",    "HOST",           "CLIENT-ID"};
	struct rn_cli_table t;

	rn_cli_table_init(&t, 9, hdr);
	for (size_t r = 0; r < n; r++) {
		const struct drow *w = &rows[r];
		const rd_kafka_MemberDescription_t *m = w->member;
		char part[16] = "", cur[32], leo[32], lag[32];
		if (w->topic)
			snprintf(part, sizeof(part), "%d", w->partition);
		fmt_i64(cur, sizeof(cur), w->current);
		fmt_i64(leo, sizeof(leo), w->leo);
		fmt_i64(lag, sizeof(lag),
			w->current >= 0 && w->leo >= 0 ? w->leo - w->current : -1);
		const char *row[] = {group,
				     w->topic,
				     part,
				     cur,
				     leo,
				     lag,
				     m ? rd_kafka_MemberDescription_consumer_id(m) : NULL,
				     m ? rd_kafka_MemberDescription_host(m) : NULL,
				     m ? rd_kafka_MemberDescription_client_id(m) : NULL};
		rn_cli_table_add(&t, row);
	}
	rn_cli_table_print(&t, stdout);
	rn_cli_table_free(&t);
}

static int describe_group(struct group_args *a, rd_kafka_t *rk, rd_kafka_queue_t *q,
			  const char *group)
{
	const rd_kafka_ConsumerGroupDescription_t *d = NULL;
	rd_kafka_event_t *ev = describe_one(a, rk, q, group, &d);

	if (!ev)
		return 1;
	rd_kafka_topic_partition_list_t *off = committed(a, rk, q, group);
	if (!off) {
		rd_kafka_event_destroy(ev);
		return 1;
	}
	bool has_commits = false;
	for (int i = 0; i < off->cnt; i++)
		has_commits |= off->elems[i].offset >= 0 && !off->elems[i].err;
	if (group_missing(d) && !has_commits &&
	    rd_kafka_ConsumerGroupDescription_member_count(d) == 0) {
		rd_kafka_topic_partition_list_destroy(off);
		rd_kafka_event_destroy(ev);
		return rn__cli_err(&a->common, "group '%s' does not exist", group);
	}
	struct drow *rows;
	size_t n = collect_rows(d, off, &rows);
	int rc = fill_offsets(a, rk, off, rows, n);
	if (rc == 0) {
		qsort(rows, n, sizeof(*rows), cmp_drow);
		int64_t total = 0;
		for (size_t r = 0; r < n; r++)
			if (rows[r].current >= 0 && rows[r].leo >= 0)
				total += rows[r].leo - rows[r].current;
		print_summary(group, d, total);
		printf("\n");
		if (rd_kafka_ConsumerGroupDescription_member_count(d) == 0)
			fprintf(stderr, "Consumer group '%s' has no active members.\n", group);
		print_rows(group, rows, n);
	}
	free(rows);
	rd_kafka_topic_partition_list_destroy(off);
	rd_kafka_event_destroy(ev);
	return rc ? 1 : 0;
}

static int do_describe(struct group_args *a, rd_kafka_t *rk, rd_kafka_queue_t *q)
{
	int rc = 0;

	for (int i = 0; i < a->ngroups; i++) {
		if (i)
			printf("\n");
		rc |= describe_group(a, rk, q, a->groups[i]);
	}
	return rc;
}

/*
 * The partitions reset-offsets works on: the --topic specs resolved against metadata (all
 * partitions unless listed), or with --all-topics those the group has offsets for. Returns a
 * list the caller destroys, or NULL after the error line.
 */
static rd_kafka_topic_partition_list_t *reset_targets(struct group_args *a, rd_kafka_t *rk,
						      const rd_kafka_topic_partition_list_t *off)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);

	if (a->all_topics) {
		for (int i = 0; i < off->cnt; i++)
			if (!off->elems[i].err && off->elems[i].offset >= 0)
				rd_kafka_topic_partition_list_add(l, off->elems[i].topic,
								  off->elems[i].partition);
		if (l->cnt)
			return l;
		rn__cli_err(&a->common, "group '%s' has no committed offsets (--all-topics)",
			    a->groups[0]);
		goto fail;
	}
	if (rn__cli_metadata(&a->common, rk, &md))
		goto fail;
	for (int i = 0; i < a->ntopics; i++) {
		char topic[256];
		int32_t parts[MAX_PARTS];
		int np;
		/* Checked by check_args(): cannot fail here. */
		rn_cli_parse_topic_spec(a->topics[i], topic, sizeof(topic), parts, MAX_PARTS, &np);
		const struct rd_kafka_metadata_topic *t = rn__cli_find_topic(md, topic);
		if (!t || t->err || t->partition_cnt == 0) {
			rn__cli_err(&a->common, "topic '%s' does not exist", topic);
			goto fail_md;
		}
		for (int p = 0; p < (np ? np : t->partition_cnt); p++) {
			int32_t id = np ? parts[p] : t->partitions[p].id;
			if (id >= t->partition_cnt) {
				rn__cli_err(&a->common,
					    "topic '%s' has no partition %d (%d partitions)", topic,
					    id, t->partition_cnt);
				goto fail_md;
			}
			if (!rd_kafka_topic_partition_list_find(l, topic, id))
				rd_kafka_topic_partition_list_add(l, topic, id);
		}
	}
	rd_kafka_metadata_destroy(md);
	return l;
fail_md:
	rd_kafka_metadata_destroy(md);
fail:
	rd_kafka_topic_partition_list_destroy(l);
	return NULL;
}

/*
 * Sets each target's .offset to its new value: the log start/end, --to-offset clamped into
 * [start, end] as kafka-consumer-groups does, or the offset for --to-datetime (the log end when
 * no record is that recent). Returns 0 or -1 after the error line.
 */
static int plan_reset(struct group_args *a, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l)
{
	rd_kafka_topic_partition_list_t *lo = rd_kafka_topic_partition_list_copy(l);
	rd_kafka_topic_partition_list_t *hi = rd_kafka_topic_partition_list_copy(l);
	rd_kafka_topic_partition_list_t *dt = rd_kafka_topic_partition_list_copy(l);
	int rc = -1;

	if (offsets_at(a, rk, lo, RD_KAFKA_OFFSET_BEGINNING) ||
	    offsets_at(a, rk, hi, RD_KAFKA_OFFSET_END) ||
	    (a->how == RESET_DATETIME && offsets_at(a, rk, dt, a->to_ts)))
		goto out;
	for (int i = 0; i < l->cnt; i++) {
		rd_kafka_topic_partition_t *e = &l->elems[i];
		const rd_kafka_topic_partition_t *s = &lo->elems[i], *h = &hi->elems[i];
		const rd_kafka_topic_partition_t *t = &dt->elems[i];
		rd_kafka_resp_err_t err = s->err ? s->err : h->err;
		if (!err && a->how == RESET_DATETIME)
			err = t->err;
		if (err) {
			rn__cli_err(&a->common, "cannot list offsets of %s [%d]: %s", e->topic,
				    e->partition, rd_kafka_err2str(err));
			goto out;
		}
		switch (a->how) {
		case RESET_EARLIEST: e->offset = s->offset; break;
		case RESET_LATEST: e->offset = h->offset; break;
		case RESET_OFFSET:
			e->offset = a->to_offset < s->offset   ? s->offset
				    : a->to_offset > h->offset ? h->offset
							       : a->to_offset;
			break;
		case RESET_DATETIME: e->offset = t->offset >= 0 ? t->offset : h->offset; break;
		case RESET_NONE: break;
		}
	}
	rc = 0;
out:
	rd_kafka_topic_partition_list_destroy(lo);
	rd_kafka_topic_partition_list_destroy(hi);
	rd_kafka_topic_partition_list_destroy(dt);
	return rc;
}

/* Commits l for the group (OffsetCommit with generation -1). Returns 0 or 1 after the error. */
static int commit_reset(struct group_args *a, rd_kafka_t *rk, rd_kafka_queue_t *q,
			const rd_kafka_topic_partition_list_t *l)
{
	const char *group = a->groups[0];
	rd_kafka_AlterConsumerGroupOffsets_t *alt =
	    rd_kafka_AlterConsumerGroupOffsets_new(group, l);
	rd_kafka_AdminOptions_t *o = admin_opts(a, rk, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);

	rd_kafka_AlterConsumerGroupOffsets(rk, &alt, 1, o, q);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_AlterConsumerGroupOffsets_destroy(alt);
	rd_kafka_event_t *ev = admin_wait(a, rk, q);
	if (!ev)
		return 1;
	size_t n;
	const rd_kafka_group_result_t **res = rd_kafka_AlterConsumerGroupOffsets_result_groups(
	    rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n);
	const rd_kafka_error_t *e = n == 1 ? rd_kafka_group_result_error(res[0]) : NULL;
	const rd_kafka_topic_partition_list_t *p =
	    n == 1 ? rd_kafka_group_result_partitions(res[0]) : NULL;
	int rc = 0;
	if (n != 1)
		rc = rn__cli_err(&a->common, "group '%s': %zu results in the answer", group, n);
	else if (e)
		rc = rn__cli_err(&a->common, "cannot commit offsets of group '%s': %s", group,
				 error_text(a, rk, e));
	for (int i = 0; p && i < p->cnt && !rc; i++)
		if (p->elems[i].err)
			rc = rn__cli_err(&a->common, "cannot commit offset of %s [%d]: %s",
					 p->elems[i].topic, p->elems[i].partition,
					 rd_kafka_err2str(p->elems[i].err));
	rd_kafka_event_destroy(ev);
	return rc;
}

static int cmp_row_tp(const void *x, const void *y)
{
	const char *const *p = x, *const *r = y;
	int c = strcmp(p[1], r[1]);

	return c ? c : atoi(p[2]) - atoi(r[2]);
}

static void print_plan(const char *group, const rd_kafka_topic_partition_list_t *l)
{
	static const char *const hdr[] = {"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"};
	struct rn_cli_table t;

	rn_cli_table_init(&t, 4, hdr);
	for (int i = 0; i < l->cnt; i++) {
		char part[16], off[32];
		snprintf(part, sizeof(part), "%d", l->elems[i].partition);
		fmt_i64(off, sizeof(off), l->elems[i].offset);
		const char *row[] = {group, l->elems[i].topic, part, off};
		rn_cli_table_add(&t, row);
	}
	rn_cli_table_sort(&t, cmp_row_tp);
	rn_cli_table_print(&t, stdout);
	rn_cli_table_free(&t);
}

static int do_reset(struct group_args *a, rd_kafka_t *rk, rd_kafka_queue_t *q)
{
	const char *group = a->groups[0];
	const rd_kafka_ConsumerGroupDescription_t *d = NULL;
	rd_kafka_event_t *ev = describe_one(a, rk, q, group, &d);

	if (!ev)
		return 1;
	rd_kafka_consumer_group_state_t st = rd_kafka_ConsumerGroupDescription_state(d);
	size_t members = rd_kafka_ConsumerGroupDescription_member_count(d);
	bool inactive = st == RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY || group_missing(d);
	rd_kafka_event_destroy(ev);
	/* Kafka refuses too: members would overwrite the new offsets with their positions. */
	if (!inactive || members)
		return rn__cli_err(
		    &a->common,
		    "cannot reset offsets of group '%s': it is %s with %zu active "
		    "member(s); offsets can only be reset while the group is inactive",
		    group, rd_kafka_consumer_group_state_name(st), members);
	rd_kafka_topic_partition_list_t *off = committed(a, rk, q, group);
	if (!off)
		return 1;
	rd_kafka_topic_partition_list_t *l = reset_targets(a, rk, off);
	rd_kafka_topic_partition_list_destroy(off);
	if (!l)
		return 1;
	int rc = plan_reset(a, rk, l) ? 1 : 0;
	if (!rc && a->execute)
		rc = commit_reset(a, rk, q, l);
	if (!rc) {
		print_plan(group, l);
		if (!a->execute)
			fprintf(stderr, "Dry run: nothing changed; add --execute to commit these "
					"offsets.\n");
	}
	rd_kafka_topic_partition_list_destroy(l);
	return rc;
}

static int run(void *arg, rd_kafka_t *rk)
{
	struct group_args *a = arg;
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	const char *act = a->action;
	int rc;

	if (strcmp(act, "list") == 0)
		rc = do_list(a, rk, q);
	else if (strcmp(act, "describe") == 0)
		rc = do_describe(a, rk, q);
	else if (strcmp(act, "delete") == 0)
		rc = do_delete(a, rk, q);
	else
		rc = do_reset(a, rk, q);
	rd_kafka_queue_destroy(q);
	return rc;
}

int rn_cli_group(int argc, char **argv)
{
	static const char *const actions[] = {"list", "describe", "delete", "reset-offsets"};
	struct group_args a = {0};
	char cmd[64];
	bool done;

	int arc = rn__cli_action(argc, argv, "group", actions, sizeof(actions) / sizeof(actions[0]),
				 usage_text);
	if (arc >= 0)
		return arc;
	snprintf(cmd, sizeof(cmd), "runnel group %s", argv[1]);
	rn__cli_common_init(&a.common, cmd);
	a.action = argv[1];
	int rc = parse_args(&a, argc - 1, argv + 1, &done);
	if (done)
		return rc;
	if (check_args(&a))
		return 2;

	return rn__cli_run(&a.common, run, &a);
}
