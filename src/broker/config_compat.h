/*
 * Kafka broker keys that Runnel accepts from a server.properties without acting on them (yet),
 * and the rule that each such key warns once. Private to config.c (rn__cfg_ prefix).
 *
 * Most such keys are lines of config.c's table (no_effect). Whole families whose names Kafka
 * builds from parts, and which carry secrets (ssl.*, sasl.*, listener.name.<listener>.*, ...),
 * are matched here by prefix instead: they never reach the table, and their values (passwords,
 * JAAS configs) are never logged.
 */
#ifndef RN_BROKER_CONFIG_COMPAT_H
#define RN_BROKER_CONFIG_COMPAT_H

#include <stdbool.h>
#include <stdio.h>

/* True if key belongs to one of the accepted families; then warns once for it (no value). */
bool rn__cfg_compat_family(const char *key);
/* A family key some room reads (no "no effect" warning): *.sasl.jaas.config ... */
bool rn__cfg_family_used(const char *key);
/*
 * True the first time key is passed in this process: a no-effect key set twice (the file and
 * then --set) warns once. Thread-safe.
 */
bool rn__cfg_first_warning(const char *key);
/* Prints the accepted families for `runnel serve --list-config`. */
void rn__cfg_compat_list(FILE *f);

#endif
