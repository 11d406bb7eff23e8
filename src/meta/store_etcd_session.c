/*
 * This broker's session in etcd: a lease of broker.session.timeout.ms (rounded up to whole
 * seconds; etcd raises a TTL below its minimum, 2 s with its default election timeout, and we
 * count with what it granted), P/brokers/<id> on it, and a thread that refreshes it every
 * broker.heartbeat.interval.ms. The session counts as valid while the last keepalive etcd
 * acknowledged was *sent* less than TTL - margin ago: etcd expires the lease no sooner than TTL
 * after it received that keepalive, so a broker always knows it lost the session before
 * anyone else can act on the expiry. A lost lease is replaced as soon as etcd answers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "meta/store_etcd.h"
#include "meta/store_etcd_int.h"

/* How long the watch may stay behind etcd before it reconnects, and how often that is looked at. */
#define WATCH_LAG_MS   3000
#define WATCH_PROBE_MS 1000

static int64_t margin_ms(const struct rn__es *es)
{
	int64_t m = es->ttl_ms / 4;
	return m < 250 ? 250 : m;
}

void rn__es_tell_session(struct rn__es *es, bool valid)
{
	pthread_mutex_lock(&es->lmu);
	for (int i = 0; i < es->nls; i++)
		if (es->ls[i].session)
			es->ls[i].session(es->ls[i].arg, valid);
	pthread_mutex_unlock(&es->lmu);
}

/* One try at P/brokers/<id> on lease (create_revision == 0). 0, RN_EEXIST, or an error. */
static int put_registration(struct rn__es *es, int64_t lease)
{
	char rel[32];
	snprintf(rel, sizeof(rel), "brokers/%d", es->self.id);
	char *key = rn__es_key(es, rel), *val = rn__es_broker_json(&es->self);
	json_t *cmp = json_pack("[o]", rn__etcd_cmp(key, "CREATE", "EQUAL", 0));
	json_t *ok = json_pack("[o]", rn__etcd_put_op(key, val, lease));
	rn_free(key);
	rn_free(val);
	bool won;
	json_t *resp;
	int rc = rn__etcd_txn(es->etcd, cmp, ok, NULL, ES_WRITE_TIMEOUT_MS, &won, &resp);
	if (rc < 0)
		return rc;
	int64_t rev = rn__es_resp_rev(resp);
	json_decref(resp);
	if (!won)
		return RN_EEXIST;
	rn__es_wait_rev(es, rev);
	return 0;
}

/* Grants a lease and registers on it; a registration still held by another lease is waited
 * for up to wait_ms (our own previous life, crashed less than a TTL ago, goes by then; a live
 * broker with our node id keeps it: RN_EEXIST). */
static int register_once(struct rn__es *es, int64_t wait_ms)
{
	int64_t ttl_s = (es->session_ms + 999) / 1000, lease, granted;
	if (ttl_s < 1)
		ttl_s = 1;
	int64_t sent = rn_mono_ms();
	int rc = rn__etcd_lease_grant(es->etcd, ttl_s, ES_WRITE_TIMEOUT_MS, &lease, &granted);
	if (rc < 0)
		return rc;
	if (granted != ttl_s)
		rn_info("etcd store: asked for a %llds lease, etcd granted %llds (its minimum)",
			(long long)ttl_s, (long long)granted);
	int64_t deadline = rn_mono_ms() + wait_ms;
	while ((rc = put_registration(es, lease)) == RN_EEXIST && rn_mono_ms() < deadline &&
	       !atomic_load(&es->stop)) {
		nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
		/* Our own lease must outlive the wait. */
		int64_t ttl;
		sent = rn_mono_ms();
		rc = rn__etcd_lease_keepalive(es->etcd, lease, ES_WRITE_TIMEOUT_MS, &ttl, NULL);
		if (rc == 0 && ttl == 0)
			rc = RN_EUNAVAILABLE; /* expired under us all the same: try again later */
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		rn__etcd_lease_revoke(es->etcd, lease, ES_WRITE_TIMEOUT_MS);
		return rc;
	}
	pthread_mutex_lock(&es->sess_mu);
	es->ttl_ms = granted * 1000;
	atomic_store(&es->ack_sent_ms, sent);
	atomic_store(&es->lease, lease);
	pthread_mutex_unlock(&es->sess_mu);
	return 0;
}

static bool valid_now(struct rn__es *es)
{
	return atomic_load(&es->lease) != 0 &&
	       rn_mono_ms() - atomic_load(&es->ack_sent_ms) < es->ttl_ms - margin_ms(es);
}

