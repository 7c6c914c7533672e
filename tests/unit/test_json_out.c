/* Unit tests for util/json_out.c: what it writes is, byte for byte, what json_dumps() writes with
 * JSON_COMPACT | JSON_ENCODE_ANY, for every kind of value (strings with every escape, NUL and
 * multi-byte UTF-8, keys with NUL, integers at their limits, reals, nesting, members deleted and set
 * again) and for random documents; nesting deeper than jansson parses is refused; a full buffer
 * fails cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/json_out.h"

static void assert_like_jansson(const json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	char *got = json_out_dumps(v);
	assert_non_null(want);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

static void test_scalars(void **state)
{
	(void)state;
	json_t *vals[] = { json_true(), json_false(), json_null(), json_integer(0), json_integer(-1),
			   json_integer(INT64_MAX), json_integer(INT64_MIN), json_real(0.1), json_real(-0.0),
			   json_real(1e300), json_real(3.0), json_string(""), json_string("plain"),
			   json_string("\"quote\" \\back\\ /slash/ \b\f\n\r\t \x01\x1f\x7f"),
			   json_string("é ü € 😀 \xe2\x80\xa8"), json_stringn("nul\0inside", 10) };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		assert_non_null(vals[i]);
		assert_like_jansson(vals[i]);
		json_decref(vals[i]);
	}
	struct buf b = BUF_INIT(64);
	assert_int_equal(json_out_str(&b, NULL), 0);
	assert_int_equal(json_out_str(&b, ""), 0);
	assert_string_equal(buf_str(&b), "\"\"\"\"");
	buf_release(&b);
	struct buf small = BUF_INIT(4);
	assert_int_equal(json_out_str(&small, "abcdef"), FW_ETOOBIG);
	buf_release(&small);
}

static void test_containers(void **state)
{
	(void)state;
	json_t *o = json_pack("{s:s,s:i,s:[],s:{},s:[i,s,{s:n}],s:{s:{s:[b,b]}}}", "id", "INC-1", "seq", 7, "empty",
			      "nothing", "list", 1, "two", "three", "deep", "a", "b", 1, 0);
	assert_non_null(o);
	assert_like_jansson(o);
	/* Deleted and set again: jansson writes members in the order they were (re)inserted. */
	json_object_del(o, "seq");
	json_object_set_new(o, "seq", json_integer(8));
	json_object_set_new(o, "id", json_string("INC-2"));
	assert_like_jansson(o);
	json_object_setn_new(o, "k\0ey", 4, json_string("v"));
	assert_like_jansson(o);
	json_decref(o);
	json_t *a = json_array();
	assert_like_jansson(a);
	json_decref(a);
}

static void test_too_deep(void **state)
{
	(void)state;
	json_t *top = json_array(), *cur = top;
	for (int i = 0; i < 3000; i++) {
		json_t *n = json_array();
		json_array_append_new(cur, n);
		cur = n;
	}
	assert_null(json_out_dumps(top));
	json_decref(top);
}

static json_t *random_value(unsigned *seed, int depth)
{
	int kind = rand_r(seed) % (depth > 4 ? 5 : 7);
	switch (kind) {
	case 0:
		return json_integer((json_int_t)rand_r(seed) * (rand_r(seed) % 2 ? 1 : -1));
	case 1:
		return rand_r(seed) % 2 ? json_true() : json_null();
	case 2:
	case 3:
	case 4: {
		char s[48];
		size_t n = (size_t)(rand_r(seed) % (int)sizeof(s));
		for (size_t i = 0; i < n; i++) {
			int r = rand_r(seed) % 10;
			s[i] = (char)(r < 2 ? rand_r(seed) % 0x20 : r < 3 ? "\"\\/"[rand_r(seed) % 3] : 0x20 + rand_r(seed) % 0x5f);
		}
		return json_stringn(s, n);
	}
	case 5: {
		json_t *a = json_array();
		for (int i = rand_r(seed) % 5; i > 0; i--)
			json_array_append_new(a, random_value(seed, depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (int i = rand_r(seed) % 6; i > 0; i--) {
			char k[8];
			snprintf(k, sizeof(k), "k%d", rand_r(seed) % 10);
			json_object_set_new(o, k, random_value(seed, depth + 1));
		}
		return o;
	}
	}
}

static void test_random_documents(void **state)
{
	(void)state;
	unsigned seed = 2026;
	for (int i = 0; i < 20000; i++) {
		json_t *v = random_value(&seed, 0);
		assert_non_null(v);
		assert_like_jansson(v);
		json_decref(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_too_deep),
		cmocka_unit_test(test_random_documents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
