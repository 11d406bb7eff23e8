/* Entry point of every request: header, version checks, metrics, then the API's handler. */
#ifndef RN_BROKER_DISPATCH_H
#define RN_BROKER_DISPATCH_H

#include "net/server.h"

/* The server's rn_request_cb; arg is the struct rn_broker. */
void rn_dispatch(struct rn_req *req, void *arg);

#endif
