/* flywheel event|alarm|silence: send native events (POST /api/v1/events), list and show alarms
 * (/api/v1/alarms), and manage silences (/api/v1/silences, Alertmanager's model). */
#include "cli/cli_args.h"
#include "cli/cli_cmds.h"
#include "cli/cli_http.h"
#include "cli/cli_out.h"
#include "util/buf.h"

#include <stdio.h>
#include <string.h>

/* Every "--<flag> NAME=VALUE" of a into obj[NAME] = "VALUE". Returns CLI_OK or a usage error. */
static int kv_object(const struct cli_args *a, const char *flag, json_t *obj)
{
	for (int i = 0; i < a->nvals; i++) {
		if (strcmp(a->vals[i].f->name, flag))
			continue;
		const char *kv = a->vals[i].v, *eq = strchr(kv, '=');
		if (!eq || eq == kv)
			return cli_usage(a, "--%s wants NAME=VALUE, not '%s'", flag, kv);
		json_object_setn_new(obj, kv, (size_t)(eq - kv), json_string(eq + 1));
	}
	return CLI_OK;
}

/* Appends a label value quoted as in PromQL: "a\"b". */
static void quoted(struct buf *out, const char *s)
{
	buf_puts(out, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_puts(out, "\\");
		buf_append(out, s, 1);
	}
	buf_puts(out, "\"");
}

/* name="value", … in key order, leaving out skip (may be NULL). */
static void labels_line(const json_t *labels, const char *skip, struct buf *out)
{
	const char *k;
	json_t *v;
	bool any = false;
	json_object_foreach((json_t *)labels, k, v) {
		if (skip && !strcmp(k, skip))
			continue;
		buf_printf(out, "%s%s=", any ? ", " : "", k);
		quoted(out, json_is_string(v) ? json_string_value(v) : "");
		any = true;
	}
	if (!any)
		buf_puts(out, "-");
}

/* ---- event send ---- */

static const struct cli_flag send_flags[] = {
	{ "account", "account", CLI_STR, 0, "ID", "the account (else the token's only account)" },
	{ "label", NULL, CLI_LIST, 0, "NAME=VALUE", "a label; the labels are the alarm's identity" },
	{ "annotation", NULL, CLI_LIST, 0, "NAME=VALUE", "an annotation (not part of the identity)" },
	{ "name", "name", CLI_STR, 0, "NAME", "the alert's name (label alertname)" },
	{ "resource", "resource", CLI_STR, 0, "RESOURCE", "the resource it is about (label resource)" },
	{ "severity", "severity", CLI_STR, 0, "critical|high|medium|low|info", "severity" },
	{ "summary", "summary", CLI_STR, 0, "TEXT", "one-line summary (annotation summary)" },
	{ "description", "description", CLI_STR, 0, "TEXT", "details (annotation description)" },
	{ "resolve", NULL, CLI_BOOL, 0, NULL, "the condition is over: resolve the alarm" },
	{ NULL },
};

static int ev_send(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct cli_resp r = CLI_RESP_INIT;
	json_t *body = json_object(), *labels = json_object(), *annotations = json_object();
	int rc = cli_body(a, body);
	if (rc || (rc = kv_object(a, "label", labels)) || (rc = kv_object(a, "annotation", annotations)))
		goto out;
	if (!json_object_size(labels) && !cli_has(a, "name") && !cli_has(a, "resource")) {
		rc = cli_usage(a, "an event needs labels: give --label NAME=VALUE (or --name, --resource)");
		goto out;
	}
	if (json_object_size(labels))
		json_object_set(body, "labels", labels);
	if (json_object_size(annotations))
		json_object_set(body, "annotations", annotations);
	json_object_set_new(body, "status", json_string(cli_has(a, "resolve") ? "resolved" : "firing"));
	if ((rc = cli_call(c, "POST", "/api/v1/events", body, &r)))
		goto out;
	if (c->json) {
		cli_print_raw(&r);
		goto out;
	}
	size_t i;
	const json_t *it;
	json_array_foreach(json_object_get(r.json, "items"), i, it) {
		const json_t *inc = json_object_get(it, "incident"), *sup = json_object_get(it, "suppressed");
		printf("alarm %s %s (account %s)", cli_str(it, "fingerprint"), cli_str(it, "status"), cli_str(it, "account"));
		if (json_is_string(sup))
			printf(": suppressed (%s)", json_string_value(sup));
		if (json_is_string(inc))
			printf("%s incident %s", json_is_string(sup) ? "," : ":", json_string_value(inc));
		else if (!json_is_string(sup) && !strcmp(cli_str(it, "status"), "firing"))
			printf(": no incident");
		printf("\n");
	}
out:
	cli_resp_release(&r);
	json_decref(annotations);
	json_decref(labels);
	json_decref(body);
	return rc;
}

