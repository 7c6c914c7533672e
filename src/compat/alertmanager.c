/* Prometheus Alertmanager API v2, as 0.25 answers it (PROTOCOLS.md section 1): what Prometheus posts
 * and what amtool queries. Handler errors are JSON strings, framework (schema) errors are
 * {"code","message"}; every required field of a response is always present, because amtool
 * dereferences them. */
#include "api/events.h"
#include "compat/evcompat.h"
#include "events/engine.h"
#include "http/auth.h"
#include "http/req.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/timeutil.h"
#include "version.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AM_VERSION "0.25.0"
#define RESOLVE_TIMEOUT_MS (5 * 60000)
#define MAX_ALERTS 10000

static int64_t started_at;

static int am_string_error(struct req *r, int status, const char *msg)
{
	json_t *s = json_string(msg);
	char *t = json_dumps(s, JSON_ENCODE_ANY);
	json_decref(s);
	struct buf b = BUF_INIT(1 << 16);
	buf_printf(&b, "%s\n", t);
	req_raw(r, status, "application/json", b.data, b.len);
	buf_release(&b);
	free(t);
	return FW_EINVAL;
}

static int am_framework_error(struct req *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int am_framework_error(struct req *r, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *o = json_pack("{s:i,s:s}", "code", code, "message", msg);
	char *t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	req_raw(r, code >= 600 ? 422 : code, "application/json", t, strlen(t));
	free(t);
	return FW_EINVAL;
}

static const char *json_type_name(const json_t *v)
{
	if (!v)
		return "null";
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER:
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "bool";
	default: return "null";
	}
}

/* go-openapi refuses bodies it has no consumer for; a missing Content-Type reads as JSON. */
static int content_type_ok(struct req *r)
{
	const char *ct = req_hdr(r, "Content-Type");
	if (!ct || !*ct || !strncasecmp(ct, "application/json", 16))
		return 0;
	char mt[128];
	snprintf(mt, sizeof(mt), "%.*s", (int)strcspn(ct, ";"), ct);
	return am_framework_error(r, 415, "unsupported media type \"%s\", only [application/json] are allowed", mt);
}

static int am_empty(struct req *r, int status)
{
	return req_raw(r, status, "application/json", "", 0);
}

static void fmt_time(int64_t ms, char out[32])
{
	if (ms <= 0)
		snprintf(out, 32, "0001-01-01T00:00:00.000Z");
	else
		time_fmt_ms(ms, out, 32);
}

int am_healthy(struct req *r)
{
	return req_raw(r, 200, "text/plain; charset=utf-8", "OK", 2);
}

int am_ready(struct req *r)
{
	return req_raw(r, 200, "text/plain; charset=utf-8", "OK", 2);
}

int am_reload(struct req *r)
{
	int rc = evt_api_auth(r);
	if (rc)
		return rc;
	if (!auth_global(r, PERM_ADMIN))
		return req_fail(r, 403, "forbidden", "reloading rules needs the admin role on every account");
	evt_engine_reload(r->srv);
	return am_empty(r, 200);
}

/* ---- POST /api/v2/alerts ---- */

static int parse_time(const json_t *v, const char *what, int64_t *ms, struct req *r)
{
	*ms = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return am_framework_error(r, 400,
					  "parsing %s body from \"\" failed, because json: cannot unmarshal %s into Go value "
					  "of type string",
					  what, json_type_name(v));
	const char *s = json_string_value(v);
	if (!*s || (!strncmp(s, "0001-01-01T00:00:00", 19)))
		return 0; /* Go's zero time */
	if (time_parse_rfc3339(s, ms))
		return am_framework_error(r, 400,
					  "parsing %s body from \"\" failed, because parsing time \"%s\" as "
					  "\"2006-01-02T15:04:05Z07:00\": cannot parse \"%s\" as \"2006\"",
					  what, s, s);
	return 0;
}

/* Parses a request body the way Alertmanager's framework does, with its error wording: 602 when
 * the body is missing, 400 when it is not JSON or not of the expected type (gotype names the Go
 * model in the message). *out is a new reference on success. */
static int am_parse_body(struct req *r, const char *what, json_type want, const char *gotype, json_t **out)
{
	json_error_t je;
	*out = NULL;
	if (!r->body.len)
		return am_framework_error(r, 602, "%s in body is required", what);
	json_t *j = json_loadb(r->body.data, r->body.len, JSON_DECODE_ANY, &je);
	if (!j)
		return am_framework_error(r, 400, "parsing %s body from \"\" failed, because %s", what, je.text);
	if (json_typeof(j) != want) {
		int rc = am_framework_error(r, 400,
					    "parsing %s body from \"\" failed, because json: cannot unmarshal %s into "
					    "Go value of type %s",
					    what, json_type_name(j), gotype);
		json_decref(j);
		return rc;
	}
	*out = j;
	return 0;
}

