/* Unit tests for the runbook model (src/automation/runbook.c) and templating
 * (src/automation/template.c): validation errors with line and field, defaults, inputs, and the
 * rule that a rendered value is always exactly one string. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "automation/runbook.h"
#include "automation/runner.h"
#include "automation/template.h"
#include "util/err.h"

static json_t *parse_ok(const char *y)
{
	json_t *spec = NULL, *errors = NULL;
	int rc = rb_parse(y, strlen(y), "t.yaml", &spec, &errors);
	if (rc) {
		char *s = json_dumps(errors, 0);
		fail_msg("unexpected errors: %s", s);
		free(s);
	}
	return spec;
}

/* The first error as "line:field:message". */
static void first_error(const char *y, char *out, size_t cap)
{
	json_t *spec = NULL, *errors = NULL;
	assert_int_equal(rb_parse(y, strlen(y), "t.yaml", &spec, &errors), FW_EINVAL);
	json_t *e = json_array_get(errors, 0);
	snprintf(out, cap, "%lld:%s:%s", (long long)json_integer_value(json_object_get(e, "line")),
		 json_string_value(json_object_get(e, "field")), json_string_value(json_object_get(e, "message")));
	assert_string_equal(json_string_value(json_object_get(e, "file")), "t.yaml");
	json_decref(errors);
}

static void test_minimal_defaults(void **state)
{
	(void)state;
	json_t *s = parse_ok("name: a\nsteps:\n  - {type: exec, command: [sleep, 5]}\n");
	json_t *st = json_array_get(json_object_get(s, "steps"), 0);
	assert_string_equal(json_string_value(json_object_get(st, "name")), "step-1");
	/* YAML reads 5 as a number; in argv it is text. */
	assert_string_equal(json_string_value(json_array_get(json_object_get(st, "command"), 1)), "5");
	assert_int_equal(json_integer_value(json_object_get(st, "timeout_ms")), 60000);
	assert_int_equal(json_integer_value(json_object_get(s, "concurrency")), 5);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "circuit_breaker"), "failures")), 3);
	assert_int_equal((int)json_array_size(json_object_get(s, "rollback")), 0);
	json_decref(s);
}

static void test_unknown_step_type(void **state)
{
	(void)state;
	char e[600];
	first_error("name: a\nsteps:\n  - name: x\n    type: shell\n", e, sizeof(e));
	assert_string_equal(e, "4:steps[0].type:unknown step type 'shell'; allowed: exec, http, wait, approval, "
			       "diagnostics, set");
}

static void test_yaml_syntax_line(void **state)
{
	(void)state;
	char e[600];
	first_error("name: a\nsteps:\n  - type: exec\n   command: [x]\n", e, sizeof(e));
	assert_non_null(strstr(e, "invalid YAML"));
	assert_int_equal(atoi(e), 4);
}

static void test_field_errors(void **state)
{
	(void)state;
	char e[600];
	first_error("name: Bad Name\nsteps: [{type: exec, command: [x]}]\n", e, sizeof(e));
	assert_non_null(strstr(e, "1:name:"));
	first_error("name: a\nsteps: []\n", e, sizeof(e));
	assert_non_null(strstr(e, ":steps:"));
	first_error("name: a\nsteps:\n  - {type: exec, command: ['{{ inputs.x }}']}\n", e, sizeof(e));
	assert_non_null(strstr(e, "steps[0].command:the program"));
	first_error("name: a\nsteps:\n  - {type: exec, command: [echo, '{{ inputs.nope }}']}\n", e, sizeof(e));
	assert_non_null(strstr(e, "not declared"));
	first_error("name: a\nsteps:\n  - {type: exec, command: [echo, '{{ steps.later.stdout }}']}\n  - {name: later, "
		    "type: exec, command: [x]}\n",
		    e, sizeof(e));
	assert_non_null(strstr(e, "does not run before"));
	first_error("name: a\nsteps:\n  - {type: wait}\n", e, sizeof(e));
	assert_non_null(strstr(e, "'duration' or 'until'"));
	first_error("name: a\nsteps:\n  - {type: exec, command: [x], timeout: forever}\n", e, sizeof(e));
	assert_non_null(strstr(e, "steps[0].timeout:"));
	first_error("name: a\nsteps:\n  - {name: s, type: exec, command: [x]}\n  - {name: s, type: exec, command: [y]}\n",
		    e, sizeof(e));
	assert_non_null(strstr(e, "used twice"));
}

