#include "events/rules.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

int evt_json_uint(const json_t *v, unsigned *out)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 1000000) {
		*out = (unsigned)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		char *end;
		long n = strtol(json_string_value(v), &end, 10);
		if (*json_string_value(v) && !*end && n >= 0 && n <= 1000000) {
			*out = (unsigned)n;
			return 0;
		}
	}
	return FW_EINVAL;
}

int evt_json_duration(const json_t *v, int64_t *ms)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*ms = (int64_t)json_integer_value(v) * 1000;
		return 0;
	}
	if (json_is_string(v) && !time_parse_duration(json_string_value(v), ms) && *ms >= 0)
		return 0;
	return FW_EINVAL;
}

int evt_matchers_from_any(struct evt_matchers *set, const json_t *v, struct fw_error *e)
{
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v))
		return evt_matchers_parse(set, json_string_value(v), e);
	if (!json_is_array(v))
		return fw_fail(e, 422, "invalid_type", "matchers must be a list of matchers like 'severity=\"critical\"'");
	if (json_array_size(v) > 0 && json_is_object(json_array_get(v, 0)))
		return evt_matchers_from_json(set, v, e);
	size_t i;
	json_t *it;
	json_array_foreach(v, i, it) {
		if (!json_is_string(it))
			return fw_fail(e, 422, "invalid_type", "matcher %zu must be a string like 'alertname=\"Down\"'", i);
		int rc = evt_matchers_parse(set, json_string_value(it), e);
		if (rc)
			return rc;
	}
	return 0;
}

static int copy_name(char *dst, size_t cap, const json_t *doc, const char *key, bool required, struct fw_error *e)
{
	const json_t *v = json_object_get(doc, key);
	if (!v || json_is_null(v)) {
		if (required)
			return fw_fail(e, 422, "missing_field", "field '%s' is required", key);
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) >= cap || (required && !json_string_length(v)))
		return fw_fail(e, 422, "invalid_field", "field '%s' must be a string of 1 to %zu bytes", key, cap - 1);
	snprintf(dst, cap, "%s", json_string_value(v));
	return 0;
}

static int check_keys(const json_t *doc, const char *const *allowed, struct fw_error *e)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)doc, k, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(*a, k) == 0;
		if (!ok)
			return fw_fail(e, 422, "unknown_field", "unknown field '%s' in rule", k);
	}
	return 0;
}

static int check_account(const char *a, struct fw_error *e)
{
	if (!a[0])
		return 0;
	if (strlen(a) != 12 || strspn(a, "0123456789") != 12)
		return fw_fail(e, 422, "invalid_field", "field 'account' must be a 12-digit account id");
	return 0;
}

static int threshold_pair(const json_t *doc, const char *key, unsigned *thr, int64_t *win, int64_t dflt_win,
			  struct fw_error *e)
{
	const json_t *o = json_object_get(doc, key);
	*thr = 0;
	*win = dflt_win;
	if (!o || json_is_null(o) || json_is_false(o))
		return 0;
	if (!json_is_object(o))
		return fw_fail(e, 422, "invalid_field", "field '%s' must be an object {threshold, window}", key);
	if (evt_json_uint(json_object_get(o, "threshold"), thr) || *thr < 1)
		return fw_fail(e, 422, "invalid_field", "field '%s.threshold' must be a positive integer", key);
	const json_t *w = json_object_get(o, "window");
	if (w && (evt_json_duration(w, win) || *win <= 0))
		return fw_fail(e, 422, "invalid_field", "field '%s.window' must be a duration like \"1h\"", key);
	return 0;
}

void evt_rule_release(struct evt_rule *r)
{
	evt_matchers_release(&r->match);
	evt_group_by_release(&r->group_by);
	json_decref(r->doc);
	memset(r, 0, sizeof(*r));
}

void evt_rule_default(struct evt_rule *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "default");
	evt_matchers_init(&r->match);
	const char *gb[] = { "alertname" };
	evt_group_by_parse(&r->group_by, gb, 1, NULL);
	r->action = EVT_ACT_INCIDENT;
	r->group_window_ms = 5 * 60000;
	r->auto_resolve = true;
	r->flap_threshold = 6;
	r->flap_window_ms = 3600000;
	r->problem_window_ms = 86400000;
	r->doc = json_pack("{s:s,s:[],s:s,s:[s],s:s,s:b,s:{s:i,s:s}}", "name", "default", "match", "action",
			   "incident", "group_by", "alertname", "group_window", "5m", "auto_resolve", 1, "flap",
			   "threshold", 6, "window", "1h");
}

