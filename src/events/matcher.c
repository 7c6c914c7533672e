#include "events/matcher.h"
#include "events/labels.h"
#include "util/err.h"
#include "util/hex.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable string for building regex translations and formatted matchers. An allocation failure is
 * remembered and reported once at the end, so the builders need not check every append. */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_putc(struct sbuf *b, char c)
{
	sb_putn(b, &c, 1);
}

static void sb_free(struct sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---------------------------------------------------------------------------------------------------
 * RE2 -> POSIX ERE translation.
 *
 * Invariant that keeps the anchoring sound: the translation has balanced parentheses (an unmatched ')'
 * is rejected, because glibc would take it as a literal and "a)|(b" wrapped as ^(a)|(b)$ would no longer
 * be anchored), so wrapping it as ^(…)$ anchors every alternative.
 */

struct re_tr {
	const unsigned char *p; /* next input byte */
	struct sbuf out;
	int cflags;
	bool dotall; /* (?s): '.' matches '\n' too */
	int depth;
	char err[160];
};

#define ERE_SPECIAL ".[]()*+?{}|^$\\"

static int tr_fail(struct re_tr *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int tr_fail(struct re_tr *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* Reads \xHH or \x{H…} with t->p just after the 'x'. Returns the code point or -1 (t->err set). */
static long read_hex(struct re_tr *t)
{
	long v = 0;
	if (*t->p == '{') {
		int digits = 0;
		for (t->p++; *t->p != '}'; t->p++) {
			int h = hex_digit(*t->p);
			if (h < 0 || ++digits > 6)
				return tr_fail(t, "invalid escape sequence \\x{...}");
			v = v * 16 + h;
		}
		t->p++;
		if (digits == 0)
			return tr_fail(t, "invalid escape sequence \\x{}");
	} else {
		int h1 = hex_digit(t->p[0]), h2 = h1 < 0 ? -1 : hex_digit(t->p[1]);
		if (h2 < 0)
			return tr_fail(t, "invalid escape sequence \\x: expected two hex digits");
		v = h1 * 16 + h2;
		t->p += 2;
	}
	if (v == 0)
		return tr_fail(t, "a NUL character (\\x00) cannot occur in a label value");
	if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return tr_fail(t, "invalid escape sequence: \\x{%lx} is not a Unicode code point", v);
	return v;
}

/* Emits one literal code point outside brackets. Multi-byte characters are grouped so that a following
 * quantifier repeats the whole character, not its last byte. */
static void emit_literal(struct re_tr *t, long cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		if (strchr(ERE_SPECIAL, (int)cp))
			sb_putc(&t->out, '\\');
		sb_putc(&t->out, (char)cp);
		return;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	sb_putc(&t->out, '(');
	sb_putn(&t->out, u, n);
	sb_putc(&t->out, ')');
}

static long control_escape(unsigned char c)
{
	switch (c) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'f': return '\f';
	case 'v': return '\v';
	case 'a': return '\a';
	default: return -1;
	}
}

/* An escape outside brackets, t->p at the character after the backslash. */
static int tr_escape(struct re_tr *t)
{
	unsigned char c = *t->p++;
	long cp;
	switch (c) {
	case '\0': return tr_fail(t, "trailing backslash at end of expression");
	case 'd': sb_puts(&t->out, "[0-9]"); return 0;
	case 'D': sb_puts(&t->out, "[^0-9]"); return 0;
	case 'w': sb_puts(&t->out, "[0-9A-Za-z_]"); return 0;
	case 'W': sb_puts(&t->out, "[^0-9A-Za-z_]"); return 0;
	case 's': sb_puts(&t->out, "[\t\n\f\r ]"); return 0;
	case 'S': sb_puts(&t->out, "[^\t\n\f\r ]"); return 0;
	case 'A': sb_putc(&t->out, '^'); return 0;
	case 'z': sb_putc(&t->out, '$'); return 0;
	case 'b': sb_puts(&t->out, "\\b"); return 0;
	case 'B': sb_puts(&t->out, "\\B"); return 0;
	case 'x':
		cp = read_hex(t);
		if (cp < 0)
			return -1;
		emit_literal(t, cp);
		return 0;
	default: break;
	}
	if ((cp = control_escape(c)) >= 0) {
		emit_literal(t, cp);
		return 0;
	}
	if (c >= '0' && c <= '9')
		return tr_fail(t, "backreferences and octal escapes (\\%c) are not supported", c);
	if (c < 0x80 && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z')) {
		emit_literal(t, c); /* RE2: an escaped non-word ASCII character is itself */
		return 0;
	}
	if (c >= 0x80)
		return tr_fail(t, "invalid escape of a non-ASCII character");
	return tr_fail(t, "unsupported escape sequence \\%c", c);
}

/* One member of a bracket expression, t->p at it. Returns a byte (0..127) in *ch, or a multi-character
 * expansion in *expand (for \d \w \s); -1 on error. */
static int tr_class_char(struct re_tr *t, int *ch, const char **expand)
{
	unsigned char c = *t->p++;
	long cp;
	*expand = NULL;
	if (c >= 0x80)
		return tr_fail(
			t, "non-ASCII characters inside [...] are not supported; use an alternation (a|b)");
	if (c != '\\') {
		*ch = c;
		return 0;
	}
	c = *t->p++;
	switch (c) {
	case '\0': return tr_fail(t, "missing closing ]");
	case 'd': *expand = "0-9"; return 0;
	case 'w': *expand = "0-9A-Za-z_"; return 0;
	case 's': *expand = "\t\n\f\r "; return 0;
	case 'D':
	case 'W':
	case 'S': return tr_fail(t, "\\%c inside [...] is not supported", c);
	case 'x':
		cp = read_hex(t);
		if (cp < 0)
			return -1;
		if (cp >= 0x80)
			return tr_fail(t, "non-ASCII characters inside [...] are not supported");
		*ch = (int)cp;
		return 0;
	default: break;
	}
	if ((cp = control_escape(c)) >= 0) {
		*ch = (int)cp;
		return 0;
	}
	if (c < 0x80 && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9')) {
		*ch = c;
		return 0;
	}
	return tr_fail(t, "unsupported escape sequence \\%c inside [...]", c);
}

static const char *const posix_classes[] = {
	"alnum", "alpha", "blank", "cntrl", "digit", "graph",
	"lower", "print", "punct", "space", "upper", "xdigit",
};

/* A bracket expression, t->p just after '['. POSIX gives ']', '^', '-' and '[' meaning by position and
 * has no escapes inside brackets, so those four are collected and placed where they are literal. */
static int tr_bracket(struct re_tr *t)
{
	struct sbuf body = { 0 };
	bool neg = false, rb = false, dash = false, caret = false, lbr = false, first = true;
	int rc = 0;

	if (*t->p == '^') {
		neg = true;
		t->p++;
	}
	for (;;) {
		int lo, hi;
		const char *expand;
		if (*t->p == '\0') {
			rc = tr_fail(t, "missing closing ]");
			goto out;
		}
		if (*t->p == ']' && !first) {
			t->p++;
			break;
		}
		first = false;
		if (t->p[0] == '[' && t->p[1] == ':') {
			const char *name = (const char *)t->p + 2;
			const char *end = strstr(name, ":]");
			size_t i, nlen = end ? (size_t)(end - name) : 0;
			if (!end) {
				rc = tr_fail(t, "missing closing :] in character class");
				goto out;
			}
			if (nlen == 4 && memcmp(name, "word", 4) == 0) {
				sb_puts(&body, "0-9A-Za-z_");
			} else if (nlen == 5 && memcmp(name, "ascii", 5) == 0) {
				sb_puts(&body, "\x01-\x7f");
			} else {
				for (i = 0; i < sizeof(posix_classes) / sizeof(posix_classes[0]); i++) {
					if (strlen(posix_classes[i]) == nlen &&
					    memcmp(name, posix_classes[i], nlen) == 0)
						break;
				}
				if (i == sizeof(posix_classes) / sizeof(posix_classes[0])) {
					rc = tr_fail(t, "invalid or unsupported character class [:%.*s:]",
						     (int)nlen, name);
					goto out;
				}
				sb_puts(&body, "[:");
				sb_putn(&body, name, nlen);
				sb_puts(&body, ":]");
			}
			t->p = (const unsigned char *)end + 2;
			continue;
		}
		if (tr_class_char(t, &lo, &expand) < 0) {
			rc = -1;
			goto out;
		}
		if (expand) {
			sb_puts(&body, expand);
			continue;
		}
		if (t->p[0] == '-' && t->p[1] != ']' && t->p[1] != '\0') {
			t->p++;
			if (tr_class_char(t, &hi, &expand) < 0) {
				rc = -1;
				goto out;
			}
			if (expand || hi < lo) {
				rc = tr_fail(t, "invalid character class range");
				goto out;
			}
			if (strchr("]^-[", lo) || strchr("]^-[", hi)) {
				rc = tr_fail(t, "a range in [...] may not start or end with ] ^ - or [");
				goto out;
			}
			sb_putc(&body, (char)lo);
			sb_putc(&body, '-');
			sb_putc(&body, (char)hi);
			continue;
		}
		switch (lo) {
		case ']': rb = true; break;
		case '-': dash = true; break;
		case '^': caret = true; break;
		case '[': lbr = true; break;
		default: sb_putc(&body, (char)lo); break;
		}
	}
	if (!neg && caret && !rb && !lbr && body.len == 0) {
		/* Only '^' (and maybe '-'): a leading '^' would negate. */
		sb_puts(&t->out, dash ? "[-^]" : "\\^");
		goto out;
	}
	sb_putc(&t->out, '[');
	if (neg)
		sb_putc(&t->out, '^');
	if (rb)
		sb_putc(&t->out, ']');
	if (body.len)
		sb_putn(&t->out, body.p, body.len);
	if (lbr)
		sb_putc(&t->out, '[');
	if (caret)
		sb_putc(&t->out, '^');
	if (dash)
		sb_putc(&t->out, '-');
	sb_putc(&t->out, ']');
out:
	if (body.oom)
		t->out.oom = true;
	sb_free(&body);
	return rc;
}

/* {n}, {n,} or {n,m} at t->p: copies it and returns 1; returns 0 when the brace is a literal (as RE2
 * reads "a{" or "{x}"), -1 on a bad count. */
static int tr_repeat(struct re_tr *t)
{
	const unsigned char *q = t->p + 1;
	long n = -1, m = -1;
	const unsigned char *d = q;
	while (*q >= '0' && *q <= '9')
		q++;
	if (q == d)
		return 0;
	n = strtol((const char *)d, NULL, 10);
	if (*q == ',') {
		d = ++q;
		while (*q >= '0' && *q <= '9')
			q++;
		if (q != d)
			m = strtol((const char *)d, NULL, 10);
	} else {
		m = n;
	}
	if (*q != '}')
		return 0;
	if (n > 1000 || m > 1000)
		return tr_fail(t, "invalid repeat count: at most 1000");
	if (m >= 0 && m < n)
		return tr_fail(t, "invalid repeat count: {%ld,%ld}", n, m);
	sb_putn(&t->out, (const char *)t->p, (size_t)(q + 1 - t->p));
	t->p = q + 1;
	return 1;
}

static int translate(struct re_tr *t)
{
	bool can_repeat = false, after_quant = false;

	/* Flags are only supported at the very start, where they apply to the whole pattern. */
	if (t->p[0] == '(' && t->p[1] == '?' && strchr("is", t->p[2]) && t->p[2]) {
		const unsigned char *q = t->p + 2;
		while (*q == 'i' || *q == 's')
			q++;
		if (*q == ')') {
			for (const unsigned char *f = t->p + 2; f < q; f++) {
				if (*f == 'i')
					t->cflags |= REG_ICASE;
				else
					t->dotall = true;
			}
			t->p = q + 1;
		}
	}
	while (*t->p) {
		unsigned char c = *t->p;
		bool quant = false;
		switch (c) {
		case '\\':
			t->p++;
			if (tr_escape(t) < 0)
				return -1;
			can_repeat = true;
			break;
		case '(':
			t->p++;
			if (t->p[0] == '?') {
				if (t->p[1] == ':') {
					t->p += 2;
				} else if (t->p[1] == '<' || (t->p[1] == 'P' && t->p[2] == '<')) {
					const unsigned char *q = t->p + (t->p[1] == '<' ? 2 : 3), *name = q;
					while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
					       (*q >= '0' && *q <= '9') || *q == '_')
						q++;
					if (*q != '>' || q == name)
						return tr_fail(t, "invalid named capture");
					t->p = q + 1;
				} else {
					return tr_fail(
						t, "flags like (?i) are supported only at the start of the "
						   "expression; other (?...) groups are not supported");
				}
			}
			sb_putc(&t->out, '(');
			t->depth++;
			can_repeat = false;
			break;
		case ')':
			if (t->depth == 0)
				return tr_fail(t, "unexpected )");
			t->depth--;
			t->p++;
			sb_putc(&t->out, ')');
			can_repeat = true;
			break;
		case '[':
			t->p++;
			if (tr_bracket(t) < 0)
				return -1;
			can_repeat = true;
			break;
		case '*':
		case '+':
		case '?':
		case '{':
			if (c == '{') {
				int r = tr_repeat(t);
				if (r < 0)
					return -1;
				if (r == 0) {
					t->p++;
					sb_puts(&t->out, "\\{");
					can_repeat = true;
					break;
				}
			} else {
				t->p++;
				sb_putc(&t->out, (char)c);
			}
			if (after_quant)
				return tr_fail(t, "invalid nested repetition operator");
			if (!can_repeat)
				return tr_fail(t, "missing argument to repetition operator");
			if (*t->p == '?') /* lazy: the same full matches as greedy */
				t->p++;
			quant = true;
			break;
		case '}':
			t->p++;
			sb_puts(&t->out, "\\}");
			can_repeat = true;
			break;
		case '.':
			t->p++;
			sb_puts(&t->out, t->dotall ? "." : "[^\n]");
			can_repeat = true;
			break;
		case '|':
			t->p++;
			sb_putc(&t->out, '|');
			can_repeat = false;
			break;
		case '^':
		case '$':
			t->p++;
			sb_putc(&t->out, (char)c);
			can_repeat = true;
			break;
		default:
			if (c < 0x80) {
				t->p++;
				sb_putc(&t->out, (char)c);
			} else {
				/* The pattern was checked to be valid UTF-8: copy one whole character. */
				size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
				sb_putc(&t->out, '(');
				sb_putn(&t->out, (const char *)t->p, n);
				sb_putc(&t->out, ')');
				t->p += n;
			}
			can_repeat = true;
			break;
		}
		after_quant = quant;
	}
	if (t->depth > 0)
		return tr_fail(t, "missing closing )");
	return 0;
}

/* Compiles the anchored translation of pattern into *out (a new regex_t the caller regfree()s and
 * frees). Returns 0, FW_EINVAL or FW_ENOMEM. */
static int compile_anchored(const char *pattern, regex_t **out, struct fw_error *e)
{
	struct re_tr t = { .p = (const unsigned char *)pattern, .cflags = REG_EXTENDED | REG_NOSUB };
	struct sbuf full = { 0 };
	char q[200];
	int rc = 0;

	*out = NULL;
	if (!evt_utf8_valid(pattern, strlen(pattern))) {
		rc = fw_fail(e, 400, "invalid_regex", "invalid regular expression %s: invalid UTF-8",
			     evt_quote(q, sizeof(q), pattern, strlen(pattern)));
		goto out;
	}
	if (translate(&t) < 0) {
		rc = fw_fail(e, 400, "invalid_regex", "invalid regular expression %s: %s",
			     evt_quote(q, sizeof(q), pattern, strlen(pattern)), t.err);
		goto out;
	}
	sb_puts(&full, "^(");
	if (t.out.len)
		sb_putn(&full, t.out.p, t.out.len);
	sb_puts(&full, ")$");
	if (full.oom || t.out.oom) {
		rc = FW_ENOMEM;
		goto out;
	}
	regex_t *re = malloc(sizeof(*re));
	if (!re) {
		rc = FW_ENOMEM;
		goto out;
	}
	int rr = regcomp(re, full.p, t.cflags);
	if (rr != 0) {
		char msg[128];
		regerror(rr, re, msg, sizeof(msg));
		free(re);
		rc = rr == REG_ESPACE ? FW_ENOMEM
				      : fw_fail(e, 400, "invalid_regex", "invalid regular expression %s: %s",
						evt_quote(q, sizeof(q), pattern, strlen(pattern)), msg);
		goto out;
	}
	*out = re;
out:
	sb_free(&t.out);
	sb_free(&full);
	return rc;
}

/* --------------------------------------------------------------------------------------------------- */

const char *evt_match_type_str(enum evt_match_type type)
{
	switch (type) {
	case EVT_MATCH_EQUAL: return "=";
	case EVT_MATCH_NOT_EQUAL: return "!=";
	case EVT_MATCH_REGEX: return "=~";
	case EVT_MATCH_NOT_REGEX: return "!~";
	}
	return "?";
}

void evt_matcher_release(struct evt_matcher *m)
{
	free(m->name);
	free(m->value);
	if (m->re) {
		regfree(m->re);
		free(m->re);
	}
	m->type = EVT_MATCH_EQUAL;
	m->name = m->value = NULL;
	m->re = NULL;
}

static bool is_regex(enum evt_match_type type)
{
	return type == EVT_MATCH_REGEX || type == EVT_MATCH_NOT_REGEX;
}

int evt_matcher_init(struct evt_matcher *m, enum evt_match_type type, const char *name, const char *value,
		     struct fw_error *e)
{
	int rc = 0;
	evt_matcher_release(m);
	m->type = type;
	m->name = strdup(name);
	m->value = strdup(value);
	if (!m->name || !m->value) {
		rc = FW_ENOMEM;
		goto out;
	}
	if (is_regex(type))
		rc = compile_anchored(value, &m->re, e);
out:
	if (rc < 0)
		evt_matcher_release(m);
	return rc;
}

bool evt_matcher_matches(const struct evt_matcher *m, const char *value)
{
	switch (m->type) {
	case EVT_MATCH_EQUAL: return strcmp(m->value, value) == 0;
	case EVT_MATCH_NOT_EQUAL: return strcmp(m->value, value) != 0;
	case EVT_MATCH_REGEX: return regexec(m->re, value, 0, NULL, 0) == 0;
	case EVT_MATCH_NOT_REGEX: return regexec(m->re, value, 0, NULL, 0) != 0;
	}
	return false;
}

static bool go_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

/* How many bytes of s[0..len) to echo in a message: at most 200, cut at a character boundary, so the
 * message stays valid UTF-8 (the caller checked s is). */
static int clip(const char *s, size_t len)
{
	size_t n = len < 200 ? len : 200;
	while (n < len && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return (int)n;
}

int evt_matcher_parse(struct evt_matcher *m, const char *s, size_t len, struct fw_error *e)
{
	char q[300];
	const char *p = s, *end = s + len;
	enum evt_match_type type;
	int rc;

	evt_matcher_release(m);
	/* ^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*((?s).*?)\s*$ */
	while (p < end && go_space(*p))
		p++;
	const char *name = p;
	if (p < end && name_start(*p))
		for (p++; p < end && name_char(*p); p++)
			;
	size_t name_len = (size_t)(p - name);
	while (p < end && go_space(*p))
		p++;
	if (name_len == 0 || p >= end)
		goto bad_format;
	if (end - p >= 2 && p[0] == '=' && p[1] == '~') {
		type = EVT_MATCH_REGEX;
		p += 2;
	} else if (p[0] == '=') {
		type = EVT_MATCH_EQUAL;
		p += 1;
	} else if (end - p >= 2 && p[0] == '!' && p[1] == '=') {
		type = EVT_MATCH_NOT_EQUAL;
		p += 2;
	} else if (end - p >= 2 && p[0] == '!' && p[1] == '~') {
		type = EVT_MATCH_NOT_REGEX;
		p += 2;
	} else {
		goto bad_format;
	}
	while (p < end && go_space(*p))
		p++;
	while (end > p && go_space(end[-1]))
		end--;

	const char *raw = p; /* Alertmanager quotes this (ms[3]) in its messages */
	size_t raw_len = (size_t)(end - p);
	bool expect_quote = false;
	if (p < end && *p == '"') {
		p++;
		expect_quote = true;
	}
	if (!evt_utf8_valid(p, (size_t)(end - p)))
		return fw_fail(e, 400, "bad_matcher", "matcher value not valid UTF-8: %s",
			       evt_quote(q, sizeof(q), raw, raw_len));
	if (memchr(p, '\0', (size_t)(end - p)))
		return fw_fail(e, 400, "bad_matcher", "matcher value contains a NUL character: %s",
			       evt_quote(q, sizeof(q), raw, raw_len));

	struct sbuf val = { 0 };
	sb_puts(&val, ""); /* an empty value is still a string */
	bool escaped = false;
	for (const char *c = p; c < end; c++) {
		if (escaped) {
			escaped = false;
			if (*c == 'n') {
				sb_putc(&val, '\n');
			} else if (*c == '"' || *c == '\\') {
				sb_putc(&val, *c);
			} else {
				/* A spurious escape: the backslash is literal. */
				sb_putc(&val, '\\');
				sb_putc(&val, *c);
			}
			continue;
		}
		if (*c == '\\') {
			if (c < end - 1) {
				escaped = true;
				continue;
			}
			sb_putc(&val, '\\');
		} else if (*c == '"') {
			if (!expect_quote || c < end - 1) {
				sb_free(&val);
				return fw_fail(e, 400, "bad_matcher",
					       "matcher value contains unescaped double quote: %.*s",
					       clip(raw, raw_len), raw);
			}
			expect_quote = false;
		} else {
			sb_putc(&val, *c);
		}
	}
	if (expect_quote) {
		sb_free(&val);
		return fw_fail(e, 400, "bad_matcher", "matcher value contains unescaped double quote: %.*s",
			       clip(raw, raw_len), raw);
	}
	if (val.oom) {
		sb_free(&val);
		return FW_ENOMEM;
	}
	char *nm = strndup(name, name_len);
	if (!nm) {
		sb_free(&val);
		return FW_ENOMEM;
	}
	rc = evt_matcher_init(m, type, nm, val.p, e);
	free(nm);
	sb_free(&val);
	return rc;

bad_format:
	if (!evt_utf8_valid(s, len))
		return fw_fail(e, 400, "bad_matcher", "bad matcher format: %s",
			       evt_quote(q, sizeof(q), s, len));
	return fw_fail(e, 400, "bad_matcher", "bad matcher format: %.*s", clip(s, len), s);
}

/* Parses one JSON matcher; where names it in messages ("matcher", "matchers[2]"). */
static int matcher_from_json(struct evt_matcher *m, const json_t *obj, const char *where, struct fw_error *e)
{
	evt_matcher_release(m);
	if (!json_is_object(obj))
		return fw_fail(e, 422, "invalid_type", "%s must be an object with name, value and isRegex",
			       where);
	const json_t *name = json_object_get(obj, "name"), *value = json_object_get(obj, "value");
	const json_t *is_re = json_object_get(obj, "isRegex"), *is_eq = json_object_get(obj, "isEqual");
	if (!name)
		return fw_fail(e, 422, "missing_field", "%s.name is required", where);
	if (!json_is_string(name))
		return fw_fail(e, 422, "invalid_type", "%s.name must be a string", where);
	if (!value)
		return fw_fail(e, 422, "missing_field", "%s.value is required", where);
	if (!json_is_string(value))
		return fw_fail(e, 422, "invalid_type", "%s.value must be a string", where);
	if (!is_re)
		return fw_fail(e, 422, "missing_field", "%s.isRegex is required", where);
	if (!json_is_boolean(is_re))
		return fw_fail(e, 422, "invalid_type", "%s.isRegex must be a boolean", where);
	if (is_eq && !json_is_null(is_eq) && !json_is_boolean(is_eq))
		return fw_fail(e, 422, "invalid_type", "%s.isEqual must be a boolean", where);
	if (json_string_length(name) != strlen(json_string_value(name)) ||
	    json_string_length(value) != strlen(json_string_value(value)))
		return fw_fail(e, 400, "invalid_matchers",
			       "%s: a NUL character cannot occur in a name or value", where);
	bool re = json_is_true(is_re), eq = !is_eq || json_is_null(is_eq) || json_is_true(is_eq);
	enum evt_match_type type = re ? (eq ? EVT_MATCH_REGEX : EVT_MATCH_NOT_REGEX)
				      : (eq ? EVT_MATCH_EQUAL : EVT_MATCH_NOT_EQUAL);
	return evt_matcher_init(m, type, json_string_value(name), json_string_value(value), e);
}

int evt_matcher_from_json(struct evt_matcher *m, const json_t *obj, struct fw_error *e)
{
	return matcher_from_json(m, obj, "matcher", e);
}

json_t *evt_matcher_to_json(const struct evt_matcher *m)
{
	return json_pack("{s:s, s:s, s:b, s:b}", "name", m->name, "value", m->value, "isRegex",
			 is_regex(m->type), "isEqual",
			 m->type == EVT_MATCH_EQUAL || m->type == EVT_MATCH_REGEX);
}

int evt_matcher_format(const struct evt_matcher *m, char **out)
{
	struct sbuf b = { 0 };
	sb_puts(&b, m->name);
	sb_puts(&b, evt_match_type_str(m->type));
	sb_putc(&b, '"');
	for (const char *c = m->value; *c; c++) {
		if (*c == '"' || *c == '\\')
			sb_putc(&b, '\\');
		if (*c == '\n')
			sb_puts(&b, "\\n");
		else
			sb_putc(&b, *c);
	}
	sb_putc(&b, '"');
	if (b.oom) {
		sb_free(&b);
		*out = NULL;
		return FW_ENOMEM;
	}
	*out = b.p;
	return 0;
}

bool evt_matcher_equal(const struct evt_matcher *a, const struct evt_matcher *b)
{
	return a->type == b->type && strcmp(a->name, b->name) == 0 && strcmp(a->value, b->value) == 0;
}

void evt_matchers_init(struct evt_matchers *set)
{
	set->v = NULL;
	set->n = 0;
	set->alloc = 0;
}

void evt_matchers_release(struct evt_matchers *set)
{
	for (size_t i = 0; i < set->n; i++)
		evt_matcher_release(&set->v[i]);
	free(set->v);
	evt_matchers_init(set);
}

/* Makes room for one more matcher and returns the zeroed slot (not yet counted in n), or NULL. */
static struct evt_matcher *slot(struct evt_matchers *set)
{
	if (set->n == set->alloc) {
		size_t alloc = set->alloc ? set->alloc * 2 : 4;
		struct evt_matcher *v = realloc(set->v, alloc * sizeof(*v));
		if (!v)
			return NULL;
		set->v = v;
		set->alloc = alloc;
	}
	struct evt_matcher *m = &set->v[set->n];
	*m = (struct evt_matcher)EVT_MATCHER_INIT;
	return m;
}

/* Drops the matchers appended after the first `keep`, undoing a failed multi-matcher parse. */
static void truncate_to(struct evt_matchers *set, size_t keep)
{
	while (set->n > keep)
		evt_matcher_release(&set->v[--set->n]);
}

int evt_matchers_add(struct evt_matchers *set, enum evt_match_type type, const char *name, const char *value,
		     struct fw_error *e)
{
	struct evt_matcher *m = slot(set);
	if (!m)
		return FW_ENOMEM;
	int rc = evt_matcher_init(m, type, name, value, e);
	if (rc == 0)
		set->n++;
	return rc;
}

int evt_matchers_parse(struct evt_matchers *set, const char *s, struct fw_error *e)
{
	size_t keep = set->n, len = strlen(s);
	int rc = 0;

	/* Alertmanager trims one '{' and one '}' but no blanks; accepting blanks around them is lenient. */
	while (len > 0 && go_space(*s)) {
		s++;
		len--;
	}
	while (len > 0 && go_space(s[len - 1]))
		len--;
	if (len > 0 && s[0] == '{') {
		s++;
		len--;
	}
	if (len > 0 && s[len - 1] == '}')
		len--;

	/* Split on commas outside double quotes, tracking backslash escapes (ParseMatchers' loop). */
	bool in_quotes = false, escaped = false;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len) {
			const char *tok = s + start;
			size_t tl = len - start;
			while (tl > 0 && go_space(*tok)) {
				tok++;
				tl--;
			}
			while (tl > 0 && go_space(tok[tl - 1]))
				tl--;
			if (tl == 0)
				break;
			struct evt_matcher *m = slot(set);
			if (!m) {
				rc = FW_ENOMEM;
				break;
			}
			rc = evt_matcher_parse(m, tok, tl, e);
			if (rc == 0)
				set->n++;
			break;
		}
		char c = s[i];
		if (c == ',' && !in_quotes) {
			struct evt_matcher *m = slot(set);
			if (!m) {
				rc = FW_ENOMEM;
				break;
			}
			rc = evt_matcher_parse(m, s + start, i - start, e);
			if (rc < 0)
				break;
			set->n++;
			start = i + 1;
			continue;
		}
		if (c == '"') {
			if (!escaped)
				in_quotes = !in_quotes;
			else
				escaped = false;
		} else if (c == '\\') {
			escaped = !escaped;
		} else if (c != ',') {
			escaped = false;
		}
	}
	if (rc < 0)
		truncate_to(set, keep);
	return rc;
}

