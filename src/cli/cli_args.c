/* Table-driven command-line parsing and help for the CLI. */
#include "cli/cli_args.h"
#include "cli/cli_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct cli_flag cli_page_flags[] = {
	{ "limit", NULL, CLI_INT, 0, "N", "items per page (the server's default when absent)" },
	{ "cursor", NULL, CLI_STR, 0, "CURSOR", "start after this cursor (printed when more items exist)" },
	{ "all", NULL, CLI_BOOL, 0, NULL, "follow next_cursor and list every item" },
	{ NULL },
};

void cli_help_globals(void)
{
	printf("\nGlobal options (anywhere on the line):\n"
	       "  --url URL        daemon URL (else FLYWHEEL_URL, the config file, " CLI_DEFAULT_URL ")\n"
	       "  --token TOKEN    API token (else FLYWHEEL_TOKEN, the config file, ./var/admin.token)\n"
	       "  --json           print the API's JSON instead of tables\n"
	       "  -v, --verbose    show requests, and where the URL and token came from\n"
	       "  -h, --help       show help\n"
	       "\nExit codes: 0 ok; 1 the daemon refused (not found, conflict, invalid, forbidden) or the\n"
	       "audit chain is broken; 2 usage error; 3 cannot reach the daemon or store, or token rejected.\n");
}

/* "--name=value" or "--name value": splits arg into name and (maybe) inline value. */
static const char *flag_name(const char *arg, char *name, size_t cap, const char **inline_val)
{
	const char *n = arg + 2, *eq = strchr(n, '=');
	size_t len = eq ? (size_t)(eq - n) : strlen(n);
	if (len >= cap)
		len = cap - 1;
	memcpy(name, n, len);
	name[len] = '\0';
	*inline_val = eq ? eq + 1 : NULL;
	return name;
}

static bool is_help(const char *s)
{
	return !strcmp(s, "--help") || !strcmp(s, "-h");
}

/* Consumes a global flag at argv[*i]. Returns 1 when consumed, 0 when not global, CLI_EUSAGE
 * negated (-2) when its value is missing. */
static int global_flag(struct cli *c, int argc, char **argv, int *i)
{
	const char *arg = argv[*i], *iv;
	char name[64];
	if (!strcmp(arg, "-v")) {
		c->verbose = true;
		return 1;
	}
	if (strncmp(arg, "--", 2) != 0)
		return 0;
	flag_name(arg, name, sizeof(name), &iv);
	if (!strcmp(name, "json") || !strcmp(name, "verbose")) {
		if (iv)
			return 0;
		if (name[0] == 'j')
			c->json = true;
		else
			c->verbose = true;
		return 1;
	}
	if (strcmp(name, "url") && strcmp(name, "token"))
		return 0;
	if (!iv) {
		if (*i + 1 >= argc) {
			cli_err("--%s needs a value", name);
			return -CLI_EUSAGE;
		}
		iv = argv[++*i];
	}
	if (name[0] == 'u')
		c->url_opt = iv;
	else
		c->token_opt = iv;
	return 1;
}

static const struct cli_flag *find_flag(const struct cli_cmd *cmd, const char *name)
{
	for (int t = 0; t < 4; t++)
		for (const struct cli_flag *f = cmd->flags[t]; f && f->name; f++)
			if (!strcmp(f->name, name))
				return f;
	return NULL;
}

static void cmd_help(const struct cli_family *fam, const struct cli_cmd *cmd)
{
	printf("usage: flywheel %s%s%s%s%s", fam ? fam->name : "", fam ? " " : "", cmd->name,
	       cmd->synopsis ? " " : "", cmd->synopsis ? cmd->synopsis : "");
	bool any = false;
	for (int t = 0; t < 4; t++)
		for (const struct cli_flag *f = cmd->flags[t]; f && f->name; f++) {
			any = true;
			if (f->flags & CLI_F_REQUIRED)
				printf(" --%s %s", f->name, f->metavar ? f->metavar : "");
		}
	printf("%s\n\n%s\n", any ? " [options]" : "", cmd->summary);
	if (cmd->more)
		printf("\n%s\n", cmd->more);
	if (any) {
		printf("\nOptions:\n");
		for (int t = 0; t < 4; t++)
			for (const struct cli_flag *f = cmd->flags[t]; f && f->name; f++) {
				char left[64];
				snprintf(left, sizeof(left), "--%s%s%s", f->name, f->metavar ? " " : "",
					 f->metavar ? f->metavar : "");
				if (strlen(left) > 28)
					printf("  %s\n  %-28s", left, "");
				else
					printf("  %-28s", left);
				printf(" %s%s%s\n", f->help,
				       f->type == CLI_LIST ? " (repeatable)" : "",
				       f->flags & CLI_F_REQUIRED ? " (required)" : "");
			}
	}
	cli_help_globals();
}

static void family_help(const struct cli_family *f)
{
	printf("usage: flywheel %s <command> [arguments] [options]\n\n%s\n", f->name, f->summary);
	if (f->more)
		printf("\n%s\n", f->more);
	printf("\nCommands:\n");
	for (const struct cli_cmd *cmd = f->cmds; cmd->name; cmd++) {
		char left[64];
		snprintf(left, sizeof(left), "%s%s%s", cmd->name, cmd->synopsis ? " " : "",
			 cmd->synopsis ? cmd->synopsis : "");
		printf("  %-26s %s\n", left, cmd->summary);
	}
	printf("\nRun 'flywheel %s <command> --help' for a command's options.\n", f->name);
	cli_help_globals();
}

