/* Native event API: /api/v1/events, /alarms, /silences, /maintenance-windows, /rules, /kpis/noise,
 * /integrations, and the helpers the compatible event APIs share (api/events.h). */
#include "api/events.h"
#include "api/api.h"
#include "audit/audit.h"
#include "events/engine.h"
#include "events/rules.h"
#include "http/auth.h"
#include "http/req.h"
#include "http/router.h"
#include "http/server.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/timeutil.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- auth ---- */

/* The compatible APIs take the same tokens as the rest of the API, also as the password of HTTP
 * basic auth (amtool puts credentials in the URL). Credentials and account parents are cached by
 * http/auth.c, invalidated when tokens or bindings change. */
int evt_api_auth(struct req *r)
{
	return req_authenticate(r, true);
}

unsigned evt_api_perms(struct req *r, const char *account)
{
	return account && api_account_id_ok(account) ? auth_perms(r, account) : 0;
}

bool evt_api_readable(const char *account, void *arg)
{
	return (evt_api_perms(arg, account) & PERM_READ) != 0;
}

int evt_api_event_account(struct req *r, const char *named, char out[16], struct fw_error *e)
{
	if (named && *named) {
		if (!api_account_id_ok(named))
			return fw_fail(e, 422, "invalid_account", "account '%.40s' must be a 12-digit account id", named);
		unsigned p = evt_api_perms(r, named);
		if (!(p & PERM_READ))
			return fw_fail(e, 404, "not_found", "account %s not found", named);
		if (!(p & PERM_SUBMIT))
			return fw_fail(e, 403, "forbidden", "the token may not submit events for account %s", named);
		snprintf(out, 16, "%s", named);
		return 0;
	}
	bool bound = false;
	for (size_t i = 0; r->auth && i < r->auth->nbindings; i++) {
		const struct auth_binding *b = &r->auth->bindings[i];
		if (strcmp(b->account, "*") && (auth_role_perms(b->role) & PERM_SUBMIT)) {
			snprintf(out, 16, "%s", b->account);
			return 0;
		}
		bound |= strcmp(b->account, "*") != 0;
	}
	if (bound)
		return fw_fail(e, 403, "forbidden", "the token may not submit events: it needs the requester, operator or admin role");
	return fw_fail(e, 422, "account_required",
		       "the token is not bound to one account: name the account in an 'account' field or label");
}

/* ---- integrations ---- */

int evt_integration_lookup(struct req *r, const char *key, char account[16], char service[128], char type[16],
			   char **cert)
{
	char hash[65];
	if (!key || !*key || strlen(key) > 200)
		return FW_ENOTFOUND;
	crypto_sha256_hex(key, strlen(key), hash);
	struct store_rows *rows;
	int rc = store_query(req_db(r), "SELECT account, service, type, certificate FROM evt_integrations WHERE key_hash = $1",
			     SARGS(ST(hash)), &rows);
	if (rc)
		return rc;
	if (store_next(rows) != 1) {
		store_rows_free(rows);
		return FW_ENOTFOUND;
	}
	snprintf(account, 16, "%s", store_text(rows, 0));
	snprintf(service, 128, "%s", store_text(rows, 1) ? store_text(rows, 1) : "");
	snprintf(type, 16, "%s", store_text(rows, 2));
	if (cert)
		*cert = store_text(rows, 3) ? strdup(store_text(rows, 3)) : NULL;
	store_rows_free(rows);
	return 0;
}

struct intg_ctx {
	json_t *o;
	const char *hash, *actor;
	const char *cert;
};

static int intg_tx(struct store_conn *c, void *arg)
{
	struct intg_ctx *x = arg;
	int64_t n = 0;
	int rc = store_counter_next(c, "INTG", &n);
	if (rc)
		return rc;
	char id[24];
	snprintf(id, sizeof(id), "INTG-%lld", (long long)n);
	json_object_set_new(x->o, "id", json_string(id));
	rc = store_exec(c,
			"INSERT INTO evt_integrations (id, key_hash, type, account, service, certificate, created_at, created_by) "
			"VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
			SARGS(ST(id), ST(x->hash), ST(jv_str(x->o, "type")), ST(jv_str(x->o, "account")),
			      ST(jv_str(x->o, "service")), ST(x->cert), SI(time_now_ms()), ST(x->actor)),
			NULL);
	if (!rc)
		rc = audit_append(c, x->actor, jv_str(x->o, "account"), "integration.create", id, NULL, x->o);
	return rc;
}

