#ifndef FW_AWS_JSON_H
#define FW_AWS_JSON_H
/* Reading members of a stored JSON object without building a jansson tree, and writing JSON strings.
 *
 * describe-cases answers with up to 100 cases per call, each read from a ticket's JSON text; parsing
 * every ticket into a jansson object and dumping the answer again cost more than everything else in
 * the request. aws_json_fields() validates the text as json_loads() would (RFC 8259, UTF-8, no \u0000)
 * and points at the values of the members asked for, so the adapter can copy a string value into its
 * answer as it stands (a valid JSON string literal) and decode only the few it compares. */

#include <stddef.h>

struct buf;

enum aws_json_type {
	AWS_JSON_ABSENT = 0,
	AWS_JSON_STRING,
	AWS_JSON_NUMBER,
	AWS_JSON_OBJECT,
	AWS_JSON_ARRAY,
	AWS_JSON_TRUE,
	AWS_JSON_FALSE,
	AWS_JSON_NULL,
};

/* One value inside a JSON text: p[0..n) is its complete text (a string with its quotes, an object with
 * its braces). p borrows the scanned text. */
struct aws_json_span {
	const char *p;
	size_t n;
	enum aws_json_type type;
};

/* Nesting deeper than this is refused (jansson allows 2048; stored tickets nest 3 levels). */
#define AWS_JSON_MAX_DEPTH 64

/* At most this many names per aws_json_fields() call. */
#define AWS_JSON_MAX_KEYS 32

/* Validates s[0..n) as one JSON object (whitespace around it allowed) and, for each name in keys
 * (NULL-terminated, at most AWS_JSON_MAX_KEYS), sets out[i] to its member's value; out[i].type is
 * AWS_JSON_ABSENT when there is no such member. When a name repeats the last value counts, as with
 * json_loads(). Returns 0, or FW_EINVAL when the text is not a valid JSON object or there are too many
 * names (then out is all ABSENT). */
int aws_json_fields(const char *s, size_t n, const char *const *keys, struct aws_json_span *out);

/* Decodes the string value v into out (NUL-terminated, cap bytes). Returns 0, FW_EINVAL when v is not
 * a string, FW_ETOOBIG when it does not fit. v must come from aws_json_fields(). */
int aws_json_string(const struct aws_json_span *v, char *out, size_t cap);


#endif
