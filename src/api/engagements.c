/* /api/v1/engagements (requests, review, modifications, opt-out) and /api/v1/worklogs: Operations on
 * Demand. Handlers validate everything they can before writing; the facts that can change under them
 * (overlapping engagements, minutes already logged) are checked again inside the write. */
#include "api/api.h"
#include "audit/audit.h"
#include "catalog/billing.h"
#include "catalog/engagement.h"
#include "catalog/offering.h"
#include "http/auth.h"
#include "http/req.h"
#include "http/router.h"
#include "http/server.h"
#include "store/store.h"
#include "tickets/ticket.h"
#include "tickets/tkt_store.h"
#include "util/buf.h"
#include "util/jsonv.h"
#include "util/timeutil.h"
#include "util/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared helpers ---- */

static int64_t next_counter(struct store_conn *c, const char *name)
{
	int64_t v = -1;
	if (store_counter_next(c, name, &v))
		return -1;
	return v;
}

/* Account facts: parent, plan and zone. FW_ENOTFOUND when there is no such account. */
struct acct {
	char parent[16], plan[16], tz[64];
};

static int load_acct(struct store_conn *c, const char *id, struct acct *a)
{
	struct store_rows *rows;
	int rc =
	    store_query(c, "SELECT parent, plan, timezone FROM accounts WHERE id = $1", SARGS(ST(id)), &rows);
	if (rc)
		return rc;
	rc = FW_ENOTFOUND;
	if (store_next(rows) == 1) {
		snprintf(a->parent, sizeof(a->parent), "%s", store_text(rows, 0) ? store_text(rows, 0) : "");
		snprintf(a->plan, sizeof(a->plan), "%s", store_text(rows, 1) ? store_text(rows, 1) : "");
		snprintf(a->tz, sizeof(a->tz), "%s", store_text(rows, 2));
		rc = 0;
	}
	store_rows_free(rows);
	return rc;
}

/* Turns field `name` holding "YYYY-MM-DD" into its first instant in tz, refusing dates before today
 * (there is no backdating of agreements). */