static int h_integration_create(struct req *r)
{
	static const char *const types[] = { "pagerduty", "sns", NULL };
	static const struct jv_field f[] = {
		{ "type", JV_STRING, JV_REQUIRED, 0, types },
		{ "account", JV_STRING, JV_REQUIRED, 12, NULL },
		{ "service", JV_STRING, 0, 127, NULL },
		{ "certificate", JV_STRING, JV_NULLABLE, 16384, NULL },
		{ NULL },
	};
	json_t *body;
	struct fw_error e;
	int rc = req_body_json(r, false, &body);
	if (rc)
		return rc;
	if ((rc = jv_check(body, f, &e))) {
		json_decref(body);
		return req_fail_from(r, &e);
	}
	const char *account = jv_str(body, "account");
	if (!api_account_id_ok(account)) {
		json_decref(body);
		return req_fail(r, 422, "invalid_field", "field 'account' must be a 12-digit account id");
	}
	if ((rc = auth_require(r, account, PERM_ADMIN, "account"))) {
		json_decref(body);
		return rc;
	}
	char key[40], hash[65];
	crypto_random_hex(16, key, sizeof(key));
	crypto_sha256_hex(key, strlen(key), hash);
	json_t *o = json_pack("{s:s,s:s,s:s}", "type", jv_str(body, "type"), "account", account, "service",
			      jv_str_or(body, "service", "default"));
	struct intg_ctx x = { o, hash, api_actor(r), jv_str(body, "certificate") };
	rc = store_write(r->srv->store, intg_tx, &x);
	json_decref(body);
	if (rc) {
		json_decref(o);
		return rc;
	}
	json_object_set_new(o, "routing_key", json_string(key));
	explicit_bzero(key, sizeof(key));
	return req_json(r, 201, o);
}

static int h_integration_list(struct req *r)
{
	struct buf sql = BUF_INIT(1 << 14);
	buf_puts(&sql, "SELECT id, type, account, service, created_at, certificate IS NOT NULL FROM evt_integrations WHERE 1=1");
	if (!auth_global(r, PERM_READ)) {
		if (!auth_account_filter(r, PERM_READ, "account", &sql)) {
			buf_release(&sql);
			return req_json(r, 200, api_list(json_array(), 0));
		}
	}
	buf_puts(&sql, " ORDER BY created_at");
	struct store_rows *rows;
	int rc = store_query(req_db(r), buf_str(&sql), SNOARGS, &rows);
	buf_release(&sql);
	if (rc)
		return rc;
	json_t *items = json_array();
	while (store_next(rows) == 1) {
		char ts[32];
		time_fmt_ms(store_int(rows, 4), ts, sizeof(ts));
		json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "id", store_text(rows, 0), "type",
						       store_text(rows, 1), "account", store_text(rows, 2), "service",
						       store_text(rows, 3) ? store_text(rows, 3) : "", "created_at", ts,
						       "verifies_signatures", (int)store_int(rows, 5)));
	}
	store_rows_free(rows);
	return req_json(r, 200, api_list(items, 0));
}

/* ---- POST /api/v1/events ---- */

static const char *const statuses[] = { "firing", "resolved", NULL };
static const char *const severities[] = { "critical", "high", "medium", "low", "info", NULL };

static const struct jv_field event_fields[] = {
	{ "account", JV_STRING, JV_NULLABLE, 12, NULL },
	{ "source", JV_STRING, JV_NULLABLE, 64, NULL },
	{ "resource", JV_STRING, JV_NULLABLE, 1024, NULL },
	{ "name", JV_STRING, JV_NULLABLE, 256, NULL },
	{ "labels", JV_OBJECT, JV_NULLABLE, 0, NULL },
	{ "annotations", JV_OBJECT, JV_NULLABLE, 0, NULL },
	{ "summary", JV_STRING, JV_NULLABLE, 1024, NULL },
	{ "description", JV_STRING, JV_NULLABLE, 8192, NULL },
	{ "severity", JV_STRING, JV_NULLABLE, 0, severities },
	{ "status", JV_STRING, JV_NULLABLE, 0, statuses },
	{ "starts_at", JV_STRING, JV_NULLABLE, 40, NULL },
	{ "ends_at", JV_STRING, JV_NULLABLE, 40, NULL },
	{ NULL },
};

