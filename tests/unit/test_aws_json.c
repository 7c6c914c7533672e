/* Unit tests for compat/aws_json.c (member lookup over stored JSON text, JSON string output): each is
 * checked against what it replaces on the describe-cases path, jansson's json_loads()/json_dumps(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat/aws_json.h"
#include "compat/aws_support.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json_out.h"
#include "util/timeutil.h"

static bool jansson_object(const char *s, size_t n)
{
	json_t *j = json_loadb(s, n, 0, NULL);
	bool ok = json_is_object(j);
	json_decref(j);
	return ok;
}

/* Validity agrees with json_loads() on objects. */
static void test_validity_like_jansson(void **state)
{
	static const char *const cases[] = {
		"{}", " {\"a\":1} \n", "{\"a\":\"x\\u00e9\"}", "{\"a\":\"\\ud83d\\ude00\"}", "{\"a\":\"\\ud83d\"}",
		"{\"a\":\"\\ude00\"}", "{\"a\":\"\\ud83dx\"}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\x01\"}",
		"{\"a\":\"\xc3\x28\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}",
		"{\"a\":\"\xf0\x9f\x98\x80\"}", "{\"a\":\"\xe2\x98\x83\"}", "{\"a\":\"\xe2\x98\"}", "{} x", "{}{}",
		"{\"a\":1,}", "{\"a\" 1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":-0.5e-7}", "{\"a\":1E+5}",
		"{\"a\":tru}", "{\"a\":true,\"b\":false,\"c\":null}", "{\"a\":[1,2,{\"b\":null}],\"c\":{}}",
		"{\"a\":[1,]}", "{\"a\":[}", "{\"a\":\"\\x\"}", "{\"a\":\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"}", "{\"a\":\"open",
		"{", "", "   ", "[1]", "\"s\"", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":\"tab\there\"}",
		"{'a':1}", "{\"a\":1 \"b\":2}", "{,}", "{\"a\":[[[]]]}", "{\"a\":NaN}", "{\"a\":+1}",
	};
	static const char *const keys[] = { "a", "b", NULL };
	struct aws_json_span out[2];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i]);
		bool ours = aws_json_fields(cases[i], n, keys, out) == 0;
		if (ours != jansson_object(cases[i], n))
			fail_msg("case %zu %s: aws_json_fields says %s, json_loads the opposite", i, cases[i],
				 ours ? "valid" : "invalid");
		if (!ours)
			assert_int_equal(out[0].type, AWS_JSON_ABSENT);
	}
	/* An embedded NUL is refused inside and outside strings. */
	assert_int_equal(aws_json_fields("{\"a\":\"x\0\"}", 9, keys, out), FW_EINVAL);
	assert_int_equal(aws_json_fields("{\"a\":1}\0", 8, keys, out), FW_EINVAL);
}

static void test_depth_limit(void **state)
{
	static const char *const keys[] = { "a", NULL };
	struct aws_json_span out[1];
	char s[4 * AWS_JSON_MAX_DEPTH + 16];
	for (int depth = AWS_JSON_MAX_DEPTH; depth <= AWS_JSON_MAX_DEPTH + 1; depth++) {
		/* {"a": then depth - 1 arrays */
		size_t n = 0;
		n += (size_t)snprintf(s + n, sizeof(s) - n, "{\"a\":");
		for (int i = 1; i < depth; i++)
			s[n++] = '[';
		for (int i = 1; i < depth; i++)
			s[n++] = ']';
		s[n++] = '}';
		assert_int_equal(aws_json_fields(s, n, keys, out), depth <= AWS_JSON_MAX_DEPTH ? 0 : FW_EINVAL);
	}
}

