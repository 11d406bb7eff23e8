/* `runnel topic delete-records` (topic_records.c) and `runnel topic log-dirs`
 * (topic_log_dirs.c), entered from topic.c's dispatcher. */
#ifndef RN_CLI_TOPIC_RECORDS_H
#define RN_CLI_TOPIC_RECORDS_H

/* argv[0] is "delete-records". Returns the process exit code. */
int rn__cli_topic_delete_records(int argc, char **argv);
/* argv[0] is "log-dirs". Returns the process exit code. */
int rn__cli_topic_log_dirs(int argc, char **argv);

#endif
