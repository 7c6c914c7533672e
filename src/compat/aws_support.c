/* AWS Support API adapter: cases are incidents and service requests (see aws_support.h). */
#include "compat/aws_support.h"
#include "audit/audit.h"
#include "compat/aws.h"
#include "http/auth.h"
#include "http/req.h"
#include "http/server.h"
#include "store/store.h"
#include "tickets/ticket.h"
#include "tickets/tkt_store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESOLVED_SQL "('resolved','closed','reclassified','fulfilled','cancelled','denied')"

/* ---- pure mappings ---- */

bool aws_case_resolved(const char *s)
{
	static const char *const done[] = { "resolved", "closed", "reclassified", "fulfilled", "cancelled", "denied",
					    NULL };
	return s && jv_in(s, done);
}

const char *aws_case_status(const char *kind, const char *status, bool was_resolved)
{
	if (!status)
		return "opened";
	if (aws_case_resolved(status))
		return "resolved";
	if (!strcmp(status, "new") || !strcmp(status, "submitted") || !strcmp(status, "open"))
		return "opened";
	if (was_resolved && kind && !strcmp(kind, "incident"))
		return "reopened";
	return "work-in-progress";
}

/* code, ticket severity, impact, urgency: priorities P4, P3, P2, P1, P1. urgent and critical differ in
 * severity, so the code can be read back from the ticket. */
static const char *const sev_map[][4] = {
	{ "low", "low", "low", "low" },
	{ "normal", "medium", "medium", "medium" },
	{ "high", "high", "high", "medium" },
	{ "urgent", "high", "high", "high" },
	{ "critical", "critical", "high", "high" },
};

int aws_severity_to_ticket(const char *code, const char **severity, const char **impact, const char **urgency)
{
	for (size_t i = 0; code && i < sizeof(sev_map) / sizeof(sev_map[0]); i++)
		if (!strcmp(code, sev_map[i][0])) {
			*severity = sev_map[i][1];
			*impact = sev_map[i][2];
			*urgency = sev_map[i][3];
			return 0;
		}
	return FW_EINVAL;
}

const char *aws_severity_of_ticket(const char *severity, const char *priority)
{
	if (!severity)
		return "normal";
	if (!strcmp(severity, "critical"))
		return "critical";
	if (!strcmp(severity, "high"))
		return priority && !strcmp(priority, "P1") ? "urgent" : "high";
	if (!strcmp(severity, "low"))
		return "low";
	return "normal";
}

int aws_case_id(const char *account, int64_t created_ms, int64_t seq, char *out, size_t cap)
{
	char ts[32];
	time_fmt_ms(created_ms, ts, sizeof(ts));
	int n = snprintf(out, cap, "case-%s-%.4s-%016" PRIx64, account, ts, (uint64_t)seq);
	return n < 0 || (size_t)n >= cap ? FW_ETOOBIG : 0;
}

