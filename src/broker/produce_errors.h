/*
 * Produce v8+ per-record errors: copies what the append path noted (storage/record_errors.h)
 * into a partition response's RecordErrors and ErrorMessage. Older versions do not carry
 * them; the encoder leaves them out.
 */
#ifndef RN_BROKER_PRODUCE_ERRORS_H
#define RN_BROKER_PRODUCE_ERRORS_H

#include "broker/handler.h"
#include "proto/gen/rn_msg.h"
#include "storage/record_errors.h"

/* Fills pp->record_errors and pp->error_message from re (copied into the request's arena).
 * Without a message of its own, the partition's ErrorMessage is the first record's followed
 * by " in topic partition TOPIC-PART", as Kafka words it. Leaves them empty/null when re has
 * nothing. */
void rn__produce_fill_errors(struct rn_ctx *ctx,
			     struct rn_produce_response_partition_produce_response *pp,
			     const struct rn_record_errors *re, const char *topic, int32_t part);

/* Sets the v10 leader hints (KIP-951) to "none": a single broker is every partition's leader,
 * so they are never sent. */
void rn__produce_v10_defaults(struct rn_produce_response *resp);

#endif
