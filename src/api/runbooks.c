/* /api/v1/runbooks, /api/v1/executions, /api/v1/automation/…, /api/v1/changes/{id}/execute,
 * /api/v1/kpis/automation. */
#include "api/api.h"
#include "audit/audit.h"
#include "automation/automation.h"
#include "automation/runbook.h"
#include "http/auth.h"
#include "http/req.h"
#include "http/router.h"
#include "http/server.h"
#include "store/store.h"
#include "tickets/tkt_store.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/jsonv.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rb_runner_pid(void);

static void put_time(json_t *o, const char *key, int64_t ms)
{
	char ts[32];
	if (ms <= 0) {
		json_object_set_new(o, key, json_null());
		return;
	}
	time_fmt_ms(ms, ts, sizeof(ts));
	json_object_set_new(o, key, json_string(ts));
}

/* Who may see / manage a runbook of account (NULL = every account). */
static bool can(struct req *r, const char *account, unsigned perm)
{
	return account ? (auth_perms(r, account) & perm) != 0 : auth_global(r, perm);
}

/* ---- runbooks ---- */

struct save_ctx {
	json_t *spec;
	const char *text, *actor;
	int64_t version;
};

static int save_tx(struct store_conn *c, void *arg)
{
	struct save_ctx *x = arg;
	const char *name = jv_str(x->spec, "name");
	int64_t v = 0;
	int rc = store_query_int(c, "SELECT COALESCE(MAX(version), 0) + 1 FROM rb_runbooks WHERE name = $1",
				 SARGS(ST(name)), &v);
	if (rc)
		return rc;
	json_object_set_new(x->spec, "version", json_integer(v));
	char *s = json_dumps(x->spec, JSON_COMPACT);
	rc = store_exec(c,
			"INSERT INTO rb_runbooks (name, version, account, source, text, spec, created_by, created_at) "
			"VALUES ($1,$2,$3,'api',$4,$5,$6,$7)",
			SARGS(ST(name), SI(v), ST(jv_str(x->spec, "account")), ST(x->text), ST(s), ST(x->actor),
			      SI(time_now_ms())),
			NULL);
	free(s);
	if (!rc)
		rc = store_exec(c, "UPDATE rb_runbooks SET deleted = 0 WHERE name = $1", SARGS(ST(name)), NULL);
	if (!rc) {
		json_t *a = json_pack("{s:s,s:I}", "runbook", name, "version", (json_int_t)v);
		rc = audit_append(c, x->actor, jv_str(x->spec, "account"), "runbook.save", name, NULL, a);
		json_decref(a);
	}
	x->version = v;
	return rc;
}

/* The body is YAML (or JSON, which YAML reads too); {"yaml":"…"} wraps YAML text in JSON. */
static int h_rb_save(struct req *r)
{
	const char *text = r->body.data ? r->body.data : "";
	size_t len = r->body.len;
	json_t *wrap = NULL, *spec = NULL, *errors = NULL;
	json_error_t je;
	int rc;
	if (len && text[0] == '{' && (wrap = json_loadb(text, len, 0, &je)) && json_is_string(json_object_get(wrap, "yaml")) &&
	    json_object_size(wrap) == 1) {
		text = json_string_value(json_object_get(wrap, "yaml"));
		len = strlen(text);
	}
	if (rb_parse(text, len, NULL, &spec, &errors)) {
		char msg[800];
		rb_errors_sentence(errors, msg, sizeof(msg));
		json_t *e = json_pack("{s:{s:s,s:s,s:O}}", "error", "code", "invalid_runbook", "message", msg, "errors", errors);
		json_decref(errors);
		json_decref(wrap);
		req_json(r, 422, e);
		return FW_EINVAL;
	}
	const char *name = jv_str(spec, "name");
	if (r->nparams && strcmp(req_param(r, 0), name)) {
		rc = req_fail(r, 422, "invalid_field", "the runbook's name '%s' differs from the path's '%.64s'", name,
			      req_param(r, 0));
		goto out;
	}
	const char *acc = jv_str(spec, "account");
	if (!can(r, acc, PERM_ADMIN)) {
		rc = req_fail(r, 403, "forbidden", "managing %s runbooks needs the admin role%s%s",
			      acc ? "this account's" : "global", acc ? " on account " : " on every account", acc ? acc : "");
		goto out;
	}
	/* An existing runbook keeps its account. */
	char *old = NULL;
	if (!store_query_str(req_db(r), "SELECT COALESCE(account, '') FROM rb_runbooks WHERE name = $1 LIMIT 1",
			     SARGS(ST(name)), &old) &&
	    strcmp(old, acc ? acc : "")) {
		free(old);
		rc = req_fail(r, 409, "conflict", "runbook %s exists for another account; pick another name", name);
		goto out;
	}
	free(old);
	struct save_ctx x = { spec, text, api_actor(r), 0 };
	if ((rc = store_write(r->srv->store, save_tx, &x)))
		goto out;
	rb_triggers_invalidate();
	char loc[128];
	snprintf(loc, sizeof(loc), "/api/v1/runbooks/%s", name);
	req_header(r, "Location", loc);
	req_json(r, 201, json_pack("{s:s,s:I,s:O}", "name", name, "version", (json_int_t)x.version, "spec", spec));
out:
	json_decref(spec);
	json_decref(wrap);
	return rc;
}

