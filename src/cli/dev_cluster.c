/*
 * `runnel dev cluster`: a whole cluster on this machine for development, in one command. One
 * etcd (/usr/bin/etcd, loopback only, data in DIR/etcd) and N brokers (this same binary's
 * `serve`, node ids 1..N, consecutive ports, data in DIR/broker-<i>), each with its output in
 * DIR/<name>.log. Ctrl-C or SIGTERM stops the brokers first (each a controlled shutdown while
 * etcd still answers), then etcd. A broker that dies on its own is reported and the others go
 * on, as a real cluster does (that is how a developer watches a failover); with --restart it
 * is started again after RESTART_MS, once its lease (broker.session.timeout.ms) has expired.
 * etcd's death, or the last broker's, stops everything and the command exits 1, so a script or
 * a terminal notices.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/dev_proc.h"
#include "core/clock.h"

#define MAX_BROKERS  32
#define MAX_SETS     64
#define START_MS     60000 /* etcd's first election, a broker's registration */
#define STOP_MS      60000 /* a controlled shutdown moves every leadership away first */
#define ETCD_STOP_MS 10000
#define RESTART_MS   3000 /* past the default 2 s lease of the dead broker's registration */

static const char usage_text[] =
    "Usage: runnel dev cluster [--brokers N] [--dir DIR] [--port PORT] [--etcd-port PORT]\n"
    "                          [--admin-port PORT] [-c FILE] [--set KEY=VALUE ...] [--restart]\n"
    "\n"
    "Starts a development cluster on 127.0.0.1: one etcd and N brokers (node ids 1..N) with\n"
    "metadata.store=etcd://127.0.0.1:ETCD-PORT/runnel, and waits. Ctrl-C (or SIGTERM) stops\n"
    "the brokers (controlled shutdown), then etcd. Running it again on the same DIR brings the\n"
    "same cluster back with its data. A broker that dies (kill -9 one to watch a failover) is\n"
    "reported and the others keep running; --restart starts it again a few seconds later.\n"
    "\n"
    "Options:\n"
    "  -n, --brokers N        number of brokers, 1-32 (default 3)\n"
    "  -d, --dir DIR          data and logs: DIR/etcd, DIR/broker-<i>, DIR/*.log\n"
    "                         (default ./runnel-cluster)\n"
    "  -p, --port PORT        broker i listens on PORT+i-1 (default 9092)\n"
    "      --admin-port PORT  broker i's admin HTTP (/metrics) on PORT+i-1 (default 9644)\n"
    "      --etcd-port PORT   etcd's client port; PORT+1 is its peer port (default 2379)\n"
    "      --etcd PATH        the etcd binary (default /usr/bin/etcd, Debian's etcd-server)\n"
    "  -c, --config FILE      server.properties given to every broker (the keys above win)\n"
    "  -s, --set KEY=VALUE    broker config for every broker, repeatable (wins over FILE and\n"
    "                         the defaults here: default.replication.factor=min(N,3))\n"
    "  -r, --restart          start a broker that died on its own again (after 3 s)\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 after a stop by signal with every process still running ending cleanly, 1\n"
    "when a process failed to start, etcd or every broker died, 2 for bad options.\n";

struct dev_args {
	struct rn_cli_common common; /* only cmd/optstring: error lines */
	int brokers, port, admin_port, etcd_port;
	bool restart;
	const char *dir, *etcd_bin, *config;
	int nsets;
	const char *sets[MAX_SETS];
};

enum { OPT_ETCD_PORT = RN_CLI_OPT_FIRST_FREE, OPT_ADMIN_PORT, OPT_ETCD };

static int parse_port(struct dev_args *a, const char *what, const char *arg, int span, int *out)
{
	long long v;
	if (rn__cli_parse_ll(arg, 1, 65535 - span, false, &v))
		return rn__cli_err(&a->common, "%s expects a port (1-%d), got '%s'", what,
				   65535 - span, arg) +
		       1;
	*out = (int)v;
	return 0;
}