static int future_date(struct req *r, const char *name, const char *s, const char *tz, time_t *out)
{
	int y, m, d;
	struct fw_error e;
	time_t today;
	if (cat_date_parse(s, &y, &m, &d))
		return req_fail(r, 422, "invalid_date",
		                "field '%s' must be a date as YYYY-MM-DD, got '%.40s'", name, s);
	if (cat_day_start(tz, y, m, d, out, &e))
		return req_fail(r, 422, e.code, "field '%s': %s", name, e.message);
	if (cat_today_start(tz, time_now_ms(), &today) == 0 && *out < today) {
		char ts[32];
		struct tm tm;
		tz_local(tz, (time_t)(time_now_ms() / 1000), &tm);
		snprintf(ts, sizeof(ts), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		return req_fail(
		    r, 422, "date_in_past",
		    "field '%s' %s is in the past (today is %s in %s); give today or a later date", name, s,
		    ts, tz);
	}
	return 0;
}

/* Loads engagement id for a caller holding perm on its account: 404 when the caller cannot read the
 * account, 403 when the role is too weak. *out is a new reference. */
static int load_eng(struct req *r, const char *id, unsigned perm, const char *action, json_t **out)
{
	json_t *e = cat_engagement_json(req_db(r), id);
	unsigned p = e ? auth_perms(r, jv_str(e, "account")) : 0;
	if (!(p & PERM_READ)) {
		json_decref(e);
		return req_fail(r, 404, "not_found", "engagement %.40s not found", id);
	}
	if ((p & perm) != perm) {
		json_decref(e);
		return req_fail(r, 403, "forbidden", "%s needs the %s role on account %s", action,
		                perm == PERM_APPROVE ? "approver"
		                : perm == PERM_WORK  ? "operator"
		                                     : "requester",
		                jv_str(e, "account"));
	}
	*out = e;
	return 0;
}

static json_t *find_line(json_t *eng, const char *offering, const char *account)
{
	json_t *lines = json_object_get(eng, "lines");
	for (size_t i = 0; i < json_array_size(lines); i++) {
		json_t *l = json_array_get(lines, i);
		if (!strcmp(jv_str(l, "offering"), offering) && !strcmp(jv_str(l, "account"), account))
			return l;
	}
	return NULL;
}

static bool started(json_t *eng)
{
	const char *st = jv_str(eng, "status");
	return jv_str(eng, "start_date") && (!strcmp(st, "approved") || !strcmp(st, "partially_approved"));
}

/* ---- create ---- */

static const struct jv_field create_fields[] = {
    {"account", JV_STRING, JV_REQUIRED, 12, NULL},
    {"title", JV_STRING, JV_NONEMPTY, 200, NULL},
    {"description", JV_STRING, 0, 20000, NULL},
    {"start_date", JV_STRING, JV_NULLABLE, 10, NULL},
    {"offerings", JV_ARRAY, JV_REQUIRED | JV_NONEMPTY, 50, NULL},
    {NULL},
};

static const struct jv_field item_fields[] = {
    {"offering", JV_STRING, JV_REQUIRED | JV_NONEMPTY, 64, NULL},
    {"blocks", JV_INT, JV_REQUIRED, 0, NULL},
    {"accounts", JV_ARRAY, JV_NONEMPTY, 200, NULL},
    {NULL},
};

struct create_ctx {
	json_t *sr;    /* the service request to insert */
	json_t *lines; /* [{offering, account, blocks}] */
	const char *account, *actor, *tz, *proposed;
	int64_t proposed_at; /* 0 when no start was proposed */
	char id[32];
	struct fw_error err;
};

/* An engagement line overlaps another engagement's for the same offering and account unless that one
 * was denied, or is ended (opted out) before this one can start. */
static int check_overlap(struct store_conn *c, const char *offering, const char *account, const char *self,
                         int64_t from, struct fw_error *err)
{
	struct store_rows *rows;
	int rc = store_query(
	    c,
	    "SELECT e.id, e.request FROM cat_lines l JOIN cat_engagements e ON e.id = l.engagement "
	    "WHERE l.offering = $1 AND l.account = $2 AND e.id <> $3 AND e.status <> 'denied' "
	    "AND (l.approved IS NULL OR l.approved > 0) AND (e.end_at IS NULL OR e.end_at > $4) "
	    "LIMIT 1",
	    SARGS(ST(offering), ST(account), ST(self), SI(from)), &rows);
	if (rc)
		return rc;
	if (store_next(rows) == 1)
		rc = fw_fail(
		    err, 409, "overlapping_engagement",
		    "account %s already has engagement %s (%s) for offering '%s'; modify that engagement "
		    "or opt out of it first",
		    account, store_text(rows, 0), store_text(rows, 1), offering);
	store_rows_free(rows);
	return rc;
}

static int create_tx(struct store_conn *c, void *arg)
{
	struct create_ctx *x = arg;
	int64_t now = time_now_ms(), from = x->proposed_at ? x->proposed_at : now;
	int rc;
	for (size_t i = 0; i < json_array_size(x->lines); i++) {
		json_t *l = json_array_get(x->lines, i);
		if ((rc = check_overlap(c, jv_str(l, "offering"), jv_str(l, "account"), "", from, &x->err)))
			return rc;
	}
	int64_t seq = next_counter(c, "ENG");
	if (seq < 0)
		return FW_ESTORE;
	snprintf(x->id, sizeof(x->id), "ENG-%lld", (long long)seq);
	json_t *details = json_object_get(x->sr, "details");
	json_object_set_new(details, "engagement", json_string(x->id));
	if ((rc = tkt_insert(c, tkt_kind(TKT_REQUEST), x->sr, x->actor)))
		return rc;
	const char *sr = jv_str(x->sr, "id");
	rc = store_exec(
	    c,
	    "INSERT INTO cat_engagements (id, seq, account, request, status, timezone, proposed_start, "
	    "created_by, created_at, updated_at) VALUES ($1,$2,$3,$4,'submitted',$5,$6,$7,$8,$8)",
	    SARGS(ST(x->id), SI(seq), ST(x->account), ST(sr), ST(x->tz), ST(x->proposed), ST(x->actor),
	          SI(now)),
	    NULL);
	for (size_t i = 0; !rc && i < json_array_size(x->lines); i++) {
		json_t *l = json_array_get(x->lines, i);
		rc = store_exec(
		    c,
		    "INSERT INTO cat_lines (engagement, offering, account, requested) VALUES ($1,$2,$3,$4)",
		    SARGS(ST(x->id), ST(jv_str(l, "offering")), ST(jv_str(l, "account")),
		          SI(json_integer_value(json_object_get(l, "blocks")))),
		    NULL);
	}
	if (!rc)
		rc = tkt_link(c, sr, x->id, "engagement");
	if (!rc) {
		json_t *after =
		    json_pack("{s:s,s:s,s:O}", "engagement", x->id, "request", sr, "lines", x->lines);
		rc = audit_append(c, x->actor, x->account, "engagement.create", x->id, NULL, after);
		json_decref(after);
	}
	return rc;
}

/* Validates one requested offering; appends its lines. */
static int check_item(struct req *r, size_t i, json_t *it, const char *account, json_t *lines)
{
	struct fw_error e;
	char field[48];
	snprintf(field, sizeof(field), "offerings[%zu]", i);
	if (!json_is_object(it))
		return req_fail(r, 422, "invalid_field",
		                "field '%s' must be an object with offering, blocks, accounts", field);
	if (jv_check(it, item_fields, &e))
		return req_fail(r, e.status, e.code, "%s: %s", field, e.message);
	const char *oid = jv_str(it, "offering");
	json_int_t blocks = json_integer_value(json_object_get(it, "blocks"));
	if (blocks <= 0 || blocks > CAT_MAX_BLOCKS)
		return req_fail(r, 422, "invalid_blocks",
		                "field '%s.blocks' must be from 1 to %d blocks per month, got %lld", field,
		                CAT_MAX_BLOCKS, (long long)blocks);
	json_t *o = NULL;
	if (cat_offering_get(req_db(r), oid, &o))
		return req_fail(
		    r, 422, "unknown_offering",
		    "field '%s.offering': '%.64s' is not in the catalog; see GET /api/v1/catalog/offerings",
		    field, oid);
	int rc = 0;
	if (strcmp(jv_str(o, "status"), "available")) {
		rc = req_fail(r, 422, "offering_retired",
		              "field '%s.offering': '%s' is retired and cannot be ordered", field, oid);
		goto out;
	}
	json_t *accounts = json_object_get(it, "accounts");
	json_t *dflt = json_pack("[s]", account);
	if (!accounts)
		accounts = dflt;
	for (size_t j = 0; !rc && j < json_array_size(accounts); j++) {
		const char *acc = json_string_value(json_array_get(accounts, j));
		struct acct a;
		if (!api_account_id_ok(acc)) {
			rc = req_fail(r, 422, "invalid_field",
			              "field '%s.accounts[%zu]' must be a 12-digit account id", field, j);
			break;
		}
		/* The account itself, or a member of the management account that submits. */
		if (load_acct(req_db(r), acc, &a) || (strcmp(acc, account) && strcmp(a.parent, account)) ||
		    !(auth_perms(r, acc) & PERM_SUBMIT)) {
			rc = req_fail(
			    r, 422, "account_outside_organization",
			    "field '%s.accounts[%zu]': account %s is neither account %s nor one of its "
			    "member "
			    "accounts; an engagement covers the submitting account or, for a management "
			    "account, its members",
			    field, j, acc, account);
			break;
		}
		if (!cat_offering_allows_plan(o, a.plan)) {
			char plans[64] = "";
			json_t *pl = json_object_get(o, "plans");
			for (size_t k = 0; k < json_array_size(pl); k++)
				snprintf(plans + strlen(plans), sizeof(plans) - strlen(plans), "%s%s",
				         k ? ", " : "", json_string_value(json_array_get(pl, k)));
			rc = req_fail(
			    r, 422, "plan_not_eligible",
			    "field '%s.accounts[%zu]': account %s is on the %s plan, and offering '%s' is "
			    "available to: %s",
			    field, j, acc, a.plan[0] ? a.plan : "(no)", oid, plans);
			break;
		}
		for (size_t k = 0; k < json_array_size(lines); k++) {
			json_t *l = json_array_get(lines, k);
			if (!strcmp(jv_str(l, "offering"), oid) && !strcmp(jv_str(l, "account"), acc)) {
				rc = req_fail(r, 422, "duplicate_line",
				              "field '%s.accounts[%zu]': offering '%s' for account %s is "
				              "requested twice",
				              field, j, oid, acc);
				break;
			}
		}
		if (!rc)
			json_array_append_new(lines, json_pack("{s:s,s:s,s:I}", "offering", oid, "account",
			                                       acc, "blocks", (json_int_t)blocks));
	}
	json_decref(dflt);
out:
	json_decref(o);
	return rc;
}

static int h_create(struct req *r)
{
	json_t *body = NULL, *lines = json_array(), *eng = NULL;
	struct acct a;
	int rc = req_body_fields(r, create_fields, false, &body);
	if (rc)
		goto out;
	const char *account = jv_str(body, "account");
	if (!api_account_id_ok(account)) {
		rc = req_fail(r, 422, "invalid_field", "field 'account' must be a 12-digit account id");
		goto out;
	}
	if ((rc = auth_require(r, account, PERM_SUBMIT, "account")))
		goto out;
	if ((rc = load_acct(req_db(r), account, &a))) {
		rc = req_fail(r, 404, "not_found", "account not found");
		goto out;
	}
	json_t *items = json_object_get(body, "offerings");
	for (size_t i = 0; i < json_array_size(items); i++)
		if ((rc = check_item(r, i, json_array_get(items, i), account, lines)))
			goto out;
	const char *proposed = jv_str(body, "start_date");
	time_t pstart = 0;
	if (proposed && (rc = future_date(r, "start_date", proposed, a.tz, &pstart)))
		goto out;

	char title[200];
	snprintf(title, sizeof(title), "Operations on Demand engagement: %zu offering%s",
	         json_array_size(items), json_array_size(items) == 1 ? "" : "s");
	json_t *sr =
	    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:O}}", "account", account, "title",
	              jv_str_or(body, "title", title), "description", jv_str_or(body, "description", ""),
	              "impact", "low", "urgency", "medium", "priority", tkt_priority("low", "medium"),
	              "severity", "low", "category", "operations_on_demand", "source",
	              auth_perms(r, account) & PERM_WORK ? "api" : "customer", "requester", api_actor(r),
	              "details", "kind", "engagement", "lines", lines);
	json_object_set_new(sr, "offering", json_string(jv_str(json_array_get(items, 0), "offering")));
	struct create_ctx x = {.sr = sr,
	                       .lines = lines,
	                       .account = account,
	                       .actor = api_actor(r),
	                       .tz = a.tz,
	                       .proposed = proposed,
	                       .proposed_at = (int64_t)pstart * 1000};
	rc = store_write(r->srv->store, create_tx, &x);
	json_decref(sr);
	if (rc) {
		rc = x.err.status ? req_fail_from(r, &x.err) : rc;
		goto out;
	}
	eng = cat_engagement_json(req_db(r), x.id);
	char loc[64];
	snprintf(loc, sizeof(loc), "/api/v1/engagements/%s", x.id);
	req_header(r, "Location", loc);
	req_json(r, 201, eng);
