#ifndef FW_CLI_ARGS_H
#define FW_CLI_ARGS_H
/* Command-line parsing for the CLI, declared as tables so that parsing, request bodies and --help
 * all come from one description. A family ("incident") has commands ("create"); a command has
 * positional arguments and flag tables. Every command also takes the global flags (--url, --token,
 * --json, --verbose, --help), anywhere on the line. */

#include <jansson.h>
#include <stdbool.h>

struct cli;

enum cli_ftype {
	CLI_STR,  /* --flag VALUE, last one wins */
	CLI_LIST, /* --flag VALUE, repeatable; a body field gets a JSON array */
	CLI_BOOL, /* --flag, no value */
	CLI_INT,  /* --flag N, checked to be an integer */
	CLI_JSON, /* --flag JSON, parsed; a body field gets the JSON value */
};

#define CLI_F_NULLABLE 1u /* an empty value sends null, which clears the field */
#define CLI_F_REQUIRED 2u /* the command refuses to run without it */

struct cli_flag {
	const char *name;    /* long name without "--"; NULL ends a table */
	const char *field;   /* the request body field it fills, or NULL */
	enum cli_ftype type;
	unsigned flags;
	const char *metavar; /* shown in help: "TEXT", "ID" */
	const char *help;
};

#define CLI_MAXPOS 16
#define CLI_MAXVALS 128

struct cli_family;

/* The parsed command line of one command. Strings are borrowed from argv. */
struct cli_args {
	const struct cli_family *fam;
	const struct cli_cmd *cmd;
	int npos;
	const char *pos[CLI_MAXPOS];
	int nvals;
	struct {
		const struct cli_flag *f;
		const char *v;
	} vals[CLI_MAXVALS];
};

struct cli_cmd;
/* A command's implementation: returns an exit code (CLI_OK, CLI_EAPI, …). */
typedef int (*cli_fn)(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);

struct cli_cmd {
	const char *name;    /* NULL ends a table */
	const char *synopsis; /* positional arguments for the usage line: "ID" */
	const char *summary;  /* one line */
	int min_pos, max_pos; /* max_pos < 0: no limit */
	cli_fn fn;
	const struct cli_flag *flags[4]; /* flag tables, NULL-padded */
	const char *data;     /* for the implementation: a ticket verb's target status */
	const char *more;     /* further help paragraphs, or NULL */
};

struct cli_family {
	const char *name;
	const char *summary;
	const struct cli_cmd *cmds;
	const void *data; /* for the implementations (a ticket kind) */
	const char *more;
};

/* Runs "<family> <command> …" (argv[0] is the family name). Prints help for --help or a missing
 * command. Returns the command's exit code, or CLI_EUSAGE. */
int cli_family_run(struct cli *c, const struct cli_family *f, int argc, char **argv);
/* Parses and runs one command; argv[0] is the command name. f may be NULL for a top-level command. */
int cli_cmd_run(struct cli *c, const struct cli_family *f, const struct cli_cmd *cmd, int argc, char **argv);

/* The value of a flag (the last one given), or NULL. */
const char *cli_arg(const struct cli_args *a, const char *name);
/* True when a flag was given (for CLI_BOOL and value flags alike). */
bool cli_has(const struct cli_args *a, const char *name);
/* Adds every given flag that names a body field to obj (borrowed). Returns CLI_OK, or prints the
 * problem and returns CLI_EUSAGE (a CLI_JSON value that is not JSON). */
int cli_body(const struct cli_args *a, json_t *obj);
/* Prints "flywheel: <message>" and a pointer to --help for the command; returns CLI_EUSAGE. */
int cli_usage(const struct cli_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --limit N, --cursor C, --all: the paging flags of every list command (see cli_list). */
extern const struct cli_flag cli_page_flags[];

/* Prints the global options block of every help text. */
void cli_help_globals(void);

#endif
