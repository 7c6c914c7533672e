/* /api/v1/{incidents,problems,requests,changes}, /api/v1/tickets/{id}, /api/v1/articles. */
#include "api/api.h"
#include "audit/audit.h"
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const visibilities[] = { "public", "internal", NULL };

#define COMMON_FIELDS                                                        \
	{ "title", JV_STRING, JV_NONEMPTY, 200, NULL },                      \
	{ "description", JV_STRING, 0, 20000, NULL },                        \
	{ "category", JV_STRING, JV_NULLABLE, 64, NULL },                    \
	{ "impact", JV_STRING, 0, 0, tkt_levels },                           \
	{ "urgency", JV_STRING, 0, 0, tkt_levels },                          \
	{ "severity", JV_STRING, 0, 0, tkt_severities },                     \
	{ "assignee", JV_STRING, JV_NULLABLE, 128, NULL },                   \
	{ "group", JV_STRING, JV_NULLABLE, 128, NULL },                      \
	{ "resolution", JV_STRING, JV_NULLABLE, 20000, NULL },               \
	{ "risk", JV_STRING, 0, 0, tkt_risks },                              \
	{ "affected_resources", JV_ARRAY, 0, 200, NULL },                    \
	{ "rollback_plan", JV_STRING, JV_NULLABLE, 20000, NULL },            \
	{ "scheduled_at", JV_STRING, JV_NULLABLE, 40, NULL },                \
	{ "runbook", JV_STRING, JV_NULLABLE, 128, NULL },                    \
	{ "offering", JV_STRING, JV_NULLABLE, 128, NULL },                   \
	{ "details", JV_OBJECT, JV_NULLABLE, 0, NULL },                      \
	{ "restore_recommendation", JV_STRING, JV_NULLABLE, 2000, NULL }

static const struct jv_field create_fields[] = {
	{ "account", JV_STRING, JV_REQUIRED, 12, NULL },
	{ "source", JV_STRING, 0, 0, tkt_sources },
	{ "requester", JV_STRING, JV_NULLABLE, 64, NULL },
	COMMON_FIELDS,
	{ NULL },
};

static const struct jv_field patch_fields[] = {
	{ "status", JV_STRING, 0, 40, NULL },
	{ "note", JV_STRING, 0, 4000, NULL },
	COMMON_FIELDS,
	{ NULL },
};

/* Fields only some kinds take. */
static bool field_allowed(enum tkt_kind k, const char *f)
{
	if (!strcmp(f, "risk") || !strcmp(f, "affected_resources") || !strcmp(f, "rollback_plan") ||
	    !strcmp(f, "scheduled_at") || !strcmp(f, "runbook"))
		return k == TKT_CHANGE;
	if (!strcmp(f, "offering") || !strcmp(f, "details"))
		return k == TKT_REQUEST;
	if (!strcmp(f, "restore_recommendation"))
		return k == TKT_INCIDENT;
	return true;
}

static const struct tkt_kind_info *kind_of_path(struct req *r)
{
	/* "/api/v1/<collection>…" */
	const char *p = r->route + strlen("/api/v1/");
	char coll[32];
	size_t n = strcspn(p, "/");
	if (n >= sizeof(coll))
		return NULL;
	memcpy(coll, p, n);
	coll[n] = '\0';
	return tkt_kind_by_collection(coll);
}

static int check_kind_fields(struct req *r, const struct tkt_kind_info *k, json_t *body)
{
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		if (!field_allowed(k->kind, key))
			return req_fail(r, 422, "unknown_field", "field '%s' does not apply to a %s", key, k->name);
	}
	json_t *res = json_object_get(body, "affected_resources");
	for (size_t i = 0; json_is_array(res) && i < json_array_size(res); i++) {
		json_t *it = json_array_get(res, i);
		if (!json_is_string(it) || json_string_length(it) == 0 || json_string_length(it) > 512)
			return req_fail(r, 422, "invalid_field",
					"field 'affected_resources' item %zu must be a non-empty string of at most 512 bytes",
					i);
	}
	const char *sa = jv_str(body, "scheduled_at");
	int64_t ms;
	if (sa && time_parse_rfc3339(sa, &ms))
		return req_fail(r, 422, "invalid_field", "field 'scheduled_at' must be an RFC 3339 time");
	return 0;
}

/* Recomputes priority from impact × urgency; severity follows unless it was set explicitly. */
static void derive_priority(json_t *t, bool severity_explicit)
{
	const char *p = tkt_priority(jv_str_or(t, "impact", "medium"), jv_str_or(t, "urgency", "medium"));
	json_object_set_new(t, "priority", json_string(p));
	if (!severity_explicit && !json_object_get(t, "severity_set"))
		json_object_set_new(t, "severity", json_string(tkt_default_severity(p)));
}

/* ---- create ---- */

