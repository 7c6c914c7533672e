/* flywheel incident|problem|request|change|article: tickets over /api/v1/<kind>s. */
#include "cli/cli_args.h"
#include "cli/cli_cmds.h"
#include "cli/cli_http.h"
#include "cli/cli_out.h"
#include "util/buf.h"

#include <stdio.h>
#include <string.h>

struct kind {
	const char *name;       /* "incident" */
	const char *collection; /* "incidents" */
};

static const struct kind k_incident = { "incident", "incidents" };
static const struct kind k_problem = { "problem", "problems" };
static const struct kind k_request = { "request", "requests" };
static const struct kind k_change = { "change", "changes" };

static const struct kind *kind_of(const struct cli_args *a)
{
	return a->fam->data;
}

/* "/api/v1/<collection>[/<id>[/<suffix>]]" */
static void tpath(struct buf *b, const struct kind *k, const char *id, const char *suffix)
{
	buf_printf(b, "/api/v1/%s", k->collection);
	if (id) {
		buf_puts(b, "/");
		cli_esc(b, id);
	}
	if (suffix)
		buf_printf(b, "/%s", suffix);
}

/* ---- flags ---- */

#define LEVELS "high|medium|low"

static const struct cli_flag create_flags[] = {
	{ "account", "account", CLI_STR, CLI_F_REQUIRED, "ID", "account the ticket belongs to (12 digits)" },
	{ "title", "title", CLI_STR, CLI_F_REQUIRED, "TEXT", "one-line summary" },
	{ "description", "description", CLI_STR, 0, "TEXT", "details" },
	{ "category", "category", CLI_STR, CLI_F_NULLABLE, "NAME", "category" },
	{ "impact", "impact", CLI_STR, 0, LEVELS, "impact (priority is impact x urgency)" },
	{ "urgency", "urgency", CLI_STR, 0, LEVELS, "urgency" },
	{ "severity", "severity", CLI_STR, 0, "critical|high|medium|low", "severity (else derived from priority)" },
	{ "assignee", "assignee", CLI_STR, CLI_F_NULLABLE, "PRINCIPAL", "who works on it" },
	{ "group", "group", CLI_STR, CLI_F_NULLABLE, "NAME", "resolver group" },
	{ "requester", "requester", CLI_STR, CLI_F_NULLABLE, "PRINCIPAL", "on whose behalf (operators only)" },
	{ "source", "source", CLI_STR, 0, "customer|monitoring|api", "where it came from" },
	{ NULL },
};

static const struct cli_flag patch_flags[] = {
	{ "title", "title", CLI_STR, 0, "TEXT", "one-line summary" },
	{ "description", "description", CLI_STR, 0, "TEXT", "details" },
	{ "category", "category", CLI_STR, CLI_F_NULLABLE, "NAME", "category ('' clears)" },
	{ "impact", "impact", CLI_STR, 0, LEVELS, "impact" },
	{ "urgency", "urgency", CLI_STR, 0, LEVELS, "urgency" },
	{ "severity", "severity", CLI_STR, 0, "critical|high|medium|low", "severity" },
	{ "assignee", "assignee", CLI_STR, CLI_F_NULLABLE, "PRINCIPAL", "who works on it ('' clears)" },
	{ "group", "group", CLI_STR, CLI_F_NULLABLE, "NAME", "resolver group ('' clears)" },
	{ "resolution", "resolution", CLI_STR, CLI_F_NULLABLE, "TEXT", "how it was resolved" },
	{ "note", "note", CLI_STR, 0, "TEXT", "note recorded with a status change" },
	{ NULL },
};

static const struct cli_flag status_flag[] = {
	{ "status", "status", CLI_STR, 0, "STATUS", "move to this status (same rules as the verbs)" },
	{ NULL },
};

static const struct cli_flag incident_flags[] = {
	{ "restore-recommendation", "restore_recommendation", CLI_STR, CLI_F_NULLABLE, "TEXT",
	  "how service was or can be restored" },
	{ NULL },
};

static const struct cli_flag request_flags[] = {
	{ "offering", "offering", CLI_STR, CLI_F_NULLABLE, "ID", "catalog offering requested" },
	{ "details", "details", CLI_JSON, CLI_F_NULLABLE, "JSON", "request details as a JSON object" },
	{ NULL },
};

