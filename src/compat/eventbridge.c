/* EventBridge envelopes (PROTOCOLS.md 6.3): GuardDuty findings and AWS Health events become
 * events with labels that identify the finding or the Health event, and a severity. Other
 * sources are taken as they are: detail-type names the alarm, the first resource identifies it. */
#include "api/events.h"
#include "compat/evcompat.h"
#include "events/engine.h"
#include "http/auth.h"
#include "http/req.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void label(struct evt_event *ev, const char *k, const char *v)
{
	if (v && *v)
		evt_labels_set(&ev->labels, k, v);
}

/* "Wed, 12 Feb 2025 00:37:54 GMT" (RFC 1123), or RFC 3339. 0 when absent or unreadable. */
static int64_t health_time(const char *s)
{
	int64_t ms = 0;
	if (!s || !*s)
		return 0;
	if (!time_parse_rfc3339(s, &ms))
		return ms;
	struct tm tm = { 0 };
	const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm);
	if (!end)
		return 0;
	return (int64_t)timegm(&tm) * 1000;
}

int eb_event_from_envelope(const json_t *env, struct evt_event *ev, json_t **annot, struct fw_error *e)
{
	if (!json_is_object(env))
		return fw_fail(e, 422, "invalid_type", "an EventBridge event must be a JSON object");
	const char *dt = str(env, "detail-type"), *src = str(env, "source");
	const json_t *d = json_object_get(env, "detail");
	if (!*dt || !*src)
		return fw_fail(e, 422, "missing_field", "an EventBridge event needs 'source' and 'detail-type'");
	if (d && !json_is_object(d))
		return fw_fail(e, 422, "invalid_field", "field 'detail' must be an object");
	evt_labels_init(&ev->labels);
	json_t *an = json_object();
	*annot = an;
	ev->source = "eventbridge";
	label(ev, "source", src);
	label(ev, "region", str(env, "region"));
	if (!strcmp(src, "aws.guardduty")) {
		char name[300];
		snprintf(name, sizeof(name), "GuardDuty: %s", str(d, "type"));
		label(ev, "alertname", name);
		label(ev, "finding_id", str(d, "id"));
		label(ev, "resource_type", str(json_object_get(d, "resource"), "resourceType"));
		const char *inst = str(json_object_get(json_object_get(d, "resource"), "instanceDetails"), "instanceId");
		label(ev, "instance", inst);
		double sev = json_number_value(json_object_get(d, "severity"));
		ev->severity = sev >= 9.0 ? "critical" : sev >= 7.0 ? "high" : sev >= 4.0 ? "medium" : "low";
		json_object_set_new(an, "summary", json_string(str(d, "title")));
		json_object_set_new(an, "description", json_string(str(d, "description")));
		char sv[32];
		snprintf(sv, sizeof(sv), "%g", sev);
		json_object_set_new(an, "guardduty_severity", json_string(sv));
		if (json_is_true(json_object_get(json_object_get(d, "service"), "archived")))
			ev->ends_at = time_now_ms();
		int64_t t = 0;
		if (!time_parse_rfc3339(str(d, "createdAt"), &t))
			ev->starts_at = t;
	} else if (!strcmp(src, "aws.health")) {
		char name[300];
		snprintf(name, sizeof(name), "AWS Health: %s", str(d, "eventTypeCode"));
		label(ev, "alertname", name);
		label(ev, "event_arn", str(d, "eventArn"));
		label(ev, "service", str(d, "service"));
		if (*str(d, "eventRegion"))
			evt_labels_set(&ev->labels, "region", str(d, "eventRegion"));
		const char *cat = str(d, "eventTypeCategory");
		ev->severity = !strcmp(cat, "issue")		   ? "high"
			       : !strcmp(cat, "investigation")	   ? "medium"
			       : !strcmp(cat, "scheduledChange") ? "low"
								   : "info";
		const json_t *desc = json_object_get(d, "eventDescription");
		const char *text = str(json_array_get(desc, 0), "latestDescription");
		json_object_set_new(an, "summary", json_stringn(text, strlen(text) > 1000 ? 1000 : strlen(text)));
		json_object_set_new(an, "category", json_string(cat));
		json_object_set_new(an, "status", json_string(str(d, "statusCode")));
		json_t *ents = json_array();
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(d, "affectedEntities"), i, it)
			json_array_append_new(ents, json_string(str(it, "entityValue")));
		char *es = json_dumps(ents, JSON_COMPACT);
		json_decref(ents);
		json_object_set_new(an, "affected_entities", json_string(es ? es : "[]"));
		free(es);
		ev->starts_at = health_time(str(d, "startTime"));
		if (!strcmp(str(d, "statusCode"), "closed")) {
			int64_t end = health_time(str(d, "endTime"));
			ev->ends_at = end && end <= time_now_ms() ? end : time_now_ms();
			if (ev->starts_at > ev->ends_at)
				ev->starts_at = ev->ends_at;
		}
	} else {
		label(ev, "alertname", dt);
		const char *res = json_string_value(json_array_get(json_object_get(env, "resources"), 0));
		label(ev, "resource", res);
		ev->severity = "medium";
		json_object_set_new(an, "summary", json_string(dt));
		if (d) {
			char *ds = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
			if (ds && strlen(ds) < 8000)
				json_object_set_new(an, "detail", json_string(ds));
			free(ds);
		}
	}
	if (*str(env, "id"))
		json_object_set_new(an, "event_id", json_string(str(env, "id")));
	/* Drop empty annotations so they validate as Alertmanager's do. */
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(an, tmp, k, v)
		if (!json_string_length(v))
			json_object_del(an, k);
	if (ev->labels.n < 2)
		return fw_fail(e, 422, "invalid_field", "the event does not identify what it is about");
	return 0;
}

