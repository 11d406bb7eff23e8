/* Accepted-but-inactive Kafka key families, and warn-once bookkeeping (see config_compat.h). */
#include "broker/config_compat.h"

#include <pthread.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"

/*
 * Families of keys Kafka derives from a prefix. Security (TLS, SASL, per-listener overrides,
 * delegation tokens, the password encoder of dynamic configs, ZooKeeper's TLS) is the later
 * work these files are written for; until then a file that sets them still loads.
 */
static const char *const families[] = {
    "ssl.", "sasl.", "listener.name.", "delegation.token.", "password.encoder.", "zookeeper.ssl.",
};

#define NFAMILIES (sizeof(families) / sizeof(families[0]))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char **seen;
static size_t nseen;

bool rn__cfg_first_warning(const char *key)
{
	bool first = true;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nseen && first; i++)
		first = strcmp(seen[i], key) != 0;
	if (first) {
		/* Kept for the life of the process: a few dozen short names at most. */
		seen = rn_realloc(seen, (nseen + 1) * sizeof(*seen));
		seen[nseen++] = rn_strdup(key);
	}
	pthread_mutex_unlock(&lock);
	return first;
}

/* TLS keys are read by broker/listeners.c (their values are kept by config.c). */
static bool family_used(const char *f)
{
	return !strcmp(f, "ssl.") || !strcmp(f, "listener.name.");
}

/* Family keys a room reads (through rn_config_get): no "no effect" warning for them. */
bool rn__cfg_family_used(const char *key)
{
	static const char *const used[] = {"sasl.jaas.config", "sasl.enabled.mechanisms",
					   "sasl.mechanism.inter.broker.protocol",
					   "sasl.server.max.receive.size"};
	size_t kl = strlen(key);
	for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
		size_t n = strlen(used[i]);
		if (kl >= n && strcmp(key + kl - n, used[i]) == 0 &&
		    (kl == n || key[kl - n - 1] == '.'))
			return true;
	}
	return false;
}

bool rn__cfg_compat_family(const char *key)
{
	for (size_t i = 0; i < NFAMILIES; i++) {
		size_t n = strlen(families[i]);
		if (strncmp(key, families[i], n) != 0 || !key[n])
			continue;
		if (family_used(families[i]) || rn__cfg_family_used(key))
			return true;
		if (rn__cfg_first_warning(key))
			rn_warn("config %s accepted for compatibility; it has no effect in runnel "
				"(not implemented yet; value not logged)",
				key);
		return true;
	}
	return false;
}

void rn__cfg_compat_list(FILE *f)
{
	for (size_t i = 0; i < NFAMILIES; i++)
		fprintf(f, "%-45s %s\n", families[i],
			family_used(families[i])
			    ? "(any key with this prefix: read by the listeners that use it)"
			    : "(any key with this prefix: accepted, no effect)");
	/* The keys of those families that SASL reads, although their family has no effect. */
	static const char *const sasl_keys[] = {"sasl.jaas.config",
						"sasl.mechanism.inter.broker.protocol",
						"sasl.server.max.receive.size"};
	for (size_t i = 0; i < sizeof(sasl_keys) / sizeof(sasl_keys[0]); i++)
		fprintf(f, "%-45s %s\n", sasl_keys[i],
			"(read by SASL listeners; listener.name.<l>. overrides it)");
}