static const struct cli_flag change_flags[] = {
	{ "risk", "risk", CLI_STR, 0, "low|medium|high", "risk (high needs two approvals)" },
	{ "affected-resource", "affected_resources", CLI_LIST, 0, "RESOURCE", "a resource the change touches" },
	{ "rollback-plan", "rollback_plan", CLI_STR, CLI_F_NULLABLE, "TEXT", "how to undo it" },
	{ "scheduled-at", "scheduled_at", CLI_STR, CLI_F_NULLABLE, "TIME", "when it runs (RFC 3339)" },
	{ "runbook", "runbook", CLI_STR, CLI_F_NULLABLE, "ID", "runbook that executes it" },
	{ NULL },
};

static const struct cli_flag list_flags[] = {
	{ "account", NULL, CLI_STR, 0, "ID", "only this account" },
	{ "status", NULL, CLI_STR, 0, "STATUS", "only this status" },
	{ "priority", NULL, CLI_STR, 0, "P1..P4", "only this priority" },
	{ "severity", NULL, CLI_STR, 0, "LEVEL", "only this severity" },
	{ "assignee", NULL, CLI_STR, 0, "PRINCIPAL", "only tickets assigned to this principal" },
	{ "group", NULL, CLI_STR, 0, "NAME", "only this resolver group" },
	{ "q", NULL, CLI_STR, 0, "TEXT", "title contains TEXT (any case)" },
	{ "created-after", NULL, CLI_STR, 0, "TIME", "created at or after (RFC 3339)" },
	{ "created-before", NULL, CLI_STR, 0, "TIME", "created before (RFC 3339)" },
	{ NULL },
};

static const struct cli_flag comment_flags[] = {
	{ "body", "body", CLI_STR, 0, "TEXT", "the comment (or give it as the second argument)" },
	{ "visibility", "visibility", CLI_STR, 0, "public|internal", "public (default) reaches the requester" },
	{ NULL },
};

static const struct cli_flag link_flags[] = {
	{ "ticket", "ticket", CLI_STR, 0, "ID", "ticket to link (or give it as the second argument)" },
	{ "article", "article", CLI_STR, 0, "KB-N", "knowledge article to link" },
	{ "type", "type", CLI_STR, 0, "TYPE", "link type (default: the other ticket's kind)" },
	{ NULL },
};

static const struct cli_flag note_flag[] = {
	{ "note", "note", CLI_STR, 0, "TEXT", "note for the timeline" },
	{ NULL },
};

static const struct cli_flag approve_flags[] = {
	{ "comment", "comment", CLI_STR, 0, "TEXT", "comment recorded with the approval" },
	{ NULL },
};

/* ---- output ---- */

static const char *const ticket_order[] = { "id",          "kind",        "title",      "status",
					    "priority",    "severity",    "impact",     "urgency",
					    "account",     "assignee",    "group",      "category",
					    "source",      "requester",   "risk",       "affected_resources",
					    "rollback_plan", "scheduled_at", "approvals", "resolution",
					    "created_by",  "created_at",  "updated_at", "description",
					    NULL };
static const char *const ticket_hide[] = { "state_times", "links", NULL };

static const struct cli_col ticket_cols[] = {
	{ "ID", "id", 0, NULL },
	{ "STATUS", "status", 0, NULL },
	{ "PRI", "priority", 0, NULL },
	{ "SEV", "severity", 0, NULL },
	{ "ACCOUNT", "account", 0, NULL },
	{ "ASSIGNEE", "assignee", 0, NULL },
	{ "UPDATED", "updated_at", CLI_COL_TIME, NULL },
	{ "TITLE", "title", CLI_COL_TRUNC, NULL },
	{ NULL },
};

static void timeline_detail(const json_t *e, struct buf *out)
{
	const char *type = cli_str(e, "type");
	const json_t *b = json_object_get(e, "body");
	const char *note = json_string_value(json_object_get(b, "note"));
	if (!strcmp(type, "status")) {
		buf_printf(out, "%s -> %s", cli_str(b, "from"),
			   cli_str(b, "to"));
		if (note)
			buf_printf(out, ": %s", note);
	} else if (!strcmp(type, "created")) {
		buf_printf(out, "created as %s: ", cli_str(b, "status"));
		cli_value(out, json_object_get(b, "title"));
	} else if (!strcmp(type, "field")) {
		buf_printf(out, "%s: ", cli_str(b, "field"));
		cli_value(out, json_object_get(b, "from"));
		buf_puts(out, " -> ");
		cli_value(out, json_object_get(b, "to"));
	} else if (!strcmp(type, "comment")) {
		cli_value(out, json_object_get(b, "body"));
	} else if (!strcmp(type, "link")) {
		buf_printf(out, "linked %s (%s)", cli_str(b, "linked"),
			   cli_str(b, "type"));
	} else if (!strcmp(type, "approval")) {
		buf_printf(out, "approved by %s", cli_str(b, "principal"));
		if (json_string_value(json_object_get(b, "comment")))
			buf_printf(out, ": %s", cli_str(b, "comment"));
	} else {
		cli_value(out, b);
	}
}