out:
	json_decref(lines);
	json_decref(body);
	return rc;
}

/* ---- read ---- */

static int h_get(struct req *r)
{
	json_t *e;
	int rc = load_eng(r, req_param(r, 0), PERM_READ, "reading", &e);
	return rc ? rc : req_json(r, 200, e);
}

static int h_list(struct req *r)
{
	int limit;
	int64_t cursor;
	int rc = api_page(r, 50, 500, &limit, &cursor);
	if (rc)
		return rc;
	struct buf sql = BUF_INIT(1 << 16);
	const char *account = req_arg(r, "account"), *status = req_arg(r, "status");
	if (account && (!api_account_id_ok(account) || !(auth_perms(r, account) & PERM_READ)))
		return req_json(r, 200, api_list(json_array(), 0)); /* invisible: nothing there */
	buf_puts(&sql, "SELECT id, seq FROM cat_engagements WHERE (CAST($1 AS TEXT) IS NULL OR account = $1) "
	               "AND (CAST($2 AS TEXT) IS NULL OR status = $2) AND seq < $3");
	auth_account_filter(r, PERM_READ, "account", &sql);
	buf_printf(&sql, " ORDER BY seq DESC LIMIT %d", limit + 1);
	struct store_rows *rows;
	rc = store_query(req_db(r), buf_str(&sql),
	                 SARGS(ST(account), ST(status), SI(cursor ? cursor : INT64_MAX)), &rows);
	buf_release(&sql);
	if (rc)
		return rc;
	char(*ids)[32] = req_own(r, calloc((size_t)limit + 1, 32));
	int64_t last = 0, next = 0;
	int n = 0;
	while (ids && store_next(rows) == 1) {
		if (n == limit) {
			next = last;
			break;
		}
		snprintf(ids[n++], 32, "%s", store_text(rows, 0));
		last = store_int(rows, 1);
	}
	store_rows_free(rows);
	json_t *items = json_array();
	for (int i = 0; i < n; i++) {
		json_t *e = cat_engagement_json(req_db(r), ids[i]);
		if (e)
			json_array_append_new(items, e);
	}
	return req_json(r, 200, api_list(items, next));
}

/* ---- review ---- */

static const char *const decisions[] = {"approve", "partially_approve", "deny", NULL};

static const struct jv_field review_fields[] = {
    {"decision", JV_STRING, JV_REQUIRED, 0, decisions},
    {"reason", JV_STRING, JV_NULLABLE, 4000, NULL},
    {"start_date", JV_STRING, JV_NULLABLE, 10, NULL},
    {"lines", JV_ARRAY, JV_NULLABLE, 1000, NULL},
    {NULL},
};

struct review_ctx {
	const char *id, *actor, *status, *reason, *start_date;
	int64_t start_at;
	json_t *approved; /* [{offering, account, blocks}] for every line */
	int allocated;
	struct fw_error err;
};

static int review_tx(struct store_conn *c, void *arg)
{
	struct review_ctx *x = arg;
	json_t *eng = cat_engagement_json(c, x->id), *sr = NULL;
	int rc = 0;
	if (!eng)
		return fw_fail(&x->err, 404, "not_found", "engagement %s not found", x->id);
	if (strcmp(jv_str(eng, "status"), "submitted")) {
		rc = fw_fail(&x->err, 409, "invalid_transition",
		             "engagement %s is %s already; only a submitted engagement is reviewed", x->id,
		             jv_str(eng, "status"));
		goto out;
	}
	for (size_t i = 0; !rc && i < json_array_size(x->approved); i++) {
		json_t *l = json_array_get(x->approved, i);
		rc = store_exec(c,
		                "UPDATE cat_lines SET approved = $4 WHERE engagement = $1 AND offering = $2 "
		                "AND account = $3",
		                SARGS(ST(x->id), ST(jv_str(l, "offering")), ST(jv_str(l, "account")),
		                      SI(json_integer_value(json_object_get(l, "blocks")))),
		                NULL);
	}
	if (!rc)
		rc = store_exec(
		    c,
		    "UPDATE cat_engagements SET status = $2, reason = $3, start_date = $4, start_at = $5, "
		    "reviewed_by = $6, updated_at = $7 WHERE id = $1",
		    SARGS(ST(x->id), ST(x->status), ST(x->reason), ST(x->start_date),
		          x->start_date ? SI(x->start_at) : SN, ST(x->actor), SI(time_now_ms())),
		    NULL);
	if (!rc && !(rc = tkt_load(c, jv_str(eng, "request"), &sr))) {
		json_t *d = json_object_get(sr, "details");
		if (json_is_object(d)) {
			json_object_set(d, "approved", x->approved);
			if (x->start_date)
				json_object_set_new(d, "start_date", json_string(x->start_date));
		}
		char note[4200];
		snprintf(note, sizeof(note), "%s%s%s%s", x->reason ? x->reason : "",
		         x->reason && x->start_date ? "; " : "", x->start_date ? "starts " : "",
		         x->start_date ? x->start_date : "");
		rc = tkt_set_status(c, sr, x->status, x->actor, note[0] ? note : NULL);
	}
	if (!rc)
		rc = cat_allocate(c, x->id, time_now_ms(), &x->allocated);
	if (!rc) {
		json_t *after = json_pack("{s:s,s:s?,s:s?,s:O}", "status", x->status, "reason", x->reason,
		                          "start_date", x->start_date, "lines", x->approved);
		rc = audit_append(c, x->actor, jv_str(eng, "account"), "engagement.review", x->id, NULL,
		                  after);
		json_decref(after);
	}
out:
	json_decref(sr);
	json_decref(eng);
	return rc;
}