static json_t *rb_row(struct store_rows *rows, bool full)
{
	/* name, version, account, source, spec, created_by, created_at, text */
	json_t *spec = json_loads(store_text(rows, 4), 0, NULL);
	json_t *o = json_pack("{s:s,s:I,s:s?,s:s,s:s?,s:O?}", "name", store_text(rows, 0), "version",
			      (json_int_t)store_int(rows, 1), "account", store_text(rows, 2), "source", store_text(rows, 3),
			      "created_by", store_text(rows, 5), "description", json_object_get(spec, "description"));
	put_time(o, "created_at", store_int(rows, 6));
	if (full) {
		json_object_set(o, "spec", spec);
		json_object_set_new(o, "text", json_string(store_text(rows, 7)));
	} else {
		json_object_set_new(o, "steps", json_integer((json_int_t)json_array_size(json_object_get(spec, "steps"))));
		json_object_set(o, "triggers", json_object_get(spec, "triggers"));
	}
	json_decref(spec);
	return o;
}

#define RB_COLS "name, version, account, source, spec, created_by, created_at, text"

static int h_rb_list(struct req *r)
{
	struct store_rows *rows;
	int rc = store_query(req_db(r),
			     "SELECT " RB_COLS " FROM rb_runbooks r WHERE deleted = 0 AND version = "
			     "(SELECT MAX(version) FROM rb_runbooks x WHERE x.name = r.name) ORDER BY name",
			     SNOARGS, &rows);
	if (rc)
		return rc;
	json_t *items = json_array();
	while (store_next(rows) == 1)
		if (can(r, store_text(rows, 2), PERM_READ) || !store_text(rows, 2))
			json_array_append_new(items, rb_row(rows, false));
	store_rows_free(rows);
	return req_json(r, 200, api_list(items, 0));
}

static int h_rb_get(struct req *r)
{
	const char *v = req_arg(r, "version");
	struct store_rows *rows;
	int rc = v ? store_query(req_db(r), "SELECT " RB_COLS " FROM rb_runbooks WHERE name = $1 AND version = $2",
				 SARGS(ST(req_param(r, 0)), SI(atoll(v))), &rows)
		   : store_query(req_db(r),
				 "SELECT " RB_COLS " FROM rb_runbooks WHERE name = $1 AND deleted = 0 ORDER BY version DESC LIMIT 1",
				 SARGS(ST(req_param(r, 0))), &rows);
	if (rc)
		return rc;
	if (store_next(rows) != 1 || (store_text(rows, 2) && !can(r, store_text(rows, 2), PERM_READ))) {
		store_rows_free(rows);
		return req_fail(r, 404, "not_found", "runbook %.64s%s%s not found", req_param(r, 0), v ? " version " : "",
				v ? v : "");
	}
	json_t *o = rb_row(rows, true);
	store_rows_free(rows);
	int64_t open = 0, fails = 0;
	store_query_int(req_db(r), "SELECT open FROM rb_breakers WHERE runbook = $1", SARGS(ST(req_param(r, 0))), &open);
	store_query_int(req_db(r), "SELECT failures FROM rb_breakers WHERE runbook = $1", SARGS(ST(req_param(r, 0))),
			&fails);
	json_object_set_new(o, "breaker", json_pack("{s:b,s:I}", "open", (int)open, "consecutive_failures", (json_int_t)fails));
	return req_json(r, 200, o);
}

static int h_rb_versions(struct req *r)
{
	struct store_rows *rows;
	int rc = store_query(req_db(r), "SELECT " RB_COLS " FROM rb_runbooks WHERE name = $1 ORDER BY version DESC",
			     SARGS(ST(req_param(r, 0))), &rows);
	if (rc)
		return rc;
	json_t *items = json_array();
	while (store_next(rows) == 1)
		if (!store_text(rows, 2) || can(r, store_text(rows, 2), PERM_READ))
			json_array_append_new(items, rb_row(rows, false));
	store_rows_free(rows);
	if (!json_array_size(items)) {
		json_decref(items);
		return req_fail(r, 404, "not_found", "runbook %.64s not found", req_param(r, 0));
	}
	return req_json(r, 200, api_list(items, 0));
}

/* ---- executions ---- */

/* Has the caller one of the runbook's allowed_roles on account (or on every account)? */
static bool role_allowed(struct req *r, const char *account, const json_t *roles)
{
	if (!r->auth)
		return false;
	if (r->auth->global_admin)
		return true;
	for (size_t i = 0; i < r->auth->nbindings; i++) {
		const struct auth_binding *b = &r->auth->bindings[i];
		if (strcmp(b->account, "*") && (!account || strcmp(b->account, account)))
			continue;
		size_t j;
		json_t *v;
		json_array_foreach(roles, j, v) if (!strcmp(json_string_value(v), b->role)) return true;
	}
	return false;
}

