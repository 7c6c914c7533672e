#include "util/json_out.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* jansson's parser refuses deeper input (JSON_PARSER_MAX_DEPTH). */
#define DEPTH_MAX 2048

int json_out_quote(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF"; /* json_dumps() writes \u001F */
	int rc = buf_append(b, "\"", 1);
	const char *run = s, *end = s + n;
	for (const char *p = s; !rc && p < end; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		char esc[6] = { '\\', 0 };
		size_t k = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			k = 6;
			break;
		}
		rc = buf_append(b, run, (size_t)(p - run));
		if (!rc)
			rc = buf_append(b, esc, k);
		run = p + 1;
	}
	if (!rc)
		rc = buf_append(b, run, (size_t)(end - run));
	if (!rc)
		rc = buf_append(b, "\"", 1);
	return rc;
}

int json_out_str(struct buf *b, const char *s)
{
	return json_out_quote(b, s ? s : "", s ? strlen(s) : 0);
}

static int value(struct buf *b, const json_t *v, int depth)
{
	int rc = 0;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		if (depth >= DEPTH_MAX)
			return FW_EINVAL;
		rc = buf_append(b, "{", 1);
		bool first = true;
		/* Insertion order, as json_dumps() without JSON_SORT_KEYS. */
		for (void *it = json_object_iter((json_t *)v); it && !rc;
		     it = json_object_iter_next((json_t *)v, it), first = false) {
			if (!first)
				rc = buf_append(b, ",", 1);
			if (!rc)
				rc = json_out_quote(b, json_object_iter_key(it), json_object_iter_key_len(it));
			if (!rc)
				rc = buf_append(b, ":", 1);
			if (!rc)
				rc = value(b, json_object_iter_value(it), depth + 1);
		}
		return rc ? rc : buf_append(b, "}", 1);
	}
	case JSON_ARRAY: {
		if (depth >= DEPTH_MAX)
			return FW_EINVAL;
		rc = buf_append(b, "[", 1);
		for (size_t i = 0, n = json_array_size(v); i < n && !rc; i++) {
			if (i)
				rc = buf_append(b, ",", 1);
			if (!rc)
				rc = value(b, json_array_get(v, i), depth + 1);
		}
		return rc ? rc : buf_append(b, "]", 1);
	}
	case JSON_STRING:
		return json_out_quote(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return buf_put_int(b, (long long)json_integer_value(v));
	case JSON_REAL: {
		/* jansson's own form of a double (shortest text that reads back, ".0" kept): rare here. */
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		rc = s ? buf_puts(b, s) : FW_ENOMEM;
		free(s);
		return rc;
	}
	case JSON_TRUE:
		return buf_append(b, "true", 4);
	case JSON_FALSE:
		return buf_append(b, "false", 5);
	case JSON_NULL:
		return buf_append(b, "null", 4);
	}
	return FW_EINVAL;
}

int json_out_value(struct buf *b, const json_t *v)
{
	return v ? value(b, v, 0) : FW_EINVAL;
}

char *json_out_dumps(const json_t *v)
{
	struct buf b = BUF_INIT(SIZE_MAX);
	if (json_out_value(&b, v)) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}