int aws_case_parse(const char *id, char account[16], int *year, int64_t *seq)
{
	/* case-123456789012-2024-000000000000002a */
	if (!id || strlen(id) != 5 + 12 + 1 + 4 + 1 + 16 || strncmp(id, "case-", 5) != 0 || id[17] != '-' ||
	    id[22] != '-')
		return FW_EINVAL;
	for (int i = 5; i < 17; i++)
		if (!isdigit((unsigned char)id[i]))
			return FW_EINVAL;
	for (int i = 18; i < 22; i++)
		if (!isdigit((unsigned char)id[i]))
			return FW_EINVAL;
	uint64_t v = 0;
	for (int i = 23; i < 39; i++) {
		int c = (unsigned char)id[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return FW_EINVAL;
		v = v * 16 + (uint64_t)d;
	}
	if (v == 0 || v > INT64_MAX)
		return FW_EINVAL;
	memcpy(account, id + 5, 12);
	account[12] = '\0';
	*year = atoi(id + 18);
	*seq = (int64_t)v;
	return 0;
}

/* ---- helpers ---- */

static const char *str_in(struct aws_call *c, const char *name)
{
	return jv_str(c->in, name);
}

/* A string member: absent is fine; wrong type or length is a ValidationException. */
static int check_str(struct aws_call *c, const char *name, size_t min, size_t max, bool required)
{
	json_t *v = json_object_get(c->in, name);
	if (!v || json_is_null(v)) {
		if (required)
			return aws_fail(c, 400, "ValidationException", NULL, "%s is required", name);
		return 0;
	}
	if (!json_is_string(v))
		return aws_fail(c, 400, "ValidationException", NULL, "%s must be a string", name);
	size_t n = json_string_length(v);
	if (n < min || n > max)
		return aws_fail(c, 400, "ValidationException", NULL, "%s must be %zu to %zu characters long", name, min,
				max);
	return 0;
}

static int check_cc(struct aws_call *c)
{
	json_t *cc = json_object_get(c->in, "ccEmailAddresses");
	if (!cc || json_is_null(cc))
		return 0;
	if (!json_is_array(cc) || json_array_size(cc) > 10)
		return aws_fail(c, 400, "ValidationException", NULL, "ccEmailAddresses must be a list of at most 10");
	for (size_t i = 0; i < json_array_size(cc); i++)
		if (!json_is_string(json_array_get(cc, i)) || json_string_length(json_array_get(cc, i)) > 320)
			return aws_fail(c, 400, "ValidationException", NULL,
					"ccEmailAddresses[%zu] must be an e-mail address", i);
	return 0;
}

/* Times in Support are ISO-8601 strings; a bare date means its midnight UTC. */
static int time_in(struct aws_call *c, const char *name, int64_t *ms, bool *present)
{
	const char *v = str_in(c, name);
	*present = false;
	if (!v)
		return 0;
	if (time_parse_rfc3339(v, ms)) {
		char buf[40];
		if (strlen(v) != 10 || snprintf(buf, sizeof(buf), "%sT00:00:00Z", v) < 0 ||
		    time_parse_rfc3339(buf, ms))
			return aws_fail(c, 400, "ValidationException", NULL,
					"%s '%.40s' is not an ISO-8601 time like 2024-01-31T12:00:00Z", name, v);
	}
	*present = true;
	return 0;
}

static int page_in(struct aws_call *c, int *max, int64_t *cursor)
{
	json_t *m = json_object_get(c->in, "maxResults");
	*max = 100;
	*cursor = 0;
	if (m && !json_is_null(m)) {
		if (!json_is_integer(m) || json_integer_value(m) < 1)
			return aws_fail(c, 400, "ValidationException", NULL, "maxResults must be an integer from 10 to 100");
		*max = json_integer_value(m) > 100 ? 100 : (int)json_integer_value(m);
	}
	const char *t = str_in(c, "nextToken");
	if (t && *t) {
		char *end;
		long long v = strtoll(t, &end, 10);
		if (*end || v < 1)
			return aws_fail(c, 400, "ValidationException", NULL, "nextToken '%.40s' is not one this API returned",
					t);
		*cursor = v;
	}
	return 0;
}

static bool bool_in(struct aws_call *c, const char *name, bool dflt)
{
	json_t *v = json_object_get(c->in, name);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static int64_t ticket_created_ms(const json_t *t)
{
	int64_t ms = 0;
	time_parse_rfc3339(jv_str_or(t, "created_at", ""), &ms);
	return ms;
}

/* Loads the ticket behind a case id, visible to the caller; CaseIdNotFound otherwise. */
static int load_case(struct aws_call *c, const char *case_id, json_t **out, unsigned *perms)
{
	char account[16], id[40];
	int year;
	int64_t seq;
	json_t *t = NULL;
	*out = NULL;
	if (!case_id)
		return aws_fail(c, 400, "CaseIdNotFound", NULL, "a caseId is required");
	if (aws_case_parse(case_id, account, &year, &seq))
		goto missing;
	struct store_rows *rows;
	if (store_query(req_db(c->r), "SELECT id FROM tickets WHERE seq = $1 AND account = $2 AND kind IN ('incident','request')",
			SARGS(SI(seq), ST(account)), &rows))
		return aws_fail(c, 500, "InternalServerError", NULL, "the store could not be read; try again");
	bool found = store_next(rows) == 1;
	if (found)
		snprintf(id, sizeof(id), "%s", store_text(rows, 0));
	store_rows_free(rows);
	if (!found || tkt_load(req_db(c->r), id, &t))
		goto missing;
	char ts[32];
	time_fmt_ms(ticket_created_ms(t), ts, sizeof(ts));
	unsigned p = auth_perms(c->r, account);
	if (strncmp(ts, case_id + 18, 4) != 0 || !(p & PERM_READ))
		goto missing;
	*out = t;
	if (perms)
		*perms = p;
	return 0;
missing:
	json_decref(t);
	return aws_fail(c, 400, "CaseIdNotFound", NULL, "Case %.60s not found", case_id);
}

static json_t *communication(struct aws_call *c, const char *case_id, struct store_rows *rows)
{
	char ts[32];
	time_fmt_ms(store_int(rows, 1), ts, sizeof(ts));
	json_t *b = json_loads(store_text(rows, 3), 0, NULL);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:[]}", "caseId", case_id, "body", jv_str_or(b, "body", ""),
			      "submittedBy", aws_principal_label(c, store_text(rows, 2)), "timeCreated", ts,
			      "attachmentSet");
	json_decref(b);
	return o;
}