struct run_ctx {
	struct rb_request rq;
	char id[32];
	struct fw_error err;
	bool refused;
};

static int run_tx(struct store_conn *c, void *arg)
{
	struct run_ctx *x = arg;
	int rc = rb_execution_queue(c, &x->rq, x->id, &x->err);
	/* A rail's refusal is audited: keep that write, answer with the error. */
	if (rc && (x->err.status == 423 || x->err.status == 429 || x->err.status == 409)) {
		x->refused = true;
		return 0;
	}
	return rc;
}

static int h_run(struct req *r)
{
	static const struct jv_field fields[] = {
		{ "inputs", JV_OBJECT, JV_NULLABLE, 0, NULL }, { "dry_run", JV_BOOL, 0, 0, NULL },
		{ "account", JV_STRING, JV_NULLABLE, 12, NULL }, { "ticket", JV_STRING, JV_NULLABLE, 40, NULL },
		{ NULL },
	};
	json_t *body = NULL, *spec = NULL, *inputs = NULL, *ticket = NULL;
	struct fw_error e = { 0 };
	int rc;
	if (r->body.len) {
		if ((rc = req_body_json(r, false, &body)))
			return rc;
		if ((rc = jv_check(body, fields, &e))) {
			req_fail_from(r, &e);
			goto out;
		}
	}
	const char *name = req_param(r, 0);
	if (rb_spec_load(req_db(r), name, 0, &spec, NULL)) {
		rc = req_fail(r, 404, "not_found", "runbook %.64s not found", name);
		goto out;
	}
	const char *account = jv_str(spec, "account") ? jv_str(spec, "account") : jv_str(body, "account");
	if (account && !api_account_id_ok(account)) {
		rc = req_fail(r, 422, "invalid_field", "field 'account' must be a 12-digit account id");
		goto out;
	}
	if ((account && !(auth_perms(r, account) & PERM_READ)) ||
	    (jv_str(spec, "account") && jv_str(body, "account") && strcmp(jv_str(body, "account"), account))) {
		rc = req_fail(r, 404, "not_found", "runbook %.64s not found", name);
		goto out;
	}
	if (!role_allowed(r, account, json_object_get(spec, "allowed_roles"))) {
		char list[200] = "";
		size_t i, n = 0;
		json_t *v;
		json_array_foreach(json_object_get(spec, "allowed_roles"), i, v) n += (size_t)snprintf(
			list + n, n < sizeof(list) ? sizeof(list) - n : 0, "%s%s", i ? ", " : "", json_string_value(v));
		rc = req_fail(r, 403, "forbidden", "running runbook %s by hand needs one of the roles: %s%s%s", name, list,
			      account ? " on account " : " on every account", account ? account : "");
		goto out;
	}
	const char *tid = jv_str(body, "ticket");
	if (tid) {
		if (tkt_load(req_db(r), tid, &ticket) || !(auth_perms(r, jv_str(ticket, "account")) & PERM_READ)) {
			rc = req_fail(r, 404, "not_found", "ticket %.40s not found", tid);
			goto out;
		}
		if (!account)
			account = jv_str(ticket, "account");
	}
	if (json_is_true(json_object_get(body, "dry_run"))) {
		json_t *plan = NULL;
		if ((rc = rb_inputs_resolve(spec, json_object_get(body, "inputs"), &inputs, &e)) ||
		    (rc = rb_dry_run(spec, inputs, ticket ? json_pack("{s:O}", "ticket", ticket) : NULL, &plan, &e))) {
			req_fail_from(r, &e);
			goto out;
		}
		req_json(r, 200, json_pack("{s:b,s:s,s:O,s:O,s:o,s:b}", "dry_run", 1, "runbook", name, "version",
					   json_object_get(spec, "version"), "inputs", inputs, "plan", plan, "would_run",
					   !rb_kill_switch(req_db(r))));
		goto out;
	}
	struct run_ctx x = { .rq = { .runbook = name, .account = account, .inputs = json_object_get(body, "inputs"),
				     .trigger = "manual", .actor = api_actor(r), .ticket = tid } };
	rc = store_write(r->srv->store, run_tx, &x);
	if (rc || x.refused) {
		if (x.err.status)
			rc = req_fail_from(r, &x.err);
		goto out;
	}
	char loc[80];
	snprintf(loc, sizeof(loc), "/api/v1/executions/%s", x.id);
	req_header(r, "Location", loc);
	req_json(r, 201, json_pack("{s:s,s:s,s:s}", "id", x.id, "status", "queued", "runbook", name));
out:
	json_decref(ticket);
	json_decref(inputs);
	json_decref(spec);
	json_decref(body);
	return rc;
}

#define EXE_COLS                                                                                               \
	"id, runbook, version, account, status, trigger, resource, ticket, alarm, created_by, created_at, "     \
	"started_at, ended_at, reason, cancel_requested, data, seq"