int evt_rule_from_json(struct evt_rule *r, const json_t *doc, struct fw_error *e)
{
	static const char *const keys[] = { "name", "account", "match", "action", "group_by", "group_window",
					    "severity", "priority", "auto_resolve", "flap", "problem",
					    "description", "origin", "position", NULL };
	static const char *const sevs[] = { "critical", "high", "medium", "low", "info", NULL };
	static const char *const prios[] = { "P1", "P2", "P3", "P4", NULL };
	memset(r, 0, sizeof(*r));
	evt_matchers_init(&r->match);
	int rc;
	if (!json_is_object(doc))
		return fw_fail(e, 422, "invalid_type", "a rule must be an object");
	if ((rc = check_keys(doc, keys, e)) || (rc = copy_name(r->name, sizeof(r->name), doc, "name", true, e)) ||
	    (rc = copy_name(r->account, sizeof(r->account), doc, "account", false, e)) ||
	    (rc = check_account(r->account, e)) ||
	    (rc = copy_name(r->severity, sizeof(r->severity), doc, "severity", false, e)) ||
	    (rc = copy_name(r->priority, sizeof(r->priority), doc, "priority", false, e)))
		goto fail;
	if (r->severity[0] && !jv_in(r->severity, sevs)) {
		rc = fw_fail(e, 422, "invalid_field", "field 'severity' must be one of critical, high, medium, low, info");
		goto fail;
	}
	if (r->priority[0] && !jv_in(r->priority, prios)) {
		rc = fw_fail(e, 422, "invalid_field", "field 'priority' must be one of P1, P2, P3, P4");
		goto fail;
	}
	if ((rc = evt_matchers_from_any(&r->match, json_object_get(doc, "match"), e)))
		goto fail;
	const char *act = json_string_value(json_object_get(doc, "action"));
	if (!act || !strcmp(act, "incident"))
		r->action = EVT_ACT_INCIDENT;
	else if (!strcmp(act, "non_impacting") || !strcmp(act, "non-impacting"))
		r->action = EVT_ACT_NON_IMPACTING;
	else if (!strcmp(act, "problem"))
		r->action = EVT_ACT_PROBLEM;
	else {
		rc = fw_fail(e, 422, "invalid_field", "field 'action' must be one of incident, non_impacting, problem");
		goto fail;
	}
	const json_t *gb = json_object_get(doc, "group_by");
	if (gb && !json_is_null(gb)) {
		if ((rc = evt_group_by_from_json(&r->group_by, gb, e)))
			goto fail;
	} else {
		const char *d[] = { "alertname" };
		evt_group_by_parse(&r->group_by, d, 1, NULL);
	}
	r->group_window_ms = 5 * 60000;
	const json_t *gw = json_object_get(doc, "group_window");
	if (gw && evt_json_duration(gw, &r->group_window_ms)) {
		rc = fw_fail(e, 422, "invalid_field", "field 'group_window' must be a duration like \"5m\"");
		goto fail;
	}
	const json_t *ar = json_object_get(doc, "auto_resolve");
	if (ar && !json_is_boolean(ar) &&
	    !(json_is_string(ar) && (!strcmp(json_string_value(ar), "true") || !strcmp(json_string_value(ar), "false")))) {
		rc = fw_fail(e, 422, "invalid_field", "field 'auto_resolve' must be true or false");
		goto fail;
	}
	r->auto_resolve = !ar || json_is_true(ar) || (json_is_string(ar) && !strcmp(json_string_value(ar), "true"));
	if ((rc = threshold_pair(doc, "flap", &r->flap_threshold, &r->flap_window_ms, 3600000, e)) ||
	    (rc = threshold_pair(doc, "problem", &r->problem_threshold, &r->problem_window_ms, 86400000, e)))
		goto fail;
	if (r->action == EVT_ACT_PROBLEM && !r->problem_threshold)
		r->problem_threshold = 3;
	r->doc = json_deep_copy(doc);
	json_object_del(r->doc, "origin");
	json_object_del(r->doc, "position");
	return 0;
fail:
	evt_rule_release(r);
	return rc ? rc : FW_EINVAL;
}

void evt_inhibit_release(struct evt_inhibit *r)
{
	evt_matchers_release(&r->source);
	evt_matchers_release(&r->target);
	for (size_t i = 0; i < r->nequal; i++)
		free(r->equal[i]);
	free(r->equal);
	json_decref(r->doc);
	memset(r, 0, sizeof(*r));
}

