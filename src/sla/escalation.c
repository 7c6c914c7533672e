#include "sla/escalation.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>

const char *sla_esc_target_type_name(enum esc_target_type t)
{
	return t == ESC_USER ? "user" : t == ESC_GROUP ? "group" : "schedule";
}

int sla_esc_parse(const json_t *obj, struct esc_policy *out, struct fw_error *e)
{
	memset(out, 0, sizeof(*out));
	const json_t *levels = json_object_get(obj, "levels");
	if (!json_is_array(levels) || !json_array_size(levels) || json_array_size(levels) > ESC_MAX_LEVELS)
		return fw_fail(e, 422, "invalid_levels", "field 'levels' must list 1 to %d levels", ESC_MAX_LEVELS);
	for (size_t i = 0; i < json_array_size(levels); i++) {
		const json_t *l = json_array_get(levels, i);
		struct esc_level *lv = &out->levels[out->n_levels++];
		const json_t *ts = json_object_get(l, "targets");
		if (!json_is_array(ts) || !json_array_size(ts) || json_array_size(ts) > ESC_MAX_TARGETS)
			return fw_fail(e, 422, "invalid_levels", "levels[%zu].targets must list 1 to %d targets", i,
				       ESC_MAX_TARGETS);
		for (size_t j = 0; j < json_array_size(ts); j++) {
			const json_t *t = json_array_get(ts, j);
			const char *type = json_string_value(json_object_get(t, "type"));
			const char *id = json_string_value(json_object_get(t, "id"));
			struct esc_target *tg = &lv->targets[lv->n_targets++];
			if (!type || (strcmp(type, "user") && strcmp(type, "group") && strcmp(type, "schedule")))
				return fw_fail(e, 422, "invalid_levels",
					       "levels[%zu].targets[%zu].type must be user, group or schedule", i, j);
			if (!id || !*id || strlen(id) >= sizeof(tg->id))
				return fw_fail(e, 422, "invalid_levels", "levels[%zu].targets[%zu].id must be a non-empty name",
					       i, j);
			tg->type = !strcmp(type, "user") ? ESC_USER : !strcmp(type, "group") ? ESC_GROUP : ESC_SCHEDULE;
			snprintf(tg->id, sizeof(tg->id), "%s", id);
		}
		const json_t *d = json_object_get(l, "delay");
		int64_t ms = 0;
		if (json_is_integer(d))
			ms = json_integer_value(d) * 1000;
		else if (!json_is_string(d) || time_parse_duration(json_string_value(d), &ms))
			return fw_fail(e, 422, "invalid_levels", "levels[%zu].delay must be a duration like \"15m\"", i);
		if (ms < 1000 || ms > 7LL * 86400 * 1000)
			return fw_fail(e, 422, "invalid_levels", "levels[%zu].delay must be from 1 second to 7 days", i);
		lv->delay = (long)(ms / 1000);
	}
	const json_t *r = json_object_get(obj, "repeat");
	if (r && !json_is_null(r)) {
		if (!json_is_integer(r) || json_integer_value(r) < 0 || json_integer_value(r) > 10)
			return fw_fail(e, 422, "invalid_field", "field 'repeat' must be an integer from 0 to 10");
		out->repeat = (int)json_integer_value(r);
	}
	return 0;
}
