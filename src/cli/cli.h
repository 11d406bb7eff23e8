/*
 * Client subcommands (librdkafka-based): they talk to a broker over the wire like any client
 * and never open a data directory.
 */
#ifndef RN_CLI_CLI_H
#define RN_CLI_CLI_H

/* Each returns the process exit code. argv[0] is the subcommand name. */
int rn_cli_topic(int argc, char **argv);
int rn_cli_produce(int argc, char **argv);
int rn_cli_consume(int argc, char **argv);
int rn_cli_group(int argc, char **argv);
/* `runnel broker configs`: show and change the broker's dynamic configs. */
int rn_cli_broker(int argc, char **argv);
int rn_cli_bench(int argc, char **argv);
/* `runnel mock`: librdkafka's in-memory mock cluster, standalone (benchmark ceiling). */
int rn_cli_mock(int argc, char **argv);
/* `runnel dev cluster`: etcd plus N brokers on this machine (a supervisor, not a client). */
int rn_cli_dev(int argc, char **argv);
/* `runnel cluster status`: brokers, controller, under-replicated and offline partitions. */
int rn_cli_cluster(int argc, char **argv);
/* `runnel user`: SCRAM credentials (AlterUserScramCredentials, DescribeUserScramCredentials). */
int rn_cli_user(int argc, char **argv);
/* `runnel acl`: CreateAcls, DescribeAcls, DeleteAcls. */
int rn_cli_acl(int argc, char **argv);
/* `runnel quota`: client quotas (AlterClientQuotas, DescribeClientQuotas). */
int rn_cli_quota(int argc, char **argv);

#endif
