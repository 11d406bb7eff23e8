/* STUB (issue 8 interface commit): leader-side ISR and high watermark. Replaced by the leader
 * slice. */
#include "core/err.h"
#include "proto/kerr.h"
#include "replica/replica_int.h"

int rn_replica_leader(struct rn_replica_part *rp, int32_t *epoch)
{
	(void)rp;
	*epoch = -1;
	return RN_ENOTLEADER;
}
int16_t rn_replica_produce_check(struct rn_replica_part *rp, int32_t min_isr)
{
	(void)rp, (void)min_isr;
	return RN_KERR_NOT_LEADER_OR_FOLLOWER;
}
void rn_replica_wait_hw(struct rn_replica_part *rp, int64_t offset, int32_t min_isr,
			int64_t timeout_ms, void (*cb)(void *arg, int16_t kerr), void *arg)
{
	(void)rp, (void)offset, (void)min_isr, (void)timeout_ms;
	cb(arg, RN_KERR_NOT_LEADER_OR_FOLLOWER);
}
int16_t rn_replica_follower_fetch(struct rn_replica_part *rp, int32_t replica_id,
				  int64_t fetch_offset, int32_t current_leader_epoch,
				  int64_t now_ms)
{
	(void)rp, (void)replica_id, (void)fetch_offset, (void)current_leader_epoch, (void)now_ms;
	return RN_KERR_NOT_LEADER_OR_FOLLOWER;
}
int32_t rn_replica_preferred_read(struct rn_replica_part *rp, const char *client_rack)
{
	(void)rp, (void)client_rack;
	return -1;
}

void rn__isr_become_leader(struct rn_replica_part *rp, int64_t now_ms)
{
	(void)rp, (void)now_ms;
}
void rn__isr_become_follower(struct rn_replica_part *rp)
{
	(void)rp;
}
void rn__isr_tick(struct rn_replica_part *rp, int64_t now_ms)
{
	(void)rp, (void)now_ms;
}
