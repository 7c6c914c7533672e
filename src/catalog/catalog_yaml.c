#include "catalog/catalog_yaml.h"

#include "audit/audit.h"
#include "catalog/offering.h"
#include "store/store.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define MAX_DEPTH 32
#define MAX_FILE  (1 << 20)

static json_t *scalar(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (!strcmp(v, "true"))
			return json_true();
		if (!strcmp(v, "false"))
			return json_false();
		if (!strcmp(v, "null") || !strcmp(v, "~") || n == 0)
			return json_null();
		size_t i = (v[0] == '-') ? 1 : 0;
		if (n > i && n - i <= 15) {
			size_t j = i;
			while (j < n && v[j] >= '0' && v[j] <= '9')
				j++;
			if (j == n)
				return json_integer(strtoll(v, NULL, 10));
		}
	}
	return json_stringn(v, n);
}

/* Adds v into the container on top of the stack (consumes v). key is the pending mapping key. */
static int add(json_t **stack, int depth, char **key, json_t *v, json_t **root)
{
	if (depth == 0) {
		*root = v;
		return 0;
	}
	json_t *top = stack[depth - 1];
	if (json_is_array(top))
		return json_array_append_new(top, v) ? FW_ENOMEM : 0;
	if (!*key) {
		if (!json_is_string(v) && !json_is_integer(v)) {
			json_decref(v);
			return FW_EINVAL;
		}
		char buf[32];
		const char *k = json_is_string(v) ? json_string_value(v) : buf;
		if (json_is_integer(v))
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		*key = strdup(k);
		json_decref(v);
		return *key ? 0 : FW_ENOMEM;
	}
	int rc = json_object_set_new(top, *key, v) ? FW_ENOMEM : 0;
	free(*key);
	*key = NULL;
	return rc;
}

int cat_yaml_parse(const char *text, size_t len, json_t **out, char *err, size_t errcap)
{
	yaml_parser_t p;
	json_t *stack[MAX_DEPTH], *root = NULL;
	char *key = NULL;
	int depth = 0, rc = 0, docs = 0;
	bool done = false;
	*out = NULL;
	if (!yaml_parser_initialize(&p))
		return FW_ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			snprintf(err, errcap, "line %zu: %s", p.problem_mark.line + 1,
			         p.problem ? p.problem : "malformed YAML");
			rc = FW_EINVAL;
			break;
		}
		size_t line = ev.start_mark.line + 1;
		json_t *v = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT: done = true; break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				snprintf(err, errcap, "line %zu: one YAML document per file", line);
				rc = FW_EINVAL;
			}
			break;
		case YAML_ALIAS_EVENT:
			snprintf(err, errcap, "line %zu: YAML aliases are not supported; repeat the value",
			         line);
			rc = FW_EINVAL;
			break;
		case YAML_SCALAR_EVENT:
			rc = add(stack, depth, &key, scalar(&ev), &root);
			if (rc)
				snprintf(err, errcap, "line %zu: a mapping key must be a string", line);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (depth == MAX_DEPTH || (depth > 0 && json_is_object(stack[depth - 1]) && !key)) {
				snprintf(err, errcap, "line %zu: %s", line,
				         depth == MAX_DEPTH ? "nested too deeply"
				                            : "a mapping key must be a string");
				rc = FW_EINVAL;
				break;
			}
			v = ev.type == YAML_SEQUENCE_START_EVENT ? json_array() : json_object();
			rc = add(stack, depth, &key, json_incref(v), &root);
			stack[depth++] = v;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: json_decref(stack[--depth]); break;
		default: break;
		}
		yaml_event_delete(&ev);
		if (rc)
			break;
	}
	while (depth > 0)
		json_decref(stack[--depth]);
	free(key);
	yaml_parser_delete(&p);
	if (rc) {
		json_decref(root);
		return rc;
	}
	*out = root ? root : json_null();
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *data = malloc(MAX_FILE + 1);
	size_t n = data ? fread(data, 1, MAX_FILE + 1, f) : 0;
	fclose(f);
	if (!data || n > MAX_FILE) {
		free(data);
		return NULL;
	}
	data[n] = '\0';
	*len = n;
	return data;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct load_ctx {
	json_t *offerings;
	int64_t now;
};