int cli_usage(const struct cli_args *a, const char *fmt, ...)
{
	va_list ap;
	fputs("flywheel: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nflywheel: see 'flywheel%s%s%s%s --help'\n", a->fam ? " " : "", a->fam ? a->fam->name : "",
		a->cmd ? " " : "", a->cmd ? a->cmd->name : "");
	return CLI_EUSAGE;
}

int cli_cmd_run(struct cli *c, const struct cli_family *fam, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_args a = { .fam = fam, .cmd = cmd };
	bool help = false, flags_done = false;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (flags_done || arg[0] != '-' || !strcmp(arg, "-")) {
			if (a.npos == CLI_MAXPOS)
				return cli_usage(&a, "too many arguments");
			a.pos[a.npos++] = arg;
			continue;
		}
		if (!strcmp(arg, "--")) {
			flags_done = true;
			continue;
		}
		if (is_help(arg)) {
			help = true;
			continue;
		}
		int g = global_flag(c, argc, argv, &i);
		if (g < 0)
			return -g;
		if (g)
			continue;
		char name[64];
		const char *iv;
		const struct cli_flag *f = strncmp(arg, "--", 2) ? NULL : find_flag(cmd, flag_name(arg, name, sizeof(name), &iv));
		if (!f)
			return cli_usage(&a, "unknown option '%s'", arg);
		const char *v = "";
		if (f->type == CLI_BOOL) {
			if (iv)
				return cli_usage(&a, "--%s takes no value", f->name);
		} else if (iv) {
			v = iv;
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			return cli_usage(&a, "--%s needs a value (%s)", f->name, f->metavar ? f->metavar : "VALUE");
		}
		if (f->type == CLI_INT) {
			char *end;
			long long n = strtoll(v, &end, 10);
			if (!*v || *end || n < 0)
				return cli_usage(&a, "--%s wants a whole number, not '%s'", f->name, v);
		}
		if (a.nvals == CLI_MAXVALS)
			return cli_usage(&a, "too many options");
		a.vals[a.nvals].f = f;
		a.vals[a.nvals++].v = v;
	}
	if (help) {
		cmd_help(fam, cmd);
		return CLI_OK;
	}
	if (a.npos < cmd->min_pos)
		return cli_usage(&a, "missing argument: %s %s", cmd->name, cmd->synopsis ? cmd->synopsis : "");
	if (cmd->max_pos >= 0 && a.npos > cmd->max_pos)
		return cli_usage(&a, "unexpected argument '%s'", a.pos[cmd->max_pos]);
	for (int t = 0; t < 4; t++)
		for (const struct cli_flag *f = cmd->flags[t]; f && f->name; f++)
			if ((f->flags & CLI_F_REQUIRED) && !cli_has(&a, f->name))
				return cli_usage(&a, "--%s is required", f->name);
	return cmd->fn(c, cmd, &a);
}

int cli_family_run(struct cli *c, const struct cli_family *f, int argc, char **argv)
{
	int i = 1;
	/* Global flags may come before the command name. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (is_help(argv[i])) {
			family_help(f);
			return CLI_OK;
		}
		int g = global_flag(c, argc, argv, &i);
		if (g < 0)
			return -g;
		if (!g) {
			cli_err("unknown option '%s' before the command; see 'flywheel %s --help'", argv[i], f->name);
			return CLI_EUSAGE;
		}
	}
	if (i >= argc) {
		family_help(f);
		return CLI_EUSAGE;
	}
	if (!strcmp(argv[i], "help")) {
		family_help(f);
		return CLI_OK;
	}
	for (const struct cli_cmd *cmd = f->cmds; cmd->name; cmd++)
		if (!strcmp(cmd->name, argv[i]))
			return cli_cmd_run(c, f, cmd, argc - i, argv + i);
	cli_err("'%s' is not a command of 'flywheel %s'; see 'flywheel %s --help'", argv[i], f->name, f->name);
	return CLI_EUSAGE;
}

const char *cli_arg(const struct cli_args *a, const char *name)
{
	for (int i = a->nvals - 1; i >= 0; i--)
		if (!strcmp(a->vals[i].f->name, name))
			return a->vals[i].v;
	return NULL;
}

bool cli_has(const struct cli_args *a, const char *name)
{
	return cli_arg(a, name) != NULL;
}

int cli_body(const struct cli_args *a, json_t *obj)
{
	for (int i = 0; i < a->nvals; i++) {
		const struct cli_flag *f = a->vals[i].f;
		const char *v = a->vals[i].v;
		if (!f->field)
			continue;
		json_t *val;
		if ((f->flags & CLI_F_NULLABLE) && !*v && f->type != CLI_LIST) {
			val = json_null();
		} else if (f->type == CLI_LIST) {
			json_t *arr = json_object_get(obj, f->field);
			if (!json_is_array(arr)) {
				arr = json_array();
				json_object_set_new(obj, f->field, arr);
			}
			if (*v)
				json_array_append_new(arr, json_string(v));
			continue;
		} else if (f->type == CLI_BOOL) {
			val = json_true();
		} else if (f->type == CLI_INT) {
			val = json_integer(strtoll(v, NULL, 10));
		} else if (f->type == CLI_JSON) {
			json_error_t je;
			val = json_loads(v, JSON_DECODE_ANY, &je);
			if (!val)
				return cli_usage(a, "--%s is not valid JSON: %s (column %d)", f->name, je.text,
						 je.column);
		} else {
			val = json_string(v);
		}
		json_object_set_new(obj, f->field, val);
	}
	return CLI_OK;
}