int evt_inhibit_from_json(struct evt_inhibit *r, const json_t *doc, struct fw_error *e)
{
	static const char *const keys[] = { "name", "account", "source_match", "target_match", "equal",
					    "description", "origin", "position", NULL };
	memset(r, 0, sizeof(*r));
	evt_matchers_init(&r->source);
	evt_matchers_init(&r->target);
	int rc;
	if (!json_is_object(doc))
		return fw_fail(e, 422, "invalid_type", "an inhibit rule must be an object");
	if ((rc = check_keys(doc, keys, e)) || (rc = copy_name(r->name, sizeof(r->name), doc, "name", true, e)) ||
	    (rc = copy_name(r->account, sizeof(r->account), doc, "account", false, e)) ||
	    (rc = check_account(r->account, e)) ||
	    (rc = evt_matchers_from_any(&r->source, json_object_get(doc, "source_match"), e)) ||
	    (rc = evt_matchers_from_any(&r->target, json_object_get(doc, "target_match"), e)))
		goto fail;
	if (!r->source.n || !r->target.n) {
		rc = fw_fail(e, 422, "missing_field", "an inhibit rule needs source_match and target_match matchers");
		goto fail;
	}
	const json_t *eq = json_object_get(doc, "equal");
	if (eq && !json_is_null(eq)) {
		if (!json_is_array(eq)) {
			rc = fw_fail(e, 422, "invalid_field", "field 'equal' must be a list of label names");
			goto fail;
		}
		r->equal = calloc(json_array_size(eq) + 1, sizeof(char *));
		size_t i;
		json_t *it;
		json_array_foreach(eq, i, it) {
			if (!json_is_string(it) || !evt_label_name_valid(json_string_value(it))) {
				rc = fw_fail(e, 422, "invalid_field", "field 'equal' item %zu is not a valid label name", i);
				goto fail;
			}
			r->equal[r->nequal++] = strdup(json_string_value(it));
		}
	}
	r->doc = json_deep_copy(doc);
	json_object_del(r->doc, "origin");
	json_object_del(r->doc, "position");
	return 0;
fail:
	evt_inhibit_release(r);
	return rc ? rc : FW_EINVAL;
}

/* ---- YAML -> JSON ---- */

static json_t *yaml_node(yaml_document_t *d, yaml_node_t *n, int depth)
{
	if (!n || depth > 32)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE: {
		const char *v = (const char *)n->data.scalar.value;
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
			if (!strcmp(v, "true"))
				return json_true();
			if (!strcmp(v, "false"))
				return json_false();
			if (!strcmp(v, "null") || !strcmp(v, "~") || !v[0])
				return json_null();
		}
		return json_stringn(v, n->data.scalar.length);
	}
	case YAML_SEQUENCE_NODE: {
		json_t *a = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			json_t *c = yaml_node(d, yaml_document_get_node(d, *it), depth + 1);
			if (!c) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, c);
		}
		return a;
	}
	case YAML_MAPPING_NODE: {
		json_t *o = json_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(d, p->key);
			json_t *v = yaml_node(d, yaml_document_get_node(d, p->value), depth + 1);
			if (!k || k->type != YAML_SCALAR_NODE || !v) {
				json_decref(v);
				json_decref(o);
				return NULL;
			}
			json_object_set_new(o, (const char *)k->data.scalar.value, v);
		}
		return o;
	}
	default:
		return NULL;
	}
}

int evt_yaml_load(const char *path, json_t **out, struct fw_error *e)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fw_fail(e, 400, "unreadable", "cannot read %s", path);
	yaml_parser_t p;
	yaml_document_t d;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	int rc = 0;
	if (!yaml_parser_load(&p, &d)) {
		rc = fw_fail(e, 400, "invalid_yaml", "%s:%zu: %s", path, p.problem_mark.line + 1,
			     p.problem ? p.problem : "YAML syntax error");
		goto out;
	}
	yaml_node_t *root = yaml_document_get_root_node(&d);
	*out = root ? yaml_node(&d, root, 0) : json_object();
	yaml_document_delete(&d);
	if (!*out)
		rc = fw_fail(e, 400, "invalid_yaml", "%s: unsupported YAML (keys must be scalars)", path);
out:
	yaml_parser_delete(&p);
	fclose(f);
	return rc;
}
