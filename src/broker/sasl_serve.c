/*
 * The broker's SASL server from its config: sasl.enabled.mechanisms and the PLAIN users of
 * each SASL listener (Kafka's listener.name.<listener>.<mechanism>.sasl.jaas.config and
 * listener.name.<listener>.sasl.enabled.mechanisms override the plain keys), and
 * connections.max.reauth.ms.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "auth/sasl.h"
#include "broker/authz.h"
#include "broker/broker.h"
#include "broker/sasl_serve.h"
#include "core/log.h"
#include "core/metrics.h"

/* listener.name.<lower-case name>.<suffix>, else suffix. */
static const char *per_listener(const struct rn_broker *b, const char *name, const char *suffix)
{
	char key[256], lower[64];
	size_t i = 0;
	for (; name[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	lower[i] = 0;
	snprintf(key, sizeof(key), "listener.name.%s.%s", lower, suffix);
	const char *v = rn_config_get(b->cfg, key);
	if (v)
		return v;
	const char *dot = strchr(suffix, '.');
	/* "plain.sasl.jaas.config" falls back to "sasl.jaas.config". */
	if (dot && strncmp(suffix, "sasl.", 5) != 0)
		return rn_config_get(b->cfg, dot + 1);
	return rn_config_get(b->cfg, suffix);
}

/* Kafka's socket-server-metrics authentication counters, as the JMX exporter names them. */
static void collect(struct rn_buf *out, void *arg)
{
	struct rn_broker *b = arg;
	uint64_t ok, failed, reauth;
	rn_sasl_server_stats(b->sasl, &ok, &failed, &reauth);
	static const char *const names[] = {"successful_authentication", "failed_authentication",
					    "successful_reauthentication"};
	static const char *const help[] = {"SASL authentications that succeeded",
					   "SASL authentications that failed",
					   "SASL re-authentications that succeeded"};
	uint64_t v[] = {ok, failed, reauth};
	for (int i = 0; i < 3; i++)
		rn_buf_printf(out,
			      "# HELP kafka_server_socket_server_metrics_%s_total %s.\n"
			      "# TYPE kafka_server_socket_server_metrics_%s_total counter\n"
			      "kafka_server_socket_server_metrics_%s_total %llu\n",
			      names[i], help[i], names[i], names[i], (unsigned long long)v[i]);
}

int rn_broker_sasl_start(struct rn_broker *b)
{
	b->sasl = rn_sasl_server_new(b->meta);
	rn_metrics_register(collect, b);
	rn_sasl_server_set_reauth_ms(b->sasl,
				     rn_config_get_i64(b->cfg, "connections.max.reauth.ms"));
	const char *l = rn_config_get(b->cfg, "listeners");
	int n = 1;
	for (const char *p = l; p && *p; p++)
		n += *p == ',';
	for (int i = 0; i < n && i < RN_SASL_MAX_LISTENERS; i++) {
		char name[64], err[256];
		if (!rn_secproto_sasl(rn_broker_listener_proto(b, i, name, sizeof(name))))
			continue;
		const char *mechs = per_listener(b, name, "sasl.enabled.mechanisms");
		const char *jaas = per_listener(b, name, "plain.sasl.jaas.config");
		if (rn_sasl_server_listener(b->sasl, i, mechs, jaas, err, sizeof(err)) < 0) {
			rn_error("listener %s: %s", name, err);
			return -1;
		}
		const char *names[8];
		int k = rn_sasl_mechanisms(b->sasl, i, names, 8);
		char list[128] = "";
		for (int j = 0; j < k; j++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 j ? "," : "", names[j]);
		rn_info("listener %s: SASL mechanisms %s%s", name, list,
			jaas ? ", PLAIN users from JAAS config and SCRAM credentials"
			     : ", PLAIN checked against SCRAM credentials");
	}
	return 0;
}

void rn_broker_sasl_stop(struct rn_broker *b)
{
	if (!b->sasl)
		return;
	rn_metrics_unregister(collect, b);
	rn_sasl_server_free(b->sasl);
	b->sasl = NULL;
}
