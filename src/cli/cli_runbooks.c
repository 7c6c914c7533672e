/* flywheel runbook|execution: runbooks and their executions over /api/v1/runbooks and
 * /api/v1/executions, with live progress (run --wait, execution watch) by polling the execution. */
#include "cli/cli_args.h"
#include "cli/cli_cmds.h"
#include "cli/cli_http.h"
#include "cli/cli_out.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS_DEFAULT 300
#define POLL_MS_MIN 50

/* "/api/v1/<what>/<id>[/<suffix>]" with id escaped. */
static void opath(struct buf *b, const char *what, const char *id, const char *suffix)
{
	buf_printf(b, "/api/v1/%s", what);
	if (id) {
		buf_puts(b, "/");
		cli_esc(b, id);
	}
	if (suffix)
		buf_printf(b, "/%s", suffix);
}

/* "73ms", "1.5s", "2m05s", "1h02m". */
static void fmt_duration(json_int_t ms, char *out, size_t cap)
{
	if (ms < 1000)
		snprintf(out, cap, "%lldms", (long long)ms);
	else if (ms < 60000)
		snprintf(out, cap, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(out, cap, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
	else
		snprintf(out, cap, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
}

/* The clock part of an RFC 3339 time: "2024-05-01T12:00:01.250Z" -> "12:00:01". */
static const char *clock_of(const json_t *o, const char *key, char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, key));
	if (s && strlen(s) >= 19 && s[10] == 'T')
		snprintf(out, cap, "%.8s", s + 11);
	else
		snprintf(out, cap, "%8s", "");
	return out;
}

/* Appends argv as one line a shell would read back: words with anything but safe characters are
 * single-quoted. */
static void argv_line(struct buf *b, const json_t *argv)
{
	size_t i;
	const json_t *w;
	json_array_foreach(argv, i, w) {
		const char *s = json_is_string(w) ? json_string_value(w) : "";
		if (i)
			buf_puts(b, " ");
		if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == strlen(s)) {
			buf_puts(b, s);
			continue;
		}
		buf_puts(b, "'");
		for (; *s; s++) {
			if (*s == '\'')
				buf_puts(b, "'\\''");
			else
				buf_append(b, s, 1);
		}
		buf_puts(b, "'");
	}
}

/* ---- runbooks ---- */

static void triggers_cell(const json_t *rb, struct buf *out)
{
	size_t i;
	const json_t *t;
	json_array_foreach(json_object_get(rb, "triggers"), i, t) {
		buf_printf(out, "%s%s", i ? ", " : "", cli_str(t, "type"));
	}
	if (!json_array_size(json_object_get(rb, "triggers")))
		buf_puts(out, "-");
}

static const struct cli_col runbook_cols[] = {
	{ "NAME", "name", 0, NULL },
	{ "VERSION", "version", 0, NULL },
	{ "ACCOUNT", "account", 0, NULL },
	{ "STEPS", "steps", 0, NULL },
	{ "TRIGGERS", NULL, 0, triggers_cell },
	{ "DESCRIPTION", "description", CLI_COL_TRUNC, NULL },
	{ NULL },
};

static int rb_list(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	return cli_list(c, a, "/api/v1/runbooks", runbook_cols);
}

/* What a step does, in one line: its argv, its request, its wait or its approvers. */
static void step_action(const json_t *s, struct buf *out)
{
	const char *type = cli_str(s, "type");
	const json_t *argv = json_object_get(s, "argv") ? json_object_get(s, "argv") : json_object_get(s, "command");
	if (json_is_array(argv)) {
		argv_line(out, argv);
	} else if (json_object_get(s, "url")) {
		buf_printf(out, "%s %s", json_string_value(json_object_get(s, "method")) ? cli_str(s, "method") : "GET",
			   cli_str(s, "url"));
	} else if (!strcmp(type, "approval")) {
		json_int_t n = json_integer_value(json_object_get(s, "approvers"));
		buf_printf(out, "%lld approver%s", (long long)(n ? n : 1), n > 1 ? "s" : "");
	} else {
		json_t *rest = json_deep_copy(s);
		static const char *const drop[] = { "name", "type", "phase", "timeout_ms", "grace_ms", "max_output", NULL };
		for (int i = 0; drop[i]; i++)
			json_object_del(rest, drop[i]);
		cli_value(out, json_object_size(rest) ? rest : NULL);
		json_decref(rest);
	}
}

