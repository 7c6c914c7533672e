/* /api/v1/sla-policies, /escalation-policies, /schedules (+ oncall, gaps), /tickets/{id}/sla,
 * /kpis/sla and the test-only /test/clock. */
#include "api/api.h"
#include "audit/audit.h"
#include "http/auth.h"
#include "http/req.h"
#include "http/router.h"
#include "http/server.h"
#include "notify/notify.h"
#include "sla/engine.h"
#include "sla/escalation.h"
#include "sla/oncall.h"
#include "sla/policy.h"
#include "sla/scheduler.h"
#include "store/store.h"
#include "tickets/ticket.h"
#include "tickets/tkt_store.h"
#include "util/buf.h"
#include "util/jsonv.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- definitions stored as JSON: SLA policies, escalation policies, schedules ---- */

struct defkind {
	const char *table, *counter, *what, *path;
	int (*validate)(struct req *r, const json_t *def);
	const char *extra_col;  /* a column mirrored from the definition for lookups, or NULL */
	const char *extra_key;
};

static int v_sla(struct req *r, const json_t *def)
{
	struct sla_policy p;
	struct fw_error e;
	if (sla_policy_parse(def, &p, &e))
		return req_fail_from(r, &e);
	sla_policy_release(&p);
	const char *tier = jv_str(def, "tier");
	static const char *const tiers[] = { "developer", "business", "enterprise", "enterprise_onramp", NULL };
	if (tier && !jv_in(tier, tiers))
		return req_fail(r, 422, "invalid_field", "field 'tier' must be developer, business, enterprise or enterprise_onramp");
	return 0;
}

static int v_esc(struct req *r, const json_t *def)
{
	struct esc_policy p;
	struct fw_error e;
	if (sla_esc_parse(def, &p, &e))
		return req_fail_from(r, &e);
	for (size_t i = 0; i < p.n_levels; i++)
		for (size_t j = 0; j < p.levels[i].n_targets; j++) {
			const struct esc_target *t = &p.levels[i].targets[j];
			int64_t n = 0;
			if (t->type == ESC_SCHEDULE &&
			    (store_query_int(req_db(r), "SELECT COUNT(*) FROM schedules WHERE id = $1", SARGS(ST(t->id)), &n) ||
			     n == 0))
				return req_fail(r, 422, "invalid_levels", "levels[%zu].targets[%zu]: schedule %s does not exist", i,
						j, t->id);
		}
	return 0;
}

static int v_sched(struct req *r, const json_t *def)
{
	struct sla_schedule s;
	struct fw_error e;
	if (sla_oncall_parse(def, &s, &e))
		return req_fail_from(r, &e);
	sla_oncall_release(&s);
	return 0;
}

static const struct defkind K_SLA = { "sla_policies", "slp", "SLA policy", "sla-policies", v_sla, "tier", "tier" };
static const struct defkind K_ESC = { "escalation_policies", "esc", "escalation policy", "escalation-policies", v_esc,
				      "group_name", "group" };
static const struct defkind K_SCHED = { "schedules", "sch", "schedule", "schedules", v_sched, NULL, NULL };

static const struct defkind *kind_of(struct req *r)
{
	const char *p = r->route + strlen("/api/v1/");
	return !strncmp(p, "sla-", 4) ? &K_SLA : !strncmp(p, "escalation", 10) ? &K_ESC : &K_SCHED;
}

static json_t *def_json(struct store_conn *c, const struct defkind *k, const char *id)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT id, account, name, definition, created_at, updated_at FROM %s WHERE id = $1",
		 k->table);
	struct store_rows *rows;
	if (store_query(c, sql, SARGS(ST(id)), &rows))
		return NULL;
	json_t *o = NULL;
	if (store_next(rows) == 1) {
		o = json_loads(store_text(rows, 3), 0, NULL);
		if (!o)
			o = json_object();
		char a[32], b[32];
		time_fmt_ms(store_int(rows, 4), a, sizeof(a));
		time_fmt_ms(store_int(rows, 5), b, sizeof(b));
		json_object_set_new(o, "id", json_string(store_text(rows, 0)));
		json_object_set_new(o, "account", store_text(rows, 1) ? json_string(store_text(rows, 1)) : json_null());
		json_object_set_new(o, "name", json_string(store_text(rows, 2)));
		json_object_set_new(o, "created_at", json_string(a));
		json_object_set_new(o, "updated_at", json_string(b));
	}
	store_rows_free(rows);
	return o;
}

