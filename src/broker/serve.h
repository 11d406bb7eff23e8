/* `runnel serve`: the broker. */
#ifndef RN_BROKER_SERVE_H
#define RN_BROKER_SERVE_H

/* Returns the process exit code. argv[0] is "serve". */
int rn_serve_main(int argc, char **argv);

#endif
