/* flywheel invoice show: the monthly Operations-on-Demand statement of an account. */
#include "cli/cli_invoice.h"

#include "cli/cli_args.h"
#include "cli/cli_http.h"
#include "cli/cli_out.h"
#include "util/buf.h"

#include <stdio.h>
#include <string.h>

static void blocks(const json_t *l, struct buf *out)
{
	buf_printf(out, "%lld/%lld", (long long)json_integer_value(json_object_get(l, "billed_blocks")),
	           (long long)json_integer_value(json_object_get(l, "allocated_blocks")));
}

static void amount(const json_t *l, struct buf *out)
{
	buf_printf(out, "%s %s", json_string_value(json_object_get(l, "amount")),
	           json_string_value(json_object_get(l, "currency")));
}

static const struct cli_col line_cols[] = {
    {"OFFERING", "offering", 0, NULL},     {"ACCOUNT", "account", 0, NULL},
    {"ENGAGEMENT", "engagement", 0, NULL}, {"HOURS", "hours_used", 0, NULL},
    {"BILLED/ALLOCATED", NULL, 0, blocks}, {"RATE", "rate_per_block", 0, NULL},
    {"AMOUNT", NULL, 0, amount},           {NULL},
};

static const struct cli_col wl_cols[] = {
    {"WORKLOG", "id", 0, NULL},
    {"START", "start", CLI_COL_TIME, NULL},
    {"HOURS", "hours", 0, NULL},
    {"OPERATOR", "operator", 0, NULL},
    {"TICKET", "ticket", 0, NULL},
    {"DESCRIPTION", "description", CLI_COL_TRUNC, NULL},
    {NULL},
};

static const struct cli_flag show_flags[] = {
    {"account", NULL, CLI_STR, CLI_F_REQUIRED, "ID",
     "the account (a management account includes its members)"},
    {"month", NULL, CLI_STR, CLI_F_REQUIRED, "YYYY-MM", "the calendar month, in the account's time zone"},
    {"format", NULL, CLI_STR, 0, "FORMAT", "table (default), json, csv or html"},
    {NULL},
};

static int show(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	const char *format = cli_arg(a, "format");
	if (!format)
		format = c->json ? "json" : "table";
	if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "csv") &&
	    strcmp(format, "html"))
		return cli_usage(a, "--format must be table, json, csv or html, not '%s'", format);
	struct buf p = BUF_INIT(1 << 12);
	buf_puts(&p, "/api/v1/invoices");
	cli_query(&p, "account", cli_arg(a, "account"));
	cli_query(&p, "month", cli_arg(a, "month"));
	if (strcmp(format, "table"))
		cli_query(&p, "format", format);
	struct cli_resp r = CLI_RESP_INIT;
	int rc = cli_call(c, "GET", buf_str(&p), NULL, &r);
	buf_release(&p);
	if (rc)
		return rc;
	if (strcmp(format, "table")) {
		fwrite(r.body, 1, r.len, stdout);
		if (r.len && r.body[r.len - 1] != '\n')
			putchar('\n');
		cli_resp_release(&r);
		return CLI_OK;
	}
	json_t *lines = json_object_get(r.json, "lines");
	printf("Statement of account %s for %s\n\n", json_string_value(json_object_get(r.json, "account")),
	       json_string_value(json_object_get(r.json, "month")));
	if (!json_array_size(lines))
		printf("No engagement was allocated this month.\n");
	else
		cli_table(line_cols, lines);
	const char *cur;
	json_t *v;
	json_object_foreach(json_object_get(r.json, "totals"), cur, v)
	    printf("\nTotal: %s %s\n", json_string_value(v), cur);
	for (size_t i = 0; i < json_array_size(lines); i++) {
		json_t *l = json_array_get(lines, i), *wl = json_object_get(l, "worklogs");
		if (!json_array_size(wl))
			continue;
		printf("\n%s for %s (%s):\n", json_string_value(json_object_get(l, "offering")),
		       json_string_value(json_object_get(l, "account")),
		       json_string_value(json_object_get(l, "engagement")));
		cli_table(wl_cols, wl);
	}
	cli_resp_release(&r);
	return CLI_OK;
}

static const struct cli_cmd invoice_cmds[] = {
    {"show",
     "",
     "Show an account's monthly statement: allocated, used and billed blocks, with work logs",
     0,
     0,
     show,
     {show_flags, NULL, NULL, NULL},
     NULL,
     "A block is 20 hours valid for its calendar month; each engagement line bills the blocks that had\n"
     "hours used, and at least one. --format csv or html prints the statement in that form."},
    {NULL},
};

const struct cli_family cli_invoice_family = {"invoice", "Operations-on-Demand statements", invoice_cmds,
                                              NULL, NULL};

int cli_invoice(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	int rc = cli_family_run(&c, &cli_invoice_family, argc, argv);
	cli_release(&c);
	return rc;
}
