/*
 * `runnel user add|list|delete`: SCRAM credentials through AlterUserScramCredentials and
 * DescribeUserScramCredentials (librdkafka 2.0 has neither, so raw requests). As Kafka's tools
 * do, the client makes the salt and the salted password; the password itself never leaves
 * this process. It is read from stdin, or from a prompt without echo on a terminal.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/rawreq.h"
#include "cli/scram.h"
#include "proto/gen/rn_msg.h"

#define DEFAULT_ITERATIONS 4096 /* Kafka's tools' default and its minimum */

static const char usage_text[] =
    "Usage: runnel user <action> [options]\n"
    "\n"
    "Actions:\n"
    "  add NAME --mechanism SCRAM-SHA-256|SCRAM-SHA-512 [--iterations N]\n"
    "                                the password is read from stdin (one line), or asked\n"
    "                                for without echo on a terminal; adding again replaces it\n"
    "  list [NAME...]                users with SCRAM credentials, their mechanisms and\n"
    "                                iteration counts\n"
    "  delete NAME [--mechanism M]   remove the user's credential for M (default: all)\n"
    "\n"
    "Options:\n"
    "  -m, --mechanism M             SCRAM-SHA-256 or SCRAM-SHA-512\n"
    "  -i, --iterations N            PBKDF2 iterations (default 4096; Kafka accepts\n"
    "                                4096-16384)\n";

struct user_args {
	struct rn_cli_common common;
	const char *action;
	int mech;
	int iterations;
	int nnames;
	char **names;
};

static int parse_opt(void *arg, int opt, const char *val)
{
	struct user_args *a = arg;
	long long v;
	switch (opt) {
	case 'm':
		a->mech = rn__scram_mech(val);
		if (!a->mech)
			return rn__cli_err(&a->common,
					   "--mechanism expects SCRAM-SHA-256 or SCRAM-SHA-512, "
					   "got '%s'",
					   val);
		return 0;
	case 'i':
		if (rn__cli_parse_ll(val, 1, 1 << 30, false, &v))
			return rn__cli_err(&a->common, "--iterations expects a count, got '%s'",
					   val);
		a->iterations = (int)v;
		return 0;
	default: return 2;
	}
}

/* The password: the first line of stdin, or a prompt with echo off on a terminal. Returns
 * 0 or 1 after the error line. */
static int read_password(struct user_args *a, const char *name, char *buf, size_t len)
{
	bool tty = isatty(STDIN_FILENO);
	struct termios old, quiet;
	if (tty) {
		/* Echo goes off before the prompt shows, so nothing typed after it is echoed. */
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		fprintf(stderr, "Password for %s: ", name);
		fflush(stderr);
	}
	char *got = fgets(buf, (int)len, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!got)
		return rn__cli_err(&a->common, "no password on stdin");
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!*buf)
		return rn__cli_err(&a->common, "empty password");
	return 0;
}

/* What an AlterUserScramCredentials carries: deletions of (name, mechs[i]), or one upsertion. */
struct alter {
	const char *name;
	int mechs[2], nmechs;
	int mech, iterations;
	const char *salt;
	int saltlen;
	const uint8_t *salted;
};

/* Sends an AlterUserScramCredentials and prints each result. Returns the exit code. */
static int alter(struct user_args *a, struct alter *al, const char *done)
{
	struct rn_alter_user_scram_credentials_request_scram_credential_deletion del[2];
	for (int i = 0; i < al->nmechs; i++)
		del[i] = (struct rn_alter_user_scram_credentials_request_scram_credential_deletion){
		    rn_str_c(al->name), (int8_t)al->mechs[i]};
	struct rn_alter_user_scram_credentials_request_scram_credential_upsertion up = {
	    .name = rn_str_c(al->name),
	    .mechanism = (int8_t)al->mech,
	    .iterations = al->iterations,
	    .salt = {(const uint8_t *)al->salt, al->saltlen},
	    .salted_password = {al->salted,
				(int32_t)rn_scram_hash_len((enum rn_scram_mech)al->mech)},
	};
	struct rn_alter_user_scram_credentials_request rq = {
	    .deletions = del,
	    .deletions_count = al->nmechs,
	    .upsertions = &up,
	    .upsertions_count = al->salted ? 1 : 0,
	};
	struct rn__cli_rawreq r;
	struct rn_alter_user_scram_credentials_response *resp;
	int rc = rn__cli_rawreq_call(&a->common, &r, RN_API_ALTER_USER_SCRAM_CREDENTIALS, 0, 0, &rq,
				     (void **)&resp);
	for (int32_t i = 0; resp && i < resp->results_count; i++) {
		char user[256], msg[768];
		rn__cli_str(resp->results[i].user, user, sizeof(user));
		if (resp->results[i].error_code)
			rc = rn__cli_err(&a->common, "user '%s': %s", user,
					 rn__cli_kerr_msg(resp->results[i].error_code,
							  resp->results[i].error_message, msg,
							  sizeof(msg)));
		else
			printf("%s user '%s'\n", done, user);
	}
	rn__cli_rawreq_free(&r);
	return rc;
}