#define MAX_EVENTS 1000

static int parse_event(struct req *r, json_t *o, size_t i, struct evt_event *ev, json_t **annot, struct fw_error *e)
{
	int rc;
	if (!json_is_object(o))
		return fw_fail(e, 422, "invalid_type", "event %zu must be an object", i);
	if ((rc = jv_check(o, event_fields, e)))
		goto named;
	json_t *labels = json_deep_copy(json_object_get(o, "labels") ? json_object_get(o, "labels") : json_object());
	if (jv_str(o, "resource"))
		json_object_set_new(labels, "resource", json_string(jv_str(o, "resource")));
	if (jv_str(o, "name"))
		json_object_set_new(labels, "alertname", json_string(jv_str(o, "name")));
	rc = evt_labels_from_json(&ev->labels, labels, EVT_LABELS_ALERT, e);
	json_decref(labels);
	if (rc)
		goto named;
	json_t *an = json_deep_copy(json_object_get(o, "annotations") ? json_object_get(o, "annotations") : json_object());
	if (jv_str(o, "summary"))
		json_object_set_new(an, "summary", json_string(jv_str(o, "summary")));
	if (jv_str(o, "description"))
		json_object_set_new(an, "description", json_string(jv_str(o, "description")));
	struct evt_labels chk = EVT_LABELS_INIT;
	rc = evt_labels_from_json(&chk, an, EVT_LABELS_ANNOTATIONS, e);
	evt_labels_release(&chk);
	*annot = an;
	if (rc)
		goto named;
	if ((rc = evt_api_event_account(r, jv_str(o, "account"), ev->account, e)))
		goto named;
	const char *s = jv_str(o, "starts_at"), *en = jv_str(o, "ends_at");
	if (s && time_parse_rfc3339(s, &ev->starts_at)) {
		rc = fw_fail(e, 422, "invalid_field", "field 'starts_at' must be an RFC 3339 time");
		goto named;
	}
	if (en && time_parse_rfc3339(en, &ev->ends_at)) {
		rc = fw_fail(e, 422, "invalid_field", "field 'ends_at' must be an RFC 3339 time");
		goto named;
	}
	if (ev->starts_at && ev->ends_at && ev->ends_at < ev->starts_at) {
		rc = fw_fail(e, 422, "invalid_field", "ends_at must not be before starts_at");
		goto named;
	}
	const char *st = jv_str(o, "status");
	if (st && !strcmp(st, "resolved") && (!ev->ends_at || ev->ends_at > time_now_ms()))
		ev->ends_at = time_now_ms();
	if (st && !strcmp(st, "firing") && ev->ends_at && ev->ends_at <= time_now_ms())
		ev->ends_at = 0;
	ev->severity = jv_str(o, "severity");
	ev->source = "native";
	ev->annotations = an;
	return 0;
named:
	if (rc && e) {
		char m[sizeof(e->message) + 32];
		snprintf(m, sizeof(m), "event %zu: %s", i, e->message);
		memcpy(e->message, m, sizeof(e->message) - 1);
		e->message[sizeof(e->message) - 1] = '\0';
	}
	return rc;
}

static json_t *result_json(const struct evt_result *res, const char *account)
{
	char f[EVT_FINGERPRINT_LEN + 1];
	evt_fingerprint_format(res->fp, f);
	json_t *o = json_pack("{s:s,s:s,s:s}", "account", account, "fingerprint", f, "status", res->state);
	json_object_set_new(o, "incident", res->incident[0] ? json_string(res->incident) : json_null());
	json_object_set_new(o, "suppressed", res->suppressed[0] ? json_string(res->suppressed) : json_null());
	return o;
}