static void step_index(const json_t *s, struct buf *out)
{
	buf_printf(out, "%lld", (long long)json_integer_value(json_object_get(s, "n")));
}

static const struct cli_col spec_step_cols[] = {
	{ "#", NULL, 0, step_index },
	{ "STEP", "name", 0, NULL },
	{ "TYPE", "type", 0, NULL },
	{ "PHASE", "phase", 0, NULL },
	{ "ACTION", NULL, 0, step_action },
	{ NULL },
};

/* A copy of the steps (and rollback steps) with their number and phase, for spec_step_cols. */
static json_t *numbered_steps(const json_t *spec)
{
	json_t *all = json_array();
	static const char *const phases[] = { "steps", "rollback" };
	json_int_t n = 0;
	for (int p = 0; p < 2; p++) {
		size_t i;
		const json_t *s;
		json_array_foreach(json_object_get(spec, phases[p]), i, s) {
			json_t *c = json_deep_copy(s);
			json_object_set_new(c, "n", json_integer(++n));
			if (!json_object_get(c, "phase"))
				json_object_set_new(c, "phase", json_string(p ? "rollback" : "main"));
			json_array_append_new(all, c);
		}
	}
	return all;
}

static void input_spec_cell(const json_t *in, struct buf *out)
{
	bool any = false;
	static const char *const keys[] = { "default", "pattern", "values", "min", "max", NULL };
	for (int i = 0; keys[i]; i++) {
		const json_t *v = json_object_get(in, keys[i]);
		if (!v)
			continue;
		buf_printf(out, "%s%s ", any ? "; " : "", keys[i]);
		cli_value(out, v);
		any = true;
	}
	if (!any)
		buf_puts(out, "-");
}

static const struct cli_col input_cols[] = {
	{ "INPUT", "name", 0, NULL },
	{ "TYPE", "type", 0, NULL },
	{ "REQUIRED", "required", 0, NULL },
	{ "CONSTRAINTS", NULL, 0, input_spec_cell },
	{ NULL },
};

static const struct cli_flag rb_show_flags[] = {
	{ "version", NULL, CLI_INT, 0, "N", "this version instead of the current one" },
	{ "yaml", NULL, CLI_BOOL, 0, NULL, "print the runbook's source text as it was saved" },
	{ NULL },
};

static int rb_show(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	static const char *const order[] = { "name", "version", "account", "description", "source", "created_by",
					     "created_at", NULL };
	static const char *const hide[] = { "spec", "text", "breaker", NULL };
	struct buf p = BUF_INIT(1024);
	struct cli_resp r = CLI_RESP_INIT;
	opath(&p, "runbooks", a->pos[0], NULL);
	cli_query(&p, "version", cli_arg(a, "version"));
	int rc = cli_call(c, "GET", buf_str(&p), NULL, &r);
	if (rc)
		goto out;
	if (c->json) {
		cli_print_raw(&r);
		goto out;
	}
	if (cli_has(a, "yaml")) {
		const char *t = cli_str(r.json, "text");
		printf("%s%s", t, t[0] && t[strlen(t) - 1] == '\n' ? "" : "\n");
		goto out;
	}
	const json_t *spec = json_object_get(r.json, "spec");
	cli_fields(r.json, order, hide);
	const json_t *br = json_object_get(r.json, "breaker");
	if (br)
		printf("breaker      %s, %lld consecutive failure(s)\n", json_is_true(json_object_get(br, "open")) ? "OPEN" : "closed",
		       (long long)json_integer_value(json_object_get(br, "consecutive_failures")));
	const json_t *trig = json_object_get(spec, "triggers");
	if (json_array_size(trig)) {
		struct buf t = BUF_INIT(1 << 16);
		triggers_cell(spec, &t);
		printf("triggers     %s\n", buf_str(&t));
		buf_release(&t);
	}
	if (json_array_size(json_object_get(spec, "inputs"))) {
		printf("\nInputs:\n");
		cli_table(input_cols, json_object_get(spec, "inputs"));
	}
	json_t *steps = numbered_steps(spec);
	printf("\nSteps:\n");
	cli_table(spec_step_cols, steps);
	json_decref(steps);
out:
	cli_resp_release(&r);
	buf_release(&p);
	return rc;
}