static int h_create(struct req *r)
{
	const struct tkt_kind_info *k = kind_of_path(r);
	json_t *body = NULL;
	int rc = req_body_fields(r, create_fields, false, &body);
	if (rc)
		return rc;
	if (!json_object_get(body, "title")) {
		rc = req_fail(r, 422, "missing_field", "field 'title' is required");
		goto out;
	}
	if ((rc = check_kind_fields(r, k, body)))
		goto out;
	const char *account = jv_str(body, "account");
	if (!api_account_id_ok(account)) {
		rc = req_fail(r, 422, "invalid_field", "field 'account' must be a 12-digit account id");
		goto out;
	}
	if ((rc = auth_require(r, account, PERM_SUBMIT, "account")))
		goto out;
	unsigned perms = auth_perms(r, account);
	/* The body becomes the ticket: every field in it was checked above. */
	json_t *t = body;
	body = NULL;
	bool sev = json_object_get(t, "severity") != NULL;
	/* Customer-side callers are the requester of what they open; operators may name one. */
	if (!(perms & PERM_WORK))
		json_object_set_new(t, "requester", json_string(api_actor(r)));
	else if (!jv_str(t, "requester"))
		json_object_del(t, "requester");
	if (!json_object_get(t, "description"))
		json_object_set_new(t, "description", json_string(""));
	if (!json_object_get(t, "impact"))
		json_object_set_new(t, "impact", json_string("medium"));
	if (!json_object_get(t, "urgency"))
		json_object_set_new(t, "urgency", json_string("medium"));
	if (!json_object_get(t, "source"))
		json_object_set_new(t, "source", json_string(perms & PERM_WORK ? "api" : "customer"));
	if (sev)
		json_object_set_new(t, "severity_set", json_true());
	derive_priority(t, sev);
	if (k->kind == TKT_CHANGE)
		json_object_set_new(t, "approvals", json_array());

	char *pub = NULL;
	rc = tkt_create(r->srv->store, k, t, api_actor(r), &pub);
	if (!rc) {
		char loc[96];
		snprintf(loc, sizeof(loc), "/api/v1/%s/%s", k->collection, jv_str(t, "id"));
		req_header(r, "Location", loc);
		rc = req_raw(r, 201, "application/json", pub, strlen(pub));
	}
	free(pub);
	json_decref(t);
out:
	json_decref(body);
	return rc;
}

/* ---- read ---- */

static void public_form(json_t *t)
{
	json_object_del(t, "seq");
	json_object_del(t, "severity_set");
}

/* Loads a ticket the caller may read (404 otherwise) and, when k is set, of that kind. */
static int load_visible(struct req *r, const struct tkt_kind_info *k, const char *id, json_t **out, unsigned *perms)
{
	json_t *t = NULL;
	const struct tkt_kind_info *ik = tkt_kind_of_id(id);
	if (!ik || (k && ik != k) || tkt_load(req_db(r), id, &t))
		return req_fail(r, 404, "not_found", "%s %.40s not found", k ? k->name : "ticket", id);
	unsigned p = auth_perms(r, jv_str(t, "account"));
	if (!(p & PERM_READ)) {
		json_decref(t);
		return req_fail(r, 404, "not_found", "%s %.40s not found", k ? k->name : "ticket", id);
	}
	*out = t;
	if (perms)
		*perms = p;
	return 0;
}

static int h_get(struct req *r)
{
	json_t *t;
	const struct tkt_kind_info *k = strncmp(r->route, "/api/v1/tickets/", 16) == 0 ? NULL : kind_of_path(r);
	int rc = load_visible(r, k, req_param(r, 0), &t, NULL);
	if (rc)
		return rc;
	json_object_set_new(t, "links", tkt_links(req_db(r), req_param(r, 0)));
	public_form(t);
	return req_json(r, 200, t);
}

/* "%q%" for LIKE … ESCAPE '\', with q's own % _ and \ matching themselves. The caller frees it. */
static char *like_pattern(const char *q)
{
	size_t n = strlen(q);
	char *p = malloc(2 * n + 3), *o = p;
	if (!p)
		return NULL;
	*o++ = '%';
	for (; *q; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			*o++ = '\\';
		*o++ = *q;
	}
	*o++ = '%';
	*o = '\0';
	return p;
}

