/* The daemon side of automation: starts the runner process, and one engine thread that drives every
 * active execution through its steps.
 *
 * The runner is started with fork + exec of our own binary (`flywheel __runner 3`) — the only fork
 * in the daemon, and it is immediately followed by exec (only async-signal-safe calls in between),
 * which is what POSIX allows in a multi-threaded process. It is started once at module start and
 * again only if it dies. Steps never run in this process.
 *
 * The engine thread owns all in-memory execution state and the runner socket. It sleeps in poll()
 * on the socket and a wake-up pipe (written after commits that queue, cancel or approve), with a
 * timeout for the nearest timer (wait steps, approval deadlines, retries, scheduled changes).
 * State changes are persisted in batches: after each round every changed execution is written in
 * ONE store_write (with its ticket, audit and breaker side effects), so a burst of executions costs
 * one group commit per round, not one per step. A step is handed to the runner before its "running"
 * state is durable; if the daemon dies in between, the execution is still "queued" and runs again
 * after restart (at least once). Executions found running after a restart fail that step with
 * "the daemon restarted" and continue with their rollback. */
#include "config.h"
#include "automation/automation.h"
#include "automation/runbook.h"
#include "automation/runner.h"
#include "automation/template.h"
#include "audit/audit.h"
#include "daemon.h"
#include "http/auth.h"
#include "http/server.h"
#include "store/store.h"
#include "tickets/ticket.h"
#include "tickets/tkt_store.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

rb_alarm_resolver rb__resolver(void);

#define STEP_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct exe {
	char id[32];
	char runbook[72];
	int64_t version;
	char *account, *ticket, *trigger, *resource, *created_by;
	json_t *spec, *data;
	char status[24];
	char reason[400];
	char job[64];      /* step in flight at the runner, "" when none */
	int job_pid;
	int64_t timer;     /* wall ms when advance() should look again; 0 = none */
	int64_t deadline;  /* the whole execution's timeout */
	int64_t started_at, ended_at;
	bool dirty, done, cancel;
	json_t *ops;       /* side effects for the next flush: [{"op":"diag",…}, {"op":"finish"}] */
	struct exe *next;
};

static struct {
	struct store *st;
	struct server *srv;
	pthread_t thread;
	bool running;
	int wake[2];
	int sock;
	pid_t runner_pid;
	int runner_starts;
	int64_t last_start;
	struct exe *list;
	int jobseq;
	int64_t next_scan;
	char exe_path[1024];
} E = { .wake = { -1, -1 }, .sock = -1 };

void rb_engine_wake(void *arg)
{
	(void)arg;
	if (E.wake[1] >= 0) {
		char b = 1;
		ssize_t r = write(E.wake[1], &b, 1);
		(void)r;
	}
}

/* ---- runner process ---- */

static int runner_spawn(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return FW_EIO;
	pid_t pid = fork();
	if (pid == 0) {
		/* Between fork and exec only async-signal-safe calls: dup2, fcntl, execv, _exit. */
		if (sv[1] == 3)
			fcntl(3, F_SETFD, 0);
		else
			dup2(sv[1], 3);
		char *const argv[] = { (char *)"flywheel", (char *)"__runner", (char *)"3", NULL };
		execv(E.exe_path, argv);
		_exit(127);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return FW_EIO;
	}
	E.sock = sv[0];
	fcntl(E.sock, F_SETFL, O_NONBLOCK);
	E.runner_pid = pid;
	E.runner_starts++;
	E.last_start = time_now_ms();
	log_msg(LOG_INFO, "runner process started (pid %d)", (int)pid);
	return 0;
}

/* ---- execution state helpers ---- */

static json_t *cur_list(struct exe *x)
{
	return json_object_get(x->spec, strcmp(jv_str_or(x->data, "phase", "main"), "rollback") ? "steps" : "rollback");
}

/* The step definition now due, or NULL at the end of the phase. Rollback steps run last-first. */
static json_t *cur_step(struct exe *x)
{
	json_t *l = cur_list(x);
	size_t n = json_array_size(l);
	size_t i = (size_t)json_integer_value(json_object_get(x->data, "index"));
	if (i >= n)
		return NULL;
	return json_array_get(l, strcmp(jv_str_or(x->data, "phase", "main"), "rollback") ? i : n - 1 - i);
}

/* The result record of the step now due (created when absent). */
static json_t *cur_result(struct exe *x, json_t *step, bool *fresh)
{
	json_t *res = json_object_get(x->data, "steps");
	json_t *last = json_array_get(res, json_array_size(res) ? json_array_size(res) - 1 : 0);
	*fresh = false;
	if (last && !strcmp(jv_str_or(last, "name", ""), jv_str(step, "name")) &&
	    !strcmp(jv_str_or(last, "phase", ""), jv_str_or(x->data, "phase", "main")) &&
	    (!strcmp(jv_str_or(last, "status", ""), "running") || !strcmp(jv_str_or(last, "status", ""), "waiting")))
		return last;
	json_t *r = json_pack("{s:O,s:O,s:s,s:s,s:I}", "name", json_object_get(step, "name"), "type",
			      json_object_get(step, "type"), "phase", jv_str_or(x->data, "phase", "main"), "status",
			      "running", "started_at", (json_int_t)time_now_ms());
	json_array_append_new(res, r);
	*fresh = true;
	x->dirty = true;
	return r;
}

