#include "automation/template.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_MAX (64 * 1024)

static const char *const roots[] = { "inputs", "alarm", "ticket", "steps", "execution", "runbook", NULL };

static bool path_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
	       ch == '-' || ch == '.';
}

/* Finds the next "{{ path }}" at or after s. Sets start and end (the whole tag) and path. Returns 1 when
 * found, 0 when there is none, -1 on a syntax error (msg filled). */
static int next_tag(const char *s, const char **start, const char **end, char *path, size_t pcap, char *msg,
		    size_t mcap)
{
	const char *o = strstr(s, "{{");
	if (!o)
		return 0;
	const char *p = o + 2;
	while (*p == ' ')
		p++;
	const char *ps = p;
	while (path_char(*p))
		p++;
	size_t n = (size_t)(p - ps);
	while (*p == ' ')
		p++;
	if (strncmp(p, "}}", 2) != 0 || n == 0 || n >= pcap) {
		snprintf(msg, mcap, "template syntax: expected '{{ name.path }}' at '%.30s'", o);
		return -1;
	}
	memcpy(path, ps, n);
	path[n] = '\0';
	*start = o;
	*end = p + 2;
	return 1;
}

static const json_t *lookup(const json_t *ctx, const char *path)
{
	char seg[128];
	const json_t *v = ctx;
	const char *p = path;
	while (*p && v) {
		size_t n = strcspn(p, ".");
		if (n >= sizeof(seg))
			return NULL;
		memcpy(seg, p, n);
		seg[n] = '\0';
		if (json_is_object(v))
			v = json_object_get(v, seg);
		else if (json_is_array(v)) {
			char *endp;
			long i = strtol(seg, &endp, 10);
			v = *endp || i < 0 ? NULL : json_array_get(v, (size_t)i);
		} else
			v = NULL;
		p += n;
		if (*p == '.')
			p++;
	}
	return v;
}

static int append_value(struct buf *b, const json_t *v)
{
	char num[64];
	switch (json_typeof(v)) {
	case JSON_STRING: return buf_append(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER: snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v)); return buf_puts(b, num);
	case JSON_REAL: snprintf(num, sizeof(num), "%g", json_real_value(v)); return buf_puts(b, num);
	case JSON_TRUE: return buf_puts(b, "true");
	case JSON_FALSE: return buf_puts(b, "false");
	case JSON_NULL: return 0;
	default: {
		char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		int rc = s ? buf_puts(b, s) : FW_ENOMEM;
		free(s);
		return rc;
	}
	}
}

int rb_template_render(const char *tmpl, const json_t *ctx, char **out, struct fw_error *e)
{
	struct buf b = BUF_INIT(TEMPLATE_MAX);
	const char *s = tmpl, *ts, *te;
	char path[256], msg[200];
	int rc = 0, f;
	while ((f = next_tag(s, &ts, &te, path, sizeof(path), msg, sizeof(msg))) == 1) {
		if ((rc = buf_append(&b, s, (size_t)(ts - s))))
			goto out;
		const json_t *v = lookup(ctx, path);
		if (!v) {
			bool soft = !strncmp(path, "alarm.", 6) || !strncmp(path, "ticket.", 7);
			if (!soft) {
				rc = fw_fail(e, 422, "template_error", "template reference '{{ %s }}' has no value", path);
				goto out;
			}
		} else if ((rc = append_value(&b, v)))
			goto out;
		s = te;
	}
	if (f < 0) {
		rc = fw_fail(e, 422, "template_error", "%s", msg);
		goto out;
	}
	rc = buf_puts(&b, s);
out:
	if (rc == FW_ETOOBIG)
		fw_fail(e, 422, "template_error", "a rendered template is longer than %d bytes", TEMPLATE_MAX);
	if (rc) {
		buf_release(&b);
		return rc;
	}
	*out = buf_detach(&b);
	return *out ? 0 : FW_ENOMEM;
}

static bool in_names(const json_t *names, const char *s, size_t n)
{
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v) {
		const char *x = json_string_value(v);
		if (x && strlen(x) == n && !strncmp(x, s, n))
			return true;
	}
	return false;
}

int rb_template_check(const char *tmpl, const json_t *inputs, const json_t *steps, char *msg, size_t cap)
{
	const char *s = tmpl, *ts, *te;
	char path[256];
	int f;
	while ((f = next_tag(s, &ts, &te, path, sizeof(path), msg, cap)) == 1) {
		size_t rl = strcspn(path, ".");
		bool known = false;
		for (int i = 0; roots[i]; i++)
			if (strlen(roots[i]) == rl && !strncmp(roots[i], path, rl))
				known = true;
		if (!known) {
			snprintf(msg, cap, "unknown template reference '{{ %s }}'; it must start with inputs., alarm., "
				      "ticket., steps., execution. or runbook.", path);
			return FW_EINVAL;
		}
		const char *rest = path[rl] == '.' ? path + rl + 1 : "";
		size_t n = strcspn(rest, ".");
		if (!strncmp(path, "inputs", rl) && rl == 6 && inputs && !in_names(inputs, rest, n)) {
			snprintf(msg, cap, "template '{{ %s }}' names an input that is not declared", path);
			return FW_EINVAL;
		}
		if (!strncmp(path, "steps", rl) && rl == 5 && steps && !in_names(steps, rest, n)) {
			snprintf(msg, cap, "template '{{ %s }}' names a step that does not run before this one", path);
			return FW_EINVAL;
		}
		s = te;
	}
	return f < 0 ? FW_EINVAL : 0;
}

int rb_template_render_json(const json_t *v, const json_t *ctx, json_t **out, struct fw_error *e)
{
	int rc = 0;
	if (json_is_string(v)) {
		char *s;
		if ((rc = rb_template_render(json_string_value(v), ctx, &s, e)))
			return rc;
		*out = json_string(s);
		free(s);
		if (!*out)
			return fw_fail(e, 422, "template_error", "a rendered template is not valid UTF-8");
		return 0;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *it;
		json_array_foreach(v, i, it) {
			json_t *r;
			if ((rc = rb_template_render_json(it, ctx, &r, e))) {
				json_decref(a);
				return rc;
			}
			json_array_append_new(a, r);
		}
		*out = a;
		return 0;
	}
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_t *it;
		json_object_foreach((json_t *)v, k, it) {
			json_t *r;
			if ((rc = rb_template_render_json(it, ctx, &r, e))) {
				json_decref(o);
				return rc;
			}
			json_object_set_new(o, k, r);
		}
		*out = o;
		return 0;
	}
	*out = json_deep_copy(v);
	return 0;
}