static void test_members(void **state)
{
	static const char *const keys[] = { "id", "title", "n", "meta", "list", "flag", "none", "gone", NULL };
	const char *s = "{\"id\":\"INC-1\",\"n\":42,\"title\":\"a \\\"b\\\"\",\"meta\":{\"id\":\"inner\"},"
			"\"list\":[\"x\",1],\"flag\":false,\"none\":null,\"id\":\"INC-2\"}";
	struct aws_json_span f[8];
	char v[64];
	assert_int_equal(aws_json_fields(s, strlen(s), keys, f), 0);
	/* The last of a repeated name counts, as in json_loads(); a nested "id" does not. */
	assert_int_equal(aws_json_string(&f[0], v, sizeof(v)), 0);
	assert_string_equal(v, "INC-2");
	assert_int_equal(f[1].type, AWS_JSON_STRING);
	assert_int_equal(f[1].n, strlen("\"a \\\"b\\\"\""));
	assert_memory_equal(f[1].p, "\"a \\\"b\\\"\"", f[1].n);
	assert_int_equal(aws_json_string(&f[1], v, sizeof(v)), 0);
	assert_string_equal(v, "a \"b\"");
	assert_int_equal(f[2].type, AWS_JSON_NUMBER);
	assert_int_equal(f[2].n, 2);
	assert_int_equal(f[3].type, AWS_JSON_OBJECT);
	assert_memory_equal(f[3].p, "{\"id\":\"inner\"}", f[3].n);
	assert_int_equal(f[4].type, AWS_JSON_ARRAY);
	assert_memory_equal(f[4].p, "[\"x\",1]", f[4].n);
	assert_int_equal(f[5].type, AWS_JSON_FALSE);
	assert_int_equal(f[6].type, AWS_JSON_NULL);
	assert_int_equal(f[7].type, AWS_JSON_ABSENT);
	/* Decoding: only strings, and within the room given. */
	assert_int_equal(aws_json_string(&f[2], v, sizeof(v)), FW_EINVAL);
	assert_int_equal(aws_json_string(&f[0], v, 5), FW_ETOOBIG);
	assert_int_equal(aws_json_string(&f[0], v, 6), 0);
	/* A member name written with escapes is still that name. */
	const char *esc = "{\"t\\u0069tle\":\"x\"}";
	assert_int_equal(aws_json_fields(esc, strlen(esc), keys, f), 0);
	assert_int_equal(aws_json_string(&f[1], v, sizeof(v)), 0);
	assert_string_equal(v, "x");
}

static void test_too_many_keys(void **state)
{
	const char *keys[AWS_JSON_MAX_KEYS + 2];
	struct aws_json_span out[AWS_JSON_MAX_KEYS + 1];
	for (int i = 0; i <= AWS_JSON_MAX_KEYS; i++)
		keys[i] = "k";
	keys[AWS_JSON_MAX_KEYS + 1] = NULL;
	assert_int_equal(aws_json_fields("{\"k\":1}", 7, keys, out), FW_EINVAL);
	keys[AWS_JSON_MAX_KEYS] = NULL;
	assert_int_equal(aws_json_fields("{\"k\":1}", 7, keys, out), 0);
	assert_int_equal(out[AWS_JSON_MAX_KEYS - 1].type, AWS_JSON_NUMBER);
}

/* A random string of ASCII, control characters, quotes, backslashes and 2- to 4-byte characters. */
static void random_utf8(char *out, size_t cap, unsigned *seed)
{
	static const char *const pieces[] = { "a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f", "\x7f",
					       "\xc3\xa9", "\xe2\x98\x83", "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "<", "%" };
	size_t n = 0, len = (size_t)(rand_r(seed) % 24);
	for (size_t i = 0; i < len; i++) {
		const char *p = pieces[(size_t)rand_r(seed) % (sizeof(pieces) / sizeof(pieces[0]))];
		if (n + strlen(p) + 1 >= cap)
			break;
		memcpy(out + n, p, strlen(p));
		n += strlen(p);
	}
	out[n] = '\0';
}

/* Objects written by json_dumps(): every string member is found, decodes to jansson's value, and (compact
 * form) its literal is what json_dumps() writes for that string, which json_out_str() writes too. */
static void test_round_trip_with_jansson(void **state)
{
	static const char *const keys[] = { "k0", "k1", "k2", "k3", "k4", NULL };
	unsigned seed = 12345;
	for (int round = 0; round < 2000; round++) {
		json_t *o = json_object();
		char v[5][128];
		for (int i = 0; i < 5; i++) {
			char name[8];
			random_utf8(v[i], sizeof(v[i]), &seed);
			snprintf(name, sizeof(name), "k%d", i);
			json_object_set_new(o, "pad", json_pack("[i,{s:s},f]", round, "k0", v[i], 1.5));
			json_object_set_new(o, name, json_string(v[i]));
		}
		size_t flags = round % 2 ? JSON_COMPACT : JSON_INDENT(2);
		char *text = json_dumps(o, flags);
		struct aws_json_span f[5];
		assert_int_equal(aws_json_fields(text, strlen(text), keys, f), 0);
		for (int i = 0; i < 5; i++) {
			char got[256];
			assert_int_equal(aws_json_string(&f[i], got, sizeof(got)), 0);
			assert_string_equal(got, v[i]);
			char *lit = json_dumps(json_object_get(o, keys[i]), JSON_ENCODE_ANY);
			struct buf b = BUF_INIT(1 << 12);
			assert_int_equal(json_out_str(&b, v[i]), 0);
			assert_string_equal(buf_str(&b), lit);
			if (flags == JSON_COMPACT) {
				assert_int_equal(f[i].n, strlen(lit));
				assert_memory_equal(f[i].p, lit, f[i].n);
			}
			buf_release(&b);
			free(lit);
		}
		free(text);
		json_decref(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validity_like_jansson),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_too_many_keys),
		cmocka_unit_test(test_round_trip_with_jansson),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