static int h_review(struct req *r)
{
	json_t *body = NULL, *eng = NULL, *approved = json_array();
	int rc = req_body_fields(r, review_fields, false, &body);
	if (rc)
		goto out;
	if ((rc = load_eng(r, req_param(r, 0), PERM_APPROVE, "reviewing an engagement", &eng)))
		goto out;
	if (strcmp(jv_str(eng, "status"), "submitted")) {
		rc = req_fail(r, 409, "invalid_transition",
		              "engagement %s is %s already; only a submitted engagement is reviewed",
		              jv_str(eng, "id"), jv_str(eng, "status"));
		goto out;
	}
	const char *decision = jv_str(body, "decision"), *reason = jv_str(body, "reason");
	bool deny = !strcmp(decision, "deny"), partial = !strcmp(decision, "partially_approve");
	if ((deny || partial) && (!reason || !*reason)) {
		rc = req_fail(r, 422, "missing_field", "field 'reason' is required to %s",
		              deny ? "deny" : "partially approve");
		goto out;
	}
	json_t *given = json_object_get(body, "lines");
	if (!partial && json_array_size(given)) {
		rc = req_fail(r, 422, "invalid_field",
		              "field 'lines' is only for decision 'partially_approve'");
		goto out;
	}
	if (partial && !json_array_size(given)) {
		rc = req_fail(r, 422, "missing_field",
		              "field 'lines' is required to partially approve: "
		              "[{\"offering\",\"account\",\"blocks\"}]");
		goto out;
	}
	json_t *lines = json_object_get(eng, "lines");
	bool reduced = false;
	int total = 0;
	for (size_t i = 0; i < json_array_size(lines); i++) {
		json_t *l = json_array_get(lines, i);
		json_int_t req = json_integer_value(json_object_get(l, "requested_blocks")),
		           b = deny ? 0 : req;
		json_array_append_new(approved, json_pack("{s:s,s:s,s:I}", "offering", jv_str(l, "offering"),
		                                          "account", jv_str(l, "account"), "blocks", b));
	}
	for (size_t i = 0; i < json_array_size(given); i++) {
		json_t *g = json_array_get(given, i);
		const char *o = jv_str(g, "offering"), *acc = jv_str(g, "account");
		json_t *b = json_object_get(g, "blocks");
		json_t *l = o && acc ? find_line(eng, o, acc) : NULL;
		if (!l) {
			rc = req_fail(
			    r, 422, "unknown_line",
			    "field 'lines[%zu]' must name an offering and account of this engagement", i);
			goto out;
		}
		json_int_t req = json_integer_value(json_object_get(l, "requested_blocks"));
		if (!json_is_integer(b) || json_integer_value(b) < 0 || json_integer_value(b) > req) {
			rc = req_fail(
			    r, 422, "invalid_blocks",
			    "field 'lines[%zu].blocks' must be from 0 (not approved) to the %lld requested",
			    i, (long long)req);
			goto out;
		}
		for (size_t k = 0; k < json_array_size(approved); k++) {
			json_t *a = json_array_get(approved, k);
			if (!strcmp(jv_str(a, "offering"), o) && !strcmp(jv_str(a, "account"), acc))
				json_object_set(a, "blocks", b);
		}
	}
	for (size_t k = 0; k < json_array_size(approved); k++) {
		json_t *a = json_array_get(approved, k);
		json_int_t b = json_integer_value(json_object_get(a, "blocks"));
		total += (int)b;
		if (b < json_integer_value(json_object_get(json_array_get(lines, k), "requested_blocks")))
			reduced = true;
	}
	if (partial && total == 0) {
		rc = req_fail(r, 422, "invalid_blocks",
		              "a partial approval approves at least one block; to refuse everything, deny");
		goto out;
	}
	struct review_ctx x = {.id = jv_str(eng, "id"),
	                       .actor = api_actor(r),
	                       .reason = reason,
	                       .approved = approved,
	                       .status = deny      ? "denied"
	                                 : reduced ? "partially_approved"
	                                           : "approved"};
	if (!deny) {
		x.start_date =
		    jv_str(body, "start_date") ? jv_str(body, "start_date") : jv_str(eng, "proposed_start");
		if (!x.start_date) {
			rc = req_fail(
			    r, 422, "missing_field",
			    "field 'start_date' is required: nothing starts until a start date is agreed");
			goto out;
		}
		time_t st;
		if ((rc = future_date(r, "start_date", x.start_date, jv_str(eng, "timezone"), &st)))
			goto out;
		x.start_at = (int64_t)st * 1000;
	}
	rc = store_write(r->srv->store, review_tx, &x);
	if (rc) {
		rc = x.err.status ? req_fail_from(r, &x.err) : rc;
		goto out;
	}
	req_json(r, 200, cat_engagement_json(req_db(r), x.id));
out:
	json_decref(approved);
	json_decref(eng);
	json_decref(body);
	return rc;
}

/* ---- modifications and opt-out ---- */

static const struct jv_field mod_fields[] = {
    {"effective_date", JV_STRING, JV_REQUIRED, 10, NULL},
    {"lines", JV_ARRAY, JV_REQUIRED | JV_NONEMPTY, 1000, NULL},
    {"reason", JV_STRING, JV_NULLABLE, 4000, NULL},
    {NULL},
};