/* Public comments of ticket, newest first, n < before (0: no bound); at most max, *next set when more. */
static int communications(struct aws_call *c, const char *ticket, const char *case_id, int max, int64_t before,
			  int64_t after_ms, bool has_after, int64_t before_ms, bool has_before, json_t **items,
			  int64_t *next)
{
	struct store_rows *rows;
	*next = 0;
	int rc = store_query(req_db(c->r),
			     "SELECT n, at, actor, body FROM timeline WHERE ticket = $1 AND type = 'comment' AND "
			     "visibility = 'public' AND n < $2 AND at >= $3 AND at < $4 ORDER BY n DESC LIMIT $5",
			     SARGS(ST(ticket), SI(before ? before : INT64_MAX), SI(has_after ? after_ms : INT64_MIN),
				   SI(has_before ? before_ms : INT64_MAX), SI(max + 1)),
			     &rows);
	if (rc)
		return rc;
	*items = json_array();
	int n = 0;
	int64_t last = 0;
	while (store_next(rows) == 1) {
		if (n++ == max) {
			*next = last;
			break;
		}
		last = store_int(rows, 0);
		json_array_append_new(*items, communication(c, case_id, rows));
	}
	store_rows_free(rows);
	return 0;
}

static json_t *token_json(int64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "%" PRId64, v);
	return json_string(s);
}

/* CaseDetails of a ticket. */
/* recent: the case's newest public comments (up to 6, newest first, each with its timeline "n"), fetched
 * for a whole page at once by recent_comms(); NULL to leave recentCommunications out. */
static json_t *case_details(struct aws_call *c, const json_t *t, int64_t seq, json_t *recent)
{
	char case_id[64], display[24];
	const json_t *meta = json_object_get(t, "aws_case");
	const char *kind = jv_str_or(t, "kind", "incident");
	aws_case_id(jv_str_or(t, "account", ""), ticket_created_ms(t), seq, case_id, sizeof(case_id));
	snprintf(display, sizeof(display), "%" PRId64, seq);
	const char *svc = jv_str(meta, "service_code");
	if (!svc)
		svc = !strcmp(kind, "incident") ? AWS_INCIDENT_SERVICE : AWS_REQUEST_SERVICE;
	const char *who = jv_str(t, "requester") ? jv_str(t, "requester") : jv_str(t, "created_by");
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:s,s:s,s:s}", "caseId", case_id, "displayId", display,
			      "subject", jv_str_or(t, "title", ""), "status",
			      aws_case_status(kind, jv_str(t, "status"), json_object_get(t, "resolved_at") != NULL),
			      "serviceCode", svc, "categoryCode",
			      jv_str(meta, "category_code") ? jv_str(meta, "category_code") : jv_str(t, "category"),
			      "severityCode", aws_severity_of_ticket(jv_str(t, "severity"), jv_str(t, "priority")),
			      "submittedBy", aws_principal_label(c, who), "timeCreated", jv_str_or(t, "created_at", ""));
	json_t *cc = json_object_get(meta, "cc");
	json_object_set_new(o, "ccEmailAddresses", json_is_array(cc) ? json_deep_copy(cc) : json_array());
	json_object_set_new(o, "language", json_string(jv_str_or(meta, "language", "en")));
	if (recent) {
		json_t *items = json_array(), *rc = json_object(), *m;
		size_t i;
		json_array_foreach(recent, i, m) {
			if (i == 5) {
				json_object_set_new(rc, "nextToken", token_json(json_integer_value(json_object_get(
									    json_array_get(recent, 4), "n"))));
				break;
			}
			json_t *copy = json_copy(m);
			json_object_del(copy, "n");
			json_object_set_new(copy, "caseId", json_string(case_id));
			json_array_append_new(items, copy);
		}
		json_object_set_new(rc, "communications", items);
		json_object_set_new(o, "recentCommunications", rc);
	}
	return o;
}

