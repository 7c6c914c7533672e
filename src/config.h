#ifndef FW_CONFIG_H
#define FW_CONFIG_H
/* flywheel.yaml: defaults, then the file, then command-line flags. Unknown keys are errors, so a
 * typo is reported at start instead of silently ignored. */

#include <stdbool.h>
#include <stddef.h>

struct config {
	char file[512];       /* the YAML file loaded, "" when none */
	char listen[128];     /* "127.0.0.1:8080" */
	char data_dir[512];   /* "var" */
	char store[1024];     /* "" means sqlite://<data_dir>/flywheel.db */
	char tls_cert[512];
	char tls_key[512];
	size_t body_max;      /* bytes; larger bodies get 413 */
	int threads;          /* HTTP worker threads */
	char log_level[16];   /* debug|info|warn|error */
	bool log_requests;    /* one JSON line per request */
	char rules_dir[512];    /* content.rules_dir: alarm rules (YAML) */
	char runbooks_dir[512]; /* content.runbooks_dir: runbooks (YAML) */
	char catalog_dir[512];  /* content.catalog_dir: service catalog (YAML) */
	char run_as[64];        /* automation.run_as: unprivileged user for runbook steps */
};

void config_defaults(struct config *c);
/* Loads path over the current values. Returns 0 or a negative code with file:line and the key in err. */
int config_load(struct config *c, const char *path, char *err, size_t errcap);
/* Sets one "section.key" (as in the file) from a string; used by the loader and by flags. */
int config_set(struct config *c, const char *key, const char *value, char *err, size_t errcap);

/* The directory of one kind of content ("rules.d", "runbooks.d", "catalog.d"): the content.* key
 * when set, else that directory beside the config file, else "" (no content loaded from files). */
void config_content_dir(const struct config *c, const char *which, char *out, size_t cap);

#endif
