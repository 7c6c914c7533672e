/* Classification and incidents: the rule an alarm falls under, the alarm's row, incidents and
 * problems opened from alarms (ticket, audit entry, outbox, automation's diagnostics), status changes. */
#include "events/engine_int.h"
#include "audit/audit.h"
#include "automation/automation.h"
#include "http/auth.h"
#include "notify/outbox.h"
#include "store/store.h"
#include "tickets/ticket.h"
#include "tickets/tkt_store.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rules may match on "severity" also when the event carried it as a field rather than a label. */
static bool rule_match(const char *packed, uint8_t sev, const struct evt_matchers *ms)
{
	for (size_t i = 0; i < ms->n; i++) {
		const char *v = evt__packed_get(packed, ms->v[i].name);
		if (!v && sev && !strcmp(ms->v[i].name, "severity"))
			v = evt__sev_names[sev];
		if (!evt_matcher_matches(&ms->v[i], v ? v : ""))
			return false;
	}
	return true;
}

const struct evt_rule *evt__rule_for_sev(uint32_t acct, const char *packed, uint8_t sev)
{
	for (size_t i = 0; i < evt__g.nrules; i++) {
		const struct evt_rule *r = &evt__g.rules[i];
		if (r->account[0] && strcmp(r->account, evt__g.accts[acct]))
			continue;
		if (rule_match(packed, sev, &r->match))
			return r;
	}
	return &evt__g.dflt;
}

const struct evt_rule *evt__rule_for(uint32_t acct, const char *packed)
{
	return evt__rule_for_sev(acct, packed, 0);
}

const struct evt_rule *evt__rule_by_name(const char *name)
{
	for (size_t i = 0; i < evt__g.nrules; i++)
		if (!strcmp(evt__g.rules[i].name, name))
			return &evt__g.rules[i];
	return &evt__g.dflt;
}

/* ---- store rows ---- */

int evt__alarm_row_write(struct store_conn *c, const struct alarm *a, const char *rule)
{
	char *labels = evt__packed_json_text(a->labels);
	int rc = store_exec(c,
	                    "INSERT INTO evt_alarms (account, fp, state, flags, severity, source, labels, "
	                    "annotations, starts_at, "
	                    "ends_at, updated_at, first_seen, count, incident, grp, rule, problem) "
	                    "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17) "
	                    "ON CONFLICT (account, fp) DO UPDATE SET state=$3, flags=$4, severity=$5, "
	                    "source=$6, annotations=$8, "
	                    "starts_at=$9, ends_at=$10, updated_at=$11, count=$13, incident=$14, grp=$15, "
	                    "rule=$16, problem=$17",
	                    SARGS(ST(evt__g.accts[a->acct]), SI((int64_t)a->fp), SI(a->state),
	                          SI(a->flags & ~EVT_AF_DIRTY), ST(evt__sev_names[a->sev]),
	                          ST(evt__src_names[a->src]), ST(labels), ST(a->annot), SI(a->starts_at),
	                          SI(a->ends_at), SI(a->updated_at), SI(a->first_seen), SI(a->count),
	                          SI(a->incident), SI((int64_t)a->grp), ST(rule), SI(a->problem)),
	                    NULL);
	free(labels);
	return rc;
}

/* ---- incidents ---- */

static const char *sev_from_event(const struct alarm *a)
{
	if (a->sev)
		return evt__sev_names[a->sev];
	const char *s = evt__packed_get(a->labels, "severity");
	if (!s)
		return "medium";
	if (!strcmp(s, "critical") || !strcmp(s, "page") || !strcmp(s, "emergency") || !strcmp(s, "fatal"))
		return "critical";
	if (!strcmp(s, "error") || !strcmp(s, "high") || !strcmp(s, "major"))
		return "high";
	if (!strcmp(s, "info") || !strcmp(s, "low") || !strcmp(s, "none") || !strcmp(s, "minor"))
		return "low";
	return "medium";
}

