#ifndef FW_CLI_H
#define FW_CLI_H
/* The command-line client: every command except `serve`. Talks to the daemon over HTTP. */
int cli_main(int argc, char **argv);
#endif