static int load_def(struct req *r, const struct defkind *k, const char *id, json_t **out)
{
	*out = def_json(req_db(r), k, id);
	const char *acc = *out ? jv_str(*out, "account") : NULL;
	if (!*out || (acc && !(auth_perms(r, acc) & PERM_READ))) {
		json_decref(*out);
		*out = NULL;
		return req_fail(r, 404, "not_found", "%s %.40s not found", k->what, id);
	}
	return 0;
}

static int require_admin(struct req *r, const char *account)
{
	if (account) {
		if (!api_account_id_ok(account))
			return req_fail(r, 422, "invalid_field", "field 'account' must be a 12-digit account id");
		return auth_require(r, account, PERM_ADMIN, "account");
	}
	if (!auth_global(r, PERM_ADMIN))
		return req_fail(r, 403, "forbidden", "policies and schedules without an account are managed by a global "
						   "admin; give an 'account' you administer");
	return 0;
}

struct def_ctx {
	const struct defkind *k;
	char id[40];
	const char *account, *name, *actor, *type;
	json_t *def;
	bool update, del;
};

static int def_tx(struct store_conn *c, void *arg)
{
	struct def_ctx *x = arg;
	char sql[400];
	int rc = 0;
	int64_t now = time_now_ms();
	if (x->del) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = $1", x->k->table);
		rc = store_exec(c, sql, SARGS(ST(x->id)), NULL);
	} else {
		char *d = json_dumps(x->def, JSON_COMPACT | JSON_SORT_KEYS);
		if (x->update) {
			snprintf(sql, sizeof(sql), "UPDATE %s SET name = $2, definition = $3, updated_at = $4 WHERE id = $1",
				 x->k->table);
			/* updated_at must change even within one millisecond: it keys the policy cache. */
			int64_t prev = 0;
			char q[160];
			snprintf(q, sizeof(q), "SELECT updated_at FROM %s WHERE id = $1", x->k->table);
			store_query_int(c, q, SARGS(ST(x->id)), &prev);
			if (now <= prev)
				now = prev + 1;
			rc = store_exec(c, sql, SARGS(ST(x->id), ST(x->name), ST(d), SI(now)), NULL);
		} else {
			int64_t n = 0;
			rc = store_counter_next(c, x->k->counter, &n);
			snprintf(x->id, sizeof(x->id), "%s-%lld", x->k->counter, (long long)n);
			if (x->k == &K_SLA)
				snprintf(sql, sizeof(sql),
					 "INSERT INTO sla_policies (id, account, name, definition, created_at, updated_at, type)"
					 " VALUES ($1,$2,$3,$4,$5,$5,$6)");
			else
				snprintf(sql, sizeof(sql),
					 "INSERT INTO %s (id, account, name, definition, created_at, updated_at)"
					 " VALUES ($1,$2,$3,$4,$5,$5)",
					 x->k->table);
			if (!rc && x->k == &K_SLA)
				rc = store_exec(c, sql, SARGS(ST(x->id), ST(x->account), ST(x->name), ST(d), SI(now),
							      ST(x->type ? x->type : "sla")),
						NULL);
			else if (!rc)
				rc = store_exec(c, sql, SARGS(ST(x->id), ST(x->account), ST(x->name), ST(d), SI(now)), NULL);
		}
		free(d);
		if (!rc && x->k->extra_col) {
			snprintf(sql, sizeof(sql), "UPDATE %s SET %s = $2 WHERE id = $1", x->k->table, x->k->extra_col);
			rc = store_exec(c, sql, SARGS(ST(x->id), ST(jv_str(x->def, x->k->extra_key))), NULL);
		}
		if (!rc && x->k == &K_SLA)
			rc = store_exec(c, "UPDATE sla_policies SET group_name = $2 WHERE id = $1",
					SARGS(ST(x->id), ST(jv_str(x->def, "group"))), NULL);
	}
	if (!rc) {
		char action[64];
		snprintf(action, sizeof(action), "%s.%s", x->k->counter, x->del ? "delete" : x->update ? "update" : "create");
		rc = audit_append(c, x->actor, x->account, action, x->id, NULL, x->def);
	}
	return rc;
}

