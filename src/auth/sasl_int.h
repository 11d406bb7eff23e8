/* Shared between the files of the SASL server (sasl*.c); not for other rooms. */
#ifndef RN_AUTH_SASL_INT_H
#define RN_AUTH_SASL_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "auth/sasl.h"
#include "auth/scram_server.h"

struct rn__jaas_user {
	char *name, *password;
};

struct rn__sasl_listener {
	unsigned mechs;
	struct rn__jaas_user *users;
	int nusers;
};

struct rn__cred_ent {
	enum rn_scram_mech mech;
	char *user;
	struct rn_scram_cred cred;
};

struct rn_sasl_server {
	struct rn_meta *meta;
	uint8_t secret[32];
	int64_t reauth_ms;
	struct rn__sasl_listener listeners[RN_SASL_MAX_LISTENERS];
	pthread_mutex_t lock; /* the cache */
	uint64_t cache_gen;   /* the store generation the cache reflects */
	struct rn__cred_ent *cache;
	int ncache, capcache;
	_Atomic uint64_t ok, failed, reauth;
};

struct rn_sasl {
	unsigned mech; /* one RN_SASL_* bit */
	int hs_version;
	int state; /* RN__SASL_IDLE ... */
	struct rn_scram_server scram;
	int64_t lifetime_ms;
};
enum { RN__SASL_IDLE = 0, RN__SASL_TOKEN = 1 };

/* Credential lookup through the cache: true (and *out) if real; for an unknown user a fake
 * credential derived from the secret, false. */
bool rn__sasl_lookup(void *srv, enum rn_scram_mech m, const char *user, struct rn_scram_cred *out);
/* Creates or reads the fake-salt secret; registers the store watch. */
void rn__sasl_creds_init(struct rn_sasl_server *srv);
void rn__sasl_creds_free(struct rn_sasl_server *srv);
/* Parses JAAS text, keeping the user_<name> options of its login modules. 0 or -EINVAL. */
int rn__jaas_parse(const char *text, struct rn__jaas_user **users, int *n, char *err,
		   size_t errlen);
void rn__jaas_free(struct rn__jaas_user *users, int n);

#endif
