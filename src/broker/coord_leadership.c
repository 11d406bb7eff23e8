/* STUB (issue 8 interface commit): coordinators following partition leadership. Replaced by the
 * coordinators slice (which may move these into groups.c / txns.c and delete this file). */
#include "broker/groups.h"
#include "broker/txns.h"

void rn_groups_partition_leadership(struct rn_broker *b, int32_t idx, bool leader, int32_t epoch)
{
	(void)b, (void)idx, (void)leader, (void)epoch;
}

void rn_txns_partition_leadership(struct rn_broker *b, int32_t idx, bool leader, int32_t epoch)
{
	(void)b, (void)idx, (void)leader, (void)epoch;
}