/* ---- executions: progress ---- */

static bool exe_done(const char *status)
{
	return !strcmp(status, "succeeded") || !strcmp(status, "failed") || !strcmp(status, "rolled_back") ||
	       !strcmp(status, "cancelled");
}

static bool step_done(const char *status)
{
	return !strcmp(status, "succeeded") || !strcmp(status, "failed") || !strcmp(status, "skipped") ||
	       !strcmp(status, "cancelled");
}

/* What has been printed for one step record, so each poll prints only what changed. */
struct seen_step {
	bool started, ended, waiting;
	json_int_t approvals;
};

struct watch {
	struct seen_step *steps;
	size_t n;
	char status[32];
};

static void step_label(const json_t *s, struct buf *out)
{
	const char *phase = json_string_value(json_object_get(s, "phase"));
	if (phase && strcmp(phase, "main"))
		buf_printf(out, "%s: ", phase);
	buf_puts(out, cli_str(s, "name"));
}

/* Prints the news of one step record: started, waiting (approvals so far), ended. */
static void watch_step(struct seen_step *w, const json_t *s)
{
	const char *st = cli_str(s, "status");
	char at[16];
	struct buf name = BUF_INIT(1024);
	step_label(s, &name);
	if (!strcmp(st, "skipped")) {
		if (!w->ended)
			printf("%8s %s skipped\n", "", buf_str(&name));
		w->ended = true;
		goto out;
	}
	if (!w->started) {
		printf("%s %s started (%s)\n", clock_of(s, "started_at", at, sizeof(at)), buf_str(&name), cli_str(s, "type"));
		w->started = true;
	}
	if (!strcmp(st, "waiting") && !w->ended) {
		json_int_t have = json_integer_value(json_object_get(s, "approvals"));
		const json_t *need = json_object_get(s, "approvals_needed");
		if (need && (!w->waiting || have != w->approvals))
			printf("%8s %s waiting for approval (%lld of %lld)\n", "", buf_str(&name), (long long)have,
			       (long long)json_integer_value(need));
		else if (!need && !w->waiting)
			printf("%8s %s waiting\n", "", buf_str(&name));
		w->waiting = true;
		w->approvals = have;
	}
	if (step_done(st) && !w->ended) {
		struct buf line = BUF_INIT(1 << 12);
		const json_t *ec = json_object_get(s, "exit_code");
		const json_t *sig = json_object_get(s, "signal");
		const json_t *dur = json_object_get(s, "duration_ms");
		buf_printf(&line, "%s %s %s", clock_of(s, "ended_at", at, sizeof(at)), buf_str(&name), st);
		const char *sep = ": ";
		if (json_is_integer(ec)) {
			buf_printf(&line, "%sexit %lld", sep, (long long)json_integer_value(ec));
			sep = ", ";
		}
		if (json_is_integer(sig) && json_integer_value(sig)) {
			buf_printf(&line, "%ssignal %lld", sep, (long long)json_integer_value(sig));
			sep = ", ";
		}
		if (json_is_true(json_object_get(s, "timed_out"))) {
			buf_printf(&line, "%stimed out", sep);
			sep = ", ";
		}
		if (json_is_integer(dur)) {
			char d[32];
			fmt_duration(json_integer_value(dur), d, sizeof(d));
			buf_printf(&line, "%s%s", sep, d);
		}
		if (json_string_value(json_object_get(s, "error")))
			buf_printf(&line, " (%s)", cli_str(s, "error"));
		puts(buf_str(&line));
		buf_release(&line);
		w->ended = true;
	}
out:
	buf_release(&name);
}