static json_t *exe_row(struct store_rows *rows, bool full)
{
	json_t *o = json_pack("{s:s,s:s,s:I,s:s?,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:b}", "id", store_text(rows, 0),
			      "runbook", store_text(rows, 1), "version", (json_int_t)store_int(rows, 2), "account",
			      store_text(rows, 3), "status", store_text(rows, 4), "trigger", store_text(rows, 5), "resource",
			      store_text(rows, 6), "ticket", store_text(rows, 7), "alarm", store_text(rows, 8),
			      "created_by", store_text(rows, 9), "reason", store_text(rows, 13), "cancel_requested",
			      (int)store_int(rows, 14));
	put_time(o, "created_at", store_int(rows, 10));
	put_time(o, "started_at", store_isnull(rows, 11) ? 0 : store_int(rows, 11));
	put_time(o, "ended_at", store_isnull(rows, 12) ? 0 : store_int(rows, 12));
	json_t *d = json_loads(store_text(rows, 15), 0, NULL);
	if (d) {
		json_object_set(o, "inputs", json_object_get(d, "inputs"));
		static const char *const extra[] = { "failed_step", "incident_opened", "alarm_resolved", "phase", NULL };
		for (int i = 0; extra[i]; i++)
			if (json_object_get(d, extra[i]))
				json_object_set(o, extra[i], json_object_get(d, extra[i]));
		json_t *steps = json_object_get(d, "steps");
		size_t i;
		json_t *s;
		json_array_foreach(steps, i, s) {
			int64_t st = json_integer_value(json_object_get(s, "started_at"));
			int64_t en = json_integer_value(json_object_get(s, "ended_at"));
			if (en && st)
				json_object_set_new(s, "duration_ms", json_integer(en - st));
			put_time(s, "started_at", st);
			put_time(s, "ended_at", en);
			static const char *const internal[] = { "wait_until", "give_up_at", "next_try", NULL };
			for (int k = 0; internal[k]; k++)
				json_object_del(s, internal[k]);
			if (json_object_get(s, "deadline"))
				put_time(s, "deadline", json_integer_value(json_object_get(s, "deadline")));
			if (!full) {
				json_object_del(s, "stdout");
				json_object_del(s, "stderr");
			}
		}
		json_object_set(o, "steps", steps);
		json_decref(d);
	}
	return o;
}

static int load_exe(struct req *r, json_t **out)
{
	struct store_rows *rows;
	int rc = store_query(req_db(r), "SELECT " EXE_COLS " FROM rb_executions WHERE id = $1",
			     SARGS(ST(req_param(r, 0))), &rows);
	if (rc)
		return rc;
	if (store_next(rows) != 1 || !can(r, store_text(rows, 3), PERM_READ)) {
		store_rows_free(rows);
		return req_fail(r, 404, "not_found", "execution %.40s not found", req_param(r, 0));
	}
	*out = exe_row(rows, true);
	store_rows_free(rows);
	return 0;
}

static int h_exe_get(struct req *r)
{
	json_t *o;
	int rc = load_exe(r, &o);
	return rc ? rc : req_json(r, 200, o);
}

static int h_exe_list(struct req *r)
{
	int limit;
	int64_t cursor;
	int rc = api_page(r, 50, 500, &limit, &cursor);
	if (rc)
		return rc;
	struct buf sql = BUF_INIT(1 << 14);
	struct store_arg args[6];
	int n = 0;
	args[n++] = SI(cursor ? cursor : INT64_MAX);
	buf_puts(&sql, "SELECT " EXE_COLS " FROM rb_executions WHERE seq < $1");
	static const char *const cols[] = { "runbook", "status", "trigger", "ticket", "account" };
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		const char *v = req_arg(r, cols[i]);
		if (v) {
			args[n++] = ST(v);
			buf_printf(&sql, " AND %s = $%d", cols[i], n);
		}
	}
	buf_printf(&sql, " ORDER BY seq DESC LIMIT %d", limit * 4 + 1);
	struct store_rows *rows;
	rc = store_query(req_db(r), buf_str(&sql), args, n, &rows);
	buf_release(&sql);
	if (rc)
		return rc;
	json_t *items = json_array();
	int64_t next = 0, last = 0;
	int count = 0;
	while (store_next(rows) == 1) {
		if (!can(r, store_text(rows, 3), PERM_READ))
			continue;
		if (count == limit) {
			next = last;
			break;
		}
		last = store_int(rows, 16);
		json_array_append_new(items, exe_row(rows, false));
		count++;
	}
	store_rows_free(rows);
	return req_json(r, 200, api_list(items, next));
}

struct cancel_ctx {
	const char *id, *actor, *account;
	struct fw_error err;
};

static int cancel_tx(struct store_conn *c, void *arg)
{
	struct cancel_ctx *x = arg;
	int64_t ch = 0;
	int rc = store_exec(c,
			    "UPDATE rb_executions SET cancel_requested = 1 WHERE id = $1 AND status IN "
			    "('queued','running','waiting_approval','rolling_back')",
			    SARGS(ST(x->id)), &ch);
	if (rc)
		return rc;
	if (!ch)
		return fw_fail(&x->err, 409, "invalid_transition", "execution %s has already ended", x->id);
	rc = audit_append(c, x->actor, x->account, "execution.cancel", x->id, NULL, NULL);
	if (!rc)
		rc = store_after_commit(c, rb_engine_wake, NULL);
	return rc;
}

