/* Unit tests for src/events/matcher.c: matcher types, text and JSON forms, anchoring, RE2 translation,
 * silence validation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "events/labels.h"
#include "events/matcher.h"
#include "util/err.h"

static json_t *J(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	assert_non_null(j);
	return j;
}

/* Parses one text matcher and expects success. */
static void parse_ok(struct evt_matcher *m, const char *text)
{
	struct fw_error e = { 0 };
	int rc = evt_matcher_parse(m, text, strlen(text), &e);
	if (rc != 0)
		print_error("%s: %s\n", text, e.message);
	assert_int_equal(rc, 0);
}

/* Parses one text matcher and expects a 400 with this code and message. */
static void parse_err(const char *text, const char *code, const char *message)
{
	struct evt_matcher m = EVT_MATCHER_INIT;
	struct fw_error e = { 0 };
	assert_int_equal(evt_matcher_parse(&m, text, strlen(text), &e), FW_EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, code);
	if (message)
		assert_string_equal(e.message, message);
	assert_null(m.name);
	assert_null(m.re);
}

/* True when the regex matcher `pattern` (=~) matches value; the pattern must compile. */
static bool re_matches(const char *pattern, const char *value)
{
	struct evt_matcher m = EVT_MATCHER_INIT;
	struct fw_error e = { 0 };
	int rc = evt_matcher_init(&m, EVT_MATCH_REGEX, "l", pattern, &e);
	if (rc != 0)
		print_error("pattern %s: %s\n", pattern, e.message);
	assert_int_equal(rc, 0);
	bool r = evt_matcher_matches(&m, value);
	evt_matcher_release(&m);
	return r;
}

/* Expects the regex pattern to be rejected with a message containing `why`. */
static void re_rejected(const char *pattern, const char *why)
{
	struct evt_matcher m = EVT_MATCHER_INIT;
	struct fw_error e = { 0 };
	assert_int_equal(evt_matcher_init(&m, EVT_MATCH_REGEX, "l", pattern, &e), FW_EINVAL);
	assert_string_equal(e.code, "invalid_regex");
	if (!strstr(e.message, why))
		print_error("message \"%s\" lacks \"%s\"\n", e.message, why);
	assert_non_null(strstr(e.message, why));
	assert_null(m.re);
}

static void each_type_matches(void **state)
{
	struct evt_matcher m = EVT_MATCHER_INIT;
	assert_int_equal(evt_matcher_init(&m, EVT_MATCH_EQUAL, "severity", "critical", NULL), 0);
	assert_true(evt_matcher_matches(&m, "critical"));
	assert_false(evt_matcher_matches(&m, "Critical"));
	assert_int_equal(evt_matcher_init(&m, EVT_MATCH_NOT_EQUAL, "severity", "critical", NULL), 0);
	assert_false(evt_matcher_matches(&m, "critical"));
	assert_true(evt_matcher_matches(&m, "warning"));
	assert_int_equal(evt_matcher_init(&m, EVT_MATCH_REGEX, "severity", "crit.*|warn", NULL), 0);
	assert_true(evt_matcher_matches(&m, "critical"));
	assert_true(evt_matcher_matches(&m, "warn"));
	assert_false(evt_matcher_matches(&m, "info"));
	assert_int_equal(evt_matcher_init(&m, EVT_MATCH_NOT_REGEX, "severity", "crit.*|warn", NULL), 0);
	assert_false(evt_matcher_matches(&m, "critical"));
	assert_true(evt_matcher_matches(&m, "info"));
	assert_string_equal(evt_match_type_str(EVT_MATCH_NOT_REGEX), "!~");
	evt_matcher_release(&m);
}

static void regex_is_fully_anchored(void **state)
{
	assert_true(re_matches("foo", "foo"));
	assert_false(re_matches("foo", "foobar"));
	assert_false(re_matches("foo", "xfoo"));
	/* Each alternative is anchored, not just the first and last. */
	assert_false(re_matches("foo|bar", "foobar"));
	assert_false(re_matches("foo|bar", "xbar"));
	assert_true(re_matches("foo|bar", "bar"));
	assert_true(re_matches("", ""));
	assert_false(re_matches("", "x"));
	/* "a)|(b" would escape the ^(…)$ wrapping if the stray ')' were taken literally: rejected. */
	re_rejected("a)|(b", "unexpected )");
	re_rejected("(a", "missing closing )");
}