static const struct cli_col timeline_cols[] = {
	{ "#", "n", 0, NULL },
	{ "AT", "at", CLI_COL_TIME, NULL },
	{ "ACTOR", "actor", 0, NULL },
	{ "TYPE", "type", 0, NULL },
	{ "VISIBILITY", "visibility", 0, NULL },
	{ "DETAIL", NULL, 0, timeline_detail },
	{ NULL },
};

static void link_cell(const json_t *l, struct buf *out)
{
	buf_printf(out, "%s (%s)", cli_str(l, "id"),
		   cli_str(l, "type"));
}

/* One line after a change, or the JSON with --json. */
static int done(struct cli *c, struct cli_resp *r, const char *what)
{
	if (c->json) {
		cli_print_raw(r);
	} else {
		const json_t *t = r->json;
		printf("%s %s: status %s, priority %s\n", cli_str(t, "id"), what,
		       cli_str(t, "status"),
		       cli_str(t, "priority"));
	}
	cli_resp_release(r);
	return CLI_OK;
}

/* ---- commands ---- */

static int t_create(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1024);
	struct cli_resp r = CLI_RESP_INIT;
	json_t *body = json_object();
	int rc = cli_body(a, body);
	if (!rc) {
		tpath(&p, kind_of(a), NULL, NULL);
		rc = cli_call(c, "POST", buf_str(&p), body, &r);
	}
	if (!rc)
		rc = done(c, &r, "created");
	json_decref(body);
	buf_release(&p);
	return rc;
}

static int t_list(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	static const char *const filters[][2] = {
		{ "account", "account" }, { "status", "status" },   { "priority", "priority" },
		{ "severity", "severity" }, { "assignee", "assignee" }, { "group", "group" },
		{ "q", "q" }, { "created-after", "created_after" }, { "created-before", "created_before" },
	};
	struct buf p = BUF_INIT(1 << 14);
	tpath(&p, kind_of(a), NULL, NULL);
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		cli_query(&p, filters[i][1], cli_arg(a, filters[i][0]));
	int rc = cli_list(c, a, buf_str(&p), ticket_cols);
	buf_release(&p);
	return rc;
}

static int t_show(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1024);
	struct cli_resp r = CLI_RESP_INIT, tl = CLI_RESP_INIT;
	tpath(&p, kind_of(a), a->pos[0], NULL);
	int rc = cli_call(c, "GET", buf_str(&p), NULL, &r);
	if (rc)
		goto out;
	if (c->json) {
		cli_print_raw(&r);
		goto out;
	}
	buf_reset(&p);
	tpath(&p, kind_of(a), a->pos[0], "timeline");
	if ((rc = cli_call(c, "GET", buf_str(&p), NULL, &tl)))
		goto out;
	cli_fields(r.json, ticket_order, ticket_hide);
	const json_t *links = json_object_get(r.json, "links");
	if (json_array_size(links)) {
		struct buf l = BUF_INIT(1 << 16);
		for (size_t i = 0; i < json_array_size(links); i++) {
			if (i)
				buf_puts(&l, ", ");
			link_cell(json_array_get(links, i), &l);
		}
		printf("links  %s\n", buf_str(&l));
		buf_release(&l);
	}
	printf("\nTimeline:\n");
	cli_table(timeline_cols, json_object_get(tl.json, "items"));
out:
	cli_resp_release(&r);
	cli_resp_release(&tl);
	buf_release(&p);
	return rc;
}

/* PATCH with the field flags; a verb adds its status. */
static int patch(struct cli *c, const struct cli_args *a, const char *status, const char *what)
{
	struct buf p = BUF_INIT(1024);
	struct cli_resp r = CLI_RESP_INIT;
	json_t *body = json_object();
	int rc = cli_body(a, body);
	if (rc)
		goto out;
	if (status)
		json_object_set_new(body, "status", json_string(status));
	if (!json_object_size(body)) {
		rc = cli_usage(a, "nothing to update: give at least one field option");
		goto out;
	}
	tpath(&p, kind_of(a), a->pos[0], NULL);
	if (!(rc = cli_call(c, "PATCH", buf_str(&p), body, &r)))
		rc = done(c, &r, what);
out:
	json_decref(body);
	buf_release(&p);
	return rc;
}