static json_t *template_ctx(struct exe *x)
{
	json_t *steps = json_object();
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(x->data, "steps"), i, r) {
		json_t *o = json_pack("{s:O?,s:O?,s:O?,s:O?}", "stdout", json_object_get(r, "stdout"), "stderr",
				      json_object_get(r, "stderr"), "exit_code", json_object_get(r, "exit_code"), "status",
				      json_object_get(r, "status"));
		json_object_set_new(steps, jv_str_or(r, "name", "?"), o);
	}
	json_t *ctx_in = json_object_get(x->data, "context");
	return json_pack("{s:O,s:O,s:O,s:o,s:{s:s,s:s},s:{s:s,s:I}}", "inputs", json_object_get(x->data, "inputs"),
			 "alarm", json_object_get(ctx_in, "alarm") ? json_object_get(ctx_in, "alarm") : json_object(),
			 "ticket", json_object_get(ctx_in, "ticket") ? json_object_get(ctx_in, "ticket") : json_object(),
			 "steps", steps, "execution", "id", x->id, "trigger", x->trigger, "runbook", "name", x->runbook,
			 "version", (json_int_t)x->version);
}

static void set_status(struct exe *x, const char *s)
{
	if (strcmp(x->status, s)) {
		snprintf(x->status, sizeof(x->status), "%s", s);
		x->dirty = true;
	}
}

static void finish(struct exe *x, const char *status, const char *reason)
{
	set_status(x, status);
	if (reason && !x->reason[0])
		snprintf(x->reason, sizeof(x->reason), "%s", reason);
	x->ended_at = time_now_ms();
	x->done = true;
	x->dirty = true;
	json_array_append_new(x->ops, json_pack("{s:s}", "op", "finish"));
}

static void step_ok(struct exe *x, json_t *r)
{
	json_object_set_new(r, "status", json_string("succeeded"));
	json_object_set_new(r, "ended_at", json_integer(time_now_ms()));
	json_object_set_new(x->data, "index", json_integer(json_integer_value(json_object_get(x->data, "index")) + 1));
	x->dirty = true;
}

static void step_fail(struct exe *x, json_t *step, json_t *r, const char *why)
{
	json_object_set_new(r, "status", json_string("failed"));
	json_object_set_new(r, "ended_at", json_integer(time_now_ms()));
	if (why && !json_object_get(r, "error"))
		json_object_set_new(r, "error", json_string(why));
	x->dirty = true;
	json_int_t idx = json_integer_value(json_object_get(x->data, "index"));
	bool rollback = !strcmp(jv_str_or(x->data, "phase", "main"), "rollback");
	if (rollback) {
		json_object_set_new(x->data, "rollback_failed", json_true());
		json_object_set_new(x->data, "index", json_integer(idx + 1));
		return;
	}
	if (json_is_true(json_object_get(step, "continue_on_failure"))) {
		json_object_set_new(x->data, "index", json_integer(idx + 1));
		return;
	}
	snprintf(x->reason, sizeof(x->reason), "step %s failed: %s", jv_str_or(step, "name", "?"),
		 why ? why : "it did not succeed");
	json_object_set_new(x->data, "failed_step", json_string(jv_str_or(step, "name", "?")));
	if (json_array_size(json_object_get(x->spec, "rollback"))) {
		json_object_set_new(x->data, "phase", json_string("rollback"));
		json_object_set_new(x->data, "index", json_integer(0));
		set_status(x, "rolling_back");
	} else
		finish(x, "failed", NULL);
}

/* Builds the runner job for an exec/diagnostics/http step (def) and sends it. */
static int dispatch(struct exe *x, json_t *def, struct fw_error *e)
{
	json_t *ctx = template_ctx(x), *msg = NULL;
	const char *type = jv_str(def, "type");
	int rc;
	snprintf(x->job, sizeof(x->job), "%s:%d", x->id, ++E.jobseq);
	if (!strcmp(type, "http")) {
		json_t *url = NULL, *hdr = NULL, *body = NULL;
		rc = rb_template_render_json(json_object_get(def, "url"), ctx, &url, e);
		if (!rc && json_object_get(def, "headers"))
			rc = rb_template_render_json(json_object_get(def, "headers"), ctx, &hdr, e);
		if (!rc && json_object_get(def, "body"))
			rc = rb_template_render_json(json_object_get(def, "body"), ctx, &body, e);
		if (!rc)
			msg = json_pack("{s:s,s:s,s:s,s:O,s:o,s:o*,s:o*,s:O?,s:O,s:O,s:s}", "op", "run", "job", x->job, "kind",
					"http", "method", json_object_get(def, "method"), "url", url, "headers", hdr, "body",
					body, "expect_status", json_object_get(def, "expect_status"), "timeout_ms",
					json_object_get(def, "timeout_ms"), "max_output", json_object_get(def, "max_output"),
					"cwd", "/");
		else {
			json_decref(url);
			json_decref(hdr);
			json_decref(body);
		}
	} else {
		json_t *argv = NULL, *env = NULL, *cwd = NULL;
		rc = rb_template_render_json(json_object_get(def, "command"), ctx, &argv, e);
		if (!rc)
			rc = rb_template_render_json(json_object_get(def, "env") ? json_object_get(def, "env")
										 : json_object(),
						     ctx, &env, e);
		if (!rc && json_object_get(def, "cwd"))
			rc = rb_template_render_json(json_object_get(def, "cwd"), ctx, &cwd, e);
		if (!rc) {
			/* The minimal environment; declared variables may override PATH/HOME/LANG. */
			json_t *full = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "PATH", STEP_PATH, "HOME", "/", "LANG",
						 "C.UTF-8", "FLYWHEEL_EXECUTION", x->id, "FLYWHEEL_RUNBOOK", x->runbook,
						 "FLYWHEEL_STEP", jv_str(def, "name"));
			json_object_update(full, env);
			json_decref(env);
			msg = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:O,s:O,s:O}", "op", "run", "job", x->job, "kind", "exec",
					"argv", argv, "env", full, "cwd", cwd ? cwd : json_string("/"), "timeout_ms",
					json_object_get(def, "timeout_ms"), "grace_ms", json_object_get(def, "grace_ms"),
					"max_output", json_object_get(def, "max_output"));
		} else {
			json_decref(argv);
			json_decref(env);
			json_decref(cwd);
		}
	}
	json_decref(ctx);
	if (rc) {
		x->job[0] = '\0';
		return rc;
	}
	if (E.sock < 0 || rb_frame_send(E.sock, msg)) {
		json_decref(msg);
		x->job[0] = '\0';
		return fw_fail(e, 503, "runner_unavailable", "the runner process is not available");
	}
	json_decref(msg);
	x->job_pid = 0;
	return 0;
}

