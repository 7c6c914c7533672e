/* Runbook YAML → validated JSON spec. The YAML document is converted to JSON while a side table
 * remembers the line of every path ("steps[2].type" → 14), so validation, which works on the JSON,
 * can still name the line of a bad field. */
#include "automation/runbook.h"
#include "automation/template.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/timeutil.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Field paths are display strings bounded at 256 bytes; truncating a pathological one is fine. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

const char *const rb_step_types[] = { "exec", "http", "wait", "approval", "diagnostics", "set", NULL };
static const char *const http_methods[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", NULL };
static const char *const input_types[] = { "string", "int", "number", "bool", "enum", NULL };
static const char *const trigger_types[] = { "auto_remediation", "diagnostics", NULL };
static const char *const role_names[] = { "viewer", "requester", "operator", "approver", "admin", NULL };

#define MAX_STEPS 50

struct pctx {
	const char *file;
	json_t *lines;  /* path → line */
	json_t *errors; /* array */
};

static void add_err(struct pctx *p, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_err(struct pctx *p, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The line of the field, or of its closest parent that has one. */
	json_int_t line = 0;
	char path[256];
	snprintf(path, sizeof(path), "%s", field);
	while (path[0]) {
		json_t *l = json_object_get(p->lines, path);
		if (l) {
			line = json_integer_value(l);
			break;
		}
		char *cut = strrchr(path, '.');
		char *br = strrchr(path, '[');
		if (br && (!cut || br > cut))
			cut = br;
		if (!cut)
			break;
		*cut = '\0';
	}
	json_t *e = json_pack("{s:s?,s:I,s:s,s:s}", "file", p->file, "line", line, "field", field[0] ? field : "(document)",
			      "message", msg);
	json_array_append_new(p->errors, e);
}

/* ---- YAML → JSON ---- */

static json_t *scalar(yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(s, len);
	if (len == 0 || !strcmp(s, "~") || !strcmp(s, "null"))
		return json_null();
	if (!strcmp(s, "true"))
		return json_true();
	if (!strcmp(s, "false"))
		return json_false();
	char *end;
	errno = 0;
	long long i = strtoll(s, &end, 10);
	if (!*end && !errno && (s[0] != '0' || len == 1))
		return json_integer(i);
	double d = strtod(s, &end);
	if (!*end && len && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
		return json_real(d);
	return json_stringn(s, len);
}

static json_t *convert(struct pctx *p, yaml_document_t *doc, yaml_node_t *n, const char *path, int depth)
{
	char sub[256];
	if (!n || depth > 20)
		return json_null();
	json_object_set_new(p->lines, path, json_integer((json_int_t)n->start_mark.line + 1));
	switch (n->type) {
	case YAML_SCALAR_NODE: return scalar(n);
	case YAML_SEQUENCE_NODE: {
		json_t *a = json_array();
		int i = 0;
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, i++) {
			snprintf(sub, sizeof(sub), "%s[%d]", path, i);
			json_array_append_new(a, convert(p, doc, yaml_document_get_node(doc, *it), sub, depth + 1));
		}
		return a;
	}
	case YAML_MAPPING_NODE: {
		json_t *o = json_object();
		for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node(doc, pr->key);
			if (!k || k->type != YAML_SCALAR_NODE) {
				add_err(p, path, "mapping keys must be plain strings");
				continue;
			}
			const char *key = (const char *)k->data.scalar.value;
			snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", key);
			if (json_object_get(o, key))
				add_err(p, sub, "duplicate key '%s'", key);
			json_object_set_new(o, key, convert(p, doc, yaml_document_get_node(doc, pr->value), sub, depth + 1));
			json_object_set_new(p->lines, sub, json_integer((json_int_t)k->start_mark.line + 1));
		}
		return o;
	}
	default: return json_null();
	}
}

static json_t *load_yaml(struct pctx *p, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	json_t *out = NULL;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		char msg[300];
		snprintf(msg, sizeof(msg), "invalid YAML: %s%s%s", parser.problem ? parser.problem : "syntax error",
			 parser.context ? " " : "", parser.context ? parser.context : "");
		json_array_append_new(p->errors,
				      json_pack("{s:s?,s:I,s:s,s:s}", "file", p->file, "line",
						(json_int_t)parser.problem_mark.line + 1, "field", "(document)", "message", msg));
		yaml_parser_delete(&parser);
		return NULL;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root)
		add_err(p, "", "the document is empty; a runbook needs at least 'name' and 'steps'");
	else
		out = convert(p, &doc, root, "", 0);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return out;
}

/* ---- validation ---- */