struct mod_ctx {
	json_t *eng;
	const char *kind, *actor, *effective_date, *reason;
	int64_t effective_at;
	json_t *lines;
	char id[32];
	struct fw_error err;
};

/* Appends an approved change to each of lines, after checking the terms stay valid with it. */
static int apply_changes(struct store_conn *c, const char *eng, const char *mod, json_t *lines, int64_t at,
                         struct fw_error *err)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < json_array_size(lines); i++) {
		json_t *l = json_array_get(lines, i);
		const char *o = jv_str(l, "offering"), *acc = jv_str(l, "account");
		int blocks = (int)json_integer_value(json_object_get(l, "blocks"));
		struct cat_line_terms lt = CAT_LINE_TERMS_INIT;
		if ((rc = cat_line_terms_load(c, eng, o, acc, &lt)))
			return rc == FW_ENOTFOUND
			           ? fw_fail(err, 422, "unknown_line",
			                     "offering '%s' for account %s is not approved in %s", o, acc,
			                     eng)
			           : rc;
		struct cat_alloc_change *all = calloc(lt.t.n_changes + 1, sizeof(*all));
		if (!all) {
			cat_line_terms_release(&lt);
			return FW_ENOMEM;
		}
		for (size_t k = 0; k < lt.t.n_changes; k++)
			all[k] = lt.changes[k];
		all[lt.t.n_changes] = (struct cat_alloc_change){(time_t)(at / 1000), blocks};
		struct cat_terms t = lt.t;
		t.changes = all;
		t.n_changes++;
		rc = cat_terms_validate(&t, err);
		free(all);
		cat_line_terms_release(&lt);
		if (rc)
			return rc;
		rc = store_exec(
		    c,
		    "INSERT INTO cat_line_changes (engagement, offering, account, seq, effective_at, blocks, "
		    "modification) SELECT $1, $2, $3, COALESCE(MAX(seq), 0) + 1, $4, $5, $6 FROM "
		    "cat_line_changes WHERE engagement = $1 AND offering = $2 AND account = $3",
		    SARGS(ST(eng), ST(o), ST(acc), SI(at), SI(blocks), ST(mod)), NULL);
	}
	return rc;
}

static int mod_tx(struct store_conn *c, void *arg)
{
	struct mod_ctx *x = arg;
	const char *eid = jv_str(x->eng, "id"), *account = jv_str(x->eng, "account");
	bool optout = !strcmp(x->kind, "opt_out");
	int64_t now = time_now_ms(), end = 0;
	int rc = 0;
	if (optout &&
	    !store_query_int(c, "SELECT end_at FROM cat_engagements WHERE id = $1 AND end_at IS NOT NULL",
	                     SARGS(ST(eid)), &end))
		return fw_fail(&x->err, 409, "already_opted_out",
		               "engagement %s has an opt-out already; it ends on its effective date", eid);
	int64_t seq = next_counter(c, "MOD");
	if (seq < 0)
		return FW_ESTORE;
	snprintf(x->id, sizeof(x->id), "MOD-%lld", (long long)seq);
	char title[200];
	snprintf(title, sizeof(title), "%s %s from %s", optout ? "Opt out of" : "Modify", eid,
	         x->effective_date);
	json_t *sr = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s,s:O}}", "account",
	                       account, "title", title, "description", x->reason ? x->reason : "", "impact",
	                       "low", "urgency", "medium", "priority", tkt_priority("low", "medium"),
	                       "severity", "low", "category", "operations_on_demand", "source", "customer",
	                       "requester", x->actor, "details", "kind", x->kind, "engagement", eid,
	                       "modification", x->id, "effective_date", x->effective_date, "lines", x->lines);
	if (optout) /* an opt-out is the customer's right: it takes effect without review */
		json_object_set_new(sr, "status", json_string("approved"));
	if ((rc = tkt_insert(c, tkt_kind(TKT_REQUEST), sr, x->actor)))
		goto out;
	const char *srid = jv_str(sr, "id");
	char *lines = json_dumps(x->lines, JSON_COMPACT);
	rc = store_exec(
	    c,
	    "INSERT INTO cat_modifications (id, seq, engagement, kind, request, status, effective_date, "
	    "effective_at, lines, reason, created_by, created_at, updated_at) "
	    "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$12)",
	    SARGS(ST(x->id), SI(seq), ST(eid), ST(x->kind), ST(srid), ST(optout ? "approved" : "submitted"),
	          ST(x->effective_date), SI(x->effective_at), ST(lines), ST(x->reason), ST(x->actor),
	          SI(now)),
	    NULL);
	free(lines);
	if (!rc)
		rc = tkt_link(c, srid, jv_str(x->eng, "request"), optout ? "opts_out_of" : "modifies");
	if (!rc && optout) {
		if (!(rc = apply_changes(c, eid, x->id, x->lines, x->effective_at, &x->err)))
			rc = store_exec(c,
			                "UPDATE cat_engagements SET end_date = $2, end_at = $3, updated_at = "
			                "$4 WHERE id = $1",
			                SARGS(ST(eid), ST(x->effective_date), SI(x->effective_at), SI(now)),
			                NULL);
		if (!rc)
			rc = cat_allocation_refresh(c, eid);
	}
	if (!rc) {
		json_t *after =
		    json_pack("{s:s,s:s,s:s,s:s,s:O}", "modification", x->id, "request", srid, "kind",
		              x->kind, "effective_date", x->effective_date, "lines", x->lines);
		rc = audit_append(c, x->actor, account, optout ? "engagement.opt_out" : "engagement.modify",
		                  eid, NULL, after);
		json_decref(after);
	}
out:
	json_decref(sr);
	return rc;
}

static int need_started(struct req *r, json_t *eng, const char *kind)
{
	if (started(eng))
		return 0;
	return req_fail(r, 409, "invalid_transition",
	                "engagement %s is %s%s; only an approved engagement with a start date can be %s",
	                jv_str(eng, "id"), jv_str(eng, "status"),
	                jv_str(eng, "start_date") ? "" : " without a start date",
	                !strcmp(kind, "opt_out") ? "opted out of" : "modified");
}

