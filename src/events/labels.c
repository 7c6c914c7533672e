#include "events/labels.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/jsonv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FNV64_OFFSET UINT64_C(14695981039346656037)
#define FNV64_PRIME UINT64_C(1099511628211)

void evt_labels_init(struct evt_labels *ls)
{
	ls->v = NULL;
	ls->n = 0;
	ls->alloc = 0;
	ls->borrowed = false;
}

void evt_labels_release(struct evt_labels *ls)
{
	if (!ls->borrowed) {
		for (size_t i = 0; i < ls->n; i++) {
			free(ls->v[i].name);
			free(ls->v[i].value);
		}
		free(ls->v);
	}
	evt_labels_init(ls);
}

void evt_labels_borrow(struct evt_labels *ls, struct evt_label *v, size_t n)
{
	ls->v = v;
	ls->n = n;
	ls->alloc = n;
	ls->borrowed = true;
}

/* Binary search: returns the index of name, or the index where it would be inserted with *found false. */
static size_t find(const struct evt_labels *ls, const char *name, bool *found)
{
	size_t lo = 0, hi = ls->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ls->v[mid].name, name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int grow(struct evt_labels *ls, size_t need)
{
	if (need <= ls->alloc)
		return 0;
	size_t alloc = ls->alloc ? ls->alloc * 2 : 8;
	while (alloc < need)
		alloc *= 2;
	struct evt_label *v = realloc(ls->v, alloc * sizeof(*v));
	if (!v)
		return FW_ENOMEM;
	ls->v = v;
	ls->alloc = alloc;
	return 0;
}

int evt_labels_set(struct evt_labels *ls, const char *name, const char *value)
{
	if (ls->borrowed)
		return FW_EINVAL;
	bool found;
	size_t i = find(ls, name, &found);
	char *val = strdup(value);
	if (!val)
		return FW_ENOMEM;
	if (found) {
		free(ls->v[i].value);
		ls->v[i].value = val;
		return 0;
	}
	char *nm = strdup(name);
	if (!nm || grow(ls, ls->n + 1) < 0) {
		free(nm);
		free(val);
		return FW_ENOMEM;
	}
	memmove(&ls->v[i + 1], &ls->v[i], (ls->n - i) * sizeof(ls->v[0]));
	ls->v[i].name = nm;
	ls->v[i].value = val;
	ls->n++;
	return 0;
}

const char *evt_labels_get(const struct evt_labels *ls, const char *name)
{
	bool found;
	size_t i = find(ls, name, &found);
	return found ? ls->v[i].value : NULL;
}

/* Appends a pair known to sort after every present name (so no search or move is needed). */
static int append_sorted(struct evt_labels *ls, const char *name, const char *value)
{
	if (grow(ls, ls->n + 1) < 0)
		return FW_ENOMEM;
	char *nm = strdup(name), *val = strdup(value);
	if (!nm || !val) {
		free(nm);
		free(val);
		return FW_ENOMEM;
	}
	ls->v[ls->n].name = nm;
	ls->v[ls->n].value = val;
	ls->n++;
	return 0;
}

int evt_labels_copy(struct evt_labels *dst, const struct evt_labels *src)
{
	evt_labels_release(dst);
	for (size_t i = 0; i < src->n; i++) {
		if (append_sorted(dst, src->v[i].name, src->v[i].value) < 0) {
			evt_labels_release(dst);
			return FW_ENOMEM;
		}
	}
	return 0;
}

bool evt_labels_equal(const struct evt_labels *a, const struct evt_labels *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->v[i].name, b->v[i].name) != 0 || strcmp(a->v[i].value, b->v[i].value) != 0)
			return false;
	}
	return true;
}

bool evt_label_name_valid(const char *name)
{
	const char *p = name;
	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
		return false;
	for (p++; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_'))
			return false;
	}
	return true;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when the bytes there are not one. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	if (len == 0)
		return 0;
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	}
	return n;
}

