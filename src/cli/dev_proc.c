/* Child processes of `runnel dev cluster`: spawn with a log file, probe, reap, stop. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/dev_proc.h"
#include "core/clock.h"

void rn__dev_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGCHLD);
	sigprocmask(SIG_BLOCK, set, NULL);
}

int rn__dev_wait_signal(const sigset_t *set, int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	siginfo_t si;
	int sig = sigtimedwait(set, &si, &ts);
	return sig < 0 ? 0 : sig;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_exec(const struct rn_dev_child *ch, const char *path, char *const argv[],
		       pid_t parent)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent) /* the supervisor died before prctl took effect */
		_exit(1);
	int fd = open(ch->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || in < 0)
		_exit(126);
	dup2(in, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	execv(path, argv);
	static const char msg[] = "runnel dev cluster: exec failed\n";
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(127);
	_exit(127);
}

int rn__dev_spawn(struct rn_dev_child *ch, const char *path, char *const argv[])
{
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		child_exec(ch, path, argv, parent);
	ch->pid = pid;
	ch->reaped = false;
	ch->status = 0;
	return 0;
}

bool rn__dev_reap(struct rn_dev_child *ch)
{
	if (ch->reaped || ch->pid <= 0)
		return true;
	int st;
	pid_t r = waitpid(ch->pid, &st, WNOHANG);
	if (r == ch->pid || (r < 0 && errno == ECHILD)) {
		ch->status = r == ch->pid ? st : 0;
		ch->reaped = true;
	}
	return ch->reaped;
}

const char *rn__dev_how(const struct rn_dev_child *ch, char *buf, size_t len)
{
	if (WIFSIGNALED(ch->status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(ch->status));
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(ch->status));
	return buf;
}

/* A blocking loopback connection with send/receive bounded by 1 s; -1 if refused. */
static int connect_local(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = 1};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

bool rn__dev_port_open(int port)
{
	int fd = connect_local(port);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

bool rn__dev_http_has(int port, const char *path, const char *want)
{
	int fd = connect_local(port);
	if (fd < 0)
		return false;
	char req[512], resp[4096];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	size_t got = 0;
	if (write(fd, req, (size_t)n) == n) {
		ssize_t r;
		while (got < sizeof(resp) - 1 &&
		       (r = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
			got += (size_t)r;
	}
	close(fd);
	resp[got] = 0;
	return strncmp(resp, "HTTP/1.", 7) == 0 && strstr(resp, " 200 ") && strstr(resp, want);
}

/* Exit status 0, or death by the SIGTERM we sent (etcd re-raises it after its clean-up). */
static bool clean_exit(int status)
{
	return (WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
	       (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

int rn__dev_stop(struct rn_dev_child *ch, int n, int ms)
{
	for (int i = 0; i < n; i++)
		if (!rn__dev_reap(&ch[i]))
			kill(ch[i].pid, SIGTERM);
	int64_t deadline = rn_mono_ms() + ms;
	bool all = false;
	while (!all && rn_mono_ms() < deadline) {
		all = true;
		for (int i = 0; i < n; i++)
			all = rn__dev_reap(&ch[i]) && all;
		if (!all)
			usleep(20 * 1000);
	}
	int bad = 0;
	for (int i = 0; i < n; i++) {
		if (!rn__dev_reap(&ch[i])) {
			fprintf(stderr,
				"runnel dev cluster: %s (pid %d) still running after %d ms, "
				"sending SIGKILL\n",
				ch[i].name, (int)ch[i].pid, ms);
			kill(ch[i].pid, SIGKILL);
			waitpid(ch[i].pid, &ch[i].status, 0);
			ch[i].reaped = true;
			bad++;
		} else if (!ch[i].reported && !clean_exit(ch[i].status)) {
			char how[64];
			fprintf(stderr, "runnel dev cluster: %s (pid %d) %s\n", ch[i].name,
				(int)ch[i].pid, rn__dev_how(&ch[i], how, sizeof(how)));
			bad++;
		}
	}
	return bad;
}
