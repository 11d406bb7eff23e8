/* What isr.c, isr_write.c and preferred.c share (the leader side of replica/). All of it runs
 * under rp->lock. */
#ifndef RN_REPLICA_ISR_INT_H
#define RN_REPLICA_ISR_INT_H

#include "replica/isr_rules.h"
#include "replica/replica_int.h"

/* fol[] index of follower id, -1 when it is not one. */
int rn__isr_fol_index(const struct rn_replica_part *rp, int32_t id);
/* This broker leads rp in its applied state and rn__isr_become_leader ran for it. */
bool rn__isr_leading(const struct rn_replica_part *rp);
/* The ISR the HW and acks=all count (stored, plus a member being added). */
const int32_t *rn__isr_maximal(const struct rn_replica_part *rp, int *n);
/* Moves the HW to what the maximal ISR has and detaches the waits it (or the clock) completes
 * into *done, for rn__hw_wait_fire after unlocking. Returns whether the HW moved. */
bool rn__isr_advance(struct rn_replica_part *rp, int64_t now_ms, struct rn_hw_wait **done);
/* Records rp->st's ISR as seen (and its partition epoch as synced). count: a change from the
 * ISR seen before, made by someone else (the controller removing a dead broker, a
 * reassignment), counts in IsrShrinks / IsrExpands, as Kafka's documentation describes those
 * meters (a broker going down shrinks ISRs); the leader's own writes count in isr_write.c. */
void rn__isr_seen(struct rn_replica_part *rp, bool count);
/* hooks.advanced for rp: parked fetches look again (consumers see records below the HW). */
void rn__isr_advanced(struct rn_replica_part *rp);

#endif
