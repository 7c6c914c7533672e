#ifndef EVT_ENGINE_H
#define EVT_ENGINE_H
/* The event pipeline: normalized events in, alarms, suppression, groups and incidents out.
 *
 * State lives in memory (an index of alarms keyed by account and fingerprint, the groups, the
 * silences, maintenance windows and rules) and is mirrored in the store. A repeat of an active
 * alarm only refreshes memory and is checkpointed lazily (every 10 seconds); every state
 * change (new alarm, firing -> resolved, resolved -> firing, incident opened, joined or resolved,
 * silence or window created, expired or removed) is written through store_write() before the
 * ingest call returns, so the caller may answer 2xx once evt_ingest() returned 0.
 * One mutex guards the memory; writes run in the store's writer thread (docs/internals/events.md). */

#include "events/labels.h"
#include "events/matcher.h"
#include "events/window.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct server;
struct store;
struct fw_error;

/* A normalized event, filled by an adapter. The engine borrows everything. */
struct evt_event {
	char account[16];
	const char *source;	   /* "native", "prometheus", "pagerduty", "cloudwatch", "eventbridge" */
	struct evt_labels labels;  /* identity: the fingerprint is computed over these */
	const json_t *annotations; /* object of strings (summary, description …) or NULL */
	const char *annot_json;	   /* or: the annotations already as compact JSON text (fast path) */
	const char *severity;	   /* critical|high|medium|low|info, or NULL (then the "severity" label) */
	int64_t starts_at;	   /* ms, 0 = now */
	int64_t ends_at;	   /* ms, 0 = open ended; <= now means resolved */
	bool timeout;		   /* ends_at was defaulted (Alertmanager's resolve_timeout) */
	bool acknowledge;	   /* PagerDuty acknowledge: no state change of the alarm, acks its incident */
	bool drop_unknown_resolve; /* a resolve for an alarm that does not exist is dropped (PagerDuty) */
};

/* What happened to one event. */
struct evt_result {
	uint64_t fp;
	char state[12];	    /* "firing", "resolved", "dropped" */
	char incident[24];  /* "INC-7" or "" */
	char suppressed[16]; /* "", "silenced", "maintenance", "inhibited", "flapping", "non_impacting" */
};

/* Runs the pipeline for n events of one request. res (n entries, may be NULL) gets the outcome.
 * Returns 0 once every state change is durable, or a negative code (FW_ESTORE). */
int evt_ingest(struct evt_event *ev, size_t n, const char *actor, struct evt_result *res);

/* Counts raw events received for an account that did not reach the pipeline (rejected ones are
 * not counted); evt_ingest counts its own. */

/* ---- reading alarms ---- */

/* A copy of one alarm, for listings. Owned by the caller: evt_alarm_views_free(). */
struct evt_alarm_view {
	char account[16];
	uint64_t fp;
	bool firing;
	unsigned flags;	    /* EVT_AF_* */
	char severity[12];
	char source[16];
	struct evt_labels labels;
	json_t *annotations; /* object, never NULL */
	int64_t starts_at, ends_at, updated_at, first_seen;
	uint32_t count;
	uint32_t incident;  /* INC number, 0 = none */
	char rule[64];
	json_t *silenced_by;  /* array of silence ids active now */
	json_t *inhibited_by; /* array of fingerprints */
	bool in_maintenance;
};

enum {
	EVT_AF_TIMEOUT = 1,
	EVT_AF_SILENCED = 2,
	EVT_AF_INHIBITED = 4,
	EVT_AF_MAINT = 8,
	EVT_AF_FLAPPING = 16,
	EVT_AF_NONIMPACT = 32,
	EVT_AF_ACKED = 64,
	EVT_AF_DIRTY = 128,
};

/* Decides whether a caller may see an account (for listings). */
typedef bool (*evt_visible_fn)(const char *account, void *arg);

/* Copies the alarms visible per fn that match ms (may be NULL), sorted by fingerprint.
 * With only_active, alarms whose ends_at passed are left out. Returns 0, or FW_ENOMEM with an empty
 * list. The engine's lock is taken in slices, so a listing of a million alarms does not hold events
 * up; an alarm that changes meanwhile is listed as it was when its slice was copied. */
