/* PagerDuty Events API v2 (PROTOCOLS.md 2): /v2/enqueue (trigger, acknowledge, resolve with a
 * dedup_key) and /v2/change/enqueue. The routing key is an integration key made with
 * POST /api/v1/integrations {"type":"pagerduty"}: it names the account and the service.
 * A trigger's identity is {dedup_key, service}; what else it says becomes annotations. */
#include "api/events.h"
#include "audit/audit.h"
#include "compat/evcompat.h"
#include "events/engine.h"
#include "http/req.h"
#include "http/server.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PD_BODY_MAX (512 * 1024)

static int pd_error(struct req *r, const char *err)
{
	json_t *o = json_pack("{s:s,s:s,s:[s]}", "status", "invalid event", "message", "Event object is invalid",
			      "errors", err);
	req_json(r, 400, o);
	return FW_EINVAL;
}

static const char *pd_severity(const char *s)
{
	if (!strcmp(s, "critical"))
		return "critical";
	if (!strcmp(s, "error"))
		return "high";
	if (!strcmp(s, "warning"))
		return "medium";
	return "info";
}

/* Loads the body and the integration of its routing key. */
static int pd_begin(struct req *r, json_t **body, char account[16], char service[128])
{
	if (r->body.len > PD_BODY_MAX)
		return req_fail(r, 413, "body_too_large", "PagerDuty events are limited to 512 KB");
	json_error_t je;
	*body = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &je);
	if (!*body || !json_is_object(*body)) {
		json_decref(*body);
		*body = NULL;
		return pd_error(r, "JSON parse error");
	}
	const char *key = json_string_value(json_object_get(*body, "routing_key"));
	if (!key || !*key)
		return pd_error(r, "'routing_key' is missing or blank");
	char type[16];
	int rc = evt_integration_lookup(r, key, account, service, type, NULL);
	if (rc == FW_ENOTFOUND || (!rc && strcmp(type, "pagerduty")))
		return pd_error(r, "Invalid routing key");
	if (rc)
		return req_fail(r, 503, "store_unavailable", "the store could not be read; try again");
	return 0;
}

static void put_str(json_t *an, const char *k, const json_t *v)
{
	if (json_is_string(v) && json_string_length(v))
		json_object_set_new(an, k, json_string(json_string_value(v)));
}