bool rb_name_valid(const char *s)
{
	if (!s || !*s || strlen(s) > 64)
		return false;
	if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

int rb_duration_ms(const json_t *v, int64_t dflt, int64_t *out)
{
	if (!v || json_is_null(v)) {
		*out = dflt;
		return 0;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = json_integer_value(v) * 1000;
		return 0;
	}
	if (json_is_string(v) && !time_parse_duration(json_string_value(v), out) && *out >= 0)
		return 0;
	return FW_EINVAL;
}

static void check_keys(struct pctx *p, const json_t *o, const char *path, const char *const *allowed)
{
	const char *k;
	json_t *v;
	char f[256], list[512];
	json_object_foreach((json_t *)o, k, v) {
		if (!jv_in(k, allowed)) {
			snprintf(f, sizeof(f), "%s%s%s", path, path[0] ? "." : "", k);
			jv_join(allowed, list, sizeof(list));
			add_err(p, f, "unknown field '%s'; allowed here: %s", k, list);
		}
	}
}

static void fpath(char *out, size_t cap, const char *path, const char *key)
{
	snprintf(out, cap, "%s%s%s", path, path[0] ? "." : "", key);
}

/* Typed getters that record an error and return NULL when the value has the wrong type. */
static const char *get_str(struct pctx *p, const json_t *o, const char *path, const char *key, bool required)
{
	char f[256];
	fpath(f, sizeof(f), path, key);
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		if (required)
			add_err(p, f, "'%s' is required", key);
		return NULL;
	}
	if (!json_is_string(v) || json_string_length(v) == 0) {
		add_err(p, f, "'%s' must be a non-empty string", key);
		return NULL;
	}
	return json_string_value(v);
}

static bool get_int(struct pctx *p, const json_t *o, const char *path, const char *key, json_int_t lo, json_int_t hi,
		    json_int_t *out)
{
	char f[256];
	fpath(f, sizeof(f), path, key);
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return false;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		add_err(p, f, "'%s' must be an integer from %lld to %lld", key, (long long)lo, (long long)hi);
		return false;
	}
	*out = json_integer_value(v);
	return true;
}

static void norm_duration(struct pctx *p, json_t *o, const char *path, const char *key, int64_t dflt, int64_t max)
{
	char f[256];
	fpath(f, sizeof(f), path, key);
	int64_t ms;
	if (rb_duration_ms(json_object_get(o, key), dflt, &ms) || ms > max) {
		add_err(p, f, "'%s' must be a duration like \"30s\", \"5m\" or \"1h\" (at most %lld s)", key,
			(long long)(max / 1000));
		return;
	}
	char k2[64];
	snprintf(k2, sizeof(k2), "%s_ms", key);
	json_object_set_new(o, k2, json_integer(ms));
}

/* `command: [sleep, 5]` and `[true]`: YAML reads 5 and true as a number and a boolean, but in an
 * argv, env or header every element is text. */
static void stringify_scalars(json_t *v)
{
	size_t i;
	json_t *it;
	const char *k;
	char num[64];
	if (json_is_array(v)) {
		json_array_foreach(v, i, it) {
			if (json_is_integer(it))
				snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(it));
			else if (json_is_real(it))
				snprintf(num, sizeof(num), "%g", json_real_value(it));
			else if (json_is_boolean(it))
				snprintf(num, sizeof(num), "%s", json_is_true(it) ? "true" : "false");
			else
				continue;
			json_array_set_new(v, i, json_string(num));
		}
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, it) {
			if (json_is_integer(it))
				snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(it));
			else if (json_is_real(it))
				snprintf(num, sizeof(num), "%g", json_real_value(it));
			else if (json_is_boolean(it))
				snprintf(num, sizeof(num), "%s", json_is_true(it) ? "true" : "false");
			else
				continue;
			json_object_set_new(v, k, json_string(num));
		}
	}
}

static bool is_str_array(const json_t *a, bool nonempty)
{
	if (!json_is_array(a) || (nonempty && json_array_size(a) == 0))
		return false;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) if (!json_is_string(v)) return false;
	return true;
}

static bool is_str_object(const json_t *o)
{
	if (!json_is_object(o))
		return false;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v) if (!json_is_string(v)) return false;
	return true;
}

/* Checks every template string inside v. */
static void check_templates(struct pctx *p, const json_t *v, const char *path, const json_t *inputs,
			    const json_t *steps)
{
	char msg[300], sub[256];
	if (json_is_string(v)) {
		if (rb_template_check(json_string_value(v), inputs, steps, msg, sizeof(msg)))
			add_err(p, path, "%s", msg);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *it;
		json_array_foreach(v, i, it) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			check_templates(p, it, sub, inputs, steps);
		}
	} else if (json_is_object(v)) {
		const char *k;
		json_t *it;
		json_object_foreach((json_t *)v, k, it) {
			fpath(sub, sizeof(sub), path, k);
			check_templates(p, it, sub, inputs, steps);
		}
	}
}

