/*
 * What the controller's files share (controller.c, election_run.c, shutdown.c, reassign.c):
 * the live broker list and one "decide, then compare-and-set, re-decide on a lost race" loop.
 */
#ifndef RN_REPLICA_CONTROLLER_INT_H
#define RN_REPLICA_CONTROLLER_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "meta/cluster.h"
#include "replica/controller.h"

/* Attempts of one decision against the store before giving up (each lost CAS re-reads). */
#define RN__CTL_RETRIES 5

/* The ids of the live brokers, ascending, into *ids (caller frees with rn_free; NULL when
 * none); returns their count. */
int rn__ctl_live(struct rn_meta *m, int32_t **ids);

/* A decision on one partition state: a Kafka error code; *write set when *next must be
 * stored. */
typedef int16_t (*rn__ctl_decide_fn)(const struct rn_pstate *cur, const int32_t *live, int nlive,
				     void *arg, struct rn_pstate *next, bool *write);

/* Reads (topic, idx), decides, writes with rn_meta_partition_cas, and on RN_ESTALE re-reads
 * the state and the live brokers and decides again (RN__CTL_RETRIES times). Returns the
 * decision's code, UNKNOWN_TOPIC_OR_PARTITION, or REQUEST_TIMED_OUT when the store did not
 * answer or the races went on. *out (may be NULL) gets the state in force afterwards. */
int16_t rn__ctl_apply(struct rn_meta *m, const char *topic, int32_t idx, rn__ctl_decide_fn fn,
		      void *arg, struct rn_pstate *out);

/* sweep.c, run by the controller thread: the failover sweep over every partition, and the
 * preferred-leader rebalance. Both stop early once *active is false. */
void rn__ctl_sweep(struct rn_meta *m, const struct rn_controller_cfg *cfg, _Atomic bool *active);
void rn__ctl_rebalance(struct rn_meta *m, const struct rn_controller_cfg *cfg,
		       _Atomic bool *active);

#endif
