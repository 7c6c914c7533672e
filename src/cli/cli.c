#include "cli/cli.h"

#include <stdio.h>

int cli_main(int argc, char **argv)
{
	fprintf(stderr, "usage: flywheel serve [options]\n");
	return 2;
}