static int h_events_post(struct req *r)
{
	json_t *body;
	struct fw_error e;
	int rc = req_body_json(r, true, &body);
	if (rc)
		return rc;
	json_t *arr = json_is_array(body) ? body : NULL;
	size_t n = arr ? json_array_size(arr) : 1;
	if (n > MAX_EVENTS) {
		json_decref(body);
		return req_fail(r, 413, "too_many_events", "a request may carry at most %d events; got %zu", MAX_EVENTS, n);
	}
	struct evt_event *ev = calloc(n + 1, sizeof(*ev));
	json_t **an = calloc(n + 1, sizeof(json_t *));
	struct evt_result *res = calloc(n + 1, sizeof(*res));
	/* All or nothing: the whole request is validated before anything is applied. */
	for (size_t i = 0; i < n && !rc; i++) {
		rc = parse_event(r, arr ? json_array_get(arr, i) : body, i, &ev[i], &an[i], &e);
		if (rc)
			req_fail_from(r, &e);
	}
	if (!rc && n)
		rc = evt_ingest(ev, n, api_actor(r), res);
	if (!rc) {
		json_t *items = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(items, result_json(&res[i], ev[i].account));
		req_json(r, 202, json_pack("{s:o}", "items", items));
	}
	for (size_t i = 0; i < n; i++) {
		evt_labels_release(&ev[i].labels);
		json_decref(an[i]);
	}
	free(ev);
	free(an);
	free(res);
	json_decref(body);
	return rc;
}

/* ---- alarms ---- */

static json_t *alarm_json(const struct evt_alarm_view *v)
{
	char f[EVT_FINGERPRINT_LEN + 1], a[32], b[32], c[32], d[32];
	evt_fingerprint_format(v->fp, f);
	time_fmt_ms(v->starts_at, a, sizeof(a));
	time_fmt_ms(v->ends_at, b, sizeof(b));
	time_fmt_ms(v->updated_at, c, sizeof(c));
	time_fmt_ms(v->first_seen, d, sizeof(d));
	json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:O,s:s,s:s,s:s,s:i,s:s}", "account", v->account, "fingerprint", f,
			      "status", v->firing ? "firing" : "resolved", "labels", evt_labels_to_json(&v->labels),
			      "annotations", v->annotations, "starts_at", a, "last_seen", c, "first_seen", d, "count",
			      (int)v->count, "rule", v->rule);
	json_object_set_new(o, "ends_at", v->ends_at ? json_string(b) : json_null());
	json_object_set_new(o, "severity", v->severity[0] ? json_string(v->severity) : json_null());
	json_object_set_new(o, "source", json_string(v->source));
	char inc[24];
	snprintf(inc, sizeof(inc), "INC-%u", v->incident);
	json_object_set_new(o, "incident", v->incident ? json_string(inc) : json_null());
	json_t *s = json_array();
	if (v->flags & EVT_AF_FLAPPING)
		json_array_append_new(s, json_string("flapping"));
	if (v->flags & EVT_AF_NONIMPACT)
		json_array_append_new(s, json_string("non_impacting"));
	if (json_array_size(v->silenced_by))
		json_array_append_new(s, json_string("silenced"));
	if (json_array_size(v->inhibited_by))
		json_array_append_new(s, json_string("inhibited"));
	if (v->in_maintenance)
		json_array_append_new(s, json_string("maintenance"));
	json_object_set_new(o, "suppressed_by", s);
	json_object_set_new(o, "flapping", json_boolean(v->flags & EVT_AF_FLAPPING));
	json_object_set(o, "silenced_by", v->silenced_by);
	json_object_set(o, "inhibited_by", v->inhibited_by);
	return o;
}

struct vis {
	struct req *r;
	const char *account;
};

static bool visible_one(const char *account, void *arg)
{
	struct vis *v = arg;
	if (v->account && strcmp(v->account, account))
		return false;
	return evt_api_readable(account, v->r);
}

