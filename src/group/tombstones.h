/*
 * Where __consumer_offsets gets tombstones, as Kafka's GroupMetadataManager writes them
 * (cleanupGroupMetadata): one per committed offset that goes (expiry, OffsetDelete,
 * DeleteGroups, a deleted topic), and one for the group's metadata when the group dies, that
 * is when it is Empty and has no offsets left. Kafka skips the group tombstone for a group
 * whose generation is still 0 (it only ever stored offsets, so it has no metadata record);
 * so do we, unless a metadata record was stored anyway. The topic is compacted, so these
 * tombstones are what bounds it: a key without one stays in the log for ever.
 *
 * The functions only build records; the caller writes them (rn_groups_write) and then changes
 * the coordinator (rn_gc_offset_set / rn_gc_group_remove), except rn_gc_expire_tombstones,
 * which removes the expired offsets as it goes (as Kafka does; a lost tombstone only means the
 * offset comes back at the next start and expires again).
 */
#ifndef RN_GROUP_TOMBSTONES_H
#define RN_GROUP_TOMBSTONES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "group/group.h"
#include "group/records.h"

/* Records to write: keys and values copied, back to back, into one buffer. */
struct rn_gc_recs {
	struct rn_buf data;
	struct rn_gc_recs_ent {
		size_t koff, voff;
		int32_t klen, vlen; /* vlen -1: tombstone */
	} * v;
	int n, cap;
};

/* Appends a record (val NULL: a tombstone), copying key and val. */
void rn_gc_recs_add(struct rn_gc_recs *r, const struct rn_buf *key, const struct rn_buf *val);
/* The records as views into r, valid until r changes; the caller frees the array (rn_free).
 * NULL when r is empty. */
struct rn_gc_rec *rn_gc_recs_view(const struct rn_gc_recs *r);
void rn_gc_recs_free(struct rn_gc_recs *r);

/* Tombstone of one committed offset of g. */
void rn_gc_tombstone_offset(const struct rn_group *g, const char *topic, int32_t part,
			    struct rn_gc_recs *out);
/* Tombstones of every committed offset of g (DeleteGroups). */
void rn_gc_tombstone_offsets(struct rn_group *g, struct rn_gc_recs *out);
/* g is Dead once its offsets are gone: Empty, no offsets, no pending member ids. */
bool rn_gc_group_dead(const struct rn_group *g);
/* The group metadata tombstone of g, if g has (or may have) a metadata record: generation > 0
 * or one was stored. Returns true if one was added. */
bool rn_gc_tombstone_group(const struct rn_group *g, struct rn_gc_recs *out);
/* Offset expiry at now (rn_gc_offsets_expire's rules): removes the expired offsets of g and
 * adds their tombstones. Returns how many expired. */
int rn_gc_expire_tombstones(struct rn_gc *gc, struct rn_group *g, int64_t now,
			    struct rn_gc_recs *out);

#endif