/* A set step: ticket fields / alarm resolution, in its own write. */
struct set_ctx {
	struct exe *x;
	json_t *def, *ctx;
	struct fw_error err;
};

static int set_tx(struct store_conn *c, void *arg)
{
	struct set_ctx *s = arg;
	struct exe *x = s->x;
	int rc = 0;
	json_t *fields = json_object_get(s->def, "ticket");
	if (fields) {
		json_t *t = NULL, *vals = NULL;
		if (!x->ticket || tkt_load(c, x->ticket, &t))
			return fw_fail(&s->err, 409, "no_ticket", "this execution has no ticket to set fields on");
		json_t *before = json_deep_copy(t);
		if ((rc = rb_template_render_json(fields, s->ctx, &vals, &s->err)))
			goto tout;
		const struct tkt_kind_info *k = tkt_kind_of_id(x->ticket);
		const char *key;
		json_t *v;
		const char *to = jv_str(vals, "status");
		json_object_foreach(vals, key, v) {
			if (!strcmp(key, "status") || !strcmp(key, "id") || !strcmp(key, "account") || !strcmp(key, "kind"))
				continue;
			json_object_set(t, key, v);
		}
		if (to && strcmp(to, jv_str(t, "status"))) {
			if ((rc = tkt_check_transition(k->kind, jv_str(t, "status"), to, PERM_ALL, &s->err)))
				goto tout;
			rc = tkt_set_status(c, t, to, "automation", x->id);
		} else
			rc = tkt_save(c, t);
		if (!rc) {
			json_t *b = json_pack("{s:s,s:O}", "execution", x->id, "fields", vals);
			rc = tkt_timeline_add(c, x->ticket, "automation", "automation", "internal", b);
			json_decref(b);
		}
		if (!rc)
			rc = audit_append(c, "automation", x->account, "ticket.update", x->ticket, before, t);
tout:
		json_decref(before);
		json_decref(vals);
		json_decref(t);
		if (rc)
			return rc;
	}
	if (json_is_true(json_object_get(s->def, "resolve_alarm"))) {
		json_t *alarm = json_object_get(json_object_get(x->data, "context"), "alarm");
		if (!alarm)
			return fw_fail(&s->err, 409, "no_alarm", "this execution was not started by an alarm");
		rb_alarm_resolver fn = rb__resolver();
		if (fn && (rc = fn(c, jv_str(alarm, "account"), jv_str(alarm, "fingerprint"), "automation")))
			return fw_fail(&s->err, 409, "alarm_not_resolved", "the alarm could not be resolved");
		json_object_set_new(x->data, "alarm_resolved", json_true());
	}
	return 0;
}

static int count_approvals(struct exe *x, const char *step)
{
	int64_t n = 0;
	store_query_int(store_reader(E.st), "SELECT COUNT(*) FROM rb_approvals WHERE execution = $1 AND step = $2",
			SARGS(ST(x->id), ST(step)), &n);
	return (int)n;
}

/* A step's `when: {step, status}`: the named step's latest result has that status. */
static bool when_holds(struct exe *x, const json_t *when)
{
	const char *name = jv_str(when, "step"), *want = jv_str(when, "status");
	json_t *res = json_object_get(x->data, "steps");
	for (size_t i = json_array_size(res); i-- > 0;) {
		json_t *r = json_array_get(res, i);
		if (!strcmp(jv_str_or(r, "name", ""), name))
			return !strcmp(jv_str_or(r, "status", ""), want);
	}
	return false;
}

