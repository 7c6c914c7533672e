#ifndef FW_CLI_ONCALL_H
#define FW_CLI_ONCALL_H
/* flywheel oncall show SCHEDULE [--at TIME]: who is on call now (or at TIME) and the next shifts, from
 * GET /api/v1/schedules/{id}/oncall; flywheel oncall gaps SCHEDULE [--from TIME] [--to TIME]: the coverage
 * gaps from GET /api/v1/schedules/{id}/gaps. */

struct cli_family;

/* The "oncall" family for cli.c's dispatcher. */
extern const struct cli_family cli_oncall_family;

/* Runs "oncall …" on its own (argv[0] is "oncall"). Returns a CLI exit code (cli/cli_http.h). */
int cli_oncall(int argc, char **argv);

#endif