/* The 6 newest public comments of every ticket in tickets (one query for the page, not one per case), as
 * {"INC-1": [comm, …]} with "n" kept for the nextToken. A new reference; NULL when the store fails. */
static json_t *recent_comms(struct aws_call *c, json_t *tickets)
{
	size_t n = json_array_size(tickets), i;
	json_t *t, *out = json_object();
	if (!n)
		return out;
	struct store_arg *args = calloc(n, sizeof(*args));
	struct buf sql = BUF_INIT(1 << 16);
	buf_puts(&sql, "SELECT ticket, n, at, actor, body FROM (SELECT ticket, n, at, actor, body, ROW_NUMBER() OVER "
		       "(PARTITION BY ticket ORDER BY n DESC) AS rn FROM timeline WHERE type = 'comment' AND "
		       "visibility = 'public' AND ticket IN (");
	json_array_foreach(tickets, i, t) {
		args[i] = ST(jv_str_or(t, "id", ""));
		buf_printf(&sql, "%s$%zu", i ? "," : "", i + 1);
		json_object_set_new(out, jv_str_or(t, "id", ""), json_array());
	}
	buf_puts(&sql, ")) x WHERE rn <= 6 ORDER BY ticket, n DESC");
	struct store_rows *rows;
	int rc = args ? store_query(req_db(c->r), buf_str(&sql), args, (int)n, &rows) : FW_ENOMEM;
	buf_release(&sql);
	free(args);
	if (rc) {
		json_decref(out);
		return NULL;
	}
	while (store_next(rows) == 1) {
		char ts[32];
		time_fmt_ms(store_int(rows, 2), ts, sizeof(ts));
		json_t *b = json_loads(store_text(rows, 4), 0, NULL);
		json_array_append_new(json_object_get(out, store_text(rows, 0)),
				      json_pack("{s:I,s:s,s:s,s:s,s:[]}", "n", (json_int_t)store_int(rows, 1), "body",
						jv_str_or(b, "body", ""), "submittedBy",
						aws_principal_label(c, store_text(rows, 3)), "timeCreated", ts,
						"attachmentSet"));
		json_decref(b);
	}
	store_rows_free(rows);
	return out;
}

/* ---- operations ---- */

struct create_ctx {
	const struct tkt_kind_info *k;
	json_t *t;
	const char *actor, *body;
};

static int create_tx(struct store_conn *sc, void *arg)
{
	struct create_ctx *x = arg;
	int rc = tkt_insert(sc, x->k, x->t, x->actor);
	json_t *entry = json_pack("{s:s}", "body", x->body);
	if (!rc)
		rc = tkt_timeline_add(sc, jv_str(x->t, "id"), x->actor, "comment", "public", entry);
	json_decref(entry);
	if (!rc)
		rc = audit_append(sc, x->actor, jv_str(x->t, "account"), "ticket.create", jv_str(x->t, "id"), NULL, x->t);
	return rc;
}