static int load_tx(struct store_conn *c, void *arg)
{
	struct load_ctx *x = arg;
	for (size_t i = 0; i < json_array_size(x->offerings); i++) {
		json_t *o = json_array_get(x->offerings, i);
		bool changed = false;
		int rc = cat_offering_put(c, o, "file", x->now, &changed);
		if (!rc && changed)
			rc = audit_append(c, "system", NULL, "offering.load", jv_str(o, "id"), NULL, o);
		if (rc)
			return rc;
	}
	return 0;
}

static int collect(json_t *doc, const char *name, json_t *all, char *err, size_t errcap)
{
	json_t *list = json_is_object(doc) && json_object_get(doc, "offerings")
	                   ? json_object_get(doc, "offerings")
	                   : NULL;
	if (json_is_object(doc) && !list) {
		json_t *one = json_array();
		json_array_append(one, doc);
		int rc = collect(json_pack("{s:o}", "offerings", one), name, all, err, errcap);
		json_decref(doc);
		return rc;
	}
	int rc = 0;
	if (!json_is_array(list)) {
		snprintf(err, errcap, "%s: expected one offering (a mapping) or a list under 'offerings:'",
		         name);
		rc = FW_EINVAL;
		goto out;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *o = json_deep_copy(json_array_get(list, i));
		struct fw_error e = {0};
		if (!json_is_object(o)) {
			snprintf(err, errcap, "%s: offering %zu is not a mapping", name, i + 1);
			json_decref(o);
			rc = FW_EINVAL;
			goto out;
		}
		if (cat_offering_check(o, &e)) {
			snprintf(err, errcap, "%s: offering %zu: %s", name, i + 1, e.message);
			json_decref(o);
			rc = FW_EINVAL;
			goto out;
		}
		json_array_append_new(all, o);
	}
out:
	json_decref(doc);
	return rc;
}

int cat_catalog_load_dir(struct store *st, const char *dir, int *count, char *err, size_t errcap)
{
	*count = 0;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : (snprintf(err, errcap, "%s: %s", dir, strerror(errno)), FW_EIO);
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".yaml"))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (!nn) {
				rc = FW_ENOMEM;
				break;
			}
			names = nn;
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	json_t *all = json_array();
	for (size_t i = 0; !rc && i < n; i++) {
		char path[1200];
		size_t len = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		char *text = read_file(path, &len);
		if (!text) {
			snprintf(err, errcap, "%s: cannot read (or larger than 1 MiB)", path);
			rc = FW_EIO;
			break;
		}
		json_t *doc = NULL;
		char perr[400];
		rc = cat_yaml_parse(text, len, &doc, perr, sizeof(perr));
		free(text);
		if (rc) {
			snprintf(err, errcap, "%s: %s", path, perr);
			break;
		}
		rc = collect(doc, path, all, err, errcap);
	}
	for (size_t i = 0; !rc && i < json_array_size(all); i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(jv_str(json_array_get(all, i), "id"),
			            jv_str(json_array_get(all, j), "id"))) {
				snprintf(err, errcap, "%s: offering '%s' is defined twice", dir,
				         jv_str(json_array_get(all, i), "id"));
				rc = FW_EINVAL;
			}
	if (!rc && json_array_size(all)) {
		struct load_ctx x = {all, time_now_ms()};
		rc = store_write(st, load_tx, &x);
		if (rc)
			snprintf(err, errcap, "%s: the catalog could not be stored", dir);
	}
	if (!rc)
		*count = (int)json_array_size(all);
	json_decref(all);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static bool is_dir(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

void cat_catalog_dir(const char *config_file, char *out, size_t cap)
{
	const char *env = getenv("FLYWHEEL_CATALOG_DIR");
	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return;
	}
	if (config_file && *config_file) {
		const char *slash = strrchr(config_file, '/');
		if (slash)
			snprintf(out, cap, "%.*s/catalog.d", (int)(slash - config_file), config_file);
		else
			snprintf(out, cap, "catalog.d");
		if (is_dir(out))
			return;
	}
	snprintf(out, cap, "/etc/flywheel/catalog.d");
	if (is_dir(out))
		return;
	snprintf(out, cap, "etc/catalog.d");
}