static void advance(struct exe *x)
{
	for (int guard = 0; guard < 200 && !x->done; guard++) {
		if (x->job[0])
			return;
		int64_t now = time_now_ms();
		if (x->cancel) {
			finish(x, "cancelled", "cancelled on request");
			return;
		}
		bool rollback = !strcmp(jv_str_or(x->data, "phase", "main"), "rollback");
		json_t *step = cur_step(x);
		if (!step) {
			if (!rollback)
				finish(x, "succeeded", NULL);
			else if (json_is_true(json_object_get(x->data, "rollback_failed")))
				finish(x, "failed", "a rollback step failed too");
			else
				finish(x, "rolled_back", NULL);
			return;
		}
		json_t *when = json_object_get(step, "when");
		if (when && !when_holds(x, when)) {
			json_t *res = json_object_get(x->data, "steps");
			json_array_append_new(res, json_pack("{s:O,s:O,s:s,s:s,s:I,s:I}", "name", json_object_get(step, "name"),
							     "type", json_object_get(step, "type"), "phase",
							     rollback ? "rollback" : "main", "status", "skipped",
							     "started_at", (json_int_t)now, "ended_at", (json_int_t)now));
			json_object_set_new(x->data, "index",
					    json_integer(json_integer_value(json_object_get(x->data, "index")) + 1));
			x->dirty = true;
			continue;
		}
		bool fresh;
		json_t *r = cur_result(x, step, &fresh);
		if (!rollback && x->deadline && now >= x->deadline) {
			step_fail(x, step, r, "the runbook's overall timeout passed");
			continue;
		}
		if (strcmp(x->status, "running") && strcmp(x->status, "rolling_back"))
			set_status(x, rollback ? "rolling_back" : "running");
		const char *type = jv_str(step, "type");
		struct fw_error e = { 0 };
		if (!strcmp(type, "exec") || !strcmp(type, "diagnostics") || !strcmp(type, "http")) {
			if (dispatch(x, step, &e))
				step_fail(x, step, r, e.message);
			else
				return;
		} else if (!strcmp(type, "wait") && !json_object_get(step, "until")) {
			json_t *w = json_object_get(r, "wait_until");
			if (!w) {
				json_object_set_new(r, "wait_until",
						    json_integer(now + json_integer_value(json_object_get(step, "duration_ms"))));
				w = json_object_get(r, "wait_until");
			}
			if (now >= json_integer_value(w)) {
				step_ok(x, r);
				continue;
			}
			x->timer = json_integer_value(w);
			return;
		} else if (!strcmp(type, "wait")) {
			if (!json_object_get(r, "give_up_at"))
				json_object_set_new(r, "give_up_at",
						    json_integer(now + json_integer_value(json_object_get(step, "timeout_ms"))));
			int64_t next_try = json_integer_value(json_object_get(r, "next_try"));
			if (next_try > now) {
				x->timer = next_try;
				return;
			}
			/* Re-run the referenced step's action; on_done() judges the condition. */
			const char *ref = jv_str(json_object_get(step, "until"), "step");
			json_t *def = NULL, *s2;
			size_t i;
			json_array_foreach(json_object_get(x->spec, "steps"), i, s2) if (!strcmp(jv_str(s2, "name"), ref)) def =
				s2;
			if (!def || dispatch(x, def, &e))
				step_fail(x, step, r, def ? e.message : "the step named by 'until' is missing");
			else
				return;
		} else if (!strcmp(type, "approval")) {
			int need = (int)json_integer_value(json_object_get(step, "approvers"));
			int have = count_approvals(x, jv_str(step, "name"));
			json_object_set_new(r, "approvals", json_integer(have));
			json_object_set_new(r, "approvals_needed", json_integer(need));
			if (!json_object_get(r, "deadline"))
				json_object_set_new(r, "deadline",
						    json_integer(now + json_integer_value(json_object_get(step, "timeout_ms"))));
			x->dirty = true;
			if (have >= need) {
				step_ok(x, r);
				set_status(x, "running");
				continue;
			}
			int64_t dl = json_integer_value(json_object_get(r, "deadline"));
			if (now >= dl) {
				step_fail(x, step, r, "the approval timed out");
				continue;
			}
			json_object_set_new(r, "status", json_string("waiting"));
			set_status(x, "waiting_approval");
			x->timer = dl;
			return;
		} else if (!strcmp(type, "set")) {
			struct set_ctx s = { x, step, template_ctx(x), { 0 } };
			int rc = store_write(E.st, set_tx, &s);
			json_decref(s.ctx);
			if (rc)
				step_fail(x, step, r, s.err.status ? s.err.message : "the store refused the change");
			else
				step_ok(x, r);
		} else {
			step_fail(x, step, r, "unknown step type");
		}
	}
}

static struct exe *find_exe(const char *id)
{
	for (struct exe *x = E.list; x; x = x->next)
		if (!strcmp(x->id, id))
			return x;
	return NULL;
}

static struct exe *find_job(const char *job)
{
	for (struct exe *x = E.list; x; x = x->next)
		if (x->job[0] && !strcmp(x->job, job))
			return x;
	return NULL;
}

static bool until_met(const json_t *until, const json_t *m)
{
	const char *re = jv_str(until, "stdout_matches");
	json_t *ec = json_object_get(until, "exit_code");
	json_t *got = json_object_get(m, "exit_code");
	if (ec && (!json_is_integer(got) || json_integer_value(got) != json_integer_value(ec)))
		return false;
	if (re) {
		regex_t rx;
		if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB))
			return false;
		bool ok = regexec(&rx, jv_str_or(m, "stdout", ""), 0, NULL, 0) == 0;
		regfree(&rx);
		return ok;
	}
	return true;
}

static void on_runner_msg(json_t *m)
{
	const char *ev = jv_str(m, "ev");
	if (!ev)
		return;
	if (!strcmp(ev, "hello"))
		return;
	struct exe *x = find_job(jv_str_or(m, "job", ""));
	if (!x)
		return;
	json_t *step = cur_step(x);
	bool fresh;
	json_t *r = step ? cur_result(x, step, &fresh) : NULL;
	if (!r)
		return;
	if (!strcmp(ev, "started")) {
		x->job_pid = (int)json_integer_value(json_object_get(m, "pid"));
		json_object_set(r, "pid", json_object_get(m, "pid"));
		json_object_set(r, "started_at", json_object_get(m, "at"));
		x->dirty = true;
		return;
	}
	if (strcmp(ev, "done"))
		return;
	x->job[0] = '\0';
	x->job_pid = 0;
	static const char *const keys[] = { "exit_code", "signal", "timed_out", "stdout", "stderr", "truncated", "error",
					    NULL };
	for (int i = 0; keys[i]; i++)
		if (json_object_get(m, keys[i]))
			json_object_set(r, keys[i], json_object_get(m, keys[i]));
	const char *type = jv_str(step, "type");
	json_t *ec = json_object_get(m, "exit_code");
	bool ok = json_is_integer(ec) && json_integer_value(ec) == 0 && !json_is_true(json_object_get(m, "timed_out")) &&
		  !jv_str(m, "error");
	char why[300];
	if (json_is_true(json_object_get(m, "cancelled")))
		snprintf(why, sizeof(why), "cancelled while running");
	else if (json_is_true(json_object_get(m, "timed_out")))
		snprintf(why, sizeof(why), "timed out after %lld ms (SIGTERM, then SIGKILL after the grace period)",
			 (long long)json_integer_value(json_object_get(step, "timeout_ms")));
	else if (jv_str(m, "error"))
		snprintf(why, sizeof(why), "%s", jv_str(m, "error"));
	else if (json_is_integer(ec))
		snprintf(why, sizeof(why), "exit code %lld", (long long)json_integer_value(ec));
	else
		snprintf(why, sizeof(why), "killed by signal %lld", (long long)json_integer_value(json_object_get(m, "signal")));
	x->dirty = true;
	if (!strcmp(type, "wait")) {
		int64_t now = time_now_ms();
		json_object_set_new(r, "attempts", json_integer(json_integer_value(json_object_get(r, "attempts")) + 1));
		if (until_met(json_object_get(step, "until"), m))
			step_ok(x, r);
		else if (x->cancel)
			;
		else if (now >= json_integer_value(json_object_get(r, "give_up_at")))
			step_fail(x, step, r, "the condition was not met before the timeout");
		else {
			json_object_set_new(r, "next_try",
					    json_integer(now + json_integer_value(json_object_get(step, "interval_ms"))));
			json_object_set_new(r, "status", json_string("waiting"));
		}
	} else {
		if (!strcmp(type, "diagnostics") && x->ticket)
			json_array_append_new(x->ops, json_pack("{s:s,s:O,s:O?,s:O?,s:O?}", "op", "diag", "step",
								json_object_get(step, "name"), "exit_code", ec, "stdout",
								json_object_get(m, "stdout"), "stderr",
								json_object_get(m, "stderr")));
		if (ok)
			step_ok(x, r);
		else if (!x->cancel)
			step_fail(x, step, r, why);
	}
	if (x->cancel) {
		json_object_set_new(r, "status", json_string("cancelled"));
		finish(x, "cancelled", "cancelled on request");
	}
	advance(x);
}