static int h_exe_cancel(struct req *r)
{
	json_t *o;
	int rc = load_exe(r, &o);
	if (rc)
		return rc;
	const char *acc = jv_str(o, "account");
	if (!can(r, acc, PERM_WORK)) {
		json_decref(o);
		return req_fail(r, 403, "forbidden", "cancelling an execution needs the operator role");
	}
	struct cancel_ctx x = { req_param(r, 0), api_actor(r), acc, { 0 } };
	rc = store_write(r->srv->store, cancel_tx, &x);
	json_decref(o);
	if (rc)
		return x.err.status ? req_fail_from(r, &x.err) : rc;
	return req_json(r, 202, json_pack("{s:s,s:b}", "id", x.id, "cancel_requested", 1));
}

struct appr_ctx {
	const char *id, *actor, *comment, *account, *step;
	struct fw_error err;
	int have;
};

static int appr_tx(struct store_conn *c, void *arg)
{
	struct appr_ctx *x = arg;
	char *st = NULL;
	int rc = store_query_str(c, "SELECT status FROM rb_executions WHERE id = $1", SARGS(ST(x->id)), &st);
	if (rc)
		return fw_fail(&x->err, 404, "not_found", "execution %s not found", x->id);
	bool waiting = !strcmp(st, "waiting_approval");
	free(st);
	if (!waiting)
		return fw_fail(&x->err, 409, "invalid_transition", "execution %s is not waiting for an approval", x->id);
	int64_t dup = 0;
	store_query_int(c, "SELECT COUNT(*) FROM rb_approvals WHERE execution = $1 AND step = $2 AND principal = $3",
			SARGS(ST(x->id), ST(x->step), ST(x->actor)), &dup);
	if (dup)
		return fw_fail(&x->err, 409, "already_approved",
			       "you approved this step already; it needs approvals from distinct people");
	rc = store_exec(c, "INSERT INTO rb_approvals (execution, step, principal, at, comment) VALUES ($1,$2,$3,$4,$5)",
			SARGS(ST(x->id), ST(x->step), ST(x->actor), SI(time_now_ms()), ST(x->comment)), NULL);
	json_t *a = json_pack("{s:s,s:s?}", "step", x->step, "comment", x->comment);
	if (!rc)
		rc = audit_append(c, x->actor, x->account, "execution.approve", x->id, NULL, a);
	json_decref(a);
	int64_t n = 0;
	if (!rc)
		rc = store_query_int(c, "SELECT COUNT(*) FROM rb_approvals WHERE execution = $1 AND step = $2",
				     SARGS(ST(x->id), ST(x->step)), &n);
	x->have = (int)n;
	if (!rc)
		rc = store_after_commit(c, rb_engine_wake, NULL);
	return rc;
}

static int h_exe_approve(struct req *r)
{
	static const struct jv_field fields[] = { { "comment", JV_STRING, 0, 4000, NULL }, { NULL } };
	json_t *o = NULL, *body = NULL;
	struct fw_error e;
	int rc;
	if (r->body.len) {
		if ((rc = req_body_json(r, false, &body)))
			return rc;
		if ((rc = jv_check(body, fields, &e))) {
			json_decref(body);
			return req_fail_from(r, &e);
		}
	}
	if ((rc = load_exe(r, &o)))
		goto out;
	const char *acc = jv_str(o, "account");
	json_t *steps = json_object_get(o, "steps");
	json_t *last = json_array_get(steps, json_array_size(steps) ? json_array_size(steps) - 1 : 0);
	if (strcmp(jv_str(o, "status"), "waiting_approval") || !last) {
		rc = req_fail(r, 409, "invalid_transition", "execution %s is %s, not waiting for an approval", jv_str(o, "id"),
			      jv_str(o, "status"));
		goto out;
	}
	if (!can(r, acc, PERM_APPROVE)) {
		rc = req_fail(r, 403, "forbidden", "approving a runbook step needs the approver role%s%s",
			      acc ? " on account " : " on every account", acc ? acc : "");
		goto out;
	}
	const char *by = jv_str(o, "created_by");
	if (by && !strcmp(by, api_actor(r))) {
		rc = req_fail(r, 403, "two_person_rule", "whoever started an execution may not approve its steps");
		goto out;
	}
	struct appr_ctx x = { jv_str(o, "id"), api_actor(r), jv_str(body, "comment"), acc, jv_str(last, "name"), { 0 }, 0 };
	rc = store_write(r->srv->store, appr_tx, &x);
	if (rc) {
		if (x.err.status)
			req_fail_from(r, &x.err);
		goto out;
	}
	req_json(r, 201, json_pack("{s:s,s:s,s:i,s:O}", "execution", x.id, "step", x.step, "approvals", x.have,
				   "needed", json_object_get(last, "approvals_needed")));
out:
	json_decref(o);
	json_decref(body);
	return rc;
}

/* ---- rails ---- */

struct rail_ctx {
	const char *runbook, *actor;
	int enable;
	struct fw_error err;
};

