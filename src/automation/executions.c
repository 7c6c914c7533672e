/* Queueing executions: inputs, safety rails, triggers from alarms and incidents, dry runs, and the
 * import of runbooks.d. Everything here runs inside a store_write (or reads); the engine
 * (supervisor.c) picks queued executions up after commit. */
#include "automation/automation.h"
#include "automation/runbook.h"
#include "automation/template.h"
#include "audit/audit.h"
#include "store/store.h"
#include "tickets/tkt_store.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rb_alarm_resolver resolver;

void rb_set_alarm_resolver(rb_alarm_resolver fn)
{
	resolver = fn;
}

/* Exposed to supervisor.c through this declaration only. */
rb_alarm_resolver rb__resolver(void);
rb_alarm_resolver rb__resolver(void)
{
	return resolver;
}

int rb_spec_load(struct store_conn *c, const char *name, int64_t version, json_t **spec, int64_t *version_out)
{
	struct store_rows *rows;
	int rc = version > 0 ? store_query(c, "SELECT version, spec FROM rb_runbooks WHERE name = $1 AND version = $2",
					   SARGS(ST(name), SI(version)), &rows)
			     : store_query(c,
					   "SELECT version, spec FROM rb_runbooks WHERE name = $1 AND deleted = 0 "
					   "ORDER BY version DESC LIMIT 1",
					   SARGS(ST(name)), &rows);
	if (rc)
		return rc;
	rc = FW_ENOTFOUND;
	if (store_next(rows) == 1) {
		*spec = json_loads(store_text(rows, 1), 0, NULL);
		if (version_out)
			*version_out = store_int(rows, 0);
		rc = *spec ? 0 : FW_ESTORE;
	}
	store_rows_free(rows);
	return rc;
}

bool rb_kill_switch(struct store_conn *c)
{
	char *v = NULL;
	bool on = !store_query_str(c, "SELECT value FROM rb_settings WHERE name = 'kill_switch'", SNOARGS, &v) && v &&
		  !strcmp(v, "on");
	free(v);
	return on;
}

static int refuse(struct store_conn *c, const struct rb_request *rq, const char *rail, struct fw_error *e, int status,
		  const char *code, const char *msg)
{
	json_t *d = json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:s}", "runbook", rq->runbook, "rail", rail, "trigger", rq->trigger,
			      "resource", rq->resource, "ticket", rq->ticket, "reason", msg);
	int rc = audit_append(c, rq->actor, rq->account, "rail.refused", rq->runbook, NULL, d);
	json_decref(d);
	if (rc)
		return rc;
	return fw_fail(e, status, code, "%s", msg);
}

static int count(struct store_conn *c, const char *sql, const struct store_arg *args, int n)
{
	int64_t v = 0;
	store_query_int(c, sql, args, n, &v);
	return (int)v;
}

#define ACTIVE "('queued','running','waiting_approval','rolling_back')"

