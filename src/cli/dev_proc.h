/*
 * Child processes of `runnel dev cluster`: start one with its output in a log file, probe
 * whether it is up (a TCP port accepts, an HTTP path answers), notice when it exits, and stop a
 * group of them in order. Private to src/cli (rn__dev_ prefix).
 *
 * The supervisor blocks SIGINT, SIGTERM and SIGCHLD (rn__dev_signals) and reads them with
 * rn__dev_wait_signal, so a signal is never lost between a check and a sleep. Children start
 * with every signal unblocked, in a process group of their own (a terminal's Ctrl-C reaches only
 * the supervisor, which stops brokers before etcd), and with SIGTERM as their parent-death
 * signal, so a supervisor killed outright does not leave them running.
 */
#ifndef RN_CLI_DEV_PROC_H
#define RN_CLI_DEV_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

struct rn_dev_child {
	char name[32];  /* "etcd", "broker 2": what lines about it call it */
	char log[4096]; /* where its stdout and stderr go (appended) */
	pid_t pid;      /* 0: not started or reaped */
	int status;     /* waitpid() status once reaped */
	bool reaped;
	bool reported; /* died on its own and said so: not counted again when stopping */
};

/* Blocks SIGINT, SIGTERM and SIGCHLD in the calling (single-threaded) process. */
void rn__dev_signals(sigset_t *set);
/*
 * Waits up to ms for one of the blocked signals; returns its number, or 0 after the timeout.
 */
int rn__dev_wait_signal(const sigset_t *set, int ms);

/*
 * Starts path with argv (NULL-terminated) as a child whose output is appended to ch->log.
 * Returns 0 with ch->pid set, or -1 (fork failed; errno set). An exec failure shows as the
 * child exiting with status 127 and a line in its log.
 */
int rn__dev_spawn(struct rn_dev_child *ch, const char *path, char *const argv[]);

/* Reaps ch if it exited (no wait); returns true once it has. */
bool rn__dev_reap(struct rn_dev_child *ch);
/* Describes how a reaped child ended ("exited with status 1", "killed by signal 9") in buf. */
const char *rn__dev_how(const struct rn_dev_child *ch, char *buf, size_t len);

/* True when 127.0.0.1:port accepts a TCP connection. */
bool rn__dev_port_open(int port);
/*
 * True when GET path on 127.0.0.1:port answers 200 with a body containing want (etcd's
 * /health answers {"health":"true"} only once it has a leader).
 */
bool rn__dev_http_has(int port, const char *path, const char *want);

/*
 * Sends SIGTERM to every live child of ch[0..n) and waits up to ms for all of them; those
 * still running then get SIGKILL (a line says so). Returns the number that did not end cleanly
 * (status 0 or death by that SIGTERM), each named in a line on stderr.
 */
int rn__dev_stop(struct rn_dev_child *ch, int n, int ms);

#endif
