/*
 * `runnel serve`: parse the configuration, open the log directory (recovering every partition),
 * start the flusher, the network loops and the admin HTTP listener, then wait for SIGTERM or
 * SIGINT and shut down in reverse order so acknowledged data is flushed and segments closed.
 */
#include "broker/serve.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/authz.h"
#include "broker/broker.h"
#include "broker/cluster.h"
#include "broker/config_alter.h"
#include "broker/dispatch.h"
#include "broker/groups.h"
#include "broker/config_compat.h"
#include "broker/handler.h"
#include "broker/listeners.h"
#include "broker/maintenance.h"
#include "broker/txns.h"
#include "broker/metrics.h"
#include "broker/sasl_serve.h"
#include "broker/quotas.h"
#include "broker/topic_config.h"
#include "broker/topics.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "net/http_admin.h"
#include "net/server.h"
#include "storage/flusher.h"
#include "storage/logdir.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: runnel serve [-c FILE] [--set key=value ...]\n\n"
	    "Runs a single-node broker that speaks the Kafka protocol.\n\n"
	    "Options:\n"
	    "  -c, --config FILE     read a server.properties-style file (key=value lines)\n"
	    "  -s, --set key=value   set one config key (Kafka's names); repeatable, applied\n"
	    "                        after the file\n"
	    "  --list-config         print every config key with its default and exit\n"
	    "  -h, --help            this help\n\n"
	    "Common keys (defaults in brackets):\n"
	    "  listeners [PLAINTEXT://127.0.0.1:9092]   advertised.listeners [listeners]\n"
	    "  log.dirs [./runnel-data]   node.id [1]   num.partitions [1]\n"
	    "  auto.create.topics.enable [true]   log.segment.bytes [1073741824]\n"
	    "  log.roll.ms   log.retention.ms/.minutes/.hours [168 h]   log.retention.bytes [-1]\n"
	    "  log.flush.interval.messages [unlimited; 1 = fdatasync before every ack]\n"
	    "  log.flush.interval.ms   message.max.bytes [1048588]\n"
	    "  socket.request.max.bytes [104857600]   log.message.timestamp.type [CreateTime]\n"
	    "  admin.listener [127.0.0.1:9644] (/metrics, /health)   log.level [info]\n\n"
	    "Unknown keys are errors. SIGTERM or SIGINT shut down cleanly.\n");
}

static void list_config(void)
{
	size_t n;
	const struct rn_cfg_def *d = rn_config_defs(&n);
	rn__cfg_compat_list(stdout); /* key families first, then every key */
	for (size_t i = 0; i < n; i++)
		printf("%-45s %s%s%s\n", d[i].name, d[i].def ? d[i].def : "(null)",
		       rn_config_is_dynamic(d[i].name) ? "  (dynamic)" : "",
		       d[i].no_effect ? "  (accepted, no effect)" : "");
	rn_topic_cfg_list(stdout);
}

/* Parses "PLAINTEXT://host:port" (first entry of a list). host may be empty. */
static int parse_listener(const char *v, char *host, size_t hostlen, int *port)
{
	if (!v)
		return -EINVAL;
	const char *p = strstr(v, "://");
	if (p && strncmp(v, "PLAINTEXT://", 12) != 0)
		return -EINVAL; /* TLS and SASL listeners do not exist yet */
	p = p ? p + 3 : v;
	const char *end = strchr(p, ',');
	size_t len = end ? (size_t)(end - p) : strlen(p);
	const char *colon = NULL;
	for (size_t i = 0; i < len; i++)
		if (p[i] == ':')
			colon = p + i;
	if (!colon || (size_t)(colon - p) >= hostlen)
		return -EINVAL;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	if (host[0] == '[') { /* [::1] */
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	char *e;
	long pt = strtol(colon + 1, &e, 10);
	if (e == colon + 1 || e > p + len || pt < 0 || pt > 65535)
		return -EINVAL;
	*port = (int)pt;
	return 0;
}

static int parse_args(int argc, char **argv, struct rn_config *cfg)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"set", required_argument, NULL, 's'},
	    {"list-config", no_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	char **sets = rn_calloc((size_t)argc, sizeof(char *));
	int nsets = 0, c, rc = 0;
	char err[600];
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': file = optarg; break;
		case 's': sets[nsets++] = optarg; break;
		case 'L':
			list_config();
			rc = 1;
			goto out;
		case 'h':
			usage(stdout);
			rc = 1;
			goto out;
		default:
			fprintf(stderr, "runnel serve: see 'runnel serve --help'\n");
			rc = -1;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "runnel serve: unexpected argument '%s'\n", argv[optind]);
		rc = -1;
		goto out;
	}
	if (file && rn_config_load_file(cfg, file, err, sizeof(err)) < 0) {
		fprintf(stderr, "runnel serve: %s\n", err);
		rc = -1;
		goto out;
	}
	for (int i = 0; i < nsets; i++) {
		if (rn_config_set_kv(cfg, sets[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "runnel serve: --set %s\n", err);
			rc = -1;
			goto out;
		}
	}
out:
	rn_free(sets);
	return rc;
}

