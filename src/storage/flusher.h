/*
 * Group commit. One flusher thread takes every partition dirtied since its last pass,
 * fdatasyncs each once, then runs the callbacks of all acks waiting on them. Concurrent
 * producers therefore share fsyncs instead of paying one each; under load the commit size
 * grows by itself (whatever queued while the previous fdatasync ran).
 */
#ifndef RN_STORAGE_FLUSHER_H
#define RN_STORAGE_FLUSHER_H

#include "core/metrics.h"

struct rn_flusher;
struct rn_partition;

/* Called on the flusher thread once everything p held at submit time is on disk (err 0) or the
 * flush failed (-EIO, ...: the partition is then offline). Typically posts to a loop. */
typedef void (*rn_flush_cb)(void *arg, int err);

int rn_flusher_start(struct rn_flusher **out);
/* Flushes whatever is pending, runs remaining callbacks, joins the thread and frees. */
void rn_flusher_stop(struct rn_flusher *f);
/* Thread-safe. p must stay open until cb has run. */
void rn_flusher_submit(struct rn_flusher *f, struct rn_partition *p, rn_flush_cb cb, void *arg);
/* fdatasync latency, for /metrics. */
const struct rn_hist *rn_flusher_fsync_hist(const struct rn_flusher *f);

#endif
