/* The broker's SASL server, made from its config at start-up (broker/sasl_serve.c). */
#ifndef RN_BROKER_SASL_SERVE_H
#define RN_BROKER_SASL_SERVE_H

struct rn_broker;

/* After the metadata store opened, before the listener: b->sasl. 0, or -1 (logged) for an
 * unusable SASL config. */
int rn_broker_sasl_start(struct rn_broker *b);
/* After the server stopped. */
void rn_broker_sasl_stop(struct rn_broker *b);

#endif