static int h_list(struct req *r)
{
	const struct tkt_kind_info *k = kind_of_path(r);
	int limit;
	int64_t cursor, after = 0, before = 0;
	bool has_after, has_before;
	int rc = api_page(r, 50, 500, &limit, &cursor);
	if (!rc)
		rc = api_time_arg(r, "created_after", &after, &has_after);
	if (!rc)
		rc = api_time_arg(r, "created_before", &before, &has_before);
	if (rc)
		return rc;
	struct buf sql = BUF_INIT(1 << 16);
	struct store_arg args[12];
	int n = 0;
	args[n++] = ST(k->name);
	buf_puts(&sql, "SELECT seq, data FROM tickets WHERE kind = $1");
	const char *account = req_arg(r, "account");
	if (account) {
		if (!api_account_id_ok(account) || !(auth_perms(r, account) & PERM_READ)) {
			buf_release(&sql);
			return req_json(r, 200, api_list(json_array(), 0)); /* invisible: nothing there */
		}
		args[n++] = ST(account);
		buf_printf(&sql, " AND account = $%d", n);
	} else {
		auth_account_filter(r, PERM_READ, "account", &sql);
	}
	static const char *const cols[][2] = {
		{ "status", "status" }, { "priority", "priority" }, { "assignee", "assignee" },
		{ "severity", "severity" }, { "group", "group_name" },
	};
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		const char *v = req_arg(r, cols[i][0]);
		if (!v)
			continue;
		args[n++] = ST(v);
		buf_printf(&sql, " AND %s = $%d", cols[i][1], n);
	}
	const char *q = req_arg(r, "q");
	char *pattern = NULL;
	if (q && *q) {
		pattern = like_pattern(q);
		if (!pattern) {
			buf_release(&sql);
			return FW_ENOMEM;
		}
		args[n++] = ST(pattern);
		buf_printf(&sql, " AND lower(title) LIKE lower($%d) ESCAPE '\\'", n);
	}
	if (has_after) {
		args[n++] = SI(after);
		buf_printf(&sql, " AND created_at >= $%d", n);
	}
	if (has_before) {
		args[n++] = SI(before);
		buf_printf(&sql, " AND created_at < $%d", n);
	}
	if (cursor) {
		args[n++] = SI(cursor);
		buf_printf(&sql, " AND seq < $%d", n);
	}
	buf_printf(&sql, " ORDER BY seq DESC LIMIT %d", limit + 1);

	struct store_rows *rows;
	rc = store_query(req_db(r), buf_str(&sql), args, n, &rows);
	buf_release(&sql);
	if (rc) {
		free(pattern);
		return rc;
	}
	json_t *items = json_array();
	int64_t last = 0, next = 0;
	int count = 0;
	while (store_next(rows) == 1) {
		if (count == limit) {
			next = last;
			break;
		}
		json_t *t = json_loads(store_text(rows, 1), 0, NULL);
		last = store_int(rows, 0);
		if (t) {
			public_form(t);
			json_array_append_new(items, t);
		}
		count++;
	}
	store_rows_free(rows);
	/* The pattern is bound without a copy (SQLITE_STATIC): it must outlive the rows. */
	free(pattern);
	return req_json(r, 200, api_list(items, next));
}

/* ---- update ---- */

struct patch_ctx {
	const struct tkt_kind_info *k;
	const char *id;
	json_t *body;
	unsigned perms;
	const char *actor;
	json_t *result;
	struct fw_error err;
};

static const char *const patchable[] = { "title", "description", "category", "impact", "urgency", "severity",
					 "assignee", "group", "resolution", "risk", "affected_resources",
					 "rollback_plan", "scheduled_at", "runbook", "offering", "details",
					 "restore_recommendation", NULL };

/* A change may enter review only with its impact assessment, and be approved only with enough
 * distinct approvals (two-person rule for high risk). */
static int change_gate(json_t *t, const char *to, struct fw_error *e)
{
	if (!strcmp(to, "in_review")) {
		json_t *res = json_object_get(t, "affected_resources");
		const char *missing = !jv_str(t, "risk")                            ? "risk"
				      : !json_is_array(res) || !json_array_size(res) ? "affected_resources"
				      : !jv_str(t, "rollback_plan") || !*jv_str(t, "rollback_plan") ? "rollback_plan"
													: NULL;
		if (missing)
			return fw_fail(e, 422, "impact_assessment_required",
				       "a change needs its impact assessment before review: set '%s' first", missing);
	}
	if (!strcmp(to, "approved")) {
		int need = tkt_change_approvals_needed(jv_str(t, "risk"));
		int have = (int)json_array_size(json_object_get(t, "approvals"));
		if (have < need)
			return fw_fail(e, 409, "approvals_required",
				       "this %s-risk change needs %d approval%s from distinct approvers (not its author); "
				       "it has %d: use POST /api/v1/changes/{id}/approvals",
				       jv_str_or(t, "risk", "low"), need, need > 1 ? "s" : "", have);
	}
	return 0;
}

/* The impact assessment is fixed once a change enters review. */
static bool assessment_frozen(const char *field, const char *status)
{
	static const char *const fields[] = { "risk", "affected_resources", "rollback_plan", NULL };
	return jv_in(field, fields) && strcmp(status, "draft") != 0 && strcmp(status, "submitted") != 0;
}

