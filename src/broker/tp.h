/*
 * A (topic name, partition) pair as a request names it, with one order for qsort and bsearch:
 * handlers that must find or spot repeated pairs among many sort them once (n log n) instead
 * of scanning per partition.
 */
#ifndef RN_BROKER_TP_H
#define RN_BROKER_TP_H

#include <stdint.h>

#include "proto/prim.h"

struct rn_tp {
	struct rn_str topic;
	int32_t partition;
};

/* qsort/bsearch comparator over struct rn_tp, or any struct whose first member is one. */
int rn_tp_cmp(const void *a, const void *b);

#endif