static int t_update(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	return patch(c, a, NULL, "updated");
}

static int t_status(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	return patch(c, a, cmd->data, "updated");
}

static void say_comment(const struct cli_args *a, const json_t *answer)
{
	printf("%s: %s comment added\n", a->pos[0], cli_str(answer, "visibility"));
}

static int t_comment(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1024);
	json_t *body = json_object();
	int rc = cli_body(a, body);
	if (rc)
		goto out;
	if (a->npos > 1 && cli_has(a, "body")) {
		rc = cli_usage(a, "give the comment either as an argument or with --body, not both");
		goto out;
	}
	if (a->npos > 1)
		json_object_set_new(body, "body", json_string(a->pos[1]));
	if (!json_string_value(json_object_get(body, "body"))) {
		rc = cli_usage(a, "the comment text is missing");
		goto out;
	}
	tpath(&p, kind_of(a), a->pos[0], "comments");
	rc = cli_act(c, "POST", buf_str(&p), body, say_comment, a);
out:
	json_decref(body);
	buf_release(&p);
	return rc;
}

static int t_timeline(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1024);
	struct cli_resp r = CLI_RESP_INIT;
	tpath(&p, kind_of(a), a->pos[0], "timeline");
	int rc = cli_call(c, "GET", buf_str(&p), NULL, &r);
	if (!rc) {
		if (c->json)
			cli_print_raw(&r);
		else
			cli_table(timeline_cols, json_object_get(r.json, "items"));
	}
	cli_resp_release(&r);
	buf_release(&p);
	return rc;
}

static void say_linked(const struct cli_args *a, const json_t *answer)
{
	printf("%s linked to %s (%s)\n", a->pos[0], cli_str(answer, "linked"), cli_str(answer, "type"));
}

static int t_link(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1024);
	json_t *body = json_object();
	int rc = cli_body(a, body);
	if (rc)
		goto out;
	if (a->npos > 1) {
		if (cli_has(a, "ticket") || cli_has(a, "article")) {
			rc = cli_usage(a, "give the target either as an argument or with --ticket/--article, not both");
			goto out;
		}
		json_object_set_new(body, strncmp(a->pos[1], "KB-", 3) ? "ticket" : "article", json_string(a->pos[1]));
	}
	if (!json_object_get(body, "ticket") == !json_object_get(body, "article")) {
		rc = cli_usage(a, "name one ticket or one article to link");
		goto out;
	}
	tpath(&p, kind_of(a), a->pos[0], "links");
	rc = cli_act(c, "POST", buf_str(&p), body, say_linked, a);
out:
	json_decref(body);
	buf_release(&p);
	return rc;
}

static void say_reclassified(const struct cli_args *a, const json_t *answer)
{
	printf("%s reclassified as service request %s\n", a->pos[0], cli_str(answer, "id"));
}

static void say_approved(const struct cli_args *a, const json_t *answer)
{
	printf("%s: approval recorded (%zu so far), status %s\n", a->pos[0],
	       json_array_size(json_object_get(answer, "approvals")), cli_str(answer, "status"));
}

/* POST of the option flags to one of the ticket's actions. */
static int action(struct cli *c, const struct cli_args *a, const char *what,
		  void (*say)(const struct cli_args *a, const json_t *answer))
{
	struct buf p = BUF_INIT(1024);
	json_t *body = json_object();
	int rc = cli_body(a, body);
	if (!rc) {
		tpath(&p, kind_of(a), a->pos[0], what);
		rc = cli_act(c, "POST", buf_str(&p), body, say, a);
	}
	json_decref(body);
	buf_release(&p);
	return rc;
}

static int t_reclassify(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	return action(c, a, "reclassify", say_reclassified);
}

static int t_approve(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	return action(c, a, "approvals", say_approved);
}

/* ---- command tables ---- */

#define CMD_CREATE(extra, summary) \
	{ "create", NULL, summary, 0, 0, t_create, { create_flags, extra }, NULL, NULL }