/* Coverage gaps of a schedule over [from, from + days): reported, never silently accepted. */
static json_t *gaps_json(const json_t *def, int64_t from_ms, int64_t to_ms, struct fw_error *e, int *rc)
{
	struct sla_schedule s;
	json_t *out = json_array();
	if ((*rc = sla_oncall_parse(def, &s, e)))
		return out;
	struct sla_gap *g = NULL;
	size_t n = 0;
	*rc = sla_oncall_gaps(&s, (time_t)(from_ms / 1000), (time_t)(to_ms / 1000), &g, &n, e);
	for (size_t i = 0; i < n; i++) {
		char a[32], b[32];
		time_fmt_ms((int64_t)g[i].start * 1000, a, sizeof(a));
		time_fmt_ms((int64_t)g[i].end * 1000, b, sizeof(b));
		json_array_append_new(out, json_pack("{s:s,s:s,s:I}", "start", a, "end", b, "seconds",
						     (json_int_t)(g[i].end - g[i].start)));
	}
	free(g);
	sla_oncall_release(&s);
	return out;
}

static int respond_def(struct req *r, const struct defkind *k, const char *id, int status)
{
	json_t *o = def_json(req_db(r), k, id);
	if (!o)
		return req_fail(r, 404, "not_found", "%s %.40s not found", k->what, id);
	if (k == &K_SCHED) {
		struct fw_error e;
		int rc;
		int64_t now = time_now_ms();
		json_object_set_new(o, "coverage_gaps", gaps_json(o, now, now + 28LL * 86400000, &e, &rc));
		json_object_set_new(o, "coverage_window_days", json_integer(28));
	}
	return req_json(r, status, o);
}

static int h_def_create(struct req *r)
{
	const struct defkind *k = kind_of(r);
	json_t *body;
	int rc = req_body_json(r, false, &body);
	if (rc)
		return rc;
	const char *name = jv_str(body, "name");
	if (!name || !*name || strlen(name) > 200) {
		rc = req_fail(r, 422, "missing_field", "field 'name' is required (1 to 200 characters)");
		goto out;
	}
	const json_t *acc = json_object_get(body, "account");
	if (acc && !json_is_null(acc) && !json_is_string(acc)) {
		rc = req_fail(r, 422, "invalid_field", "field 'account' must be a 12-digit account id or null");
		goto out;
	}
	if ((rc = require_admin(r, jv_str(body, "account"))) || (rc = k->validate(r, body)))
		goto out;
	struct def_ctx x = { .k = k, .account = jv_str(body, "account"), .name = name, .actor = api_actor(r),
			     .def = body, .type = jv_str(body, "type") };
	if (!(rc = store_write(r->srv->store, def_tx, &x)))
		rc = respond_def(r, k, x.id, 201);
out:
	json_decref(body);
	return rc;
}

static int h_def_put(struct req *r)
{
	const struct defkind *k = kind_of(r);
	json_t *body = NULL, *cur = NULL;
	int rc = req_body_json(r, false, &body);
	if (rc)
		return rc;
	if ((rc = load_def(r, k, req_param(r, 0), &cur)) || (rc = require_admin(r, jv_str(cur, "account"))))
		goto out;
	if (!jv_str(body, "name"))
		json_object_set(body, "name", json_object_get(cur, "name"));
	json_object_set(body, "account", json_object_get(cur, "account"));
	if (k == &K_SLA && json_object_get(body, "type") &&
	    strcmp(jv_str_or(body, "type", ""), jv_str_or(cur, "type", "sla"))) {
		rc = req_fail(r, 422, "invalid_field", "a policy's type cannot change; create a new policy");
		goto out;
	}
	if ((rc = k->validate(r, body)))
		goto out;
	struct def_ctx x = { .k = k, .account = jv_str(cur, "account"), .name = jv_str(body, "name"),
			     .actor = api_actor(r), .def = body, .update = true };
	snprintf(x.id, sizeof(x.id), "%s", req_param(r, 0));
	if (!(rc = store_write(r->srv->store, def_tx, &x)))
		rc = respond_def(r, k, x.id, 200);
out:
	json_decref(cur);
	json_decref(body);
	return rc;
}