static const struct cli_cmd event_cmds[] = {
	{ "send", NULL, "Send one event (firing, or --resolve)", 0, 0, ev_send, { send_flags }, NULL,
	  "The labels (with --name as alertname and --resource as resource) identify the alarm: the same\n"
	  "labels again refresh it, --resolve with the same labels resolves it. Prints the alarm's\n"
	  "fingerprint, its status and the incident it opened or joined (or why it was suppressed).\n"
	  "Example: flywheel event send --account 123456789012 --label alertname=DiskFull \\\n"
	  "           --label host=db1 --severity high --annotation summary='92% used'" },
	{ NULL },
};

const struct cli_family cli_event_family = { "event", "Events: send one to the alarm pipeline", event_cmds, NULL,
					     NULL };

/* ---- alarms ---- */

static void alertname_cell(const json_t *al, struct buf *out)
{
	buf_puts(out, cli_str(json_object_get(al, "labels"), "alertname"));
}

static void other_labels_cell(const json_t *al, struct buf *out)
{
	labels_line(json_object_get(al, "labels"), "alertname", out);
}

static const struct cli_col alarm_cols[] = {
	{ "FINGERPRINT", "fingerprint", 0, NULL },
	{ "STATUS", "status", 0, NULL },
	{ "SEVERITY", "severity", 0, NULL },
	{ "ACCOUNT", "account", 0, NULL },
	{ "ALERTNAME", NULL, 0, alertname_cell },
	{ "INCIDENT", "incident", 0, NULL },
	{ "COUNT", "count", 0, NULL },
	{ "LAST SEEN", "last_seen", CLI_COL_TIME, NULL },
	{ "SUPPRESSED", "suppressed_by", 0, NULL },
	{ "LABELS", NULL, CLI_COL_TRUNC, other_labels_cell },
	{ NULL },
};

static const struct cli_flag alarm_list_flags[] = {
	{ "status", NULL, CLI_STR, 0, "firing|resolved|all", "which alarms (default firing)" },
	{ "filter", NULL, CLI_STR, 0, "MATCHERS", "label matchers, e.g. 'alertname=\"DiskFull\",host=~\"db.*\"'" },
	{ "account", NULL, CLI_STR, 0, "ID", "only this account's" },
	{ NULL },
};

static int al_list(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1 << 14);
	buf_puts(&p, "/api/v1/alarms");
	cli_query(&p, "status", cli_arg(a, "status"));
	cli_query(&p, "filter", cli_arg(a, "filter"));
	cli_query(&p, "account", cli_arg(a, "account"));
	int rc = cli_list(c, a, buf_str(&p), alarm_cols);
	buf_release(&p);
	return rc;
}

static int al_show(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	static const char *const order[] = { "fingerprint", "status", "severity", "account", "incident", "source",
					     "rule",        "count",  "first_seen", "starts_at", "last_seen", "ends_at",
					     "suppressed_by", "silenced_by", "inhibited_by", "flapping", NULL };
	static const char *const hide[] = { "labels", "annotations", NULL };
	struct buf p = BUF_INIT(1024);
	struct cli_resp r = CLI_RESP_INIT;
	buf_puts(&p, "/api/v1/alarms/");
	cli_esc(&p, a->pos[0]);
	int rc = cli_call(c, "GET", buf_str(&p), NULL, &r);
	if (rc)
		goto out;
	if (c->json) {
		cli_print_raw(&r);
		goto out;
	}
	cli_fields(r.json, order, hide);
	static const char *const groups[] = { "labels", "annotations" };
	for (int g = 0; g < 2; g++) {
		const json_t *o = json_object_get(r.json, groups[g]);
		if (!json_object_size(o))
			continue;
		printf("\n%c%s:\n", groups[g][0] - 'a' + 'A', groups[g] + 1);
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)o, k, v) {
			struct buf b = BUF_INIT(1 << 16);
			cli_value(&b, v);
			printf("  %s=%s\n", k, buf_str(&b));
			buf_release(&b);
		}
	}
