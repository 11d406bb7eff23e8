/* Option handling, configuration and error reporting shared by the client subcommands. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli/cmdconfig.h"
#include "cli/common.h"
#include "cli/raw_sec.h"
#include "core/clock.h"

const char rn__cli_common_help[] =
    "Common options:\n"
    "  -b, --bootstrap-server HOST[:PORT],...\n"
    "                                    brokers (default " RN_CLI_DEFAULT_BOOTSTRAP "; PORT\n"
    "                                    defaults to 9092, as in kcat and librdkafka)\n"
    "  -X, --property KEY=VALUE          librdkafka property, repeatable (wins over flags),\n"
    "                                    e.g. security.protocol=SASL_SSL, ssl.ca.location=F,\n"
    "                                    sasl.mechanisms=SCRAM-SHA-256, sasl.username=U\n"
    "      --command-config FILE         client properties file as Kafka's tools take it\n"
    "                                    (key=value lines; Java names such as\n"
    "                                    sasl.jaas.config and PEM stores are translated)\n"
    "      --timeout-ms MS               timeout of each broker request (default 10000)\n"
    "  -v, --verbose                     show librdkafka's own log lines\n"
    "  -h, --help                        show this help\n";

volatile sig_atomic_t rn__cli_stop;

/*
 * Written by librdkafka's error callback, which runs from rd_kafka_poll() and the admin/metadata
 * calls on the calling thread; the CLI has one client handle per process.
 */
static char last_error[256];
/* Set by the error callback when librdkafka reports every bootstrap broker down. */
static bool all_brokers_down;
/* The command config's unknown keys have been warned about. */
static bool warned_unknown;

void rn__cli_common_init(struct rn_cli_common *c, const char *cmd)
{
	memset(c, 0, sizeof(*c));
	c->cmd = cmd;
	c->bootstrap = RN_CLI_DEFAULT_BOOTSTRAP;
	c->timeout_ms = 10000;
}

int rn__cli_err(const struct rn_cli_common *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", c->cmd, msg);
	return 1;
}

int rn__cli_parse_ll(const char *s, long long min, long long max, bool sfx, long long *out)
{
	char *end;

	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (sfx && *end) {
		long long mul = 1;
		switch (*end) {
		case 'k':
		case 'K': mul = 1000; break;
		case 'm':
		case 'M': mul = 1000 * 1000; break;
		case 'g':
		case 'G': mul = 1000 * 1000 * 1000; break;
		default: return -1;
		}
		if (v > max / mul || v < min / mul)
			return -1;
		v *= mul;
		end++;
	}
	if (*end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * Checks one HOST[:PORT] of -b, after an optional "PROTOCOL://" (librdkafka takes one). HOST is
 * a name, an IPv4 address or a bracketed IPv6 address; PORT is 1-65535. Without a port
 * librdkafka (and so kcat) uses 9092; the Java tools refuse the address instead. We follow
 * librdkafka, since it is what connects, and say so in --help.
 */
static int check_server(const struct rn_cli_common *c, const char *s, size_t n)
{
	char e[256];
	const char *end = s + n, *p = s;
	const char *proto = memmem(s, n, "://", 3);

	snprintf(e, sizeof(e), "%.*s", (int)n, s);
	if (proto)
		p = proto + 3;
	const char *host = p;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb || rb == p + 1)
			return rn__cli_err(c, "-b: bad IPv6 address in '%s' (want [ADDR]:PORT)", e);
		p = rb + 1;
	} else {
		while (p < end && *p != ':' && (isalnum((unsigned char)*p) || strchr(".-_", *p)))
			p++;
	}
	if (p == host)
		return rn__cli_err(c, "-b: missing host in '%s' (want HOST[:PORT])", e);
	if (p == end)
		return 0;
	if (*p != ':')
		return rn__cli_err(c, "-b: '%s' is not HOST[:PORT]", e);
	p++;
	if (p == end)
		return rn__cli_err(c, "-b: missing port after ':' in '%s'", e);
	long long port = 0;
	for (const char *d = p; d < end; d++) {
		if (!isdigit((unsigned char)*d))
			return rn__cli_err(c, "-b: port '%.*s' is not a number in '%s'",
					   (int)(end - p), p, e);
		port = port < 100000 ? port * 10 + (*d - '0') : port;
	}
	if (port < 1 || port > 65535)
		return rn__cli_err(c, "-b: port %.*s is out of range (1-65535) in '%s'",
				   (int)(end - p), p, e);
	return 0;
}

