/* Member lookup over JSON text and JSON string output (see aws_json.h). */
#include "compat/aws_json.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"

#include <stdbool.h>
#include <string.h>

struct scan {
	const char *p, *end;
};

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit((unsigned char)p[i]);
		if (d < 0)
			return FW_EINVAL;
		v = v * 16 + (unsigned)d;
	}
	*out = v;
	return 0;
}

/* Length of the well-formed UTF-8 sequence at p (Unicode table 3-7: no overlong forms, no surrogates,
 * nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

/* \uXXXX at p (inside [p, end)), with its low surrogate when it is a high one: the code point into *cp
 * and the escape's length into *len. \u0000 and lone surrogates are refused, as by json_loads(). */
static int unicode_escape(const char *p, const char *end, unsigned *cp, size_t *len)
{
	unsigned u, lo;
	if (end - p < 6 || hex4(p + 2, &u) || u == 0 || (u >= 0xDC00 && u <= 0xDFFF))
		return FW_EINVAL;
	if (u < 0xD800 || u > 0xDBFF) {
		*cp = u;
		*len = 6;
		return 0;
	}
	if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
		return FW_EINVAL;
	*cp = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
	*len = 12;
	return 0;
}

/* A string starting at its opening quote; leaves s->p after the closing one. */
static int scan_string(struct scan *s)
{
	s->p++;
	while (s->p < s->end) {
		unsigned char c = (unsigned char)*s->p;
		if (c == '"') {
			s->p++;
			return 0;
		}
		if (c < 0x20)
			return FW_EINVAL;
		if (c == '\\') {
			if (s->end - s->p < 2)
				return FW_EINVAL;
			char e = s->p[1];
			if (e == 'u') {
				unsigned cp;
				size_t len;
				if (unicode_escape(s->p, s->end, &cp, &len))
					return FW_EINVAL;
				s->p += len;
			} else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
				   e == 't') {
				s->p += 2;
			} else {
				return FW_EINVAL;
			}
		} else if (c < 0x80) {
			s->p++;
		} else {
			size_t n = utf8_len((const unsigned char *)s->p, (const unsigned char *)s->end);
			if (!n)
				return FW_EINVAL;
			s->p += n;
		}
	}
	return FW_EINVAL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int scan_number(struct scan *s)
{
	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p >= s->end || !is_digit(*s->p))
		return FW_EINVAL;
	if (*s->p == '0')
		s->p++;
	else
		while (s->p < s->end && is_digit(*s->p))
			s->p++;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (s->p >= s->end || !is_digit(*s->p))
			return FW_EINVAL;
		while (s->p < s->end && is_digit(*s->p))
			s->p++;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (s->p >= s->end || !is_digit(*s->p))
			return FW_EINVAL;
		while (s->p < s->end && is_digit(*s->p))
			s->p++;
	}
	return 0;
}

static int scan_literal(struct scan *s, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return FW_EINVAL;
	s->p += n;
	return 0;
}

struct wanted;
static int scan_object(struct scan *s, int depth, const struct wanted *w);
static int scan_array(struct scan *s, int depth);

static int scan_value(struct scan *s, int depth, struct aws_json_span *v)
{
	skip_ws(s);
	if (s->p >= s->end)
		return FW_EINVAL;
	const char *start = s->p;
	int rc;
	switch (*s->p) {
	case '"':
		v->type = AWS_JSON_STRING;
		rc = scan_string(s);
		break;
	case '{':
		v->type = AWS_JSON_OBJECT;
		rc = scan_object(s, depth + 1, NULL);
		break;
	case '[':
		v->type = AWS_JSON_ARRAY;
		rc = scan_array(s, depth + 1);
		break;
	case 't':
		v->type = AWS_JSON_TRUE;
		rc = scan_literal(s, "true");
		break;
	case 'f':
		v->type = AWS_JSON_FALSE;
		rc = scan_literal(s, "false");
		break;
	case 'n':
		v->type = AWS_JSON_NULL;
		rc = scan_literal(s, "null");
		break;
	default:
		v->type = AWS_JSON_NUMBER;
		rc = scan_number(s);
		break;
	}
	v->p = start;
	v->n = (size_t)(s->p - start);
	return rc;
}

static int scan_array(struct scan *s, int depth)
{
	struct aws_json_span v;
	if (depth > AWS_JSON_MAX_DEPTH)
		return FW_EINVAL;
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return 0;
	}
	for (;;) {
		if (scan_value(s, depth, &v))
			return FW_EINVAL;
		skip_ws(s);
		if (s->p >= s->end)
			return FW_EINVAL;
		if (*s->p == ']') {
			s->p++;
			return 0;
		}
		if (*s->p++ != ',')
			return FW_EINVAL;
	}
}