/* Prints what changed since the last poll. Returns false when out of memory. */
static bool watch_update(struct watch *w, const json_t *exe)
{
	const char *st = cli_str(exe, "status");
	if (!w->status[0])
		printf("%s (runbook %s): %s\n", cli_str(exe, "id"), cli_str(exe, "runbook"), st);
	else if (strcmp(w->status, st) && !strcmp(st, "rolling_back"))
		printf("%s: rolling back\n", cli_str(exe, "id"));
	else if (!strcmp(w->status, "queued") && !exe_done(st) && strcmp(st, "queued"))
		printf("%s: %s\n", cli_str(exe, "id"), st);
	snprintf(w->status, sizeof(w->status), "%s", st);
	const json_t *steps = json_object_get(exe, "steps");
	size_t n = json_array_size(steps);
	if (n > w->n) {
		struct seen_step *ns = realloc(w->steps, n * sizeof(*ns));
		if (!ns)
			return false;
		memset(ns + w->n, 0, (n - w->n) * sizeof(*ns));
		w->steps = ns;
		w->n = n;
	}
	for (size_t i = 0; i < n; i++)
		watch_step(&w->steps[i], json_array_get(steps, i));
	fflush(stdout);
	return true;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The final line of a watch: how it ended and why. */
static void watch_final(const json_t *exe)
{
	const char *st = cli_str(exe, "status");
	struct buf line = BUF_INIT(1 << 12);
	buf_printf(&line, "%s %s", cli_str(exe, "id"), st);
	const char *s0 = json_string_value(json_object_get(exe, "started_at"));
	const char *s1 = json_string_value(json_object_get(exe, "ended_at"));
	/* Both times come from the daemon's clock in the same form, so the difference is exact. */
	struct tm a = { 0 }, b = { 0 };
	int ams = 0, bms = 0;
	if (s0 && s1 && strptime(s0, "%Y-%m-%dT%H:%M:%S", &a) && strptime(s1, "%Y-%m-%dT%H:%M:%S", &b)) {
		if (strlen(s0) >= 23 && s0[19] == '.')
			ams = atoi(s0 + 20);
		if (strlen(s1) >= 23 && s1[19] == '.')
			bms = atoi(s1 + 20);
		json_int_t ms = (json_int_t)(timegm(&b) - timegm(&a)) * 1000 + bms - ams;
		char d[32];
		fmt_duration(ms, d, sizeof(d));
		buf_printf(&line, " in %s", d);
	}
	if (json_string_value(json_object_get(exe, "reason")))
		buf_printf(&line, ": %s", cli_str(exe, "reason"));
	puts(buf_str(&line));
	buf_release(&line);
}

/* Polls GET /api/v1/executions/{id} every interval_ms until the execution ends, printing each step
 * as it starts and ends (with --json: only the final execution). Returns CLI_OK when it succeeded,
 * CLI_EAPI when it failed, rolled back or was cancelled, or the error of a failed request. */
static int watch_execution(struct cli *c, const char *id, long interval_ms)
{
	struct buf p = BUF_INIT(1024);
	struct cli_resp r = CLI_RESP_INIT;
	struct watch w = { 0 };
	int rc;
	opath(&p, "executions", id, NULL);
	for (;;) {
		cli_resp_release(&r);
		if ((rc = cli_call(c, "GET", buf_str(&p), NULL, &r)))
			goto out;
		if (!json_is_object(r.json)) {
			cli_err("%s did not answer with an execution", buf_str(&p));
			rc = CLI_EAPI;
			goto out;
		}
		if (!c->json && !watch_update(&w, r.json)) {
			cli_err("out of memory");
			rc = CLI_EAPI;
			goto out;
		}
		if (exe_done(cli_str(r.json, "status")))
			break;
		sleep_ms(interval_ms);
	}
	if (c->json)
		cli_print_raw(&r);
	else
		watch_final(r.json);
	rc = !strcmp(cli_str(r.json, "status"), "succeeded") ? CLI_OK : CLI_EAPI;
out:
	fflush(stdout);
	free(w.steps);
	cli_resp_release(&r);
	buf_release(&p);
	return rc;
}

static int interval_of(const struct cli_args *a, long *out)
{
	const char *v = cli_arg(a, "interval");
	*out = v ? atol(v) : POLL_MS_DEFAULT;
	if (*out < POLL_MS_MIN)
		return cli_usage(a, "--interval must be at least %d ms", POLL_MS_MIN);
	return CLI_OK;
}

/* ---- runbook run ---- */

static const struct cli_flag run_flags[] = {
	{ "input", NULL, CLI_LIST, 0, "NAME=VALUE", "an input of the runbook" },
	{ "dry-run", NULL, CLI_BOOL, 0, NULL, "render the steps with the inputs and print them; run nothing" },
	{ "ticket", "ticket", CLI_STR, 0, "ID", "the ticket the execution works for (INC-4, CHG-2 …)" },
	{ "account", "account", CLI_STR, 0, "ID", "the account it runs for (runbooks for every account)" },
	{ "wait", NULL, CLI_BOOL, 0, NULL, "follow the execution until it ends; exit 0 only if it succeeded" },
	{ "interval", NULL, CLI_INT, 0, "MS", "with --wait: poll every MS milliseconds (default 300)" },
	{ NULL },
};

/* Turns "--input k=v" into inputs[k], typed by the runbook's declaration (int, number, bool) so
 * that "--input count=3" sends 3, not "3". Undeclared names go as strings; the daemon names them. */
static int inputs_body(const struct cli_args *a, const json_t *spec, json_t *inputs)
{
	for (int i = 0; i < a->nvals; i++) {
		if (strcmp(a->vals[i].f->name, "input"))
			continue;
		const char *kv = a->vals[i].v, *eq = strchr(kv, '=');
		if (!eq || eq == kv)
			return cli_usage(a, "--input wants NAME=VALUE, not '%s'", kv);
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)(eq - kv), kv);
		const char *v = eq + 1, *type = "string";
		size_t k;
		const json_t *in;
		json_array_foreach(json_object_get(spec, "inputs"), k, in) {
			if (!strcmp(cli_str(in, "name"), name))
				type = cli_str(in, "type");
		}
		json_t *val = NULL;
		char *end;
		if (!strcmp(type, "int")) {
			long long n = strtoll(v, &end, 10);
			if (*v && !*end)
				val = json_integer(n);
		} else if (!strcmp(type, "number")) {
			double d = strtod(v, &end);
			if (*v && !*end)
				val = json_real(d);
		} else if (!strcmp(type, "bool")) {
			if (!strcmp(v, "true") || !strcmp(v, "false"))
				val = json_boolean(!strcmp(v, "true"));
		}
		if (!val && strcmp(type, "string") && strcmp(type, "enum"))
			return cli_usage(a, "input '%s' is of type %s; '%s' is not one", name, type, v);
		json_object_set_new(inputs, name, val ? val : json_string(v));
	}
	return CLI_OK;
}

