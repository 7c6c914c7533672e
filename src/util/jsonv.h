#ifndef FW_JSONV_H
#define FW_JSONV_H
/* Declarative validation of JSON request bodies, so every handler rejects the same things the same
 * way: unknown fields, missing required fields, wrong types, over-long strings, values outside an
 * enumeration. Errors name the field: 422 {"code":"invalid_field","message":"field 'title' …"}. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct fw_error;

enum jv_type { JV_STRING, JV_INT, JV_BOOL, JV_ARRAY, JV_OBJECT, JV_NUMBER, JV_ANY };

#define JV_REQUIRED 1u
#define JV_NULLABLE 2u /* null is accepted (and treated as absent) */
#define JV_NONEMPTY 4u /* strings and arrays must not be empty */

struct jv_field {
	const char *name;
	enum jv_type type;
	unsigned flags;
	size_t maxlen;              /* strings: max bytes (0 = 4096); arrays: max items (0 = 1000) */
	const char *const *allowed; /* strings: NULL-terminated list of allowed values, or NULL */
};

/* Parses a request body. Empty or malformed JSON, or a top-level value that is not an object
 * (unless allow_array) is a 400 "invalid_json" naming line and column. *out is a new reference. */
int jv_parse(const char *body, size_t len, bool allow_array, json_t **out, struct fw_error *e);
/* Checks obj against fields (terminated by an entry with name NULL). */
int jv_check(const json_t *obj, const struct jv_field *fields, struct fw_error *e);
/* Borrowed string value of key, or NULL when absent, null or not a string. */
const char *jv_str(const json_t *obj, const char *key);
/* Same, with a default. */
const char *jv_str_or(const json_t *obj, const char *key, const char *dflt);
/* True when s is in the NULL-terminated list. */
bool jv_in(const char *s, const char *const *list);
/* Writes "a, b, c" of a NULL-terminated list into out. */
void jv_join(const char *const *list, char *out, size_t cap);

/* What kind of value v is, for error messages: "an object", "an array", "a string", "a number",
 * "a boolean" or "null" (also for NULL). */
const char *jv_kind(const json_t *v);

#endif