/* ---- loading ---- */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void exe_free(struct exe *x)
{
	free(x->account);
	free(x->ticket);
	free(x->trigger);
	free(x->resource);
	free(x->created_by);
	json_decref(x->spec);
	json_decref(x->data);
	json_decref(x->ops);
	free(x);
}

#define EXE_COLS "id, runbook, version, account, trigger, ticket, resource, created_by, data, status, created_at, started_at"

static struct exe *load_row(struct store_rows *rows)
{
	struct store_conn *c = store_reader(E.st);
	struct exe *x = calloc(1, sizeof(*x));
	snprintf(x->id, sizeof(x->id), "%s", store_text(rows, 0));
	snprintf(x->runbook, sizeof(x->runbook), "%s", store_text(rows, 1));
	x->version = store_int(rows, 2);
	x->account = dup_or_null(store_text(rows, 3));
	x->trigger = dup_or_null(store_text(rows, 4));
	x->ticket = dup_or_null(store_text(rows, 5));
	x->resource = dup_or_null(store_text(rows, 6));
	x->created_by = dup_or_null(store_text(rows, 7));
	x->data = json_loads(store_text(rows, 8), 0, NULL);
	snprintf(x->status, sizeof(x->status), "%s", store_text(rows, 9));
	x->started_at = store_isnull(rows, 11) ? 0 : store_int(rows, 11);
	x->ops = json_array();
	if (!x->data || rb_spec_load(c, x->runbook, x->version, &x->spec, NULL)) {
		exe_free(x);
		return NULL;
	}
	x->deadline = store_int(rows, 10) + json_integer_value(json_object_get(x->spec, "timeout_ms"));
	if (x->ticket) {
		json_t *t = NULL;
		if (!tkt_load(c, x->ticket, &t)) {
			json_object_del(t, "seq");
			json_object_set_new(json_object_get(x->data, "context"), "ticket", t);
		}
	}
	return x;
}

static void load_queued(void)
{
	struct store_rows *rows;
	if (store_query(store_reader(E.st),
			"SELECT " EXE_COLS " FROM rb_executions WHERE status = 'queued' AND "
			"(not_before IS NULL OR not_before <= $1) ORDER BY seq",
			SARGS(SI(time_now_ms())), &rows))
		return;
	while (store_next(rows) == 1) {
		if (find_exe(store_text(rows, 0)))
			continue;
		struct exe *x = load_row(rows);
		if (!x)
			continue;
		x->started_at = time_now_ms();
		set_status(x, "running");
		x->next = E.list;
		E.list = x;
		advance(x);
	}
	store_rows_free(rows);
}

/* After a restart: executions that were mid-step fail that step explicitly and carry on (rollback);
 * those waiting for approval keep waiting. */
static void recover(void)
{
	struct store_rows *rows;
	if (store_query(store_reader(E.st),
			"SELECT " EXE_COLS " FROM rb_executions WHERE status IN ('running','rolling_back','waiting_approval') "
			"ORDER BY seq",
			SNOARGS, &rows))
		return;
	while (store_next(rows) == 1) {
		struct exe *x = load_row(rows);
		if (!x)
			continue;
		x->next = E.list;
		E.list = x;
		json_t *step = cur_step(x);
		json_t *res = json_object_get(x->data, "steps");
		json_t *last = json_array_get(res, json_array_size(res) ? json_array_size(res) - 1 : 0);
		if (step && last && !strcmp(jv_str_or(last, "status", ""), "running") &&
		    strcmp(jv_str(step, "type"), "approval")) {
			step_fail(x, step, last, "the daemon restarted while this step ran");
			snprintf(x->reason, sizeof(x->reason), "the daemon restarted while step %s ran",
				 jv_str_or(step, "name", "?"));
		}
		x->dirty = true;
		log_msg(LOG_WARN, "execution %s was %s when the daemon stopped; %s", x->id, x->status,
			!strcmp(x->status, "waiting_approval") ? "still waiting for approval" : "its step is failed");
		advance(x);
	}
	store_rows_free(rows);
}

static void check_cancels(void)
{
	struct store_rows *rows;
	if (store_query(store_reader(E.st),
			"SELECT id FROM rb_executions WHERE cancel_requested = 1 AND status IN "
			"('queued','running','waiting_approval','rolling_back')",
			SNOARGS, &rows))
		return;
	while (store_next(rows) == 1) {
		struct exe *x = find_exe(store_text(rows, 0));
		if (!x || x->cancel || x->done)
			continue;
		x->cancel = true;
		if (x->job[0]) {
			json_t *m = json_pack("{s:s,s:s}", "op", "cancel", "job", x->job);
			if (E.sock >= 0)
				rb_frame_send(E.sock, m);
			json_decref(m);
		} else
			advance(x);
	}
	store_rows_free(rows);
}