static int h_alarms_list(struct req *r)
{
	struct evt_matchers ms = EVT_MATCHERS_INIT;
	struct fw_error e;
	const char *f = req_arg(r, "filter"), *st = req_arg(r, "status");
	if (f && evt_matchers_parse(&ms, f, &e))
		return req_fail_from(r, &e);
	if (st && strcmp(st, "firing") && strcmp(st, "resolved") && strcmp(st, "all")) {
		evt_matchers_release(&ms);
		return req_fail(r, 422, "invalid_parameter", "status must be firing, resolved or all");
	}
	int limit;
	int64_t cursor;
	int rc = api_page(r, 100, 10000, &limit, &cursor);
	if (rc) {
		evt_matchers_release(&ms);
		return rc;
	}
	struct vis v = { r, req_arg(r, "account") };
	struct evt_alarm_view *al;
	size_t n;
	rc = evt_alarms_list(visible_one, &v, &ms, !st || !strcmp(st, "firing"), &al, &n);
	evt_matchers_release(&ms);
	if (rc)
		return req_fail(r, 500, "internal", "out of memory listing the alarms");
	json_t *items = json_array();
	size_t skipped = 0;
	int64_t next = 0;
	for (size_t i = 0; i < n; i++) {
		if (st && !strcmp(st, "resolved") && al[i].firing)
			continue;
		if ((!st || !strcmp(st, "firing")) && !al[i].firing)
			continue;
		if ((int64_t)skipped++ < cursor)
			continue;
		if ((int)json_array_size(items) == limit) {
			next = cursor + limit;
			break;
		}
		json_array_append_new(items, alarm_json(&al[i]));
	}
	evt_alarm_views_free(al, n);
	return req_json(r, 200, api_list(items, next));
}

static int h_alarm_get(struct req *r)
{
	uint64_t fp;
	if (evt_fingerprint_parse(req_param(r, 0), &fp))
		return req_fail(r, 404, "not_found", "alarm %.40s not found", req_param(r, 0));
	struct evt_alarm_view *al;
	struct vis v = { r, req_arg(r, "account") };
	/* A direct lookup: listing every visible alarm to find one held the engine's lock for as long
	 * as copying a million alarms takes. */
	if (!(al = calloc(1, sizeof(*al))))
		return FW_ENOMEM;
	if (evt_alarm_find_visible(fp, visible_one, &v, al)) {
		free(al);
		return req_fail(r, 404, "not_found", "alarm %.40s not found", req_param(r, 0));
	}
	json_t *o = alarm_json(al);
	evt_alarm_views_free(al, 1);
	return req_json(r, 200, o);
}

/* ---- silences ---- */

static json_t *silence_json(const struct evt_silence_view *s)
{
	char a[32], b[32], c[32];
	time_fmt_ms(s->starts_at, a, sizeof(a));
	time_fmt_ms(s->ends_at, b, sizeof(b));
	time_fmt_ms(s->updated_at, c, sizeof(c));
	return json_pack("{s:s,s:s,s:O,s:s,s:s,s:s,s:s,s:s,s:s}", "id", s->id, "account", s->account, "matchers",
			 s->matchers, "starts_at", a, "ends_at", b, "updated_at", c, "created_by", s->created_by,
			 "comment", s->comment, "status", s->state);
}

static int h_silences_list(struct req *r)
{
	struct evt_silence_view *v;
	size_t n;
	struct vis vi = { r, req_arg(r, "account") };
	evt_silences_list(visible_one, &vi, &v, &n);
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, silence_json(&v[i]));
	evt_silence_views_free(v, n);
	return req_json(r, 200, api_list(items, 0));
}

