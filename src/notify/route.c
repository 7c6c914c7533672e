#include "notify/route.h"
#include "util/err.h"

#include <string.h>

static int check_list(const json_t *filter, const char *key, struct fw_error *e)
{
	const json_t *l = json_object_get(filter, key);
	if (!l || json_is_null(l))
		return 0;
	if (!json_is_array(l) || json_array_size(l) > 100)
		return fw_fail(e, 422, "invalid_filter", "filter.%s must be a list of at most 100 strings", key);
	for (size_t i = 0; i < json_array_size(l); i++) {
		const json_t *v = json_array_get(l, i);
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 128)
			return fw_fail(e, 422, "invalid_filter", "filter.%s[%zu] must be a non-empty string", key, i);
	}
	return 0;
}

int ntf_filter_check(const json_t *filter, struct fw_error *e)
{
	if (!filter || json_is_null(filter))
		return 0;
	if (!json_is_object(filter))
		return fw_fail(e, 422, "invalid_filter", "filter must be an object with events, accounts, severities");
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)filter, key, v) {
		if (strcmp(key, "events") && strcmp(key, "accounts") && strcmp(key, "severities"))
			return fw_fail(e, 422, "invalid_filter",
				       "filter.%.40s is not a filter field; use events, accounts, severities", key);
	}
	int rc = check_list(filter, "events", e);
	if (!rc)
		rc = check_list(filter, "accounts", e);
	if (!rc)
		rc = check_list(filter, "severities", e);
	return rc;
}

static bool pattern_match(const char *pat, const char *s)
{
	size_t n = strlen(pat);
	if (n && pat[n - 1] == '*')
		return strncmp(pat, s, n - 1) == 0;
	return strcmp(pat, s) == 0;
}

static bool list_match(const json_t *filter, const char *key, const char *value, bool patterns)
{
	const json_t *l = json_object_get(filter, key);
	if (!json_is_array(l))
		return true;
	if (!value)
		return false;
	for (size_t i = 0; i < json_array_size(l); i++) {
		const char *p = json_string_value(json_array_get(l, i));
		if (p && (patterns ? pattern_match(p, value) : strcmp(p, value) == 0))
			return true;
	}
	return false;
}

bool ntf_filter_match(const json_t *filter, const char *event, const char *account, const char *severity)
{
	if (!json_is_object(filter))
		return true;
	return list_match(filter, "events", event, true) && list_match(filter, "accounts", account, false) &&
	       list_match(filter, "severities", severity, false);
}

int64_t ntf_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, double r)
{
	if (attempt < 1)
		attempt = 1;
	int64_t d = base_ms;
	for (int i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	if (r < 0)
		r = 0;
	if (r >= 1)
		r = 0.999999;
	return d / 2 + (int64_t)((double)(d - d / 2) * r);
}

bool ntf_topic_is_notification(const char *t)
{
	static const char *const prefixes[] = { "ticket.", "sla.", "escalation.", "alarm.", "notify.", "topic:", NULL };
	for (const char *const *p = prefixes; *p; p++)
		if (strncmp(t, *p, strlen(*p)) == 0)
			return true;
	return false;
}