static int op_create_case(struct aws_call *c)
{
	int rc;
	if ((rc = check_str(c, "subject", 1, 1024, true)) || (rc = check_str(c, "communicationBody", 1, 8000, true)) ||
	    (rc = check_str(c, "serviceCode", 1, 128, false)) || (rc = check_str(c, "severityCode", 1, 32, false)) ||
	    (rc = check_str(c, "categoryCode", 1, 128, false)) || (rc = check_str(c, "language", 1, 8, false)) ||
	    (rc = check_str(c, "issueType", 1, 32, false)) || (rc = check_cc(c)))
		return rc;
	if (str_in(c, "attachmentSetId"))
		return aws_fail(c, 400, "AttachmentSetIdNotFound", NULL,
				"attachment set %.60s not found: this endpoint does not store attachments",
				str_in(c, "attachmentSetId"));
	const char *code = jv_str_or(c->in, "severityCode", "normal"), *sev, *impact, *urgency;
	if (aws_severity_to_ticket(code, &sev, &impact, &urgency))
		return aws_fail(c, 400, "ValidationException", NULL,
				"severityCode '%.32s' is not one of low, normal, high, urgent, critical", code);
	char account[16];
	if ((rc = aws_call_account(c, NULL, PERM_SUBMIT, account)))
		return rc;
	const char *svc = jv_str_or(c->in, "serviceCode", AWS_INCIDENT_SERVICE);
	const struct tkt_kind_info *k = tkt_kind(strcmp(svc, AWS_INCIDENT_SERVICE) ? TKT_REQUEST : TKT_INCIDENT);
	unsigned perms = auth_perms(c->r, account);
	json_t *meta = json_pack("{s:s,s:s?,s:s,s:s}", "service_code", svc, "category_code", str_in(c, "categoryCode"),
				 "language", jv_str_or(c->in, "language", "en"), "issue_type",
				 jv_str_or(c->in, "issueType", "technical"));
	json_t *cc = json_object_get(c->in, "ccEmailAddresses");
	if (json_is_array(cc))
		json_object_set(meta, "cc", cc);
	json_t *t = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:s,s:o}", "account", account, "title",
			      str_in(c, "subject"), "description", str_in(c, "communicationBody"), "impact", impact,
			      "urgency", urgency, "severity", sev, "severity_set", 1, "priority",
			      tkt_priority(impact, urgency), "source", perms & PERM_WORK ? "api" : "customer",
			      "requester", c->r->auth->principal, "aws_case", meta);
	if (str_in(c, "categoryCode"))
		json_object_set_new(t, "category", json_string(str_in(c, "categoryCode")));
	struct create_ctx x = { k, t, c->r->auth->principal, str_in(c, "communicationBody") };
	rc = store_write(c->r->srv->store, create_tx, &x);
	if (rc) {
		json_decref(t);
		return aws_fail(c, 500, "InternalServerError", NULL, "the case could not be stored; try again");
	}
	char case_id[64];
	aws_case_id(account, ticket_created_ms(t), json_integer_value(json_object_get(t, "seq")), case_id,
		    sizeof(case_id));
	json_decref(t);
	c->out = json_pack("{s:s}", "caseId", case_id);
	return 0;
}