/* The member names aws_json_fields() looks for, with their lengths. */
struct wanted {
	const char *const *keys;
	size_t lens[AWS_JSON_MAX_KEYS];
	size_t n;
	struct aws_json_span *out;
};

/* Records v for every wanted name equal to the member name k (its literal, quotes included). */
static void match(const struct wanted *w, const char *k, size_t klen, const struct aws_json_span *v)
{
	const char *name = k + 1;
	size_t n = klen - 2;
	char tmp[128];
	if (memchr(name, '\\', n)) {
		struct aws_json_span lit = { k, klen, AWS_JSON_STRING };
		if (aws_json_string(&lit, tmp, sizeof(tmp)))
			return;
		name = tmp;
		n = strlen(tmp);
	}
	for (size_t i = 0; i < w->n; i++)
		if (w->lens[i] == n && memcmp(w->keys[i], name, n) == 0)
			w->out[i] = *v;
}

static int scan_object(struct scan *s, int depth, const struct wanted *w)
{
	if (depth > AWS_JSON_MAX_DEPTH)
		return FW_EINVAL;
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return 0;
	}
	for (;;) {
		struct aws_json_span v;
		skip_ws(s);
		if (s->p >= s->end || *s->p != '"')
			return FW_EINVAL;
		const char *k = s->p;
		if (scan_string(s))
			return FW_EINVAL;
		size_t klen = (size_t)(s->p - k);
		skip_ws(s);
		if (s->p >= s->end || *s->p != ':')
			return FW_EINVAL;
		s->p++;
		if (scan_value(s, depth, &v))
			return FW_EINVAL;
		if (w)
			match(w, k, klen, &v);
		skip_ws(s);
		if (s->p >= s->end)
			return FW_EINVAL;
		if (*s->p == '}') {
			s->p++;
			return 0;
		}
		if (*s->p++ != ',')
			return FW_EINVAL;
	}
}

int aws_json_fields(const char *s, size_t n, const char *const *keys, struct aws_json_span *out)
{
	struct scan sc = { s, s + n };
	struct wanted w = { .keys = keys, .out = out };
	while (keys[w.n])
		w.n++;
	memset(out, 0, w.n * sizeof(*out));
	if (w.n > AWS_JSON_MAX_KEYS)
		return FW_EINVAL;
	for (size_t i = 0; i < w.n; i++)
		w.lens[i] = strlen(keys[i]);
	skip_ws(&sc);
	int rc = FW_EINVAL;
	if (sc.p < sc.end && *sc.p == '{' && !scan_object(&sc, 1, &w)) {
		skip_ws(&sc);
		rc = sc.p == sc.end ? 0 : FW_EINVAL;
	}
	if (rc)
		memset(out, 0, w.n * sizeof(*out));
	return rc;
}

int aws_json_string(const struct aws_json_span *v, char *out, size_t cap)
{
	if (v->type != AWS_JSON_STRING || v->n < 2 || cap == 0)
		return FW_EINVAL;
	const char *p = v->p + 1, *end = v->p + v->n - 1;
	size_t o = 0;
	while (p < end) {
		unsigned char enc[4];
		size_t elen = 1;
		if (*p != '\\') {
			enc[0] = (unsigned char)*p++;
		} else if (p[1] == 'u') {
			unsigned cp;
			size_t len;
			if (unicode_escape(p, end, &cp, &len))
				return FW_EINVAL;
			p += len;
			if (cp < 0x80) {
				enc[0] = (unsigned char)cp;
			} else if (cp < 0x800) {
				enc[0] = (unsigned char)(0xC0 | cp >> 6);
				enc[1] = (unsigned char)(0x80 | (cp & 0x3F));
				elen = 2;
			} else if (cp < 0x10000) {
				enc[0] = (unsigned char)(0xE0 | cp >> 12);
				enc[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
				enc[2] = (unsigned char)(0x80 | (cp & 0x3F));
				elen = 3;
			} else {
				enc[0] = (unsigned char)(0xF0 | cp >> 18);
				enc[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
				enc[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
				enc[3] = (unsigned char)(0x80 | (cp & 0x3F));
				elen = 4;
			}
		} else {
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			const char *e = p[1] ? strchr(from, p[1]) : NULL;
			if (!e)
				return FW_EINVAL;
			enc[0] = (unsigned char)to[e - from];
			p += 2;
		}
		if (o + elen >= cap)
			return FW_ETOOBIG;
		memcpy(out + o, enc, elen);
		o += elen;
	}
	out[o] = '\0';
	return 0;
}
