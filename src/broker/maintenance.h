/*
 * Background housekeeping on its own thread, so no event loop ever blocks on unlink or fsync:
 * every second each partition rolls by age and flushes by flush.ms; every
 * log.retention.check.interval.ms retention deletes old segments; the log dir's checkpoints
 * are written every minute. The log cleaner's threads (storage/cleaner.h) start and stop
 * with it.
 */
#ifndef RN_BROKER_MAINTENANCE_H
#define RN_BROKER_MAINTENANCE_H

struct rn_broker;

void rn_maintenance_start(struct rn_broker *b);
/* Stops and joins the thread; no partition is touched afterwards. */
void rn_maintenance_stop(struct rn_broker *b);

#endif
