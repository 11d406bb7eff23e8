/* STUB (issue 8 interface commit): inter-broker client. Replaced by the follower slice. */
#include "core/err.h"
#include "replica/peer.h"

int rn_peer_connect(const char *host, int port, int timeout_ms, const char *client_id,
		    struct rn_peer **out)
{
	(void)host, (void)port, (void)timeout_ms, (void)client_id;
	*out = NULL;
	return RN_EUNSUPPORTED;
}
void rn_peer_close(struct rn_peer *p)
{
	(void)p;
}
int rn_peer_call(struct rn_peer *p, int16_t api_key, int16_t api_version,
		 const struct rn_iochain *body, int timeout_ms, struct rn_rd *resp)
{
	(void)p, (void)api_key, (void)api_version, (void)body, (void)timeout_ms, (void)resp;
	return RN_EUNSUPPORTED;
}
