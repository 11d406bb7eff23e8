/* `runnel topic reassign` (cli/reassign.c). Private to src/cli. */
#ifndef RN_CLI_REASSIGN_H
#define RN_CLI_REASSIGN_H

/* argv[0] is "reassign"; returns the exit code. */
int rn__cli_topic_reassign(int argc, char **argv);

#endif