bool evt_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	while (len >= 8) { /* ASCII runs eight bytes at a time */
		uint64_t w;
		memcpy(&w, p, 8);
		if (w & UINT64_C(0x8080808080808080))
			break;
		p += 8;
		len -= 8;
	}
	while (len > 0) {
		size_t n = utf8_seq(p, len);
		if (n == 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/* Writes the quoted form of the character at s into piece (at most 5 bytes, NUL-terminated) and
 * returns how many input bytes it consumed. */
static size_t quote_piece(const unsigned char *s, size_t len, char piece[8])
{
	unsigned char c = s[0];
	switch (c) {
	case '"': memcpy(piece, "\\\"", 3); return 1;
	case '\\': memcpy(piece, "\\\\", 3); return 1;
	case '\n': memcpy(piece, "\\n", 3); return 1;
	case '\t': memcpy(piece, "\\t", 3); return 1;
	case '\r': memcpy(piece, "\\r", 3); return 1;
	default: break;
	}
	if (c < 0x20 || c == 0x7F) {
		snprintf(piece, 8, "\\x%02x", c);
		return 1;
	}
	size_t n = utf8_seq(s, len);
	if (n == 0) {
		snprintf(piece, 8, "\\x%02x", c);
		return 1;
	}
	memcpy(piece, s, n);
	piece[n] = '\0';
	return n;
}

char *evt_quote(char *buf, size_t size, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	char piece[8];
	if (size == 0)
		return buf;
	if (size < 6) { /* no room for a quoted anything: "..." */
		buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	while (len > 0) {
		size_t used = quote_piece(p, len, piece);
		size_t pl = strlen(piece);
		/* Keep room for the closing quote and NUL, or for `..."` and NUL when more follows. */
		size_t reserve = used < len ? 5 : 2;
		if (o + pl + reserve > size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, piece, pl);
		o += pl;
		p += used;
		len -= used;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* Appends the untruncated quoted form of s (without the quotes) to the growable string *out
 * (length *len, capacity *cap), keeping it NUL-terminated. */
static int quote_append(char **out, size_t *len, size_t *cap, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t rest = strlen(s);
	char piece[8];
	while (rest > 0) {
		size_t used = quote_piece(p, rest, piece);
		size_t pl = strlen(piece);
		if (*len + pl + 1 > *cap) {
			size_t ncap = *cap * 2 + pl + 16;
			char *n = realloc(*out, ncap);
			if (!n)
				return FW_ENOMEM;
			*out = n;
			*cap = ncap;
		}
		memcpy(*out + *len, piece, pl + 1);
		*len += pl;
		p += used;
		rest -= used;
	}
	return 0;
}

static int str_append(char **out, size_t *len, size_t *cap, const char *s)
{
	size_t sl = strlen(s);
	if (*len + sl + 1 > *cap) {
		size_t ncap = *cap * 2 + sl + 16;
		char *n = realloc(*out, ncap);
		if (!n)
			return FW_ENOMEM;
		*out = n;
		*cap = ncap;
	}
	memcpy(*out + *len, s, sl + 1);
	*len += sl;
	return 0;
}

int evt_labels_format(const struct evt_labels *ls, char **out)
{
	char *s = NULL;
	size_t len = 0, cap = 0;
	int rc = str_append(&s, &len, &cap, "{");
	for (size_t i = 0; rc == 0 && i < ls->n; i++) {
		if (i > 0)
			rc = str_append(&s, &len, &cap, ", ");
		if (rc == 0)
			rc = str_append(&s, &len, &cap, ls->v[i].name);
		if (rc == 0)
			rc = str_append(&s, &len, &cap, "=\"");
		if (rc == 0)
			rc = quote_append(&s, &len, &cap, ls->v[i].value);
		if (rc == 0)
			rc = str_append(&s, &len, &cap, "\"");
	}
	if (rc == 0)
		rc = str_append(&s, &len, &cap, "}");
	if (rc < 0) {
		free(s);
		*out = NULL;
		return rc;
	}
	*out = s;
	return 0;
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct evt_label *)a)->name, ((const struct evt_label *)b)->name);
}

int evt_labels_from_json(struct evt_labels *out, const json_t *obj, unsigned flags, struct fw_error *e)
{
	bool ann = flags & EVT_LABELS_ANNOTATIONS;
	const char *field = ann ? "annotations" : "labels";
	const char *code = ann ? "invalid_annotations" : "invalid_labels";
	const char *what = ann ? "invalid annotations" : "invalid label set";
	char q[256];
	int rc = 0;

	evt_labels_release(out);
	if (!json_is_object(obj))
		return fw_fail(e, 422, "invalid_type", "%s must be an object of strings, got %s", field,
			       obj ? jv_kind(obj) : "nothing");

	/* Shape errors first, as the schema layer would report them before any label rule. */
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)obj, key, val) {
		if (!json_is_string(val))
			return fw_fail(e, 422, "invalid_type", "%s: the value of %s must be a string, got %s",
				       field, evt_quote(q, sizeof(q), key, strlen(key)), jv_kind(val));
	}

	/* jansson keys are unique, so appending then sorting cannot create duplicates. */
	void *it;
	for (it = json_object_iter((json_t *)obj); it; it = json_object_iter_next((json_t *)obj, it)) {
		val = json_object_iter_value(it);
		key = json_object_iter_key(it);
		size_t klen = json_object_iter_key_len(it);
		size_t vlen = json_string_length(val);
		const char *s = json_string_value(val);
		if ((flags & EVT_LABELS_DROP_EMPTY) && vlen == 0)
			continue;
		if (klen != strlen(key) || !evt_label_name_valid(key)) {
			rc = fw_fail(e, 400, code, "%s: invalid name %s", what,
				     evt_quote(q, sizeof(q), key, klen));
			goto out;
		}
		if (vlen != strlen(s) || !evt_utf8_valid(s, vlen)) {
			rc = fw_fail(e, 400, code, "%s: invalid value %s", what,
				     evt_quote(q, sizeof(q), s, vlen));
			goto out;
		}
		if (grow(out, out->n + 1) < 0) {
			rc = FW_ENOMEM;
			goto out;
		}
		char *nm = strdup(key), *vv = strdup(s);
		if (!nm || !vv) {
			free(nm);
			free(vv);
			rc = FW_ENOMEM;
			goto out;
		}
		out->v[out->n].name = nm;
		out->v[out->n].value = vv;
		out->n++;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(out->v[0]), cmp_label);
	if ((flags & EVT_LABELS_REQUIRE_ONE) && out->n == 0)
		rc = fw_fail(e, 400, code, "at least one label pair required");
out:
	if (rc < 0)
		evt_labels_release(out);
	return rc;
}

