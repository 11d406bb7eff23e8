/* STUB (issue 8 interface commit): controller, placement, elections. Replaced by the controller
 * slice. */
#include "core/err.h"
#include "proto/kerr.h"
#include "replica/controller.h"

int rn_controller_start(struct rn_meta *m, const struct rn_controller_cfg *cfg,
			struct rn_controller **out)
{
	(void)m, (void)cfg;
	*out = NULL;
	return RN_EUNSUPPORTED;
}
void rn_controller_stop(struct rn_controller *c)
{
	(void)c;
}
bool rn_controller_active(struct rn_controller *c)
{
	(void)c;
	return false;
}
int rn_placement_assign(const struct rn_broker_reg *brokers, int nb, int32_t first, int32_t npart,
			int32_t rf, int32_t *assign)
{
	(void)brokers, (void)nb, (void)first, (void)npart, (void)rf, (void)assign;
	return RN_EUNSUPPORTED;
}
int16_t rn_election_run(struct rn_meta *m, const char *topic, int32_t idx, enum rn_election type)
{
	(void)m, (void)topic, (void)idx, (void)type;
	return RN_KERR_UNKNOWN_SERVER_ERROR;
}
int rn_controller_shutdown_broker(struct rn_meta *m, int32_t node_id, int64_t timeout_ms)
{
	(void)m, (void)node_id, (void)timeout_ms;
	return 0;
}