static int h_silence_create(struct req *r)
{
	static const struct jv_field f[] = {
		{ "account", JV_STRING, JV_NULLABLE, 12, NULL },
		{ "matchers", JV_ANY, JV_REQUIRED, 0, NULL },
		{ "starts_at", JV_STRING, JV_NULLABLE, 40, NULL },
		{ "ends_at", JV_STRING, JV_NULLABLE, 40, NULL },
		{ "duration", JV_STRING, JV_NULLABLE, 40, NULL },
		{ "comment", JV_STRING, JV_REQUIRED | JV_NONEMPTY, 4000, NULL },
		{ "created_by", JV_STRING, JV_NULLABLE, 200, NULL },
		{ NULL },
	};
	json_t *body;
	struct fw_error e;
	char account[16], id[40];
	int rc = req_body_json(r, false, &body);
	if (rc)
		return rc;
	if ((rc = jv_check(body, f, &e)) || (rc = evt_api_event_account(r, jv_str(body, "account"), account, &e)))
		goto fail;
	if (!(evt_api_perms(r, account) & PERM_WORK)) {
		rc = fw_fail(&e, 403, "forbidden", "creating silences needs the operator role on account %s", account);
		goto fail;
	}
	int64_t now = time_now_ms(), st = now, en = 0, dur = 0;
	if (jv_str(body, "starts_at") && time_parse_rfc3339(jv_str(body, "starts_at"), &st)) {
		rc = fw_fail(&e, 422, "invalid_field", "field 'starts_at' must be an RFC 3339 time");
		goto fail;
	}
	if (jv_str(body, "ends_at") && time_parse_rfc3339(jv_str(body, "ends_at"), &en)) {
		rc = fw_fail(&e, 422, "invalid_field", "field 'ends_at' must be an RFC 3339 time");
		goto fail;
	}
	if (jv_str(body, "duration") && (time_parse_duration(jv_str(body, "duration"), &dur) || dur <= 0)) {
		rc = fw_fail(&e, 422, "invalid_field", "field 'duration' must be a duration like \"2h\"");
		goto fail;
	}
	if (!en)
		en = st + (dur ? dur : 3600000);
	struct evt_matchers ms = EVT_MATCHERS_INIT;
	if ((rc = evt_matchers_from_any(&ms, json_object_get(body, "matchers"), &e)))
		goto fail;
	json_t *mj = evt_matchers_to_json(&ms);
	evt_matchers_release(&ms);
	rc = evt_silence_put(account, NULL, mj, st, en, jv_str_or(body, "created_by", api_actor(r)), jv_str(body, "comment"),
			     api_actor(r), id, &e);
	json_decref(mj);
	if (rc)
		goto fail;
	json_decref(body);
	struct evt_silence_view v;
	if (evt_silence_get(id, &v))
		return req_fail(r, 500, "internal", "the silence vanished");
	json_t *o = silence_json(&v);
	json_decref(v.matchers);
	free(v.created_by);
	free(v.comment);
	return req_json(r, 201, o);
fail:
	json_decref(body);
	return rc == FW_ESTORE ? rc : req_fail_from(r, &e);
}

static int h_silence_get(struct req *r)
{
	struct evt_silence_view v;
	if (evt_silence_get(req_param(r, 0), &v))
		return req_fail(r, 404, "not_found", "silence %.40s not found", req_param(r, 0));
	bool ok = evt_api_readable(v.account, r);
	json_t *o = ok ? silence_json(&v) : NULL;
	json_decref(v.matchers);
	free(v.created_by);
	free(v.comment);
	if (!ok)
		return req_fail(r, 404, "not_found", "silence %.40s not found", req_param(r, 0));
	return req_json(r, 200, o);
}

static bool workable(const char *account, void *arg)
{
	return (evt_api_perms(arg, account) & PERM_WORK) != 0;
}

static int h_silence_delete(struct req *r)
{
	int rc = evt_silence_expire(req_param(r, 0), workable, r, api_actor(r));
	if (rc == FW_ENOTFOUND)
		return req_fail(r, 404, "not_found", "silence %.40s not found", req_param(r, 0));
	if (rc)
		return rc;
	return req_raw(r, 204, "application/json", "", 0);
}

/* ---- maintenance windows ---- */

static int h_windows_list(struct req *r)
{
	int64_t now = time_now_ms(), from = now, to = now + 7 * 86400000LL;
	bool has;
	int rc = api_time_arg(r, "from", &from, &has);
	if (!rc)
		rc = api_time_arg(r, "to", &to, &has);
	if (rc)
		return rc;
	if (to < from || to - from > 366 * 86400000LL)
		return req_fail(r, 422, "invalid_parameter", "to must be after from, at most 366 days later");
	struct vis v = { r, req_arg(r, "account") };
	return req_json(r, 200, api_list(evt_windows_list(visible_one, &v, from / 1000, to / 1000), 0));
}

static int h_window_create(struct req *r)
{
	json_t *body, *out = NULL;
	struct fw_error e;
	char account[16];
	int rc = req_body_json(r, false, &body);
	if (rc)
		return rc;
	if ((rc = evt_api_event_account(r, jv_str(body, "account"), account, &e)))
		goto fail;
	if (!(evt_api_perms(r, account) & PERM_WORK)) {
		rc = fw_fail(&e, 403, "forbidden", "maintenance windows need the operator role on account %s", account);
		goto fail;
	}
	static const char *const keys[] = { "account", "name", "matchers", "timezone", "days", "start", "cron",
					    "duration", NULL };
	const char *k;
	json_t *v;
	json_object_foreach(body, k, v) {
		if (!jv_in(k, keys)) {
			rc = fw_fail(&e, 422, "unknown_field", "unknown field '%s'", k);
			goto fail;
		}
	}
	if ((rc = evt_window_create(account, body, api_actor(r), &out, &e)))
		goto fail;
	json_decref(body);
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/maintenance-windows/%s", jv_str(out, "id"));
	req_header(r, "Location", loc);
	return req_json(r, 201, out);
fail:
	json_decref(body);
	return rc == FW_ESTORE ? rc : req_fail_from(r, &e);
}