int evt_alarms_list(evt_visible_fn fn, void *arg, const struct evt_matchers *ms, bool only_active,
		    struct evt_alarm_view **out, size_t *n);
void evt_alarm_views_free(struct evt_alarm_view *v, size_t n);
/* The alarm with fingerprint fp among the accounts visible per fn (the first such account in byte
 * order when several have one), without copying the others: one index lookup per account.
 * FW_ENOTFOUND when there is none. out is filled like an entry of evt_alarms_list; a malloc'd out
 * is released with evt_alarm_views_free(out, 1). */
int evt_alarm_find_visible(uint64_t fp, evt_visible_fn fn, void *arg, struct evt_alarm_view *out);
/* One alarm; FW_ENOTFOUND when unknown. */
int evt_alarm_get(const char *account, uint64_t fp, struct evt_alarm_view *out);
/* The group_by labels (as JSON object) and rule name the pipeline uses for an alarm's labels. */
json_t *evt_group_labels(const char *account, const struct evt_labels *ls, char rule[64]);

/* ---- silences (Alertmanager semantics) ---- */

struct evt_silence_view {
	char id[40];
	char account[16];
	json_t *matchers; /* array of matcher objects */
	int64_t starts_at, ends_at, updated_at;
	char *created_by, *comment;
	const char *state; /* "active", "pending", "expired" (static) */
};

/* Creates or updates a silence from Alertmanager's postableSilence rules (PROTOCOLS.md 1.5).
 * id may be NULL/"" for a new one. On success id_out (cap 40) gets the silence's id.
 * Errors carry Alertmanager's messages in e (400, 404). */
int evt_silence_put(const char *account, const char *id, const json_t *matchers, int64_t starts_at,
		    int64_t ends_at, const char *created_by, const char *comment, const char *actor,
		    char id_out[40], struct fw_error *e);
/* Expires a silence (AM DELETE semantics). FW_ENOTFOUND when unknown or not visible per fn. */
int evt_silence_expire(const char *id, evt_visible_fn fn, void *arg, const char *actor);
/* Lists silences visible per fn; sorted the Alertmanager way. */
int evt_silences_list(evt_visible_fn fn, void *arg, struct evt_silence_view **out, size_t *n);
int evt_silence_get(const char *id, struct evt_silence_view *out);
void evt_silence_views_free(struct evt_silence_view *v, size_t n);

/* ---- maintenance windows ---- */

/* doc: {"name","matchers":[…] or "matchers":"text", "timezone","days","start"|"cron","duration"}.
 * Returns the stored form in *out (new reference). */
int evt_window_create(const char *account, const json_t *doc, const char *actor, json_t **out,
		      struct fw_error *e);
int evt_window_delete(const char *id, evt_visible_fn fn, void *arg, const char *actor);
/* Windows visible per fn, each with "active" and the occurrences between from and to (seconds). */
json_t *evt_windows_list(evt_visible_fn fn, void *arg, int64_t from, int64_t to);

/* ---- rules ---- */

/* The rules as JSON: {"rules":[…],"inhibit_rules":[…]} (new reference). */
json_t *evt_rules_json(void);
/* Validates and stores one rule (kind "rule" or "inhibit"), replacing one of the same name.
 * origin is "api" or "file". */
int evt_rule_put(const json_t *doc, bool inhibit, const char *origin, const char *actor, struct fw_error *e);
int evt_rule_delete(const char *name, const char *actor);
/* Reloads the *.yaml files of the rules directory into the store (origin "file") and the rules into memory. */
int evt_rules_reload_dir(const char *dir);

/* ---- KPIs ---- */

/* Noise KPIs per account and day between from and to ("YYYY-MM-DD", inclusive), visible per fn. */
json_t *evt_kpi_noise(evt_visible_fn fn, void *arg, const char *from, const char *to);

/* ---- lifecycle ---- */

/* Loads everything from the store and starts the checkpoint/sweeper thread. */
int evt_engine_start(struct server *s);
void evt_engine_reload(struct server *s);
void evt_engine_stop(void);
/* Alarms in memory (for /metrics and tests). */
size_t evt_alarm_count(void);

#endif
