/*
 * A scratch directory for certificates a TLS test makes with the openssl CLI: tests set `dir`
 * (mkdtemp) in their setup, run commands in it with sh(), and name its files with path().
 * Header-only, static: each test binary includes it once.
 */
#ifndef RN_TESTS_CERT_DIR_H
#define RN_TESTS_CERT_DIR_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static char dir[256];

/* Runs the printf-formatted shell command in dir, output discarded; fails the test if it
 * fails. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	char full[4400];
	snprintf(full, sizeof(full), "cd %s && (%s) >/dev/null 2>&1", dir, cmd);
	assert_int_equal(system(full), 0);
}

/* dir/name, in one of 8 rotating static buffers (enough for one call's arguments). */
static char *path(const char *name)
{
	static char bufs[8][512];
	static int k;
	char *b = bufs[k++ % 8];
	snprintf(b, 512, "%s/%s", dir, name);
	return b;
}

#endif