int rb_execution_queue(struct store_conn *c, const struct rb_request *rq, char *id, struct fw_error *e)
{
	json_t *spec = NULL, *inputs = NULL, *data = NULL;
	int64_t version = 0, now = time_now_ms();
	char msg[400];
	int rc = rb_spec_load(c, rq->runbook, 0, &spec, &version);
	if (rc == FW_ENOTFOUND)
		return fw_fail(e, 404, "not_found", "runbook %.64s not found", rq->runbook);
	if (rc)
		return rc;
	const char *racc = jv_str(spec, "account");
	const char *account = racc ? racc : rq->account;
	struct rb_request r2 = *rq;
	r2.account = account;
	if ((rc = rb_inputs_resolve(spec, rq->inputs, &inputs, e)))
		goto out;
	/* Rails, cheapest first. Each refusal is audited (the caller keeps this write). */
	if (rb_kill_switch(c)) {
		rc = refuse(c, &r2, "kill_switch", e, 423, "automation_disabled",
			    "the automation kill switch is on; no runbook runs until an admin turns it off "
			    "(PUT /api/v1/automation/kill-switch {\"enabled\":false})");
		goto out;
	}
	if (strcmp(rq->trigger, "manual") && strcmp(rq->trigger, "change")) {
		int64_t open = 0;
		store_query_int(c, "SELECT open FROM rb_breakers WHERE runbook = $1", SARGS(ST(rq->runbook)), &open);
		if (open) {
			snprintf(msg, sizeof(msg),
				 "the circuit breaker of runbook %s is open after repeated failures; an operator resets it "
				 "with POST /api/v1/runbooks/%s/breaker/reset",
				 rq->runbook, rq->runbook);
			rc = refuse(c, &r2, "circuit_breaker", e, 409, "circuit_open", msg);
			goto out;
		}
	}
	json_t *rl = json_object_get(spec, "rate_limit");
	if (rl) {
		int64_t window = json_integer_value(json_object_get(rl, "window_ms"));
		int max = (int)json_integer_value(json_object_get(rl, "max"));
		int n = count(c, "SELECT COUNT(*) FROM rb_executions WHERE runbook = $1 AND created_at > $2",
			      SARGS(ST(rq->runbook), SI(now - window)));
		if (n >= max) {
			snprintf(msg, sizeof(msg), "runbook %s ran %d times in the last %llds; its rate limit is %d per window",
				 rq->runbook, n, (long long)(window / 1000), max);
			rc = refuse(c, &r2, "rate_limit", e, 429, "rate_limited", msg);
			goto out;
		}
	}
	int conc = (int)json_integer_value(json_object_get(spec, "concurrency"));
	int active = count(c, "SELECT COUNT(*) FROM rb_executions WHERE runbook = $1 AND status IN " ACTIVE,
			   SARGS(ST(rq->runbook)));
	if (conc > 0 && active >= conc) {
		snprintf(msg, sizeof(msg), "runbook %s already has %d execution%s in progress; its concurrency limit is %d",
			 rq->runbook, active, active == 1 ? "" : "s", conc);
		rc = refuse(c, &r2, "concurrency", e, 429, "concurrency_limit", msg);
		goto out;
	}
	if (rq->resource && *rq->resource &&
	    count(c, "SELECT COUNT(*) FROM rb_executions WHERE runbook = $1 AND resource = $2 AND status IN " ACTIVE,
		  SARGS(ST(rq->runbook), ST(rq->resource))) > 0) {
		snprintf(msg, sizeof(msg), "runbook %s is already working on resource %.200s", rq->runbook, rq->resource);
		rc = refuse(c, &r2, "resource_concurrency", e, 429, "concurrency_limit", msg);
		goto out;
	}

	int64_t num = 0;
	if ((rc = store_counter_next(c, "EXE", &num)))
		goto out;
	snprintf(id, 32, "EXE-%lld", (long long)num);
	data = json_pack("{s:O,s:{},s:[],s:s,s:i,s:b,s:I}", "inputs", inputs, "context", "steps", "phase", "main",
			 "index", 0, "prevent_incident", rq->prevent_incident, "manual_minutes",
			 json_integer_value(json_object_get(spec, "manual_minutes")));
	if (rq->alarm)
		json_object_set(json_object_get(data, "context"), "alarm", (json_t *)rq->alarm);
	char *ds = json_dumps(data, JSON_COMPACT);
	rc = store_exec(c,
			"INSERT INTO rb_executions (id, seq, runbook, version, account, status, trigger, resource, ticket,"
			" alarm, created_by, created_at, not_before, data) "
			"VALUES ($1,$2,$3,$4,$5,'queued',$6,$7,$8,$9,$10,$11,$12,$13)",
			SARGS(ST(id), SI(num), ST(rq->runbook), SI(version), ST(account), ST(rq->trigger), ST(rq->resource),
			      ST(rq->ticket), ST(rq->alarm ? jv_str(rq->alarm, "fingerprint") : NULL), ST(rq->actor),
			      SI(now), rq->not_before ? SI(rq->not_before) : SN, ST(ds)),
			NULL);
	free(ds);
	if (!rc) {
		json_t *a = json_pack("{s:s,s:I,s:s,s:O,s:s?,s:s?}", "runbook", rq->runbook, "version", (json_int_t)version,
				      "trigger", rq->trigger, "inputs", inputs, "ticket", rq->ticket, "resource",
				      rq->resource);
		rc = audit_append(c, rq->actor, account, "execution.create", id, NULL, a);
		json_decref(a);
	}
	if (!rc)
		rc = store_after_commit(c, rb_engine_wake, NULL);
out:
	json_decref(data);
	json_decref(inputs);
	json_decref(spec);
	return rc;
}

/* ---- triggers ---- */

struct trig_cache {
	pthread_mutex_t mu;
	json_t *list; /* [{name, account, triggers}] of current versions with triggers; NULL = stale */
};
static struct trig_cache tcache = { PTHREAD_MUTEX_INITIALIZER, NULL };

void rb_triggers_invalidate(void)
{
	pthread_mutex_lock(&tcache.mu);
	json_decref(tcache.list);
	tcache.list = NULL;
	pthread_mutex_unlock(&tcache.mu);
}

