/* STUB (issue 8 interface commit): the etcd store. Replaced by the etcd slice. */
#include <string.h>

#include "core/err.h"
#include "meta/cluster.h"

int rn_meta_open_etcd(const char *uri, const char *dir, int32_t node_id, struct rn_meta **out)
{
	(void)uri, (void)dir, (void)node_id;
	*out = NULL;
	return RN_EUNSUPPORTED;
}
bool rn_meta_clustered(const struct rn_meta *m)
{
	(void)m;
	return false;
}
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
int rn_meta_brokers(struct rn_meta *m, struct rn_broker_reg *out, int max)
{
	(void)m, (void)out, (void)max;
	return 0;
}
bool rn_meta_broker_live(struct rn_meta *m, int32_t id)
{
	(void)m, (void)id;
	return false;
}
int32_t rn_meta_controller(struct rn_meta *m, int32_t *epoch)
{
	(void)m;
	if (epoch)
		*epoch = -1;
	return -1;
}
int rn_meta_controller_acquire(struct rn_meta *m, int32_t *epoch)
{
	(void)m, (void)epoch;
	return RN_EUNSUPPORTED;
}
int rn_meta_topic_create_assigned(struct rn_meta *m, const char *name, int32_t partitions,
				  int32_t rf, const int32_t *assign, const struct rn_cfg_kv *cfg,
				  int ncfg, uint8_t id_out[16])
{
	(void)m, (void)name, (void)partitions, (void)rf, (void)assign, (void)cfg, (void)ncfg;
	memset(id_out, 0, 16);
	return RN_EUNSUPPORTED;
}
int rn_meta_topic_add_partitions_assigned(struct rn_meta *m, const char *name, int32_t partitions,
					  int32_t rf, const int32_t *assign)
{
	(void)m, (void)name, (void)partitions, (void)rf, (void)assign;
	return RN_EUNSUPPORTED;
}
int rn_meta_partition_get(struct rn_meta *m, const char *topic, int32_t idx, struct rn_pstate *out)
{
	(void)m, (void)topic, (void)idx, (void)out;
	return RN_EUNSUPPORTED;
}
int rn_meta_partition_cas(struct rn_meta *m, const char *topic, int32_t idx, int32_t expect,
			  const struct rn_pstate *st)
{
	(void)m, (void)topic, (void)idx, (void)expect, (void)st;
	return RN_EUNSUPPORTED;
}
void rn_meta_partitions_foreach(struct rn_meta *m,
				void (*cb)(const char *topic, int32_t idx,
					   const struct rn_pstate *st, void *arg),
				void *arg)
{
	(void)m, (void)cb, (void)arg;
}
int rn_meta_add_listener(struct rn_meta *m, const struct rn_meta_listener *l)
{
	(void)m, (void)l;
	return RN_EUNSUPPORTED;
}