static int patch_tx(struct store_conn *c, void *arg)
{
	struct patch_ctx *x = arg;
	json_t *t = NULL;
	int rc = tkt_load(c, x->id, &t);
	if (rc)
		return fw_fail(&x->err, 404, "not_found", "%s %s not found", x->k->name, x->id);
	json_t *before = json_deep_copy(t);
	const char *key;
	json_t *v;
	bool prio = false;
	json_object_foreach(x->body, key, v) {
		if (!jv_in(key, patchable))
			continue;
		json_t *old = json_object_get(t, key);
		if (old && json_equal(old, v))
			continue;
		if (!(x->perms & PERM_WORK) && strcmp(key, "description") && strcmp(key, "details")) {
			rc = fw_fail(&x->err, 403, "forbidden", "your role may not change '%s'", key);
			goto out;
		}
		if (x->k->kind == TKT_CHANGE && assessment_frozen(key, jv_str(t, "status"))) {
			/* Approvals were given for this assessment: lowering the risk in review must not
			 * dodge the two-person rule, nor may the plan change under an approval. */
			rc = fw_fail(&x->err, 409, "assessment_frozen",
				     "field '%s' of change %s cannot change while it is %s; only a draft or "
				     "submitted change's impact assessment can be edited",
				     key, x->id, jv_str(t, "status"));
			goto out;
		}
		json_t *fb = json_pack("{s:s,s:O?,s:O}", "field", key, "from", old, "to", v);
		if (json_is_null(v))
			json_object_del(t, key);
		else
			json_object_set(t, key, v);
		rc = tkt_timeline_add(c, x->id, x->actor, "field", "internal", fb);
		json_decref(fb);
		if (rc)
			goto out;
		if (!strcmp(key, "impact") || !strcmp(key, "urgency"))
			prio = true;
		if (!strcmp(key, "severity"))
			json_object_set_new(t, "severity_set", json_true());
	}
	if (prio)
		derive_priority(t, false);
	const char *to = jv_str(x->body, "status");
	if (to && strcmp(to, jv_str(t, "status")) != 0) {
		if ((rc = tkt_check_transition(x->k->kind, jv_str(t, "status"), to, x->perms, &x->err)))
			goto out;
		if (x->k->kind == TKT_CHANGE && (rc = change_gate(t, to, &x->err)))
			goto out;
		rc = tkt_set_status(c, t, to, x->actor, jv_str(x->body, "note"));
	} else {
		rc = tkt_save(c, t);
	}
	if (!rc)
		rc = audit_append(c, x->actor, jv_str(t, "account"), to ? "ticket.transition" : "ticket.update", x->id,
				  before, t);
	if (!rc)
		x->result = json_incref(t);
out:
	json_decref(before);
	json_decref(t);
	if (rc && !x->err.status)
		fw_fail(&x->err, 503, "store_unavailable", "the change could not be stored; try again");
	return rc;
}

static int h_patch(struct req *r)
{
	const struct tkt_kind_info *k = kind_of_path(r);
	json_t *body = NULL, *t = NULL;
	unsigned perms = 0;
	int rc = req_body_fields(r, patch_fields, false, &body);
	if (rc)
		return rc;
	if ((rc = check_kind_fields(r, k, body)))
		goto out;
	if ((rc = load_visible(r, k, req_param(r, 0), &t, &perms)))
		goto out;
	if (!(perms & (PERM_SUBMIT | PERM_WORK | PERM_APPROVE))) {
		rc = req_fail(r, 403, "forbidden", "your role on account %s is read-only", jv_str(t, "account"));
		goto out;
	}
	struct patch_ctx x = { .k = k, .id = req_param(r, 0), .body = body, .perms = perms, .actor = api_actor(r) };
	rc = store_write(r->srv->store, patch_tx, &x);
	if (rc) {
		req_fail_from(r, &x.err);
		goto out;
	}
	public_form(x.result);
	req_json(r, 200, x.result);
out:
	json_decref(t);
	json_decref(body);
	return rc;
}

/* ---- comments and timeline ---- */

static const struct jv_field comment_fields[] = {
	{ "body", JV_STRING, JV_REQUIRED | JV_NONEMPTY, 20000, NULL },
	{ "visibility", JV_STRING, 0, 0, visibilities },
	{ NULL },
};

struct comment_ctx {
	const char *id;
	const char *actor;
	json_t *entry;
	const char *visibility;
};

static int comment_tx(struct store_conn *c, void *arg)
{
	struct comment_ctx *x = arg;
	json_t *t;
	int rc = tkt_load(c, x->id, &t);
	if (rc)
		return rc;
	rc = tkt_timeline_add(c, x->id, x->actor, "comment", x->visibility, x->entry);
	if (!rc && !strcmp(x->visibility, "public"))
		rc = tkt_notify_requester(c, t, "ticket.commented", x->entry);
	if (!rc)
		rc = tkt_save(c, t);
	if (!rc)
		rc = audit_append(c, x->actor, jv_str(t, "account"), "ticket.comment", x->id, NULL, x->entry);
	json_decref(t);
	return rc;
}

static int h_comment(struct req *r)
{
	const struct tkt_kind_info *k = kind_of_path(r);
	json_t *body = NULL, *t = NULL;
	unsigned perms;
	int rc = req_body_fields(r, comment_fields, false, &body);
	if (rc)
		return rc;
	if ((rc = load_visible(r, k, req_param(r, 0), &t, &perms)))
		goto out;
	const char *vis = jv_str_or(body, "visibility", "public");
	if (!(perms & PERM_SUBMIT) || (!strcmp(vis, "internal") && !(perms & PERM_WORK))) {
		rc = req_fail(r, 403, "forbidden", "your role may not add %s comments here", vis);
		goto out;
	}
	json_t *entry = json_pack("{s:O}", "body", json_object_get(body, "body"));
	struct comment_ctx x = { .id = req_param(r, 0), .actor = api_actor(r), .entry = entry, .visibility = vis };
	rc = store_write(r->srv->store, comment_tx, &x);
	if (!rc) {
		json_object_set_new(entry, "ticket", json_string(x.id));
		json_object_set_new(entry, "visibility", json_string(vis));
		json_object_set_new(entry, "actor", json_string(x.actor));
		req_json(r, 201, entry);
	} else {
		json_decref(entry);
	}
out:
	json_decref(t);
	json_decref(body);
	return rc;
}

