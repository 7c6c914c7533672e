#include "sla/policy.h"
#include "tickets/ticket.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>

static const char *const target_keys[] = { "P1", "P2", "P3", "P4", "critical", "high", "medium", "low", NULL };

static int duration(const json_t *v, const char *key, const char *field, long *out, struct fw_error *e)
{
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	int64_t ms = 0;
	if (json_is_integer(v))
		ms = json_integer_value(v) * 1000;
	else if (!json_is_string(v) || time_parse_duration(json_string_value(v), &ms))
		return fw_fail(e, 422, "invalid_target",
			       "targets.%s.%s must be a duration like \"15m\", \"4h\", \"2d\" or a number of seconds", key,
			       field);
	if (ms < 1000 || ms > 3650LL * 86400 * 1000)
		return fw_fail(e, 422, "invalid_target", "targets.%s.%s must be from 1 second to 10 years", key, field);
	*out = (long)(ms / 1000);
	return 0;
}

int sla_policy_parse(const json_t *obj, struct sla_policy *out, struct fw_error *e)
{
	struct sla_calendar init = SLA_CALENDAR_INIT;
	memset(out, 0, sizeof(*out));
	out->cal = init;
	if (!json_is_object(obj))
		return fw_fail(e, 422, "invalid_policy", "a policy must be a JSON object");
	const char *type = json_string_value(json_object_get(obj, "type"));
	if (type && strcmp(type, "sla") && strcmp(type, "ola"))
		return fw_fail(e, 422, "invalid_field", "field 'type' must be sla or ola");
	out->ola = type && !strcmp(type, "ola");
	if (out->ola && !json_is_string(json_object_get(obj, "group")))
		return fw_fail(e, 422, "missing_field", "an OLA needs 'group', the assignment group it binds");

	const json_t *kinds = json_object_get(obj, "kinds");
	if (kinds && !json_is_null(kinds)) {
		if (!json_is_array(kinds) || !json_array_size(kinds))
			return fw_fail(e, 422, "invalid_field", "field 'kinds' must be a non-empty list of ticket kinds");
		for (size_t i = 0; i < json_array_size(kinds); i++) {
			const struct tkt_kind_info *k = tkt_kind_by_name(json_string_value(json_array_get(kinds, i)) ?: "");
			if (!k)
				return fw_fail(e, 422, "invalid_field",
					       "kinds[%zu] is not a ticket kind; use incident, problem, request, change", i);
			out->kinds |= 1u << k->kind;
		}
	} else {
		out->kinds = 1u << TKT_INCIDENT;
	}

	const json_t *targets = json_object_get(obj, "targets");
	if (!json_is_object(targets) || !json_object_size(targets))
		return fw_fail(e, 422, "missing_field",
			       "field 'targets' is required: {\"P1\": {\"response\": \"15m\", \"resolution\": \"4h\"}, …}");
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)targets, key, v) {
		bool known = false;
		for (const char *const *k = target_keys; *k; k++)
			known |= !strcmp(*k, key);
		if (!known)
			return fw_fail(e, 422, "invalid_target",
				       "targets.%.20s is not a priority or severity; use P1-P4 or critical, high, medium, low",
				       key);
		if (!json_is_object(v))
			return fw_fail(e, 422, "invalid_target", "targets.%s must be {\"response\": …, \"resolution\": …}", key);
		struct sla_target *t = &out->targets[out->n_targets++];
		snprintf(t->key, sizeof(t->key), "%s", key);
		int rc = duration(json_object_get(v, "response"), key, "response", &t->response, e);
		if (!rc)
			rc = duration(json_object_get(v, "resolution"), key, "resolution", &t->resolution, e);
		if (rc)
			return rc;
		if (!t->response && !t->resolution)
			return fw_fail(e, 422, "invalid_target", "targets.%s needs a response or a resolution target", key);
		if (t->response && t->resolution && t->response > t->resolution)
			return fw_fail(e, 422, "invalid_target",
				       "targets.%s: the response target is longer than the resolution target", key);
	}

	const json_t *w = json_object_get(obj, "warnings");
	if (w && !json_is_null(w)) {
		if (!json_is_array(w) || json_array_size(w) > SLA_MAX_WARNINGS)
			return fw_fail(e, 422, "invalid_warnings", "field 'warnings' must be a list of at most %d fractions",
				       SLA_MAX_WARNINGS);
		struct sla_clock probe;
		double f[SLA_MAX_WARNINGS];
		for (size_t i = 0; i < json_array_size(w); i++) {
			if (!json_is_number(json_array_get(w, i)))
				return fw_fail(e, 422, "invalid_warnings", "warnings[%zu] must be a number between 0 and 1", i);
			f[i] = json_number_value(json_array_get(w, i));
		}
		sla_clock_init(&probe, &out->cal, SLA_RESPONSE, 1, 0, NULL);
		int rc = sla_clock_set_warnings(&probe, f, json_array_size(w), e);
		if (rc)
			return rc;
		out->n_warnings = probe.n_warnings;
		memcpy(out->warnings, probe.warnings, sizeof(out->warnings));
	}

	const json_t *ps = json_object_get(obj, "pause_statuses");
	if (ps && !json_is_null(ps)) {
		if (!json_is_array(ps) || json_array_size(ps) > SLA_POLICY_MAX_PAUSES)
			return fw_fail(e, 422, "invalid_field", "field 'pause_statuses' must be a list of at most %d statuses",
				       SLA_POLICY_MAX_PAUSES);
		for (size_t i = 0; i < json_array_size(ps); i++) {
			const char *s = json_string_value(json_array_get(ps, i));
			bool valid = false;
			for (int k = 0; s && k < TKT_NKINDS; k++)
				if ((out->kinds & (1u << k)) && tkt_status_valid((enum tkt_kind)k, s) &&
				    !tkt_status_final((enum tkt_kind)k, s))
					valid = true;
			if (!valid)
				return fw_fail(e, 422, "invalid_field",
					       "pause_statuses[%zu] '%.40s' is not an open status of the kinds this policy covers",
					       i, s ? s : "");
			snprintf(out->pause_statuses[out->n_pauses++], sizeof(out->pause_statuses[0]), "%s", s);
		}
	}

	const json_t *cal = json_object_get(obj, "calendar");
	if (cal && !json_is_null(cal)) {
		int rc = sla_cal_parse(cal, &out->cal, e);
		if (rc) {
			char msg[sizeof(e->message) - 16];
			memcpy(msg, e->message, sizeof(msg) - 1);
			msg[sizeof(msg) - 1] = '\0';
			snprintf(e->message, sizeof(e->message), "calendar: %.480s", msg);
			return rc;
		}
	}
	return 0;
}

void sla_policy_release(struct sla_policy *p)
{
	sla_cal_release(&p->cal);
}

const struct sla_target *sla_policy_target(const struct sla_policy *p, const char *priority, const char *severity)
{
	for (int pass = 0; pass < 2; pass++) {
		const char *want = pass ? severity : priority;
		for (size_t i = 0; want && i < p->n_targets; i++)
			if (!strcmp(p->targets[i].key, want))
				return &p->targets[i];
	}
	return NULL;
}

bool sla_policy_pauses(const struct sla_policy *p, const char *status)
{
	for (size_t i = 0; status && i < p->n_pauses; i++)
		if (!strcmp(p->pause_statuses[i], status))
			return true;
	return false;
}
