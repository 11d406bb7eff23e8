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

/* Prints "  name=value  (SOURCE[, read-only])" for every config of the resource. Returns 0,
 * or 1 after printing the error line. */
int rn__cli_configs_print(struct rn_cli_common *c, rd_kafka_t *rk, rd_kafka_queue_t *q,
			  rd_kafka_ResourceType_t type, const char *name);

/* `runnel topic alter TOPIC --set K=V --delete K`; argv[0] is "alter". */
int rn__cli_topic_alter(int argc, char **argv);

#endif