json_t *evt_labels_to_json(const struct evt_labels *ls)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	for (size_t i = 0; i < ls->n; i++) {
		if (json_object_set_new(o, ls->v[i].name, json_string(ls->v[i].value)) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static uint64_t fnv_bytes(uint64_t h, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= FNV64_PRIME;
	}
	return h;
}

static uint64_t fnv_sep(uint64_t h)
{
	h ^= 0xFF;
	return h * FNV64_PRIME;
}

uint64_t evt_labels_fingerprint(const struct evt_labels *ls)
{
	uint64_t h = FNV64_OFFSET;
	for (size_t i = 0; i < ls->n; i++) {
		h = fnv_sep(fnv_bytes(h, ls->v[i].name));
		h = fnv_sep(fnv_bytes(h, ls->v[i].value));
	}
	return h;
}

void evt_fingerprint_format(uint64_t fp, char out[EVT_FINGERPRINT_LEN + 1])
{
	snprintf(out, EVT_FINGERPRINT_LEN + 1, "%016" PRIx64, fp);
}

int evt_fingerprint_parse(const char *s, uint64_t *fp)
{
	uint64_t v = 0;
	size_t i;
	for (i = 0; i < EVT_FINGERPRINT_LEN; i++) {
		int d = hex_digit((unsigned char)s[i]);
		if (d < 0)
			return FW_EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	if (s[i] != '\0')
		return FW_EINVAL;
	*fp = v;
	return 0;
}

void evt_group_by_release(struct evt_group_by *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->names[i]);
	free(g->names);
	g->names = NULL;
	g->n = 0;
	g->all = false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int evt_group_by_parse(struct evt_group_by *g, const char *const *names, size_t n, struct fw_error *e)
{
	char q[256];
	int rc = 0;

	evt_group_by_release(g);
	/* The checks and their order are Alertmanager's (config.Route.UnmarshalYAML). */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], "...") == 0)
			g->all = true;
		else if (!evt_label_name_valid(names[i]))
			return fw_fail(e, 400, "invalid_group_by", "invalid label name %s in group_by list",
				       evt_quote(q, sizeof(q), names[i], strlen(names[i])));
	}
	if (g->all) {
		if (n > 1) {
			g->all = false;
			return fw_fail(
				e, 400, "invalid_group_by",
				"cannot have wildcard group_by (`...`) and other labels at the same time");
		}
		return 0;
	}
	if (n == 0)
		return 0;
	g->names = calloc(n, sizeof(*g->names));
	if (!g->names)
		return FW_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		g->names[i] = strdup(names[i]);
		if (!g->names[i]) {
			rc = FW_ENOMEM;
			goto out;
		}
		g->n++;
	}
	qsort(g->names, g->n, sizeof(*g->names), cmp_str);
	for (size_t i = 1; i < g->n; i++) {
		if (strcmp(g->names[i - 1], g->names[i]) == 0) {
			rc = fw_fail(e, 400, "invalid_group_by", "duplicated label %s in group_by",
				     evt_quote(q, sizeof(q), g->names[i], strlen(g->names[i])));
			goto out;
		}
	}