static int op_describe_cases(struct aws_call *c)
{
	int max, rc;
	int64_t cursor, after = 0, before = 0;
	bool has_after, has_before;
	if ((rc = page_in(c, &max, &cursor)) || (rc = time_in(c, "afterTime", &after, &has_after)) ||
	    (rc = time_in(c, "beforeTime", &before, &has_before)) || (rc = check_str(c, "displayId", 1, 32, false)))
		return rc;
	json_t *ids = json_object_get(c->in, "caseIdList");
	if (ids && !json_is_null(ids) && (!json_is_array(ids) || json_array_size(ids) > 100))
		return aws_fail(c, 400, "ValidationException", NULL, "caseIdList must be a list of at most 100 case ids");
	bool explicit = json_array_size(ids) > 0 || str_in(c, "displayId");
	bool include_resolved = bool_in(c, "includeResolvedCases", false) || explicit;
	bool with_comms = bool_in(c, "includeCommunications", true);

	struct buf sql = BUF_INIT(1 << 16);
	buf_puts(&sql, "SELECT seq, data FROM tickets WHERE kind IN ('incident','request')");
	auth_account_filter(c->r, PERM_READ, "account", &sql);
	/* Named cases must all exist and be visible: an unknown one is CaseIdNotFound, as AWS answers. */
	for (size_t i = 0; i < json_array_size(ids); i++) {
		json_t *t;
		const char *id = json_string_value(json_array_get(ids, i));
		if ((rc = load_case(c, id, &t, NULL))) {
			buf_release(&sql);
			return rc;
		}
		buf_printf(&sql, "%s%lld", i ? "," : " AND seq IN (",
			   (long long)json_integer_value(json_object_get(t, "seq")));
		json_decref(t);
	}
	if (json_array_size(ids))
		buf_puts(&sql, ")");
	if (str_in(c, "displayId")) {
		char *end;
		long long d = strtoll(str_in(c, "displayId"), &end, 10);
		if (*end || d < 1) {
			buf_release(&sql);
			return aws_fail(c, 400, "CaseIdNotFound", NULL, "Case with display id %.32s not found",
					str_in(c, "displayId"));
		}
		buf_printf(&sql, " AND seq = %lld", d);
	}
	if (!include_resolved)
		buf_puts(&sql, " AND status NOT IN " RESOLVED_SQL);
	if (has_after)
		buf_printf(&sql, " AND created_at >= %" PRId64, after);
	if (has_before)
		buf_printf(&sql, " AND created_at < %" PRId64, before);
	if (cursor)
		buf_printf(&sql, " AND seq < %" PRId64, cursor);
	buf_printf(&sql, " ORDER BY seq DESC LIMIT %d", max + 1);
	struct store_rows *rows;
	rc = store_query(req_db(c->r), buf_str(&sql), SNOARGS, &rows);
	buf_release(&sql);
	if (rc)
		return aws_fail(c, 500, "InternalServerError", NULL, "the store could not be read; try again");
	/* Collect first: building details queries the store again on this thread's connection. */
	json_t *tickets = json_array();
	int64_t last = 0, next = 0;
	int n = 0;
	while (store_next(rows) == 1) {
		if (n++ == max) {
			next = last;
			break;
		}
		last = store_int(rows, 0);
		json_t *t = json_loads(store_text(rows, 1), 0, NULL);
		if (t)
			json_array_append_new(tickets, t);
	}
	store_rows_free(rows);
	if (str_in(c, "displayId") && json_array_size(tickets) == 0) {
		json_decref(tickets);
		return aws_fail(c, 400, "CaseIdNotFound", NULL, "Case with display id %.32s not found",
				str_in(c, "displayId"));
	}
	json_t *recent = with_comms ? recent_comms(c, tickets) : NULL;
	if (with_comms && !recent) {
		json_decref(tickets);
		return aws_fail(c, 500, "InternalServerError", NULL, "the store could not be read; try again");
	}
	json_t *cases = json_array();
	size_t i;
	json_t *t;
	json_array_foreach(tickets, i, t) {
		json_array_append_new(cases, case_details(c, t, json_integer_value(json_object_get(t, "seq")),
							  recent ? json_object_get(recent, jv_str_or(t, "id", "")) : NULL));
	}
	json_decref(recent);
	json_decref(tickets);
	c->out = json_pack("{s:o}", "cases", cases);
	if (next)
		json_object_set_new(c->out, "nextToken", token_json(next));
	return 0;
}

