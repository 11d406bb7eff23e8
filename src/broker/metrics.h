/*
 * The broker's /metrics: per-topic traffic and per-API requests under the names Kafka
 * dashboards use (kafka_server_brokertopicmetrics_*, kafka_network_requestmetrics_*,
 * kafka_log_log_*), plus runnel_* where Kafka has no equivalent.
 */
#ifndef RN_BROKER_METRICS_H
#define RN_BROKER_METRICS_H

struct rn_broker;

void rn_broker_metrics_register(struct rn_broker *b);
void rn_broker_metrics_unregister(struct rn_broker *b);

/* Module-private: the replication and controller gauges (metrics_replica.c), given the
 * partition count collect() found. */
struct rn_buf;
void rn__metrics_replication(struct rn_buf *out, struct rn_broker *b, long long nparts);

#endif
