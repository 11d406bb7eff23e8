/*
 * Kafka's LogValidator refuses a record without a key on a compacted topic (INVALID_RECORD,
 * "Compacted topic cannot accept message without key in topic partition T-P"): the cleaner
 * could never tell which record supersedes it. This reads every record, decompressing
 * compressed batches, so it runs only for compacted partitions, before the append lock.
 */
#include "core/buf.h"
#include "core/err.h"
#include "proto/record_batch.h"
#include "storage/cleaner.h"

#define MAX_RECORDS_BYTES ((size_t)256 << 20)

int rn_cleaner_check_keys(const uint8_t *buf, size_t len)
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
		struct rn_record r;
		while (rc == 0 && (rc = rn_record_iter_next(&it, &r)) == 1)
			rc = r.key_len < 0 ? RN_EINVALID_RECORD : 0;
		if (rc > 0)
			rc = 0;
		off += total;
	}
	rn_buf_free(&scratch);
	return rc;
}