static void missing_label_reads_as_empty(void **state)
{
	struct evt_matchers set = EVT_MATCHERS_INIT;
	struct evt_labels ls = EVT_LABELS_INIT;
	evt_labels_set(&ls, "alertname", "Down");

	assert_int_equal(evt_matchers_parse(&set, "team=\"\"", NULL), 0);
	assert_true(evt_matchers_matches(&set, &ls));
	evt_matchers_release(&set);

	assert_int_equal(evt_matchers_parse(&set, "team!=\"\"", NULL), 0);
	assert_false(evt_matchers_matches(&set, &ls));
	evt_labels_set(&ls, "team", "db");
	assert_true(evt_matchers_matches(&set, &ls));
	evt_matchers_release(&set);

	assert_int_equal(evt_matchers_parse(&set, "instance=~\".*\"", NULL), 0);
	assert_true(evt_matchers_matches(&set, &ls));
	evt_matchers_release(&set);

	assert_int_equal(evt_matchers_parse(&set, "instance!~\".+\"", NULL), 0);
	assert_true(evt_matchers_matches(&set, &ls));
	evt_matchers_release(&set);

	assert_int_equal(evt_matchers_parse(&set, "instance=\"h1\"", NULL), 0);
	assert_false(evt_matchers_matches(&set, &ls));
	evt_matchers_release(&set);
	evt_labels_release(&ls);
}

static void set_requires_every_matcher(void **state)
{
	struct evt_matchers set = EVT_MATCHERS_INIT;
	struct evt_labels ls = EVT_LABELS_INIT;
	evt_labels_set(&ls, "alertname", "Down");
	evt_labels_set(&ls, "severity", "critical");
	assert_int_equal(evt_matchers_parse(&set, "{alertname=\"Down\",severity=~\"crit.*\"}", NULL), 0);
	assert_int_equal(set.n, 2);
	assert_true(evt_matchers_matches(&set, &ls));
	evt_labels_set(&ls, "severity", "warning");
	assert_false(evt_matchers_matches(&set, &ls));
	evt_matchers_release(&set);
	/* The empty set matches everything. */
	assert_true(evt_matchers_matches(&set, &ls));
	evt_labels_release(&ls);
}

static void text_form_variants(void **state)
{
	struct evt_matcher m = EVT_MATCHER_INIT;

	parse_ok(&m, "alertname=\"foo\"");
	assert_int_equal(m.type, EVT_MATCH_EQUAL);
	assert_string_equal(m.name, "alertname");
	assert_string_equal(m.value, "foo");

	parse_ok(&m, "severity=~\"crit.*\"");
	assert_int_equal(m.type, EVT_MATCH_REGEX);
	assert_string_equal(m.value, "crit.*");
	assert_non_null(m.re);

	parse_ok(&m, "  job  !=  api  ");
	assert_int_equal(m.type, EVT_MATCH_NOT_EQUAL);
	assert_string_equal(m.name, "job");
	assert_string_equal(m.value, "api");

	parse_ok(&m, "env!~staging|dev");
	assert_int_equal(m.type, EVT_MATCH_NOT_REGEX);
	assert_string_equal(m.value, "staging|dev");

	parse_ok(&m, "a=");
	assert_string_equal(m.value, "");
	parse_ok(&m, "a==b"); /* '=' then the value "=b" */
	assert_int_equal(m.type, EVT_MATCH_EQUAL);
	assert_string_equal(m.value, "=b");

	parse_ok(&m, "msg=\"say \\\"hi\\\" \\\\ now\\nthen\"");
	assert_string_equal(m.value, "say \"hi\" \\ now\nthen");
	parse_ok(&m, "path=\"C:\\dir\""); /* a spurious escape keeps its backslash */
	assert_string_equal(m.value, "C:\\dir");

	parse_ok(&m, "__name__:x=\"1\""); /* filters allow ':' in names */
	assert_string_equal(m.name, "__name__:x");
	evt_matcher_release(&m);
}