static void check_step(struct pctx *p, json_t *s, const char *path, const json_t *inputs, json_t *seen,
		       bool rollback)
{
	static const char *const common[] = { "name", "type", "timeout", "continue_on_failure", "description", "when", NULL };
	static const char *const k_exec[] = { "name", "type", "timeout", "continue_on_failure", "description", "when", "command",
					      "env", "cwd", "max_output", "grace", NULL };
	static const char *const k_http[] = { "name", "type", "timeout", "continue_on_failure", "description", "when", "url",
					      "method", "headers", "body", "expect_status", "max_output", NULL };
	static const char *const k_wait[] = { "name", "type", "timeout", "continue_on_failure", "description", "when",
					      "duration", "until", "interval", NULL };
	static const char *const k_appr[] = { "name", "type", "timeout", "continue_on_failure", "description", "when",
					      "approvers", "role", NULL };
	static const char *const k_set[] = { "name", "type", "timeout", "continue_on_failure", "description", "when", "ticket",
					     "resolve_alarm", NULL };
	char f[256], list[256];
	(void)common;
	if (!json_is_object(s)) {
		add_err(p, path, "a step must be a mapping with at least 'type'");
		return;
	}
	const char *type = get_str(p, s, path, "type", true);
	const char *name = get_str(p, s, path, "name", false);
	if (name && !rb_name_valid(name)) {
		fpath(f, sizeof(f), path, "name");
		add_err(p, f, "step name '%s' must be lowercase letters, digits, '-', '_' or '.'", name);
	}
	if (!name) {
		/* steps[3] → "step-4"; rollback[0] → "rollback-1" */
		const char *br = strrchr(path, '[');
		char gen[64];
		snprintf(gen, sizeof(gen), "%s-%d", rollback ? "rollback" : "step", br ? atoi(br + 1) + 1 : 0);
		json_object_set_new(s, "name", json_string(gen));
		name = json_string_value(json_object_get(s, "name"));
	}
	if (name) {
		if (json_object_get(seen, name)) {
			fpath(f, sizeof(f), path, "name");
			add_err(p, f, "step name '%s' is used twice", name);
		}
	}
	if (!type)
		return;
	if (!jv_in(type, rb_step_types)) {
		fpath(f, sizeof(f), path, "type");
		jv_join(rb_step_types, list, sizeof(list));
		add_err(p, f, "unknown step type '%s'; allowed: %s", type, list);
		return;
	}
	json_t *prior = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(seen, k, v) json_array_append_new(prior, json_string(k));
	json_t *cof = json_object_get(s, "continue_on_failure");
	if (cof && !json_is_boolean(cof)) {
		fpath(f, sizeof(f), path, "continue_on_failure");
		add_err(p, f, "'continue_on_failure' must be true or false");
	}
	json_t *when = json_object_get(s, "when");
	if (when) {
		static const char *const k_when[] = { "step", "status", NULL };
		fpath(f, sizeof(f), path, "when");
		const char *ws = json_is_object(when) ? json_string_value(json_object_get(when, "step")) : NULL;
		const char *wst = json_is_object(when) ? json_string_value(json_object_get(when, "status")) : NULL;
		if (!ws || !wst || (strcmp(wst, "succeeded") && strcmp(wst, "failed")))
			add_err(p, f, "'when' must be {step: <earlier step>, status: succeeded|failed}");
		else if (!json_object_get(seen, ws))
			add_err(p, f, "'when.step' must name an earlier step");
		else
			check_keys(p, when, f, k_when);
	}
	json_int_t n;
	if (!strcmp(type, "exec") || !strcmp(type, "diagnostics")) {
		check_keys(p, s, path, k_exec);
		json_t *cmd = json_object_get(s, "command");
		stringify_scalars(cmd);
		stringify_scalars(json_object_get(s, "env"));
		fpath(f, sizeof(f), path, "command");
		if (!is_str_array(cmd, true))
			add_err(p, f, "'command' must be a non-empty list of strings (program first); no shell is used");
		else if (!json_string_length(json_array_get(cmd, 0)))
			add_err(p, f, "'command[0]' (the program) must not be empty");
		else if (strstr(json_string_value(json_array_get(cmd, 0)), "{{"))
			add_err(p, f, "the program (command[0]) must be fixed, not a template");
		else
			check_templates(p, cmd, f, inputs, prior);
		json_t *env = json_object_get(s, "env");
		fpath(f, sizeof(f), path, "env");
		if (env && !is_str_object(env))
			add_err(p, f, "'env' must map variable names to strings");
		else if (env)
			check_templates(p, env, f, inputs, prior);
		const char *cwd = get_str(p, s, path, "cwd", false);
		if (cwd && cwd[0] != '/' && strncmp(cwd, "{{", 2)) {
			fpath(f, sizeof(f), path, "cwd");
			add_err(p, f, "'cwd' must be an absolute path");
		}
		if (get_int(p, s, path, "max_output", 256, 1 << 20, &n))
			json_object_set_new(s, "max_output", json_integer(n));
		else if (!json_object_get(s, "max_output"))
			json_object_set_new(s, "max_output", json_integer(64 * 1024));
		norm_duration(p, s, path, "timeout", 60000, 24 * 3600 * 1000LL);
		norm_duration(p, s, path, "grace", 2000, 60000);
	} else if (!strcmp(type, "http")) {
		check_keys(p, s, path, k_http);
		const char *url = get_str(p, s, path, "url", true);
		fpath(f, sizeof(f), path, "url");
		if (url && strncmp(url, "http://", 7) && strncmp(url, "https://", 8) && strncmp(url, "{{", 2))
			add_err(p, f, "'url' must start with http:// or https://");
		if (url)
			check_templates(p, json_object_get(s, "url"), f, inputs, prior);
		const char *m = get_str(p, s, path, "method", false);
		if (m && !jv_in(m, http_methods)) {
			fpath(f, sizeof(f), path, "method");
			jv_join(http_methods, list, sizeof(list));
			add_err(p, f, "'method' must be one of %s", list);
		}
		if (!m)
			json_object_set_new(s, "method", json_string("GET"));
		json_t *h = json_object_get(s, "headers");
		stringify_scalars(h);
		fpath(f, sizeof(f), path, "headers");
		if (h && !is_str_object(h))
			add_err(p, f, "'headers' must map header names to strings");
		else if (h)
			check_templates(p, h, f, inputs, prior);
		json_t *body = json_object_get(s, "body");
		fpath(f, sizeof(f), path, "body");
		if (body && !json_is_string(body))
			add_err(p, f, "'body' must be a string (a template)");
		else if (body)
			check_templates(p, body, f, inputs, prior);
		json_t *es = json_object_get(s, "expect_status");
		fpath(f, sizeof(f), path, "expect_status");
		if (es && json_is_integer(es))
			json_object_set_new(s, "expect_status", json_pack("[O]", es));
		else if (es) {
			size_t i;
			json_t *it;
			bool okk = json_is_array(es) && json_array_size(es);
			json_array_foreach(es, i, it) if (!json_is_integer(it)) okk = false;
			if (!okk)
				add_err(p, f, "'expect_status' must be a status code or a list of them");
		}
		if (get_int(p, s, path, "max_output", 256, 1 << 20, &n))
			json_object_set_new(s, "max_output", json_integer(n));
		else if (!json_object_get(s, "max_output"))
			json_object_set_new(s, "max_output", json_integer(64 * 1024));
		norm_duration(p, s, path, "timeout", 10000, 600000);
	} else if (!strcmp(type, "wait")) {
		check_keys(p, s, path, k_wait);
		json_t *u = json_object_get(s, "until");
		if (!json_object_get(s, "duration") && !u)
			add_err(p, path, "a wait step needs 'duration' or 'until'");
		if (json_object_get(s, "duration"))
			norm_duration(p, s, path, "duration", 0, 24 * 3600 * 1000LL);
		if (u) {
			char up[256];
			fpath(up, sizeof(up), path, "until");
			static const char *const k_until[] = { "step", "stdout_matches", "exit_code", "status", NULL };
			if (!json_is_object(u)) {
				add_err(p, up, "'until' must be a mapping: {step, stdout_matches, exit_code}");
			} else {
				check_keys(p, u, up, k_until);
				const char *st = get_str(p, u, up, "step", true);
				if (st && !json_object_get(seen, st)) {
					fpath(f, sizeof(f), up, "step");
					add_err(p, f, "'until.step' must name an earlier exec, http or diagnostics step");
				} else if (st) {
					const char *t2 = json_string_value(json_object_get(json_object_get(seen, st), "type"));
					if (!t2 || (strcmp(t2, "exec") && strcmp(t2, "http") && strcmp(t2, "diagnostics"))) {
						fpath(f, sizeof(f), up, "step");
						add_err(p, f, "'until.step' must name an exec, http or diagnostics step");
					}
				}
				const char *re = get_str(p, u, up, "stdout_matches", false);
				regex_t rx;
				if (re) {
					if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB)) {
						fpath(f, sizeof(f), up, "stdout_matches");
						add_err(p, f, "'stdout_matches' is not a valid extended regular expression");
					} else
						regfree(&rx);
				}
				get_int(p, u, up, "exit_code", 0, 255, &n);
				if (!re && !json_object_get(u, "exit_code"))
					json_object_set_new(u, "exit_code", json_integer(0));
			}
			norm_duration(p, s, path, "interval", 1000, 3600000);
		}
		norm_duration(p, s, path, "timeout", 300000, 24 * 3600 * 1000LL);
	} else if (!strcmp(type, "approval")) {
		check_keys(p, s, path, k_appr);
		if (rollback)
			add_err(p, path, "an approval step cannot be a rollback step");
		if (!get_int(p, s, path, "approvers", 1, 10, &n))
			json_object_set_new(s, "approvers", json_integer(1));
		const char *role = get_str(p, s, path, "role", false);
		if (role && strcmp(role, "approver") && strcmp(role, "admin") && strcmp(role, "operator")) {
			fpath(f, sizeof(f), path, "role");
			add_err(p, f, "'role' must be approver, operator or admin");
		}
		norm_duration(p, s, path, "timeout", 3600000, 7 * 24 * 3600 * 1000LL);
	} else if (!strcmp(type, "set")) {
		check_keys(p, s, path, k_set);
		json_t *t = json_object_get(s, "ticket");
		stringify_scalars(t);
		json_t *ra = json_object_get(s, "resolve_alarm");
		fpath(f, sizeof(f), path, "ticket");
		if (t && !is_str_object(t))
			add_err(p, f, "'ticket' must map ticket fields to strings (status, resolution, assignee …)");
		else if (t)
			check_templates(p, t, f, inputs, prior);
		if (ra && !json_is_boolean(ra)) {
			fpath(f, sizeof(f), path, "resolve_alarm");
			add_err(p, f, "'resolve_alarm' must be true or false");
		}
		if (!t && !json_is_true(ra))
			add_err(p, path, "a set step needs 'ticket' fields or 'resolve_alarm: true'");
	}
	if (name)
		json_object_set(seen, name, s);
	json_decref(prior);
}