static void print_plan(const json_t *r)
{
	printf("dry run of %s version %lld: nothing was run\n", cli_str(r, "runbook"),
	       (long long)json_integer_value(json_object_get(r, "version")));
	const json_t *in = json_object_get(r, "inputs");
	if (json_object_size(in)) {
		struct buf b = BUF_INIT(1 << 16);
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)in, k, v) {
			buf_printf(&b, "%s%s=", buf_str(&b)[0] ? " " : "", k);
			cli_value(&b, v);
		}
		printf("inputs: %s\n", buf_str(&b));
		buf_release(&b);
	}
	json_t *plan = json_deep_copy(json_object_get(r, "plan"));
	size_t i;
	json_t *s;
	json_array_foreach(plan, i, s) {
		json_object_set_new(s, "n", json_integer((json_int_t)i + 1));
	}
	printf("\n");
	cli_table(spec_step_cols, plan);
	json_decref(plan);
	if (json_is_false(json_object_get(r, "would_run")))
		printf("\nthe automation kill switch is on: a real run would be refused now\n");
}

static int rb_run(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1024);
	struct cli_resp spec = CLI_RESP_INIT, r = CLI_RESP_INIT;
	json_t *body = json_object(), *inputs = json_object();
	long interval = 0;
	int rc = cli_body(a, body);
	if (rc || (rc = interval_of(a, &interval)))
		goto out;
	if (cli_has(a, "dry-run") && cli_has(a, "wait")) {
		rc = cli_usage(a, "--dry-run runs nothing, so there is nothing to --wait for");
		goto out;
	}
	if (cli_has(a, "input")) {
		/* The declaration tells how to type each value. */
		opath(&p, "runbooks", a->pos[0], NULL);
		if ((rc = cli_call(c, "GET", buf_str(&p), NULL, &spec)))
			goto out;
		if ((rc = inputs_body(a, json_object_get(spec.json, "spec"), inputs)))
			goto out;
		json_object_set(body, "inputs", inputs);
	}
	if (cli_has(a, "dry-run"))
		json_object_set_new(body, "dry_run", json_true());
	buf_reset(&p);
	opath(&p, "runbooks", a->pos[0], "executions");
	if ((rc = cli_call(c, "POST", buf_str(&p), body, &r)))
		goto out;
	if (cli_has(a, "dry-run")) {
		if (c->json)
			cli_print_raw(&r);
		else
			print_plan(r.json);
		goto out;
	}
	const char *id = cli_str(r.json, "id");
	if (cli_has(a, "wait")) {
		char idc[64];
		snprintf(idc, sizeof(idc), "%s", id);
		cli_resp_release(&r);
		rc = watch_execution(c, idc, interval);
		goto out;
	}
	if (c->json)
		cli_print_raw(&r);
	else
		printf("%s queued (runbook %s); follow it with: flywheel execution watch %s\n", id, a->pos[0], id);
