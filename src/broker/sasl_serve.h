/* The broker's SASL server, made from its config at start-up (broker/sasl_serve.c). */
#ifndef RN_BROKER_SASL_SERVE_H
#define RN_BROKER_SASL_SERVE_H

#include <stddef.h>

struct rn_broker;

/* After the metadata store opened, before the listener: b->sasl. 0, or -1 (logged) for an
 * unusable SASL config. */
int rn_broker_sasl_start(struct rn_broker *b);
/* The server's max_frame hook (net/server.h): sasl.server.max.receive.size for a SASL
 * session not authenticated yet, else 0 (no extra limit). */
size_t rn_broker_sasl_max_frame(void *arg, void *session);
/* After the server stopped. */
void rn_broker_sasl_stop(struct rn_broker *b);

#endif