int eb_post(struct req *r)
{
	int rc = evt_api_auth(r);
	if (rc)
		return rc;
	json_t *body;
	if ((rc = req_body_json(r, true, &body)))
		return rc;
	size_t n = json_is_array(body) ? json_array_size(body) : 1;
	if (n > 100) {
		json_decref(body);
		return req_fail(r, 413, "too_many_events", "at most 100 EventBridge events per request; got %zu", n);
	}
	struct evt_event *ev = calloc(n + 1, sizeof(*ev));
	json_t **an = calloc(n + 1, sizeof(json_t *));
	struct evt_result *res = calloc(n + 1, sizeof(*res));
	struct fw_error e;
	for (size_t i = 0; i < n && !rc; i++) {
		const json_t *env = json_is_array(body) ? json_array_get(body, i) : body;
		rc = eb_event_from_envelope(env, &ev[i], &an[i], &e);
		if (!rc) {
			const char *acct = json_string_value(json_object_get(env, "account"));
			/* An AWS account id that is also a flywheel account the caller may use; otherwise the token's. */
			if (acct && (evt_api_perms(r, acct) & PERM_SUBMIT))
				rc = evt_api_event_account(r, acct, ev[i].account, &e);
			else
				rc = evt_api_event_account(r, NULL, ev[i].account, &e);
		}
		ev[i].annotations = an[i];
		if (rc)
			req_fail_from(r, &e);
	}
	if (!rc)
		rc = evt_ingest(ev, n, r->auth->principal, res);
	if (!rc) {
		json_t *items = json_array();
		for (size_t i = 0; i < n; i++) {
			char f[EVT_FINGERPRINT_LEN + 1];
			evt_fingerprint_format(res[i].fp, f);
			json_t *o = json_pack("{s:s,s:s,s:s}", "account", ev[i].account, "fingerprint", f, "status", res[i].state);
			json_object_set_new(o, "incident", res[i].incident[0] ? json_string(res[i].incident) : json_null());
			json_array_append_new(items, o);
		}
		req_json(r, 200, json_pack("{s:o}", "items", items));
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