out:
	json_decref(inputs);
	json_decref(body);
	cli_resp_release(&spec);
	cli_resp_release(&r);
	buf_release(&p);
	return rc;
}

/* ---- approvals ---- */

static const struct cli_flag approve_flags[] = {
	{ "comment", "comment", CLI_STR, 0, "TEXT", "comment recorded with the approval" },
	{ NULL },
};

static int exe_approve(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1024);
	struct cli_resp r = CLI_RESP_INIT;
	json_t *body = json_object();
	int rc = cli_body(a, body);
	if (rc)
		goto out;
	opath(&p, "executions", a->pos[0], "approvals");
	if ((rc = cli_call(c, "POST", buf_str(&p), body, &r)))
		goto out;
	if (c->json)
		cli_print_raw(&r);
	else
		printf("%s: step %s approved (%lld of %lld)\n", cli_str(r.json, "execution"), cli_str(r.json, "step"),
		       (long long)json_integer_value(json_object_get(r.json, "approvals")),
		       (long long)json_integer_value(json_object_get(r.json, "needed")));
out:
	cli_resp_release(&r);
	json_decref(body);
	buf_release(&p);
	return rc;
}

#define APPROVE_MORE                                                                                        \
	"Approves the approval step an execution is waiting at (status waiting_approval). It needs the\n"   \
	"approver role; whoever started the execution may not approve it, and each approver counts once."

#define WAIT_MORE                                                                                           \
	"With --wait, prints each step as it starts and ends (name, status, exit code, duration) until\n"   \
	"the execution ends; exits 0 when it succeeded, 1 when it failed, rolled back or was cancelled.\n"  \
	"Ctrl-C stops watching, not the execution. Input values are typed by the runbook's declaration."

static const struct cli_cmd runbook_cmds[] = {
	{ "list", NULL, "List runbooks (current versions)", 0, 0, rb_list, { NULL }, NULL, NULL },
	{ "show", "NAME", "Show a runbook: inputs, steps, breaker", 1, 1, rb_show, { rb_show_flags }, NULL, NULL },
	{ "run", "NAME", "Run a runbook by hand (or --dry-run it)", 1, 1, rb_run, { run_flags }, NULL, WAIT_MORE },
	{ "approve", "EXECUTION", "Approve the step an execution waits at", 1, 1, exe_approve, { approve_flags }, NULL,
	  APPROVE_MORE },
	{ NULL },
};

