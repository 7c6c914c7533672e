#ifndef FW_JSON_OUT_H
#define FW_JSON_OUT_H
/* Compact JSON text of jansson values, written straight into a buf: the same bytes json_dumps()
 * writes with JSON_COMPACT | JSON_ENCODE_ANY (members in insertion order, UTF-8 as it is, the same
 * escapes and number forms), at a small part of its cost. Every answer the API gives is dumped here,
 * and jansson's dump was the largest piece of a create's request thread after the kernel. */

#include <jansson.h>
#include <stddef.h>

struct buf;

/* Appends s[0..n) (UTF-8, as jansson holds strings) as a JSON string literal. Returns 0 or the error
 * of buf_append(). */
int json_out_quote(struct buf *b, const char *s, size_t n);
/* The same for a NUL-terminated string; NULL is written as "". */
int json_out_str(struct buf *b, const char *s);
/* Appends v. Returns 0, the error of buf_append(), or FW_EINVAL for nesting deeper than jansson's
 * parser accepts (only a value built by hand can be that deep). */
int json_out_value(struct buf *b, const json_t *v);
/* v's text as a new string the caller frees, or NULL (out of memory, too deep). */
char *json_out_dumps(const json_t *v);

#endif
