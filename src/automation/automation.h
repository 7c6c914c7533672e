#ifndef FW_AUTOMATION_H
#define FW_AUTOMATION_H
/* Automation as the rest of the daemon sees it: triggers from alarms and incidents, execution
 * requests with safety rails, and the daemon module that runs them.
 *
 * Every function taking a struct store_conn runs INSIDE a store_write function (the outbox
 * pattern): the execution row it queues commits with the caller's change, and the runner is only
 * told after commit. None of them fork or block on a step. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct store_conn;
struct fw_error;

/* ---- alarm and incident hooks (for the events pipeline) ----
 *
 * An alarm is the JSON the events module already has:
 *   {"account":"123456789012", "fingerprint":"…", "labels":{…}, "annotations":{…},
 *    "status":"firing", "starts_at":"RFC 3339" (optional), "id":"…" (optional),
 *    "incident":"INC-7" (optional: the incident already opened for it)}
 * Runbooks declare triggers {type: auto_remediation|diagnostics, match: {label: value | "~regex"},
 * prevent_incident, resource_label, inputs}. A runbook without an `account` applies to every
 * account; otherwise only to alarms of that account. */

enum rb_alarm_outcome {
	RB_ALARM_NO_MATCH = 0,    /* no auto-remediation runbook matches: page as usual */
	RB_ALARM_REMEDIATING = 1, /* remediation queued; see prevent_incident */
	RB_ALARM_PAGE = 2,        /* a runbook matched but a rail refused it (kill switch, breaker, rate,
				   * concurrency): open the incident / page as usual */
};

struct rb_alarm_result {
	enum rb_alarm_outcome outcome;
	bool prevent_incident;  /* every queued remediation asked to hold the incident back: do not open it
				 * now. If the remediation fails, automation opens the incident itself. */
	int queued;             /* executions queued */
	char execution[32];     /* the first one's id ("EXE-12"), "" when none */
	char reason[200];       /* for RB_ALARM_PAGE: which rail refused */
};

/* Called by the alarm pipeline, inside its store_write, when an alarm starts firing (not on every
 * repeat). Queues matching auto-remediation runbooks after the rails agree. Returns 0 or a store
 * error (roll back then). out may be NULL. */
int rb_on_alarm(struct store_conn *c, const json_t *alarm, struct rb_alarm_result *out);

/* Called inside the store_write that creates an incident from an alarm: queues the diagnostics
 * runbooks whose triggers match the alarm's labels, for that incident; their diagnostics steps
 * attach their output to the incident's timeline (type "diagnostics"). alarm may be NULL (then
 * nothing matches). *queued (may be NULL) gets the number queued. Returns 0 or a store error. */
int rb_on_incident(struct store_conn *c, const json_t *incident, const json_t *alarm, int *queued);

/* A `set` step with `resolve_alarm: true` and a successful auto-remediation call this, inside a
 * store_write, to resolve the alarm. The events module registers it at start; until then the
 * resolution is only recorded on the execution ("alarm_resolved": true). */
typedef int (*rb_alarm_resolver)(struct store_conn *c, const char *account, const char *fingerprint,
				 const char *actor);
void rb_set_alarm_resolver(rb_alarm_resolver fn);

/* ---- executions (used by the API and the triggers) ---- */

struct rb_request {
	const char *runbook;   /* name */
	const char *account;   /* may be NULL for a global runbook run by a global operator */
	const json_t *inputs;  /* may be NULL */
	const char *trigger;   /* "manual", "alarm", "diagnostics", "change" */
	const char *actor;     /* principal id or "automation" */
	const char *ticket;    /* incident / change id, or NULL */
	const json_t *alarm;   /* may be NULL */
	const char *resource;  /* rail key for per-resource limits, or NULL */
	bool prevent_incident;
	int64_t not_before;    /* ms; 0 = at once */
};

/* Validates inputs, applies the rails, and queues an execution of the runbook's current version.
 * On success *id (cap ≥ 32) gets "EXE-n". Errors fill e: 404 unknown runbook, 422 invalid_input,
 * 423 automation_disabled (kill switch), 429 rate_limited / concurrency_limit, 409 circuit_open
 * (automatic triggers only). Each refusal is audited as "rail.refused". */
int rb_execution_queue(struct store_conn *c, const struct rb_request *rq, char *id, struct fw_error *e);

/* Starts a change's runbook: the change (approved or scheduled, with a "runbook") moves to
 * executing and an execution is queued, in the caller's write. executor is the principal who runs
 * it ("automation" for the scheduler); it may not be one of the change's approvers (403
 * two_person_rule). Other errors: 404, 409 invalid_transition, 422 no runbook, and the rails.
 * *exec_id (cap ≥ 32) gets the execution id. */
int rb_change_execute(struct store_conn *c, const char *change, const char *executor, char *exec_id,
		      struct fw_error *e);

/* Wakes the engine after commit (store_after_commit callback; arg unused). */
void rb_engine_wake(void *arg);

/* Loads the current spec of a runbook: *spec and *version. FW_ENOTFOUND when there is none. */
int rb_spec_load(struct store_conn *c, const char *name, int64_t version, json_t **spec, int64_t *version_out);

/* Renders the plan of a dry run: every step with its argv / env / url after templating with the
 * given inputs. *plan is a new reference. */
int rb_dry_run(const json_t *spec, const json_t *inputs, const json_t *ctx_extra, json_t **plan, struct fw_error *e);

/* True when the global kill switch is on. */
bool rb_kill_switch(struct store_conn *c);

/* Imports *.yaml of the runbooks directory (FLYWHEEL_RUNBOOKS_DIR, default none) into the store;
 * a file whose text changed becomes a new version. Invalid files are logged with file:line:field
 * and skipped. Returns the number of files that failed. */
struct store;
int rb_import_dir(struct store *st, const char *dir);

/* Drops the cached trigger table (after a runbook changes). */
void rb_triggers_invalidate(void);

/* The daemon module (supervisor.c): start imports runbooks.d, starts the runner process and the
 * engine thread; reload re-imports runbooks.d; stop ends both (steps still running are failed
 * explicitly on the next start). */
struct server;
int rb_supervisor_start(struct server *s);
void rb_supervisor_reload(struct server *s);
void rb_supervisor_stop(void);

#endif