static int submit_mod(struct req *r, json_t *eng, const char *kind, const char *date, const char *reason,
                      json_t *lines)
{
	time_t at;
	int rc = need_started(r, eng, kind);
	if (rc)
		return rc;
	rc = future_date(r, "effective_date", date, jv_str(eng, "timezone"), &at);
	if (rc)
		return rc;
	struct mod_ctx x = {.eng = eng,
	                    .kind = kind,
	                    .actor = api_actor(r),
	                    .effective_date = date,
	                    .reason = reason,
	                    .effective_at = (int64_t)at * 1000,
	                    .lines = lines};
	if ((rc = store_write(r->srv->store, mod_tx, &x)))
		return x.err.status ? req_fail_from(r, &x.err) : rc;
	json_t *out = cat_engagement_json(req_db(r), jv_str(eng, "id"));
	json_t *mods = json_object_get(out, "modifications");
	json_t *m = NULL;
	for (size_t i = 0; i < json_array_size(mods); i++)
		if (!strcmp(jv_str(json_array_get(mods, i), "id"), x.id))
			m = json_incref(json_array_get(mods, i));
	json_decref(out);
	return req_json(r, 201, m ? m : json_pack("{s:s}", "id", x.id));
}

static int h_modify(struct req *r)
{
	json_t *body = NULL, *eng = NULL, *lines = json_array();
	int rc = req_body_fields(r, mod_fields, false, &body);
	if (rc)
		goto out;
	if ((rc = load_eng(r, req_param(r, 0), PERM_SUBMIT, "modifying an engagement", &eng)) ||
	    (rc = need_started(r, eng, "modify")))
		goto out;
	json_t *given = json_object_get(body, "lines");
	for (size_t i = 0; i < json_array_size(given); i++) {
		json_t *g = json_array_get(given, i), *b = json_object_get(g, "blocks");
		const char *o = jv_str(g, "offering"), *acc = jv_str(g, "account");
		json_t *l = o && acc ? find_line(eng, o, acc) : NULL;
		if (!l || json_integer_value(json_object_get(l, "approved_blocks")) <= 0) {
			rc = req_fail(r, 422, "unknown_line",
			              "field 'lines[%zu]' must name an approved offering and account of this "
			              "engagement; "
			              "to add offerings or accounts, request a new engagement",
			              i);
			goto out;
		}
		if (!json_is_integer(b) || json_integer_value(b) <= 0 ||
		    json_integer_value(b) > CAT_MAX_BLOCKS) {
			rc = req_fail(r, 422, "invalid_blocks",
			              "field 'lines[%zu].blocks' must be from 1 to %d blocks per month; to "
			              "stop, opt out",
			              i, CAT_MAX_BLOCKS);
			goto out;
		}
		json_array_append_new(lines,
		                      json_pack("{s:s,s:s,s:O}", "offering", o, "account", acc, "blocks", b));
	}
	rc = submit_mod(r, eng, "modify", jv_str(body, "effective_date"), jv_str(body, "reason"), lines);
out:
	json_decref(lines);
	json_decref(eng);
	json_decref(body);
	return rc;
}

static int h_optout(struct req *r)
{
	static const struct jv_field fields[] = {
	    {"effective_date", JV_STRING, JV_REQUIRED, 10, NULL},
	    {"reason", JV_STRING, JV_NULLABLE, 4000, NULL},
	    {NULL},
	};
	json_t *body = NULL, *eng = NULL, *lines = json_array();
	int rc = req_body_fields(r, fields, false, &body);
	if (rc)
		goto out;
	if ((rc = load_eng(r, req_param(r, 0), PERM_SUBMIT, "opting out of an engagement", &eng)))
		goto out;
	json_t *el = json_object_get(eng, "lines");
	for (size_t i = 0; i < json_array_size(el); i++) {
		json_t *l = json_array_get(el, i);
		if (json_integer_value(json_object_get(l, "approved_blocks")) > 0)
			json_array_append_new(lines,
			                      json_pack("{s:s,s:s,s:i}", "offering", jv_str(l, "offering"),
			                                "account", jv_str(l, "account"), "blocks", 0));
	}
	rc = submit_mod(r, eng, "opt_out", jv_str(body, "effective_date"), jv_str(body, "reason"), lines);
out:
	json_decref(lines);
	json_decref(eng);
	json_decref(body);
	return rc;
}

static const char *const mod_decisions[] = {"approve", "needs_scoping", "deny", NULL};

struct modrev_ctx {
	const char *eng, *mod, *decision, *reason, *actor;
	struct fw_error err;
};

static int modrev_tx(struct store_conn *c, void *arg)
{
	struct modrev_ctx *x = arg;
	struct store_rows *rows;
	int rc = store_query(
	    c,
	    "SELECT status, request, effective_at, lines, kind, effective_date FROM cat_modifications "
	    "WHERE id = $1 AND engagement = $2",
	    SARGS(ST(x->mod), ST(x->eng)), &rows);
	if (rc)
		return rc;
	if (store_next(rows) != 1) {
		store_rows_free(rows);
		return fw_fail(&x->err, 404, "not_found", "modification %s of %s not found", x->mod, x->eng);
	}
	char status[32], request[32], date[16];
	snprintf(status, sizeof(status), "%s", store_text(rows, 0));
	snprintf(request, sizeof(request), "%s", store_text(rows, 1));
	snprintf(date, sizeof(date), "%s", store_text(rows, 5));
	int64_t at = store_int(rows, 2);
	json_t *lines = json_loads(store_text(rows, 3), 0, NULL), *sr = NULL;
	store_rows_free(rows);
	char *account = NULL, *tz = NULL;
	store_query_str(c, "SELECT account FROM cat_engagements WHERE id = $1", SARGS(ST(x->eng)), &account);
	store_query_str(c, "SELECT timezone FROM cat_engagements WHERE id = $1", SARGS(ST(x->eng)), &tz);
	if (strcmp(status, "submitted")) {
		rc = fw_fail(&x->err, 409, "invalid_transition",
		             "modification %s is %s already; only a submitted one is reviewed", x->mod,
		             status);
		goto out;
	}
	const char *to = !strcmp(x->decision, "approve") ? "approved"
	                 : !strcmp(x->decision, "deny")  ? "denied"
	                                                 : "needs_scoping";
	if (!strcmp(to, "approved")) {
		time_t today;
		if (tz && !cat_today_start(tz, time_now_ms(), &today) && at / 1000 < today) {
			rc = fw_fail(
			    &x->err, 409, "effective_date_passed",
			    "modification %s was to take effect on %s, which has passed; submit a new "
			    "modification with a current effective date",
			    x->mod, date);
			goto out;
		}
		if ((rc = apply_changes(c, x->eng, x->mod, lines, at, &x->err)) ||
		    (rc = cat_allocation_refresh(c, x->eng)))
			goto out;
		int n;
		if ((rc = cat_allocate(c, x->eng, time_now_ms(), &n)))
			goto out;
	}
	rc = store_exec(
	    c,
	    "UPDATE cat_modifications SET status = $2, reviewed_by = $3, review_reason = $4, updated_at = $5 "
	    "WHERE id = $1",
	    SARGS(ST(x->mod), ST(to), ST(x->actor), ST(x->reason), SI(time_now_ms())), NULL);
	if (!rc && !(rc = tkt_load(c, request, &sr))) {
		char note[4400];
		if (!strcmp(to, "needs_scoping"))
			snprintf(note, sizeof(note),
			         "needs scoping: the account's delivery manager scopes it, and a new request "
			         "then starts "
			         "the modified engagement%s%s",
			         x->reason ? ". " : "", x->reason ? x->reason : "");
		else
			snprintf(note, sizeof(note), "%s", x->reason ? x->reason : "");
		rc = tkt_set_status(c, sr, strcmp(to, "approved") ? "denied" : "approved", x->actor,
		                    note[0] ? note : NULL);
	}
	if (!rc) {
		json_t *after =
		    json_pack("{s:s,s:s,s:s?}", "modification", x->mod, "status", to, "reason", x->reason);
		rc =
		    audit_append(c, x->actor, account, "engagement.modification_review", x->eng, NULL, after);
		json_decref(after);
	}
out:
	free(account);
	free(tz);
	json_decref(sr);
	json_decref(lines);
	return rc;
}

