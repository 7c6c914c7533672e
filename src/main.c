/* flywheel: `flywheel serve` runs the daemon; every other command is the CLI (src/cli/). */
#include "automation/runner.h"
#include "cli/cli.h"
#include "daemon.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "__runner") == 0) /* the daemon's step runner (automation) */
		return rb_runner_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve_main(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
		printf("flywheel %s\n", FLYWHEEL_VERSION);
		return 0;
	}
	return cli_main(argc, argv);
}