static void check_inputs(struct pctx *p, json_t *inputs, json_t *names)
{
	static const char *const k_in[] = { "name", "type", "description", "default", "required", "pattern", "min", "max",
					    "values", NULL };
	if (!inputs)
		return;
	if (!json_is_array(inputs)) {
		add_err(p, "inputs", "'inputs' must be a list of {name, type, default, …}");
		return;
	}
	size_t i;
	json_t *in;
	char path[64], f[128], list[128];
	json_array_foreach(inputs, i, in) {
		snprintf(path, sizeof(path), "inputs[%zu]", i);
		if (!json_is_object(in)) {
			add_err(p, path, "an input must be a mapping with 'name' and 'type'");
			continue;
		}
		check_keys(p, in, path, k_in);
		const char *name = get_str(p, in, path, "name", true);
		const char *type = get_str(p, in, path, "type", false);
		if (!type)
			json_object_set_new(in, "type", json_string(type = "string"));
		if (name && (!rb_name_valid(name) || strchr(name, '-') || strchr(name, '.'))) {
			fpath(f, sizeof(f), path, "name");
			add_err(p, f, "input name '%s' must be lowercase letters, digits and '_'", name);
		}
		if (name) {
			size_t j;
			json_t *x;
			json_array_foreach(names, j, x) if (!strcmp(json_string_value(x), name))
			{
				fpath(f, sizeof(f), path, "name");
				add_err(p, f, "input '%s' is declared twice", name);
			}
			json_array_append_new(names, json_string(name));
		}
		if (!jv_in(type, input_types)) {
			fpath(f, sizeof(f), path, "type");
			jv_join(input_types, list, sizeof(list));
			add_err(p, f, "unknown input type '%s'; allowed: %s", type, list);
			continue;
		}
		json_t *vals = json_object_get(in, "values");
		if (!strcmp(type, "enum") && !is_str_array(vals, true)) {
			fpath(f, sizeof(f), path, "values");
			add_err(p, f, "an enum input needs 'values', a list of strings");
		}
		const char *pat = get_str(p, in, path, "pattern", false);
		if (pat) {
			regex_t rx;
			if (regcomp(&rx, pat, REG_EXTENDED | REG_NOSUB)) {
				fpath(f, sizeof(f), path, "pattern");
				add_err(p, f, "'pattern' is not a valid extended regular expression");
			} else
				regfree(&rx);
		}
		json_t *req = json_object_get(in, "required");
		if (req && !json_is_boolean(req)) {
			fpath(f, sizeof(f), path, "required");
			add_err(p, f, "'required' must be true or false");
		}
		json_t *d = json_object_get(in, "default");
		if (d && !json_is_null(d) && name) {
			/* The default must itself pass validation. */
			json_t *spec = json_pack("{s:[O]}", "inputs", in), *given = json_object(), *out = NULL;
			struct fw_error e = { 0 };
			if (rb_inputs_resolve(spec, given, &out, &e)) {
				fpath(f, sizeof(f), path, "default");
				add_err(p, f, "the default does not pass the input's own validation: %s", e.message);
			}
			json_decref(out);
			json_decref(given);
			json_decref(spec);
		}
	}
}