static void sev_levels(const char *sev, const char **impact, const char **urgency)
{
	if (!strcmp(sev, "critical")) {
		*impact = "high";
		*urgency = "high";
	} else if (!strcmp(sev, "high")) {
		*impact = "high";
		*urgency = "medium";
	} else if (!strcmp(sev, "low") || !strcmp(sev, "info")) {
		*impact = "low";
		*urgency = "low";
	} else {
		*impact = "medium";
		*urgency = "medium";
	}
}

void evt__inc_id(uint32_t n, char out[24])
{
	snprintf(out, 24, "INC-%u", n);
}

json_t *evt__alarm_entry(const struct alarm *a, const char *event)
{
	char f[EVT_FINGERPRINT_LEN + 1], ts[32], te[32];
	evt_fingerprint_format(a->fp, f);
	time_fmt_ms(a->starts_at, ts, sizeof(ts));
	time_fmt_ms(a->ends_at, te, sizeof(te));
	json_t *o = json_pack("{s:s,s:s,s:o,s:s}", "event", event, "fingerprint", f, "labels",
	                      evt__packed_json(a->labels), "starts_at", ts);
	if (a->ends_at && !strcmp(event, "resolved"))
		json_object_set_new(o, "ends_at", json_string(te));
	if (a->annot) {
		json_error_t je;
		json_t *an = json_loads(a->annot, 0, &je);
		if (an)
			json_object_set_new(o, "annotations", an);
	}
	return o;
}

/* The alarm as automation's hooks take it (automation.h); a new reference. "incident" is left out:
 * automation resolves that ticket when a remediation succeeds, which is only right for an incident
 * of this alarm alone, so the caller adds it once it knows. */
json_t *evt__alarm_hook_json(const struct alarm *a)
{
	char f[EVT_FINGERPRINT_LEN + 1], ts[32];
	evt_fingerprint_format(a->fp, f);
	time_fmt_ms(a->starts_at, ts, sizeof(ts));
	json_t *an = a->annot ? json_loads(a->annot, 0, NULL) : NULL;
	if (!json_is_object(an)) {
		json_decref(an);
		an = json_object();
	}
	return json_pack("{s:s,s:s,s:o,s:o,s:s,s:s}", "account", evt__g.accts[a->acct], "fingerprint", f,
	                 "labels", evt__packed_json(a->labels), "annotations", an, "status", "firing",
	                 "starts_at", ts);
}

/* Opens an incident for alarm a and queues the diagnostics runbooks matching it (hook_alarm, which
 * gets "incident"; may be NULL) in the same write. */
int evt__incident_open(struct store_conn *c, const struct alarm *a, const struct evt_rule *r,
                       const struct evt_labels *glabels, const char *actor, json_t *hook_alarm, uint32_t *num)
{
	const char *sev = r->severity[0] ? r->severity : sev_from_event(a);
	const char *impact, *urgency;
	sev_levels(sev, &impact, &urgency);
	const char *summary = NULL;
	json_t *an = NULL;
	if (a->annot) {
		json_error_t je;
		an = json_loads(a->annot, 0, &je);
		summary = json_string_value(json_object_get(an, "summary"));
		if (!summary)
			summary = json_string_value(json_object_get(an, "description"));
	}
	const char *name = evt__packed_get(a->labels, "alertname");
	char title[200];
	if (name) {
		char *gk = NULL;
		evt_labels_format(glabels, &gk);
		snprintf(title, sizeof(title), "%s %s", name, gk ? gk : "");
		free(gk);
	} else {
		name = summary ? summary : evt__packed_get(a->labels, "resource");
		snprintf(title, sizeof(title), "%s", name ? name : "alarm");
	}
	json_t *t =
	    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s}", "account", evt__g.accts[a->acct], "title",
	              title, "description", summary ? summary : "", "source", "monitoring", "impact", impact,
	              "urgency", urgency, "severity", strcmp(sev, "info") ? sev : "low", "group_labels",
	              evt_labels_to_json(glabels), "rule", r->name);
	json_decref(an);
	json_object_set_new(t, "priority",
	                    json_string(r->priority[0] ? r->priority : tkt_priority(impact, urgency)));
	json_object_set_new(t, "severity_set", json_true());
	int rc = tkt_insert(c, tkt_kind(TKT_INCIDENT), t, actor);
	if (!rc)
		rc = audit_append(c, actor, evt__g.accts[a->acct], "incident.open",
		                  json_string_value(json_object_get(t, "id")), NULL, t);
	if (!rc)
		rc = outbox_add(c, "incident.opened", evt__g.accts[a->acct], NULL, t);
	if (!rc && hook_alarm) {
		json_object_set(hook_alarm, "incident", json_object_get(t, "id"));
		rc = rb_on_incident(c, t, hook_alarm, NULL);
	}
	if (!rc) {
		const char *id = json_string_value(json_object_get(t, "id"));
		*num = (uint32_t)strtoul(id + 4, NULL, 10);
	}
	json_decref(t);
	return rc;
}