static int parse_one(struct dev_args *a, int opt, const char *arg)
{
	long long v;
	switch (opt) {
	case 'n':
		if (rn__cli_parse_ll(arg, 1, MAX_BROKERS, false, &v))
			return rn__cli_err(&a->common, "--brokers expects 1-%d, got '%s'",
					   MAX_BROKERS, arg) +
			       1;
		a->brokers = (int)v;
		return 0;
	case 'd': a->dir = arg; return 0;
	case 'p': return parse_port(a, "--port", arg, MAX_BROKERS, &a->port);
	case OPT_ADMIN_PORT: return parse_port(a, "--admin-port", arg, MAX_BROKERS, &a->admin_port);
	case OPT_ETCD_PORT: return parse_port(a, "--etcd-port", arg, 1, &a->etcd_port);
	case OPT_ETCD: a->etcd_bin = arg; return 0;
	case 'c': a->config = arg; return 0;
	case 'r': a->restart = true; return 0;
	case 's':
		if (!strchr(arg, '=') || arg[0] == '=')
			return rn__cli_err(&a->common, "--set expects KEY=VALUE, got '%s'", arg) +
			       1;
		if (a->nsets == MAX_SETS)
			return rn__cli_err(&a->common, "at most %d --set options", MAX_SETS) + 1;
		a->sets[a->nsets++] = arg;
		return 0;
	default: return 2;
	}
}

/* Returns -1 to go on, or the exit code (0 after --help). */
static int parse_args(struct dev_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"brokers", required_argument, NULL, 'n'},
	    {"dir", required_argument, NULL, 'd'},
	    {"port", required_argument, NULL, 'p'},
	    {"admin-port", required_argument, NULL, OPT_ADMIN_PORT},
	    {"etcd-port", required_argument, NULL, OPT_ETCD_PORT},
	    {"etcd", required_argument, NULL, OPT_ETCD},
	    {"config", required_argument, NULL, 'c'},
	    {"set", required_argument, NULL, 's'},
	    {"restart", no_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	a->common.optstring = ":n:d:p:c:s:rh";
	opterr = 0;
	optind = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, a->common.optstring, longopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage_text, stdout);
			return 0;
		}
		if (opt == '?' || opt == ':')
			return rn__cli_bad_opt(&a->common, argc, argv);
		if (parse_one(a, opt, optarg))
			return 2;
	}
	if (optind < argc)
		return rn__cli_err(&a->common, "unexpected argument '%s'", argv[optind]) + 1;
	if (a->port <= a->etcd_port + 1 && a->etcd_port <= a->port + a->brokers - 1)
		return rn__cli_err(&a->common, "--port and --etcd-port ranges overlap") + 1;
	return -1;
}

static int make_dir(struct dev_args *a, const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	return rn__cli_err(&a->common, "cannot create %s: %s", path, strerror(errno));
}

/* Starts etcd and waits for /health (it has elected itself). Returns 0 or 1 after a line. */
static int start_etcd(struct dev_args *a, struct rn_dev_child *ch)
{
	char data[PATH_MAX], client[64], peer[64], initial[96];
	snprintf(data, sizeof(data), "%s/etcd", a->dir);
	snprintf(client, sizeof(client), "http://127.0.0.1:%d", a->etcd_port);
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", a->etcd_port + 1);
	snprintf(initial, sizeof(initial), "runnel-dev=%s", peer);
	snprintf(ch->name, sizeof(ch->name), "etcd");
	snprintf(ch->log, sizeof(ch->log), "%s/etcd.log", a->dir);
	if (access(a->etcd_bin, X_OK) != 0)
		return rn__cli_err(
		    &a->common,
		    "etcd not found at %s (apt-get install etcd-server, or use --etcd "
		    "PATH)",
		    a->etcd_bin);
	char *argv[] = {(char *)"etcd",
			(char *)"--name",
			(char *)"runnel-dev",
			(char *)"--data-dir",
			data,
			(char *)"--listen-client-urls",
			client,
			(char *)"--advertise-client-urls",
			client,
			(char *)"--listen-peer-urls",
			peer,
			(char *)"--initial-advertise-peer-urls",
			peer,
			(char *)"--initial-cluster",
			initial,
			NULL};
	if (rn__dev_spawn(ch, a->etcd_bin, argv) < 0)
		return rn__cli_err(&a->common, "cannot start etcd: %s", strerror(errno));
	return 0;
}

/*
 * Waits until ch is up (http: /health says healthy; else its port accepts). Returns 0, 1 after
 * a line when it died or did not come up, or -SIGINT/-SIGTERM when the user stopped us.
 */
static int wait_up(struct dev_args *a, struct rn_dev_child *ch, int port, bool http,
		   const sigset_t *sigs)
{
	int64_t deadline = rn_mono_ms() + START_MS;
	while (rn_mono_ms() < deadline) {
		if (http ? rn__dev_http_has(port, "/health", "\"true\"") : rn__dev_port_open(port))
			return 0;
		if (rn__dev_reap(ch)) {
			char how[64];
			return rn__cli_err(&a->common, "%s %s while starting; see %s", ch->name,
					   rn__dev_how(ch, how, sizeof(how)), ch->log);
		}
		int sig = rn__dev_wait_signal(sigs, 100);
		if (sig == SIGINT || sig == SIGTERM)
			return -sig;
	}
	return rn__cli_err(&a->common, "%s did not come up on 127.0.0.1:%d within %d s; see %s",
			   ch->name, port, START_MS / 1000, ch->log);
}