static int h_modreview(struct req *r)
{
	static const struct jv_field fields[] = {
	    {"decision", JV_STRING, JV_REQUIRED, 0, mod_decisions},
	    {"reason", JV_STRING, JV_NULLABLE, 4000, NULL},
	    {NULL},
	};
	json_t *body = NULL, *eng = NULL;
	int rc = req_body_fields(r, fields, false, &body);
	if (rc)
		goto out;
	if ((rc = load_eng(r, req_param(r, 0), PERM_APPROVE, "reviewing a modification", &eng)))
		goto out;
	const char *decision = jv_str(body, "decision"), *reason = jv_str(body, "reason");
	if (strcmp(decision, "approve") && (!reason || !*reason)) {
		rc = req_fail(r, 422, "missing_field", "field 'reason' is required for decision '%s'",
		              decision);
		goto out;
	}
	struct modrev_ctx x = {jv_str(eng, "id"), req_param(r, 1), decision, reason, api_actor(r), {0}};
	if ((rc = store_write(r->srv->store, modrev_tx, &x))) {
		rc = x.err.status ? req_fail_from(r, &x.err) : rc;
		goto out;
	}
	req_json(r, 200, cat_engagement_json(req_db(r), x.eng));
out:
	json_decref(eng);
	json_decref(body);
	return rc;
}

/* ---- work logs ---- */

static const struct jv_field wl_fields[] = {
    {"engagement", JV_STRING, JV_REQUIRED, 32, NULL},
    {"offering", JV_STRING, JV_REQUIRED, 64, NULL},
    {"account", JV_STRING, JV_REQUIRED, 12, NULL},
    {"start", JV_STRING, JV_REQUIRED, 40, NULL},
    {"minutes", JV_INT, 0, 0, NULL},
    {"duration", JV_STRING, 0, 20, NULL},
    {"description", JV_STRING, JV_REQUIRED | JV_NONEMPTY, 4000, NULL},
    {"ticket", JV_STRING, JV_NULLABLE, 40, NULL},
    {NULL},
};

struct wl_ctx {
	json_t *body;
	const char *actor;
	int64_t start_ms;
	long minutes;
	json_t *result;
	struct fw_error err;
};

static int wl_tx(struct store_conn *c, void *arg)
{
	struct wl_ctx *x = arg;
	const char *eng = jv_str(x->body, "engagement"), *o = jv_str(x->body, "offering"),
	           *acc = jv_str(x->body, "account"), *ticket = jv_str(x->body, "ticket");
	struct cat_line_terms lt = CAT_LINE_TERMS_INIT;
	int rc = cat_line_terms_load(c, eng, o, acc, &lt);
	if (rc)
		return rc == FW_ENOTFOUND
		           ? fw_fail(&x->err, 422, "engagement_not_active",
		                     "engagement %s has no approved, started line for offering '%s' "
		                     "and account %s",
		                     eng, o, acc)
		           : rc;
	struct cat_period p;
	long used = 0;
	time_t ms_start, ms_end;
	if ((rc = cat_month_of(lt.tz, (time_t)(x->start_ms / 1000), &p, &x->err)) ||
	    (rc = cat_month_bounds(lt.tz, p, &ms_start, &ms_end, &x->err)))
		goto out;
	if (x->start_ms / 1000 + x->minutes * 60 > (int64_t)ms_end) {
		rc = fw_fail(
		    &x->err, 422, "outside_month",
		    "a work log of %ld minutes from this start runs past the end of %04d-%02d (%s); split it "
		    "at midnight and log the rest in the next month",
		    x->minutes, p.year, p.month, lt.tz);
		goto out;
	}
	if ((rc = cat_used_minutes(c, eng, o, acc, p, &used)))
		goto out;
	if ((rc = cat_worklog_admit(lt.tz, &lt.t, (time_t)(x->start_ms / 1000), x->minutes, used, &p,
	                            &x->err)))
		goto out;
	int64_t seq = next_counter(c, "WL");
	char id[32], ps[16], ts[32];
	snprintf(id, sizeof(id), "WL-%lld", (long long)seq);
	cat_period_fmt(p, ps, sizeof(ps));
	time_fmt_ms(x->start_ms, ts, sizeof(ts));
	rc = store_exec(
	    c,
	    "INSERT INTO cat_worklogs (id, seq, engagement, offering, account, period, start_at, minutes, "
	    "description, ticket, operator, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
	    SARGS(ST(id), SI(seq), ST(eng), ST(o), ST(acc), ST(ps), SI(x->start_ms), SI(x->minutes),
	          ST(jv_str(x->body, "description")), ST(ticket), ST(x->actor), SI(time_now_ms())),
	    NULL);
	if (rc)
		goto out;
	x->result =
	    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s?,s:s}", "id", id, "engagement", eng, "offering",
	              o, "account", acc, "month", ps, "start", ts, "minutes", (json_int_t)x->minutes,
	              "description", jv_str(x->body, "description"), "ticket", ticket, "operator", x->actor);
	json_object_set_new(x->result, "month_used_minutes", json_integer(used + x->minutes));
	if (ticket) {
		json_t *tb = json_pack("{s:s,s:I,s:s}", "worklog", id, "minutes", (json_int_t)x->minutes,
		                       "engagement", eng);
		rc = tkt_timeline_add(c, ticket, x->actor, "worklog", "internal", tb);
		json_decref(tb);
	}
	if (!rc)
		rc = audit_append(c, x->actor, acc, "worklog.create", id, NULL, x->result);
out:
	cat_line_terms_release(&lt);
	return rc;
}

