/*
 * The consumer group coordinator as a pure state machine: no threads, no clocks, no I/O. Every
 * entry point takes `now` (wall milliseconds). A JoinGroup/SyncGroup carries its own
 * completion (a callback and its argument, passed in by the caller and kept with the parked
 * request), called exactly once, now or later; a group whose durable view changed is handed to
 * the group_stored hook. The coordinator never knows who is waiting. rn_gc_tick
 * fires the timers (session, rebalance, initial delay, pending sync) and returns the next
 * deadline; the broker glue (broker/groups.c) runs it from a thread under one mutex, tests run
 * it with a fake clock.
 *
 *   Empty --join--> PreparingRebalance --all joined / rebalance timeout--> CompletingRebalance
 *     ^                  ^    |                                               | leader SyncGroup
 *     |                  |    +--no member left--> Empty                      v
 *     +--last leaves-----+------------ join / leave / session expiry ------ Stable
 *
 * Committed offsets live in the same groups (offsets.c); a group with offsets and no members
 * is Empty, as in Kafka. Dead groups are removed from the table at once.
 *
 * Ownership: the coordinator copies every string and blob it keeps. Pointers in hook results
 * are valid only during the hook call.
 */
#ifndef RN_GROUP_GROUP_H
#define RN_GROUP_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum rn_group_state {
	RN_GROUP_EMPTY,
	RN_GROUP_PREPARING_REBALANCE,
	RN_GROUP_COMPLETING_REBALANCE,
	RN_GROUP_STABLE,
	RN_GROUP_DEAD,
};

/* Kafka's names ("Empty", "PreparingRebalance", ...), as DescribeGroups/ListGroups show them. */
const char *rn_group_state_name(enum rn_group_state s);

struct rn_gc_protocol {
	char *name;
	uint8_t *meta;
	int32_t meta_len;
};

struct rn_gc_join_result;
struct rn_gc_sync_result;

/* Completions of JoinGroup/SyncGroup, called once with the coordinator's result. The result
 * and everything it points to are valid only during the call: copy what you keep. */
typedef void (*rn_gc_join_done_fn)(void *arg, const struct rn_gc_join_result *r);
typedef void (*rn_gc_sync_done_fn)(void *arg, const struct rn_gc_sync_result *r);

/* A completion and its argument; fn == NULL: nobody is waiting. */
struct rn_gc_join_wait {
	rn_gc_join_done_fn fn;
	void *arg;
};

struct rn_gc_sync_wait {
	rn_gc_sync_done_fn fn;
	void *arg;
};

struct rn_gc_member {
	char *id;
	char *instance_id; /* NULL = dynamic member */
	char *client_id;
	char *client_host;
	int32_t session_ms;
	int32_t rebalance_ms;
	struct rn_gc_protocol *protos;
	int nprotos;
	uint8_t *assignment;
	int32_t assignment_len;
	struct rn_gc_join_wait join_wait; /* a parked JoinGroup (fn NULL if none) */
	struct rn_gc_sync_wait sync_wait; /* a parked SyncGroup (fn NULL if none) */
	int64_t deadline;                 /* session expiry */
	bool is_new; /* joined during the current rebalance (not yet in a generation) */
	struct rn_gc_member *next;
};

/* A partition without a commit. Every other value, negative ones included, is a commit. */
#define RN_GC_NO_OFFSET INT64_MIN

struct rn_gc_offset {
	int64_t offset; /* RN_GC_NO_OFFSET = no commit for this partition */
	int32_t leader_epoch;
	char *metadata;
	int64_t commit_ts;
	int64_t expire_ts; /* -1 = by offsets.retention.minutes */
};

/* The committed offsets of one topic, indexed by partition. */
struct rn_gc_topic {
	char *name;
	struct rn_gc_offset *parts;
	int32_t nparts;
	struct rn_gc_topic *next;
};

struct rn_gc_pending {
	char *id;
	int64_t deadline;
};

/* A transactional offset commit (TxnOffsetCommit in a cluster, Kafka's
 * pendingTransactionalOffsetCommits): in the log, applied when its producer's marker comes. */
struct rn_gc_txn_offset {
	int64_t pid;
	char *topic;
	int32_t part;
	struct rn_gc_offset o;
};

