/* flywheel oncall: current and next shifts of an on-call schedule, and its coverage gaps. */
#include "cli/cli_oncall.h"

#include "cli/cli_args.h"
#include "cli/cli_http.h"
#include "util/buf.h"

#include <stdio.h>
#include <string.h>

static const char *s(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "-";
}

static void print_shift(const char *label, const json_t *sh)
{
	const json_t *layer = json_object_get(sh, "layer");
	char lb[64] = "-";
	if (json_is_string(layer))
		snprintf(lb, sizeof(lb), "%s", json_string_value(layer));
	else if (json_is_integer(layer))
		snprintf(lb, sizeof(lb), "layer %lld", (long long)json_integer_value(layer));
	printf("%-8s %-20s %-26s %-26s %s\n", label, s(sh, "user"), s(sh, "start"), s(sh, "end"), lb);
}

static const struct cli_flag show_flags[] = {
	{ "at", NULL, CLI_STR, 0, "TIME", "the instant to ask about (RFC 3339); default now" },
	{ NULL },
};

static int show(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	(void)cmd;
	struct buf p = BUF_INIT(1 << 12);
	buf_puts(&p, "/api/v1/schedules/");
	cli_esc(&p, a->pos[0]);
	buf_puts(&p, "/oncall");
	cli_query(&p, "at", cli_arg(a, "at"));
	struct cli_resp r = CLI_RESP_INIT;
	int rc = cli_call(c, "GET", buf_str(&p), NULL, &r);
	buf_release(&p);
	if (rc)
		return rc;
	if (c->json) {
		fwrite(r.body, 1, r.len, stdout);
		putchar('\n');
		cli_resp_release(&r);
		return CLI_OK;
	}
	printf("Schedule %s at %s\n\n", s(r.json, "schedule"), s(r.json, "at"));
	printf("%-8s %-20s %-26s %-26s %s\n", "", "USER", "START", "END", "LAYER");
	const json_t *cur = json_object_get(r.json, "on_call");
	if (json_is_object(cur))
		print_shift("NOW", cur);
	else {
		const json_t *gap = json_object_get(r.json, "gap");
		printf("%-8s %-20s %-26s %-26s %s\n", "NOW", "(nobody: gap)", s(gap, "start"), s(gap, "end"), "-");
	}
	size_t i;
	const json_t *sh;
	json_array_foreach(json_object_get(r.json, "next"), i, sh) print_shift("NEXT", sh);
	cli_resp_release(&r);
	return CLI_OK;
}

static const struct cli_flag gaps_flags[] = {
	{ "from", NULL, CLI_STR, 0, "TIME", "start of the range (RFC 3339); default now" },
	{ "to", NULL, CLI_STR, 0, "TIME", "end of the range; default 28 days after --from" },
	{ NULL },
};

static int gaps(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	(void)cmd;
	struct buf p = BUF_INIT(1 << 12);
	buf_puts(&p, "/api/v1/schedules/");
	cli_esc(&p, a->pos[0]);
	buf_puts(&p, "/gaps");
	cli_query(&p, "from", cli_arg(a, "from"));
	cli_query(&p, "to", cli_arg(a, "to"));
	struct cli_resp r = CLI_RESP_INIT;
	int rc = cli_call(c, "GET", buf_str(&p), NULL, &r);
	buf_release(&p);
	if (rc)
		return rc;
	if (c->json) {
		fwrite(r.body, 1, r.len, stdout);
		putchar('\n');
	} else {
		const json_t *g = json_object_get(r.json, "gaps");
		if (!json_array_size(g))
			printf("No coverage gaps.\n");
		else
			printf("%-26s %-26s %s\n", "GAP START", "GAP END", "HOURS");
		size_t i;
		const json_t *x;
		json_array_foreach(g, i, x) printf("%-26s %-26s %.1f\n", s(x, "start"), s(x, "end"),
						    (double)json_integer_value(json_object_get(x, "seconds")) / 3600.0);
	}
	cli_resp_release(&r);
	return CLI_OK;
}

static const struct cli_cmd oncall_cmds[] = {
	{ "show", "SCHEDULE", "Who is on call now (or --at TIME) and the next shifts", 1, 1, show,
	  { show_flags, NULL, NULL, NULL }, NULL,
	  "Shifts come from the schedule's layers (follow-the-sun regions) and overrides; a gap means nobody\n"
	  "is on call and is shown as such, never filled in." },
	{ "gaps", "SCHEDULE", "Coverage gaps of a schedule", 1, 1, gaps, { gaps_flags, NULL, NULL, NULL }, NULL, NULL },
	{ NULL },
};

const struct cli_family cli_oncall_family = { "oncall", "on-call schedules: current and next shifts, gaps",
					      oncall_cmds, NULL, NULL };

int cli_oncall(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	int rc = cli_family_run(&c, &cli_oncall_family, argc, argv);
	cli_release(&c);
	return rc;
}