static void check_triggers(struct pctx *p, json_t *tr)
{
	static const char *const k_tr[] = { "type", "match", "resource_label", "prevent_incident", "inputs", NULL };
	if (!tr)
		return;
	if (!json_is_array(tr)) {
		add_err(p, "triggers", "'triggers' must be a list of {type, match}");
		return;
	}
	size_t i;
	json_t *t;
	char path[64], f[128], list[128];
	json_array_foreach(tr, i, t) {
		snprintf(path, sizeof(path), "triggers[%zu]", i);
		if (!json_is_object(t)) {
			add_err(p, path, "a trigger must be a mapping {type, match}");
			continue;
		}
		check_keys(p, t, path, k_tr);
		const char *type = get_str(p, t, path, "type", true);
		if (type && !jv_in(type, trigger_types)) {
			fpath(f, sizeof(f), path, "type");
			jv_join(trigger_types, list, sizeof(list));
			add_err(p, f, "unknown trigger type '%s'; allowed: %s", type, list);
		}
		json_t *m = json_object_get(t, "match");
		fpath(f, sizeof(f), path, "match");
		if (!is_str_object(m) || !json_object_size(m)) {
			add_err(p, f, "'match' must map alarm label names to values (\"~regex\" for a regular expression)");
		} else {
			const char *k;
			json_t *v;
			json_object_foreach(m, k, v) {
				const char *s = json_string_value(v);
				regex_t rx;
				if (s[0] == '~') {
					if (regcomp(&rx, s + 1, REG_EXTENDED | REG_NOSUB)) {
						char f2[160];
						fpath(f2, sizeof(f2), f, k);
						add_err(p, f2, "'%s' is not a valid extended regular expression", s + 1);
					} else
						regfree(&rx);
				}
			}
		}
		json_t *pi = json_object_get(t, "prevent_incident");
		if (pi && !json_is_boolean(pi)) {
			fpath(f, sizeof(f), path, "prevent_incident");
			add_err(p, f, "'prevent_incident' must be true or false");
		}
		json_t *ins = json_object_get(t, "inputs");
		stringify_scalars(ins);
		if (ins && !is_str_object(ins)) {
			fpath(f, sizeof(f), path, "inputs");
			add_err(p, f, "'inputs' must map input names to templates");
		}
		get_str(p, t, path, "resource_label", false);
	}
}

