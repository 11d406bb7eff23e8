/*
 * Logging: one line per notable event, to stderr by default, with a level and a timestamp.
 * Lines are written with a single write(2) so lines from different threads never interleave.
 */
#ifndef RN_CORE_LOG_H
#define RN_CORE_LOG_H

#include <stdatomic.h>
#include <stdbool.h>

enum rn_log_level { RN_LOG_DEBUG = 0, RN_LOG_INFO, RN_LOG_WARN, RN_LOG_ERROR, RN_LOG_OFF };

void rn_log_set_level(enum rn_log_level lvl);
enum rn_log_level rn_log_get_level(void);
/* Parses "debug", "info", "warn", "error", "off"; returns 0 or -EINVAL. */
int rn_log_parse_level(const char *s, enum rn_log_level *out);
/* Redirects log lines to fd (default 2). */
void rn_log_set_fd(int fd);

void rn_log(enum rn_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * At most one line per interval_ms from this call site; the lines dropped meanwhile are counted
 * into the next one. For errors a client can trigger at request rate (a full disk answers every
 * produce with an error): one line per event must not become a flood.
 */
#define rn_log_every(interval_ms, lvl, fmt, ...)                                                   \
	do {                                                                                       \
		static _Atomic long long rn__last_ms_, rn__dropped_;                               \
		if (rn__log_allow(&rn__last_ms_, &rn__dropped_, (interval_ms)))                    \
			rn_log((lvl), fmt " (%lld similar suppressed)", __VA_ARGS__,               \
			       (long long)atomic_exchange(&rn__dropped_, 0));                      \
	} while (0)
bool rn__log_allow(_Atomic long long *last_ms, _Atomic long long *dropped, long long interval_ms);

#define rn_debug(...) rn_log(RN_LOG_DEBUG, __VA_ARGS__)
#define rn_info(...)  rn_log(RN_LOG_INFO, __VA_ARGS__)
#define rn_warn(...)  rn_log(RN_LOG_WARN, __VA_ARGS__)
#define rn_error(...) rn_log(RN_LOG_ERROR, __VA_ARGS__)

#endif