static void text_form_errors(void **state)
{
	parse_err("foo", "bad_matcher", "bad matcher format: foo");
	parse_err("=bar", "bad_matcher", "bad matcher format: =bar");
	parse_err("1a=b", "bad_matcher", "bad matcher format: 1a=b");
	parse_err("a b=c", "bad_matcher", "bad matcher format: a b=c");
	parse_err("a~=b", "bad_matcher", "bad matcher format: a~=b");
	parse_err("a=\"b", "bad_matcher", "matcher value contains unescaped double quote: \"b");
	parse_err("a=b\"c", "bad_matcher", "matcher value contains unescaped double quote: b\"c");
	parse_err("a=\"b\"c\"", "bad_matcher", "matcher value contains unescaped double quote: \"b\"c\"");
	parse_err("a=\"\xff\"", "bad_matcher", "matcher value not valid UTF-8: \"\\\"\\xff\\\"\"");
	parse_err("a=~\"(\"", "invalid_regex", "invalid regular expression \"(\": missing closing )");
}

static void list_parsing(void **state)
{
	struct evt_matchers set = EVT_MATCHERS_INIT;
	struct fw_error e = { 0 };

	assert_int_equal(evt_matchers_parse(&set, "{a=\"b\",c!=\"d\"}", &e), 0);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.v[1].name, "c");
	assert_int_equal(set.v[1].type, EVT_MATCH_NOT_EQUAL);

	/* A comma inside quotes belongs to the value; a trailing comma is allowed. */
	assert_int_equal(evt_matchers_parse(&set, "{x=~\"a,b|c\", y=\"q\\\",\",}", &e), 0);
	assert_int_equal(set.n, 4);
	assert_string_equal(set.v[2].value, "a,b|c");
	assert_string_equal(set.v[3].value, "q\",");

	/* A failing list appends nothing. */
	assert_int_equal(evt_matchers_parse(&set, "{a=\"b\",,c=\"d\"}", &e), FW_EINVAL);
	assert_string_equal(e.message, "bad matcher format: ");
	assert_int_equal(set.n, 4);
	assert_int_equal(evt_matchers_parse(&set, "a=b, c", &e), FW_EINVAL);
	assert_int_equal(set.n, 4);

	evt_matchers_release(&set);
	assert_int_equal(evt_matchers_parse(&set, "{}", &e), 0);
	assert_int_equal(evt_matchers_parse(&set, "  ", &e), 0);
	assert_int_equal(set.n, 0);
}

static void json_form(void **state)
{
	struct evt_matchers set = EVT_MATCHERS_INIT;
	struct fw_error e = { 0 };
	json_t *arr = J("[{\"name\":\"alertname\",\"value\":\"Down\",\"isRegex\":false},"
			"{\"name\":\"env\",\"value\":\"dev|test\",\"isRegex\":true,\"isEqual\":false},"
			"{\"name\":\"team\",\"value\":\"db\",\"isRegex\":false,\"isEqual\":false},"
			"{\"name\":\"sev\",\"value\":\"crit.*\",\"isRegex\":true,\"isEqual\":null}]");
	assert_int_equal(evt_matchers_from_json(&set, arr, &e), 0);
	json_decref(arr);
	assert_int_equal(set.n, 4);
	assert_int_equal(set.v[0].type, EVT_MATCH_EQUAL); /* isEqual defaults to true */
	assert_int_equal(set.v[1].type, EVT_MATCH_NOT_REGEX);
	assert_int_equal(set.v[2].type, EVT_MATCH_NOT_EQUAL);
	assert_int_equal(set.v[3].type, EVT_MATCH_REGEX);

	json_t *back = evt_matchers_to_json(&set);
	json_t *m1 = json_array_get(back, 1);
	assert_true(json_is_true(json_object_get(m1, "isRegex")));
	assert_true(json_is_false(json_object_get(m1, "isEqual")));
	assert_true(json_is_true(json_object_get(json_array_get(back, 0), "isEqual")));
	assert_string_equal(json_string_value(json_object_get(m1, "value")), "dev|test");
	json_decref(back);
	evt_matchers_release(&set);
}