int rn__cli_check_bootstrap(const struct rn_cli_common *c, const char *list)
{
	const char *s = list;

	for (;;) {
		size_t n = strcspn(s, ",");
		if (check_server(c, s, n))
			return -1;
		if (!s[n])
			return 0;
		s += n + 1;
	}
}

int rn__cli_common_opt(struct rn_cli_common *c, int opt, const char *arg)
{
	long long v;

	switch (opt) {
	case 'b':
		if (rn__cli_check_bootstrap(c, arg))
			return -1;
		c->bootstrap = arg;
		c->bootstrap_set = true;
		return 1;
	case RN_CLI_OPT_COMMAND_CONFIG: c->command_config = arg; return 1;
	case 'X':
		if (!strchr(arg, '=')) {
			rn__cli_err(c, "-X expects KEY=VALUE, got '%s'", arg);
			return -1;
		}
		if (c->nprops == RN_CLI_MAX_PROPS) {
			rn__cli_err(c, "too many -X properties (max %d)", RN_CLI_MAX_PROPS);
			return -1;
		}
		c->props[c->nprops++] = arg;
		return 1;
	case RN_CLI_OPT_TIMEOUT:
		if (rn__cli_parse_ll(arg, 1, 3600 * 1000, false, &v)) {
			rn__cli_err(c, "--timeout-ms expects milliseconds, got '%s'", arg);
			return -1;
		}
		c->timeout_ms = (int)v;
		c->timeout_set = true;
		return 1;
	case 'v':
	case RN_CLI_OPT_VERBOSE: c->verbose = true; return 1;
	default: return 0;
	}
}

int rn__cli_getopt(struct rn_cli_common *c, int argc, char **argv, const char *optstring,
		   const struct option *longopts, const char *usage, rn_cli_opt_fn fn, void *arg)
{
	static const struct option common[] = {
	    {"bootstrap-server", required_argument, NULL, 'b'},
	    {"property", required_argument, NULL, 'X'},
	    {"timeout-ms", required_argument, NULL, RN_CLI_OPT_TIMEOUT},
	    {"command-config", required_argument, NULL, RN_CLI_OPT_COMMAND_CONFIG},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	};
	enum { NCOMMON = sizeof(common) / sizeof(common[0]), MAXOWN = 40 };
	struct option all[NCOMMON + MAXOWN + 1];
	size_t n = 0;
	int opt;

	memcpy(all, common, sizeof(common));
	while (longopts && longopts[n].name && n < MAXOWN) {
		all[NCOMMON + n] = longopts[n];
		n++;
	}
	memset(&all[NCOMMON + n], 0, sizeof(all[0]));
	snprintf(c->optbuf, sizeof(c->optbuf), "b:X:vh%s", optstring);
	c->optstring = c->optbuf;
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, c->optstring, all, NULL)) != -1) {
		if (opt == 'h')
			return rn__cli_usage(usage, true);
		if (opt == '?' || opt == ':')
			return rn__cli_bad_opt(c, argc, argv);
		int r = rn__cli_common_opt(c, opt, optarg);
		if (r < 0 || (r == 0 && fn(arg, opt, optarg)))
			return 2;
	}
	if (c->command_config && rn__cli_command_config(c, c->command_config))
		return 2;
	return -1;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	(void)opaque;
	/* "1/1 brokers are down" says less than the connect failure reported just before it. */
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
		all_brokers_down = true;
		if (last_error[0])
			return;
	}
	snprintf(last_error, sizeof(last_error), "%s", reason);
}