static int h_timeline(struct req *r)
{
	const struct tkt_kind_info *k = kind_of_path(r);
	json_t *t;
	unsigned perms;
	int rc = load_visible(r, k, req_param(r, 0), &t, &perms);
	if (rc)
		return rc;
	json_decref(t);
	struct store_rows *rows;
	rc = store_query(req_db(r),
			 "SELECT n, at, actor, type, visibility, body FROM timeline WHERE ticket = $1 ORDER BY n",
			 SARGS(ST(req_param(r, 0))), &rows);
	if (rc)
		return rc;
	json_t *items = json_array();
	while (store_next(rows) == 1) {
		/* Customers see the public timeline only. */
		if (!(perms & PERM_WORK) && strcmp(store_text(rows, 4), "public") != 0)
			continue;
		char ts[32];
		time_fmt_ms(store_int(rows, 1), ts, sizeof(ts));
		json_t *body = json_loads(store_text(rows, 5), 0, NULL);
		json_array_append_new(items, json_pack("{s:I,s:s,s:s?,s:s,s:s,s:o}", "n", (json_int_t)store_int(rows, 0),
						       "at", ts, "actor", store_text(rows, 2), "type",
						       store_text(rows, 3), "visibility", store_text(rows, 4), "body",
						       body ? body : json_object()));
	}
	store_rows_free(rows);
	return req_json(r, 200, api_list(items, 0));
}

/* ---- links, reclassification, approvals ---- */

static const struct jv_field link_fields[] = {
	{ "ticket", JV_STRING, 0, 40, NULL },
	{ "article", JV_STRING, 0, 40, NULL },
	{ "type", JV_STRING, 0, 40, NULL },
	{ NULL },
};

struct link_ctx {
	const char *src, *dst, *type, *actor, *account;
};

static int link_tx(struct store_conn *c, void *arg)
{
	struct link_ctx *x = arg;
	int rc = tkt_link(c, x->src, x->dst, x->type);
	json_t *b = json_pack("{s:s,s:s}", "linked", x->dst, "type", x->type);
	if (!rc)
		rc = tkt_timeline_add(c, x->src, x->actor, "link", "internal", b);
	if (!rc && tkt_kind_of_id(x->dst)) {
		json_t *back = json_pack("{s:s,s:s}", "linked", x->src, "type", x->type);
		rc = tkt_timeline_add(c, x->dst, x->actor, "link", "internal", back);
		json_decref(back);
	}
	if (!rc)
		rc = audit_append(c, x->actor, x->account, "ticket.link", x->src, NULL, b);
	json_decref(b);
	return rc;
}

static int h_link(struct req *r)
{
	const struct tkt_kind_info *k = kind_of_path(r);
	json_t *body = NULL, *t = NULL, *other = NULL;
	unsigned perms;
	int rc = req_body_fields(r, link_fields, false, &body);
	if (rc)
		return rc;
	if ((rc = load_visible(r, k, req_param(r, 0), &t, &perms)))
		goto out;
	if (!(perms & PERM_WORK)) {
		rc = req_fail(r, 403, "forbidden", "linking needs the operator role");
		goto out;
	}
	const char *dst = jv_str(body, "ticket"), *article = jv_str(body, "article"), *type;
	if (!dst == !article) {
		rc = req_fail(r, 422, "invalid_field", "give exactly one of 'ticket' or 'article'");
		goto out;
	}
	if (dst) {
		if (!strcmp(dst, req_param(r, 0))) {
			rc = req_fail(r, 422, "invalid_field", "field 'ticket': a ticket cannot be linked to itself");
			goto out;
		}
		if ((rc = load_visible(r, NULL, dst, &other, NULL)))
			goto out;
		/* Links stay within an account: a reader of one account must not learn another's ids. */
		if (strcmp(jv_str(other, "account"), jv_str(t, "account")) != 0) {
			rc = req_fail(r, 422, "cross_account_link",
				      "%s belongs to account %s, %s to %s: tickets link within one account only",
				      req_param(r, 0), jv_str(t, "account"), dst, jv_str(other, "account"));
			goto out;
		}
		type = jv_str_or(body, "type", jv_str(other, "kind"));
	} else {
		char *acc = NULL;
		if (store_query_str(req_db(r), "SELECT account FROM articles WHERE id = $1", SARGS(ST(article)), &acc) ||
		    !(auth_perms(r, acc) & PERM_READ)) {
			free(acc);
			rc = req_fail(r, 404, "not_found", "article %.40s not found", article);
			goto out;
		}
		if (strcmp(acc, jv_str(t, "account")) != 0) {
			rc = req_fail(r, 422, "cross_account_link",
				      "article %s belongs to account %s, not %s: articles link within one account only",
				      article, acc, jv_str(t, "account"));
			free(acc);
			goto out;
		}
		free(acc);
		dst = article;
		type = "article";
	}
	struct link_ctx x = { req_param(r, 0), dst, type, api_actor(r), jv_str(t, "account") };
	rc = store_write(r->srv->store, link_tx, &x);
	if (!rc)
		req_json(r, 201, json_pack("{s:s,s:s,s:s}", "ticket", x.src, "linked", dst, "type", type));
out:
	json_decref(other);
	json_decref(t);
	json_decref(body);
	return rc;
}