static int reset_tx(struct store_conn *c, void *arg)
{
	struct rail_ctx *x = arg;
	int64_t ch = 0;
	int rc = store_exec(c, "UPDATE rb_breakers SET open = 0, failures = 0, opened_at = NULL WHERE runbook = $1 AND open = 1",
			    SARGS(ST(x->runbook)), &ch);
	if (rc)
		return rc;
	if (!ch)
		return fw_fail(&x->err, 409, "invalid_transition", "the circuit breaker of runbook %s is not open", x->runbook);
	json_t *a = json_pack("{s:s}", "runbook", x->runbook);
	rc = audit_append(c, x->actor, NULL, "rail.breaker_reset", x->runbook, NULL, a);
	json_decref(a);
	return rc;
}

static int h_breaker_reset(struct req *r)
{
	json_t *spec = NULL;
	if (rb_spec_load(req_db(r), req_param(r, 0), 0, &spec, NULL))
		return req_fail(r, 404, "not_found", "runbook %.64s not found", req_param(r, 0));
	const char *acc = jv_str(spec, "account");
	bool ok = can(r, acc, PERM_WORK);
	json_decref(spec);
	if (!ok)
		return req_fail(r, 403, "forbidden", "resetting a circuit breaker needs the operator role");
	struct rail_ctx x = { req_param(r, 0), api_actor(r), 0, { 0 } };
	int rc = store_write(r->srv->store, reset_tx, &x);
	if (rc)
		return x.err.status ? req_fail_from(r, &x.err) : rc;
	return req_json(r, 200, json_pack("{s:s,s:b}", "runbook", x.runbook, "open", 0));
}

static int kill_tx(struct store_conn *c, void *arg)
{
	struct rail_ctx *x = arg;
	int rc = store_exec(c,
			    "INSERT INTO rb_settings (name, value) VALUES ('kill_switch', $1) "
			    "ON CONFLICT (name) DO UPDATE SET value = $1",
			    SARGS(ST(x->enable ? "on" : "off")), NULL);
	json_t *a = json_pack("{s:b}", "enabled", x->enable);
	if (!rc)
		rc = audit_append(c, x->actor, NULL, x->enable ? "rail.kill_switch_on" : "rail.kill_switch_off", "automation",
				  NULL, a);
	json_decref(a);
	return rc;
}

static int h_kill_switch(struct req *r)
{
	static const struct jv_field fields[] = { { "enabled", JV_BOOL, JV_REQUIRED, 0, NULL }, { NULL } };
	json_t *body = NULL;
	struct fw_error e;
	int rc = req_body_json(r, false, &body);
	if (rc)
		return rc;
	if ((rc = jv_check(body, fields, &e))) {
		json_decref(body);
		return req_fail_from(r, &e);
	}
	if (!auth_global(r, PERM_ADMIN)) {
		json_decref(body);
		return req_fail(r, 403, "forbidden", "the global kill switch needs the admin role on every account");
	}
	struct rail_ctx x = { NULL, api_actor(r), json_is_true(json_object_get(body, "enabled")), { 0 } };
	json_decref(body);
	if ((rc = store_write(r->srv->store, kill_tx, &x)))
		return rc;
	return req_json(r, 200, json_pack("{s:b}", "enabled", x.enable));
}

static int h_rails(struct req *r)
{
	json_t *b = json_array();
	struct store_rows *rows;
	if (!store_query(req_db(r), "SELECT runbook, failures, open, opened_at, incident FROM rb_breakers ORDER BY runbook",
			 SNOARGS, &rows)) {
		while (store_next(rows) == 1) {
			json_t *o = json_pack("{s:s,s:I,s:b,s:s?}", "runbook", store_text(rows, 0), "consecutive_failures",
					      (json_int_t)store_int(rows, 1), "open", (int)store_int(rows, 2), "incident",
					      store_text(rows, 4));
			put_time(o, "opened_at", store_isnull(rows, 3) ? 0 : store_int(rows, 3));
			json_array_append_new(b, o);
		}
		store_rows_free(rows);
	}
	return req_json(r, 200, json_pack("{s:b,s:o,s:i}", "kill_switch", rb_kill_switch(req_db(r)), "breakers", b,
					  "runner_pid", rb_runner_pid()));
}

/* ---- alarms handed in by hand (integration tests, rule checks) ---- */

struct alarm_ctx {
	json_t *alarm;
	struct rb_alarm_result res;
	int diag;
};

static int alarm_tx(struct store_conn *c, void *arg)
{
	struct alarm_ctx *x = arg;
	int rc = rb_on_alarm(c, x->alarm, &x->res);
	if (!rc && jv_str(x->alarm, "incident")) {
		json_t *inc = json_pack("{s:O}", "id", json_object_get(x->alarm, "incident"));
		rc = rb_on_incident(c, inc, x->alarm, &x->diag);
		json_decref(inc);
	}
	return rc;
}