/* Without -v, librdkafka's log lines (reconnect chatter) would bury our one error line. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	fprintf(stderr, "%%%d|%s|%s\n", level, fac, buf);
}

static void on_log_quiet(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

int rn__cli_set(struct rn_cli_common *c, rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char err[512];

	if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		rn__cli_err(c, "bad property %s=%s: %s", k, v, err);
		return -1;
	}
	return 0;
}

const char *rn__cli_split_kv(const char *kv, char *key, size_t len)
{
	const char *eq = strchr(kv, '=');

	if (!eq)
		return NULL;
	snprintf(key, len, "%.*s", (int)(eq - kv), kv);
	return eq + 1;
}

/* Applies one "key=value" string. */
static int set_kv(struct rn_cli_common *c, rd_kafka_conf_t *conf, const char *kvs)
{
	char k[512];
	const char *v = rn__cli_split_kv(kvs, k, sizeof(k));

	if (!v) {
		rn__cli_err(c, "property '%s' is not KEY=VALUE", kvs);
		return -1;
	}
	return rn__cli_set(c, conf, k, v);
}

rd_kafka_conf_t *rn__cli_conf(struct rn_cli_common *c, const char *const *defaults)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_log_cb(conf, c->verbose ? on_log : on_log_quiet);
	if (rn__cli_set(c, conf, "bootstrap.servers", c->bootstrap) ||
	    rn__cli_set(c, conf, "client.id", "runnel-cli"))
		goto fail;
	for (int i = 0; defaults && defaults[i]; i++)
		if (set_kv(c, conf, defaults[i]))
			goto fail;
	for (int i = 0; i < c->nfprops; i++) {
		char k[512], err[512];
		const char *v = rn__cli_split_kv(c->fprops[i], k, sizeof(k));
		rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, k, v, err, sizeof(err));
		if (res == RD_KAFKA_CONF_UNKNOWN) {
			/* Once per process, though raw connections build their own configs. */
			if (!warned_unknown)
				fprintf(
				    stderr,
				    "%s: warning: %s: %s is not a client setting here, ignored\n",
				    c->cmd, c->command_config, k);
		} else if (res != RD_KAFKA_CONF_OK) {
			rn__cli_err(c, "%s: bad property %s: %s", c->command_config, k, err);
			goto fail;
		}
	}
	warned_unknown = true;
	for (int i = 0; i < c->nprops; i++)
		if (set_kv(c, conf, c->props[i]))
			goto fail;
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

rd_kafka_t *rn__cli_new(struct rn_cli_common *c, rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
	char err[512];
	rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));

	if (!rk) {
		rd_kafka_conf_destroy(conf);
		rn__cli_err(c, "cannot create client: %s", err);
	}
	return rk;
}

/*
 * The part of librdkafka's connect error worth a line: "127.0.0.1:1/bootstrap: Connect to
 * ipv4#127.0.0.1:1 failed: Connection refused (after 0ms in state CONNECT)" becomes
 * "Connection refused".
 */
static const char *short_reason(const char *reason, char *buf, size_t len)
{
	const char *s = strstr(reason, "/bootstrap: ");
	s = s ? s + strlen("/bootstrap: ") : reason;
	const char *f = strstr(s, " failed: ");
	if (f && strncmp(s, "Connect to ", 11) == 0)
		s = f + strlen(" failed: ");
	const char *after = strstr(s, " (after ");
	snprintf(buf, len, "%.*s", (int)(after ? (size_t)(after - s) : strlen(s)), s);
	return buf;
}

/*
 * Waits until a bootstrap broker answers (a Metadata request for no topic: brokers only, so
 * nothing is auto-created), so that a refused connection ends the command at once, in the
 * same words for every subcommand, instead of after --timeout-ms in each request's own words.
 * librdkafka reports "all brokers down" through the error callback, served by rd_kafka_poll.
 * Returns 0 or -1 after the error line.
 */
static int wait_broker(struct rn_cli_common *c, rd_kafka_t *rk)
{
	int64_t deadline = rn_mono_us() + (int64_t)c->timeout_ms * 1000;
	char why[256];

	all_brokers_down = false;
	last_error[0] = '\0';
	for (;;) {
		const struct rd_kafka_metadata *md;
		if (!rd_kafka_metadata(rk, 0, NULL, &md, 200)) {
			rd_kafka_metadata_destroy(md);
			return 0;
		}
		rd_kafka_poll(rk, 0);
		if (all_brokers_down) {
			rn__cli_err(c, "cannot connect to %s: %s", c->bootstrap,
				    short_reason(last_error, why, sizeof(why)));
			return -1;
		}
		if (rn_mono_us() > deadline || rn__cli_stop) {
			rn__cli_err(c, "cannot connect to %s: no answer within %d ms", c->bootstrap,
				    c->timeout_ms);
			return -1;
		}
	}
}