static int am_alerts_post_slow(struct req *r)
{
	int rc;
	json_t *body;
	if ((rc = am_parse_body(r, "alerts", JSON_ARRAY, "models.PostableAlerts", &body)))
		return rc;
	size_t n = json_array_size(body);
	if (n > MAX_ALERTS) {
		json_decref(body);
		return req_fail(r, 413, "too_many_alerts", "a request may carry at most %d alerts; got %zu", MAX_ALERTS, n);
	}
	/* Schema checks first: the framework rejects the whole request before the handler runs. */
	static const char *const known[] = { "labels", "annotations", "startsAt", "endsAt", "generatorURL", NULL };
	for (size_t i = 0; i < n; i++) {
		json_t *a = json_array_get(body, i);
		if (!json_is_object(a)) {
			rc = am_framework_error(r, 400,
						  "parsing alerts body from \"\" failed, because json: cannot unmarshal %s into "
						  "Go value of type models.PostableAlert",
						  json_type_name(a));
			json_decref(body);
			return rc;
		}
		json_t *l = json_object_get(a, "labels");
		if (!l || json_is_null(l)) {
			json_decref(body);
			return am_framework_error(r, 602, "%zu.labels in body is required", i);
		}
		const char *k;
		json_t *v;
		for (int pass = 0; pass < 2; pass++) {
			json_t *m = json_object_get(a, pass ? "annotations" : "labels");
			if (!m || json_is_null(m))
				continue;
			if (!json_is_object(m)) {
				rc = am_framework_error(r, 400,
							  "parsing alerts body from \"\" failed, because json: cannot "
							  "unmarshal %s into Go struct field %s of type models.LabelSet",
							  json_type_name(m), pass ? "PostableAlert.annotations" : "Alert.labels");
				json_decref(body);
				return rc;
			}
			json_object_foreach(m, k, v) {
				if (!json_is_string(v)) {
					rc = am_framework_error(r, 400,
								  "parsing alerts body from \"\" failed, because json: cannot "
								  "unmarshal %s into Go struct field %s of type string",
								  json_type_name(v),
								  pass ? "PostableAlert.annotations" : "Alert.labels");
					json_decref(body);
					return rc;
				}
			}
		}
		json_object_foreach(a, k, v) {
			(void)v;
			bool ok = false;
			for (const char *const *q = known; *q; q++)
				ok |= !strcmp(*q, k);
			(void)ok; /* unknown fields are ignored, as go-openapi does */
		}
	}
	struct evt_event *ev = calloc(n + 1, sizeof(*ev));
	size_t nv = 0;
	struct buf errs = BUF_INIT(1 << 16);
	int64_t now = time_now_ms();
	for (size_t i = 0; i < n; i++) {
		json_t *a = json_array_get(body, i);
		struct evt_event *e = &ev[nv];
		int64_t st, en;
		if ((rc = parse_time(json_object_get(a, "startsAt"), "alerts", &st, r)) ||
		    (rc = parse_time(json_object_get(a, "endsAt"), "alerts", &en, r)))
			goto out;
		struct fw_error fe;
		const char *msg = NULL;
		if (!st)
			st = en ? en : now;
		if (!en) {
			e->timeout = true;
			en = now + RESOLVE_TIMEOUT_MS;
		}
		if (en < st)
			msg = "start time must be before end time";
		else if (evt_labels_from_json(&e->labels, json_object_get(a, "labels"), EVT_LABELS_ALERT, &fe))
			msg = fe.message;
		else {
			struct evt_labels an = EVT_LABELS_INIT;
			json_t *ao = json_object_get(a, "annotations");
			if (json_is_object(ao) && evt_labels_from_json(&an, ao, EVT_LABELS_ANNOTATIONS, &fe))
				msg = fe.message;
			evt_labels_release(&an);
			if (!msg && evt_api_event_account(r, evt_labels_get(&e->labels, "account"), e->account, &fe))
				msg = fe.message;
		}
		if (msg) {
			if (errs.len)
				buf_puts(&errs, "; ");
			buf_puts(&errs, msg);
			evt_labels_release(&e->labels);
			memset(e, 0, sizeof(*e));
			continue;
		}
		e->starts_at = st;
		e->ends_at = en;
		e->source = "prometheus";
		e->annotations = json_is_object(json_object_get(a, "annotations")) ? json_object_get(a, "annotations") : NULL;
		nv++;
	}
	/* Best effort, like Alertmanager: the valid alerts are stored even when others failed. */
	if (nv && (rc = evt_ingest(ev, nv, r->auth->principal, NULL))) {
		am_string_error(r, 500, "failed to store the alerts");
		goto out;
	}
	rc = 0;
	if (errs.len)
		rc = am_string_error(r, 400, buf_str(&errs));
	else
		am_empty(r, 200);
out:
	for (size_t i = 0; i <= nv && i < n; i++)
		evt_labels_release(&ev[i].labels);
	free(ev);
	buf_release(&errs);
	json_decref(body);
	return rc;
}