static int resolve(struct rn_broker *b, char *host, size_t hostlen, int *port)
{
	struct rn_config *cfg = b->cfg;
	const char *lvl = rn_config_get(cfg, "log.level");
	enum rn_log_level l;
	if (rn_log_parse_level(lvl, &l) < 0) {
		fprintf(stderr, "runnel serve: log.level: '%s' is not debug, info, warn or error\n",
			lvl);
		return -EINVAL;
	}
	rn_log_set_level(l);
	char err[512];
	b->listeners = rn_calloc(1, sizeof(*b->listeners));
	const char *store = rn_config_get(cfg, "metadata.store");
	bool strict = store && strncmp(store, "etcd://", 7) == 0;
	if (rn_listeners_parse(cfg, strict, b->listeners, err, sizeof(err)) < 0) {
		fprintf(stderr, "runnel serve: %s\n", err);
		return -EINVAL;
	}
	/* TLS material and principal rules are checked before any data is touched. */
	if (rn_listeners_open(cfg, b->listeners) < 0)
		return -EINVAL;
	/* The inter-broker listener's address is the one a cluster registers. */
	const struct rn_listener_def *ib = &b->listeners->l[b->listeners->inter];
	snprintf(host, hostlen, "%s", ib->host);
	*port = ib->port;
	const char *dirs = rn_config_get(cfg, "log.dirs");
	if (!dirs)
		dirs = rn_config_get(cfg, "log.dir");
	if (strchr(dirs, ',')) {
		fprintf(stderr,
			"runnel serve: log.dirs: only one directory is supported (got "
			"'%s')\n",
			dirs);
		return -EINVAL;
	}
	b->log_dir = rn_strdup(dirs);
	b->node_id = (int32_t)rn_config_get_i64(cfg, "node.id");
	if (rn_config_get(cfg, "broker.id") && rn_config_is_default(cfg, "node.id"))
		b->node_id = (int32_t)rn_config_get_i64(cfg, "broker.id");
	b->auto_create = rn_config_get_bool(cfg, "auto.create.topics.enable");
	b->num_partitions = (int32_t)rn_config_get_i64(cfg, "num.partitions");
	b->message_max_bytes = (int32_t)rn_config_get_i64(cfg, "message.max.bytes");
	return 0;
}

/* b->adv_host/adv_port: the inter-broker listener's advertised address (after
 * rn_listeners_bound, or with a fixed port in a cluster). */
static void set_advertised(struct rn_broker *b)
{
	const struct rn_listener_def *d = &b->listeners->l[b->listeners->inter];
	snprintf(b->adv_host, sizeof(b->adv_host), "%s", d->adv_host);
	b->adv_port = d->adv_port;
}

/* A cluster broker registers its advertised address before it listens, and other brokers dial
 * it: it must be a real address and a fixed port. */
static int set_advertised_cluster(struct rn_broker *b)
{
	set_advertised(b);
	const struct rn_listener_def *d = &b->listeners->l[b->listeners->inter];
	if (d->adv_wildcard) {
		rn_error("in a cluster the advertised host must be an address other brokers and "
			 "clients can reach, not a wildcard: set advertised.listeners (or a host "
			 "in listeners) for listener %s",
			 d->name);
		return -EINVAL;
	}
	if (b->adv_port == 0) {
		rn_error("in a cluster the broker needs a fixed port in listeners or "
			 "advertised.listeners (port 0 cannot be registered before it is bound)");
		return -EINVAL;
	}
	return 0;
}