out:
	if (rc < 0)
		evt_group_by_release(g);
	return rc;
}

int evt_group_by_from_json(struct evt_group_by *g, const json_t *arr, struct fw_error *e)
{
	evt_group_by_release(g);
	if (!json_is_array(arr))
		return fw_fail(e, 422, "invalid_type", "group_by must be an array of label names, got %s",
			       arr ? jv_kind(arr) : "nothing");
	size_t n = json_array_size(arr);
	const char **names = calloc(n ? n : 1, sizeof(*names));
	if (!names)
		return FW_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(arr, i);
		if (!json_is_string(v)) {
			free(names);
			return fw_fail(e, 422, "invalid_type", "group_by[%zu] must be a string, got %s", i,
				       jv_kind(v));
		}
		names[i] = json_string_value(v);
	}
	int rc = evt_group_by_parse(g, names, n, e);
	free(names);
	return rc;
}

int evt_labels_select(const struct evt_labels *ls, const struct evt_group_by *g, struct evt_labels *out)
{
	if (g->all)
		return evt_labels_copy(out, ls);
	evt_labels_release(out);
	/* Both lists are sorted by name: merge. */
	size_t i = 0, j = 0;
	while (i < ls->n && j < g->n) {
		int c = strcmp(ls->v[i].name, g->names[j]);
		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			if (append_sorted(out, ls->v[i].name, ls->v[i].value) < 0) {
				evt_labels_release(out);
				return FW_ENOMEM;
			}
			i++;
			j++;
		}
	}
	return 0;
}

int evt_labels_group_key(const struct evt_labels *ls, const struct evt_group_by *g, char **key,
			 uint64_t *hash)
{
	struct evt_labels sel = EVT_LABELS_INIT;
	int rc = evt_labels_select(ls, g, &sel);
	if (rc < 0)
		return rc;
	if (key)
		rc = evt_labels_format(&sel, key);
	if (rc == 0 && hash)
		*hash = evt_labels_fingerprint(&sel);
	evt_labels_release(&sel);
	return rc;
}
