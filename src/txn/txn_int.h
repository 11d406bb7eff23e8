/* Shared by the files of src/txn/ (not part of the module's interface). */
#ifndef RN_TXN_TXN_INT_H
#define RN_TXN_TXN_INT_H

#include "txn/txn.h"

/* Replay: the entry of id, created Empty if new. */
struct rn_txn *rn__tc_get_or_create(struct rn_tc *tc, const char *id);
/* Moves t to producer id pid in the pid table. */
void rn__tc_set_pid(struct rn_tc *tc, struct rn_txn *t, int64_t pid);

#endif
