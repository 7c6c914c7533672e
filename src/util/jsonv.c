#include "util/jsonv.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

int jv_parse(const char *body, size_t len, bool allow_array, json_t **out, struct fw_error *e)
{
	json_error_t je;
	*out = NULL;
	if (!body || len == 0)
		return fw_fail(e, 400, "invalid_json", "request body is empty; expected a JSON %s",
			       allow_array ? "object or array" : "object");
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return fw_fail(e, 400, "invalid_json", "malformed JSON at line %d, column %d: %s", je.line,
			       je.column, je.text);
	if (!json_is_object(j) && !(allow_array && json_is_array(j))) {
		json_decref(j);
		return fw_fail(e, 400, "invalid_json", "expected a JSON %s at the top level",
			       allow_array ? "object or array" : "object");
	}
	*out = j;
	return 0;
}

static const char *type_name(enum jv_type t)
{
	switch (t) {
	case JV_STRING: return "a string";
	case JV_INT: return "an integer";
	case JV_BOOL: return "a boolean";
	case JV_ARRAY: return "an array";
	case JV_OBJECT: return "an object";
	case JV_NUMBER: return "a number";
	default: return "a value";
	}
}

static bool type_ok(const json_t *v, enum jv_type t)
{
	switch (t) {
	case JV_STRING: return json_is_string(v);
	case JV_INT: return json_is_integer(v);
	case JV_BOOL: return json_is_boolean(v);
	case JV_ARRAY: return json_is_array(v);
	case JV_OBJECT: return json_is_object(v);
	case JV_NUMBER: return json_is_number(v);
	default: return true;
	}
}

bool jv_in(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

void jv_join(const char *const *list, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (const char *const *p = list; *p && n < cap; p++) {
		int w = snprintf(out + n, cap - n, "%s%s", p == list ? "" : ", ", *p);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

int jv_check(const json_t *obj, const struct jv_field *fields, struct fw_error *e)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		const struct jv_field *f = fields;
		while (f->name && strcmp(f->name, key) != 0)
			f++;
		if (!f->name) {
			char known[512];
			size_t n = 0;
			known[0] = '\0';
			for (f = fields; f->name && n < sizeof(known); f++) {
				int w = snprintf(known + n, sizeof(known) - n, "%s%s", f == fields ? "" : ", ",
						 f->name);
				n += w > 0 ? (size_t)w : 0;
			}
			return fw_fail(e, 422, "unknown_field", "unknown field '%.64s'; known fields: %s", key,
				       known);
		}
	}
	for (const struct jv_field *f = fields; f->name; f++) {
		v = json_object_get(obj, f->name);
		if (!v || (json_is_null(v) && (f->flags & JV_NULLABLE))) {
			if (f->flags & JV_REQUIRED)
				return fw_fail(e, 422, "missing_field", "field '%s' is required", f->name);
			continue;
		}
		if (!type_ok(v, f->type))
			return fw_fail(e, 422, "invalid_field", "field '%s' must be %s", f->name,
				       type_name(f->type));
		if (f->type == JV_STRING) {
			size_t max = f->maxlen ? f->maxlen : 4096, len = json_string_length(v);
			if (len > max)
				return fw_fail(e, 422, "invalid_field",
					       "field '%s' is too long (%zu bytes; at most %zu)", f->name, len, max);
			if ((f->flags & JV_NONEMPTY) && len == 0)
				return fw_fail(e, 422, "invalid_field", "field '%s' must not be empty", f->name);
			if (memchr(json_string_value(v), '\0', len))
				return fw_fail(e, 422, "invalid_field", "field '%s' contains a NUL character",
					       f->name);
			if (f->allowed && !jv_in(json_string_value(v), f->allowed)) {
				char list[400];
				jv_join(f->allowed, list, sizeof(list));
				return fw_fail(e, 422, "invalid_field", "field '%s' is '%.64s'; allowed: %s",
					       f->name, json_string_value(v), list);
			}
		} else if (f->type == JV_ARRAY) {
			size_t max = f->maxlen ? f->maxlen : 1000, n = json_array_size(v);
			if (n > max)
				return fw_fail(e, 422, "invalid_field", "field '%s' has %zu items; at most %zu",
					       f->name, n, max);
			if ((f->flags & JV_NONEMPTY) && n == 0)
				return fw_fail(e, 422, "invalid_field", "field '%s' must not be empty", f->name);
		}
	}
	return 0;
}

const char *jv_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *jv_str_or(const json_t *obj, const char *key, const char *dflt)
{
	const char *s = jv_str(obj, key);
	return s ? s : dflt;
}

const char *jv_kind(const json_t *v)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}