rd_kafka_t *rn__cli_client(struct rn_cli_common *c, rd_kafka_type_t type,
			   const char *const *defaults, rn_cli_dr_fn dr, void *opaque,
			   int *exit_code)
{
	rd_kafka_conf_t *conf = rn__cli_conf(c, defaults);

	*exit_code = 2;
	if (!conf)
		return NULL;
	if (dr)
		rd_kafka_conf_set_dr_msg_cb(conf, dr);
	rd_kafka_conf_set_opaque(conf, opaque);
	*exit_code = 1;
	rd_kafka_t *rk = rn__cli_new(c, type, conf);
	if (rk && wait_broker(c, rk)) {
		rd_kafka_destroy(rk);
		rk = NULL;
	}
	return rk;
}

int rn__cli_run(struct rn_cli_common *c, rn_cli_run_fn fn, void *arg)
{
	int rc;
	rd_kafka_t *rk = rn__cli_client(c, RD_KAFKA_PRODUCER, NULL, NULL, NULL, &rc);

	if (!rk)
		return rc;
	rc = fn(arg, rk);
	rd_kafka_destroy(rk);
	return rc;
}

rd_kafka_AdminOptions_t *rn__cli_admin_opts(rd_kafka_t *rk, rd_kafka_admin_op_t op, int timeout_ms)
{
	char err[256];
	rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);

	rd_kafka_AdminOptions_set_request_timeout(o, timeout_ms, err, sizeof(err));
	if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
	    op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS || op == RD_KAFKA_ADMIN_OP_DELETERECORDS)
		rd_kafka_AdminOptions_set_operation_timeout(o, timeout_ms, err, sizeof(err));
	return o;
}

rd_kafka_event_t *rn__cli_admin_wait(struct rn_cli_common *c, rd_kafka_t *rk, rd_kafka_queue_t *q,
				     int timeout_ms, const char *what)
{
	char why[512];
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
	rd_kafka_resp_err_t err = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;

	if (!err)
		return ev;
	/* A refusal decided in the client (a partition without a leader: "Local: No such entry")
	 * is no missing answer; the event's own string names what was wrong. */
	const char *msg = ev ? rd_kafka_event_error_string(ev) : NULL;
	bool answered =
	    err > 0 || err == RD_KAFKA_RESP_ERR__NOENT || err == RD_KAFKA_RESP_ERR__INVALID_ARG;
	if (answered && msg && *msg)
		rn__cli_err(c, "%s%s", what, msg);
	else
		rn__cli_err(c, "%sno answer from %s: %s", what, c->bootstrap,
			    rn__cli_explain(rk, err, why, sizeof(why)));
	if (ev)
		rd_kafka_event_destroy(ev);
	return NULL;
}

/* connect() to one address; returns the socket or -1 with errno set. */
static int connect_one(const struct addrinfo *ai, int timeout_ms)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	/* SO_SNDTIMEO bounds connect() too (Linux), so an address that drops SYNs ends. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

int rn__cli_connect(const struct rn_cli_common *c, const char *host, int port)
{
	char ps[16], why[128];
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
	/* A bracketed IPv6 address, as in -b, so that HOST:PORT stays readable. */
	const char *lb = strchr(host, ':') ? "[" : "", *rb = *lb ? "]" : "";

	snprintf(ps, sizeof(ps), "%d", port);
	int gai = getaddrinfo(host, ps, &hints, &res);
	if (gai != 0) {
		rn__cli_err(c, "cannot connect to %s%s%s:%d: %s", lb, host, rb, port,
			    gai_strerror(gai));
		return -1;
	}
	int fd = -1, e = 0;
	for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = connect_one(ai, c->timeout_ms);
		e = fd < 0 ? errno : 0;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		return rn__cli_sec_setup(c, fd, host, port) == 0 ? fd : -1;
	if (e == EINPROGRESS || e == EAGAIN || e == ETIMEDOUT)
		snprintf(why, sizeof(why), "no answer within %d ms", c->timeout_ms);
	else
		snprintf(why, sizeof(why), "%s", strerror(e));
	rn__cli_err(c, "cannot connect to %s%s%s:%d: %s", lb, host, rb, port, why);
	return -1;
}

