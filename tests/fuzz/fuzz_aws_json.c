/* Fuzzes compat/aws_json.c against jansson: whatever aws_json_fields() accepts, json_loads() accepts
 * as an object too (bar numbers out of jansson's range: only their form is checked), and every string
 * member decodes to jansson's value and is written back by aws_json_quote() as json_dumps() writes it. */
#include "compat/aws_json.h"
#include "util/buf.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "id", "title", "a", "", "aws_case", NULL };
	struct aws_json_span f[5];
	const char *s = (const char *)data;
	if (aws_json_fields(s, size, keys, f))
		return 0;
	json_error_t je;
	json_t *j = json_loadb(s, size, 0, &je);
	if (!j) {
		if (strstr(je.text, "too big") || strstr(je.text, "overflow"))
			return 0;
		abort();
	}
	if (!json_is_object(j))
		abort();
	for (int i = 0; keys[i]; i++) {
		json_t *v = json_object_get(j, keys[i]);
		if ((f[i].type == AWS_JSON_ABSENT) != (v == NULL))
			abort();
		if (f[i].type != AWS_JSON_STRING)
			continue;
		size_t cap = f[i].n * 4 + 1;
		char *got = malloc(cap);
		if (!got || aws_json_string(&f[i], got, cap) || !json_is_string(v) || strcmp(got, json_string_value(v)))
			abort();
		struct buf b = BUF_INIT(cap * 6 + 8);
		char *want = json_dumps(v, JSON_ENCODE_ANY);
		if (aws_json_quote(&b, got) || !want || strcmp(buf_str(&b), want))
			abort();
		free(want);
		buf_release(&b);
		free(got);
	}
	json_decref(j);
	return 0;
}
