/* AWS Support API adapter: cases are incidents and service requests (see aws_support.h). */
#include "compat/aws_support.h"
#include "audit/audit.h"
#include "compat/aws.h"
#include "compat/aws_json.h"
#include "http/auth.h"
#include "http/req.h"
#include "http/server.h"
#include "store/store.h"
#include "tickets/ticket.h"
#include "tickets/tkt_store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/json_out.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hard cap on a describe-cases answer: 100 cases with 5 communications of 8,000 characters each is
 * about 4 MB. */
#define OUT_MAX (32u << 20)

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

/* ---- describe-cases: CaseDetails written straight from the tickets' JSON text ---- */

/* The members of a ticket (and of its "aws_case" object) a CaseDetails is made of. */
enum { TF_ID, TF_ACCOUNT, TF_KIND, TF_TITLE, TF_STATUS, TF_CREATED, TF_RESOLVED, TF_CASE, TF_CATEGORY, TF_SEVERITY,
       TF_PRIORITY, TF_REQUESTER, TF_CREATED_BY, TF_N };
static const char *const ticket_keys[] = { "id",	  "account",	"kind",	    "title",	"status",
					   "created_at",  "resolved_at", "aws_case", "category", "severity",
					   "priority",	  "requester",	"created_by", NULL };
enum { MF_SERVICE, MF_CATEGORY, MF_CC, MF_LANGUAGE, MF_N };
static const char *const meta_keys[] = { "service_code", "category_code", "cc", "language", NULL };

/* At most this many public comments per case in recentCommunications; one more is read to tell whether
 * there are more (nextToken). */
#define RECENT_COMMS 5

struct case_row {
	int64_t seq;
	char *data; /* the ticket's JSON text (owned); the spans point into it */
	struct aws_json_span f[TF_N], m[MF_N];
	char id[40];
	size_t comm_first, ncomms; /* its slice of struct page.comms */
};

/* A public comment rendered up to its caseId member: comm_text[off, off + len) is
 * {"body":…,"submittedBy":…,"timeCreated":…,"attachmentSet":[],"caseId": */
struct comm {
	size_t row; /* index in struct page.rows */
	int64_t n;
	size_t off, len;
};

struct page {
	struct case_row *rows;
	size_t nrows;
	struct comm *comms;
	size_t ncomms;
	struct buf comm_text;
};

static void page_release(struct page *pg)
{
	for (size_t i = 0; i < pg->nrows; i++)
		free(pg->rows[i].data);
	free(pg->rows);
	free(pg->comms);
	buf_release(&pg->comm_text);
}

/* A member's decoded string value into tmp; NULL when it is absent or not a string, and "\x7f" (equal to
 * no value anything compares with) when it is longer than cap. */
static const char *span_str(const struct aws_json_span *v, char *tmp, size_t cap)
{
	int rc = aws_json_string(v, tmp, cap);
	if (rc == FW_ETOOBIG)
		return "\x7f";
	return rc ? NULL : tmp;
}

/* Appends the member's string literal as stored (json_dumps() wrote it, so it is valid JSON as it
 * stands), or dflt when the member is not a string. */
static int put_str(struct buf *b, const struct aws_json_span *v, const char *dflt)
{
	if (v->type == AWS_JSON_STRING)
		return buf_append(b, v->p, v->n);
	return json_out_str(b, dflt);
}

/* Appends v in decimal: the answers are built with a few hundred appends, printf would dominate. */
static int put_int(struct buf *b, int64_t v)
{
	char d[24];
	size_t i = sizeof(d);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do
		d[--i] = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		d[--i] = '-';
	return buf_append(b, d + i, sizeof(d) - i);
}

/* ,"name":"decimal v" */
static int put_int_member(struct buf *b, const char *name, int64_t v)
{
	int rc;
	if ((rc = buf_puts(b, ",\"")) || (rc = buf_puts(b, name)) || (rc = buf_puts(b, "\":\"")) || (rc = put_int(b, v)))
		return rc;
	return buf_puts(b, "\"");
}

/* ,"name": and the member's string literal (or dflt) */
static int put_member(struct buf *b, const char *name, const struct aws_json_span *v, const char *dflt)
{
	int rc;
	if ((rc = buf_puts(b, ",\"")) || (rc = buf_puts(b, name)) || (rc = buf_puts(b, "\":")))
		return rc;
	return put_str(b, v, dflt);
}