static void set_told(struct rn__es *es, bool valid)
{
	if (es->sess_told_valid == valid)
		return;
	es->sess_told_valid = valid;
	if (!valid)
		rn_warn("etcd store: broker %d's session is no longer valid", es->self.id);
	else
		rn_info("etcd store: broker %d's session is valid", es->self.id);
	rn__es_tell_session(es, valid);
}

/* One keepalive; notices a lost lease. */
static void keepalive(struct rn__es *es)
{
	int64_t lease = atomic_load(&es->lease), ttl = 0, sent = rn_mono_ms();
	int64_t timeout = es->ttl_ms / 3 < 200 ? 200 : es->ttl_ms / 3;
	int rc = rn__etcd_lease_keepalive(es->etcd, lease, (int)timeout, &ttl, NULL);
	if (rc == 0 && ttl > 0) {
		atomic_store(&es->ack_sent_ms, sent);
		set_told(es, true);
		return;
	}
	if (rc == 0) {
		rn_warn("etcd store: broker %d's lease %llx expired; registering again",
			es->self.id, (unsigned long long)lease);
		atomic_store(&es->lease, 0);
	}
	if (!valid_now(es))
		set_told(es, false);
}

/* The newest mod_revision under the prefix, read linearizably (through the raft leader): what
 * the watch must have reached. A member cut off from the others keeps our watch open and
 * silent; only a comparison like this one notices. */
static void watch_probe(struct rn__es *es, int64_t *lag_since)
{
	char *end = rn__etcd_prefix_end(es->prefix);
	json_t *req = rn__etcd_range_req(es->prefix, end), *resp;
	rn_free(end);
	json_object_set_new(req, "limit", rn__etcd_intstr(1));
	json_object_set_new(req, "sort_order", json_string("DESCEND"));
	json_object_set_new(req, "sort_target", json_string("MOD"));
	json_object_set_new(req, "keys_only", json_true());
	int rc = rn__etcd_call(es->etcd, "/v3/kv/range", req, ES_WRITE_TIMEOUT_MS, &resp);
	json_decref(req);
	if (rc < 0)
		return;
	int64_t head =
	    rn__etcd_int(json_array_get(json_object_get(resp, "kvs"), 0), "mod_revision", 0);
	json_decref(resp);
	int64_t now = rn_mono_ms();
	if (head <= rn__es_rev(es)) {
		*lag_since = 0;
	} else if (!*lag_since) {
		*lag_since = now;
	} else if (now - *lag_since > WATCH_LAG_MS) {
		rn__es_watch_kick(es);
		*lag_since = 0;
	}
}

static void *session_main(void *arg)
{
	struct rn__es *es = arg;
	int64_t lag_since = 0, probed = rn_mono_ms();
	pthread_mutex_lock(&es->sess_mu);
	while (!atomic_load(&es->stop) && es->registered) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t ns = ts.tv_nsec + es->hb_ms % 1000 * 1000000;
		ts.tv_sec += es->hb_ms / 1000 + ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		pthread_cond_timedwait(&es->sess_cond, &es->sess_mu, &ts);
		if (atomic_load(&es->stop) || !es->registered)
			break;
		pthread_mutex_unlock(&es->sess_mu);
		if (atomic_load(&es->lease) != 0)
			keepalive(es);
		if (rn_mono_ms() - probed >= WATCH_PROBE_MS) {
			watch_probe(es, &lag_since);
			probed = rn_mono_ms();
		}
		if (atomic_load(&es->lease) == 0) {
			int rc = register_once(es, 0);
			if (rc == 0)
				set_told(es, true);
			else
				rn_log_every(5000, RN_LOG_WARN,
					     "etcd store: broker %d cannot register again: %s",
					     es->self.id, rn_strerror(rc));
		}
		pthread_mutex_lock(&es->sess_mu);
	}
	pthread_mutex_unlock(&es->sess_mu);
	return NULL;
}

void rn_meta_set_heartbeat_ms(struct rn_meta *m, int64_t heartbeat_ms)
{
	struct rn__es *es = rn__meta_es(m);
	if (es && heartbeat_ms > 0)
		es->hb_ms = heartbeat_ms;
}