/* ---- fast path for POST /api/v2/alerts ----
 * Prometheus posts batches of up to 64 alerts many times a second. Building a jansson tree for
 * each costs more than everything else the request does, so well-formed batches are read by this
 * small parser straight into events. Anything it does not expect (invalid input, unusual escapes,
 * a label that fails validation) makes it give up, and the request takes the jansson path, which
 * owns every error message. */

struct fp {
	const char *p, *end;
	/* Decoded strings and annotation texts, NUL-terminated, which the events' labels borrow; sized
	 * so that a well-formed body always fits (fp_reserve gives up otherwise). */
	char *arena;
	size_t used, cap;
	size_t outlen;	       /* length of the string fp_str() decoded last */
	struct evt_label *lab; /* label pairs of every alert, each alert's run sorted by name */
	size_t nlab, labcap;
	/* The last startsAt/endsAt text and its value: a batch usually repeats a few timestamps. */
	const char *tsraw;
	size_t tslen;
	int64_t tsval;
};

static void fp_ws(struct fp *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t'))
		f->p++;
}

static inline bool fp_lit(struct fp *f, char c)
{
	if (f->p < f->end && *f->p == c) { /* compact JSON, as Prometheus sends it */
		f->p++;
		return true;
	}
	fp_ws(f);
	if (f->p < f->end && *f->p == c) {
		f->p++;
		return true;
	}
	return false;
}

/* Room for n more bytes in the arena, or NULL. */
static char *fp_reserve(struct fp *f, size_t n)
{
	return f->cap - f->used >= n ? f->arena + f->used : NULL;
}

static bool fp_plain(unsigned char c)
{
	return c != '"' && c != '\\' && c >= 0x20;
}

/* One escape sequence at f->p (a backslash): appends its decoded bytes to o (room for 3) and returns
 * how many, or -1 for anything jansson should judge (unknown escapes, surrogates, NUL). */
static int fp_escape(struct fp *f, char *o)
{
	if (f->p + 1 >= f->end)
		return -1;
	char d;
	switch (f->p[1]) {
	case '"': d = '"'; break;
	case '\\': d = '\\'; break;
	case '/': d = '/'; break;
	case 'n': d = '\n'; break;
	case 't': d = '\t'; break;
	case 'r': d = '\r'; break;
	case 'b': d = '\b'; break;
	case 'f': d = '\f'; break;
	case 'u': {
		if (f->p + 6 > f->end)
			return -1;
		unsigned v = 0;
		for (int i = 2; i < 6; i++) {
			int h = hex_digit((unsigned char)f->p[i]);
			if (h < 0)
				return -1; /* not an escape: jansson names the error */
			v = v * 16 + (unsigned)h;
		}
		if (v == 0 || (v >= 0xd800 && v <= 0xdfff))
			return -1; /* surrogates and NUL: leave them to jansson */
		f->p += 6;
		if (v < 0x80) {
			o[0] = (char)v;
			return 1;
		}
		if (v < 0x800) {
			o[0] = (char)(0xc0 | (v >> 6));
			o[1] = (char)(0x80 | (v & 0x3f));
			return 2;
		}
		o[0] = (char)(0xe0 | (v >> 12));
		o[1] = (char)(0x80 | ((v >> 6) & 0x3f));
		o[2] = (char)(0x80 | (v & 0x3f));
		return 3;
	}
	default: return -1;
	}
	f->p += 2;
	o[0] = d;
	return 1;
}

/* The first byte at or after q that ends a run of plain string bytes ('"', '\\' or a control
 * character), or end. Eight bytes at a time: a byte b of word x is flagged when b == '"', b == '\\'
 * or b < 0x20 by the usual "has zero byte" / "has byte less than" word tricks; a flag can spill
 * into higher bytes, never lower ones, so the lowest flag is exact. */
static const char *fp_scan(const char *q, const char *end)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
	while (end - q >= 8) {
		uint64_t x;
		memcpy(&x, q, 8);
		uint64_t a = x ^ (ones * '"'), b = x ^ (ones * '\\');
		uint64_t t = (((a - ones) & ~a) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x)) & high;
		if (t)
			return q + (__builtin_ctzll(t) >> 3);
		q += 8;
	}
#endif
	while (q < end && fp_plain((unsigned char)*q))
		q++;
	return q;
}

/* A JSON string: *raw and *rawlen span its escaped content; when out is given, *out receives the
 * decoded bytes, NUL-terminated, in the arena. A decoded string is never longer than its escaped
 * form, so it fits in the room its quotes and escapes took in the body. */
