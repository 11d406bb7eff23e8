/*
 * Shared plumbing of the client subcommands: the -b/-X/--command-config/--timeout-ms options
 * every command
 * takes, librdkafka configuration and admin calls, the connection check, one-line error
 * reporting and SIGINT/SIGTERM handling.
 * Private to src/cli (rn__cli_ prefix).
 */
#ifndef RN_CLI_COMMON_H
#define RN_CLI_COMMON_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#define RN_CLI_DEFAULT_BOOTSTRAP "127.0.0.1:9092"
#define RN_CLI_MAX_PROPS         64

/* Options common to every client subcommand, filled by rn__cli_common_opt(). */
struct rn_cli_common {
	const char *cmd;       /* "runnel topic create": prefix of every error line */
	const char *optstring; /* the command's getopt string, to word option errors */
	char optbuf[96];       /* rn__cli_getopt(): the common short options + the command's */
	const char *bootstrap;
	int timeout_ms;
	bool timeout_set; /* --timeout-ms given: it also bounds produce delivery */
	bool verbose;
	int nprops;
	const char *props[RN_CLI_MAX_PROPS]; /* "key=value" strings from -X, in order */
	bool bootstrap_set;                  /* -b given: it wins over a command config's */
	const char *command_config;          /* --command-config FILE, read after the options */
	int nfprops;
	char *fprops[RN_CLI_MAX_PROPS]; /* "key=value" from the command config (cmdconfig.c) */
};

/* Long-option ids above the char range, so they never clash with short options. */
enum {
	RN_CLI_OPT_TIMEOUT = 1000,
	RN_CLI_OPT_VERBOSE,
	RN_CLI_OPT_COMMAND_CONFIG,
	RN_CLI_OPT_FIRST_FREE = 1100,
};

/*
 * Text for --help describing the common options; commands print it after their own lines.
 */
extern const char rn__cli_common_help[];

/* Set by SIGINT/SIGTERM once rn__cli_catch_signals() ran; loops poll it. */
extern volatile sig_atomic_t rn__cli_stop;

void rn__cli_common_init(struct rn_cli_common *c, const char *cmd);
/*
 * Handles -b, -X, --command-config, --timeout-ms and -v (the file is read by rn__cli_getopt
 * once every option is seen, so -b wins wherever it is). Returns 1 if opt was one of them
 * (consumed), 0 if not, -1 after printing an error for a malformed value.
 */
int rn__cli_common_opt(struct rn_cli_common *c, int opt, const char *arg);

/* A command's handler of one of its own options: 0, or nonzero after printing the error line. */
typedef int (*rn_cli_opt_fn)(void *arg, int opt, const char *optarg);

/*
 * The option loop of every client subcommand: getopt_long() over argv with the common options
 * (-b, -X, --timeout-ms, -v, -h) and the command's own ones (optstring without the common
 * letters; longopts {0}-terminated, at most 40). Each of the command's options goes to
 * fn(arg, opt, optarg). Returns -1 to go on, with optind at the first positional argument, or
 * the exit code: 0 after --help (usage printed to stdout), 2 after an error line.
 */
int rn__cli_getopt(struct rn_cli_common *c, int argc, char **argv, const char *optstring,
		   const struct option *longopts, const char *usage, rn_cli_opt_fn fn, void *arg);
/*
 * Builds a configuration with bootstrap.servers, quiet logging (librdkafka's own log lines
 * only with -v) and error capture, then the command's defaults ("key=value" strings, NULL
 * terminated, may be NULL), then the --command-config file's properties (one librdkafka does
 * not know is skipped with a warning, as Kafka's tools do), then every -X in order, so -X
 * wins. Returns NULL after printing
 * the error line.
 */
rd_kafka_conf_t *rn__cli_conf(struct rn_cli_common *c, const char *const *defaults);
/* rd_kafka_new() on conf (consumed on success); NULL after printing the error line. */
rd_kafka_t *rn__cli_new(struct rn_cli_common *c, rd_kafka_type_t type, rd_kafka_conf_t *conf);

/* Delivery report callback of a producing command (librdkafka's dr_msg_cb). */
typedef void (*rn_cli_dr_fn)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/*
 * The client handle of a subcommand: rn__cli_conf(c, defaults), the delivery report callback
 * dr (may be NULL) with opaque, then rn__cli_new(); then waits until a bootstrap broker
 * answers, so that a broker that refuses the connection fails the command at once with
 * "<cmd>: cannot connect to <bootstrap>: <reason>". The caller owns the handle
 * (rd_kafka_destroy). NULL after printing the error line, with *exit_code set: 2 for a bad
 * configuration, 1 otherwise.
 */
rd_kafka_t *rn__cli_client(struct rn_cli_common *c, rd_kafka_type_t type,
			   const char *const *defaults, rn_cli_dr_fn dr, void *opaque,
			   int *exit_code);
/*
 * Admin options for op: the request timeout, and the operation timeout for the ops that have
 * one (create/delete topics, create partitions, delete records). The caller destroys them.
 */