/* Current status of INC-num, "" when unknown. */
void evt__incident_status(struct store_conn *c, uint32_t num, char out[32])
{
	char id[24], *s = NULL;
	evt__inc_id(num, id);
	out[0] = '\0';
	if (!store_query_str(c, "SELECT status FROM tickets WHERE id = $1", SARGS(ST(id)), &s) && s)
		snprintf(out, 32, "%s", s);
	free(s);
}

int evt__incident_set_status(struct store_conn *c, uint32_t num, const char *to, const char *actor,
			       const char *note)
{
	char id[24];
	evt__inc_id(num, id);
	json_t *t = NULL;
	int rc = tkt_load(c, id, &t);
	if (rc)
		return rc == FW_ENOTFOUND ? 0 : rc;
	const char *from = json_string_value(json_object_get(t, "status"));
	if (!from || !strcmp(from, to) || tkt_check_transition(TKT_INCIDENT, from, to, PERM_ALL, NULL)) {
		json_decref(t);
		return 0;
	}
	rc = tkt_set_status(c, t, to, actor, note);
	if (!rc)
		rc = audit_append(c, actor, json_string_value(json_object_get(t, "account")),
		                  "incident.status", id, NULL, t);
	json_decref(t);
	return rc;
}

int evt__problem_open(struct store_conn *c, struct alarm *a, const struct evt_rule *r, const char *actor)
{
	char status[32] = "";
	if (a->problem) {
		char id[24], *s = NULL;
		snprintf(id, sizeof(id), "PRB-%u", a->problem);
		if (!store_query_str(c, "SELECT status FROM tickets WHERE id = $1", SARGS(ST(id)), &s) && s)
			snprintf(status, sizeof(status), "%s", s);
		free(s);
		if (status[0] && strcmp(status, "resolved") && strcmp(status, "closed"))
			return 0; /* still open */
	}
	const char *name = evt__packed_get(a->labels, "alertname");
	char *ls = NULL;
	evt_labels_format(&(struct evt_labels){ 0 }, &ls);
	free(ls);
	char *lab = evt__packed_json_text(a->labels);
	char title[200];
	snprintf(title, sizeof(title), "Recurring alarm %s", name ? name : lab);
	char desc[1024];
	snprintf(desc, sizeof(desc), "Alarm %s fired %u times within %lld minutes (rule %s).", lab,
		 r->problem_threshold, (long long)(r->problem_window_ms / 60000), r->name);
	free(lab);
	json_t *t = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "account", evt__g.accts[a->acct], "title",
	                      title, "description", desc, "source", "monitoring", "impact", "medium",
	                      "urgency", "medium", "rule", r->name);
	json_object_set_new(t, "priority", json_string(tkt_priority("medium", "medium")));
	json_object_set_new(t, "severity", json_string("medium"));
	int rc = tkt_insert(c, tkt_kind(TKT_PROBLEM), t, actor);
	if (!rc) {
		const char *id = json_string_value(json_object_get(t, "id"));
		a->problem = (uint32_t)strtoul(id + 4, NULL, 10);
		rc = audit_append(c, actor, evt__g.accts[a->acct], "problem.open", id, NULL, t);
		if (!rc && a->incident) {
			char inc[24];
			evt__inc_id(a->incident, inc);
			rc = tkt_link(c, inc, id, "problem");
		}
	}
	json_decref(t);
	return rc;
}