static bool fp_str(struct fp *f, const char **raw, size_t *rawlen, char **out)
{
	if (!fp_lit(f, '"'))
		return false;
	const char *s = f->p;
	char *o = out ? fp_reserve(f, (size_t)(f->end - f->p) + 1) : NULL;
	size_t ol = 0;
	if (out && !o)
		return false;
	for (;;) {
		const char *q = fp_scan(f->p, f->end);
		if (o)
			memcpy(o + ol, f->p, (size_t)(q - f->p));
		ol += (size_t)(q - f->p);
		f->p = q;
		if (q >= f->end || (unsigned char)*q < 0x20)
			return false;
		if (*q == '"')
			break;
		char tmp[3];
		int k = fp_escape(f, o ? o + ol : tmp);
		if (k < 0)
			return false;
		ol += (size_t)k;
	}
	*raw = s;
	*rawlen = (size_t)(f->p - s);
	f->p++;
	if (o) {
		o[ol] = '\0';
		*out = o;
		f->used += ol + 1;
		f->outlen = ol;
	}
	return true;
}

struct kv {
	const char *k, *v;
	size_t kl, vl;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	size_t n = x->kl < y->kl ? x->kl : y->kl;
	int c = memcmp(x->k, y->k, n);
	return c ? c : (x->kl > y->kl) - (x->kl < y->kl);
}

/* Inserts (name, value) into the alert's run lab[0..*n) in name order. A repeated name makes the fast
 * path give up: jansson's path decides what a duplicate key means. */
static bool fp_label_add(struct fp *f, struct evt_label *lab, size_t *n, char *name, char *value)
{
	if (f->nlab == f->labcap)
		return false;
	size_t i = *n;
	while (i > 0) {
		int c = strcmp(lab[i - 1].name, name);
		if (c == 0)
			return false;
		if (c < 0)
			break;
		lab[i] = lab[i - 1];
		i--;
	}
	lab[i] = (struct evt_label){ name, value };
	(*n)++;
	f->nlab++;
	return true;
}

/* The annotations as compact JSON text with sorted keys, as json_dumps(JSON_COMPACT | JSON_SORT_KEYS)
 * writes them for the jansson path, in the arena. NULL when there are none or on a duplicate key. */
static const char *fp_annot_text(struct fp *f, struct kv *kvs, size_t n, bool *ok)
{
	*ok = true;
	if (!n)
		return NULL;
	qsort(kvs, n, sizeof(kvs[0]), kv_cmp);
	size_t need = 3;
	for (size_t i = 0; i < n; i++) {
		if (i && kv_cmp(&kvs[i - 1], &kvs[i]) == 0) {
			*ok = false; /* duplicate key: let jansson decide */
			return NULL;
		}
		need += kvs[i].kl + kvs[i].vl + 6;
	}
	char *o = fp_reserve(f, need), *w = o;
	if (!o) {
		*ok = false;
		return NULL;
	}
	*w++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			*w++ = ',';
		*w++ = '"';
		memcpy(w, kvs[i].k, kvs[i].kl);
		w += kvs[i].kl;
		memcpy(w, "\":\"", 3);
		w += 3;
		memcpy(w, kvs[i].v, kvs[i].vl);
		w += kvs[i].vl;
		*w++ = '"';
	}
	*w++ = '}';
	*w++ = '\0';
	f->used += (size_t)(w - o);
	return o;
}

/* Reads a "labels" or "annotations" object. Labels go into the alert's sorted run (empty values are
 * dropped, as Alertmanager does); annotations into *annot as JSON text. */
static bool fp_pairs(struct fp *f, bool labels, struct evt_event *e, const char **annot)
{
	struct kv kvs[64];
	size_t nkv = 0, nl = 0;
	struct evt_label *lab = f->lab + f->nlab;
	if (labels && e->labels.n)
		return false; /* "labels" twice */
	if (!fp_lit(f, '{'))
		return false;
	if (!fp_lit(f, '}')) {
		do {
			const char *kr, *vr;
			size_t klen, vlen;
			char *name, *val;
			if (!fp_str(f, &kr, &klen, &name) || !fp_lit(f, ':') || !evt_label_name_valid(name))
				return false;
			if (labels) {
				if (!fp_str(f, &vr, &vlen, &val))
					return false;
				if (!val[0])
					continue;
				if (!evt_utf8_valid(val, f->outlen) || !fp_label_add(f, lab, &nl, name, val))
					return false;
			} else {
				if (!fp_str(f, &vr, &vlen, NULL) || nkv == 64 || memchr(kr, '\\', klen) ||
				    !evt_utf8_valid(vr, vlen))
					return false;
				kvs[nkv++] = (struct kv){ kr, vr, klen, vlen };
			}
		} while (fp_lit(f, ','));
		if (!fp_lit(f, '}'))
			return false;
	}
	if (labels) {
		evt_labels_borrow(&e->labels, lab, nl);
		return true;
	}
	bool ok;
	*annot = fp_annot_text(f, kvs, nkv, &ok);
	return ok;
}