static int do_add(struct user_args *a)
{
	if (a->nnames != 1)
		return rn__cli_err(&a->common, "add takes one NAME (see --help)") + 1;
	if (!a->mech)
		return rn__cli_err(&a->common,
				   "add needs --mechanism SCRAM-SHA-256|SCRAM-SHA-512") +
		       1;
	char password[1024], salt[64];
	uint8_t salted[RN_SCRAM_MAX_HASH];
	if (read_password(a, a->names[0], password, sizeof(password)))
		return 1;
	int iters = a->iterations ? a->iterations : DEFAULT_ITERATIONS;
	int sl = rn__scram_salt(salt, sizeof(salt));
	int ok = sl > 0 && rn__scram_salted(a->mech, password, (const uint8_t *)salt, (size_t)sl,
					    iters, salted) == 0;
	explicit_bzero(password, sizeof(password));
	if (!ok)
		return rn__cli_err(&a->common, "cannot compute the salted password");
	struct alter al = {.name = a->names[0],
			   .mech = a->mech,
			   .iterations = iters,
			   .salt = salt,
			   .saltlen = sl,
			   .salted = salted};
	int rc = alter(a, &al, "added");
	explicit_bzero(salted, sizeof(salted));
	return rc;
}

struct cred {
	char user[256];
	int mech, iterations;
};

/* DescribeUserScramCredentials of a's names (all users when none). Fills creds (up to max)
 * and prints the listing when print. Returns the exit code. */
static int describe(struct user_args *a, bool print, struct cred *creds, int max, int *ncreds)
{
	struct rn_describe_user_scram_credentials_request_user_name
	    names[a->nnames ? a->nnames : 1];
	for (int i = 0; i < a->nnames; i++)
		names[i].name = rn_str_c(a->names[i]);
	/* No names: null, every user. */
	struct rn_describe_user_scram_credentials_request rq = {
	    .users = a->nnames ? names : NULL,
	    .users_count = a->nnames ? a->nnames : -1,
	};
	struct rn__cli_rawreq r;
	struct rn_describe_user_scram_credentials_response *resp;
	char msg[768], user[256];
	*ncreds = 0;
	int rc = rn__cli_rawreq_call(&a->common, &r, RN_API_DESCRIBE_USER_SCRAM_CREDENTIALS, 0, 0,
				     &rq, (void **)&resp);
	if (resp && resp->error_code) {
		rc = rn__cli_kerr_err(&a->common, resp->error_code, resp->error_message);
		resp = NULL;
	}
	for (int32_t i = 0; resp && i < resp->results_count; i++) {
		const struct
		    rn_describe_user_scram_credentials_response_describe_user_scram_credentials_result
			*x = &resp->results[i];
		rn__cli_str(x->user, user, sizeof(user));
		char line[1024] = "";
		for (int32_t j = 0; j < x->credential_infos_count; j++) {
			int mech = x->credential_infos[j].mechanism;
			int it = x->credential_infos[j].iterations;
			size_t l = strlen(line);
			snprintf(line + l, sizeof(line) - l, "%s%s=iterations=%d", j ? ", " : "",
				 rn__scram_mech_name(mech), it);
			if (*ncreds < max) {
				struct cred *cr = &creds[(*ncreds)++];
				snprintf(cr->user, sizeof(cr->user), "%s", user);
				cr->mech = mech;
				cr->iterations = it;
			}
		}
		if (x->error_code)
			rc = rn__cli_err(
			    &a->common, "user '%s': %s", user,
			    rn__cli_kerr_msg(x->error_code, x->error_message, msg, sizeof(msg)));
		else if (print) /* in kafka-configs.sh --describe --entity-type users' words */
			printf("SCRAM credential configs for user-principal '%s' are %s\n", user,
			       line);
	}
	rn__cli_rawreq_free(&r);
	return rc;
}

static int do_delete(struct user_args *a)
{
	if (a->nnames != 1)
		return rn__cli_err(&a->common, "delete takes one NAME (see --help)") + 1;
	struct alter al = {.name = a->names[0], .mechs = {a->mech}, .nmechs = a->mech ? 1 : 0};
	if (!a->mech) {
		/* Every mechanism the user has: Kafka wants each deletion to name one. */
		struct cred creds[8];
		int n, rc = describe(a, false, creds, 8, &n);
		if (rc)
			return rc;
		for (int i = 0; i < n && al.nmechs < 2; i++)
			if (creds[i].mech == RN_SCRAM_SHA_256 || creds[i].mech == RN_SCRAM_SHA_512)
				al.mechs[al.nmechs++] = creds[i].mech;
		if (al.nmechs == 0)
			return rn__cli_err(&a->common, "user '%s' has no SCRAM credentials",
					   a->names[0]);
	}
	return alter(a, &al, "deleted");
}

int rn_cli_user(int argc, char **argv)
{
	static const char *const actions[] = {"add", "list", "delete"};
	static const struct option longopts[] = {
	    {"mechanism", required_argument, NULL, 'm'},
	    {"iterations", required_argument, NULL, 'i'},
	    {0},
	};
	struct user_args a = {0};
	char cmd[64];
	int arc = rn__cli_action(argc, argv, "user", actions, sizeof(actions) / sizeof(actions[0]),
				 usage_text);
	if (arc >= 0)
		return arc;
	snprintf(cmd, sizeof(cmd), "runnel user %s", argv[1]);
	rn__cli_common_init(&a.common, cmd);
	a.action = argv[1];
	int rc = rn__cli_getopt(&a.common, argc - 1, argv + 1, "m:i:", longopts, usage_text,
				parse_opt, &a);
	if (rc >= 0)
		return rc;
	a.names = argv + 1 + optind;
	a.nnames = argc - 1 - optind;
	if (strcmp(a.action, "add") == 0)
		return do_add(&a);
	if (strcmp(a.action, "delete") == 0)
		return do_delete(&a);
	struct cred none[1];
	int n;
	return describe(&a, true, none, 0, &n);
}
