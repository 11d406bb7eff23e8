/* Temporary: replaced by the real CLI commands. */
#include <stdio.h>

#include "cli/cli.h"

static int todo(char **argv)
{
	fprintf(stderr, "runnel %s: not implemented yet\n", argv[0]);
	return 1;
}

int rn_cli_bench(int argc, char **argv)
{
	(void)argc;
	return todo(argv);
}