/* Reads one alert object into e. */
static bool fp_alert(struct fp *f, struct evt_event *e, int64_t now)
{
	const char *raw;
	size_t rl;
	int64_t st = 0, en = 0;
	bool have_labels = false;
	if (!fp_lit(f, '{'))
		return false;
	if (fp_lit(f, '}'))
		return false;
	do {
		/* Keys compare as written: one with an escape in it takes the jansson path. */
		const char *key;
		char *val;
		size_t kl;
		if (!fp_str(f, &key, &kl, NULL) || !fp_lit(f, ':'))
			return false;
#define IS_KEY(lit) (kl == sizeof(lit) - 1 && !memcmp(key, lit, kl))
		if (IS_KEY("labels") || IS_KEY("annotations")) {
			bool labels = key[0] == 'l';
			if (!fp_pairs(f, labels, e, &e->annot_json))
				return false;
			have_labels |= labels;
		} else if (IS_KEY("startsAt") || IS_KEY("endsAt")) {
			int64_t *t = key[0] == 's' ? &st : &en;
			if (!fp_str(f, &raw, &rl, &val))
				return false;
			if (f->tsraw && rl == f->tslen && !memcmp(raw, f->tsraw, rl)) {
				*t = f->tsval;
			} else {
				if (val[0] && strncmp(val, "0001-01-01T00:00:00", 19) && time_parse_rfc3339(val, t))
					return false;
				f->tsraw = raw;
				f->tslen = rl;
				f->tsval = *t;
			}
		} else if (IS_KEY("generatorURL")) {
			if (!fp_str(f, &raw, &rl, NULL))
				return false;
		} else {
			return false;
		}
#undef IS_KEY
	} while (fp_lit(f, ','));
	if (!fp_lit(f, '}') || !have_labels || !e->labels.n)
		return false;
	if (!st)
		st = en ? en : now;
	if (!en) {
		e->timeout = true;
		en = now + RESOLVE_TIMEOUT_MS;
	}
	if (en < st)
		return false;
	e->starts_at = st;
	e->ends_at = en;
	e->source = "prometheus";
	return true;
}

/* Parses the body into ev (cap entries): the number of events, or -1 to take the jansson path. The
 * events' labels and annotations point into f's arena. */
static int fast_alerts(struct req *r, struct fp *f, struct evt_event *ev, size_t cap)
{
	int64_t now = time_now_ms();
	size_t n = 0;
	if (!r->body.len || !fp_lit(f, '['))
		return -1;
	if (fp_lit(f, ']'))
		return 0;
	do {
		if (n == cap)
			return -1;
		memset(&ev[n], 0, sizeof(ev[n]));
		if (!fp_alert(f, &ev[n], now))
			return -1;
		struct fw_error fe;
		if (evt_api_event_account(r, evt_labels_get(&ev[n].labels, "account"), ev[n].account, &fe))
			return -1;
		n++;
	} while (fp_lit(f, ','));
	if (!fp_lit(f, ']'))
		return -1;
	fp_ws(f);
	return f->p == f->end ? (int)n : -1;
}

int am_alerts_post(struct req *r)
{
	int rc = evt_api_auth(r);
	if (rc)
		return rc;
	if ((rc = content_type_ok(r)))
		return rc;
	/* Room for every string decoded (never longer than the body) plus the annotation texts (never
	 * longer than their objects), and a label pair per 7 bytes of body ("a":"b" and a separator). */
	struct fp f = { .p = r->body.data, .end = r->body.data + r->body.len };
	f.cap = 2 * r->body.len + 64;
	f.labcap = r->body.len / 7 + 1;
	f.arena = malloc(f.cap);
	f.lab = malloc(f.labcap * sizeof(*f.lab));
	struct evt_event ev[128];
	int n = f.arena && f.lab ? fast_alerts(r, &f, ev, 128) : -1;
	if (n > 0)
		rc = evt_ingest(ev, (size_t)n, r->auth->principal, NULL);
	free(f.arena); /* the events' borrowed labels die with it: nothing else to release */
	free(f.lab);
	if (n >= 0) {
		if (rc)
			return am_string_error(r, 500, "failed to store the alerts");
		return am_empty(r, 200);
	}
	return am_alerts_post_slow(r);
}

/* ---- query parameters ---- */

struct args {
	const char *name;
	const char *vals[64];
	int n;
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct args *a = cls;
	if (key && !strcmp(key, a->name) && a->n < 64)
		a->vals[a->n++] = value ? value : "";
	return MHD_YES;
}

