/*
 * Kafka's ssl.principal.mapping.rules: how the subject of a client certificate (RFC 2253,
 * "CN=alice,O=Runnel") becomes the name of a User principal.
 *
 *   rules := rule ("," rule)*      rule := DEFAULT | RULE:pattern/replacement/[L|U]
 *
 * Rules are tried in order; the first whose pattern matches the WHOLE subject gives the name
 * (the replacement with $1.. back references, then lower- or upper-cased with L / U); DEFAULT
 * gives the subject unchanged. No rule matching is an authentication failure, as in Kafka.
 * A '\' escapes the next character of a pattern or replacement (so "\/" is a slash).
 *
 * Kafka's patterns are Java regular expressions; here they run as POSIX extended ones, with
 * the Java shorthands \d \s \w and the reluctant quantifiers *? +? ?? accepted (the latter as
 * greedy ones: with ^...$-anchored rules, as Kafka's documentation writes them, that matters
 * only when a group could end at two different commas).
 *
 * Pure: no I/O, thread-safe once built.
 */
#ifndef RN_AUTH_PRINCIPAL_H
#define RN_AUTH_PRINCIPAL_H

#include <stddef.h>

struct rn_principal_map;

/* Parses rules (NULL or "" = "DEFAULT"). 0, or -EINVAL with a one-line reason in err. The
 * caller owns *out (rn_principal_map_free). */
int rn_principal_map_new(const char *rules, struct rn_principal_map **out, char *err,
			 size_t errlen);
void rn_principal_map_free(struct rn_principal_map *m);
/* The name for subject dn in out (truncated to len - 1 bytes). 0, or -ENOENT when no rule
 * applies. */
int rn_principal_map_apply(const struct rn_principal_map *m, const char *dn, char *out, size_t len);

#endif