static int op_describe_communications(struct aws_call *c)
{
	int max, rc;
	int64_t cursor, after = 0, before = 0;
	bool has_after, has_before;
	json_t *t;
	if ((rc = page_in(c, &max, &cursor)) || (rc = time_in(c, "afterTime", &after, &has_after)) ||
	    (rc = time_in(c, "beforeTime", &before, &has_before)))
		return rc;
	if ((rc = load_case(c, str_in(c, "caseId"), &t, NULL)))
		return rc;
	json_t *items = NULL;
	int64_t next = 0;
	rc = communications(c, jv_str(t, "id"), str_in(c, "caseId"), max, cursor, after, has_after, before, has_before,
			    &items, &next);
	json_decref(t);
	if (rc)
		return aws_fail(c, 500, "InternalServerError", NULL, "the store could not be read; try again");
	c->out = json_pack("{s:o}", "communications", items);
	if (next)
		json_object_set_new(c->out, "nextToken", token_json(next));
	return 0;
}

struct comment_ctx {
	const char *id, *actor;
	json_t *entry;
};

static int comment_tx(struct store_conn *sc, void *arg)
{
	struct comment_ctx *x = arg;
	json_t *t;
	int rc = tkt_load(sc, x->id, &t);
	if (rc)
		return rc;
	rc = tkt_timeline_add(sc, x->id, x->actor, "comment", "public", x->entry);
	if (!rc)
		rc = tkt_notify_requester(sc, t, "ticket.commented", x->entry);
	if (!rc)
		rc = tkt_save(sc, t);
	if (!rc)
		rc = audit_append(sc, x->actor, jv_str(t, "account"), "ticket.comment", x->id, NULL, x->entry);
	json_decref(t);
	return rc;
}

static int op_add_communication(struct aws_call *c)
{
	int rc;
	json_t *t;
	unsigned perms;
	if ((rc = check_str(c, "communicationBody", 1, 8000, true)) || (rc = check_cc(c)))
		return rc;
	if (str_in(c, "attachmentSetId"))
		return aws_fail(c, 400, "AttachmentSetIdNotFound", NULL,
				"attachment set %.60s not found: this endpoint does not store attachments",
				str_in(c, "attachmentSetId"));
	if ((rc = load_case(c, str_in(c, "caseId"), &t, &perms)))
		return rc;
	if (!(perms & PERM_SUBMIT)) {
		json_decref(t);
		return aws_fail(c, 400, "AccessDeniedException", NULL,
				"your role on account %s may read this case but not add to it", jv_str(t, "account"));
	}
	json_t *entry = json_pack("{s:s}", "body", str_in(c, "communicationBody"));
	struct comment_ctx x = { jv_str(t, "id"), c->r->auth->principal, entry };
	rc = store_write(c->r->srv->store, comment_tx, &x);
	json_decref(entry);
	json_decref(t);
	if (rc)
		return aws_fail(c, 500, "InternalServerError", NULL, "the communication could not be stored; try again");
	c->out = json_pack("{s:b}", "result", 1);
	return 0;
}

struct resolve_ctx {
	const char *id, *actor;
	unsigned perms;
	char initial[32];
	struct fw_error err;
};

/* The ticket status that resolves a case: incidents are resolved; a service request in progress is
 * fulfilled by whoever works it, otherwise the requester withdraws (cancels) it. */
static const char *resolve_target(const json_t *t, unsigned perms)
{
	if (!strcmp(jv_str_or(t, "kind", ""), "incident"))
		return "resolved";
	if (!strcmp(jv_str_or(t, "status", ""), "in_progress") && (perms & PERM_WORK))
		return "fulfilled";
	return "cancelled";
}

static int resolve_tx(struct store_conn *sc, void *arg)
{
	struct resolve_ctx *x = arg;
	json_t *t;
	int rc = tkt_load(sc, x->id, &t);
	if (rc)
		return rc;
	const char *from = jv_str_or(t, "status", "");
	snprintf(x->initial, sizeof(x->initial), "%s",
		 aws_case_status(jv_str(t, "kind"), from, json_object_get(t, "resolved_at") != NULL));
	if (aws_case_resolved(from)) {
		json_decref(t);
		return 0;
	}
	json_t *before = json_deep_copy(t);
	const char *to = resolve_target(t, x->perms);
	const struct tkt_kind_info *k = tkt_kind_of_id(x->id);
	rc = tkt_check_transition(k->kind, from, to, x->perms, &x->err);
	if (!rc)
		rc = tkt_set_status(sc, t, to, x->actor, "resolved through the AWS Support API");
	if (!rc)
		rc = audit_append(sc, x->actor, jv_str(t, "account"), "ticket.transition", x->id, before, t);
	json_decref(before);
	json_decref(t);
	return rc;
}