static void json_form_errors(void **state)
{
	struct evt_matchers set = EVT_MATCHERS_INIT;
	struct fw_error e = { 0 };
	json_t *arr =
		J("[{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false},{\"value\":\"x\",\"isRegex\":false}]");
	assert_int_equal(evt_matchers_from_json(&set, arr, &e), FW_EINVAL);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, "missing_field");
	assert_string_equal(e.message, "matchers[1].name is required");
	assert_int_equal(set.n, 0);
	json_decref(arr);

	arr = J("[{\"name\":\"a\",\"value\":\"b\",\"isRegex\":\"yes\"}]");
	assert_int_equal(evt_matchers_from_json(&set, arr, &e), FW_EINVAL);
	assert_string_equal(e.code, "invalid_type");
	assert_string_equal(e.message, "matchers[0].isRegex must be a boolean");
	json_decref(arr);

	arr = J("[{\"name\":\"a\",\"value\":\"b\"}]");
	assert_int_equal(evt_matchers_from_json(&set, arr, &e), FW_EINVAL);
	assert_string_equal(e.message, "matchers[0].isRegex is required");
	json_decref(arr);

	arr = J("[{\"name\":\"a\",\"value\":\"x[\",\"isRegex\":true}]");
	assert_int_equal(evt_matchers_from_json(&set, arr, &e), FW_EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.message, "invalid regular expression \"x[\": missing closing ]");
	json_decref(arr);

	arr = J("{\"name\":\"a\"}");
	assert_int_equal(evt_matchers_from_json(&set, arr, &e), FW_EINVAL);
	assert_int_equal(e.status, 422);
	json_decref(arr);
	evt_matchers_release(&set);
}

static void format_round_trips(void **state)
{
	struct evt_matcher m = EVT_MATCHER_INIT, back = EVT_MATCHER_INIT;
	char *text = NULL;
	assert_int_equal(evt_matcher_init(&m, EVT_MATCH_NOT_EQUAL, "msg", "a\"b\\c\nd,e", NULL), 0);
	assert_int_equal(evt_matcher_format(&m, &text), 0);
	assert_string_equal(text, "msg!=\"a\\\"b\\\\c\\nd,e\"");
	parse_ok(&back, text);
	assert_true(evt_matcher_equal(&m, &back));
	free(text);
	assert_int_equal(evt_matcher_init(&m, EVT_MATCH_NOT_REGEX, "path", "/a\\.b\"", NULL), 0);
	assert_int_equal(evt_matcher_format(&m, &text), 0);
	assert_string_equal(text, "path!~\"/a\\\\.b\\\"\"");
	parse_ok(&back, text);
	assert_true(evt_matcher_equal(&m, &back));
	assert_true(evt_matcher_matches(&back, "/ax.b\""));
	assert_false(evt_matcher_matches(&back, "/a.b\""));
	free(text);
	evt_matcher_release(&m);
	evt_matcher_release(&back);
}

static void silence_validation(void **state)
{
	struct evt_matchers set = EVT_MATCHERS_INIT;
	struct fw_error e = { 0 };

	assert_int_equal(evt_matchers_validate_silence(&set, &e), FW_EINVAL);
	assert_string_equal(e.message, "at least one matcher required");

	assert_int_equal(evt_matchers_parse(&set, "a=~\".*\",b=\"\",c!~\".+\"", NULL), 0);
	assert_int_equal(evt_matchers_validate_silence(&set, &e), FW_EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "invalid_matchers");
	assert_string_equal(e.message, "at least one matcher must not match the empty string");

	assert_int_equal(evt_matchers_parse(&set, "d=\"x\"", NULL), 0);
	assert_int_equal(evt_matchers_validate_silence(&set, &e), 0);

	assert_int_equal(evt_matchers_parse(&set, "a:b=\"x\"", NULL), 0);
	assert_int_equal(evt_matchers_validate_silence(&set, &e), FW_EINVAL);
	assert_string_equal(e.message, "invalid label matcher 4: invalid label name \"a:b\"");
	evt_matchers_release(&set);

	/* != "" does not match the empty string: a valid silence on its own. */
	assert_int_equal(evt_matchers_parse(&set, "team!=\"\"", NULL), 0);
	assert_int_equal(evt_matchers_validate_silence(&set, &e), 0);
	evt_matchers_release(&set);
}