static int bool_arg(struct req *r, const char *name, bool dflt, bool *out)
{
	const char *v = req_arg(r, name);
	*out = dflt;
	if (!v)
		return 0;
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "y") || !strcmp(v, "on") ||
	    !strcmp(v, "t") || !strcmp(v, "True") || !strcmp(v, "TRUE")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "n") || !strcmp(v, "off") ||
	    !strcmp(v, "f") || !strcmp(v, "False") || !strcmp(v, "FALSE") || !*v) {
		*out = false;
		return 0;
	}
	return 0; /* Alertmanager 0.25 ignores a value it cannot read and keeps the default */
}

static int filters(struct req *r, struct evt_matchers *ms)
{
	struct args a = { .name = "filter" };
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect, &a);
	for (int i = 0; i < a.n; i++) {
		struct fw_error e;
		struct evt_matcher m = EVT_MATCHER_INIT;
		if (evt_matcher_parse(&m, a.vals[i], strlen(a.vals[i]), &e))
			return am_string_error(r, 400, e.message);
		int rc = evt_matchers_add(ms, m.type, m.name, m.value, &e);
		evt_matcher_release(&m);
		if (rc)
			return am_string_error(r, 400, e.message);
	}
	return 0;
}

static int receiver_re(struct req *r, struct evt_matcher *m, bool *has)
{
	const char *re = req_arg(r, "receiver");
	*has = false;
	if (!re || !*re)
		return 0;
	struct fw_error e;
	if (evt_matcher_init(m, EVT_MATCH_REGEX, "receiver", re, &e)) {
		char msg[600];
		snprintf(msg, sizeof(msg), "failed to parse receiver param: %s", e.message);
		return am_string_error(r, 400, msg);
	}
	*has = true;
	return 0;
}

static json_t *gettable_alert(const struct evt_alarm_view *v)
{
	char f[EVT_FINGERPRINT_LEN + 1], st[32], en[32], up[32];
	evt_fingerprint_format(v->fp, f);
	fmt_time(v->starts_at, st);
	fmt_time(v->ends_at, en);
	fmt_time(v->updated_at, up);
	bool suppressed = json_array_size(v->silenced_by) || json_array_size(v->inhibited_by) || v->in_maintenance;
	return json_pack("{s:o,s:O,s:s,s:s,s:s,s:s,s:[{s:s}],s:{s:s,s:O,s:O}}", "labels", evt_labels_to_json(&v->labels),
			 "annotations", v->annotations, "startsAt", st, "endsAt", en, "updatedAt", up, "fingerprint", f,
			 "receivers", "name", v->rule, "status", "state", suppressed ? "suppressed" : "active",
			 "silencedBy", v->silenced_by, "inhibitedBy", v->inhibited_by);
}

struct alert_query {
	bool active, silenced, inhibited;
	struct evt_matchers ms;
	struct evt_matcher recv;
	bool has_recv;
};

static int alert_query_parse(struct req *r, struct alert_query *q, bool unprocessed)
{
	bool ignored;
	evt_matchers_init(&q->ms);
	q->recv = (struct evt_matcher)EVT_MATCHER_INIT;
	int rc = bool_arg(r, "active", true, &q->active);
	if (!rc)
		rc = bool_arg(r, "silenced", true, &q->silenced);
	if (!rc)
		rc = bool_arg(r, "inhibited", true, &q->inhibited);
	if (!rc && unprocessed)
		rc = bool_arg(r, "unprocessed", true, &ignored);
	if (!rc)
		rc = filters(r, &q->ms);
	if (!rc)
		rc = receiver_re(r, &q->recv, &q->has_recv);
	return rc;
}

static bool alert_keep(const struct alert_query *q, const struct evt_alarm_view *v)
{
	bool silenced = json_array_size(v->silenced_by) > 0, inhibited = json_array_size(v->inhibited_by) > 0;
	bool active = !silenced && !inhibited && !v->in_maintenance;
	if (!q->active && active)
		return false;
	if (!q->silenced && silenced)
		return false;
	if (!q->inhibited && inhibited)
		return false;
	if (q->has_recv && !evt_matcher_matches(&q->recv, v->rule))
		return false;
	return true;
}

