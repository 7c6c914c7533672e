/* Unit tests for src/events/labels.c: label sets, Alertmanager validation, fingerprint, group keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "events/labels.h"
#include "util/err.h"

/* Parses a JSON literal; the test fails if it is not valid JSON. */
static json_t *J(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	assert_non_null(j);
	return j;
}

/* Builds a set from JSON with the given flags and expects success. */
static void load(struct evt_labels *ls, const char *text, unsigned flags)
{
	struct fw_error e = { 0 };
	json_t *j = J(text);
	int rc = evt_labels_from_json(ls, j, flags, &e);
	if (rc != 0)
		print_error("unexpected error: %s\n", e.message);
	assert_int_equal(rc, 0);
	json_decref(j);
}

/* Expects evt_labels_from_json to fail with this status, code and message. */
static void expect_error(json_t *j, unsigned flags, int status, const char *code, const char *message)
{
	struct evt_labels ls = EVT_LABELS_INIT;
	struct fw_error e = { 0 };
	assert_int_equal(evt_labels_from_json(&ls, j, flags, &e), FW_EINVAL);
	assert_int_equal(e.status, status);
	assert_string_equal(e.code, code);
	assert_string_equal(e.message, message);
	assert_int_equal(ls.n, 0);
	json_decref(j);
}

static void fingerprint_vector_alertmanager(void **state)
{
	struct evt_labels ls = EVT_LABELS_INIT;
	char fp[EVT_FINGERPRINT_LEN + 1];
	load(&ls, "{\"severity\":\"critical\",\"alertname\":\"alert1\"}", EVT_LABELS_ALERT);
	evt_fingerprint_format(evt_labels_fingerprint(&ls), fp);
	assert_string_equal(fp, "0223b772b51c29e1");
	evt_labels_release(&ls);
}

static void fingerprint_vector_prometheus_common(void **state)
{
	struct evt_labels ls = EVT_LABELS_INIT;
	assert_int_equal(evt_labels_set(&ls, "name", "garland, briggs"), 0);
	assert_int_equal(evt_labels_set(&ls, "fear", "love is not enough"), 0);
	assert_true(evt_labels_fingerprint(&ls) == UINT64_C(5799056148416392346));
	evt_labels_release(&ls);
}

static void fingerprint_empty_set_is_offset_basis(void **state)
{
	struct evt_labels ls = EVT_LABELS_INIT;
	char fp[EVT_FINGERPRINT_LEN + 1];
	assert_true(evt_labels_fingerprint(&ls) == UINT64_C(14695981039346656037));
	evt_fingerprint_format(evt_labels_fingerprint(&ls), fp);
	assert_string_equal(fp, "cbf29ce484222325");
}

static void fingerprint_ignores_insertion_order_and_sees_values(void **state)
{
	struct evt_labels a = EVT_LABELS_INIT, b = EVT_LABELS_INIT;
	evt_labels_set(&a, "b", "2");
	evt_labels_set(&a, "a", "1");
	evt_labels_set(&b, "a", "1");
	evt_labels_set(&b, "b", "2");
	assert_true(evt_labels_fingerprint(&a) == evt_labels_fingerprint(&b));
	/* The 0xFF separators keep "a"+"b1" apart from "ab"+"1". */
	struct evt_labels c = EVT_LABELS_INIT, d = EVT_LABELS_INIT;
	evt_labels_set(&c, "a", "b1");
	evt_labels_set(&d, "ab", "1");
	assert_true(evt_labels_fingerprint(&c) != evt_labels_fingerprint(&d));
	evt_labels_set(&b, "b", "3");
	assert_true(evt_labels_fingerprint(&a) != evt_labels_fingerprint(&b));
	evt_labels_release(&a);
	evt_labels_release(&b);
	evt_labels_release(&c);
	evt_labels_release(&d);
}

