/* Option handling, configuration and error reporting shared by the client subcommands. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"

const char rn__cli_common_help[] =
    "Common options:\n"
    "  -b, --bootstrap-server HOST:PORT  broker to contact (default " RN_CLI_DEFAULT_BOOTSTRAP ")\n"
    "  -X, --property KEY=VALUE          librdkafka property, repeatable (wins over flags)\n"
    "      --timeout-ms MS               timeout of each broker request (default 10000)\n"
    "  -v, --verbose                     show librdkafka's own log lines\n"
    "  -h, --help                        show this help\n";

volatile sig_atomic_t rn__cli_stop;

/*
 * Written by librdkafka's error callback, which runs from rd_kafka_poll() and the admin/metadata
 * calls on the calling thread; the CLI has one client handle per process.
 */
static char last_error[256];

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

int rn__cli_common_opt(struct rn_cli_common *c, int opt, const char *arg)
{
	long long v;

	switch (opt) {
	case 'b': c->bootstrap = arg; return 1;
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
	return -1;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	(void)err;
	(void)opaque;
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

/* Applies one "key=value" string. */
static int set_kv(struct rn_cli_common *c, rd_kafka_conf_t *conf, const char *kvs)
{
	char kv[1024];

	snprintf(kv, sizeof(kv), "%s", kvs);
	char *eq = strchr(kv, '=');
	if (!eq) {
		rn__cli_err(c, "property '%s' is not KEY=VALUE", kvs);
		return -1;
	}
	*eq = '\0';
	return rn__cli_set(c, conf, kv, eq + 1);
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
	return rn__cli_new(c, type, conf);
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
	else
		snprintf(buf, len, "%s", rd_kafka_err2str(err));
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