struct rn_group {
	char *id;
	enum rn_group_state state;
	int32_t generation;
	char *protocol_type; /* NULL until a member joined (simple-commit groups keep NULL) */
	char *protocol_name; /* NULL unless a generation is running */
	char *leader_id;     /* NULL when no members */
	struct rn_gc_member *members; /* in join order; the first one leads a new group */
	int nmembers;
	struct rn_gc_pending *pending; /* ids handed out with MEMBER_ID_REQUIRED */
	int npending;
	int64_t state_ts;       /* when the state last changed (offset expiry of Empty groups) */
	int64_t join_deadline;  /* PreparingRebalance: complete the join by then */
	int64_t delay_deadline; /* initial delay: check again then (-1 = not delaying) */
	int64_t delay_left;     /* initial delay: rebalance time still available */
	bool new_member_added;
	int64_t sync_deadline;        /* CompletingRebalance: the leader must sync by then */
	struct rn_gc_topic *topics;   /* committed offsets */
	int32_t noffsets;             /* partitions with a commit */
	bool has_stored;              /* a metadata record exists (written or replayed) */
	struct rn_gc_txn_offset *txn; /* awaiting their markers */
	int ntxn, txncap;
	struct rn_group *hnext;
};

struct rn_gc_join_member {
	const char *id;
	const char *instance_id;
	const uint8_t *meta;
	int32_t meta_len;
};

struct rn_gc_join_result {
	int16_t error;
	int32_t generation;
	const char *protocol_type;
	const char *protocol_name;
	const char *leader;
	const char *member_id;
	const struct rn_gc_join_member *members; /* the leader's response only */
	int nmembers;
};

struct rn_gc_sync_result {
	int16_t error;
	const char *protocol_type;
	const char *protocol_name;
	const uint8_t *assignment;
	int32_t assignment_len;
};

struct rn_gc_hooks {
	/* The durable view of g changed (generation completed, became Empty, static member
	 * replaced): write its group metadata record. Called before the responses that depend
	 * on it. May be NULL. */
	void (*group_stored)(void *arg, struct rn_group *g);
	void *arg;
};

struct rn_gc_config {
	int64_t initial_delay_ms;     /* group.initial.rebalance.delay.ms (3000) */
	int32_t min_session_ms;       /* group.min.session.timeout.ms (6000) */
	int32_t max_session_ms;       /* group.max.session.timeout.ms (1800000) */
	int32_t max_size;             /* group.max.size */
	int64_t offsets_retention_ms; /* offsets.retention.minutes * 60000 */
	int32_t metadata_max_bytes;   /* offset.metadata.max.bytes (4096) */
};

void rn_gc_config_default(struct rn_gc_config *c);

struct rn_gc;

/* Creates a coordinator; the caller owns it (rn_gc_free). hooks are copied. */
struct rn_gc *rn_gc_new(const struct rn_gc_config *cfg, const struct rn_gc_hooks *hooks);
void rn_gc_free(struct rn_gc *gc);

/* Lookup and iteration. Returned groups belong to gc and live until the next call that may
 * delete groups (tick, leave, delete, expire). */
struct rn_group *rn_gc_group(struct rn_gc *gc, const char *id);
/* Finds or creates an Empty group (replay, simple commits). */
struct rn_group *rn_gc_group_get_or_create(struct rn_gc *gc, const char *id, int64_t now);
void rn_gc_foreach(struct rn_gc *gc, void (*cb)(struct rn_group *g, void *arg), void *arg);
int rn_gc_ngroups(const struct rn_gc *gc);
/* Removes g from the table and frees it (no hooks). */
void rn_gc_group_remove(struct rn_gc *gc, struct rn_group *g);
/* Moves every group of src into dst (a partition loaded into a scratch coordinator without
 * the lock, then adopted under it), replacing dst's group of the same id; src is left empty.
 * Returns the number moved. */
int rn_gc_adopt(struct rn_gc *dst, struct rn_gc *src);

/* The member with this id, or NULL. */
struct rn_gc_member *rn_gc_member_find(struct rn_group *g, const char *id);

struct rn_gc_protocol_view {
	const char *name;
	const uint8_t *meta;
	int32_t meta_len;
};

struct rn_gc_join_req {
	const char *group;
	const char *member_id;   /* "" = new member */
	const char *instance_id; /* NULL = dynamic */
	const char *client_id;
	const char *client_host;
	const char *protocol_type;
	int32_t session_ms;
	int32_t rebalance_ms;
	const struct rn_gc_protocol_view *protos;
	int nprotos;
	bool require_known_id; /* JoinGroup v4+: answer a new dynamic member MEMBER_ID_REQUIRED */
	struct rn_gc_join_wait done; /* required (fn not NULL) */
};

