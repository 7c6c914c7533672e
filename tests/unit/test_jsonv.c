/* Unit tests for request-body parsing and validation (src/util/jsonv.c): every category of bad
 * input the API must reject, with the status, code and a message naming the field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "util/jsonv.h"

static const char *const colors[] = { "red", "green", NULL };

static const struct jv_field fields[] = {
	{ "name", JV_STRING, JV_REQUIRED | JV_NONEMPTY, 10, NULL },
	{ "note", JV_STRING, JV_NULLABLE, 0, NULL },
	{ "color", JV_STRING, 0, 0, colors },
	{ "count", JV_INT, 0, 0, NULL },
	{ "flag", JV_BOOL, 0, 0, NULL },
	{ "tags", JV_ARRAY, JV_NONEMPTY, 3, NULL },
	{ "meta", JV_OBJECT, 0, 0, NULL },
	{ "ratio", JV_NUMBER, 0, 0, NULL },
	{ NULL },
};

/* Parses text and checks it; returns the FW code and fills e. */
static int run(const char *text, struct fw_error *e)
{
	json_t *j = NULL;
	memset(e, 0, sizeof(*e));
	int rc = jv_parse(text, strlen(text), false, &j, e);
	if (!rc)
		rc = jv_check(j, fields, e);
	json_decref(j);
	return rc;
}

/* Expects the body to be refused with status and code, and the message to contain needle. */
static void refused(const char *text, int status, const char *code, const char *needle)
{
	struct fw_error e;
	int rc = run(text, &e);
	if (rc == 0 || e.status != status || strcmp(e.code, code) || !strstr(e.message, needle))
		print_error("body %s: rc %d status %d code %s message '%s'; wanted %d %s containing '%s'\n", text, rc,
			    e.status, e.code, e.message, status, code, needle);
	assert_int_not_equal(rc, 0);
	assert_int_equal(e.status, status);
	assert_string_equal(e.code, code);
	assert_non_null(strstr(e.message, needle));
}

static void test_good(void **s)
{
	struct fw_error e;
	assert_int_equal(run("{\"name\":\"x\"}", &e), 0);
	assert_int_equal(run("{\"name\":\"0123456789\",\"note\":null,\"color\":\"red\",\"count\":3,\"flag\":false,"
			     "\"tags\":[1],\"meta\":{},\"ratio\":0.5}",
			     &e),
			 0);
	assert_int_equal(run("{\"name\":\"x\",\"ratio\":2}", &e), 0); /* an integer is a number */
	/* Multi-byte UTF-8 counts bytes: 3 × 3 bytes fit in 10. */
	assert_int_equal(run("{\"name\":\"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\"}", &e), 0);
}

static void test_malformed(void **s)
{
	refused("", 400, "invalid_json", "empty");
	refused("{", 400, "invalid_json", "line 1");
	refused("{\"name\":\"x\",}", 400, "invalid_json", "malformed");
	refused("[1,2]", 400, "invalid_json", "object");
	refused("\"name\"", 400, "invalid_json", "line 1"); /* scalars are not bodies */
	refused("{\"name\":\"x\"} trailing", 400, "invalid_json", "malformed");
	refused("{\"name\":\"x\",\"name\":\"y\"}", 400, "invalid_json", "name"); /* duplicate keys */
}

static void test_bad_utf8(void **s)
{
	refused("{\"name\":\"\xff\xfe\"}", 400, "invalid_json", "malformed");
	refused("{\"name\":\"\xc3\x28\"}", 400, "invalid_json", "malformed");
	refused("{\"name\":\"\xed\xa0\x80\"}", 400, "invalid_json", "malformed"); /* a lone surrogate */
}

static void test_arrays_at_top_level_when_allowed(void **s)
{
	json_t *j = NULL;
	struct fw_error e = { 0 };
	assert_int_equal(jv_parse("[1]", 3, true, &j, &e), 0);
	assert_true(json_is_array(j));
	json_decref(j);
	assert_int_not_equal(jv_parse("3", 1, true, &j, &e), 0);
	assert_null(j);
}

static void test_unknown_and_missing(void **s)
{
	refused("{\"name\":\"x\",\"colour\":\"red\"}", 422, "unknown_field", "'colour'");
	refused("{\"name\":\"x\",\"colour\":\"red\"}", 422, "unknown_field", "known fields: name, note");
	refused("{}", 422, "missing_field", "'name'");
	refused("{\"name\":null}", 422, "invalid_field", "'name'"); /* not nullable */
}

static void test_types(void **s)
{
	refused("{\"name\":5}", 422, "invalid_field", "field 'name' must be a string");
	refused("{\"name\":\"x\",\"count\":\"3\"}", 422, "invalid_field", "field 'count' must be an integer");
	refused("{\"name\":\"x\",\"count\":3.5}", 422, "invalid_field", "'count'");
	refused("{\"name\":\"x\",\"flag\":1}", 422, "invalid_field", "field 'flag' must be a boolean");
	refused("{\"name\":\"x\",\"tags\":{}}", 422, "invalid_field", "field 'tags' must be an array");
	refused("{\"name\":\"x\",\"meta\":[]}", 422, "invalid_field", "field 'meta' must be an object");
	refused("{\"name\":\"x\",\"ratio\":\"1\"}", 422, "invalid_field", "field 'ratio' must be a number");
	refused("{\"name\":\"x\",\"color\":null}", 422, "invalid_field", "'color'");
}

static void test_lengths_and_values(void **s)
{
	refused("{\"name\":\"01234567890\"}", 422, "invalid_field", "too long (11 bytes; at most 10)");
	refused("{\"name\":\"\"}", 422, "invalid_field", "'name' must not be empty");
	refused("{\"name\":\"a\\u0000b\"}", 400, "invalid_json", "u0000"); /* NUL never reaches C strings */
	refused("{\"name\":\"x\",\"color\":\"blue\"}", 422, "invalid_field", "allowed: red, green");
	refused("{\"name\":\"x\",\"tags\":[]}", 422, "invalid_field", "'tags' must not be empty");
	refused("{\"name\":\"x\",\"tags\":[1,2,3,4]}", 422, "invalid_field", "'tags' has 4 items; at most 3");
	/* The default cap for strings without a maxlen is 4096 bytes. */
	char big[4200];
	memset(big, 'a', sizeof(big));
	memcpy(big, "{\"name\":\"x\",\"note\":\"", 20);
	memcpy(big + 4118, "\"}", 3);
	refused(big, 422, "invalid_field", "'note' is too long (4098 bytes; at most 4096)");
}

static void test_helpers(void **s)
{
	json_t *o = json_pack("{s:s,s:i,s:n}", "a", "x", "b", 1, "c");
	assert_string_equal(jv_str(o, "a"), "x");
	assert_null(jv_str(o, "b"));
	assert_null(jv_str(o, "c"));
	assert_null(jv_str(o, "d"));
	assert_string_equal(jv_str_or(o, "b", "dflt"), "dflt");
	assert_null(jv_str(NULL, "a"));
	json_decref(o);
	assert_true(jv_in("green", colors));
	assert_false(jv_in("Green", colors));
	char out[64];
	jv_join(colors, out, sizeof(out));
	assert_string_equal(out, "red, green");
	char tiny[5];
	jv_join(colors, tiny, sizeof(tiny));
	assert_true(strlen(tiny) < sizeof(tiny));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bad_utf8),
		cmocka_unit_test(test_arrays_at_top_level_when_allowed),
		cmocka_unit_test(test_unknown_and_missing),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_lengths_and_values),
		cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