/* A cluster broker registers before it listens (so a duplicate node.id is refused before
 * anything is touched): a port that is taken must stop it before it registers, not after. */
static int probe_listener(const char *host, int port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai;
	char ps[16];
	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(host[0] ? host : NULL, ps, &hints, &ai) != 0)
		return 0; /* rn_server_start reports it */
	int rc = 0, one = 1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0)
			rc = -errno;
		close(fd);
	}
	freeaddrinfo(ai);
	if (rc < 0)
		rn_error("cannot listen on %s:%d: %s", host, port, rn_strerror(rc));
	return rc;
}

/* The embedded store, or a cluster's etcd store with the replica manager and this broker's
 * registration (broker/cluster.h). On failure the caller closes whatever was opened. */
static int open_metadata(struct rn_broker *b, bool cluster, const char *store, const char *host,
			 int port)
{
	if (cluster) {
		if (set_advertised_cluster(b) < 0)
			return -EINVAL;
		for (int i = 0; i < b->listeners->n; i++) {
			const struct rn_listener_def *d = &b->listeners->l[i];
			if (d->port && probe_listener(d->host, d->port) < 0)
				return -EINVAL;
		}
		return rn_cluster_open(b, store);
	}
	(void)host;
	(void)port;
	int rc = rn_meta_open(b->log_dir, b->node_id, &b->meta);
	if (rc < 0)
		rn_error("cannot open metadata in %s: %s", b->log_dir, rn_strerror(rc));
	return rc;
}

static int start_admin(struct rn_broker *b)
{
	const char *v = rn_config_get(b->cfg, "admin.listener");
	if (!v || !*v)
		return 0;
	char host[256];
	int port;
	if (parse_listener(v, host, sizeof(host), &port) < 0) {
		rn_error("admin.listener: cannot parse '%s' (want host:port)", v);
		return -EINVAL;
	}
	int rc = rn_http_admin_start(host, port, &b->admin);
	if (rc < 0) {
		rn_error("admin listener %s: %s", v, rn_strerror(rc));
		return rc;
	}
	rn_info("admin HTTP listener on %s:%d (/metrics, /health)", host,
		rn_http_admin_port(b->admin));
	return 0;
}

static void broker_free(struct rn_broker *b)
{
	rn_listeners_close(b->listeners);
	rn_free(b->listeners);
	rn_free(b->log_dir);
	pthread_rwlock_destroy(&b->topics_lock);
	pthread_mutex_destroy(&b->admin_lock);
	rn_config_free(b->cfg);
}