/* A new reference to the trigger table. */
static json_t *triggers(struct store_conn *c)
{
	pthread_mutex_lock(&tcache.mu);
	if (!tcache.list) {
		json_t *l = json_array();
		struct store_rows *rows;
		if (!store_query(c,
				 "SELECT r.name, r.spec FROM rb_runbooks r WHERE r.deleted = 0 AND r.version = "
				 "(SELECT MAX(version) FROM rb_runbooks x WHERE x.name = r.name) ORDER BY r.name",
				 SNOARGS, &rows)) {
			while (store_next(rows) == 1) {
				json_t *s = json_loads(store_text(rows, 1), 0, NULL);
				if (s && json_array_size(json_object_get(s, "triggers")))
					json_array_append_new(l, json_pack("{s:s,s:O?,s:O}", "name", store_text(rows, 0),
									   "account", json_object_get(s, "account"),
									   "triggers", json_object_get(s, "triggers")));
				json_decref(s);
			}
			store_rows_free(rows);
		}
		tcache.list = l;
	}
	json_t *r = json_incref(tcache.list);
	pthread_mutex_unlock(&tcache.mu);
	return r;
}

static bool label_match(const char *want, const char *have)
{
	if (want[0] != '~')
		return !strcmp(want, have);
	size_t n = strlen(want);
	char *pat = malloc(n + 8);
	snprintf(pat, n + 8, "^(%s)$", want + 1);
	regex_t rx;
	bool m = false;
	if (!regcomp(&rx, pat, REG_EXTENDED | REG_NOSUB)) {
		m = regexec(&rx, have, 0, NULL, 0) == 0;
		regfree(&rx);
	}
	free(pat);
	return m;
}

static bool trigger_matches(const json_t *tr, const json_t *alarm)
{
	json_t *labels = json_object_get(alarm, "labels");
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(tr, "match"), k, v) {
		const char *have = jv_str(labels, k);
		if (!label_match(json_string_value(v), have ? have : ""))
			return false;
	}
	return true;
}

static int run_matching(struct store_conn *c, const json_t *alarm, const char *type, const char *ticket,
			struct rb_alarm_result *res)
{
	json_t *list = triggers(c);
	const char *account = jv_str(alarm, "account");
	size_t i, j;
	json_t *rb, *tr;
	int rc = 0;
	json_array_foreach(list, i, rb) {
		const char *racc = jv_str(rb, "account");
		if (racc && (!account || strcmp(racc, account)))
			continue;
		json_array_foreach(json_object_get(rb, "triggers"), j, tr) {
			if (strcmp(jv_str_or(tr, "type", ""), type) || !trigger_matches(tr, alarm))
				continue;
			const char *rl = jv_str(tr, "resource_label");
			const char *resource = jv_str(json_object_get(alarm, "labels"), rl ? rl : "instance");
			json_t *inputs = NULL;
			struct fw_error e = { 0 };
			json_t *ctx = json_pack("{s:O}", "alarm", alarm);
			if (json_object_get(tr, "inputs") &&
			    rb_template_render_json(json_object_get(tr, "inputs"), ctx, &inputs, &e)) {
				json_decref(ctx);
				log_msg(LOG_WARN, "runbook %s: trigger inputs: %s", jv_str(rb, "name"), e.message);
				continue;
			}
			json_decref(ctx);
			struct rb_request rq = {
				.runbook = jv_str(rb, "name"),
				.account = account,
				.inputs = inputs,
				.trigger = !strcmp(type, "diagnostics") ? "diagnostics" : "alarm",
				.actor = "automation",
				.ticket = ticket ? ticket : jv_str(alarm, "incident"),
				.alarm = alarm,
				.resource = resource,
				.prevent_incident = json_is_true(json_object_get(tr, "prevent_incident")),
			};
			char id[32];
			rc = rb_execution_queue(c, &rq, id, &e);
			json_decref(inputs);
			if (rc && e.status >= 400 && e.status != 404 && e.status != 422) {
				/* A rail refused (audited); the alarm pages as usual. */
				rc = 0;
				if (res && res->outcome == RB_ALARM_NO_MATCH) {
					res->outcome = RB_ALARM_PAGE;
					snprintf(res->reason, sizeof(res->reason), "%.190s", e.message);
				}
				store_exec(c,
					   "INSERT INTO rb_alarm_log (at, account, fingerprint, runbook, outcome, reason) "
					   "VALUES ($1,$2,$3,$4,'refused',$5)",
					   SARGS(SI(time_now_ms()), ST(account), ST(jv_str(alarm, "fingerprint")),
						 ST(rq.runbook), ST(e.message)),
					   NULL);
				continue;
			}
			if (rc) {
				if (e.status) {
					log_msg(LOG_WARN, "runbook %s not run for alarm: %s", rq.runbook, e.message);
					rc = 0;
					continue;
				}
				goto out;
			}
			if (res) {
				if (!res->queued) {
					snprintf(res->execution, sizeof(res->execution), "%s", id);
					res->prevent_incident = rq.prevent_incident;
				} else
					res->prevent_incident = res->prevent_incident && rq.prevent_incident;
				res->queued++;
				res->outcome = RB_ALARM_REMEDIATING;
			}
		}
	}
out:
	json_decref(list);
	return rc;
}