const struct cli_family cli_runbook_family = {
	"runbook", "Runbooks: list, inspect, run (with live progress)", runbook_cmds, NULL,
	"Runbooks are saved through the API (POST /api/v1/runbooks) or loaded from runbooks.d.\n"
	"See docs/automation.md for the file format."
};

/* ---- executions ---- */

static const struct cli_flag exe_list_flags[] = {
	{ "runbook", NULL, CLI_STR, 0, "NAME", "only this runbook's" },
	{ "status", NULL, CLI_STR, 0, "STATUS", "only this status (running, failed …)" },
	{ "trigger", NULL, CLI_STR, 0, "manual|alarm|diagnostics|change", "only this trigger" },
	{ "ticket", NULL, CLI_STR, 0, "ID", "only those working for this ticket" },
	{ "account", NULL, CLI_STR, 0, "ID", "only this account's" },
	{ NULL },
};

static void exe_duration_cell(const json_t *e, struct buf *out)
{
	const json_t *steps = json_object_get(e, "steps");
	json_int_t ms = 0;
	size_t i;
	const json_t *s;
	json_array_foreach(steps, i, s) {
		ms += json_integer_value(json_object_get(s, "duration_ms"));
	}
	if (!json_array_size(steps)) {
		buf_puts(out, "-");
		return;
	}
	char d[32];
	fmt_duration(ms, d, sizeof(d));
	buf_puts(out, d);
}

static const struct cli_col exe_cols[] = {
	{ "ID", "id", 0, NULL },
	{ "RUNBOOK", "runbook", 0, NULL },
	{ "STATUS", "status", 0, NULL },
	{ "TRIGGER", "trigger", 0, NULL },
	{ "ACCOUNT", "account", 0, NULL },
	{ "TICKET", "ticket", 0, NULL },
	{ "CREATED", "created_at", CLI_COL_TIME, NULL },
	{ "STEP TIME", NULL, 0, exe_duration_cell },
	{ "REASON", "reason", CLI_COL_TRUNC, NULL },
	{ NULL },
};

static int exe_list(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	static const char *const filters[] = { "runbook", "status", "trigger", "ticket", "account" };
	struct buf p = BUF_INIT(1 << 14);
	buf_puts(&p, "/api/v1/executions");
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		cli_query(&p, filters[i], cli_arg(a, filters[i]));
	int rc = cli_list(c, a, buf_str(&p), exe_cols);
	buf_release(&p);
	return rc;
}

static void exit_cell(const json_t *s, struct buf *out)
{
	const json_t *ec = json_object_get(s, "exit_code"), *sig = json_object_get(s, "signal");
	if (json_is_integer(sig) && json_integer_value(sig))
		buf_printf(out, "signal %lld", (long long)json_integer_value(sig));
	else
		cli_value(out, ec);
}

static void duration_cell(const json_t *s, struct buf *out)
{
	const json_t *d = json_object_get(s, "duration_ms");
	char t[32];
	if (!json_is_integer(d)) {
		buf_puts(out, "-");
		return;
	}
	fmt_duration(json_integer_value(d), t, sizeof(t));
	buf_puts(out, t);
}

static void started_cell(const json_t *s, struct buf *out)
{
	char at[16];
	clock_of(s, "started_at", at, sizeof(at));
	buf_puts(out, at[0] != ' ' ? at : "-");
}

static void note_cell(const json_t *s, struct buf *out)
{
	if (json_object_get(s, "approvals_needed"))
		buf_printf(out, "approvals %lld of %lld", (long long)json_integer_value(json_object_get(s, "approvals")),
			   (long long)json_integer_value(json_object_get(s, "approvals_needed")));
	else if (json_is_true(json_object_get(s, "timed_out")))
		buf_puts(out, "timed out");
	else if (json_string_value(json_object_get(s, "error")))
		buf_puts(out, cli_str(s, "error"));
	else
		buf_puts(out, "-");
}

static const struct cli_col exe_step_cols[] = {
	{ "STEP", "name", 0, NULL },
	{ "TYPE", "type", 0, NULL },
	{ "PHASE", "phase", 0, NULL },
	{ "STATUS", "status", 0, NULL },
	{ "EXIT", NULL, 0, exit_cell },
	{ "STARTED", NULL, 0, started_cell },
	{ "DURATION", NULL, 0, duration_cell },
	{ "NOTE", NULL, CLI_COL_TRUNC, note_cell },
	{ NULL },
};