rd_kafka_AdminOptions_t *rn__cli_admin_opts(rd_kafka_t *rk, rd_kafka_admin_op_t op, int timeout_ms);
/*
 * Waits up to timeout_ms (+2 s, librdkafka's own timeout fires first) for the admin result on
 * q. Returns the event (the caller destroys it), or NULL after printing
 * "<cmd>: <what>no answer from <bootstrap>: <reason>" (what is "" or e.g. "configs: ").
 */
rd_kafka_event_t *rn__cli_admin_wait(struct rn_cli_common *c, rd_kafka_t *rk, rd_kafka_queue_t *q,
				     int timeout_ms, const char *what);
/*
 * Opens a blocking TCP connection to host:port for a request librdkafka lacks (send and
 * receive bounded by --timeout-ms), with the client's security settings (TLS, SASL: see
 * raw_sec.h). Returns the socket (the caller ends it with rn__cli_raw_close), or -1 after
 * printing "<cmd>: cannot connect to HOST:PORT: <reason>", the line rn__cli_client() prints.
 */
int rn__cli_connect(const struct rn_cli_common *c, const char *host, int port);
/* A command's work on its client handle; returns the exit code. */
typedef int (*rn_cli_run_fn)(void *arg, rd_kafka_t *rk);
/*
 * The body of an admin-style subcommand: rn__cli_client() (a producer handle, no defaults),
 * fn(arg, rk), then the handle is destroyed. Returns fn's exit code, or rn__cli_client()'s.
 */
int rn__cli_run(struct rn_cli_common *c, rn_cli_run_fn fn, void *arg);
/*
 * Splits "KEY=VALUE" at the first '=': copies KEY into key (len bytes, truncated) and returns
 * VALUE, which points into kv; NULL when kv has no '='.
 */
const char *rn__cli_split_kv(const char *kv, char *key, size_t len);
/* Sets one property, printing "cmd: bad property ..." on failure. Returns 0 or -1. */
int rn__cli_set(struct rn_cli_common *c, rd_kafka_conf_t *conf, const char *k, const char *v);

/* Prints "<cmd>: <message>\n" to stderr. Returns 1 so callers can `return rn__cli_err(...)`. */
int rn__cli_err(const struct rn_cli_common *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Describes err for an error line. When a request merely timed out or found no broker, the last
 * error librdkafka's error callback saw (connection refused, resolution failure) names the real
 * cause: "Local: Timed out (127.0.0.1:9092/bootstrap: Connect ... failed: Connection refused)".
 * Serves rk's pending error events first (poll), so call it from the thread that polls rk.
 * Returns buf.
 */
const char *rn__cli_explain(rd_kafka_t *rk, rd_kafka_resp_err_t err, char *buf, size_t len);

/*
 * Validates a -b list: HOST[:PORT] entries separated by commas, PORT 1-65535 (9092 when left
 * out, as librdkafka does). Returns 0 or -1 after printing the error line.
 */
int rn__cli_check_bootstrap(const struct rn_cli_common *c, const char *list);

/*
 * Describes a failed produce() call of a record of bytes (key and value). A record over
 * librdkafka's own message.max.bytes is refused in the client with the broker's error code
 * (MSG_SIZE_TOO_LARGE); this says so and names the setting to raise, so it does not read as a
 * broker error. Anything else as rn__cli_explain(). Returns buf.
 */
const char *rn__cli_produce_error(rd_kafka_t *rk, rd_kafka_resp_err_t err, size_t bytes, char *buf,
				  size_t len);

/* Parses a decimal integer in [min, max]; returns 0 or -1. Accepts k/m/g suffixes if sfx. */
int rn__cli_parse_ll(const char *s, long long min, long long max, bool sfx, long long *out);
void rn__cli_catch_signals(void);
/*
 * Reports the option getopt_long() just rejected (opterr must be 0) as one line:
 * "runnel topic create: unknown option '--foo' (see --help)". Returns 2.
 */
int rn__cli_bad_opt(const struct rn_cli_common *c, int argc, char **argv);
/* Prints the usage text followed by the common options; returns 0 (for --help) or 2. */
int rn__cli_usage(const char *text, bool to_stdout);

/* Checks argv[1] of `runnel CMD ACTION ...` against the command's actions. Returns -1 when it
 * names one of them, else the exit code (0 after -h/--help, 2 when missing or unknown). */
int rn__cli_action(int argc, char **argv, const char *cmd, const char *const *actions, size_t n,
		   const char *usage_text);

/*
 * Fetches metadata of all topics (never auto-creates one) into *md, which the caller frees
 * with rd_kafka_metadata_destroy(). Returns 0 or -1 after printing the error line.
 */
int rn__cli_metadata(struct rn_cli_common *c, rd_kafka_t *rk, const struct rd_kafka_metadata **md);
/* Returns the topic named name in md, or NULL. */
const struct rd_kafka_metadata_topic *rn__cli_find_topic(const struct rd_kafka_metadata *md,
							 const char *name);

#endif