static void test_inputs(void **state)
{
	(void)state;
	json_t *s = parse_ok("name: a\ninputs:\n  - {name: n, type: int, default: 2, min: 1, max: 3}\n"
			     "  - {name: e, type: enum, values: [x, y], default: x}\n"
			     "  - {name: p, type: string, pattern: '^[a-z]+$'}\n"
			     "steps: [{type: exec, command: [echo, '{{ inputs.n }}']}]\n");
	json_t *out = NULL, *given;
	struct fw_error e = { 0 };
	given = json_pack("{s:s}", "n", "3");
	assert_int_equal(rb_inputs_resolve(s, given, &out, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(out, "n")), 3);
	assert_string_equal(json_string_value(json_object_get(out, "e")), "x");
	json_decref(out);
	json_decref(given);
	given = json_pack("{s:i}", "n", 4);
	assert_int_not_equal(rb_inputs_resolve(s, given, &out, &e), 0);
	assert_non_null(strstr(e.message, "between 1 and 3"));
	json_decref(given);
	given = json_pack("{s:s}", "e", "z");
	assert_int_not_equal(rb_inputs_resolve(s, given, &out, &e), 0);
	assert_string_equal(e.message, "input 'e' must be one of: x, y");
	json_decref(given);
	given = json_pack("{s:s}", "p", "$(x)");
	assert_int_not_equal(rb_inputs_resolve(s, given, &out, &e), 0);
	assert_non_null(strstr(e.message, "does not match"));
	json_decref(given);
	json_decref(s);
}

static void test_template_inert(void **state)
{
	(void)state;
	const char *evil = "$(rm -rf /); ; | & `id` \\ \"'";
	json_t *ctx = json_pack("{s:{s:s},s:{s:{s:s}},s:{}}", "inputs", "v", evil, "alarm", "labels", "host", evil, "steps");
	char *out = NULL;
	struct fw_error e = { 0 };
	assert_int_equal(rb_template_render("{{ inputs.v }}", ctx, &out, &e), 0);
	assert_string_equal(out, evil);
	free(out);
	assert_int_equal(rb_template_render("a={{alarm.labels.host}}!", ctx, &out, &e), 0);
	assert_int_equal(strncmp(out, "a=$(rm", 6), 0);
	free(out);
	/* A missing alarm label renders empty; a missing input is an error. */
	assert_int_equal(rb_template_render("[{{ alarm.labels.none }}]", ctx, &out, &e), 0);
	assert_string_equal(out, "[]");
	free(out);
	assert_int_not_equal(rb_template_render("{{ inputs.none }}", ctx, &out, &e), 0);
	assert_int_not_equal(rb_template_render("{{ inputs.v", ctx, &out, &e), 0);
	/* An argv array keeps its shape: one element in, one element out. */
	json_t *argv = json_pack("[s,s]", "echo", "{{ inputs.v }} {{ inputs.v }}"), *r = NULL;
	assert_int_equal(rb_template_render_json(argv, ctx, &r, &e), 0);
	assert_int_equal((int)json_array_size(r), 2);
	json_decref(r);
	json_decref(argv);
	json_decref(ctx);
}

static void test_utf8_clean(void **state)
{
	(void)state;
	char *s = rb_utf8_clean("ok\xff\xc3\xa9\xed\xa0\x80", 8);
	assert_string_equal(s, "ok?\xc3\xa9???");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults), cmocka_unit_test(test_unknown_step_type),
		cmocka_unit_test(test_yaml_syntax_line), cmocka_unit_test(test_field_errors),
		cmocka_unit_test(test_inputs),           cmocka_unit_test(test_template_inert),
		cmocka_unit_test(test_utf8_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