#define CMD_COMMON(extra)                                                                                      \
	{ "list", NULL, "List, newest first", 0, 0, t_list, { list_flags, cli_page_flags }, NULL, NULL },     \
	{ "show", "ID", "Show fields, links and timeline", 1, 1, t_show, { NULL }, NULL, NULL },               \
	{ "update", "ID", "Change fields (and, with --status, the status)", 1, 1, t_update,                    \
	  { patch_flags, extra, status_flag }, NULL, NULL },                                                   \
	{ "comment", "ID [TEXT]", "Add a comment", 1, 2, t_comment, { comment_flags }, NULL, NULL },           \
	{ "timeline", "ID", "Show the timeline", 1, 1, t_timeline, { NULL }, NULL, NULL },                    \
	{ "link", "ID [TARGET]", "Link another ticket or a knowledge article", 1, 2, t_link, { link_flags },  \
	  NULL, NULL }
#define VERB(name, status, summary, extra) \
	{ name, "ID", summary, 1, 1, t_status, { patch_flags, extra }, status, NULL }

static const struct cli_cmd incident_cmds[] = {
	CMD_CREATE(incident_flags, "Open an incident"),
	CMD_COMMON(incident_flags),
	VERB("ack", "acknowledged", "Acknowledge (new -> acknowledged)", incident_flags),
	VERB("investigate", "investigating", "Start investigating", incident_flags),
	VERB("resolve", "resolved", "Resolve (give --resolution)", incident_flags),
	VERB("close", "closed", "Close a resolved incident", incident_flags),
	VERB("reopen", "investigating", "Reopen a resolved incident", incident_flags),
	{ "reclassify", "ID", "Turn into a service request (not an incident after all)", 1, 1, t_reclassify,
	  { note_flag }, NULL, NULL },
	{ NULL },
};

static const struct cli_cmd problem_cmds[] = {
	CMD_CREATE(NULL, "Open a problem"),
	CMD_COMMON(NULL),
	VERB("root-cause", "root_cause_identified", "Record that the root cause is identified", NULL),
	VERB("known-error", "known_error", "Mark as a known error (workaround documented)", NULL),
	VERB("resolve", "resolved", "Resolve (give --resolution)", NULL),
	VERB("close", "closed", "Close a resolved problem", NULL),
	VERB("reopen", "open", "Reopen a resolved problem", NULL),
	{ NULL },
};

static const struct cli_cmd request_cmds[] = {
	CMD_CREATE(request_flags, "Submit a service request"),
	CMD_COMMON(request_flags),
	VERB("approve", "approved", "Approve (approver role)", request_flags),
	VERB("partially-approve", "partially_approved", "Approve in part (approver role)", request_flags),
	VERB("deny", "denied", "Deny (approver role)", request_flags),
	VERB("start", "in_progress", "Start fulfilling an approved request", request_flags),
	VERB("fulfil", "fulfilled", "Mark as fulfilled", request_flags),
	VERB("close", "closed", "Close a fulfilled or denied request", request_flags),
	VERB("cancel", "cancelled", "Cancel (the requester may)", request_flags),
	{ NULL },
};

static const struct cli_cmd change_cmds[] = {
	CMD_CREATE(change_flags, "Draft a change request"),
	CMD_COMMON(change_flags),
	VERB("submit", "submitted", "Submit a draft", change_flags),
	VERB("review", "in_review", "Start review (needs risk, affected resources, rollback plan)", change_flags),
	{ "approve", "ID", "Approve (approver role; not the author; high risk needs two)", 1, 1, t_approve,
	  { approve_flags }, NULL, NULL },
	VERB("reject", "rejected", "Reject in review (approver role)", change_flags),
	VERB("schedule", "scheduled", "Schedule an approved change (give --scheduled-at)", change_flags),
	VERB("execute", "executing", "Start executing", change_flags),
	VERB("complete", "completed", "Mark as completed", change_flags),
	VERB("fail", "failed", "Mark as failed", change_flags),
	VERB("rollback", "rolled_back", "Record that a failed change was rolled back", change_flags),
	VERB("cancel", "cancelled", "Cancel", change_flags),
	{ NULL },
};

#define TICKET_MORE                                                                                           \
	"A status verb is PATCH {\"status\":…}; it also takes the field options, applied in the same\n"      \
	"request. An empty value ('') clears an optional field. Times are shown in UTC."