/* ,"name":"s" for s made of characters that need no escaping (codes, times) */
static int put_plain(struct buf *b, const char *name, const char *s)
{
	int rc;
	if ((rc = buf_puts(b, ",\"")) || (rc = buf_puts(b, name)) || (rc = buf_puts(b, "\":\"")) || (rc = buf_puts(b, s)))
		return rc;
	return buf_puts(b, "\"");
}

/* By case, newest first. */
static int comm_cmp(const void *a, const void *b)
{
	const struct comm *x = a, *y = b;
	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	return x->n > y->n ? -1 : x->n < y->n;
}

/* Cases per comments query: the PostgreSQL store binds at most 64 parameters. */
#define COMMS_PER_QUERY 50

/* The newest public comments of rows [first, first + n) of the page, in one query: each case's own
 * LIMIT, so a case with thousands of comments costs no more than one with six. */
static int page_comms_part(struct aws_call *c, struct page *pg, size_t first, size_t n, size_t *cap)
{
	struct store_arg args[COMMS_PER_QUERY];
	struct buf sql = BUF_INIT(1 << 16);
	struct store_rows *rows = NULL;
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		args[i] = ST(pg->rows[first + i].id);
		if ((rc = buf_puts(&sql, i ? " UNION ALL " : "")) ||
		    (rc = buf_puts(&sql, "SELECT ticket, n, at, actor, body FROM (SELECT ticket, n, at, actor, body "
					 "FROM timeline WHERE ticket = $")) ||
		    (rc = put_int(&sql, (int64_t)i + 1)) ||
		    (rc = buf_puts(&sql, " AND type = 'comment' AND visibility = 'public' ORDER BY n DESC LIMIT ")) ||
		    (rc = put_int(&sql, RECENT_COMMS + 1)) || (rc = buf_puts(&sql, ") AS c")))
			break;
		rc = put_int(&sql, (int64_t)i + 1);
	}
	if (!rc)
		rc = store_query(req_db(c->r), buf_str(&sql), args, (int)n, &rows);
	buf_release(&sql);
	if (rc)
		return rc;
	static const char *const body_key[] = { "body", NULL };
	size_t cur = first;
	while (!rc && (rc = store_next(rows)) == 1) {
		const char *ticket = store_text(rows, 0);
		rc = 0;
		if (!ticket)
			continue;
		/* Rows of one case come together: look the case up when the ticket changes. */
		if (strcmp(ticket, pg->rows[cur].id) != 0) {
			size_t i = first;
			while (i < first + n && strcmp(pg->rows[i].id, ticket) != 0)
				i++;
			if (i == first + n)
				continue;
			cur = i;
		}
		if (pg->ncomms == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			struct comm *nc = realloc(pg->comms, *cap * sizeof(*nc));
			if (!nc) {
				rc = FW_ENOMEM;
				break;
			}
			pg->comms = nc;
		}
		const char *body = store_text(rows, 4);
		struct aws_json_span bf[1];
		if (!body || aws_json_fields(body, strlen(body), body_key, bf))
			bf[0].type = AWS_JSON_ABSENT;
		char ts[32];
		time_fmt_ms(store_int(rows, 2), ts, sizeof(ts));
		struct comm *m = &pg->comms[pg->ncomms];
		m->row = cur;
		m->n = store_int(rows, 1);
		m->off = pg->comm_text.len;
		struct buf *b = &pg->comm_text;
		if ((rc = buf_puts(b, "{\"body\":")) || (rc = put_str(b, &bf[0], "")) ||
		    (rc = buf_puts(b, ",\"submittedBy\":")) ||
		    (rc = json_out_str(b, aws_principal_label(c, store_text(rows, 3)))) ||
		    (rc = put_plain(b, "timeCreated", ts)) || (rc = buf_puts(b, ",\"attachmentSet\":[],\"caseId\":")))
			break;
		m->len = b->len - m->off;
		pg->ncomms++;
	}
	store_rows_free(rows);
	return rc < 0 ? rc : 0;
}

/* The newest public comments of every case of the page. The parts of a UNION ALL come in no
 * promised order; they are sorted here, by case and newest first. */