static int h_def_get(struct req *r)
{
	const struct defkind *k = kind_of(r);
	json_t *o;
	int rc = load_def(r, k, req_param(r, 0), &o);
	if (rc)
		return rc;
	json_decref(o);
	return respond_def(r, k, req_param(r, 0), 200);
}

static int h_def_delete(struct req *r)
{
	const struct defkind *k = kind_of(r);
	json_t *o;
	int rc = load_def(r, k, req_param(r, 0), &o);
	if (rc)
		return rc;
	if (!(rc = require_admin(r, jv_str(o, "account")))) {
		struct def_ctx x = { .k = k, .account = jv_str(o, "account"), .actor = api_actor(r), .del = true };
		snprintf(x.id, sizeof(x.id), "%s", req_param(r, 0));
		if (!(rc = store_write(r->srv->store, def_tx, &x)))
			rc = req_raw(r, 204, NULL, "", 0);
	}
	json_decref(o);
	return rc;
}

static int h_def_list(struct req *r)
{
	const struct defkind *k = kind_of(r);
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT id, account FROM %s ORDER BY created_at, id", k->table);
	struct store_rows *rows;
	int rc = store_query(req_db(r), sql, SNOARGS, &rows);
	if (rc)
		return rc;
	json_t *ids = json_array();
	while (store_next(rows) == 1)
		if (!store_text(rows, 1) || (auth_perms(r, store_text(rows, 1)) & PERM_READ))
			json_array_append_new(ids, json_string(store_text(rows, 0)));
	store_rows_free(rows);
	json_t *items = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		json_t *o = def_json(req_db(r), k, json_string_value(v));
		if (o)
			json_array_append_new(items, o);
	}
	json_decref(ids);
	return req_json(r, 200, api_list(items, 0));
}

/* ---- on call ---- */

static json_t *shift_json(const struct sla_schedule *s, const struct sla_shift *sh)
{
	char a[32], b[32];
	time_fmt_ms((int64_t)sh->start * 1000, a, sizeof(a));
	time_fmt_ms((int64_t)sh->end * 1000, b, sizeof(b));
	const char *layer = sh->layer == SLA_OVERRIDE ? "override"
			    : sh->layer == SLA_GAP   ? NULL
						     : s->layers[sh->layer].name;
	json_t *o = json_pack("{s:s?,s:s,s:s}", "user", sh->user, "start", a, "end", b);
	if (sh->layer >= 0)
		json_object_set_new(o, "layer", layer ? json_string(layer) : json_integer(sh->layer));
	else if (sh->layer == SLA_OVERRIDE)
		json_object_set_new(o, "layer", json_string("override"));
	return o;
}