int am_alerts_get(struct req *r)
{
	int rc = evt_api_auth(r);
	if (rc)
		return rc;
	struct alert_query q;
	if ((rc = alert_query_parse(r, &q, true)))
		goto out;
	struct evt_alarm_view *v;
	size_t n;
	if (evt_alarms_list(evt_api_readable, r, &q.ms, true, &v, &n)) {
		rc = am_string_error(r, 500, "out of memory listing the alerts");
		goto out;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		if (alert_keep(&q, &v[i]))
			json_array_append_new(arr, gettable_alert(&v[i]));
	evt_alarm_views_free(v, n);
	req_json(r, 200, arr);
out:
	evt_matchers_release(&q.ms);
	evt_matcher_release(&q.recv);
	return rc;
}

int am_groups_get(struct req *r)
{
	int rc = evt_api_auth(r);
	if (rc)
		return rc;
	struct alert_query q;
	if ((rc = alert_query_parse(r, &q, false)))
		goto out;
	struct evt_alarm_view *v;
	size_t n;
	if (evt_alarms_list(evt_api_readable, r, &q.ms, true, &v, &n)) {
		rc = am_string_error(r, 500, "out of memory listing the alerts");
		goto out;
	}
	json_t *groups = json_array(), *index = json_object();
	for (size_t i = 0; i < n; i++) {
		if (!alert_keep(&q, &v[i]))
			continue;
		char rule[64];
		json_t *gl = evt_group_labels(v[i].account, &v[i].labels, rule);
		char *gk = json_dumps(gl, JSON_COMPACT | JSON_SORT_KEYS);
		struct buf key = BUF_INIT(1 << 16);
		buf_printf(&key, "%s/%s/%s", v[i].account, rule, gk);
		free(gk);
		json_t *grp = json_object_get(index, buf_str(&key));
		if (!grp) {
			grp = json_pack("{s:O,s:{s:s},s:[]}", "labels", gl, "receiver", "name", rule, "alerts");
			json_object_set_new(index, buf_str(&key), grp);
			json_array_append(groups, grp);
		}
		buf_release(&key);
		json_decref(gl);
		json_array_append_new(json_object_get(grp, "alerts"), gettable_alert(&v[i]));
	}
	json_decref(index);
	evt_alarm_views_free(v, n);
	req_json(r, 200, groups);
out:
	evt_matchers_release(&q.ms);
	evt_matcher_release(&q.recv);
	return rc;
}

/* ---- silences ---- */

static json_t *gettable_silence(const struct evt_silence_view *s)
{
	char st[32], en[32], up[32];
	fmt_time(s->starts_at, st);
	fmt_time(s->ends_at, en);
	fmt_time(s->updated_at, up);
	return json_pack("{s:s,s:{s:s},s:s,s:s,s:s,s:s,s:s,s:O}", "id", s->id, "status", "state", s->state, "updatedAt",
			 up, "comment", s->comment, "createdBy", s->created_by, "endsAt", en, "startsAt", st, "matchers",
			 s->matchers);
}

int am_silences_get(struct req *r)
{
	int rc = evt_api_auth(r);
	if (rc)
		return rc;
	struct evt_matchers ms = EVT_MATCHERS_INIT;
	if ((rc = filters(r, &ms))) {
		evt_matchers_release(&ms);
		return rc;
	}
	struct evt_silence_view *v;
	size_t n;
	evt_silences_list(evt_api_readable, r, &v, &n);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		struct evt_matchers sm = EVT_MATCHERS_INIT;
		evt_matchers_from_json(&sm, v[i].matchers, NULL);
		bool keep = true;
		for (size_t k = 0; k < ms.n && keep; k++)
			keep = evt_matchers_contains(&sm, &ms.v[k]);
		evt_matchers_release(&sm);
		if (keep)
			json_array_append_new(arr, gettable_silence(&v[i]));
	}
	evt_silence_views_free(v, n);
	evt_matchers_release(&ms);
	return req_json(r, 200, arr);
}

static bool uuid_ok(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	}
	return true;
}