/* "--set" "key=value" pairs, formatted into store (one slot per pair). */
static void add_set(char **argv, int *n, char (*store)[512], int *ns, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void add_set(char **argv, int *n, char (*store)[512], int *ns, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(store[*ns], sizeof(store[0]), fmt, ap);
	va_end(ap);
	argv[(*n)++] = (char *)"--set";
	argv[(*n)++] = store[(*ns)++];
}

static int start_broker(struct dev_args *a, struct rn_dev_child *ch, int id)
{
	char store[8][512], dir[PATH_MAX];
	char *argv[2 * (8 + MAX_SETS) + 8];
	int n = 0, ns = 0;
	snprintf(dir, sizeof(dir), "%s/broker-%d", a->dir, id);
	if (make_dir(a, dir))
		return 1;
	snprintf(ch->name, sizeof(ch->name), "broker %d", id);
	snprintf(ch->log, sizeof(ch->log), "%s/broker-%d.log", a->dir, id);
	argv[n++] = (char *)"runnel";
	argv[n++] = (char *)"serve";
	if (a->config) {
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)a->config;
	}
	add_set(argv, &n, store, &ns, "default.replication.factor=%d",
		a->brokers < 3 ? a->brokers : 3);
	add_set(argv, &n, store, &ns, "node.id=%d", id);
	add_set(argv, &n, store, &ns, "metadata.store=etcd://127.0.0.1:%d/runnel", a->etcd_port);
	add_set(argv, &n, store, &ns, "listeners=PLAINTEXT://127.0.0.1:%d", a->port + id - 1);
	add_set(argv, &n, store, &ns, "admin.listener=127.0.0.1:%d", a->admin_port + id - 1);
	add_set(argv, &n, store, &ns, "log.dirs=%s", dir);
	for (int i = 0; i < a->nsets; i++) {
		argv[n++] = (char *)"--set";
		argv[n++] = (char *)a->sets[i];
	}
	argv[n] = NULL;
	/* This very binary: the brokers run the same build as the command that starts them. */
	if (rn__dev_spawn(ch, "/proc/self/exe", argv) < 0)
		return rn__cli_err(&a->common, "cannot start %s: %s", ch->name, strerror(errno));
	return 0;
}

static void print_started(struct dev_args *a, struct rn_dev_child *ch)
{
	printf("etcd     pid %-7d 127.0.0.1:%d  data %s/etcd  log %s\n", (int)ch[0].pid,
	       a->etcd_port, a->dir, ch[0].log);
	for (int i = 1; i <= a->brokers; i++)
		printf("broker %d pid %-7d 127.0.0.1:%d  admin http://127.0.0.1:%d/metrics  data "
		       "%s/broker-%d  log %s\n",
		       i, (int)ch[i].pid, a->port + i - 1, a->admin_port + i - 1, a->dir, i,
		       ch[i].log);
	printf("bootstrap: ");
	for (int i = 1; i <= a->brokers; i++)
		printf("%s127.0.0.1:%d", i > 1 ? "," : "", a->port + i - 1);
	printf("\ncluster of %d broker(s) is up; Ctrl-C stops it\n", a->brokers);
	fflush(stdout);
}

/* A broker died on its own: when due (restart_at, 0 = not scheduled) it starts again. */
struct down {
	int64_t restart_at;
};

/* Starts broker i again (--restart); a failure only leaves it down until the next try. */
static void restart_broker(struct dev_args *a, struct rn_dev_child *ch, int i, struct down *d)
{
	d->restart_at = 0;
	memset(&ch[i], 0, sizeof(ch[i]));
	if (start_broker(a, &ch[i], i) != 0) {
		d->restart_at = rn_mono_ms() + RESTART_MS;
		return;
	}
	fprintf(stderr, "runnel dev cluster: %s restarted (pid %d)\n", ch[i].name, (int)ch[i].pid);
}

/*
 * Runs until a signal, etcd's death or the last broker's. Returns 0 after a signal, or 1
 * (named on stderr). ch[0] is etcd, ch[1..n) the brokers; a dead broker has reaped set.
 */