static void validate(struct pctx *p, json_t *spec)
{
	static const char *const k_top[] = { "name", "description", "account", "manual_minutes", "timeout",
					     "concurrency", "rate_limit", "circuit_breaker", "allowed_roles", "inputs",
					     "triggers", "steps", "rollback", "version", NULL };
	char f[128], list[256];
	json_int_t n;
	if (!json_is_object(spec)) {
		add_err(p, "", "a runbook must be a mapping with 'name' and 'steps'");
		return;
	}
	check_keys(p, spec, "", k_top);
	json_object_del(spec, "version"); /* assigned by the store */
	const char *name = get_str(p, spec, "", "name", true);
	if (name && !rb_name_valid(name))
		add_err(p, "name", "runbook name '%s' must be 1-64 lowercase letters, digits, '-', '_' or '.'", name);
	json_t *d = json_object_get(spec, "description");
	if (d && !json_is_string(d))
		add_err(p, "description", "'description' must be a string");
	const char *acc = get_str(p, spec, "", "account", false);
	if (acc && !(strlen(acc) == 12 && strspn(acc, "0123456789") == 12))
		add_err(p, "account", "'account' must be a 12-digit account id (quote it in YAML)");
	if (!get_int(p, spec, "", "manual_minutes", 0, 100000, &n))
		json_object_set_new(spec, "manual_minutes", json_integer(0));
	if (!get_int(p, spec, "", "concurrency", 1, 1000, &n))
		json_object_set_new(spec, "concurrency", json_integer(5));
	norm_duration(p, spec, "", "timeout", 3600000, 7 * 24 * 3600 * 1000LL);
	json_t *rl = json_object_get(spec, "rate_limit");
	if (rl) {
		static const char *const k_rl[] = { "max", "window", NULL };
		if (!json_is_object(rl))
			add_err(p, "rate_limit", "'rate_limit' must be {max: N, window: 1h}");
		else {
			check_keys(p, rl, "rate_limit", k_rl);
			if (!get_int(p, rl, "rate_limit", "max", 1, 1000000, &n))
				add_err(p, "rate_limit.max", "'max' is required: the number of runs allowed per window");
			norm_duration(p, rl, "rate_limit", "window", 3600000, 30LL * 24 * 3600 * 1000);
		}
	}
	json_t *cb = json_object_get(spec, "circuit_breaker");
	if (cb) {
		static const char *const k_cb[] = { "failures", NULL };
		if (!json_is_object(cb))
			add_err(p, "circuit_breaker", "'circuit_breaker' must be {failures: N}");
		else {
			check_keys(p, cb, "circuit_breaker", k_cb);
			if (!get_int(p, cb, "circuit_breaker", "failures", 1, 1000, &n))
				json_object_set_new(cb, "failures", json_integer(3));
		}
	} else
		json_object_set_new(spec, "circuit_breaker", json_pack("{s:i}", "failures", 3));
	json_t *roles = json_object_get(spec, "allowed_roles");
	if (roles) {
		size_t i;
		json_t *r;
		if (!is_str_array(roles, true))
			add_err(p, "allowed_roles", "'allowed_roles' must be a list of role names");
		else
			json_array_foreach(roles, i, r) if (!jv_in(json_string_value(r), role_names))
			{
				snprintf(f, sizeof(f), "allowed_roles[%zu]", i);
				jv_join(role_names, list, sizeof(list));
				add_err(p, f, "unknown role '%s'; roles are %s", json_string_value(r), list);
			}
	} else
		json_object_set_new(spec, "allowed_roles", json_pack("[s,s]", "operator", "admin"));

	json_t *names = json_array();
	check_inputs(p, json_object_get(spec, "inputs"), names);
	if (!json_object_get(spec, "inputs"))
		json_object_set_new(spec, "inputs", json_array());
	check_triggers(p, json_object_get(spec, "triggers"));
	if (!json_object_get(spec, "triggers"))
		json_object_set_new(spec, "triggers", json_array());

	json_t *seen = json_object();
	const char *lists[] = { "steps", "rollback" };
	for (int li = 0; li < 2; li++) {
		json_t *steps = json_object_get(spec, lists[li]);
		if (!steps) {
			if (li == 0)
				add_err(p, "steps", "'steps' is required: a list of at least one step");
			else
				json_object_set_new(spec, "rollback", json_array());
			continue;
		}
		if (!json_is_array(steps) || (li == 0 && !json_array_size(steps)) || json_array_size(steps) > MAX_STEPS) {
			add_err(p, lists[li], "'%s' must be a list of 1 to %d steps", lists[li], MAX_STEPS);
			continue;
		}
		size_t i;
		json_t *s;
		json_array_foreach(steps, i, s) {
			snprintf(f, sizeof(f), "%s[%zu]", lists[li], i);
			check_step(p, s, f, names, seen, li == 1);
		}
	}
	json_decref(seen);
	json_decref(names);
}