const char *rn__cli_explain(rd_kafka_t *rk, rd_kafka_resp_err_t err, char *buf, size_t len)
{
	/* Error events wait on the main queue until polled; the cause is usually among them. */
	if (rk)
		rd_kafka_poll(rk, 0);
	bool local = err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
		     err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
		     err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT || err == RD_KAFKA_RESP_ERR__RESOLVE;

	if (local && last_error[0])
		snprintf(buf, len, "%s (%s)", rd_kafka_err2str(err), last_error);
	else if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
		snprintf(buf, len,
			 "%s (the broker's message.max.bytes or the topic's max.message.bytes)",
			 rd_kafka_err2str(err));
	else
		snprintf(buf, len, "%s", rd_kafka_err2str(err));
	return buf;
}

const char *rn__cli_produce_error(rd_kafka_t *rk, rd_kafka_resp_err_t err, size_t bytes, char *buf,
				  size_t len)
{
	char max[32] = "?";
	size_t n = sizeof(max);

	if (err != RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
		return rn__cli_explain(rk, err, buf, len);
	rd_kafka_conf_get(rd_kafka_conf(rk), "message.max.bytes", max, &n);
	/* The slack covers the record and batch headers librdkafka counts against the limit. */
	snprintf(buf, len,
		 "record of %zu bytes exceeds this client's message.max.bytes (%s); raise it with "
		 "-X message.max.bytes=%zu (the broker's message.max.bytes applies too)",
		 bytes, max, bytes + 1024);
	return buf;
}

int rn__cli_metadata(struct rn_cli_common *c, rd_kafka_t *rk, const struct rd_kafka_metadata **md)
{
	char why[512];
	rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, md, c->timeout_ms);

	if (err) {
		rn__cli_err(c, "cannot fetch metadata from %s: %s", c->bootstrap,
			    rn__cli_explain(rk, err, why, sizeof(why)));
		return -1;
	}
	return 0;
}

const struct rd_kafka_metadata_topic *rn__cli_find_topic(const struct rd_kafka_metadata *md,
							 const char *name)
{
	for (int i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, name) == 0)
			return &md->topics[i];
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	rn__cli_stop = 1;
}

void rn__cli_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int rn__cli_usage(const char *text, bool to_stdout)
{
	FILE *f = to_stdout ? stdout : stderr;

	fputs(text, f);
	fputs(rn__cli_common_help, f);
	return to_stdout ? 0 : 2;
}

int rn__cli_bad_opt(const struct rn_cli_common *c, int argc, char **argv)
{
	const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

	if (optopt && optopt != '?' && strncmp(arg, "--", 2) == 0)
		rn__cli_err(c, "option '%s' needs a value (see --help)", arg);
	else if (optopt && optopt != '?' && strchr(c->optstring, optopt))
		rn__cli_err(c, "option '-%c' needs a value (see --help)", optopt);
	else if (optopt && optopt != '?')
		rn__cli_err(c, "unknown option '-%c' (see --help)", optopt);
	else
		rn__cli_err(c, "unknown option or missing value: '%s' (see --help)", arg);
	return 2;
}

int rn__cli_action(int argc, char **argv, const char *cmd, const char *const *actions, size_t n,
		   const char *usage_text)
{
	if (argc < 2 || argv[1][0] == '-') {
		bool help = argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
		if (help)
			return rn__cli_usage(usage_text, true);
		fprintf(stderr, "runnel %s: missing action (", cmd);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "%s%s", i ? "|" : "", actions[i]);
		fprintf(stderr, ")\n");
		return 2;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(argv[1], actions[i]) == 0)
			return -1;
	fprintf(stderr, "runnel %s: unknown action '%s' (see --help)\n", cmd, argv[1]);
	return 2;
}