static int op_resolve_case(struct aws_call *c)
{
	json_t *t;
	unsigned perms;
	int rc = load_case(c, str_in(c, "caseId"), &t, &perms);
	if (rc)
		return rc;
	struct resolve_ctx x = { .id = jv_str(t, "id"), .actor = c->r->auth->principal, .perms = perms };
	rc = store_write(c->r->srv->store, resolve_tx, &x);
	json_decref(t);
	if (rc && x.err.status == 403)
		return aws_fail(c, 400, "AccessDeniedException", NULL, "%s", x.err.message);
	if (rc && x.err.status)
		return aws_fail(c, 400, "ValidationException", NULL, "%s", x.err.message);
	if (rc)
		return aws_fail(c, 500, "InternalServerError", NULL, "the case could not be resolved; try again");
	c->out = json_pack("{s:s,s:s}", "initialCaseStatus", x.initial, "finalCaseStatus", "resolved");
	return 0;
}

static const char *const services[][2] = {
	{ AWS_INCIDENT_SERVICE, "AMS Operations: Report Incident" },
	{ AWS_REQUEST_SERVICE, "AMS Operations: Service Request" },
	{ "general-info", "General Info and Getting Started" },
	{ "customer-account", "Account Management" },
	{ "billing", "Billing" },
};
static const char *const categories[][2] = {
	{ "general-guidance", "General Guidance" },
	{ "system-impaired", "System Impaired" },
	{ "production-impaired", "Production System Impaired" },
	{ "production-down", "Production System Down" },
	{ "other", "Other" },
};

static int op_describe_services(struct aws_call *c)
{
	json_t *want = json_object_get(c->in, "serviceCodeList");
	json_t *out = json_array();
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		bool listed = !json_array_size(want);
		for (size_t j = 0; j < json_array_size(want); j++)
			if (json_is_string(json_array_get(want, j)) &&
			    !strcmp(json_string_value(json_array_get(want, j)), services[i][0]))
				listed = true;
		if (!listed)
			continue;
		json_t *cats = json_array();
		for (size_t j = 0; j < sizeof(categories) / sizeof(categories[0]); j++)
			json_array_append_new(cats, json_pack("{s:s,s:s}", "code", categories[j][0], "name", categories[j][1]));
		json_array_append_new(out, json_pack("{s:s,s:s,s:o}", "code", services[i][0], "name", services[i][1],
						     "categories", cats));
	}
	c->out = json_pack("{s:o}", "services", out);
	return 0;
}

static int op_describe_severity_levels(struct aws_call *c)
{
	static const char *const names[] = { "Low", "Normal", "High", "Urgent", "Critical" };
	json_t *out = json_array();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		json_array_append_new(out, json_pack("{s:s,s:s}", "code", sev_map[i][0], "name", names[i]));
	c->out = json_pack("{s:o}", "severityLevels", out);
	return 0;
}

int aws_support_call(struct aws_call *c)
{
	static const struct {
		const char *op;
		int (*fn)(struct aws_call *);
	} ops[] = {
		{ "CreateCase", op_create_case },
		{ "DescribeCases", op_describe_cases },
		{ "DescribeCommunications", op_describe_communications },
		{ "AddCommunicationToCase", op_add_communication },
		{ "ResolveCase", op_resolve_case },
		{ "DescribeServices", op_describe_services },
		{ "DescribeSeverityLevels", op_describe_severity_levels },
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(c->op, ops[i].op))
			return ops[i].fn(c);
	return aws_fail(c, 400, "UnknownOperationException", NULL,
			"AWSSupport_20130415.%.60s is not supported here; supported: CreateCase, DescribeCases, "
			"DescribeCommunications, AddCommunicationToCase, ResolveCase, DescribeServices, "
			"DescribeSeverityLevels",
			c->op);
}
