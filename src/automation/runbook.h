#ifndef FW_RUNBOOK_H
#define FW_RUNBOOK_H
/* Runbooks: the YAML model, its validation and input checking. Pure: no I/O besides reading a file
 * in rb_parse_file().
 *
 * A runbook is kept as its validated JSON "spec" (the YAML converted to JSON, with defaults filled
 * in), which is what the store keeps per version and what executions run. The schema is described
 * in docs/automation.md. Validation errors name the file, line and field:
 *   {"file":"disk.yaml","line":12,"field":"steps[2].type","message":"unknown step type 'shell'; …"} */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct fw_error;

extern const char *const rb_step_types[]; /* exec, http, wait, approval, diagnostics, set */

/* Parses and validates YAML (or JSON, a subset of it) text[0..len). On success *spec is a new
 * reference to the normalized spec and returns 0. On failure returns FW_EINVAL and *errors is a new
 * reference to a non-empty array of {file,line,field,message}; file is `file` (may be NULL). */
int rb_parse(const char *text, size_t len, const char *file, json_t **spec, json_t **errors);
/* Same for a file on disk (file errors are reported the same way). */
int rb_parse_file(const char *path, json_t **spec, json_t **errors);

/* Checks given inputs (an object, may be NULL) against the spec's declared inputs: unknown names,
 * types, required, pattern, min/max, allowed values. Defaults are filled in. On success *out is a new
 * reference to the complete inputs object; on failure fills e (422 invalid_input naming the input). */
int rb_inputs_resolve(const json_t *spec, const json_t *given, json_t **out, struct fw_error *e);

/* The first error of an errors array as one sentence "file:line: field: message" into out. */
void rb_errors_sentence(const json_t *errors, char *out, size_t cap);

/* Duration parsing for spec values: a string like "30s", "5m" or an integer number of seconds. */
int rb_duration_ms(const json_t *v, int64_t dflt, int64_t *out);

/* True when name is a valid runbook / step / input name: [a-z0-9][a-z0-9_.-]{0,63}. */
bool rb_name_valid(const char *name);

#endif