/* ---- flush: one write for every changed execution ---- */

static int open_incident(struct store_conn *c, const char *account, const char *title, const char *desc,
			 char *id_out, size_t cap)
{
	json_t *t = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "account", account ? account : "000000000000", "title",
			      title, "description", desc, "impact", "medium", "urgency", "high", "source", "monitoring",
			      "priority", tkt_priority("medium", "high"), "severity", "high");
	int rc = tkt_insert(c, tkt_kind(TKT_INCIDENT), t, "automation");
	if (!rc)
		rc = audit_append(c, "automation", account, "ticket.create", jv_str(t, "id"), NULL, t);
	if (!rc && id_out)
		snprintf(id_out, cap, "%s", jv_str(t, "id"));
	json_decref(t);
	return rc;
}

static int finish_effects(struct store_conn *c, struct exe *x)
{
	int rc = 0;
	bool ok = !strcmp(x->status, "succeeded");
	json_t *alarm = json_object_get(json_object_get(x->data, "context"), "alarm");
	/* Circuit breaker: consecutive failures per runbook; cancellations do not count. */
	if (strcmp(x->status, "cancelled")) {
		if (ok)
			rc = store_exec(c, "UPDATE rb_breakers SET failures = 0 WHERE runbook = $1", SARGS(ST(x->runbook)),
					NULL);
		else {
			int64_t fails = 0, open = 0;
			rc = store_exec(c,
					"INSERT INTO rb_breakers (runbook, failures, open) VALUES ($1, 1, 0) "
					"ON CONFLICT (runbook) DO UPDATE SET failures = rb_breakers.failures + 1",
					SARGS(ST(x->runbook)), NULL);
			store_query_int(c, "SELECT failures FROM rb_breakers WHERE runbook = $1", SARGS(ST(x->runbook)),
					&fails);
			store_query_int(c, "SELECT open FROM rb_breakers WHERE runbook = $1", SARGS(ST(x->runbook)), &open);
			int64_t limit = json_integer_value(json_object_get(json_object_get(x->spec, "circuit_breaker"), "failures"));
			if (!rc && !open && limit > 0 && fails >= limit) {
				char title[200], desc[1200], inc[40] = "";
				snprintf(title, sizeof(title), "Automation stopped: runbook %s failed %lld times in a row",
					 x->runbook, (long long)fails);
				snprintf(desc, sizeof(desc),
					 "The circuit breaker of runbook %s opened after %lld consecutive failures (last: %s, %.300s). "
					 "Auto-remediation with it is stopped until an operator resets the breaker "
					 "(POST /api/v1/runbooks/%s/breaker/reset).",
					 x->runbook, (long long)fails, x->id, x->reason, x->runbook);
				rc = open_incident(c, x->account, title, desc, inc, sizeof(inc));
				if (!rc)
					rc = store_exec(c,
							"UPDATE rb_breakers SET open = 1, opened_at = $2, incident = $3 WHERE runbook = $1",
							SARGS(ST(x->runbook), SI(time_now_ms()), ST(inc)), NULL);
				json_t *a = json_pack("{s:s,s:I,s:s,s:s}", "runbook", x->runbook, "failures", (json_int_t)fails,
						      "incident", inc, "last_execution", x->id);
				if (!rc)
					rc = audit_append(c, "automation", x->account, "rail.breaker_open", x->runbook, NULL, a);
				json_decref(a);
			}
		}
	}
	if (rc)
		return rc;
	/* The ticket the execution worked for. */
	if (x->ticket && !strcmp(x->trigger, "change")) {
		json_t *t = NULL;
		if (!tkt_load(c, x->ticket, &t) && !strcmp(jv_str_or(t, "status", ""), "executing")) {
			char note[500];
			snprintf(note, sizeof(note), "execution %s %s%s%s", x->id, x->status, x->reason[0] ? ": " : "",
				 x->reason);
			if (ok)
				rc = tkt_set_status(c, t, "completed", "automation", note);
			else {
				rc = tkt_set_status(c, t, "failed", "automation", note);
				if (!rc && !strcmp(x->status, "rolled_back"))
					rc = tkt_set_status(c, t, "rolled_back", "automation", "rollback steps completed");
			}
			if (!rc)
				rc = audit_append(c, "automation", x->account, "change.executed", x->ticket, NULL, t);
		}
		json_decref(t);
	} else if (alarm && !strcmp(x->trigger, "alarm")) {
		if (ok) {
			rb_alarm_resolver fn = rb__resolver();
			if (fn && !json_is_true(json_object_get(x->data, "alarm_resolved")))
				rc = fn(c, jv_str(alarm, "account"), jv_str(alarm, "fingerprint"), "automation");
			json_object_set_new(x->data, "alarm_resolved", json_true());
			json_t *t = NULL;
			if (!rc && x->ticket && !tkt_load(c, x->ticket, &t)) {
				json_t *b = json_pack("{s:s,s:s,s:s}", "execution", x->id, "runbook", x->runbook, "message",
						      "resolved by automation");
				json_object_set_new(t, "resolved_by_automation", json_string(x->id));
				const struct tkt_kind_info *k = tkt_kind_of_id(x->ticket);
				if (!tkt_check_transition(k->kind, jv_str(t, "status"), "resolved", PERM_ALL, NULL)) {
					json_object_set_new(t, "resolution", json_string("resolved by automation"));
					rc = tkt_set_status(c, t, "resolved", "automation", "resolved by automation");
				} else
					rc = tkt_save(c, t);
				if (!rc)
					rc = tkt_timeline_add(c, x->ticket, "automation", "automation", "public", b);
				json_decref(b);
			}
			json_decref(t);
		} else if (json_is_true(json_object_get(x->data, "prevent_incident")) && !x->ticket &&
			   strcmp(x->status, "cancelled")) {
			/* The incident was held back for the remediation, which failed: page now. */
			char title[300], desc[800], inc[40] = "";
			json_t *labels = json_object_get(alarm, "labels");
			snprintf(title, sizeof(title), "%s (auto-remediation failed)",
				 jv_str_or(labels, "alertname", "alarm"));
			snprintf(desc, sizeof(desc), "Runbook %s (execution %s) could not remediate alarm %s: %s", x->runbook,
				 x->id, jv_str_or(alarm, "fingerprint", "?"), x->reason);
			rc = open_incident(c, jv_str(alarm, "account") ? jv_str(alarm, "account") : x->account, title, desc,
					   inc, sizeof(inc));
			if (!rc)
				json_object_set_new(x->data, "incident_opened", json_string(inc));
		}
	}
	if (rc)
		return rc;
	json_t *a = json_pack("{s:s,s:s,s:s?}", "runbook", x->runbook, "status", x->status, "reason",
			      x->reason[0] ? x->reason : NULL);
	rc = audit_append(c, "automation", x->account, "execution.finish", x->id, NULL, a);
	json_decref(a);
	return rc;
}