static int h_window_get(struct req *r)
{
	int64_t now = time_now_ms(), from = now, to = now + 30 * 86400000LL;
	bool has;
	int rc = api_time_arg(r, "from", &from, &has);
	if (!rc)
		rc = api_time_arg(r, "to", &to, &has);
	if (rc)
		return rc;
	struct vis v = { r, NULL };
	json_t *all = evt_windows_list(visible_one, &v, from / 1000, to / 1000);
	size_t i;
	json_t *w;
	json_array_foreach(all, i, w) {
		if (!strcmp(jv_str_or(w, "id", ""), req_param(r, 0))) {
			json_incref(w);
			json_decref(all);
			return req_json(r, 200, w);
		}
	}
	json_decref(all);
	return req_fail(r, 404, "not_found", "maintenance window %.40s not found", req_param(r, 0));
}

static int h_window_delete(struct req *r)
{
	int rc = evt_window_delete(req_param(r, 0), workable, r, api_actor(r));
	if (rc == FW_ENOTFOUND)
		return req_fail(r, 404, "not_found", "maintenance window %.40s not found", req_param(r, 0));
	if (rc)
		return rc;
	return req_raw(r, 204, "application/json", "", 0);
}

/* ---- rules ---- */

static int h_rules_list(struct req *r)
{
	return req_json(r, 200, evt_rules_json());
}

static int rule_put(struct req *r, const char *name)
{
	if (!auth_global(r, PERM_ADMIN))
		return req_fail(r, 403, "forbidden", "managing rules needs the admin role on every account");
	json_t *body;
	struct fw_error e;
	int rc = req_body_json(r, false, &body);
	if (rc)
		return rc;
	const char *kind = jv_str_or(body, "kind", "rule");
	bool inhibit = !strcmp(kind, "inhibit");
	json_object_del(body, "kind");
	if (name) {
		const char *bn = jv_str(body, "name");
		if (bn && strcmp(bn, name)) {
			json_decref(body);
			return req_fail(r, 422, "invalid_field", "field 'name' must match the path (%s)", name);
		}
		json_object_set_new(body, "name", json_string(name));
	}
	rc = evt_rule_put(body, inhibit, "api", api_actor(r), &e);
	if (rc) {
		json_decref(body);
		return rc == FW_ESTORE ? rc : req_fail_from(r, &e);
	}
	json_object_set_new(body, "kind", json_string(inhibit ? "inhibit" : "rule"));
	return req_json(r, name ? 200 : 201, body);
}

static int h_rule_create(struct req *r)
{
	return rule_put(r, NULL);
}

static int h_rule_put(struct req *r)
{
	return rule_put(r, req_param(r, 0));
}

static int h_rule_delete(struct req *r)
{
	if (!auth_global(r, PERM_ADMIN))
		return req_fail(r, 403, "forbidden", "managing rules needs the admin role on every account");
	int rc = evt_rule_delete(req_param(r, 0), api_actor(r));
	if (rc == FW_ENOTFOUND)
		return req_fail(r, 404, "not_found", "rule %.64s not found", req_param(r, 0));
	if (rc)
		return rc;
	return req_raw(r, 204, "application/json", "", 0);
}

/* ---- KPIs ---- */

