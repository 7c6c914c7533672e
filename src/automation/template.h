#ifndef FW_RB_TEMPLATE_H
#define FW_RB_TEMPLATE_H
/* Templates in runbook steps: "{{ inputs.path }}", "{{ alarm.labels.instance }}",
 * "{{ ticket.id }}", "{{ steps.check.stdout }}", "{{ execution.id }}".
 *
 * A template renders to exactly one string, which becomes ONE argv element, one environment value,
 * a URL, a header value or a body. Nothing is ever split or handed to a shell, so a value such as
 * `$(rm -rf /); | &` stays inert data. Pure functions, no I/O. */

#include <jansson.h>
#include <stddef.h>

struct fw_error;

/* Renders tmpl against ctx, an object with the roots inputs, alarm, ticket, steps, execution,
 * runbook. Missing alarm/ticket fields render as ""; a missing input or step is an error (422
 * template_error naming the reference). *out is a new string the caller frees. Output is capped at
 * 64 KiB. */
int rb_template_render(const char *tmpl, const json_t *ctx, char **out, struct fw_error *e);

/* Checks the syntax of tmpl and that each reference has a known root; inputs must be one of
 * `inputs` (array of names, may be NULL = any) and steps one of `steps` (names of earlier steps,
 * may be NULL = any). Fills msg (a sentence) and returns FW_EINVAL on the first problem. */
int rb_template_check(const char *tmpl, const json_t *inputs, const json_t *steps, char *msg, size_t cap);

/* Renders every string in v (a string, or an array / object of strings, recursively) into a new
 * value of the same shape. *out is a new reference. */
int rb_template_render_json(const json_t *v, const json_t *ctx, json_t **out, struct fw_error *e);

#endif