int evt_matchers_from_json(struct evt_matchers *set, const json_t *arr, struct fw_error *e)
{
	size_t keep = set->n;
	char where[40];
	int rc = 0;

	if (!json_is_array(arr))
		return fw_fail(e, 422, "invalid_type", "matchers must be an array of matcher objects");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct evt_matcher *m = slot(set);
		if (!m) {
			rc = FW_ENOMEM;
			break;
		}
		snprintf(where, sizeof(where), "matchers[%zu]", i);
		rc = matcher_from_json(m, json_array_get(arr, i), where, e);
		if (rc < 0)
			break;
		set->n++;
	}
	if (rc < 0)
		truncate_to(set, keep);
	return rc;
}

json_t *evt_matchers_to_json(const struct evt_matchers *set)
{
	json_t *a = json_array();
	if (!a)
		return NULL;
	for (size_t i = 0; i < set->n; i++) {
		if (json_array_append_new(a, evt_matcher_to_json(&set->v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

bool evt_matchers_matches(const struct evt_matchers *set, const struct evt_labels *ls)
{
	for (size_t i = 0; i < set->n; i++) {
		const char *v = evt_labels_get(ls, set->v[i].name);
		if (!evt_matcher_matches(&set->v[i], v ? v : ""))
			return false;
	}
	return true;
}

int evt_matchers_validate_silence(const struct evt_matchers *set, struct fw_error *e)
{
	char q[256];
	bool all_match_empty = true;

	if (set->n == 0)
		return fw_fail(e, 400, "invalid_matchers", "at least one matcher required");
	for (size_t i = 0; i < set->n; i++) {
		const struct evt_matcher *m = &set->v[i];
		if (!evt_label_name_valid(m->name))
			return fw_fail(e, 400, "invalid_matchers",
				       "invalid label matcher %zu: invalid label name %s", i,
				       evt_quote(q, sizeof(q), m->name, strlen(m->name)));
		if (!is_regex(m->type) && !evt_utf8_valid(m->value, strlen(m->value)))
			return fw_fail(e, 400, "invalid_matchers",
				       "invalid label matcher %zu: invalid label value %s", i,
				       evt_quote(q, sizeof(q), m->value, strlen(m->value)));
		all_match_empty = all_match_empty && evt_matcher_matches(m, "");
	}
	if (all_match_empty)
		return fw_fail(e, 400, "invalid_matchers",
			       "at least one matcher must not match the empty string");
	return 0;
}

bool evt_matchers_contains(const struct evt_matchers *set, const struct evt_matcher *m)
{
	for (size_t i = 0; i < set->n; i++) {
		if (evt_matcher_equal(&set->v[i], m))
			return true;
	}
	return false;
}

bool evt_matchers_equal(const struct evt_matchers *a, const struct evt_matchers *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (!evt_matcher_equal(&a->v[i], &b->v[i]))
			return false;
	}
	return true;
}