static int h_oncall(struct req *r)
{
	json_t *o;
	int rc = load_def(r, &K_SCHED, req_param(r, 0), &o);
	if (rc)
		return rc;
	int64_t at = time_now_ms();
	bool has;
	if ((rc = api_time_arg(r, "at", &at, &has))) {
		json_decref(o);
		return rc;
	}
	struct sla_schedule s;
	struct fw_error e;
	if ((rc = sla_oncall_parse(o, &s, &e))) {
		json_decref(o);
		return req_fail_from(r, &e);
	}
	struct sla_shift cur, next[6];
	size_t n = 0;
	json_t *out = json_object();
	char ts[32];
	time_fmt_ms(at, ts, sizeof(ts));
	json_object_set_new(out, "schedule", json_string(req_param(r, 0)));
	json_object_set_new(out, "at", json_string(ts));
	if (sla_oncall_at(&s, (time_t)(at / 1000), &cur) == 0) {
		if (cur.user) {
			json_object_set_new(out, "on_call", shift_json(&s, &cur));
			json_object_set_new(out, "gap", json_null());
		} else {
			json_object_set_new(out, "on_call", json_null());
			json_object_set_new(out, "gap", shift_json(&s, &cur));
		}
	}
	json_t *nx = json_array();
	if (sla_oncall_next(&s, (time_t)(at / 1000), 6, next, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (!cur.user || next[i].start != cur.start || strcmp(next[i].user, cur.user))
				json_array_append_new(nx, shift_json(&s, &next[i]));
	json_object_set_new(out, "next", nx);
	sla_oncall_release(&s);
	json_decref(o);
	return req_json(r, 200, out);
}

static int h_gaps(struct req *r)
{
	json_t *o;
	int rc = load_def(r, &K_SCHED, req_param(r, 0), &o);
	if (rc)
		return rc;
	int64_t from = time_now_ms(), to;
	bool hf, ht;
	if ((rc = api_time_arg(r, "from", &from, &hf))) {
		json_decref(o);
		return rc;
	}
	to = from + 28LL * 86400000;
	if ((rc = api_time_arg(r, "to", &to, &ht))) {
		json_decref(o);
		return rc;
	}
	struct fw_error e;
	json_t *g = gaps_json(o, from, to, &e, &rc);
	json_decref(o);
	if (rc) {
		json_decref(g);
		return req_fail_from(r, &e);
	}
	return req_json(r, 200, json_pack("{s:s,s:o}", "schedule", req_param(r, 0), "gaps", g));
}

/* ---- ticket clocks ---- */

static int h_ticket_sla(struct req *r)
{
	json_t *t = NULL, *out = NULL;
	const char *id = req_param(r, 0);
	if (!tkt_kind_of_id(id) || tkt_load(req_db(r), id, &t) || !(auth_perms(r, jv_str(t, "account")) & PERM_READ)) {
		json_decref(t);
		return req_fail(r, 404, "not_found", "ticket %.40s not found", id);
	}
	int rc = sla_ticket_status(req_db(r), id, &out);
	if (!rc) {
		json_object_set_new(out, "status", json_string(jv_str(t, "status")));
		json_object_set_new(out, "priority", json_string(jv_str_or(t, "priority", "")));
		if (jv_str(t, "restore_recommendation"))
			json_object_set_new(out, "restore_recommendation", json_string(jv_str(t, "restore_recommendation")));
		rc = req_json(r, 200, out);
	}
	json_decref(t);
	return rc;
}

/* ---- KPIs ---- */

struct agg {
	json_t *root;
};

static json_t *bucket(json_t *dim, const char *key)
{
	json_t *b = json_object_get(dim, key ? key : "(none)");
	if (!b) {
		b = json_pack("{s:i,s:i,s:i,s:f,s:f,s:i,s:i}", "tickets", 0, "acknowledged", 0, "resolved", 0, "_tta", 0.0,
			      "_ttr", 0.0, "clocks_met", 0, "breaches", 0);
		json_object_set_new(dim, key ? key : "(none)", b);
	}
	return b;
}

static void add_i(json_t *b, const char *k, json_int_t d)
{
	json_object_set_new(b, k, json_integer(json_integer_value(json_object_get(b, k)) + d));
}

static void add_f(json_t *b, const char *k, double d)
{
	json_object_set_new(b, k, json_real(json_real_value(json_object_get(b, k)) + d));
}

static void finish(json_t *b)
{
	json_int_t a = json_integer_value(json_object_get(b, "acknowledged"));
	json_int_t rs = json_integer_value(json_object_get(b, "resolved"));
	json_int_t met = json_integer_value(json_object_get(b, "clocks_met"));
	json_int_t br = json_integer_value(json_object_get(b, "breaches"));
	json_object_set_new(b, "mtta_seconds", a ? json_real(json_real_value(json_object_get(b, "_tta")) / (double)a) : json_null());
	json_object_set_new(b, "mttr_seconds", rs ? json_real(json_real_value(json_object_get(b, "_ttr")) / (double)rs) : json_null());
	json_object_set_new(b, "sla_met_pct", met + br ? json_real(100.0 * (double)met / (double)(met + br)) : json_null());
	json_object_del(b, "_tta");
	json_object_del(b, "_ttr");
}

static void month_of(int64_t ms, char *out, size_t cap)
{
	char ts[32];
	time_fmt_ms(ms, ts, sizeof(ts));
	snprintf(out, cap, "%.7s", ts);
}

static int h_kpis(struct req *r)
{
	int64_t from = 0, to = 0;
	bool hf, ht;
	int rc = api_time_arg(r, "from", &from, &hf);
	if (!rc)
		rc = api_time_arg(r, "to", &to, &ht);
	if (rc)
		return rc;
	struct buf sql = BUF_INIT(1 << 16);
	struct store_arg args[4];
	int n = 0;
	buf_puts(&sql, "SELECT id, account, severity, group_name, created_at, data FROM tickets WHERE 1=1");
	auth_account_filter(r, PERM_READ, "account", &sql);
	const char *acc = req_arg(r, "account");
	if (acc) {
		args[n++] = ST(acc);
		buf_printf(&sql, " AND account = $%d", n);
	}
	if (hf) {
		args[n++] = SI(from);
		buf_printf(&sql, " AND created_at >= $%d", n);
	}
	if (ht) {
		args[n++] = SI(to);
		buf_printf(&sql, " AND created_at < $%d", n);
	}
	struct store_rows *rows;
	rc = store_query(req_db(r), buf_str(&sql), args, n, &rows);
	if (rc) {
		buf_release(&sql);
		return rc;
	}
	json_t *dims[5] = { json_object(), json_object(), json_object(), json_object(), json_object() };
	static const char *const dim_names[] = { "overall", "by_account", "by_severity", "by_group", "by_month" };
	json_t *month_of_ticket = json_object();
	while (store_next(rows) == 1) {
		char month[16];
		month_of(store_int(rows, 4), month, sizeof(month));
		const char *keys[5] = { "all", store_text(rows, 1), store_text(rows, 2), store_text(rows, 3), month };
		json_object_set_new(month_of_ticket, store_text(rows, 0), json_string(month));
		json_t *t = json_loads(store_text(rows, 5), 0, NULL);
		int64_t created = store_int(rows, 4), ack = 0, res = 0;
		bool has_ack = jv_str(t, "acknowledged_at") && !time_parse_rfc3339(jv_str(t, "acknowledged_at"), &ack);
		bool has_res = jv_str(t, "resolved_at") && !time_parse_rfc3339(jv_str(t, "resolved_at"), &res);
		for (int d = 0; d < 5; d++) {
			json_t *b = bucket(dims[d], keys[d]);
			add_i(b, "tickets", 1);
			if (has_ack) {
				add_i(b, "acknowledged", 1);
				add_f(b, "_tta", (double)(ack - created) / 1000.0);
			}
			if (has_res) {
				add_i(b, "resolved", 1);
				add_f(b, "_ttr", (double)(res - created) / 1000.0);
			}
		}
		json_decref(t);
	}
	store_rows_free(rows);
	/* Clocks: met = stopped without breach; a breach counts whether or not the clock has stopped. */
	buf_reset(&sql);
	buf_puts(&sql, "SELECT ticket, account, severity, group_name, breached, stop_at FROM sla_clocks WHERE 1=1");
	auth_account_filter(r, PERM_READ, "account", &sql);
	if (acc)
		buf_puts(&sql, " AND account = $1");
	rc = store_query(req_db(r), buf_str(&sql), acc ? args : NULL, acc ? 1 : 0, &rows);
	buf_release(&sql);
	if (!rc) {
		while (store_next(rows) == 1) {
			const char *month = jv_str(month_of_ticket, store_text(rows, 0));
			if (!month)
				continue; /* outside the time range */
			bool breached = store_int(rows, 4) != 0, stopped = !store_isnull(rows, 5);
			const char *keys[5] = { "all", store_text(rows, 1), store_text(rows, 2), store_text(rows, 3), month };
			for (int d = 0; d < 5; d++) {
				json_t *b = bucket(dims[d], keys[d]);
				if (breached)
					add_i(b, "breaches", 1);
				else if (stopped)
					add_i(b, "clocks_met", 1);
			}
		}
		store_rows_free(rows);
	}
	json_decref(month_of_ticket);
	json_t *out = json_object();
	for (int d = 0; d < 5; d++) {
		const char *key;
		json_t *b;
		json_object_foreach(dims[d], key, b) finish(b);
		if (d == 0) {
			json_t *all = json_object_get(dims[0], "all");
			json_object_set(out, "overall", all ? all : bucket(dims[0], "all"));
			if (!all)
				finish(json_object_get(dims[0], "all"));
			json_decref(dims[0]);
		} else {
			json_object_set_new(out, dim_names[d], dims[d]);
		}
	}
	return req_json(r, 200, out);
}

/* ---- test clock ---- */

static int h_test_clock(struct req *r)
{
	const char *on = getenv("FLYWHEEL_TEST_CLOCK");
	if (!on || strcmp(on, "1"))
		return req_fail(r, 404, "not_found", "the test clock is off; start the daemon with FLYWHEEL_TEST_CLOCK=1");
	if (!auth_global(r, PERM_ADMIN))
		return req_fail(r, 403, "forbidden", "only a global admin may move the clock");
	json_t *body;
	int rc = req_body_json(r, false, &body);
	if (rc)
		return rc;
	int64_t ms = 0;
	const char *adv = jv_str(body, "advance");
	if (!adv || time_parse_duration(adv, &ms) || ms < 0) {
		json_decref(body);
		return req_fail(r, 422, "invalid_field", "give 'advance' as a duration like \"90m\"");
	}
	time_set_offset_ms(time_offset_ms() + ms);
	json_decref(body);
	sla_sched_wake();
	ntf_wake(NULL);
	char ts[32];
	time_fmt_ms(time_now_ms(), ts, sizeof(ts));
	return req_json(r, 200, json_pack("{s:s,s:I}", "now", ts, "offset_ms", (json_int_t)time_offset_ms()));
}

const struct route api_sla_routes[] = {
	{ "GET", "/api/v1/sla-policies", h_def_list, 0 },
	{ "POST", "/api/v1/sla-policies", h_def_create, 0 },
	{ "GET", "/api/v1/sla-policies/{id}", h_def_get, 0 },
	{ "PUT", "/api/v1/sla-policies/{id}", h_def_put, 0 },
	{ "DELETE", "/api/v1/sla-policies/{id}", h_def_delete, 0 },
	{ "GET", "/api/v1/escalation-policies", h_def_list, 0 },
	{ "POST", "/api/v1/escalation-policies", h_def_create, 0 },
	{ "GET", "/api/v1/escalation-policies/{id}", h_def_get, 0 },
	{ "PUT", "/api/v1/escalation-policies/{id}", h_def_put, 0 },
	{ "DELETE", "/api/v1/escalation-policies/{id}", h_def_delete, 0 },
	{ "GET", "/api/v1/schedules", h_def_list, 0 },
	{ "POST", "/api/v1/schedules", h_def_create, 0 },
	{ "GET", "/api/v1/schedules/{id}", h_def_get, 0 },
	{ "PUT", "/api/v1/schedules/{id}", h_def_put, 0 },
	{ "DELETE", "/api/v1/schedules/{id}", h_def_delete, 0 },
	{ "GET", "/api/v1/schedules/{id}/oncall", h_oncall, 0 },
	{ "GET", "/api/v1/schedules/{id}/gaps", h_gaps, 0 },
	{ "GET", "/api/v1/tickets/{id}/sla", h_ticket_sla, 0 },
	{ "GET", "/api/v1/kpis/sla", h_kpis, 0 },
	{ "POST", "/api/v1/test/clock", h_test_clock, 0 },
	{ NULL, NULL, NULL, 0 },
};