static int h_wl_create(struct req *r)
{
	json_t *body = NULL, *t = NULL;
	int rc = req_body_fields(r, wl_fields, false, &body);
	if (rc)
		goto out;
	const char *acc = jv_str(body, "account"), *eng = jv_str(body, "engagement");
	if (!api_account_id_ok(acc)) {
		rc = req_fail(r, 422, "invalid_field", "field 'account' must be a 12-digit account id");
		goto out;
	}
	if ((rc = auth_require(r, acc, PERM_WORK, "account")))
		goto out;
	json_t *en = cat_engagement_json(req_db(r), eng);
	bool covers = en && find_line(en, jv_str(body, "offering"), acc);
	bool visible = en && (auth_perms(r, jv_str(en, "account")) & PERM_READ);
	json_decref(en);
	if (!visible) {
		rc = req_fail(r, 422, "unknown_engagement", "field 'engagement': %.32s does not exist", eng);
		goto out;
	}
	if (!covers) {
		rc = req_fail(
		    r, 422, "unknown_line",
		    "field 'offering': engagement %.32s does not cover offering '%.64s' for account %s", eng,
		    jv_str(body, "offering"), acc);
		goto out;
	}
	int64_t start, dur = 0;
	if (time_parse_rfc3339(jv_str(body, "start"), &start)) {
		rc = req_fail(r, 422, "invalid_field",
		              "field 'start' must be an RFC 3339 time like 2026-03-02T09:00:00Z");
		goto out;
	}
	if (start > time_now_ms()) {
		rc = req_fail(r, 422, "invalid_field",
		              "field 'start' is in the future; log time once it is worked");
		goto out;
	}
	json_t *mv = json_object_get(body, "minutes");
	const char *ds = jv_str(body, "duration");
	if (!mv == !ds) {
		rc = req_fail(r, 422, "invalid_field",
		              "give exactly one of 'minutes' (an integer) or 'duration' (like 1h30m)");
		goto out;
	}
	if (ds && (time_parse_duration(ds, &dur) || dur % 60000)) {
		rc = req_fail(r, 422, "invalid_duration",
		              "field 'duration' must be whole minutes, like 90m or 1h30m");
		goto out;
	}
	long minutes = mv ? (long)json_integer_value(mv) : (long)(dur / 60000);
	if (minutes <= 0 || minutes > 31L * 24 * 60) {
		rc = req_fail(r, 422, "invalid_duration",
		              "a work log lasts from 1 minute to 31 days, got %ld minutes", minutes);
		goto out;
	}
	const char *ticket = jv_str(body, "ticket");
	if (ticket) {
		const char *ta;
		if (!tkt_kind_of_id(ticket) || tkt_load(req_db(r), ticket, &t) ||
		    !(ta = jv_str(t, "account")) || !(auth_perms(r, ta) & PERM_READ)) {
			rc =
			    req_fail(r, 422, "invalid_field", "field 'ticket': %.40s does not exist", ticket);
			goto out;
		}
		if (strcmp(ta, acc)) {
			rc = req_fail(r, 422, "invalid_field",
			              "field 'ticket': %s belongs to account %s, not %s", ticket, ta, acc);
			goto out;
		}
	}
	struct wl_ctx x = {.body = body, .actor = api_actor(r), .start_ms = start, .minutes = minutes};
	if ((rc = store_write(r->srv->store, wl_tx, &x))) {
		rc = x.err.status ? req_fail_from(r, &x.err) : rc;
		goto out;
	}
	req_json(r, 201, x.result);
out:
	json_decref(t);
	json_decref(body);
	return rc;
}

static int h_wl_list(struct req *r)
{
	int limit;
	int64_t cursor;
	int rc = api_page(r, 100, 1000, &limit, &cursor);
	if (rc)
		return rc;
	struct buf sql = BUF_INIT(1 << 16);
	const char *eng = req_arg(r, "engagement"), *acc = req_arg(r, "account"),
	           *month = req_arg(r, "month");
	struct cat_period p;
	if (month && cat_period_parse(month, &p))
		return req_fail(r, 422, "invalid_parameter", "month must be YYYY-MM, got '%.20s'", month);
	buf_puts(
	    &sql,
	    "SELECT id, engagement, offering, account, period, start_at, minutes, description, ticket, "
	    "operator, seq FROM cat_worklogs WHERE (CAST($1 AS TEXT) IS NULL OR engagement = $1) "
	    "AND (CAST($2 AS TEXT) IS NULL OR account = $2) AND (CAST($3 AS TEXT) IS NULL OR period = $3) "
	    "AND seq < $4");
	auth_account_filter(r, PERM_READ, "account", &sql);
	buf_printf(&sql, " ORDER BY seq DESC LIMIT %d", limit + 1);
	struct store_rows *rows;
	rc = store_query(req_db(r), buf_str(&sql),
	                 SARGS(ST(eng), ST(acc), ST(month), SI(cursor ? cursor : INT64_MAX)), &rows);
	buf_release(&sql);
	if (rc)
		return rc;
	json_t *items = json_array();
	int64_t last = 0, next = 0;
	int n = 0;
	while (store_next(rows) == 1) {
		if (n++ == limit) {
			next = last;
			break;
		}
		char ts[32];
		time_fmt_ms(store_int(rows, 5), ts, sizeof(ts));
		last = store_int(rows, 10);
		json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s?,s:s}", "id",
		                                       store_text(rows, 0), "engagement", store_text(rows, 1),
		                                       "offering", store_text(rows, 2), "account",
		                                       store_text(rows, 3), "month", store_text(rows, 4),
		                                       "start", ts, "minutes", (json_int_t)store_int(rows, 6),
		                                       "description", store_text(rows, 7), "ticket",
		                                       store_text(rows, 8), "operator", store_text(rows, 9)));
	}
	store_rows_free(rows);
	return req_json(r, 200, api_list(items, next));
}

const struct route api_engagement_routes[] = {
    {"POST", "/api/v1/engagements", h_create, 0},
    {"GET", "/api/v1/engagements", h_list, 0},
    {"GET", "/api/v1/engagements/{id}", h_get, 0},
    {"POST", "/api/v1/engagements/{id}/review", h_review, 0},
    {"POST", "/api/v1/engagements/{id}/modifications", h_modify, 0},
    {"POST", "/api/v1/engagements/{id}/modifications/{mod}/review", h_modreview, 0},
    {"POST", "/api/v1/engagements/{id}/opt-out", h_optout, 0},
    {"POST", "/api/v1/worklogs", h_wl_create, 0},
    {"GET", "/api/v1/worklogs", h_wl_list, 0},
    {NULL, NULL, NULL, 0},
};