static int flush_tx(struct store_conn *c, void *arg)
{
	(void)arg;
	int rc = 0;
	for (struct exe *x = E.list; x && !rc; x = x->next) {
		if (!x->dirty)
			continue;
		size_t i;
		json_t *op;
		json_array_foreach(x->ops, i, op) {
			if (!strcmp(jv_str(op, "op"), "diag") && x->ticket) {
				json_t *b = json_pack("{s:s,s:s,s:O,s:O,s:O?,s:O?}", "execution", x->id, "runbook", x->runbook,
						      "step", json_object_get(op, "step"), "exit_code",
						      json_object_get(op, "exit_code"), "output", json_object_get(op, "stdout"),
						      "errors", json_object_get(op, "stderr"));
				rc = tkt_timeline_add(c, x->ticket, "automation", "diagnostics", "internal", b);
				json_decref(b);
			} else if (!strcmp(jv_str(op, "op"), "finish"))
				rc = finish_effects(c, x);
			if (rc)
				break;
		}
		if (rc)
			break;
		char *d = json_dumps(x->data, JSON_COMPACT);
		rc = store_exec(c,
				"UPDATE rb_executions SET status = $2, data = $3, started_at = $4, ended_at = $5, reason = $6 "
				"WHERE id = $1",
				SARGS(ST(x->id), ST(x->status), ST(d), x->started_at ? SI(x->started_at) : SN,
				      x->ended_at ? SI(x->ended_at) : SN, ST(x->reason[0] ? x->reason : NULL)),
				NULL);
		free(d);
	}
	return rc;
}

static void flush(void)
{
	bool any = false;
	for (struct exe *x = E.list; x; x = x->next)
		any = any || x->dirty;
	if (!any)
		return;
	if (store_write(E.st, flush_tx, NULL)) {
		log_msg(LOG_ERROR, "automation: could not persist execution state; retrying");
		return;
	}
	struct exe **pp = &E.list;
	while (*pp) {
		struct exe *x = *pp;
		x->dirty = false;
		json_array_clear(x->ops);
		if (x->done) {
			*pp = x->next;
			exe_free(x);
		} else
			pp = &x->next;
	}
}

/* ---- runner crash ---- */

static void runner_lost(void)
{
	int st = 0;
	char how[80] = "closed its socket";
	close(E.sock);
	E.sock = -1;
	if (E.runner_pid > 0) {
		pid_t p = waitpid(E.runner_pid, &st, 0);
		if (p == E.runner_pid && WIFSIGNALED(st))
			snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(st));
		else if (p == E.runner_pid && WIFEXITED(st))
			snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(st));
	}
	log_msg(LOG_ERROR, "runner process %d %s; restarting it", (int)E.runner_pid, how);
	for (struct exe *x = E.list; x; x = x->next) {
		if (!x->job[0])
			continue;
		/* The step's process group outlives the runner: take it down. */
		if (x->job_pid > 0)
			kill(-x->job_pid, SIGKILL);
		json_t *step = cur_step(x);
		bool fresh;
		json_t *r = step ? cur_result(x, step, &fresh) : NULL;
		char why[200];
		snprintf(why, sizeof(why), "the runner process %s while this step ran", how);
		if (r) {
			json_object_set_new(r, "status", json_string("failed"));
			json_object_set_new(r, "error", json_string(why));
			json_object_set_new(r, "ended_at", json_integer(time_now_ms()));
		}
		x->job[0] = '\0';
		snprintf(x->reason, sizeof(x->reason), "the runner process %s while step %s ran", how,
			 step ? jv_str_or(step, "name", "?") : "?");
		finish(x, "failed", NULL);
	}
	E.runner_pid = 0;
	/* Crash loop guard: at most one restart a second. */
	if (time_now_ms() - E.last_start < 1000)
		usleep(500000);
	if (runner_spawn())
		log_msg(LOG_ERROR, "cannot restart the runner process");
}

/* ---- approved changes ---- */

struct chg_ctx {
	const char *id;
	struct fw_error err;
	char exe[32];
	bool block;
};

static int chg_tx(struct store_conn *c, void *arg)
{
	struct chg_ctx *x = arg;
	json_t *t = NULL;
	if (tkt_load(c, x->id, &t))
		return FW_ENOTFOUND;
	const char *executor = jv_str_or(t, "assignee", "automation");
	int rc;
	if (x->block) {
		json_object_set_new(t, "execution_blocked", json_string(x->err.message));
		json_t *b = json_pack("{s:s}", "message", x->err.message);
		rc = tkt_save(c, t);
		if (!rc)
			rc = tkt_timeline_add(c, x->id, "automation", "automation", "internal", b);
		if (!rc)
			rc = audit_append(c, "automation", jv_str(t, "account"), "change.execution_blocked", x->id, NULL, b);
		json_decref(b);
	} else
		rc = rb_change_execute(c, x->id, executor, x->exe, &x->err);
	json_decref(t);
	return rc;
}