static const struct cli_flag exe_show_flags[] = {
	{ "output", NULL, CLI_BOOL, 0, NULL, "also print each step's captured stdout and stderr" },
	{ NULL },
};

static void print_stream(const json_t *s, const char *stream)
{
	const char *t = json_string_value(json_object_get(s, stream));
	if (!t || !*t)
		return;
	printf("\n--- %s %s%s ---\n%s%s", cli_str(s, "name"), stream,
	       json_is_true(json_object_get(s, "truncated")) ? " (truncated)" : "", t, t[strlen(t) - 1] == '\n' ? "" : "\n");
}

static int exe_show(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	static const char *const order[] = { "id", "runbook", "version", "status", "reason", "failed_step", "trigger",
					     "account", "ticket", "alarm", "resource", "inputs", "created_by",
					     "created_at", "started_at", "ended_at", NULL };
	static const char *const hide[] = { "steps", NULL };
	struct buf p = BUF_INIT(1024);
	struct cli_resp r = CLI_RESP_INIT;
	opath(&p, "executions", a->pos[0], NULL);
	int rc = cli_call(c, "GET", buf_str(&p), NULL, &r);
	if (rc)
		goto out;
	if (c->json) {
		cli_print_raw(&r);
		goto out;
	}
	cli_fields(r.json, order, hide);
	const json_t *steps = json_object_get(r.json, "steps");
	printf("\nSteps:\n");
	cli_table(exe_step_cols, steps);
	if (cli_has(a, "output")) {
		size_t i;
		const json_t *s;
		json_array_foreach(steps, i, s) {
			print_stream(s, "stdout");
			print_stream(s, "stderr");
		}
	}
out:
	cli_resp_release(&r);
	buf_release(&p);
	return rc;
}

static void say_cancel(const struct cli_args *a, const json_t *answer)
{
	printf("%s: cancel requested; the running step gets SIGTERM, then SIGKILL\n", a->pos[0]);
}

static int exe_cancel(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1024);
	opath(&p, "executions", a->pos[0], "cancel");
	int rc = cli_act(c, "POST", buf_str(&p), NULL, say_cancel, a);
	buf_release(&p);
	return rc;
}

static const struct cli_flag watch_flags[] = {
	{ "interval", NULL, CLI_INT, 0, "MS", "poll every MS milliseconds (default 300)" },
	{ NULL },
};

static int exe_watch(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	long interval;
	int rc = interval_of(a, &interval);
	return rc ? rc : watch_execution(c, a->pos[0], interval);
}

static const struct cli_cmd execution_cmds[] = {
	{ "list", NULL, "List executions, newest first", 0, 0, exe_list, { exe_list_flags, cli_page_flags }, NULL,
	  NULL },
	{ "show", "ID", "Show an execution and its steps", 1, 1, exe_show, { exe_show_flags }, NULL, NULL },
	{ "watch", "ID", "Follow an execution step by step until it ends", 1, 1, exe_watch, { watch_flags }, NULL,
	  "Prints each step as it starts and ends (name, status, exit code, duration), then how the\n"
	  "execution ended. Exits 0 when it succeeded, 1 when it failed, rolled back or was cancelled.\n"
	  "With --json, prints only the final execution. Ctrl-C stops watching, not the execution." },
	{ "cancel", "ID", "Cancel a queued, running or waiting execution", 1, 1, exe_cancel, { NULL }, NULL, NULL },
	{ "approve", "ID", "Approve the step the execution waits at", 1, 1, exe_approve, { approve_flags }, NULL,
	  APPROVE_MORE },
	{ NULL },
};

const struct cli_family cli_execution_family = {
	"execution", "Runbook executions: list, inspect, watch live, cancel, approve", execution_cmds, NULL,
	"Statuses: queued -> running <-> waiting_approval -> succeeded | failed | rolling_back ->\n"
	"rolled_back | failed; cancelled on request."
};