int rn_meta_register_broker(struct rn_meta *m, const struct rn_broker_reg *self, int64_t session_ms)
{
	struct rn__es *es = rn__meta_es(m);
	if (!es)
		return RN_EUNSUPPORTED;
	if (es->registered || session_ms <= 0 || self->id != es->node_id)
		return RN_EINVALID;
	es->self = *self;
	es->session_ms = session_ms;
	if (es->hb_ms <= 0)
		es->hb_ms = session_ms / 4 < 50 ? 50 : session_ms / 4;
	/* Long enough for a crashed previous life's lease (at most the TTL, raised to etcd's
	 * minimum) to expire. */
	int64_t ttl_ms = (session_ms + 999) / 1000 * 1000;
	int rc = register_once(es, (ttl_ms < 2000 ? 2000 : ttl_ms) + 1000);
	if (rc == RN_EEXIST)
		rn_error("etcd store: a live broker is already registered as node.id=%d under %s",
			 self->id, es->prefix);
	if (rc < 0)
		return rc;
	es->registered = true;
	es->sess_told_valid = true;
	if (pthread_create(&es->sess_thr, NULL, session_main, es) != 0) {
		rn_meta_unregister_broker(m);
		return -EAGAIN;
	}
	es->sess_thr_started = true;
	return 0;
}

void rn__es_session_stop(struct rn__es *es)
{
	pthread_mutex_lock(&es->sess_mu);
	es->registered = false;
	pthread_cond_broadcast(&es->sess_cond);
	pthread_mutex_unlock(&es->sess_mu);
	if (es->sess_thr_started)
		pthread_join(es->sess_thr, NULL);
	es->sess_thr_started = false;
	int64_t lease = atomic_exchange(&es->lease, 0);
	if (lease)
		rn__etcd_lease_revoke(es->etcd, lease, ES_WRITE_TIMEOUT_MS);
}

void rn_meta_unregister_broker(struct rn_meta *m)
{
	struct rn__es *es = rn__meta_es(m);
	if (es)
		rn__es_session_stop(es);
}

bool rn_meta_session_valid(struct rn_meta *m)
{
	struct rn__es *es = rn__meta_es(m);
	return es ? valid_now(es) : true;
}

/* P/controller on our lease if absent, with P/controller_epoch moved on in the same txn; the
 * epoch's mod_revision is compared too, so two winners can never share an epoch. */
int rn_meta_controller_acquire(struct rn_meta *m, int32_t *epoch)
{
	struct rn__es *es = rn__meta_es(m);
	if (!es)
		return RN_EUNSUPPORTED;
	for (int attempt = 0; attempt < 8; attempt++) {
		int64_t lease = atomic_load(&es->lease), mod, e = 0;
		if (!lease || !valid_now(es))
			return RN_EUNAVAILABLE;
		pthread_rwlock_rdlock(&es->lock);
		bool mine = es->ctrl_id == es->node_id && es->ctrl_lease == lease;
		*epoch = es->ctrl_epoch;
		pthread_rwlock_unlock(&es->lock);
		if (mine)
			return 0; /* already ours, on this very lease */
		char *val;
		size_t vlen;
		int rc = rn__es_get(es, "controller_epoch", &val, &vlen, &mod);
		if (rc < 0)
			return rc == RN_ECORRUPT ? rc : RN_EUNAVAILABLE;
		if (val && rn__es_num_parse(val, vlen, &e) < 0) {
			rn_error("etcd store: %scontroller_epoch holds no number: %s", es->prefix,
				 val);
			rn_free(val);
			return RN_ECORRUPT;
		}
		rn_free(val);
		char *ck = rn__es_key(es, "controller"), *ek = rn__es_key(es, "controller_epoch");
		char *cv = rn__es_controller_json(es->node_id, (int32_t)(e + 1));
		char *ev = rn__es_num_json(e + 1);
		json_t *cmp = json_pack("[oo]", rn__etcd_cmp(ck, "CREATE", "EQUAL", 0),
					rn__etcd_cmp(ek, "MOD", "EQUAL", mod));
		json_t *ok =
		    json_pack("[oo]", rn__etcd_put_op(ck, cv, lease), rn__etcd_put_op(ek, ev, 0));
		json_t *fail = json_pack("[o]", rn__etcd_get_op(ck));
		rn_free(ck);
		rn_free(ek);
		rn_free(cv);
		rn_free(ev);
		bool won;
		json_t *resp;
		rc = rn__etcd_txn(es->etcd, cmp, ok, fail, ES_WRITE_TIMEOUT_MS, &won, &resp);
		if (rc < 0)
			return RN_EUNAVAILABLE;
		int64_t rev = won ? rn__es_resp_rev(resp) : rn__es_fail_rev(resp);
		bool held = rev > 0;
		json_decref(resp);
		if (rev > 0)
			rn__es_wait_rev(es, rev);
		if (won) {
			*epoch = (int32_t)(e + 1);
			rn_info("etcd store: broker %d is controller in epoch %lld", es->node_id,
				(long long)(e + 1));
			return 0;
		}
		if (held)
			return RN_EEXIST;
	}
	return RN_EUNAVAILABLE;
}
