#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int g_level = RN_LOG_INFO;
static _Atomic int g_fd = 2;

void rn_log_set_level(enum rn_log_level lvl)
{
	g_level = (int)lvl;
}

enum rn_log_level rn_log_get_level(void)
{
	return (enum rn_log_level)g_level;
}

void rn_log_set_fd(int fd)
{
	g_fd = fd;
}

int rn_log_parse_level(const char *s, enum rn_log_level *out)
{
	static const char *names[] = {"debug", "info", "warn", "error", "off"};
	for (int i = 0; i < 5; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum rn_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void rn_log(enum rn_log_level lvl, const char *fmt, ...)
{
	static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
	if ((int)lvl < g_level || lvl >= RN_LOG_OFF)
		return;
	char line[1024];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000, tags[lvl]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	ssize_t w = write(g_fd, line, len);
	(void)w;
}

bool rn__log_allow(_Atomic long long *last_ms, _Atomic long long *dropped, long long interval_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	long long last = atomic_load(last_ms);
	if (last && now - last < interval_ms) {
		atomic_fetch_add(dropped, 1);
		return false;
	}
	/* One thread wins the slot; the others count as suppressed. */
	if (!atomic_compare_exchange_strong(last_ms, &last, now)) {
		atomic_fetch_add(dropped, 1);
		return false;
	}
	return true;
}
