#include "config.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8080");
	snprintf(c->data_dir, sizeof(c->data_dir), "var");
	c->body_max = 1 << 20;
	c->threads = 16;
	snprintf(c->log_level, sizeof(c->log_level), "info");
	c->log_requests = true;
}

static int set_str(char *dst, size_t cap, const char *key, const char *v, char *err, size_t errcap)
{
	if (strlen(v) >= cap) {
		snprintf(err, errcap, "value of '%s' is too long", key);
		return FW_EINVAL;
	}
	snprintf(dst, cap, "%s", v);
	return 0;
}

static int parse_size(const char *v, size_t *out)
{
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	if (end == v)
		return FW_EINVAL;
	if (*end == 'k' || *end == 'K')
		n <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		n <<= 20, end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || n == 0)
		return FW_EINVAL;
	*out = (size_t)n;
	return 0;
}

int config_set(struct config *c, const char *key, const char *v, char *err, size_t errcap)
{
	if (strcmp(key, "listen") == 0)
		return set_str(c->listen, sizeof(c->listen), key, v, err, errcap);
	if (strcmp(key, "data_dir") == 0)
		return set_str(c->data_dir, sizeof(c->data_dir), key, v, err, errcap);
	if (strcmp(key, "store") == 0)
		return set_str(c->store, sizeof(c->store), key, v, err, errcap);
	if (strcmp(key, "tls.cert") == 0)
		return set_str(c->tls_cert, sizeof(c->tls_cert), key, v, err, errcap);
	if (strcmp(key, "tls.key") == 0)
		return set_str(c->tls_key, sizeof(c->tls_key), key, v, err, errcap);
	if (strcmp(key, "limits.body_max") == 0) {
		if (parse_size(v, &c->body_max)) {
			snprintf(err, errcap, "limits.body_max must be a size like 1048576, 512k or 4m, not '%s'", v);
			return FW_EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "limits.threads") == 0) {
		int n = atoi(v);
		if (n < 1 || n > 1024) {
			snprintf(err, errcap, "limits.threads must be between 1 and 1024, not '%s'", v);
			return FW_EINVAL;
		}
		c->threads = n;
		return 0;
	}
	if (strcmp(key, "log.level") == 0) {
		if (strcmp(v, "debug") && strcmp(v, "info") && strcmp(v, "warn") && strcmp(v, "error")) {
			snprintf(err, errcap, "log.level must be debug, info, warn or error, not '%s'", v);
			return FW_EINVAL;
		}
		return set_str(c->log_level, sizeof(c->log_level), key, v, err, errcap);
	}
	if (strcmp(key, "log.requests") == 0) {
		if (strcmp(v, "true") && strcmp(v, "false")) {
			snprintf(err, errcap, "log.requests must be true or false, not '%s'", v);
			return FW_EINVAL;
		}
		c->log_requests = strcmp(v, "true") == 0;
		return 0;
	}
	if (strcmp(key, "content.rules_dir") == 0)
		return set_str(c->rules_dir, sizeof(c->rules_dir), key, v, err, errcap);
	if (strcmp(key, "content.runbooks_dir") == 0)
		return set_str(c->runbooks_dir, sizeof(c->runbooks_dir), key, v, err, errcap);
	if (strcmp(key, "content.catalog_dir") == 0)
		return set_str(c->catalog_dir, sizeof(c->catalog_dir), key, v, err, errcap);
	if (strcmp(key, "automation.run_as") == 0)
		return set_str(c->run_as, sizeof(c->run_as), key, v, err, errcap);
	snprintf(err, errcap, "unknown setting '%s'", key);
	return FW_EINVAL;
}

/* Walks a mapping of scalars and one level of nested mappings, calling config_set("a.b", v). */
int config_load(struct config *c, const char *path, char *err, size_t errcap)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errcap, "cannot open config file %s", path);
		return FW_EIO;
	}
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	char section[64] = "", key[64] = "", full[160], msg[256];
	int depth = 0, rc = 0;
	bool want_key = true, done = false;
	while (!done && !rc) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			snprintf(err, errcap, "%s:%zu: %s", path, p.problem_mark.line + 1,
				 p.problem ? p.problem : "YAML syntax error");
			rc = FW_EINVAL;
			break;
		}
		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
			depth++;
			if (depth == 2) {
				snprintf(section, sizeof(section), "%s", key);
				want_key = true;
			} else if (depth > 2) {
				snprintf(err, errcap, "%s:%zu: settings nest at most two levels", path,
					 ev.start_mark.line + 1);
				rc = FW_EINVAL;
			}
			break;
		case YAML_MAPPING_END_EVENT:
			depth--;
			section[0] = '\0';
			want_key = true;
			break;
		case YAML_SCALAR_EVENT:
			if (want_key) {
				snprintf(key, sizeof(key), "%s", (const char *)ev.data.scalar.value);
				want_key = false;
			} else {
				if (section[0])
					snprintf(full, sizeof(full), "%s.%s", section, key);
				else
					snprintf(full, sizeof(full), "%s", key);
				if (config_set(c, full, (const char *)ev.data.scalar.value, msg, sizeof(msg))) {
					snprintf(err, errcap, "%s:%zu: %s", path, ev.start_mark.line + 1, msg);
					rc = FW_EINVAL;
				}
				want_key = true;
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
			snprintf(err, errcap, "%s:%zu: '%s' does not take a list", path, ev.start_mark.line + 1, key);
			rc = FW_EINVAL;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	fclose(f);
	if (!rc)
		snprintf(c->file, sizeof(c->file), "%s", path);
	return rc;
}

void config_content_dir(const struct config *c, const char *which, char *out, size_t cap)
{
	const char *explicit = !strcmp(which, "rules.d")      ? c->rules_dir
			       : !strcmp(which, "runbooks.d") ? c->runbooks_dir
			       : !strcmp(which, "catalog.d")  ? c->catalog_dir
							      : "";
	if (explicit[0]) {
		snprintf(out, cap, "%s", explicit);
		return;
	}
	if (!c->file[0]) {
		out[0] = '\0';
		return;
	}
	const char *slash = strrchr(c->file, '/');
	if (slash)
		snprintf(out, cap, "%.*s/%s", (int)(slash - c->file), c->file, which);
	else
		snprintf(out, cap, "%s", which);
}
