/*
 * Per-record reasons for refusing a produced batch, reported to clients in Produce v8+
 * (RecordErrors: batch index + message, and the partition's ErrorMessage), as Kafka's
 * RecordValidationException does. The validator that refuses a batch because of particular
 * records (a keyless record on a compacted topic, an out-of-range timestamp) records them here
 * before returning its error; the produce handler copies them into the response.
 *
 * Messages are not copied here: pass string literals or strings that outlive the request.
 */
#ifndef RN_STORAGE_RECORD_ERRORS_H
#define RN_STORAGE_RECORD_ERRORS_H

#include <stdint.h>

/* Kafka reports every bad record; a few are enough to tell the producer what is wrong. */
#define RN_RECORD_ERRORS_MAX 8

struct rn_record_errors {
	const char *message; /* the partition's ErrorMessage, or NULL */
	int n;               /* entries in e[] */
	struct {
		int32_t batch_index; /* the record's index in its batch (its offset delta) */
		const char *message; /* NULL = none */
	} e[RN_RECORD_ERRORS_MAX];
};

/* Notes that record batch_index was refused; beyond RN_RECORD_ERRORS_MAX entries it is only
 * counted in the partition's message. */
static inline void rn_record_errors_add(struct rn_record_errors *re, int32_t batch_index,
					const char *message)
{
	if (re->n >= RN_RECORD_ERRORS_MAX)
		return;
	re->e[re->n].batch_index = batch_index;
	re->e[re->n].message = message;
	re->n++;
}

#endif
