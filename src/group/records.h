/*
 * The records of __consumer_offsets, in Kafka's formats (GroupMetadataManager), so the topic
 * reads the same as Kafka's:
 *
 *   offset commit   key   i16 version=1, string group, string topic, i32 partition
 *                   value i16 version=3, i64 offset, i32 leader epoch, string metadata,
 *                         i64 commit timestamp                        (null value = deleted)
 *   group metadata  key   i16 version=2, string group
 *                   value i16 version=3, string protocol type, i32 generation,
 *                         nullable string protocol, nullable string leader,
 *                         i64 state timestamp, [member id, nullable instance id, client id,
 *                         client host, i32 rebalance timeout, i32 session timeout,
 *                         bytes subscription, bytes assignment]     (null value = deleted)
 *
 * Older value versions (0-2) are read too. Strings are classic (i16 length).
 */
#ifndef RN_GROUP_RECORDS_H
#define RN_GROUP_RECORDS_H

#include <stdint.h>

#include "core/buf.h"
#include "group/group.h"

/* The __consumer_offsets partition of a group: abs(Java hashCode(group)) % n, as Kafka. */
int32_t rn_gc_partition_for(const char *group, int32_t n);

void rn_gc_key_offset(struct rn_buf *b, const char *group, const char *topic, int32_t part);
void rn_gc_value_offset(struct rn_buf *b, const struct rn_gc_offset *o);
void rn_gc_key_group(struct rn_buf *b, const char *group);
/* Encodes g's metadata as it is now (Stable or Empty views are what Kafka stores). */
void rn_gc_value_group(struct rn_buf *b, const struct rn_group *g, int64_t now);

/* Applies one record (replay). Unknown or malformed records are skipped: returns 0 if
 * applied, RN_ECORRUPT if skipped. */
int rn_gc_apply(struct rn_gc *gc, int64_t now, const uint8_t *key, int32_t klen, const uint8_t *val,
		int32_t vlen);

/* Applies one offset commit record of a transactional batch of producer pid (replay): it waits
 * in its group for pid's marker (rn_gc_txn_complete). Returns 0 or RN_ECORRUPT (skipped). */
int rn_gc_apply_txn(struct rn_gc *gc, int64_t now, int64_t pid, const uint8_t *key, int32_t klen,
		    const uint8_t *val, int32_t vlen);

/* One record to write; val NULL = tombstone. */
struct rn_gc_rec {
	const uint8_t *key;
	int32_t klen;
	const uint8_t *val;
	int32_t vlen;
};

/* Appends uncompressed v2 batches (producer id -1, timestamps ts) holding recs to out, each
 * at most max_batch bytes unless a single record is larger. */
void rn_gc_batches(struct rn_buf *out, const struct rn_gc_rec *recs, int n, int64_t ts,
		   size_t max_batch);
/* One uncompressed transactional v2 batch of producer (pid, epoch) starting at base_seq,
 * holding every record of recs (a TxnOffsetCommit's). */
void rn_gc_txn_batch(struct rn_buf *out, const struct rn_gc_rec *recs, int n, int64_t ts,
		     int64_t pid, int16_t epoch, int32_t base_seq);

#endif