static int page_comms(struct aws_call *c, struct page *pg)
{
	size_t cap = 0;
	for (size_t first = 0; first < pg->nrows; first += COMMS_PER_QUERY) {
		size_t n = pg->nrows - first < COMMS_PER_QUERY ? pg->nrows - first : COMMS_PER_QUERY;
		int rc = page_comms_part(c, pg, first, n, &cap);
		if (rc)
			return rc;
	}
	if (pg->ncomms) /* comms is NULL then, and qsort() must not get NULL */
		qsort(pg->comms, pg->ncomms, sizeof(*pg->comms), comm_cmp);
	for (size_t i = pg->ncomms; i-- > 0;) {
		struct case_row *row = &pg->rows[pg->comms[i].row];
		row->comm_first = i;
		row->ncomms++;
	}
	return 0;
}

/* One CaseDetails. with_comms: add recentCommunications from the page's comments. */
static int put_case(struct aws_call *c, struct buf *b, const struct page *pg, const struct case_row *row,
		    bool with_comms)
{
	const struct aws_json_span *f = row->f, *m = row->m;
	char account[128], created[64], kind_s[32], status_s[32], sev_s[32], prio_s[32], who_s[64];
	char case_id[160];
	const char *kind = span_str(&f[TF_KIND], kind_s, sizeof(kind_s));
	const char *created_at = span_str(&f[TF_CREATED], created, sizeof(created));
	int64_t created_ms = 0;
	int rc;

	if (!kind)
		kind = "incident";
	if (created_at)
		time_parse_rfc3339(created_at, &created_ms);
	const char *acc = span_str(&f[TF_ACCOUNT], account, sizeof(account));
	aws_case_id(acc ? acc : "", created_ms, row->seq, case_id, sizeof(case_id));
	const char *who = span_str(&f[TF_REQUESTER], who_s, sizeof(who_s));
	if (!who)
		who = span_str(&f[TF_CREATED_BY], who_s, sizeof(who_s));
	const struct aws_json_span *category = m[MF_CATEGORY].type == AWS_JSON_STRING ? &m[MF_CATEGORY] : &f[TF_CATEGORY];

	if ((rc = buf_puts(b, "{\"caseId\":")) || (rc = json_out_str(b, case_id)) ||
	    (rc = put_int_member(b, "displayId", row->seq)) ||
	    (rc = put_member(b, "subject", &f[TF_TITLE], "")) ||
	    (rc = put_plain(b, "status",
			    aws_case_status(kind, span_str(&f[TF_STATUS], status_s, sizeof(status_s)),
					    f[TF_RESOLVED].type != AWS_JSON_ABSENT))) ||
	    (rc = put_member(b, "serviceCode", &m[MF_SERVICE],
			     !strcmp(kind, "incident") ? AWS_INCIDENT_SERVICE : AWS_REQUEST_SERVICE)))
		return rc;
	/* categoryCode is null, not left out, when the case has none (as json_pack's "s?" wrote it). */
	if ((rc = category->type == AWS_JSON_STRING ? put_member(b, "categoryCode", category, "")
						     : buf_puts(b, ",\"categoryCode\":null")) ||
	    (rc = put_plain(b, "severityCode",
			    aws_severity_of_ticket(span_str(&f[TF_SEVERITY], sev_s, sizeof(sev_s)),
						   span_str(&f[TF_PRIORITY], prio_s, sizeof(prio_s))))) ||
	    (rc = buf_puts(b, ",\"submittedBy\":")) ||
	    (rc = json_out_str(b, aws_principal_label(c, who))) || (rc = put_member(b, "timeCreated", &f[TF_CREATED], "")) ||
	    (rc = buf_puts(b, ",\"ccEmailAddresses\":")) ||
	    (rc = m[MF_CC].type == AWS_JSON_ARRAY ? buf_append(b, m[MF_CC].p, m[MF_CC].n) : buf_puts(b, "[]")) ||
	    (rc = put_member(b, "language", &m[MF_LANGUAGE], "en")))
		return rc;
	if (with_comms) {
		size_t n = row->ncomms;
		rc = buf_puts(b, ",\"recentCommunications\":{");
		if (!rc && n > RECENT_COMMS && !(rc = buf_puts(b, "\"nextToken\":\"")) &&
		    !(rc = put_int(b, pg->comms[row->comm_first + RECENT_COMMS - 1].n)))
			rc = buf_puts(b, "\",");
		if (!rc)
			rc = buf_puts(b, "\"communications\":[");
		for (size_t i = 0; !rc && i < n && i < RECENT_COMMS; i++) {
			const struct comm *cm = &pg->comms[row->comm_first + i];
			if (i)
				rc = buf_puts(b, ",");
			if (!rc)
				rc = buf_append(b, buf_str(&pg->comm_text) + cm->off, cm->len);
			if (!rc)
				rc = json_out_str(b, case_id);
			if (!rc)
				rc = buf_puts(b, "}");
		}
		if (!rc)
			rc = buf_puts(b, "]}");
		if (rc)
			return rc;
	}
	return buf_puts(b, "}");
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
	struct page pg = { .comm_text = BUF_INIT(OUT_MAX) };
	struct buf out = BUF_INIT(OUT_MAX);
	int64_t last = 0, next = 0;
	int n = 0;
	size_t cap = 0;
	bool oom = false;
	while ((rc = store_next(rows)) == 1) {
		if (n++ == max) {
			next = last;
			break;
		}
		last = store_int(rows, 0);
		if (pg.nrows == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct case_row *nr = realloc(pg.rows, ncap * sizeof(*nr));
			if (!nr) {
				oom = true;
				break;
			}
			pg.rows = nr;
			cap = ncap;
		}
		struct case_row *row = &pg.rows[pg.nrows];
		memset(row, 0, sizeof(*row));
		const char *data = store_text(rows, 1);
		size_t len = data ? strlen(data) : 0;
		/* A ticket whose JSON does not read is left out, as before. */
		if (!data || aws_json_fields(data, len, ticket_keys, row->f) || !(row->data = malloc(len + 1)))
			continue;
		memcpy(row->data, data, len + 1);
		/* Re-point the spans from the row's text to our copy. */
		for (int i = 0; i < TF_N; i++)
			row->f[i].p = row->f[i].p ? row->data + (row->f[i].p - data) : NULL;
		if (row->f[TF_CASE].type != AWS_JSON_OBJECT ||
		    aws_json_fields(row->f[TF_CASE].p, row->f[TF_CASE].n, meta_keys, row->m))
			memset(row->m, 0, sizeof(row->m));
		if (aws_json_string(&row->f[TF_ID], row->id, sizeof(row->id)))
			row->id[0] = '\0';
		row->seq = last;
		pg.nrows++;
	}
	store_rows_free(rows);
	if (oom) {
		rc = aws_fail(c, 500, "InternalServerError", NULL, "out of memory; try again");
		goto out;
	}
	if (str_in(c, "displayId") && pg.nrows == 0) {
		rc = aws_fail(c, 400, "CaseIdNotFound", NULL, "Case with display id %.32s not found",
			      str_in(c, "displayId"));
		goto out;
	}
	if (with_comms && pg.nrows && page_comms(c, &pg)) {
		rc = aws_fail(c, 500, "InternalServerError", NULL, "the store could not be read; try again");
		goto out;
	}
	rc = buf_puts(&out, "{\"cases\":[");
	for (size_t i = 0; !rc && i < pg.nrows; i++) {
		if (i)
			rc = buf_puts(&out, ",");
		if (!rc)
			rc = put_case(c, &out, &pg, &pg.rows[i], with_comms);
	}
	if (!rc)
		rc = buf_puts(&out, "]");
	if (!rc && next)
		rc = put_int_member(&out, "nextToken", next);
	if (!rc)
		rc = buf_puts(&out, "}");
	if (rc) {
		rc = aws_fail(c, 500, "InternalServerError", NULL,
			      rc == FW_ETOOBIG ? "the answer is too large; ask for fewer cases (maxResults)"
					       : "the answer could not be built; try again");
		goto out;
	}
	c->out_len = out.len;
	c->out_raw = buf_detach(&out);
	if (!c->out_raw)
		rc = aws_fail(c, 500, "InternalServerError", NULL, "out of memory; try again");
out:
	buf_release(&out);
	page_release(&pg);
	return rc;
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