int rn_serve_main(int argc, char **argv)
{
	int64_t t0 = rn_mono_us();
	struct rn_broker b = {0};
	b.cfg = rn_config_new();
	pthread_rwlock_init(&b.topics_lock, NULL);
	pthread_mutex_init(&b.admin_lock, NULL);
	b.started_ms = rn_wall_ms();
	int rc = parse_args(argc, argv, b.cfg);
	char host[256];
	int port;
	if (rc != 0 || resolve(&b, host, sizeof(host), &port) < 0) {
		broker_free(&b);
		return rc > 0 ? 0 : 2;
	}

	/* Signals go to the main thread only: block them before any thread starts. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	int exit_code = 1;
	rc = rn_logdir_open(b.log_dir, &b.logdir);
	if (rc < 0) {
		rn_error("cannot open log directory %s: %s", b.log_dir,
			 rc == -EBUSY ? "another broker is using it" : rn_strerror(rc));
		goto out;
	}
	const char *store = rn_config_get(b.cfg, "metadata.store");
	bool cluster = store && strncmp(store, "etcd://", 7) == 0;
	if (open_metadata(&b, cluster, store, host, port) < 0)
		goto out_topics;
	if (rn_broker_sasl_start(&b) < 0)
		goto out_topics;
	rn_broker_configs_load(&b); /* dynamic broker configs, before topics resolve against them */
	if (rn_broker_authorizer_start(&b) < 0)
		goto out_topics;
	/* A cluster's table comes from the store's listener (rn_cluster_start) instead. */
	rc = cluster ? 0 : rn_topics_load(&b);
	if (rc < 0)
		rn_warn("some partitions could not be opened; they answer KAFKA_STORAGE_ERROR");
	rc = rn_flusher_start(&b.flusher);
	if (rc < 0) {
		rn_error("cannot start the flusher: %s", rn_strerror(rc));
		goto out_topics;
	}
	if (cluster && (rc = rn_cluster_start(&b)) < 0) {
		rn_error("cannot follow the cluster's metadata: %s", rn_strerror(rc));
		goto out_flusher;
	}
	/* Before the listener: groups are replayed before any client can join or fetch. */
	if (rn_groups_start(&b) < 0)
		rn_warn(
		    "group coordinator unavailable: group APIs answer COORDINATOR_NOT_AVAILABLE");
	/* After groups (a replayed commit hands offsets to them), before the listener: unfinished
	 * transactions are completed before any client can fetch. */
	if (rn_txns_start(&b) < 0)
		rn_warn("transaction coordinator unavailable: transactional APIs answer "
			"COORDINATOR_NOT_AVAILABLE");
	if (cluster)
		rn_cluster_coord_open(&b);
	/* Before the listener: the first request is already measured against the stored quotas. */
	rn_broker_quotas_start(&b);
	struct rn_listener_config lcs[RN_MAX_LISTENERS];
	rn_listeners_server_config(b.listeners, lcs);
	struct rn_server_config sc = {
	    .listeners = lcs,
	    .nlisteners = b.listeners->n,
	    .nloops = (int)rn_config_get_i64(b.cfg, "num.network.threads"),
	    .max_request_bytes = (size_t)rn_config_get_i64(b.cfg, "socket.request.max.bytes"),
	    .max_inflight_bytes = 64u << 20,
	    .on_request = rn_dispatch,
	    .arg = &b,
	    .on_open = rn_broker_session_open,
	    .on_close = rn_broker_session_close,
	    .max_frame = rn_broker_sasl_max_frame,
	};
	rc = rn_server_start(&sc, &b.server);
	if (rc < 0) {
		rn_error("cannot listen on %s:%d: %s", host, port, rn_strerror(rc));
		goto out_flusher;
	}
	rn_listeners_bound(b.listeners, b.server);
	if (!cluster)
		set_advertised(&b);
	if (start_admin(&b) < 0)
		goto out_server;
	if (cluster && rn_cluster_join(&b) < 0)
		goto out_admin;
	rn_broker_metrics_register(&b);
	rn_maintenance_start(&b);
	rn_info("runnel node %d listening on %s:%d (advertised %s:%d), data in %s, %u topic(s), "
		"cluster %s, started in %.1f ms",
		b.node_id, host, rn_server_listener_port(b.server, b.listeners->inter), b.adv_host,
		b.adv_port, b.log_dir, b.ntopics, rn_meta_cluster_id(b.meta),
		(double)(rn_mono_us() - t0) / 1000.0);

	int sig = 0;
	sigwait(&set, &sig);
	rn_info("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	exit_code = 0;

	/* Leaderships move away while this broker still serves, then the table freezes. */
	if (cluster)
		rn_cluster_leave(&b);
	rn_maintenance_stop(&b);
	rn_fetch_shutdown(&b);
	if (cluster)
		rn_cluster_coord_close(&b);
	rn_txns_stop(&b);
	rn_groups_stop(&b);
	rn_broker_metrics_unregister(&b);
	rn_broker_quotas_stop(&b);
out_admin:
	if (b.admin)
		rn_http_admin_stop(b.admin);
out_server:
	rn_server_stop(b.server);
out_flusher:
	if (cluster)
		rn_cluster_coord_close(&b);
	rn_txns_free(&b);
	rn_groups_free(&b);
	rn_flusher_stop(b.flusher);
out_topics:
	rn_cluster_stop(&b); /* no-op unless started */
	/* Detaches every replica (rn_topics_unload) before the manager goes and the logs close. */
	rn_topics_unload(&b);
	rn_cluster_free(&b);
	rn_broker_sasl_stop(&b);
	rn_meta_close(b.meta);
	rn_broker_authorizer_stop(&b); /* after the store: its watch names the authorizer */
	rn_logdir_close(b.logdir);
out:
	broker_free(&b);
	if (exit_code == 0)
		rn_info("shutdown complete");
	return exit_code;
}
