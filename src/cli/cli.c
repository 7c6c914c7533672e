/* flywheel <command>: the command-line client. Dispatches the first word to a command family
 * (cli_cmds.h); global flags may come before it. */
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/cli_cmds.h"
#include "cli/cli_http.h"
#include "cli/cli_invoice.h"
#include "cli/cli_oncall.h"
#include "version.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static const struct cli_family *const families[] = {
	&cli_incident_family, &cli_problem_family,   &cli_request_family, &cli_change_family, &cli_article_family,
	&cli_account_family,  &cli_principal_family, &cli_token_family,   &cli_audit_family,  &cli_invoice_family,
	&cli_runbook_family,  &cli_execution_family, &cli_event_family,   &cli_alarm_family,  &cli_silence_family,
	&cli_oncall_family,   NULL,
};

static const struct cli_cmd *const singles[] = { &cli_status_cmd, &cli_whoami_cmd, NULL };

static void main_help(void)
{
	printf("usage: flywheel <command> [arguments] [options]\n"
	       "       flywheel serve [options]            run the daemon (see 'flywheel serve --help')\n\n"
	       "Commands:\n");
	for (const struct cli_family *const *f = families; *f; f++)
		printf("  %-12s %s\n", (*f)->name, (*f)->summary);
	for (const struct cli_cmd *const *s = singles; *s; s++)
		printf("  %-12s %s\n", (*s)->name, (*s)->summary);
	printf("  %-12s %s\n", "version", "Print the client's version");
	printf("\nRun 'flywheel <command> --help' for its commands and options.\n"
	       "\nConfiguration: --url/--token, else FLYWHEEL_URL/FLYWHEEL_TOKEN, else 'url = …' and\n"
	       "'token = …' lines in $XDG_CONFIG_HOME/flywheel/config (default ~/.config/flywheel/config),\n"
	       "else " CLI_DEFAULT_URL " and, when readable, ./var/admin.token.\n");
	cli_help_globals();
}

static int dispatch(struct cli *c, int argc, char **argv)
{
	int i = 1;
	/* Global flags before the command: handled by letting the family parser see them, so only
	 * skip over them here to find the command word. */
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			main_help();
			return CLI_OK;
		}
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) {
			c->json |= argv[i][2] == 'j';
			c->verbose |= argv[i][2] != 'j';
		} else if ((!strcmp(argv[i], "--url") || !strcmp(argv[i], "--token")) && i + 1 < argc) {
			if (argv[i][2] == 'u')
				c->url_opt = argv[i + 1];
			else
				c->token_opt = argv[i + 1];
			i++;
		} else if (!strncmp(argv[i], "--url=", 6)) {
			c->url_opt = argv[i] + 6;
		} else if (!strncmp(argv[i], "--token=", 8)) {
			c->token_opt = argv[i] + 8;
		} else {
			fprintf(stderr, "flywheel: unknown option '%s'; see 'flywheel --help'\n", argv[i]);
			return CLI_EUSAGE;
		}
		i++;
	}
	if (i >= argc) {
		main_help();
		return CLI_EUSAGE;
	}
	const char *word = argv[i];
	if (!strcmp(word, "help")) {
		main_help();
		return CLI_OK;
	}
	for (const struct cli_family *const *f = families; *f; f++)
		if (!strcmp((*f)->name, word))
			return cli_family_run(c, *f, argc - i, argv + i);
	for (const struct cli_cmd *const *s = singles; *s; s++)
		if (!strcmp((*s)->name, word))
			return cli_cmd_run(c, NULL, *s, argc - i, argv + i);
	fprintf(stderr, "flywheel: '%s' is not a command; see 'flywheel --help'\n", word);
	return CLI_EUSAGE;
}

int cli_main(int argc, char **argv)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "flywheel: cannot initialise libcurl\n");
		return CLI_ECONN;
	}
	struct cli c = CLI_INIT;
	int rc = dispatch(&c, argc, argv);
	cli_release(&c);
	curl_global_cleanup();
	fflush(stdout);
	return rc;
}