int rb_parse(const char *text, size_t len, const char *file, json_t **spec, json_t **errors)
{
	struct pctx p = { file, json_object(), json_array() };
	json_t *s = load_yaml(&p, text, len);
	if (s && !json_array_size(p.errors))
		validate(&p, s);
	json_decref(p.lines);
	if (json_array_size(p.errors)) {
		json_decref(s);
		*spec = NULL;
		*errors = p.errors;
		return FW_EINVAL;
	}
	json_decref(p.errors);
	*spec = s;
	*errors = NULL;
	return 0;
}

int rb_parse_file(const char *path, json_t **spec, json_t **errors)
{
	FILE *f = fopen(path, "r");
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (!f) {
		*spec = NULL;
		*errors = json_pack("[{s:s,s:i,s:s,s:s}]", "file", base, "line", 0, "field", "(document)", "message",
				    "cannot open the file");
		return FW_EIO;
	}
	char *buf = NULL;
	size_t cap = 0, len = 0, got;
	do {
		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);
			if (!nb) {
				free(buf);
				fclose(f);
				return FW_ENOMEM;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got && len < (1 << 20));
	fclose(f);
	int rc = rb_parse(buf ? buf : "", len, base, spec, errors);
	free(buf);
	return rc;
}

void rb_errors_sentence(const json_t *errors, char *out, size_t cap)
{
	const json_t *e = json_array_get(errors, 0);
	const char *file = json_string_value(json_object_get(e, "file"));
	snprintf(out, cap, "%s%s%lld: %s: %s%s", file ? file : "", file ? ":" : "line ",
		 (long long)json_integer_value(json_object_get(e, "line")), json_string_value(json_object_get(e, "field")),
		 json_string_value(json_object_get(e, "message")),
		 json_array_size(errors) > 1 ? " (and more errors)" : "");
}

/* ---- inputs ---- */