out:
	cli_resp_release(&r);
	buf_release(&p);
	return rc;
}

static const struct cli_cmd alarm_cmds[] = {
	{ "list", NULL, "List alarms (firing by default)", 0, 0, al_list, { alarm_list_flags, cli_page_flags }, NULL,
	  NULL },
	{ "show", "FINGERPRINT", "Show one alarm: state, labels, annotations, what suppresses it", 1, 1, al_show,
	  { NULL }, NULL, NULL },
	{ NULL },
};

const struct cli_family cli_alarm_family = {
	"alarm", "Alarms: deduplicated events, by fingerprint", alarm_cmds, NULL,
	"An alarm is every event with the same labels; its fingerprint is Alertmanager's. Send events\n"
	"with 'flywheel event send', or from Prometheus, PagerDuty senders, SNS and EventBridge."
};

/* ---- silences ---- */

static void matchers_line(const json_t *ms, struct buf *out)
{
	size_t i;
	const json_t *m;
	json_array_foreach(ms, i, m) {
		bool eq = json_is_true(json_object_get(m, "isEqual")), re = json_is_true(json_object_get(m, "isRegex"));
		buf_printf(out, "%s%s%s", i ? ", " : "", cli_str(m, "name"), eq ? (re ? "=~" : "=") : (re ? "!~" : "!="));
		quoted(out, cli_str(m, "value"));
	}
	if (!json_array_size(ms))
		buf_puts(out, "-");
}

static void matchers_cell(const json_t *s, struct buf *out)
{
	matchers_line(json_object_get(s, "matchers"), out);
}

static const struct cli_col silence_cols[] = {
	{ "ID", "id", 0, NULL },
	{ "STATUS", "status", 0, NULL },
	{ "ACCOUNT", "account", 0, NULL },
	{ "STARTS", "starts_at", CLI_COL_TIME, NULL },
	{ "ENDS", "ends_at", CLI_COL_TIME, NULL },
	{ "CREATED BY", "created_by", 0, NULL },
	{ "MATCHERS", NULL, 0, matchers_cell },
	{ "COMMENT", "comment", CLI_COL_TRUNC, NULL },
	{ NULL },
};

static const struct cli_flag silence_list_flags[] = {
	{ "account", NULL, CLI_STR, 0, "ID", "only this account's" },
	{ "expired", NULL, CLI_BOOL, 0, NULL, "list expired silences instead of active and pending ones" },
	{ NULL },
};

static int si_list(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1 << 12);
	struct cli_resp r = CLI_RESP_INIT;
	bool expired = cli_has(a, "expired");
	buf_puts(&p, "/api/v1/silences");
	cli_query(&p, "account", cli_arg(a, "account"));
	int rc = cli_call(c, "GET", buf_str(&p), NULL, &r);
	if (rc)
		goto out;
	/* The API lists every silence; like amtool, people see the ones that matter now unless they ask. */
	json_t *items = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(r.json, "items"), i, s) {
		if (!strcmp(cli_str(s, "status"), "expired") == expired)
			json_array_append(items, s);
	}
	if (c->json) {
		json_t *o = json_pack("{s:o,s:n}", "items", items, "next_cursor");
		cli_print_json(o);
		json_decref(o);
	} else {
		cli_table(silence_cols, items);
		json_decref(items);
	}
out:
	cli_resp_release(&r);
	buf_release(&p);
	return rc;
}

static void silence_fields(const json_t *s)
{
	static const char *const order[] = { "id", "status", "account", "starts_at", "ends_at", "updated_at",
					     "created_by", "comment", NULL };
	static const char *const hide[] = { "matchers", NULL };
	struct buf b = BUF_INIT(1 << 16);
	cli_fields(s, order, hide);
	matchers_line(json_object_get(s, "matchers"), &b);
	printf("matchers    %s\n", buf_str(&b));
	buf_release(&b);
}