int pd_enqueue(struct req *r)
{
	json_t *body = NULL, *an = NULL;
	char account[16], service[128];
	struct evt_event ev = { 0 };
	int rc = pd_begin(r, &body, account, service);
	if (rc)
		goto out;
	const char *action = json_string_value(json_object_get(body, "event_action"));
	if (!action || (strcmp(action, "trigger") && strcmp(action, "acknowledge") && strcmp(action, "resolve"))) {
		rc = pd_error(r, "'event_action' is invalid (must be one of: trigger, acknowledge, resolve)");
		goto out;
	}
	const json_t *dk = json_object_get(body, "dedup_key");
	char key[300];
	if (dk && !json_is_null(dk) && (!json_is_string(dk) || json_string_length(dk) > 255)) {
		rc = pd_error(r, "'dedup_key' must be a string of at most 255 characters");
		goto out;
	}
	bool trigger = !strcmp(action, "trigger");
	if (json_is_string(dk) && json_string_length(dk)) {
		snprintf(key, sizeof(key), "%s", json_string_value(dk));
	} else if (trigger) {
		crypto_random_hex(16, key, sizeof(key));
	} else {
		rc = pd_error(r, "'dedup_key' is missing or blank");
		goto out;
	}
	const json_t *p = json_object_get(body, "payload");
	const char *sev = NULL;
	an = json_object();
	if (trigger) {
		if (!json_is_object(p)) {
			rc = pd_error(r, "'payload' is missing or not an object");
			goto out;
		}
		const char *summary = json_string_value(json_object_get(p, "summary"));
		const char *source = json_string_value(json_object_get(p, "source"));
		sev = json_string_value(json_object_get(p, "severity"));
		if (!summary || !*summary || json_string_length(json_object_get(p, "summary")) > 1024) {
			rc = pd_error(r, "'payload.summary' is missing or longer than 1024 characters");
			goto out;
		}
		if (!source || !*source) {
			rc = pd_error(r, "'payload.source' is missing or blank");
			goto out;
		}
		if (!sev || (strcmp(sev, "critical") && strcmp(sev, "error") && strcmp(sev, "warning") && strcmp(sev, "info"))) {
			rc = pd_error(r, "'payload.severity' is invalid (must be one of: critical, error, warning, info)");
			goto out;
		}
		const json_t *ts = json_object_get(p, "timestamp");
		int64_t t = 0;
		if (json_is_string(ts) && time_parse_rfc3339(json_string_value(ts), &t)) {
			rc = pd_error(r, "'payload.timestamp' is not an ISO 8601 time");
			goto out;
		}
		ev.starts_at = t;
		put_str(an, "summary", json_object_get(p, "summary"));
		put_str(an, "source", json_object_get(p, "source"));
		put_str(an, "component", json_object_get(p, "component"));
		put_str(an, "group", json_object_get(p, "group"));
		put_str(an, "class", json_object_get(p, "class"));
		put_str(an, "client", json_object_get(body, "client"));
		put_str(an, "client_url", json_object_get(body, "client_url"));
		const json_t *cd = json_object_get(p, "custom_details");
		if (cd && !json_is_null(cd)) {
			char *s = json_dumps(cd, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
			if (s)
				json_object_set_new(an, "custom_details", json_string(s));
			free(s);
		}
	}
	snprintf(ev.account, sizeof(ev.account), "%s", account);
	evt_labels_init(&ev.labels);
	if (evt_labels_set(&ev.labels, "dedup_key", key) || evt_labels_set(&ev.labels, "service", service)) {
		rc = FW_ENOMEM;
		goto out;
	}
	if (!evt_utf8_valid(key, strlen(key))) {
		rc = pd_error(r, "'dedup_key' is not valid UTF-8");
		goto out;
	}
	ev.source = "pagerduty";
	ev.severity = sev ? pd_severity(sev) : NULL;
	ev.annotations = an;
	if (!strcmp(action, "resolve")) {
		ev.ends_at = time_now_ms();
		ev.drop_unknown_resolve = true;
	}
	ev.acknowledge = !strcmp(action, "acknowledge");
	if ((rc = evt_ingest(&ev, 1, "pagerduty", NULL)))
		goto out;
	req_json(r, 202, json_pack("{s:s,s:s,s:s}", "status", "success", "message", "Event processed", "dedup_key", key));
out:
	evt_labels_release(&ev.labels);
	json_decref(an);
	json_decref(body);
	return rc;
}

struct change_ctx {
	const char *account, *source, *summary;
	char *payload;
};

static int change_tx(struct store_conn *c, void *arg)
{
	struct change_ctx *x = arg;
	int64_t seq = 0;
	int rc = store_counter_next(c, "evt_change", &seq);
	if (!rc)
		rc = store_exec(c, "INSERT INTO evt_changes (seq, account, at, source, summary, payload) VALUES ($1,$2,$3,$4,$5,$6)",
				SARGS(SI(seq), ST(x->account), SI(time_now_ms()), ST(x->source), ST(x->summary),
				      ST(x->payload)),
				NULL);
	if (!rc) {
		char obj[32];
		snprintf(obj, sizeof(obj), "change-%lld", (long long)seq);
		rc = audit_append(c, "pagerduty", x->account, "change.event", obj, NULL, NULL);
	}
	return rc;
}

int pd_change_enqueue(struct req *r)
{
	json_t *body = NULL;
	char account[16], service[128];
	int rc = pd_begin(r, &body, account, service);
	if (rc)
		goto out;
	const json_t *p = json_object_get(body, "payload");
	const char *summary = json_string_value(json_object_get(p, "summary"));
	if (!json_is_object(p) || !summary || !*summary || json_string_length(json_object_get(p, "summary")) > 1024) {
		rc = pd_error(r, "'payload.summary' is missing or longer than 1024 characters");
		goto out;
	}
	json_t *rec = json_deep_copy(body);
	json_object_del(rec, "routing_key");
	json_object_set_new(rec, "service", json_string(service));
	struct change_ctx x = { account, json_string_value(json_object_get(p, "source")), summary,
				json_dumps(rec, JSON_COMPACT) };
	json_decref(rec);
	rc = store_write(r->srv->store, change_tx, &x);
	free(x.payload);
	if (!rc)
		req_json(r, 202, json_pack("{s:s,s:s}", "status", "success", "message", "Change event processed"));
out:
	json_decref(body);
	return rc;
}