static void equality_for_silence_filters(void **state)
{
	struct evt_matchers a = EVT_MATCHERS_INIT, b = EVT_MATCHERS_INIT;
	struct evt_matcher f = EVT_MATCHER_INIT;
	assert_int_equal(evt_matchers_parse(&a, "{alertname=\"Down\",env=~\"prod.*\"}", NULL), 0);
	assert_int_equal(evt_matchers_parse(&b, "{alertname=\"Down\",env=~\"prod.*\"}", NULL), 0);
	assert_true(evt_matchers_equal(&a, &b));
	parse_ok(&f, "env=~\"prod.*\"");
	assert_true(evt_matchers_contains(&a, &f));
	parse_ok(&f, "env=\"prod.*\""); /* same name and value, other operator */
	assert_false(evt_matchers_contains(&a, &f));
	evt_matchers_release(&b);
	assert_int_equal(evt_matchers_parse(&b, "{env=~\"prod.*\",alertname=\"Down\"}", NULL), 0);
	assert_false(evt_matchers_equal(&a, &b)); /* order matters, as in Alertmanager */
	evt_matcher_release(&f);
	evt_matchers_release(&a);
	evt_matchers_release(&b);
}

static void re2_translation(void **state)
{
	assert_true(re_matches("(?i)crit.*", "CRITICAL"));
	assert_false(re_matches("crit.*", "CRITICAL"));
	assert_true(re_matches("(?:api|web)-\\d+", "web-12"));
	assert_false(re_matches("(?:api|web)-\\d+", "web-x"));
	assert_true(re_matches("[\\w.-]+", "host-1.example_x"));
	assert_false(re_matches("[\\w.-]+", "host 1"));
	assert_true(re_matches("\\S+\\s\\S+", "a b"));
	assert_true(re_matches("a.*?z", "abcz"));
	assert_true(re_matches("10\\.0\\.\\d{1,3}\\.\\d{1,3}", "10.0.3.77"));
	assert_false(re_matches("10\\.0\\.\\d{1,3}\\.\\d{1,3}", "10x0.3.77"));
	assert_true(re_matches("a{", "a{")); /* RE2 reads a brace that is no repeat as a literal */
	assert_true(re_matches("x{2}", "xx"));
	assert_false(re_matches("x{2}", "xxx"));
	assert_true(re_matches("(?P<name>a)b", "ab"));
	assert_true(re_matches("[]a]+", "a]a"));
	assert_true(re_matches("[^\\]]+", "abc"));
	assert_false(re_matches("[^\\]]+", "a]c"));
	assert_true(re_matches("[a\\-z]+", "a-z"));
	assert_false(re_matches("[a\\-z]+", "b"));
	assert_true(re_matches("[\\^]", "^"));
	assert_true(re_matches("[[:alpha:]]+", "abc"));
	assert_true(re_matches("\\x41\\x{e9}", "A\xc3\xa9"));
	/* '.' does not match a newline unless (?s). */
	assert_false(re_matches("a.b", "a\nb"));
	assert_true(re_matches("(?s)a.b", "a\nb"));
	/* A quantifier after a multi-byte character repeats the character. */
	assert_true(re_matches("caf\xc3\xa9+", "caf\xc3\xa9\xc3\xa9"));
	assert_true(re_matches("\\$\\(x\\)", "$(x)"));
}

static void re2_unsupported_rejected(void **state)
{
	re_rejected("\\pL+", "unsupported escape sequence \\p");
	re_rejected("(a)\\1", "backreferences");
	re_rejected("a(?i)b", "start of the expression");
	re_rejected("a**", "nested repetition");
	re_rejected("*a", "missing argument");
	re_rejected("x{1001}", "at most 1000");
	re_rejected("[\\D]", "\\D inside [...]");
	re_rejected("[\xc3\xa9]", "non-ASCII");
	re_rejected("abc\\", "trailing backslash");
	re_rejected("[[:word:]", "missing closing ]");
	re_rejected("\xff", "invalid UTF-8");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_type_matches),
		cmocka_unit_test(regex_is_fully_anchored),
		cmocka_unit_test(missing_label_reads_as_empty),
		cmocka_unit_test(set_requires_every_matcher),
		cmocka_unit_test(text_form_variants),
		cmocka_unit_test(text_form_errors),
		cmocka_unit_test(list_parsing),
		cmocka_unit_test(json_form),
		cmocka_unit_test(json_form_errors),
		cmocka_unit_test(format_round_trips),
		cmocka_unit_test(silence_validation),
		cmocka_unit_test(equality_for_silence_filters),
		cmocka_unit_test(re2_translation),
		cmocka_unit_test(re2_unsupported_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