int rb_on_alarm(struct store_conn *c, const json_t *alarm, struct rb_alarm_result *out)
{
	struct rb_alarm_result r = { 0 };
	int rc = run_matching(c, alarm, "auto_remediation", NULL, &r);
	if (!rc && r.outcome == RB_ALARM_NO_MATCH)
		rc = store_exec(c,
				"INSERT INTO rb_alarm_log (at, account, fingerprint, runbook, outcome, reason) "
				"VALUES ($1,$2,$3,NULL,'no_match',NULL)",
				SARGS(SI(time_now_ms()), ST(jv_str(alarm, "account")), ST(jv_str(alarm, "fingerprint"))),
				NULL);
	if (out)
		*out = r;
	return rc;
}

int rb_on_incident(struct store_conn *c, const json_t *incident, const json_t *alarm, int *queued)
{
	struct rb_alarm_result r = { 0 };
	int rc = 0;
	if (alarm)
		rc = run_matching(c, alarm, "diagnostics", jv_str(incident, "id"), &r);
	if (queued)
		*queued = r.queued;
	return rc;
}

/* ---- dry run ---- */

int rb_dry_run(const json_t *spec, const json_t *inputs, const json_t *ctx_extra, json_t **plan, struct fw_error *e)
{
	json_t *ctx = json_pack("{s:O,s:{},s:{s:s},s:{s:O}}", "inputs", inputs, "steps", "execution", "id", "(dry run)",
				"runbook", "name", json_object_get(spec, "name"));
	if (ctx_extra)
		json_object_update(ctx, (json_t *)ctx_extra);
	json_t *out = json_array();
	int rc = 0;
	const char *lists[] = { "steps", "rollback" };
	for (int li = 0; li < 2 && !rc; li++) {
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(spec, lists[li]), i, s) {
			json_t *p = json_pack("{s:O,s:O,s:s}", "name", json_object_get(s, "name"), "type",
					      json_object_get(s, "type"), "phase", li ? "rollback" : "main");
			static const char *const tmpl_fields[] = { "command", "env", "cwd", "url", "headers", "body",
								   "ticket", NULL };
			for (int k = 0; tmpl_fields[k]; k++) {
				json_t *v = json_object_get(s, tmpl_fields[k]), *r;
				if (!v)
					continue;
				/* Outputs of earlier steps are unknown before running: show the reference. */
				if ((rc = rb_template_render_json(v, ctx, &r, e))) {
					if (e->status == 422 && strstr(e->message, "steps.")) {
						rc = 0;
						r = json_incref(v);
					} else {
						json_decref(p);
						goto out;
					}
				}
				json_object_set_new(p, !strcmp(tmpl_fields[k], "command") ? "argv" : tmpl_fields[k], r);
			}
			static const char *const copy[] = { "timeout_ms", "duration_ms", "approvers", "until",
							    "expect_status", "method", "resolve_alarm", NULL };
			for (int k = 0; copy[k]; k++)
				if (json_object_get(s, copy[k]))
					json_object_set(p, copy[k], json_object_get(s, copy[k]));
			json_array_append_new(out, p);
		}
	}
out:
	json_decref(ctx);
	if (rc) {
		json_decref(out);
		return rc;
	}
	*plan = out;
	return 0;
}

/* ---- runbooks.d ---- */

struct import_ctx {
	const char *name, *text;
	json_t *spec;
	const char *file;
	int64_t version;
};

