/*
 * Fuzzes the legacy message set conversions with client bytes. The input is one Produce's
 * records: converted to v2 (must never crash; on success every batch it made must validate and
 * convert down to magic 0 and 1 and back up again without error, which is the round trip old
 * clients rely on). The input is also offered to the down-conversion as if it were a v2 batch
 * from the log. The first input byte picks the limits (max.message.bytes, LogAppendTime) and
 * whether the shallow messages' CRCs are fixed up first, so the fuzzer also gets past them.
 * Input format: flags byte + records bytes, as in the seed corpus.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "proto/legacy_records.h"
#include "proto/record_batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Converts every batch of v2[0..len) down to magic and back up; aborts on a failure. */
static void round_trip(const uint8_t *v2, size_t len, struct rn_buf *scratch)
{
	struct rn_legacy_in nolimit = {0, false};
	for (size_t off = 0; off < len;) {
		int64_t total = rn_batch_validate(v2 + off, len - off, 0, NULL);
		if (total <= 0) {
			fprintf(stderr, "converted batch does not validate (%lld)\n",
				(long long)total);
			abort();
		}
		for (int8_t magic = 0; magic <= 1; magic++) {
			struct rn_buf down = {0}, up = {0};
			int rc =
			    rn_legacy_from_v2(v2 + off, (size_t)total, magic, 0, scratch, &down);
			if (rc >= 0 && down.len > 0)
				rc = rn_legacy_to_v2(down.data, down.len, &nolimit, &up);
			/* Inflated past the bound on the way down is the one allowed failure. */
			if (rc < 0 && rc != RN_ETOOLARGE) {
				fprintf(stderr, "round trip to magic %d failed: %d\n", magic, rc);
				abort();
			}
			rn_buf_free(&down);
			rn_buf_free(&up);
		}
		off += (size_t)total;
	}
}

/* Recomputes the CRC of every shallow message that fits (zlib's crc32 over magic..end). */
static void fix_crcs(uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		size_t m = rn_legacy_msg_size(p + off, n - off);
		if (m == 0)
			return;
		rn_put_be32(p + off + 12, rn_crc32(0, p + off + 16, m - 16));
		off += m;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct rn_legacy_in opt = {(data[0] & 1) ? 256 : 1048588, (data[0] & 2) != 0};
	size_t n = size - 1;
	/* An exact-size copy, so ASan sees overreads. */
	uint8_t *in = malloc(n ? n : 1);
	memcpy(in, data + 1, n);
	if (data[0] & 4)
		fix_crcs(in, n);
	struct rn_buf out = {0}, scratch = {0};
	if (rn_legacy_to_v2(in, n, &opt, &out) == 0)
		round_trip(out.data, out.len, &scratch);
	else if (out.len != 0)
		abort(); /* a failed conversion leaves nothing behind */
	rn_buf_reset(&out);
	for (int8_t magic = 0; magic <= 1; magic++) {
		(void)rn_legacy_from_v2(in, n, magic, (int64_t)(data[0] >> 3), &scratch, &out);
		rn_buf_reset(&out);
	}
	rn_buf_free(&out);
	rn_buf_free(&scratch);
	free(in);
	return 0;
}