struct reclass_ctx {
	const char *id, *actor, *note;
	json_t *request;
	struct fw_error err;
};

static int reclass_tx(struct store_conn *c, void *arg)
{
	struct reclass_ctx *x = arg;
	json_t *inc;
	int rc = tkt_load(c, x->id, &inc);
	if (rc)
		return fw_fail(&x->err, 404, "not_found", "incident %s not found", x->id);
	const char *st = jv_str(inc, "status");
	if (tkt_status_final(TKT_INCIDENT, st) || !strcmp(st, "resolved")) {
		rc = fw_fail(&x->err, 409, "invalid_transition",
			     "incident %s is %s; only an open incident can be reclassified", x->id, st);
		goto out;
	}
	json_t *sr = json_pack("{s:O,s:O,s:O,s:s,s:s,s:O?,s:O?}", "account", json_object_get(inc, "account"), "title",
			       json_object_get(inc, "title"), "description", json_object_get(inc, "description"),
			       "impact", "low", "urgency", "medium", "requester", json_object_get(inc, "requester"),
			       "category", json_object_get(inc, "category"));
	json_object_set_new(sr, "source", json_string(jv_str_or(inc, "source", "api")));
	json_object_set_new(sr, "priority", json_string(tkt_priority("low", "medium")));
	json_object_set_new(sr, "severity", json_string("low"));
	json_object_set_new(sr, "reclassified_from", json_string(x->id));
	rc = tkt_insert(c, tkt_kind(TKT_REQUEST), sr, x->actor);
	if (!rc)
		rc = tkt_link(c, x->id, jv_str(sr, "id"), "reclassified_to");
	if (!rc) {
		json_object_set_new(inc, "reclassified_to", json_string(jv_str(sr, "id")));
		rc = tkt_set_status(c, inc, "reclassified", x->actor, x->note);
	}
	if (!rc) {
		json_t *d = json_pack("{s:s}", "request", jv_str(sr, "id"));
		rc = tkt_notify_requester(c, inc, "ticket.reclassified", d);
		json_decref(d);
	}
	if (!rc)
		rc = audit_append(c, x->actor, jv_str(inc, "account"), "incident.reclassify", x->id, NULL, sr);
	if (!rc)
		x->request = json_incref(sr);
	json_decref(sr);
out:
	json_decref(inc);
	return rc;
}

static int h_reclassify(struct req *r)
{
	json_t *t = NULL, *body = NULL;
	unsigned perms;
	static const struct jv_field fields[] = { { "note", JV_STRING, 0, 4000, NULL }, { NULL } };
	int rc;
	if ((rc = req_body_fields(r, fields, true, &body)))
		return rc;
	if ((rc = load_visible(r, tkt_kind(TKT_INCIDENT), req_param(r, 0), &t, &perms)))
		goto out;
	if (!(perms & PERM_WORK)) {
		rc = req_fail(r, 403, "forbidden", "reclassifying needs the operator role");
		goto out;
	}
	struct reclass_ctx x = { .id = req_param(r, 0), .actor = api_actor(r), .note = jv_str(body, "note") };
	rc = store_write(r->srv->store, reclass_tx, &x);
	if (rc) {
		req_fail_from(r, &x.err);
		goto out;
	}
	public_form(x.request);
	req_json(r, 201, x.request);
out:
	json_decref(t);
	json_decref(body);
	return rc;
}

struct approve_ctx {
	const char *id, *actor, *comment;
	json_t *result;
	struct fw_error err;
};