static int h_alarm(struct req *r)
{
	json_t *body = NULL;
	int rc = req_body_json(r, false, &body);
	if (rc)
		return rc;
	const char *acc = jv_str(body, "account");
	if (!json_is_object(json_object_get(body, "labels")) || !acc || !api_account_id_ok(acc)) {
		json_decref(body);
		return req_fail(r, 422, "invalid_field", "an alarm needs 'account' (12 digits) and 'labels' (an object)");
	}
	if (!(auth_perms(r, acc) & PERM_ADMIN)) {
		json_decref(body);
		return req_fail(r, 403, "forbidden", "handing alarms to automation by hand needs the admin role");
	}
	const char *inc = jv_str(body, "incident");
	if (inc) {
		json_t *t = NULL;
		if (tkt_load(req_db(r), inc, &t) || strcmp(jv_str_or(t, "account", ""), acc)) {
			json_decref(t);
			json_decref(body);
			return req_fail(r, 404, "not_found", "incident %.40s not found", inc);
		}
		json_decref(t);
	}
	if (!jv_str(body, "fingerprint")) {
		char *lab = json_dumps(json_object_get(body, "labels"), JSON_COMPACT | JSON_SORT_KEYS);
		char fp[65];
		crypto_sha256_hex(lab, strlen(lab), fp);
		fp[16] = '\0';
		json_object_set_new(body, "fingerprint", json_string(fp));
		free(lab);
	}
	struct alarm_ctx x = { body, { 0 }, 0 };
	rc = store_write(r->srv->store, alarm_tx, &x);
	if (!rc) {
		static const char *const names[] = { "no_match", "remediating", "page" };
		req_json(r, 200, json_pack("{s:s,s:b,s:i,s:s?,s:s?,s:i}", "outcome", names[x.res.outcome], "prevent_incident",
					   x.res.prevent_incident, "queued", x.res.queued, "execution",
					   x.res.execution[0] ? x.res.execution : NULL, "reason",
					   x.res.reason[0] ? x.res.reason : NULL, "diagnostics_queued", x.diag));
	}
	json_decref(body);
	return rc;
}

/* ---- changes ---- */

struct chg_ctx {
	const char *id, *actor;
	char exe[32];
	struct fw_error err;
};

static int chg_tx(struct store_conn *c, void *arg)
{
	struct chg_ctx *x = arg;
	return rb_change_execute(c, x->id, x->actor, x->exe, &x->err);
}

static int h_change_execute(struct req *r)
{
	json_t *t = NULL;
	if (tkt_load(req_db(r), req_param(r, 0), &t) || !(auth_perms(r, jv_str(t, "account")) & PERM_READ)) {
		json_decref(t);
		return req_fail(r, 404, "not_found", "change %.40s not found", req_param(r, 0));
	}
	bool ok = (auth_perms(r, jv_str(t, "account")) & PERM_WORK) != 0;
	json_decref(t);
	if (!ok)
		return req_fail(r, 403, "forbidden", "executing a change needs the operator role");
	struct chg_ctx x = { req_param(r, 0), api_actor(r), "", { 0 } };
	int rc = store_write(r->srv->store, chg_tx, &x);
	if (rc)
		return x.err.status ? req_fail_from(r, &x.err) : rc;
	return req_json(r, 202, json_pack("{s:s,s:s,s:s}", "change", x.id, "status", "executing", "execution", x.exe));
}

/* ---- KPIs ---- */

