/*
 * The broker's doors into auth/: the session of each connection, and the one authorization
 * question a handler asks per resource of its request.
 */
#ifndef RN_BROKER_AUTHZ_H
#define RN_BROKER_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/acl.h"
#include "auth/session.h"

struct rn_ctx;

/* The server's on_open / on_close hooks (net/server.h): arg is the broker. The session is
 * owned by the connection. */
void *rn_broker_session_open(void *arg, int listener, const char *peer);
void rn_broker_session_close(void *arg, void *session);

/* The request's session; never NULL (requests from tests without a server get a static
 * anonymous PLAINTEXT one). */
struct rn_session *rn_ctx_session(struct rn_ctx *ctx);

/* May the request's principal do op on (type, name[0..len))? Denials are written to the audit
 * log. True without an authorizer. */
bool rn_allowed(struct rn_ctx *ctx, enum rn_acl_op op, enum rn_res_type type, const char *name,
		size_t len);

/* rn_allowed without the audit line, where Kafka passes logIfDenied=false (listing every topic
 * filters silently). */
bool rn_allowed_quiet(struct rn_ctx *ctx, enum rn_acl_op op, enum rn_res_type type,
		      const char *name, size_t len);
/* May the principal do op on some resource of the type (rn_authorize_any)? Audited. */
bool rn_allowed_any(struct rn_ctx *ctx, enum rn_acl_op op, enum rn_res_type type);
/* The authorized-operations bit set of a resource for the request's principal (every
 * operation the type supports without an authorizer). */
int32_t rn_ctx_ops(struct rn_ctx *ctx, enum rn_res_type type, const char *name, size_t len);
/* rn_allowed for a wire string (len < 0: null, an empty name). */
static inline bool rn_allowed_view(struct rn_ctx *ctx, enum rn_acl_op op, enum rn_res_type type,
				   const char *name, int32_t len)
{
	return rn_allowed(ctx, op, type, name, len > 0 ? (size_t)len : 0);
}
/* rn_allowed on the cluster resource. */
bool rn_allowed_cluster(struct rn_ctx *ctx, enum rn_acl_op op);

/* Starts the broker's authorizer from authorizer.class.name, super.users and
 * allow.everyone.if.no.acl.found, following the store's ACLs; leaves b->authorizer NULL when
 * the class name is empty. -EINVAL (logged) for an unknown class. */
struct rn_broker;
int rn_broker_authorizer_start(struct rn_broker *b);
void rn_broker_authorizer_stop(struct rn_broker *b);

#endif