static void fingerprint_format_and_parse(void **state)
{
	char fp[EVT_FINGERPRINT_LEN + 1];
	uint64_t v = 0;
	evt_fingerprint_format(UINT64_C(0x00000000000000ab), fp);
	assert_string_equal(fp, "00000000000000ab");
	assert_int_equal(evt_fingerprint_parse("0223B772b51c29e1", &v), 0);
	assert_true(v == UINT64_C(0x0223b772b51c29e1));
	assert_int_equal(evt_fingerprint_parse("0223b772b51c29e", &v), FW_EINVAL);
	assert_int_equal(evt_fingerprint_parse("0223b772b51c29e10", &v), FW_EINVAL);
	assert_int_equal(evt_fingerprint_parse("0223b772b51c29eg", &v), FW_EINVAL);
}

static void set_get_replace_keeps_sorted(void **state)
{
	struct evt_labels ls = EVT_LABELS_INIT;
	assert_int_equal(evt_labels_set(&ls, "zone", "eu"), 0);
	assert_int_equal(evt_labels_set(&ls, "alertname", "Down"), 0);
	assert_int_equal(evt_labels_set(&ls, "job", "api"), 0);
	assert_int_equal(evt_labels_set(&ls, "job", "web"), 0);
	assert_int_equal(ls.n, 3);
	assert_string_equal(ls.v[0].name, "alertname");
	assert_string_equal(ls.v[1].name, "job");
	assert_string_equal(ls.v[2].name, "zone");
	assert_string_equal(evt_labels_get(&ls, "job"), "web");
	assert_null(evt_labels_get(&ls, "instance"));
	evt_labels_release(&ls);
	assert_int_equal(ls.n, 0);
	assert_null(ls.v);
}

static void from_json_sorts_and_copies(void **state)
{
	struct evt_labels ls = EVT_LABELS_INIT, cp = EVT_LABELS_INIT;
	load(&ls, "{\"c\":\"3\",\"a\":\"1\",\"b\":\"2\"}", EVT_LABELS_ALERT);
	assert_int_equal(ls.n, 3);
	assert_string_equal(ls.v[0].name, "a");
	assert_string_equal(ls.v[2].value, "3");
	assert_int_equal(evt_labels_copy(&cp, &ls), 0);
	assert_true(evt_labels_equal(&ls, &cp));
	evt_labels_set(&cp, "c", "4");
	assert_false(evt_labels_equal(&ls, &cp));
	assert_string_equal(evt_labels_get(&ls, "c"), "3");

	json_t *back = evt_labels_to_json(&ls);
	assert_non_null(back);
	assert_string_equal(json_string_value(json_object_get(back, "b")), "2");
	assert_int_equal(json_object_size(back), 3);
	json_decref(back);
	evt_labels_release(&ls);
	evt_labels_release(&cp);
}

static void empty_values_dropped_for_alerts(void **state)
{
	struct evt_labels ls = EVT_LABELS_INIT;
	load(&ls, "{\"alertname\":\"Down\",\"instance\":\"\"}", EVT_LABELS_ALERT);
	assert_int_equal(ls.n, 1);
	assert_null(evt_labels_get(&ls, "instance"));
	/* Dropping comes before validation, as in Alertmanager: an invalid name with an empty value is gone.
	 */
	load(&ls, "{\"alertname\":\"Down\",\"1bad\":\"\"}", EVT_LABELS_ALERT);
	assert_int_equal(ls.n, 1);
	/* Without the flag the empty value stays. */
	load(&ls, "{\"alertname\":\"Down\",\"instance\":\"\"}", 0);
	assert_int_equal(ls.n, 2);
	assert_string_equal(evt_labels_get(&ls, "instance"), "");
	evt_labels_release(&ls);
}

static void empty_set_rejected(void **state)
{
	expect_error(J("{\"a\":\"\"}"), EVT_LABELS_ALERT, 400, "invalid_labels",
		     "at least one label pair required");
	expect_error(J("{}"), EVT_LABELS_ALERT, 400, "invalid_labels", "at least one label pair required");
	struct evt_labels ls = EVT_LABELS_INIT;
	load(&ls, "{}", EVT_LABELS_ANNOTATIONS); /* annotations may be empty */
	assert_int_equal(ls.n, 0);
}