static int approve_tx(struct store_conn *c, void *arg)
{
	struct approve_ctx *x = arg;
	json_t *t;
	int rc = tkt_load(c, x->id, &t);
	if (rc)
		return fw_fail(&x->err, 404, "not_found", "change %s not found", x->id);
	json_t *before = json_deep_copy(t);
	json_t *apps = json_object_get(t, "approvals");
	if (strcmp(jv_str(t, "status"), "in_review") != 0) {
		rc = fw_fail(&x->err, 409, "invalid_transition", "change %s is %s; approvals are given in review", x->id,
			     jv_str(t, "status"));
		goto out;
	}
	if (jv_str(t, "created_by") && !strcmp(jv_str(t, "created_by"), x->actor)) {
		rc = fw_fail(&x->err, 403, "two_person_rule", "the author of a change may not approve it");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(apps); i++)
		if (!strcmp(jv_str_or(json_array_get(apps, i), "principal", ""), x->actor)) {
			rc = fw_fail(&x->err, 409, "already_approved",
				     "you approved this change already; another approver is needed");
			goto out;
		}
	char ts[32];
	time_fmt_ms(time_now_ms(), ts, sizeof(ts));
	json_t *a = json_pack("{s:s,s:s}", "principal", x->actor, "at", ts);
	if (x->comment)
		json_object_set_new(a, "comment", json_string(x->comment));
	json_array_append_new(apps, a);
	rc = tkt_timeline_add(c, x->id, x->actor, "approval", "public", a);
	if (rc)
		goto out;
	if ((int)json_array_size(apps) >= tkt_change_approvals_needed(jv_str(t, "risk")))
		rc = tkt_set_status(c, t, "approved", x->actor, "all required approvals given");
	else
		rc = tkt_save(c, t);
	if (!rc)
		rc = audit_append(c, x->actor, jv_str(t, "account"), "change.approve", x->id, before, t);
	if (!rc)
		x->result = json_incref(t);
out:
	json_decref(before);
	json_decref(t);
	return rc;
}

static int h_approve(struct req *r)
{
	json_t *t = NULL, *body = NULL;
	unsigned perms;
	static const struct jv_field fields[] = { { "comment", JV_STRING, 0, 4000, NULL }, { NULL } };
	int rc;
	if ((rc = req_body_fields(r, fields, true, &body)))
		return rc;
	if ((rc = load_visible(r, tkt_kind(TKT_CHANGE), req_param(r, 0), &t, &perms)))
		goto out;
	if (!(perms & PERM_APPROVE)) {
		rc = req_fail(r, 403, "forbidden", "approving a change needs the approver role");
		goto out;
	}
	struct approve_ctx x = { .id = req_param(r, 0), .actor = api_actor(r), .comment = jv_str(body, "comment") };
	rc = store_write(r->srv->store, approve_tx, &x);
	if (rc) {
		req_fail_from(r, &x.err);
		goto out;
	}
	public_form(x.result);
	req_json(r, 200, x.result);
out:
	json_decref(t);
	json_decref(body);
	return rc;
}

/* ---- knowledge articles ---- */

static const struct jv_field article_fields[] = {
	{ "incident", JV_STRING, 0, 40, NULL },
	{ "account", JV_STRING, 0, 12, NULL },
	{ "title", JV_STRING, JV_NONEMPTY, 200, NULL },
	{ "body", JV_STRING, JV_NONEMPTY, 50000, NULL },
	{ NULL },
};

struct article_ctx {
	json_t *a;
	const char *actor;
};

static int article_tx(struct store_conn *c, void *arg)
{
	struct article_ctx *x = arg;
	int64_t num = -1;
	int rc = store_counter_next(c, "KB", &num);
	if (rc)
		return rc;
	char id[32], ts[32];
	snprintf(id, sizeof(id), "KB-%lld", (long long)num);
	int64_t now = time_now_ms();
	time_fmt_ms(now, ts, sizeof(ts));
	json_object_set_new(x->a, "id", json_string(id));
	json_object_set_new(x->a, "created_at", json_string(ts));
	json_object_set_new(x->a, "created_by", json_string(x->actor));
	const char *src = jv_str(x->a, "source_ticket");
	rc = store_exec(c,
			"INSERT INTO articles (id, seq, account, title, body, source_ticket, created_by, created_at) "
			"VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
			SARGS(ST(id), SI(num), ST(jv_str(x->a, "account")), ST(jv_str(x->a, "title")),
			      ST(jv_str(x->a, "body")), ST(src), ST(x->actor), SI(now)),
			NULL);
	if (!rc && src)
		rc = tkt_link(c, src, id, "article");
	if (!rc)
		rc = audit_append(c, x->actor, jv_str(x->a, "account"), "article.create", id, NULL, x->a);
	return rc;
}

static int h_article_create(struct req *r)
{
	json_t *body = NULL, *inc = NULL;
	int rc = req_body_fields(r, article_fields, false, &body);
	if (rc)
		return rc;
	json_t *a = json_object();
	const char *incid = jv_str(body, "incident");
	if (incid) {
		if ((rc = load_visible(r, tkt_kind(TKT_INCIDENT), incid, &inc, NULL))) {
			json_decref(a);
			goto out;
		}
		const char *st = jv_str(inc, "status");
		if (strcmp(st, "resolved") && strcmp(st, "closed")) {
			json_decref(a);
			rc = req_fail(r, 409, "invalid_transition",
				      "incident %s is %s; an article is written from a resolved or closed incident", incid, st);
			goto out;
		}
		struct buf b = BUF_INIT(1 << 17);
		buf_printf(&b, "## Symptoms\n%s\n\n## Resolution\n%s\n", jv_str_or(inc, "description", ""),
			   jv_str_or(inc, "resolution", "(no resolution notes)"));
		json_object_set_new(a, "account", json_string(jv_str(inc, "account")));
		json_object_set_new(a, "title", json_string(jv_str_or(body, "title", jv_str(inc, "title"))));
		json_object_set_new(a, "body", json_string(jv_str_or(body, "body", buf_str(&b))));
		json_object_set_new(a, "source_ticket", json_string(incid));
		buf_release(&b);
	} else {
		const char *acc = jv_str(body, "account");
		if (!api_account_id_ok(acc) || !jv_str(body, "title") || !jv_str(body, "body")) {
			json_decref(a);
			rc = req_fail(r, 422, "missing_field",
				      "give 'incident' (a resolved incident), or 'account', 'title' and 'body'");
			goto out;
		}
		json_object_update(a, body);
	}
	if ((rc = auth_require(r, jv_str(a, "account"), PERM_WORK, "account"))) {
		json_decref(a);
		goto out;
	}
	struct article_ctx x = { a, api_actor(r) };
	rc = store_write(r->srv->store, article_tx, &x);
	if (rc)
		json_decref(a);
	else
		req_json(r, 201, a);
out:
	json_decref(inc);
	json_decref(body);
	return rc;
}

