/*
 * The broker's SASL server from its config: sasl.enabled.mechanisms and the PLAIN users of
 * each SASL listener (Kafka's listener.name.<listener>.<mechanism>.sasl.jaas.config and
 * listener.name.<listener>.sasl.enabled.mechanisms override the plain keys), and
 * connections.max.reauth.ms.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>

#include "auth/sasl.h"
#include "auth/sasl_client.h"
#include "broker/authz.h"
#include "broker/broker.h"
#include "broker/listeners.h"
#include "broker/sasl_serve.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/metrics.h"
#include "proto/gen/rn_msg.h"
#include "replica/peer.h"

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

/* This broker's own login on the inter-broker listener, for rn_peer_connect. */
static struct {
	char mech[32];
	char *user, *password;
} login;

#define PEER_SASL_TIMEOUT_MS 10000

static int peer_xfer(void *arg, const uint8_t *tok, size_t len, uint8_t *resp, size_t cap,
		     size_t *rlen)
{
	struct rn_peer *p = arg;
	struct rn_sasl_authenticate_request rq = {.auth_bytes = {tok, (int32_t)len}};
	void *r = NULL;
	int rc = rn_peer_roundtrip(p, 36, 1, &rq, PEER_SASL_TIMEOUT_MS, &r);
	if (rc < 0)
		return rc;
	struct rn_sasl_authenticate_response *a = r;
	if (a->error_code) {
		rn_log_every(5000, RN_LOG_WARN, "peer %s: SASL authentication failed: %.*s",
			     rn_peer_name(p), a->error_message.len > 0 ? a->error_message.len : 0,
			     a->error_message.len > 0 ? a->error_message.ptr : "");
		return -EACCES;
	}
	size_t n = a->auth_bytes.len > 0 ? (size_t)a->auth_bytes.len : 0;
	if (n > cap)
		return -EACCES;
	if (n)
		memcpy(resp, a->auth_bytes.ptr, n);
	*rlen = n;
	return 0;
}

/* rn_peer_auth_fn: SaslHandshake v1, then the exchange in SaslAuthenticate v1. */
static int peer_auth(struct rn_peer *p, void *arg)
{
	(void)arg;
	struct rn_sasl_handshake_request hs = {
	    .mechanism = {login.mech, (int32_t)strlen(login.mech)}};
	void *r = NULL;
	int rc = rn_peer_roundtrip(p, 17, 1, &hs, PEER_SASL_TIMEOUT_MS, &r);
	if (rc < 0)
		return rc;
	if (((struct rn_sasl_handshake_response *)r)->error_code) {
		rn_log_every(5000, RN_LOG_WARN, "peer %s: SASL mechanism %s refused (error %d)",
			     rn_peer_name(p), login.mech,
			     ((struct rn_sasl_handshake_response *)r)->error_code);
		return -EACCES;
	}
	char err[128];
	rc = rn_sasl_client_auth(login.mech, login.user, login.password, NULL, peer_xfer, p, err,
				 sizeof(err));
	if (rc < 0 && err[0])
		rn_log_every(5000, RN_LOG_WARN, "peer %s: SASL: %s", rn_peer_name(p), err);
	return rc;
}

/* The inter-broker listener (inter.broker.listener.name / security.inter.broker.protocol) when it
 * is SASL: sasl.mechanism.inter.broker.protocol (Kafka's default GSSAPI is not available: PLAIN
 * when unset) with the username and password options of that listener's JAAS config for the
 * mechanism. */
static int peer_login_setup(struct rn_broker *b)
{
	const struct rn_listeners *ls = b->listeners;
	if (!ls || ls->inter < 0 || ls->inter >= ls->n || !rn_secproto_sasl(ls->l[ls->inter].proto))
		return 0;
	const char *name = ls->l[ls->inter].name;
	const char *mech = rn_config_get(b->cfg, "sasl.mechanism.inter.broker.protocol");
	snprintf(login.mech, sizeof(login.mech), "%s",
		 mech && strcmp(mech, "GSSAPI") ? mech : "PLAIN");
	char suffix[64];
	size_t k = 0;
	for (; login.mech[k] && k + 1 < sizeof(suffix); k++)
		suffix[k] = (char)tolower((unsigned char)login.mech[k]);
	snprintf(suffix + k, sizeof(suffix) - k, ".sasl.jaas.config");
	const char *jaas = per_listener(b, name, suffix);
	if (!jaas || rn_sasl_jaas_login(jaas, &login.user, &login.password) < 0) {
		rn_warn("inter-broker listener %s is SASL but its %s JAAS config has no "
			"username and password: connections to other brokers will not authenticate",
			name, login.mech);
		return 0;
	}
	rn_peer_set_auth(peer_auth, NULL);
	rn_info("inter-broker connections authenticate with %s as %s", login.mech, login.user);
	return 0;
}

/* sasl.server.max.receive.size: Kafka's bound on what an unauthenticated SASL client may send
 * in one frame (default 512 KiB), so connections that never log in cannot hold big buffers. */
static size_t max_receive = 524288;

size_t rn_broker_sasl_max_frame(void *arg, void *session)
{
	(void)arg;
	const struct rn_session *s = session;
	if (!s || !rn_secproto_sasl(s->proto) || s->authenticated)
		return 0;
	return max_receive;
}

int rn_broker_sasl_start(struct rn_broker *b)
{
	const char *mr = rn_config_get(b->cfg, "sasl.server.max.receive.size");
	char *end = NULL;
	long long v = mr ? strtoll(mr, &end, 10) : 0;
	if (mr && (end == mr || *end || v < 1)) {
		rn_error("sasl.server.max.receive.size: '%s' is not a positive int", mr);
		return -1;
	}
	if (mr)
		max_receive = (size_t)v;
	b->sasl = rn_sasl_server_new(b->meta);
	rn_metrics_register(collect, b);
	rn_sasl_server_set_reauth_ms(b->sasl,
				     rn_config_get_i64(b->cfg, "connections.max.reauth.ms"));
	const struct rn_listeners *ls = b->listeners;
	for (int i = 0; ls && i < ls->n && i < RN_SASL_MAX_LISTENERS; i++) {
		char err[256];
		const char *name = ls->l[i].name;
		if (!rn_secproto_sasl(ls->l[i].proto))
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
	return peer_login_setup(b);
}

void rn_broker_sasl_stop(struct rn_broker *b)
{
	if (!b->sasl)
		return;
	rn_metrics_unregister(collect, b);
	rn_peer_set_auth(NULL, NULL);
	rn_free(login.user);
	if (login.password)
		OPENSSL_cleanse(login.password, strlen(login.password));
	rn_free(login.password);
	login.user = login.password = NULL;
	rn_sasl_server_free(b->sasl);
	b->sasl = NULL;
}
