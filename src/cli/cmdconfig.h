/*
 * --command-config FILE, as Kafka's tools take it: a Java properties file of client settings
 * (key=value or key: value lines, '#' and '!' comments, surrounding blanks trimmed). Kafka's
 * Java names that librdkafka spells differently are translated (sasl.jaas.config into
 * sasl.username/sasl.password, PEM trust and key stores into ssl.ca.location,
 * ssl.certificate.location and ssl.key.location, ...); the rest go to librdkafka as they are.
 * Private to src/cli.
 */
#ifndef RN_CLI_CMDCONFIG_H
#define RN_CLI_CMDCONFIG_H

#include <stddef.h>

struct rn_cli_common;

/*
 * Reads path into c's file properties (c->fprops, "key=value" strings this module owns and
 * frees at exit) and, when the file sets bootstrap.servers and -b was not given, c->bootstrap.
 * Returns 0, or -1 after printing the error line.
 */
int rn__cli_command_config(struct rn_cli_common *c, const char *path);
/*
 * Translates one Java-client property into librdkafka's: calls emit(arg, key, value) for each
 * resulting property (none for settings that have no librdkafka meaning, such as
 * ssl.truststore.type=PEM). Returns 0, or -1 with why filled for a value that cannot work
 * (a JKS store, a sasl.jaas.config without username and password).
 */
int rn__cli_java_prop(const char *key, const char *val,
		      int (*emit)(void *arg, const char *key, const char *val), void *arg,
		      char *why, size_t whylen);

#endif