int am_silences_post(struct req *r)
{
	int rc = evt_api_auth(r);
	if (rc)
		return rc;
	if ((rc = content_type_ok(r)))
		return rc;
	json_t *b;
	if ((rc = am_parse_body(r, "silence", JSON_OBJECT, "models.PostableSilence", &b)))
		return rc;
	json_t *mm = json_object_get(b, "matchers");
	if (mm && !json_is_null(mm) && !json_is_array(mm)) {
		rc = am_framework_error(r, 400,
					  "parsing silence body from \"\" failed, because json: cannot unmarshal %s into "
					  "Go struct field Silence.matchers of type models.Matchers",
					  json_type_name(mm));
		json_decref(b);
		return rc;
	}
	static const char *const req_fields[] = { "comment", "createdBy", "endsAt", "matchers", "startsAt", NULL };
	for (const char *const *f = req_fields; *f; f++) {
		json_t *v = json_object_get(b, *f);
		if (!v || json_is_null(v)) {
			json_decref(b);
			return am_framework_error(r, 602, "%s in body is required", *f);
		}
		if (strcmp(*f, "matchers") && !json_is_string(v)) {
			json_decref(b);
			return am_framework_error(r, 600, "%s in body must be of type string", *f);
		}
	}
	json_t *m = json_object_get(b, "matchers");
	if (json_array_size(m) < 1) {
		json_decref(b);
		return am_framework_error(r, 612, "matchers in body should have at least 1 items");
	}
	size_t mi;
	json_t *mo;
	json_array_foreach(m, mi, mo) {
		static const char *const mf[] = { "isRegex", "name", "value", NULL };
		for (const char *const *f = mf; *f; f++) {
			json_t *v = json_object_get(mo, *f);
			if (!json_is_object(mo) || !v || json_is_null(v)) {
				json_decref(b);
				return am_framework_error(r, 602, "matchers.%zu.%s in body is required", mi, *f);
			}
		}
	}
	int64_t st, en;
	if ((rc = parse_time(json_object_get(b, "startsAt"), "silence", &st, r)) ||
	    (rc = parse_time(json_object_get(b, "endsAt"), "silence", &en, r))) {
		json_decref(b);
		return rc;
	}
	const char *id = json_string_value(json_object_get(b, "id"));
	/* The silence's account: an account="…" matcher names it, otherwise the token's own. */
	const char *named = NULL;
	size_t i;
	json_t *it;
	json_array_foreach(m, i, it) {
		if (!strcmp(json_string_value(json_object_get(it, "name")) ?: "", "account") &&
		    !json_is_true(json_object_get(it, "isRegex")) && !json_is_false(json_object_get(it, "isEqual")))
			named = json_string_value(json_object_get(it, "value"));
	}
	char account[16], sid[40];
	struct fw_error e;
	if ((rc = evt_api_event_account(r, named, account, &e))) {
		json_decref(b);
		return am_string_error(r, e.status == 422 ? 400 : e.status, e.message);
	}
	if (!(evt_api_perms(r, account) & PERM_WORK)) {
		json_decref(b);
		return am_string_error(r, 403, "creating silences needs the operator role");
	}
	rc = evt_silence_put(account, id, m, st, en, json_string_value(json_object_get(b, "createdBy")),
			     json_string_value(json_object_get(b, "comment")), r->auth->principal, sid, &e);
	json_decref(b);
	if (rc == FW_ESTORE)
		return am_string_error(r, 500, "failed to store the silence");
	if (rc && e.status == 400 && strncmp(e.message, "Failed to create silence", 24)) {
		char msg[600];
		snprintf(msg, sizeof(msg), "silence invalid: %s", e.message);
		return am_string_error(r, 400, msg);
	}
	if (rc)
		return am_string_error(r, e.status, e.message);
	return req_json(r, 200, json_pack("{s:s}", "silenceID", sid));
}

int am_silence_get(struct req *r)
{
	int rc = evt_api_auth(r);
	if (rc)
		return rc;
	const char *id = req_param(r, 0);
	if (!uuid_ok(id))
		return am_framework_error(r, 601, "silenceID in path must be of type uuid: \"%s\"", id);
	struct evt_silence_view v;
	if (evt_silence_get(id, &v))
		return am_empty(r, 404);
	bool ok = evt_api_readable(v.account, r);
	json_t *o = ok ? gettable_silence(&v) : NULL;
	json_decref(v.matchers);
	free(v.created_by);
	free(v.comment);
	if (!ok)
		return am_empty(r, 404);
	return req_json(r, 200, o);
}

static bool workable(const char *account, void *arg)
{
	return (evt_api_perms(arg, account) & PERM_WORK) != 0;
}

int am_silence_delete(struct req *r)
{
	int rc = evt_api_auth(r);
	if (rc)
		return rc;
	const char *id = req_param(r, 0);
	if (!uuid_ok(id))
		return am_framework_error(r, 601, "silenceID in path must be of type uuid: \"%s\"", id);
	rc = evt_silence_expire(id, workable, r, r->auth->principal);
	if (rc == FW_ENOTFOUND)
		return am_string_error(r, 500, "silence not found");
	if (rc)
		return am_string_error(r, 500, "failed to expire the silence");
	return am_empty(r, 200);
}

/* ---- status, receivers ---- */

int am_status(struct req *r)
{
	int rc = evt_api_auth(r);
	if (rc)
		return rc;
	if (!started_at)
		started_at = time_now_ms();
	char up[32];
	fmt_time(started_at, up);
	json_t *rules = evt_rules_json();
	char *cfg = json_dumps(rules, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(rules);
	json_t *o = json_pack("{s:{s:s,s:[]},s:{s:s,s:s,s:s,s:s,s:s,s:s},s:{s:s},s:s}", "cluster", "status", "disabled",
			      "peers", "versionInfo", "version", AM_VERSION, "revision", "flywheel-" FLYWHEEL_VERSION,
			      "branch", "flywheel", "buildUser", "flywheel", "buildDate", "", "goVersion", "none", "config",
			      "original", cfg ? cfg : "", "uptime", up);
	free(cfg);
	return req_json(r, 200, o);
}

int am_receivers(struct req *r)
{
	int rc = evt_api_auth(r);
	if (rc)
		return rc;
	json_t *rules = evt_rules_json(), *arr = json_array();
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(rules, "rules"), i, it)
		json_array_append_new(arr, json_pack("{s:s}", "name", json_string_value(json_object_get(it, "name"))));
	json_array_append_new(arr, json_pack("{s:s}", "name", "default"));
	json_decref(rules);
	return req_json(r, 200, arr);
}
