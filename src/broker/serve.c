#include <stdio.h>

#include "broker/serve.h"

int rn_serve_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "runnel serve: not implemented yet\n");
	return 1;
}
