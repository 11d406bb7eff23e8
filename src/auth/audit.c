/*
 * The audit log (acl.h): denials and security changes, one line each, in the broker's log with a
 * fixed "audit:" prefix (so one grep finds them) and, when authorizer.audit.log.file is set, in
 * that file too with its own UTC timestamp, for shipping apart from the operational log.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/acl.h"
#include "core/log.h"

static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
static int audit_fd = -1;

int rn_audit_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&audit_lock);
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = fd;
	pthread_mutex_unlock(&audit_lock);
	return 0;
}

void rn_audit_close(void)
{
	pthread_mutex_lock(&audit_lock);
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = -1;
	pthread_mutex_unlock(&audit_lock);
}

#define S(x) ((x) && *(x) ? (x) : "-")

void rn_audit(const char *principal, const char *client, const char *operation,
	      const char *resource, const char *result)
{
	rn_info("audit: principal=%s client=%s operation=%s resource=%s result=%s", S(principal),
		S(client), S(operation), S(resource), S(result));
	pthread_mutex_lock(&audit_lock);
	if (audit_fd >= 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		char line[2048];
		int n = snprintf(line, sizeof(line),
				 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ principal=%s client=%s "
				 "operation=%s resource=%s result=%s\n",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, S(principal),
				 S(client), S(operation), S(resource), S(result));
		if (n >= (int)sizeof(line)) {
			n = (int)sizeof(line) - 1;
			line[n - 1] = '\n';
		}
		/* One write per line keeps lines whole; a full disk loses audit lines, not
		 * requests. */
		if (write(audit_fd, line, (size_t)n) < 0)
			rn_log_every(10000, RN_LOG_WARN, "audit log write failed: %s",
				     strerror(errno));
	}
	pthread_mutex_unlock(&audit_lock);
}