static void scan_changes(void)
{
	struct store_rows *rows;
	if (store_query(store_reader(E.st),
			"SELECT id, data FROM tickets WHERE kind = 'change' AND status IN ('approved','scheduled')", SNOARGS,
			&rows))
		return;
	int64_t now = time_now_ms();
	json_t *due = json_array();
	while (store_next(rows) == 1) {
		json_t *t = json_loads(store_text(rows, 1), 0, NULL);
		int64_t at = 0;
		const char *sa = jv_str(t, "scheduled_at");
		if (t && jv_str(t, "runbook") && !jv_str(t, "execution_blocked") &&
		    (!sa || (!time_parse_rfc3339(sa, &at) && at <= now)))
			json_array_append_new(due, json_string(store_text(rows, 0)));
		json_decref(t);
	}
	store_rows_free(rows);
	size_t i;
	json_t *v;
	json_array_foreach(due, i, v) {
		struct chg_ctx x = { .id = json_string_value(v) };
		if (store_write(E.st, chg_tx, &x) && x.err.status && x.err.status != 429 && x.err.status != 423) {
			log_msg(LOG_WARN, "change %s not executed: %s", x.id, x.err.message);
			x.block = true;
			store_write(E.st, chg_tx, &x);
		}
	}
	json_decref(due);
}

/* ---- the loop ---- */

static void *engine(void *arg)
{
	(void)arg;
	struct rb_framebuf fb = RB_FRAMEBUF_INIT;
	recover();
	load_queued();
	flush();
	while (E.running) {
		int64_t now = time_now_ms(), next = now + 1000;
		for (struct exe *x = E.list; x; x = x->next)
			if (x->timer && x->timer < next)
				next = x->timer;
		struct pollfd pf[2] = { { E.wake[0], POLLIN, 0 }, { E.sock, POLLIN, 0 } };
		int timeout = next > now ? (int)(next - now) : 0;
		poll(pf, E.sock >= 0 ? 2 : 1, timeout);
		if (!E.running)
			break;
		bool woke = false;
		if (pf[0].revents & POLLIN) {
			char b[256];
			while (read(E.wake[0], b, sizeof(b)) > 0)
				;
			woke = true;
		}
		if (E.sock >= 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			int r = rb_framebuf_fill(&fb, E.sock);
			json_t *m;
			int t;
			while ((t = rb_framebuf_take(&fb, &m)) == 1) {
				on_runner_msg(m);
				json_decref(m);
			}
			if (r <= 0 || t < 0) {
				rb_framebuf_release(&fb);
				runner_lost();
			}
		}
		now = time_now_ms();
		if (woke || now >= E.next_scan) {
			load_queued();
			check_cancels();
			for (struct exe *x = E.list; x; x = x->next)
				if (!strcmp(x->status, "waiting_approval"))
					advance(x);
		}
		for (struct exe *x = E.list; x; x = x->next)
			if (x->timer && x->timer <= now) {
				x->timer = 0;
				advance(x);
			}
		flush();
		if (now >= E.next_scan) {
			E.next_scan = now + 1000;
			scan_changes();
		}
	}
	rb_framebuf_release(&fb);
	return NULL;
}

/* FLYWHEEL_RUNBOOKS_DIR (tests) overrides content.runbooks_dir / runbooks.d beside the config file. */
static void runbooks_dir(const struct server *s, char *out, size_t cap)
{
	const char *env = getenv("FLYWHEEL_RUNBOOKS_DIR");
	if (env && *env)
		snprintf(out, cap, "%s", env);
	else
		config_content_dir(s->cfg, "runbooks.d", out, cap);
}

int rb_supervisor_start(struct server *s)
{
	E.st = s->store;
	E.srv = s;
	ssize_t n = readlink("/proc/self/exe", E.exe_path, sizeof(E.exe_path) - 1);
	if (n <= 0)
		return FW_EIO;
	E.exe_path[n] = '\0';
	if (pipe2(E.wake, O_CLOEXEC | O_NONBLOCK))
		return FW_EIO;
	char dir[512];
	runbooks_dir(s, dir, sizeof(dir));
	if (dir[0])
		rb_import_dir(E.st, dir);
	if (s->cfg->run_as[0] && !getenv("FLYWHEEL_RUNNER_USER"))
		setenv("FLYWHEEL_RUNNER_USER", s->cfg->run_as, 1); /* read by the runner process */
	if (runner_spawn())
		return FW_EIO;
	E.running = true;
	if (pthread_create(&E.thread, NULL, engine, NULL))
		return FW_EIO;
	return 0;
}

void rb_supervisor_reload(struct server *s)
{
	char dir[512];
	runbooks_dir(s, dir, sizeof(dir));
	if (dir[0])
		rb_import_dir(s->store, dir);
}

void rb_supervisor_stop(void)
{
	if (!E.running)
		return;
	E.running = false;
	rb_engine_wake(NULL);
	pthread_join(E.thread, NULL);
	/* Steps still running are abandoned with the runner; on the next start they fail explicitly. */
	if (E.runner_pid > 0) {
		kill(E.runner_pid, SIGTERM);
		waitpid(E.runner_pid, NULL, 0);
	}
	if (E.sock >= 0)
		close(E.sock);
	while (E.list) {
		struct exe *x = E.list;
		E.list = x->next;
		exe_free(x);
	}
}

/* Used by the API for GET /api/v1/automation/rails. */
int rb_runner_pid(void);
int rb_runner_pid(void)
{
	return (int)E.runner_pid;
}
