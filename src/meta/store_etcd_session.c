/* This broker's session in etcd: registration under a lease, keepalives, controllership. */
#include <string.h>

#include "core/err.h"
#include "meta/store_etcd.h"
#include "meta/store_etcd_int.h"

int rn_meta_register_broker(struct rn_meta *m, const struct rn_broker_reg *self, int64_t session_ms)
{
	(void)m, (void)self, (void)session_ms;
	return RN_EUNSUPPORTED;
}

void rn_meta_unregister_broker(struct rn_meta *m)
{
	(void)m;
}

bool rn_meta_session_valid(struct rn_meta *m)
{
	(void)m;
	return true;
}

int rn_meta_controller_acquire(struct rn_meta *m, int32_t *epoch)
{
	(void)m, (void)epoch;
	return RN_EUNSUPPORTED;
}

void rn__es_session_stop(struct rn__es *es)
{
	(void)es;
}