static int supervise(struct dev_args *a, struct rn_dev_child *ch, int n, const sigset_t *sigs)
{
	struct down down[MAX_BROKERS + 1];
	memset(down, 0, sizeof(down));
	for (;;) {
		int sig = rn__dev_wait_signal(sigs, 500);
		if (sig == SIGINT || sig == SIGTERM) {
			fprintf(stderr, "runnel dev cluster: %s, stopping the brokers, then etcd\n",
				sig == SIGINT ? "interrupted" : "terminated");
			return 0;
		}
		char how[64];
		if (rn__dev_reap(&ch[0]))
			return rn__cli_err(
			    &a->common, "etcd (pid %d) %s; stopping the cluster; see %s",
			    (int)ch[0].pid, rn__dev_how(&ch[0], how, sizeof(how)), ch[0].log);
		int alive = 0;
		for (int i = 1; i < n; i++) {
			bool was_down = ch[i].reaped;
			if (!was_down && rn__dev_reap(&ch[i])) {
				fprintf(
				    stderr,
				    "runnel dev cluster: %s (pid %d) %s; the other brokers keep "
				    "running%s; see %s\n",
				    ch[i].name, (int)ch[i].pid,
				    rn__dev_how(&ch[i], how, sizeof(how)),
				    a->restart ? ", it restarts in 3 s" : "", ch[i].log);
				ch[i].reported = true;
				if (a->restart)
					down[i].restart_at = rn_mono_ms() + RESTART_MS;
			}
			if (ch[i].reaped && down[i].restart_at &&
			    rn_mono_ms() >= down[i].restart_at)
				restart_broker(a, ch, i, &down[i]);
			alive += !ch[i].reaped || down[i].restart_at;
		}
		if (alive == 0)
			return rn__cli_err(&a->common, "every broker died; stopping etcd");
	}
}

/* Starts etcd, then the brokers one by one; 0 when all are up. ch[0] is etcd. */
static int start_all(struct dev_args *a, struct rn_dev_child *ch, int *started, const sigset_t *s)
{
	*started = 1;
	int rc = start_etcd(a, &ch[0]);
	if (rc == 0)
		rc = wait_up(a, &ch[0], a->etcd_port, true, s);
	for (int i = 1; rc == 0 && i <= a->brokers; i++) {
		rc = start_broker(a, &ch[i], i);
		if (rc == 0) {
			*started = i + 1;
			rc = wait_up(a, &ch[i], a->port + i - 1, false, s);
		}
	}
	return rc;
}

static int run(struct dev_args *a)
{
	struct rn_dev_child ch[MAX_BROKERS + 1];
	memset(ch, 0, sizeof(ch));
	sigset_t sigs;
	if (make_dir(a, a->dir))
		return 1;
	rn__dev_signals(&sigs);
	int started = 0;
	int rc = start_all(a, ch, &started, &sigs);
	if (rc == 0) {
		print_started(a, ch);
		rc = supervise(a, ch, started, &sigs);
	} else if (rc < 0) {
		rc = 0; /* stopped by the user while starting */
	}
	/* Brokers first: their controlled shutdown needs etcd. */
	int bad = started > 1 ? rn__dev_stop(&ch[1], started - 1, STOP_MS) : 0;
	bad += rn__dev_stop(&ch[0], 1, ETCD_STOP_MS);
	if (bad && rc == 0)
		fprintf(stderr,
			"runnel dev cluster: %d process(es) did not exit cleanly (see %s/*.log)\n",
			bad, a->dir);
	if (rc == 0)
		printf("cluster stopped\n");
	return rc || bad ? 1 : 0;
}

static int cmd_cluster(int argc, char **argv)
{
	struct dev_args a = {.brokers = 3,
			     .port = 9092,
			     .admin_port = 9644,
			     .etcd_port = 2379,
			     .dir = "./runnel-cluster",
			     .etcd_bin = "/usr/bin/etcd"};
	a.common.cmd = "runnel dev cluster";
	int rc = parse_args(&a, argc, argv);
	if (rc >= 0)
		return rc;
	return run(&a);
}

static const char dev_usage[] = "Usage: runnel dev cluster [options]\n"
				"\n"
				"Development helpers.\n"
				"  cluster   etcd plus N brokers on this machine (see "
				"'runnel dev cluster --help')\n";

int rn_cli_dev(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "cluster") == 0)
		return cmd_cluster(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(dev_usage, stdout);
		return 0;
	}
	if (argc < 2)
		fprintf(stderr, "runnel dev: missing action (cluster)\n");
	else
		fprintf(stderr, "runnel dev: unknown action '%s' (see --help)\n", argv[1]);
	return 2;
}
