/*
 * Kafka's LogValidator refuses a record without a key on a compacted topic (INVALID_RECORD,
 * "Compacted topic cannot accept message without key in topic partition T-P"): the cleaner
 * could never tell which record supersedes it. This reads every record, decompressing
 * compressed batches, so it runs only for compacted partitions, before the append lock.
 */
#include <stdbool.h>

#include "core/buf.h"
#include "core/err.h"
#include "proto/record_batch.h"
#include "storage/cleaner.h"
#include "storage/record_errors.h"

#define MAX_RECORDS_BYTES ((size_t)256 << 20)

int rn_cleaner_check_keys(const uint8_t *buf, size_t len, struct rn_record_errors *re)
{
	struct rn_buf scratch = {0};
	int rc = 0;
	for (size_t off = 0; off < len && rc == 0;) {
		const uint8_t *b = buf + off;
		size_t total = (size_t)rn_batch_total_size(b);
		if (b[RN_BATCH_OFF_ATTRIBUTES + 1] & RN_BATCH_ATTR_CONTROL) {
			off += total;
			continue;
		}
		struct rn_record_iter it;
		rc = rn_record_iter_init_any(&it, b, total, &scratch, MAX_RECORDS_BYTES);
		/* Every keyless record of the batch is reported, as Kafka's validator does. */
		struct rn_record r;
		bool keyless = false;
		for (int32_t idx = 0; rc == 0 && (rc = rn_record_iter_next(&it, &r)) == 1; idx++) {
			rc = 0;
			if (r.key_len >= 0)
				continue;
			keyless = true;
			rn_record_errors_add(re, idx,
					     "Compacted topic cannot accept message without key");
		}
		if (rc == 0 && keyless)
			rc = RN_EBADRECORD;
		off += total;
	}
	rn_buf_free(&scratch);
	return rc;
}