static void invalid_names_rejected(void **state)
{
	expect_error(J("{\"1abc\":\"x\"}"), EVT_LABELS_ALERT, 400, "invalid_labels",
		     "invalid label set: invalid name \"1abc\"");
	expect_error(J("{\"foo-bar\":\"x\"}"), EVT_LABELS_ALERT, 400, "invalid_labels",
		     "invalid label set: invalid name \"foo-bar\"");
	/* Colons are allowed in metric names, not in label names. */
	expect_error(J("{\"a:b\":\"x\"}"), EVT_LABELS_ALERT, 400, "invalid_labels",
		     "invalid label set: invalid name \"a:b\"");
	expect_error(J("{\"\":\"x\"}"), EVT_LABELS_ALERT, 400, "invalid_labels",
		     "invalid label set: invalid name \"\"");
	expect_error(J("{\"ok\":\"x\",\"b\\u00e4d\":\"x\"}"), EVT_LABELS_ALERT, 400, "invalid_labels",
		     "invalid label set: invalid name \"b\xc3\xa4"
		     "d\"");
	assert_true(evt_label_name_valid("_x9"));
	assert_true(evt_label_name_valid("AlertName"));
	assert_false(evt_label_name_valid("9x"));
	assert_false(evt_label_name_valid("a.b"));
}

static void invalid_values_rejected(void **state)
{
	json_t *o = json_object();
	json_object_set_new(o, "alertname", json_stringn_nocheck("a\xff", 2));
	expect_error(o, EVT_LABELS_ALERT, 400, "invalid_labels",
		     "invalid label set: invalid value \"a\\xff\"");

	o = json_object();
	json_object_set_new(o, "alertname", json_stringn("a\0b", 3));
	expect_error(o, EVT_LABELS_ALERT, 400, "invalid_labels",
		     "invalid label set: invalid value \"a\\x00b\"");

	expect_error(J("{\"alertname\":5}"), EVT_LABELS_ALERT, 422, "invalid_type",
		     "labels: the value of \"alertname\" must be a string, got a number");
	expect_error(J("[\"a\"]"), EVT_LABELS_ALERT, 422, "invalid_type",
		     "labels must be an object of strings, got an array");
}

static void annotations_wording(void **state)
{
	expect_error(J("{\"summary\":\"x\",\"bad name\":\"y\"}"), EVT_LABELS_ANNOTATIONS, 400,
		     "invalid_annotations", "invalid annotations: invalid name \"bad name\"");
}