/* JoinGroup. Completes now or later through rq->done, exactly once. */
void rn_gc_join(struct rn_gc *gc, int64_t now, const struct rn_gc_join_req *rq);

struct rn_gc_assignment {
	const char *member_id;
	const uint8_t *data;
	int32_t len;
};

struct rn_gc_sync_req {
	const char *group;
	const char *member_id;
	const char *instance_id;
	int32_t generation;
	const char *protocol_type; /* NULL = not sent (v<5) */
	const char *protocol_name;
	const struct rn_gc_assignment *assignments;
	int nassignments;
	struct rn_gc_sync_wait done; /* required (fn not NULL) */
};

/* SyncGroup. Completes now or later through rq->done, exactly once. */
void rn_gc_sync(struct rn_gc *gc, int64_t now, const struct rn_gc_sync_req *rq);

/* Heartbeat. Returns the Kafka error code. */
int16_t rn_gc_heartbeat(struct rn_gc *gc, int64_t now, const char *group, const char *member_id,
			const char *instance_id, int32_t generation);

/* LeaveGroup for one member (member_id "" with an instance id: the static member). */
int16_t rn_gc_leave(struct rn_gc *gc, int64_t now, const char *group, const char *member_id,
		    const char *instance_id);

/* Fires due timers. Returns the next deadline (INT64_MAX if none). */
int64_t rn_gc_tick(struct rn_gc *gc, int64_t now);

/* Completes every parked request with err (shutdown: NOT_COORDINATOR). */
void rn_gc_abort_all(struct rn_gc *gc, int16_t err);
/* The same for g's parked requests only (its partition moved to another coordinator). */
void rn_gc_abort_group(struct rn_gc *gc, struct rn_group *g, int16_t err);

/* OffsetCommit admission (Kafka's doCommitOffsets checks). *created is set when a simple
 * commit (generation < 0, no group yet) created the group. Returns the error for every
 * partition of the request, NONE if the commit may proceed. */
int16_t rn_gc_commit_check(struct rn_gc *gc, int64_t now, const char *group, int32_t generation,
			   const char *member_id, const char *instance_id, struct rn_group **out);

/* Committed offsets (offsets.c). */
const struct rn_gc_offset *rn_gc_offset_get(struct rn_group *g, const char *topic, int32_t part);
/* Sets (copying metadata) or, with o == NULL, deletes one committed offset. */
void rn_gc_offset_set(struct rn_group *g, const char *topic, int32_t part,
		      const struct rn_gc_offset *o);
/* Calls cb for each committed offset of g. */
void rn_gc_offsets_foreach(struct rn_group *g,
			   void (*cb)(struct rn_group *g, const char *topic, int32_t part,
				      const struct rn_gc_offset *o, void *arg),
			   void *arg);
/* Offsets expired at now (Kafka's rules: an Empty consumer group counts from when it became
 * Empty, a group without protocol from the commit time; an explicit expire timestamp wins):
 * cb is called for each before it is deleted. Returns how many expired. */
int rn_gc_offsets_expire(struct rn_gc *gc, struct rn_group *g, int64_t now,
			 void (*cb)(struct rn_group *g, const char *topic, int32_t part, void *arg),
			 void *arg);

/* Deletes every committed offset of topic in g (the topic was deleted); cb is called for each
 * before. Returns how many there were. */
int rn_gc_offsets_drop_topic(struct rn_group *g, const char *topic,
			     void (*cb)(struct rn_group *g, const char *topic, int32_t part,
					void *arg),
			     void *arg);

/* Transactional offset commits (offsets.c). Adds (or replaces pid's earlier commit of the same
 * partition), copying. */
void rn_gc_txn_offset_add(struct rn_group *g, int64_t pid, const char *topic, int32_t part,
			  const struct rn_gc_offset *o);
/* pid's marker: its commits in g become committed offsets (commit) or are dropped. Returns how
 * many there were. */
int rn_gc_txn_complete(struct rn_group *g, int64_t pid, bool commit);

/* True if a member of the group's current protocol subscribes to topic (ConsumerProtocol
 * subscription blobs); OffsetDelete refuses those partitions. */
bool rn_gc_subscribed(struct rn_group *g, const char *topic);

/* Loads a group from its stored metadata (replay): members become live with a fresh session.
 * Replaces an existing group's membership; keeps its offsets. */
struct rn_group *rn_gc_group_load(struct rn_gc *gc, int64_t now, const char *id,
				  const char *protocol_type, int32_t generation,
				  const char *protocol_name, const char *leader,
				  struct rn_gc_member *members);

#endif