static int h_kpis(struct req *r)
{
	int64_t from = 0, to = 0;
	bool hf, ht;
	int rc = api_time_arg(r, "from", &from, &hf);
	if (!rc)
		rc = api_time_arg(r, "to", &to, &ht);
	if (rc)
		return rc;
	if (!ht)
		to = time_now_ms() + 1;
	if (!hf)
		from = to - 30LL * 24 * 3600 * 1000;
	const char *account = req_arg(r, "account");
	if (account && !(auth_perms(r, account) & PERM_READ))
		return req_fail(r, 404, "not_found", "account %.20s not found", account);
	struct store_rows *rows;
	rc = store_query(req_db(r),
			 "SELECT runbook, trigger, status, account, created_at, ended_at, data FROM rb_executions "
			 "WHERE created_at >= $1 AND created_at < $2 AND (CAST($3 AS TEXT) IS NULL OR account = $3)",
			 SARGS(SI(from), SI(to), ST(account)), &rows);
	if (rc)
		return rc;
	json_int_t total = 0, ok = 0, bad = 0, remediated = 0, alarm_failed = 0, saved = 0, auto_n = 0;
	double auto_ms = 0;
	json_t *per = json_object();
	while (store_next(rows) == 1) {
		const char *acc = store_text(rows, 3);
		if (!account && !can(r, acc, PERM_READ))
			continue;
		const char *rb = store_text(rows, 0), *trig = store_text(rows, 1), *st = store_text(rows, 2);
		json_t *p = json_object_get(per, rb);
		if (!p) {
			p = json_pack("{s:i,s:i,s:i,s:i}", "executions", 0, "succeeded", 0, "failed", 0, "time_saved_minutes", 0);
			json_object_set_new(per, rb, p);
		}
		total++;
		json_object_set_new(p, "executions", json_integer(json_integer_value(json_object_get(p, "executions")) + 1));
		bool s = !strcmp(st, "succeeded");
		bool f = !strcmp(st, "failed") || !strcmp(st, "rolled_back");
		json_t *d = json_loads(store_text(rows, 6), 0, NULL);
		if (s) {
			ok++;
			json_int_t mm = json_integer_value(json_object_get(d, "manual_minutes"));
			saved += mm;
			json_object_set_new(p, "succeeded", json_integer(json_integer_value(json_object_get(p, "succeeded")) + 1));
			json_object_set_new(p, "time_saved_minutes",
					    json_integer(json_integer_value(json_object_get(p, "time_saved_minutes")) + mm));
		}
		if (f) {
			bad++;
			json_object_set_new(p, "failed", json_integer(json_integer_value(json_object_get(p, "failed")) + 1));
		}
		if (!strcmp(trig, "alarm")) {
			if (s) {
				remediated++;
				int64_t start = store_int(rows, 4);
				const char *sa = jv_str(json_object_get(json_object_get(d, "context"), "alarm"), "starts_at");
				int64_t t0;
				if (sa && !time_parse_rfc3339(sa, &t0))
					start = t0;
				if (!store_isnull(rows, 5)) {
					auto_ms += (double)(store_int(rows, 5) - start);
					auto_n++;
				}
			} else if (f)
				alarm_failed++;
		}
		json_decref(d);
	}
	store_rows_free(rows);
	int64_t paged = 0;
	store_query_int(req_db(r),
			"SELECT COUNT(*) FROM rb_alarm_log WHERE at >= $1 AND at < $2 AND (CAST($3 AS TEXT) IS NULL OR account = $3)",
			SARGS(SI(from), SI(to), ST(account)), &paged);
	/* Manual MTTR: incidents resolved in the period without automation. */
	double man_ms = 0;
	json_int_t man_n = 0;
	if (!store_query(req_db(r),
			 "SELECT account, data FROM tickets WHERE kind = 'incident' AND created_at >= $1 AND created_at < $2 "
			 "AND (CAST($3 AS TEXT) IS NULL OR account = $3)",
			 SARGS(SI(from), SI(to), ST(account)), &rows)) {
		while (store_next(rows) == 1) {
			if (!account && !can(r, store_text(rows, 0), PERM_READ))
				continue;
			json_t *t = json_loads(store_text(rows, 1), 0, NULL);
			int64_t c0, r0;
			if (t && !json_object_get(t, "resolved_by_automation") && jv_str(t, "resolved_at") &&
			    !time_parse_rfc3339(jv_str(t, "created_at"), &c0) && !time_parse_rfc3339(jv_str(t, "resolved_at"), &r0)) {
				man_ms += (double)(r0 - c0);
				man_n++;
			}
			json_decref(t);
		}
		store_rows_free(rows);
	}
	json_t *o = json_pack("{s:s?,s:I,s:I,s:I,s:I,s:I}", "account", account, "executions", total, "succeeded", ok,
			      "failed", bad, "alarms_auto_remediated", remediated, "alarms_paged",
			      (json_int_t)paged + alarm_failed);
	put_time(o, "from", from);
	put_time(o, "to", to);
	json_object_set_new(o, "success_rate", ok + bad ? json_real((double)ok / (double)(ok + bad)) : json_null());
	json_object_set_new(o, "time_saved_minutes", json_integer(saved));
	json_object_set_new(o, "mttr_automated_seconds", auto_n ? json_real(auto_ms / (double)auto_n / 1000.0) : json_null());
	json_object_set_new(o, "mttr_manual_seconds", man_n ? json_real(man_ms / (double)man_n / 1000.0) : json_null());
	json_object_set_new(o, "per_runbook", per);
	return req_json(r, 200, o);
}

const struct route api_runbook_routes[] = {
	{ "GET", "/api/v1/runbooks", h_rb_list, 0 },
	{ "POST", "/api/v1/runbooks", h_rb_save, 0 },
	{ "GET", "/api/v1/runbooks/{name}", h_rb_get, 0 },
	{ "PUT", "/api/v1/runbooks/{name}", h_rb_save, 0 },
	{ "GET", "/api/v1/runbooks/{name}/versions", h_rb_versions, 0 },
	{ "POST", "/api/v1/runbooks/{name}/executions", h_run, 0 },
	{ "POST", "/api/v1/runbooks/{name}/breaker/reset", h_breaker_reset, 0 },
	{ "GET", "/api/v1/executions", h_exe_list, 0 },
	{ "GET", "/api/v1/executions/{id}", h_exe_get, 0 },
	{ "POST", "/api/v1/executions/{id}/cancel", h_exe_cancel, 0 },
	{ "POST", "/api/v1/executions/{id}/approvals", h_exe_approve, 0 },
	{ "GET", "/api/v1/automation/rails", h_rails, 0 },
	{ "PUT", "/api/v1/automation/kill-switch", h_kill_switch, 0 },
	{ "POST", "/api/v1/automation/alarms", h_alarm, 0 },
	{ "POST", "/api/v1/changes/{id}/execute", h_change_execute, 0 },
	{ "GET", "/api/v1/kpis/automation", h_kpis, 0 },
	{ NULL, NULL, NULL, 0 },
};