static void utf8_validation(void **state)
{
	assert_true(evt_utf8_valid("", 0));
	static const char mixed[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
	assert_true(evt_utf8_valid(mixed, sizeof(mixed) - 1));
	assert_false(evt_utf8_valid(mixed, sizeof(mixed) - 2)); /* cut inside the emoji */
	assert_false(evt_utf8_valid("\xc0\x80", 2));		/* overlong NUL */
	assert_false(evt_utf8_valid("\xe0\x80\xaf", 3));	/* overlong '/' */
	assert_false(evt_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	assert_false(evt_utf8_valid("\xf4\x90\x80\x80", 4));	/* above U+10FFFF */
	assert_false(evt_utf8_valid("\xc3", 1));		/* truncated */
	assert_false(evt_utf8_valid("\x80", 1));		/* lone continuation */
}

/* The ASCII fast path checks eight bytes at a time: a bad byte at any offset of a long string, and
 * a multi-byte character across an eight-byte boundary, are still judged byte by byte. */
static void utf8_validation_long_strings(void **state)
{
	char buf[64];
	memset(buf, 'a', sizeof(buf));
	assert_true(evt_utf8_valid(buf, sizeof(buf)));
	for (size_t at = 0; at + 3 <= 40; at++) {
		memset(buf, 'a', sizeof(buf));
		buf[at] = (char)0x80; /* lone continuation byte */
		assert_false(evt_utf8_valid(buf, 40));
		memset(buf, 'a', sizeof(buf));
		memcpy(buf + at, "\xe2\x82\xac", 3); /* U+20AC, possibly across a word boundary */
		assert_true(evt_utf8_valid(buf, 40));
		assert_false(evt_utf8_valid(buf, at + 2)); /* cut inside it */
	}
}

/* A borrowed set reads like any other, refuses changes, and release only forgets it. */
static void borrowed_sets_are_read_only(void **state)
{
	char n1[] = "alertname", v1[] = "Up", n2[] = "job", v2[] = "node";
	struct evt_label pairs[2] = { { n1, v1 }, { n2, v2 } };
	struct evt_labels ls = EVT_LABELS_INIT, own = EVT_LABELS_INIT;
	evt_labels_borrow(&ls, pairs, 2);
	assert_string_equal(evt_labels_get(&ls, "job"), "node");
	assert_null(evt_labels_get(&ls, "instance"));
	assert_int_equal(evt_labels_set(&ls, "instance", "x"), FW_EINVAL);
	assert_int_equal(ls.n, 2);
	assert_int_equal(evt_labels_set(&own, "job", "node"), 0);
	assert_int_equal(evt_labels_set(&own, "alertname", "Up"), 0);
	assert_true(evt_labels_equal(&ls, &own));
	assert_true(evt_labels_fingerprint(&ls) == evt_labels_fingerprint(&own));
	evt_labels_release(&ls); /* must not free the caller's strings (ASan would see it) */
	assert_int_equal(ls.n, 0);
	assert_false(ls.borrowed);
	assert_string_equal(pairs[1].value, "node");
	evt_labels_release(&own);
}

static void quote_escapes_and_truncates(void **state)
{
	char buf[64];
	assert_string_equal(evt_quote(buf, sizeof(buf), "a\"b\\c\n\x01\xc3\xa9", 9),
			    "\"a\\\"b\\\\c\\n\\x01\xc3\xa9\"");
	char small[12];
	evt_quote(small, sizeof(small), "abcdefghijklmnop", 16);
	assert_string_equal(small, "\"abcdef...\"");
	assert_true(strlen(small) < sizeof(small));
}

static void format_like_prometheus(void **state)
{
	struct evt_labels ls = EVT_LABELS_INIT;
	char *s = NULL;
	assert_int_equal(evt_labels_format(&ls, &s), 0);
	assert_string_equal(s, "{}");
	free(s);
	evt_labels_set(&ls, "b", "say \"hi\"");
	evt_labels_set(&ls, "a", "1");
	assert_int_equal(evt_labels_format(&ls, &s), 0);
	assert_string_equal(s, "{a=\"1\", b=\"say \\\"hi\\\"\"}");
	free(s);
	evt_labels_release(&ls);
}

static void group_by_rules(void **state)
{
	struct evt_group_by g = EVT_GROUP_BY_INIT;
	struct fw_error e = { 0 };
	const char *bad[] = { "alertname", "1x" };
	assert_int_equal(evt_group_by_parse(&g, bad, 2, &e), FW_EINVAL);
	assert_string_equal(e.code, "invalid_group_by");
	assert_string_equal(e.message, "invalid label name \"1x\" in group_by list");

	const char *mixed[] = { "...", "alertname" };
	assert_int_equal(evt_group_by_parse(&g, mixed, 2, &e), FW_EINVAL);
	assert_string_equal(e.message,
			    "cannot have wildcard group_by (`...`) and other labels at the same time");
	assert_false(g.all);

	const char *dup[] = { "job", "alertname", "job" };
	assert_int_equal(evt_group_by_parse(&g, dup, 3, &e), FW_EINVAL);
	assert_string_equal(e.message, "duplicated label \"job\" in group_by");
	assert_int_equal(g.n, 0);

	json_t *arr = J("[\"job\", 3]");
	assert_int_equal(evt_group_by_from_json(&g, arr, &e), FW_EINVAL);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.message, "group_by[1] must be a string, got a number");
	json_decref(arr);

	arr = J("[\"...\"]");
	assert_int_equal(evt_group_by_from_json(&g, arr, &e), 0);
	assert_true(g.all);
	json_decref(arr);
	evt_group_by_release(&g);
}

static void group_key_selects_labels(void **state)
{
	struct evt_group_by g = EVT_GROUP_BY_INIT;
	struct evt_labels a = EVT_LABELS_INIT, b = EVT_LABELS_INIT, sel = EVT_LABELS_INIT;
	const char *names[] = { "cluster", "alertname", "region" };
	char *ka = NULL, *kb = NULL;
	uint64_t ha = 0, hb = 0;

	assert_int_equal(evt_group_by_parse(&g, names, 3, NULL), 0);
	load(&a, "{\"alertname\":\"Down\",\"cluster\":\"eu1\",\"instance\":\"h1\"}", EVT_LABELS_ALERT);
	load(&b, "{\"alertname\":\"Down\",\"cluster\":\"eu1\",\"instance\":\"h2\"}", EVT_LABELS_ALERT);

	/* "region" is absent: left out, not included as "". */
	assert_int_equal(evt_labels_select(&a, &g, &sel), 0);
	assert_int_equal(sel.n, 2);
	assert_null(evt_labels_get(&sel, "instance"));

	assert_int_equal(evt_labels_group_key(&a, &g, &ka, &ha), 0);
	assert_int_equal(evt_labels_group_key(&b, &g, &kb, &hb), 0);
	assert_string_equal(ka, "{alertname=\"Down\", cluster=\"eu1\"}");
	assert_string_equal(ka, kb);
	assert_true(ha == hb);
	assert_true(ha == evt_labels_fingerprint(&sel));
	free(kb);

	evt_labels_set(&b, "cluster", "us1");
	assert_int_equal(evt_labels_group_key(&b, &g, &kb, &hb), 0);
	assert_string_not_equal(ka, kb);
	assert_true(ha != hb);
	free(ka);
	free(kb);

	/* "..." groups by every label: the key is the whole set. */
	const char *all[] = { "..." };
	assert_int_equal(evt_group_by_parse(&g, all, 1, NULL), 0);
	assert_int_equal(evt_labels_group_key(&a, &g, NULL, &ha), 0);
	assert_true(ha == evt_labels_fingerprint(&a));

	/* An empty list: one group for the route. */
	assert_int_equal(evt_group_by_parse(&g, NULL, 0, NULL), 0);
	assert_int_equal(evt_labels_group_key(&a, &g, &ka, NULL), 0);
	assert_string_equal(ka, "{}");
	free(ka);

	evt_group_by_release(&g);
	evt_labels_release(&a);
	evt_labels_release(&b);
	evt_labels_release(&sel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fingerprint_vector_alertmanager),
		cmocka_unit_test(fingerprint_vector_prometheus_common),
		cmocka_unit_test(fingerprint_empty_set_is_offset_basis),
		cmocka_unit_test(fingerprint_ignores_insertion_order_and_sees_values),
		cmocka_unit_test(fingerprint_format_and_parse),
		cmocka_unit_test(set_get_replace_keeps_sorted),
		cmocka_unit_test(borrowed_sets_are_read_only),
		cmocka_unit_test(utf8_validation_long_strings),
		cmocka_unit_test(from_json_sorts_and_copies),
		cmocka_unit_test(empty_values_dropped_for_alerts),
		cmocka_unit_test(empty_set_rejected),
		cmocka_unit_test(invalid_names_rejected),
		cmocka_unit_test(invalid_values_rejected),
		cmocka_unit_test(annotations_wording),
		cmocka_unit_test(utf8_validation),
		cmocka_unit_test(quote_escapes_and_truncates),
		cmocka_unit_test(format_like_prometheus),
		cmocka_unit_test(group_by_rules),
		cmocka_unit_test(group_key_selects_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