static int import_tx(struct store_conn *c, void *arg)
{
	struct import_ctx *x = arg;
	char *cur = NULL;
	int rc = store_query_str(c,
				 "SELECT text FROM rb_runbooks WHERE name = $1 ORDER BY version DESC LIMIT 1",
				 SARGS(ST(x->name)), &cur);
	bool same = !rc && cur && !strcmp(cur, x->text);
	free(cur);
	if (same)
		return 0;
	int64_t v = 0;
	store_query_int(c, "SELECT COALESCE(MAX(version), 0) + 1 FROM rb_runbooks WHERE name = $1", SARGS(ST(x->name)),
			&v);
	json_object_set_new(x->spec, "version", json_integer(v));
	char *s = json_dumps(x->spec, JSON_COMPACT);
	rc = store_exec(c,
			"INSERT INTO rb_runbooks (name, version, account, source, text, spec, created_by, created_at) "
			"VALUES ($1,$2,$3,$4,$5,$6,'system',$7)",
			SARGS(ST(x->name), SI(v), ST(jv_str(x->spec, "account")), ST(x->file), ST(x->text), ST(s),
			      SI(time_now_ms())),
			NULL);
	free(s);
	if (!rc) {
		json_t *a = json_pack("{s:s,s:I,s:s}", "runbook", x->name, "version", (json_int_t)v, "file", x->file);
		rc = audit_append(c, "system", jv_str(x->spec, "account"), "runbook.import", x->name, NULL, a);
		json_decref(a);
	}
	x->version = v;
	return rc;
}

int rb_import_dir(struct store *st, const char *dir)
{
	DIR *d = opendir(dir);
	int failed = 0;
	if (!d) {
		log_msg(LOG_WARN, "runbooks directory %s cannot be read", dir);
		return 1;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 6 || (strcmp(de->d_name + n - 5, ".yaml") && strcmp(de->d_name + n - 4, ".yml")))
			continue;
		char path[1200];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		json_t *spec = NULL, *errors = NULL;
		FILE *f = fopen(path, "r");
		char *text = NULL;
		size_t tl = 0;
		if (f) {
			FILE *m = open_memstream(&text, &tl);
			char b[8192];
			size_t r;
			while ((r = fread(b, 1, sizeof(b), f)) > 0)
				fwrite(b, 1, r, m);
			fclose(m);
			fclose(f);
		}
		if (!text || rb_parse(text, tl, de->d_name, &spec, &errors)) {
			char msg[700];
			if (errors)
				rb_errors_sentence(errors, msg, sizeof(msg));
			else
				snprintf(msg, sizeof(msg), "%.600s: cannot read", path);
			log_msg(LOG_ERROR, "runbook not loaded: %s", msg);
			failed++;
		} else {
			struct import_ctx x = { jv_str(spec, "name"), text, spec, de->d_name, 0 };
			if (store_write(st, import_tx, &x))
				failed++;
		}
		free(text);
		json_decref(spec);
		json_decref(errors);
	}
	closedir(d);
	rb_triggers_invalidate();
	return failed;
}

/* ---- changes ---- */

int rb_change_execute(struct store_conn *c, const char *change, const char *executor, char *exec_id,
		      struct fw_error *e)
{
	json_t *t = NULL, *before = NULL;
	int rc = tkt_load(c, change, &t);
	if (rc || tkt_kind_of_id(change) != tkt_kind(TKT_CHANGE)) {
		json_decref(t);
		return fw_fail(e, 404, "not_found", "change %.40s not found", change);
	}
	const char *st = jv_str(t, "status");
	const char *runbook = jv_str(t, "runbook");
	if (strcmp(st, "approved") && strcmp(st, "scheduled")) {
		rc = fw_fail(e, 409, "invalid_transition", "change %s is %s; only an approved or scheduled change executes",
			     change, st);
		goto out;
	}
	if (!runbook) {
		rc = fw_fail(e, 422, "missing_field", "change %s has no 'runbook' to execute; set it first", change);
		goto out;
	}
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(t, "approvals"), i, a) {
		if (!strcmp(jv_str_or(a, "principal", ""), executor)) {
			rc = fw_fail(e, 403, "two_person_rule",
				     "%s approved change %s and so may not execute it; another operator must", executor,
				     change);
			goto out;
		}
	}
	before = json_deep_copy(t);
	struct rb_request rq = { .runbook = runbook, .account = jv_str(t, "account"), .trigger = "change",
				 .actor = executor, .ticket = change };
	if ((rc = rb_execution_queue(c, &rq, exec_id, e)))
		goto out;
	json_object_set_new(t, "execution", json_string(exec_id));
	json_object_set_new(t, "executor", json_string(executor));
	char note[160];
	snprintf(note, sizeof(note), "runbook %s started as execution %s", runbook, exec_id);
	rc = tkt_set_status(c, t, "executing", executor, note);
	if (!rc)
		rc = audit_append(c, executor, jv_str(t, "account"), "change.execute", change, before, t);
out:
	json_decref(before);
	json_decref(t);
	return rc;
}
