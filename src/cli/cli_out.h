#ifndef FW_CLI_OUT_H
#define FW_CLI_OUT_H
/* Output for people (aligned tables, "field: value" blocks, short times) and for scripts (--json
 * prints the API's JSON as it came). Everything goes to stdout; errors go to stderr elsewhere. */

#include <jansson.h>
#include <stddef.h>

struct buf;
struct cli_resp;

#define CLI_COL_TIME 1u  /* an RFC 3339 time, shown as "2024-05-01 12:00" (UTC) */
#define CLI_COL_TRUNC 2u /* long text, cut at 48 characters with "…" */

struct cli_col {
	const char *title; /* NULL ends a table */
	const char *key;   /* the item's field shown in this column */
	unsigned flags;
	/* When set, computes the cell instead of key (append to out). */
	void (*fmt)(const json_t *item, struct buf *out);
};

/* Prints items (an array of objects, borrowed) as a table: a header row, then one row per item,
 * columns aligned by character count, cells kept on one line. */
void cli_table(const struct cli_col *cols, const json_t *items);

/* Appends v's text: strings as they are, numbers, true/false as yes/no, null or NULL as "-",
 * arrays of strings joined by ", ", anything else as compact JSON. */
void cli_value(struct buf *b, const json_t *v);

/* obj[key] when it is a string, else "-": for printf, which must never see NULL. Borrowed. */
const char *cli_str(const json_t *obj, const char *key);

/* Writes "2024-05-01T12:00:00.000Z" as "2024-05-01 12:00" into out; other text is copied. */
void cli_short_time(const char *s, char *out, size_t cap);

/* Prints obj as aligned "key  value" lines: the keys of order first (those present), then the
 * remaining keys in sorted order, except those in hide (both lists NULL-terminated, may be NULL). */
void cli_fields(const json_t *obj, const char *const *order, const char *const *hide);

struct cli;
struct cli_args;

/* Lists a collection: GETs path (which may carry filters already) with the --limit and --cursor
 * of a, and with --all follows next_cursor to the end. Prints a table of cols, or with --json the
 * API's JSON (with --all, one object holding every item). Returns an exit code. */
int cli_list(struct cli *c, const struct cli_args *a, const char *path, const struct cli_col *cols);
/* One action (METHOD path with body, borrowed, may be NULL): with --json the answer is printed as it
 * came, else say(a, answer) prints a line for people. Returns what cli_call() returned. */
int cli_act(struct cli *c, const char *method, const char *path, const json_t *body,
	    void (*say)(const struct cli_args *a, const json_t *answer), const struct cli_args *a);

/* Prints a response body as it came, with a final newline (for --json). */
void cli_print_raw(const struct cli_resp *r);
/* Prints a JSON value, indented (for --json output the CLI assembled itself, like --all). */
void cli_print_json(const json_t *j);

#endif
