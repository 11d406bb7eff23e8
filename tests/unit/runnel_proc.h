/*
 * Starts a real `runnel serve` for unit tests of inter-broker code: the binary is RUNNEL_BIN,
 * else the runnel next to the test binary (both live in the build directory). It listens on
 * an ephemeral port on 127.0.0.1, read back from its log.
 */
#ifndef RN_TEST_RUNNEL_PROC_H
#define RN_TEST_RUNNEL_PROC_H

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct runnel_proc {
	pid_t pid;
	int port;
	char dir[PATH_MAX];
};

static inline void runnel_bin_path(char *out, size_t n)
{
	const char *env = getenv("RUNNEL_BIN");
	if (env && *env) {
		snprintf(out, n, "%s", env);
		return;
	}
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[len > 0 ? len : 0] = 0;
	snprintf(out, n, "%s/runnel", dirname(self));
}

static inline int runnel_find_port(const char *path)
{
	char buf[16384];
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *m = strstr(buf, "listening on 127.0.0.1:");
	return m ? atoi(m + strlen("listening on 127.0.0.1:")) : 0;
}

/* Starts the broker on p->dir (again, after runnel_kill). */
static inline int runnel_spawn(struct runnel_proc *p)
{
	char bin[PATH_MAX];
	runnel_bin_path(bin, sizeof(bin));
	if (access(bin, X_OK) != 0) {
		fprintf(stderr, "runnel binary not found at %s (set RUNNEL_BIN)\n", bin);
		return -1;
	}
	char logdirs[PATH_MAX + 16], errpath[PATH_MAX + 16];
	snprintf(logdirs, sizeof(logdirs), "log.dirs=%s/data", p->dir);
	snprintf(errpath, sizeof(errpath), "%s/stderr", p->dir);
	unlink(errpath); /* a restart must not read the last run's port */
	p->pid = fork();
	if (p->pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, bin, "serve", "--set", logdirs, "--set",
		      "listeners=PLAINTEXT://127.0.0.1:0", "--set", "admin.listener=127.0.0.1:0",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 3000; i++) { /* 60 s: sanitizer builds start slowly */
		p->port = runnel_find_port(errpath);
		if (p->port > 0)
			return 0;
		if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
			p->pid = -1;
			break;
		}
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "runnel serve did not start (log in %s)\n", errpath);
	return -1;
}

/* Returns 0 with p->pid and p->port set, -1 (with a line on stderr) if it did not start. */
static inline int runnel_start(struct runnel_proc *p)
{
	snprintf(p->dir, sizeof(p->dir), "/tmp/rn_proc_test.XXXXXX");
	if (!mkdtemp(p->dir))
		return -1;
	return runnel_spawn(p);
}

/* Stops the broker (SIGTERM: a clean shutdown), keeping its data. */
static inline void runnel_kill(struct runnel_proc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		waitpid(p->pid, NULL, 0);
		p->pid = -1;
	}
}

static inline void runnel_stop(struct runnel_proc *p)
{
	runnel_kill(p);
	if (getenv("RN_TEST_KEEP")) { /* debugging: keep the broker's data and log */
		fprintf(stderr, "kept %s\n", p->dir);
		return;
	}
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", p->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", p->dir);
}

#endif