int rb_inputs_resolve(const json_t *spec, const json_t *given, json_t **out, struct fw_error *e)
{
	json_t *decl = json_object_get(spec, "inputs");
	json_t *res = json_object();
	const char *k;
	json_t *v;
	size_t i;
	json_t *in;
	int rc = 0;
	*out = NULL;
	if (given && !json_is_object(given)) {
		rc = fw_fail(e, 422, "invalid_input", "'inputs' must be an object of input values");
		goto out;
	}
	json_object_foreach((json_t *)given, k, v) {
		bool found = false;
		json_array_foreach(decl, i, in) if (!strcmp(json_string_value(json_object_get(in, "name")), k)) found =
			true;
		if (!found) {
			rc = fw_fail(e, 422, "invalid_input", "input '%s' is not declared by this runbook", k);
			goto out;
		}
	}
	json_array_foreach(decl, i, in) {
		const char *name = json_string_value(json_object_get(in, "name"));
		const char *type = json_string_value(json_object_get(in, "type"));
		if (!name || !type)
			continue;
		json_t *val = json_object_get(given, name);
		if (!val || json_is_null(val))
			val = json_object_get(in, "default");
		if (!val || json_is_null(val)) {
			if (json_is_true(json_object_get(in, "required"))) {
				rc = fw_fail(e, 422, "invalid_input", "input '%s' is required", name);
				goto out;
			}
			continue;
		}
		json_t *norm = NULL;
		if (!strcmp(type, "string") || !strcmp(type, "enum")) {
			if (!json_is_string(val)) {
				rc = fw_fail(e, 422, "invalid_input", "input '%s' must be a string", name);
				goto out;
			}
			norm = json_incref(val);
		} else if (!strcmp(type, "int")) {
			char *end;
			if (json_is_integer(val))
				norm = json_incref(val);
			else if (json_is_string(val) && json_string_length(val)) {
				long long x = strtoll(json_string_value(val), &end, 10);
				if (!*end)
					norm = json_integer(x);
			}
			if (!norm) {
				rc = fw_fail(e, 422, "invalid_input", "input '%s' must be an integer", name);
				goto out;
			}
		} else if (!strcmp(type, "number")) {
			if (json_is_number(val))
				norm = json_real(json_number_value(val));
			else {
				rc = fw_fail(e, 422, "invalid_input", "input '%s' must be a number", name);
				goto out;
			}
		} else if (!strcmp(type, "bool")) {
			if (json_is_boolean(val))
				norm = json_incref(val);
			else if (json_is_string(val) && (!strcmp(json_string_value(val), "true") ||
							 !strcmp(json_string_value(val), "false")))
				norm = json_boolean(!strcmp(json_string_value(val), "true"));
			else {
				rc = fw_fail(e, 422, "invalid_input", "input '%s' must be true or false", name);
				goto out;
			}
		}
		if (json_is_number(norm)) {
			double x = json_number_value(norm);
			json_t *mn = json_object_get(in, "min"), *mx = json_object_get(in, "max");
			if ((json_is_number(mn) && x < json_number_value(mn)) || (json_is_number(mx) && x > json_number_value(mx))) {
				json_decref(norm);
				rc = fw_fail(e, 422, "invalid_input", "input '%s' must be between %g and %g", name,
					     json_is_number(mn) ? json_number_value(mn) : -1e300,
					     json_is_number(mx) ? json_number_value(mx) : 1e300);
				goto out;
			}
		}
		if (json_is_string(norm)) {
			const char *s = json_string_value(norm);
			json_t *vals = json_object_get(in, "values");
			if (!strcmp(type, "enum")) {
				bool okk = false;
				size_t j;
				json_t *x;
				json_array_foreach(vals, j, x) if (!strcmp(json_string_value(x), s)) okk = true;
				if (!okk) {
					char list[512] = "";
					size_t len = 0;
					json_array_foreach(vals, j, x) len += (size_t)snprintf(
						list + len, len < sizeof(list) ? sizeof(list) - len : 0, "%s%s", j ? ", " : "",
						json_string_value(x));
					json_decref(norm);
					rc = fw_fail(e, 422, "invalid_input", "input '%s' must be one of: %s", name, list);
					goto out;
				}
			}
			const char *pat = json_string_value(json_object_get(in, "pattern"));
			regex_t rx;
			if (pat && !regcomp(&rx, pat, REG_EXTENDED | REG_NOSUB)) {
				int m = regexec(&rx, s, 0, NULL, 0);
				regfree(&rx);
				if (m) {
					json_decref(norm);
					rc = fw_fail(e, 422, "invalid_input", "input '%s' does not match the pattern %s", name, pat);
					goto out;
				}
			}
			json_t *mx = json_object_get(in, "max");
			if (json_is_integer(mx) && (json_int_t)strlen(s) > json_integer_value(mx)) {
				json_decref(norm);
				rc = fw_fail(e, 422, "invalid_input", "input '%s' must be at most %lld bytes", name,
					     (long long)json_integer_value(mx));
				goto out;
			}
		}
		json_object_set_new(res, name, norm);
	}
out:
	if (rc) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return 0;
}