static int si_show(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1024);
	struct cli_resp r = CLI_RESP_INIT;
	buf_puts(&p, "/api/v1/silences/");
	cli_esc(&p, a->pos[0]);
	int rc = cli_call(c, "GET", buf_str(&p), NULL, &r);
	if (!rc) {
		if (c->json)
			cli_print_raw(&r);
		else
			silence_fields(r.json);
	}
	cli_resp_release(&r);
	buf_release(&p);
	return rc;
}

static const struct cli_flag silence_add_flags[] = {
	{ "comment", "comment", CLI_STR, CLI_F_REQUIRED, "TEXT", "why (shown with the silenced alarms)" },
	{ "duration", "duration", CLI_STR, 0, "DURATION", "how long, e.g. 2h or 30m (default 1h)" },
	{ "starts-at", "starts_at", CLI_STR, 0, "TIME", "when it begins (RFC 3339; default now)" },
	{ "ends-at", "ends_at", CLI_STR, 0, "TIME", "when it ends (RFC 3339; instead of --duration)" },
	{ "account", "account", CLI_STR, 0, "ID", "the account it applies to (else an account matcher or the token's)" },
	{ NULL },
};

static int si_add(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct cli_resp r = CLI_RESP_INIT;
	json_t *body = json_object(), *ms = json_array();
	int rc = cli_body(a, body);
	if (rc)
		goto out;
	for (int i = 0; i < a->npos; i++)
		json_array_append_new(ms, json_string(a->pos[i]));
	json_object_set(body, "matchers", ms);
	if ((rc = cli_call(c, "POST", "/api/v1/silences", body, &r)))
		goto out;
	if (c->json) {
		cli_print_raw(&r);
	} else {
		struct buf b = BUF_INIT(1 << 16);
		matchers_line(json_object_get(r.json, "matchers"), &b);
		char until[64];
		cli_short_time(cli_str(r.json, "ends_at"), until, sizeof(until));
		printf("%s\n", cli_str(r.json, "id"));
		fprintf(stderr, "silence %s (%s) until %s UTC: %s\n", cli_str(r.json, "status"), cli_str(r.json, "account"),
			until, buf_str(&b));
		buf_release(&b);
	}
out:
	cli_resp_release(&r);
	json_decref(ms);
	json_decref(body);
	return rc;
}

static int si_expire(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	int worst = CLI_OK;
	for (int i = 0; i < a->npos; i++) {
		struct buf p = BUF_INIT(1024);
		struct cli_resp r = CLI_RESP_INIT;
		buf_puts(&p, "/api/v1/silences/");
		cli_esc(&p, a->pos[i]);
		int rc = cli_call(c, "DELETE", buf_str(&p), NULL, &r);
		if (!rc && !c->json)
			printf("%s expired\n", a->pos[i]);
		/* Keep going, so one wrong id does not leave the others active; report the worst. */
		if (rc > worst)
			worst = rc;
		cli_resp_release(&r);
		buf_release(&p);
	}
	return worst;
}

static const struct cli_cmd silence_cmds[] = {
	{ "list", NULL, "List active and pending silences (or --expired ones)", 0, 0, si_list, { silence_list_flags },
	  NULL, NULL },
	{ "show", "ID", "Show one silence", 1, 1, si_show, { NULL }, NULL, NULL },
	{ "add", "MATCHER…", "Silence the alarms every matcher matches; prints the new id", 1, -1, si_add,
	  { silence_add_flags }, NULL,
	  "Matchers are Alertmanager's: name=\"value\", name!=\"value\", name=~\"regex\", name!~\"regex\"\n"
	  "(quotes optional). Quote each for the shell:\n"
	  "  flywheel silence add 'alertname=\"DiskFull\"' 'host=~\"db.*\"' --duration 2h --comment upgrade\n"
	  "The id goes to stdout, a summary to stderr, so id=$(flywheel silence add …) works." },
	{ "expire", "ID…", "End silences now", 1, -1, si_expire, { NULL }, NULL, NULL },
	{ NULL },
};

const struct cli_family cli_silence_family = {
	"silence", "Silences: hold back alarms matching label matchers for a while", silence_cmds, NULL,
	"Silenced alarms are recorded and counted, but open no incident. Statuses: pending (starts\n"
	"later), active, expired. The same silences are visible to amtool through /api/v2/silences."
};