static int h_kpi_noise(struct req *r)
{
	char from[16], to[16];
	time_t now = (time_t)(time_now_ms() / 1000);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(to, sizeof(to), "%Y-%m-%d", &tm);
	time_t start = now - 29 * 86400;
	gmtime_r(&start, &tm);
	strftime(from, sizeof(from), "%Y-%m-%d", &tm);
	const char *f = req_arg(r, "from"), *t = req_arg(r, "to");
	for (int i = 0; i < 2; i++) {
		const char *v = i ? t : f;
		if (!v)
			continue;
		int y, m, d;
		char tail;
		if (strlen(v) < 10 || sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &tail) < 3 || m < 1 || m > 12 || d < 1 || d > 31)
			return req_fail(r, 422, "invalid_parameter", "%s must be a date like 2026-01-31", i ? "to" : "from");
		snprintf(i ? to : from, 16, "%.10s", v);
	}
	struct vis v = { r, req_arg(r, "account") };
	json_t *items = evt_kpi_noise(visible_one, &v, from, to);
	return req_json(r, 200, json_pack("{s:s,s:s,s:o}", "from", from, "to", to, "items", items));
}

/* ---- change events (PagerDuty change/enqueue) ---- */

static int h_changes_list(struct req *r)
{
	int limit;
	int64_t cursor;
	int rc = api_page(r, 100, 1000, &limit, &cursor);
	if (rc)
		return rc;
	struct buf sql = BUF_INIT(1 << 14);
	buf_puts(&sql, "SELECT seq, account, at, source, summary, payload FROM evt_changes WHERE 1=1");
	if (!auth_global(r, PERM_READ)) {
		if (!auth_account_filter(r, PERM_READ, "account", &sql)) {
			buf_release(&sql);
			return req_json(r, 200, api_list(json_array(), 0));
		}
	}
	const char *acct = req_arg(r, "account");
	buf_puts(&sql, " AND ($1 = '' OR account = $1) AND ($2 = 0 OR seq < $2) ORDER BY seq DESC LIMIT $3");
	struct store_rows *rows;
	rc = store_query(req_db(r), buf_str(&sql), SARGS(ST(acct ? acct : ""), SI(cursor), SI(limit + 1)), &rows);
	buf_release(&sql);
	if (rc)
		return rc;
	json_t *items = json_array();
	int64_t next = 0, last = 0;
	while (store_next(rows) == 1) {
		if ((int)json_array_size(items) == limit) {
			next = last;
			break;
		}
		last = store_int(rows, 0);
		char ts[32];
		time_fmt_ms(store_int(rows, 2), ts, sizeof(ts));
		json_error_t je;
		json_t *p = json_loads(store_text(rows, 5), 0, &je);
		json_array_append_new(items, json_pack("{s:I,s:s,s:s,s:s,s:s,s:o}", "seq", (json_int_t)last, "account",
						       store_text(rows, 1), "at", ts, "source",
						       store_text(rows, 3) ? store_text(rows, 3) : "", "summary",
						       store_text(rows, 4), "payload", p ? p : json_null()));
	}
	store_rows_free(rows);
	return req_json(r, 200, api_list(items, next));
}

const struct route api_event_routes[] = {
	{ "POST", "/api/v1/events", h_events_post, 0 },
	{ "GET", "/api/v1/events/changes", h_changes_list, 0 },
	{ "GET", "/api/v1/alarms", h_alarms_list, 0 },
	{ "GET", "/api/v1/alarms/{fingerprint}", h_alarm_get, 0 },
	{ "GET", "/api/v1/silences", h_silences_list, 0 },
	{ "POST", "/api/v1/silences", h_silence_create, 0 },
	{ "GET", "/api/v1/silences/{id}", h_silence_get, 0 },
	{ "DELETE", "/api/v1/silences/{id}", h_silence_delete, 0 },
	{ "GET", "/api/v1/maintenance-windows", h_windows_list, 0 },
	{ "POST", "/api/v1/maintenance-windows", h_window_create, 0 },
	{ "GET", "/api/v1/maintenance-windows/{id}", h_window_get, 0 },
	{ "DELETE", "/api/v1/maintenance-windows/{id}", h_window_delete, 0 },
	{ "GET", "/api/v1/rules", h_rules_list, 0 },
	{ "POST", "/api/v1/rules", h_rule_create, 0 },
	{ "PUT", "/api/v1/rules/{name}", h_rule_put, 0 },
	{ "DELETE", "/api/v1/rules/{name}", h_rule_delete, 0 },
	{ "GET", "/api/v1/kpis/noise", h_kpi_noise, 0 },
	{ "POST", "/api/v1/integrations", h_integration_create, 0 },
	{ "GET", "/api/v1/integrations", h_integration_list, 0 },
	{ NULL, NULL, NULL, 0 },
};