static json_t *article_row(struct store_rows *rows)
{
	char ts[32];
	time_fmt_ms(store_int(rows, 6), ts, sizeof(ts));
	return json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:s}", "id", store_text(rows, 0), "account", store_text(rows, 1),
			 "title", store_text(rows, 2), "body", store_text(rows, 3), "source_ticket",
			 store_text(rows, 4), "created_by", store_text(rows, 5), "created_at", ts);
}

static int h_article_list(struct req *r)
{
	int limit;
	int64_t cursor;
	int rc = api_page(r, 50, 500, &limit, &cursor);
	if (rc)
		return rc;
	struct buf sql = BUF_INIT(1 << 14);
	buf_puts(&sql, "SELECT id, account, title, body, source_ticket, created_by, created_at, seq FROM articles "
		       "WHERE seq < $1 AND lower(title) LIKE lower($2) ESCAPE '\\'");
	auth_account_filter(r, PERM_READ, "account", &sql);
	buf_printf(&sql, " ORDER BY seq DESC LIMIT %d", limit + 1);
	char *pat = like_pattern(req_arg(r, "q") ? req_arg(r, "q") : "");
	struct store_rows *rows;
	rc = pat ? store_query(req_db(r), buf_str(&sql), SARGS(SI(cursor ? cursor : INT64_MAX), ST(pat)), &rows)
		 : FW_ENOMEM;
	buf_release(&sql);
	if (rc) {
		free(pat);
		return rc;
	}
	json_t *items = json_array();
	int64_t last = 0, next = 0;
	int n = 0;
	while (store_next(rows) == 1) {
		if (n++ == limit) {
			next = last;
			break;
		}
		last = store_int(rows, 7);
		json_array_append_new(items, article_row(rows));
	}
	store_rows_free(rows);
	free(pat); /* bound without a copy: it lives as long as the rows */
	return req_json(r, 200, api_list(items, next));
}

static int h_article_get(struct req *r)
{
	struct store_rows *rows;
	int rc = store_query(req_db(r),
			     "SELECT id, account, title, body, source_ticket, created_by, created_at FROM articles "
			     "WHERE id = $1",
			     SARGS(ST(req_param(r, 0))), &rows);
	if (rc)
		return rc;
	if (store_next(rows) != 1 || !(auth_perms(r, store_text(rows, 1)) & PERM_READ)) {
		store_rows_free(rows);
		return req_fail(r, 404, "not_found", "article %.40s not found", req_param(r, 0));
	}
	json_t *a = article_row(rows);
	store_rows_free(rows);
	return req_json(r, 200, a);
}

#define KIND_ROUTES(coll)                                                   \
	{ "POST", "/api/v1/" coll, h_create, 0 },                           \
	{ "GET", "/api/v1/" coll, h_list, 0 },                              \
	{ "GET", "/api/v1/" coll "/{id}", h_get, 0 },                       \
	{ "PATCH", "/api/v1/" coll "/{id}", h_patch, 0 },                   \
	{ "POST", "/api/v1/" coll "/{id}/comments", h_comment, 0 },         \
	{ "GET", "/api/v1/" coll "/{id}/timeline", h_timeline, 0 },         \
	{ "POST", "/api/v1/" coll "/{id}/links", h_link, 0 }

const struct route api_ticket_routes[] = {
	KIND_ROUTES("incidents"),
	KIND_ROUTES("problems"),
	KIND_ROUTES("requests"),
	KIND_ROUTES("changes"),
	{ "POST", "/api/v1/incidents/{id}/reclassify", h_reclassify, 0 },
	{ "POST", "/api/v1/changes/{id}/approvals", h_approve, 0 },
	{ "GET", "/api/v1/tickets/{id}", h_get, 0 },
	{ "POST", "/api/v1/articles", h_article_create, 0 },
	{ "GET", "/api/v1/articles", h_article_list, 0 },
	{ "GET", "/api/v1/articles/{id}", h_article_get, 0 },
	{ NULL, NULL, NULL, 0 },
};
