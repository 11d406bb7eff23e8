/*
 * Config commands shared by `runnel topic alter|describe` and `runnel broker configs`: show a
 * resource's configs with their source, and change them. librdkafka 2.0.2 has no
 * IncrementalAlterConfigs, so a change reads the resource's current dynamic values
 * (DescribeConfigs), applies --set/--delete to them and sends the whole set with AlterConfigs
 * (Kafka's replace semantics). Between the read and the write another admin's change can be
 * lost, as with kafka-configs.sh against old brokers. Private to src/cli.
 */
#ifndef RN_CLI_CONFIGS_H
#define RN_CLI_CONFIGS_H

#include "cli/common.h"

/*
 * DescribeConfigs of one resource, within --timeout-ms. On success (0) *ev holds the result
 * (the caller destroys it) and *res the resource inside it; 1 after printing the error line.
 */
int rn__cli_configs_describe(struct rn_cli_common *c, rd_kafka_t *rk, rd_kafka_queue_t *q,
			     rd_kafka_ResourceType_t type, const char *name, rd_kafka_event_t **ev,
			     const rd_kafka_ConfigResource_t **res);
/* Prints "  name=value\t(SOURCE[, read-only])" for every config of res. */
void rn__cli_configs_list(const rd_kafka_ConfigResource_t *res);

/* `runnel topic alter TOPIC --set K=V --delete K`; argv[0] is "alter". */
int rn__cli_topic_alter(int argc, char **argv);

#endif
