/*
 * One thread watches the files of every rn_tls_ctx. It watches DIRECTORIES, not files: a
 * Kubernetes secret is updated by writing a new timestamped directory and renaming the
 * "..data" symlink over the old one, so the certificate's own name never sees an event; the
 * directory that holds the names does. Any event in a watched directory schedules a check
 * shortly after the burst ends (a writer replacing cert and key produces several events, and
 * checking between them would warn about a half-written pair); a check stats every context's
 * files and rebuilds those whose signature changed. A periodic check covers file systems
 * where inotify is silent (NFS, some overlays).
 *
 * Lock order: life_mu (start and stop of the thread) before reg_mu (the registry); the thread
 * takes only reg_mu, and holds it while it touches a context, so removing a context under
 * reg_mu guarantees the thread is done with it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "net/tls_ctx_int.h"

/* Quiet time after the last event before checking, and the longest a burst can delay it. */
#define QUIET_MS     150
#define BURST_MAX_MS 1000
#define MAX_DIRS     256

static struct {
	pthread_mutex_t life_mu, reg_mu;
	struct rn_tls_ctx **v;
	int n, cap;
	pthread_t thr;
	bool running;
	int evfd;
	_Atomic bool stop;
} W = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, false, -1, false};

static _Atomic long interval_ms = RN_TLS_RELOAD_CHECK_MS;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake(void)
{
	uint64_t one = 1;
	if (W.evfd >= 0 && write(W.evfd, &one, sizeof(one)) < 0) {
		/* The counter is saturated: the thread is already due to wake. */
	}
}

/* A fresh inotify instance watching every directory of every context. Watches on directories
 * that went away are dropped with the old instance. */
static int arm(int old)
{
	if (old >= 0)
		close(old);
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) {
		rn_log_every(60000, RN_LOG_WARN, "tls: inotify_init1: %s; periodic checks only",
			     strerror(errno));
		return -1;
	}
	char *dirs[MAX_DIRS];
	int n = 0;
	pthread_mutex_lock(&W.reg_mu);
	for (int i = 0; i < W.n; i++)
		n = rn__tls_ctx_dirs(W.v[i], dirs, n, MAX_DIRS);
	pthread_mutex_unlock(&W.reg_mu);
	uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE |
			IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
	for (int i = 0; i < n; i++) {
		if (inotify_add_watch(fd, dirs[i], mask) < 0)
			rn_log_every(60000, RN_LOG_WARN, "tls: cannot watch %s: %s", dirs[i],
				     strerror(errno));
		rn_free(dirs[i]);
	}
	return fd;
}

/* Checks every context; true if some context tried a rebuild (its directories may differ). */
static bool check_all(void)
{
	bool tried = false;
	pthread_mutex_lock(&W.reg_mu);
	for (int i = 0; i < W.n; i++)
		tried |= rn__tls_ctx_check(W.v[i]);
	pthread_mutex_unlock(&W.reg_mu);
	return tried;
}

static void drain(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (read(fd, buf, sizeof(buf)) > 0) {
		/* Which name changed does not matter: the check compares signatures. */
	}
}

static void *watch_main(void *arg)
{
	(void)arg;
	int ino = arm(-1);
	int64_t due = -1, first = -1; /* a check is pending since first, due at due */
	int64_t next_periodic = now_ms() + atomic_load(&interval_ms);
	while (!atomic_load(&W.stop)) {
		long every = atomic_load(&interval_ms);
		int64_t now = now_ms(), until = every > 0 ? next_periodic : now + 60000;
		if (due >= 0 && due < until)
			until = due;
		struct pollfd p[2] = {{W.evfd, POLLIN, 0}, {ino, POLLIN, 0}};
		int timeout = until > now ? (int)(until - now) : 0;
		if (poll(p, ino >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
			break;
		now = now_ms();
		if (p[0].revents & POLLIN) {
			uint64_t v;
			if (read(W.evfd, &v, sizeof(v)) < 0) {
				/* Spurious: nothing to consume. */
			}
			/* The registry or a context's files changed: watch the new set, and look
			 * once, since events between the two instances are lost. */
			ino = arm(ino);
			due = now, first = now;
			next_periodic = now + atomic_load(&interval_ms);
			continue;
		}
		if (ino >= 0 && (p[1].revents & POLLIN)) {
			drain(ino);
			if (first < 0)
				first = now;
			due = now + QUIET_MS < first + BURST_MAX_MS ? now + QUIET_MS
								    : first + BURST_MAX_MS;
		}
		bool periodic = every > 0 && now >= next_periodic;
		if ((due >= 0 && now >= due) || periodic) {
			due = first = -1;
			next_periodic = now + every;
			if (check_all()) {
				/* A new instance misses what happened while it was made: look
				 * once more after arming. */
				ino = arm(ino);
				due = first = now_ms();
			}
		}
	}
	if (ino >= 0)
		close(ino);
	return NULL;
}

void rn_tls_watch_interval(long ms)
{
	atomic_store(&interval_ms, ms > 0 ? ms : 0);
	pthread_mutex_lock(&W.life_mu);
	if (W.running)
		wake();
	pthread_mutex_unlock(&W.life_mu);
}

void rn__tls_watch_add(struct rn_tls_ctx *c)
{
	pthread_mutex_lock(&W.life_mu);
	pthread_mutex_lock(&W.reg_mu);
	bool present = false;
	for (int i = 0; i < W.n; i++)
		present |= W.v[i] == c;
	if (!present) {
		if (W.n == W.cap) {
			W.cap = W.cap ? W.cap * 2 : 8;
			W.v = rn_realloc(W.v, (size_t)W.cap * sizeof(*W.v));
		}
		W.v[W.n++] = c;
	}
	pthread_mutex_unlock(&W.reg_mu);
	if (!W.running) {
		W.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		atomic_store(&W.stop, false);
		/* The thread takes no signals: serve may build listeners before it blocks
		 * SIGTERM for its own sigwait, and a SIGTERM landing here would kill the process
		 * instead of shutting it down. Created with all blocked, so it inherits that. */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		int rc = W.evfd >= 0 ? pthread_create(&W.thr, NULL, watch_main, NULL) : -1;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc == 0) {
			W.running = true;
		} else {
			rn_warn("tls: cannot start the certificate watcher: %s; files are re-read "
				"only on request",
				strerror(rc > 0 ? rc : errno));
			if (W.evfd >= 0)
				close(W.evfd);
			W.evfd = -1;
		}
	} else {
		wake();
	}
	pthread_mutex_unlock(&W.life_mu);
}

void rn__tls_watch_remove(struct rn_tls_ctx *c)
{
	pthread_mutex_lock(&W.life_mu);
	pthread_mutex_lock(&W.reg_mu);
	for (int i = 0; i < W.n; i++) {
		if (W.v[i] == c) {
			W.v[i] = W.v[--W.n];
			break;
		}
	}
	bool empty = W.n == 0;
	if (empty) {
		rn_free(W.v);
		W.v = NULL;
		W.cap = 0;
	}
	pthread_mutex_unlock(&W.reg_mu);
	if (W.running && empty) {
		atomic_store(&W.stop, true);
		wake();
		pthread_join(W.thr, NULL);
		close(W.evfd);
		W.evfd = -1;
		W.running = false;
	} else if (W.running) {
		wake();
	}
	pthread_mutex_unlock(&W.life_mu);
}

void rn__tls_watch_changed(void)
{
	pthread_mutex_lock(&W.life_mu);
	if (W.running)
		wake();
	pthread_mutex_unlock(&W.life_mu);
}