const struct cli_family cli_incident_family = {
	"incident", "Incidents: unplanned interruptions of a service", incident_cmds, &k_incident,
	"Statuses: new -> acknowledged -> investigating -> resolved -> closed (resolved -> investigating\n"
	"reopens; reclassified when it turns out to be a service request).\n\n" TICKET_MORE
};
const struct cli_family cli_problem_family = {
	"problem", "Problems: the causes behind incidents", problem_cmds, &k_problem,
	"Statuses: open -> root_cause_identified -> known_error -> resolved -> closed.\n\n" TICKET_MORE
};
const struct cli_family cli_request_family = {
	"request", "Service requests", request_cmds, &k_request,
	"Statuses: submitted -> approved | partially_approved | denied; approved -> in_progress ->\n"
	"fulfilled -> closed; cancelled until fulfilled.\n\n" TICKET_MORE
};
const struct cli_family cli_change_family = {
	"change", "Change requests (RFCs), with approvals", change_cmds, &k_change,
	"Statuses: draft -> submitted -> in_review -> approved | rejected; approved -> scheduled ->\n"
	"executing -> completed | failed; failed -> rolled_back.\n\n" TICKET_MORE
};

/* ---- knowledge articles ---- */

static const struct cli_flag article_create_flags[] = {
	{ "incident", "incident", CLI_STR, 0, "ID", "write it from this resolved incident" },
	{ "account", "account", CLI_STR, 0, "ID", "account (without --incident)" },
	{ "title", "title", CLI_STR, 0, "TEXT", "title (default: the incident's)" },
	{ "body", "body", CLI_STR, 0, "TEXT", "body, Markdown (default: from the incident)" },
	{ NULL },
};

static const struct cli_flag article_list_flags[] = {
	{ "q", NULL, CLI_STR, 0, "TEXT", "title contains TEXT" },
	{ NULL },
};

static const struct cli_col article_cols[] = {
	{ "ID", "id", 0, NULL },
	{ "ACCOUNT", "account", 0, NULL },
	{ "SOURCE", "source_ticket", 0, NULL },
	{ "CREATED", "created_at", CLI_COL_TIME, NULL },
	{ "TITLE", "title", CLI_COL_TRUNC, NULL },
	{ NULL },
};

static int a_create(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct cli_resp r = CLI_RESP_INIT;
	if (!cli_has(a, "incident") && !(cli_has(a, "account") && cli_has(a, "title") && cli_has(a, "body")))
		return cli_usage(a, "give --incident ID, or --account, --title and --body");
	json_t *body = json_object();
	int rc = cli_body(a, body);
	if (!rc)
		rc = cli_call(c, "POST", "/api/v1/articles", body, &r);
	if (!rc) {
		if (c->json)
			cli_print_raw(&r);
		else
			printf("%s created: %s\n", cli_str(r.json, "id"),
			       cli_str(r.json, "title"));
	}
	cli_resp_release(&r);
	json_decref(body);
	return rc;
}

static int a_list(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p = BUF_INIT(1 << 12);
	buf_puts(&p, "/api/v1/articles");
	cli_query(&p, "q", cli_arg(a, "q"));
	int rc = cli_list(c, a, buf_str(&p), article_cols);
	buf_release(&p);
	return rc;
}

static int a_show(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	static const char *const order[] = { "id", "title", "account", "source_ticket", "created_by", "created_at", NULL };
	static const char *const hide[] = { "body", NULL };
	struct buf p = BUF_INIT(1024);
	struct cli_resp r = CLI_RESP_INIT;
	buf_puts(&p, "/api/v1/articles/");
	cli_esc(&p, a->pos[0]);
	int rc = cli_call(c, "GET", buf_str(&p), NULL, &r);
	if (!rc) {
		if (c->json) {
			cli_print_raw(&r);
		} else {
			cli_fields(r.json, order, hide);
			printf("\n%s\n", cli_str(r.json, "body"));
		}
	}
	cli_resp_release(&r);
	buf_release(&p);
	return rc;
}

static const struct cli_cmd article_cmds[] = {
	{ "create", NULL, "Write an article, from a resolved incident or from scratch", 0, 0, a_create,
	  { article_create_flags }, NULL, NULL },
	{ "list", NULL, "List articles, newest first", 0, 0, a_list, { article_list_flags, cli_page_flags }, NULL,
	  NULL },
	{ "show", "KB-N", "Show an article", 1, 1, a_show, { NULL }, NULL, NULL },
	{ NULL },
};

const struct cli_family cli_article_family = { "article", "Knowledge articles, written from resolutions",
					       article_cmds, NULL, NULL };
