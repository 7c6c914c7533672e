#include "sla/oncall.h"

#include "sla/calendar.h"
#include "util/err.h"
#include "util/tz.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 32
#define MAX_USERS 500
#define MAX_RESTRICTIONS 32
#define MAX_OVERRIDES 1000
#define MAX_NAME 200
#define FIRST_WINDOW (16L * 86400)

/* ---- building the resolved timeline ---- */

/* A stretch of one layer (or override) having someone: [a, b). */
struct piece {
	time_t a, b;
	const char *user;
	int src;
};

struct pieces {
	struct piece *v;
	size_t n, cap;
};

static int push(struct pieces *p, time_t a, time_t b, const char *user, int src)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct piece *nv = realloc(p->v, cap * sizeof(*nv));
		if (!nv)
			return FW_ENOMEM;
		p->v = nv;
		p->cap = cap;
	}
	p->v[p->n++] = (struct piece){ a, b, user, src };
	return 0;
}

static int rot_step(const struct sla_layer *l)
{
	return l->rotation == SLA_ROT_WEEKLY ? 7 : 1;
}

/* The latest hand-off at or before t of a daily or weekly rotation: its local date and instant. */
static int rot_floor(const struct sla_layer *l, time_t t, long *day, time_t *at)
{
	int secs, rc;
	long d;

	if ((rc = sla_local_day(l->zone, t, &d, &secs)))
		return rc;
	if (l->rotation == SLA_ROT_WEEKLY)
		d -= (sla_weekday_of(d) - l->handoff_day + 7) % 7;
	for (;;) {
		if ((rc = sla_local_instant(l->zone, d, l->handoff, at)))
			return rc;
		if (*at <= t)
			break;
		d -= rot_step(l);
	}
	*day = d;
	return 0;
}

/* The rotation's shifts overlapping [from, to), clipped to it, appended to out in order. */
static int rotation_shifts(const struct sla_layer *l, time_t from, time_t to, struct pieces *out)
{
	time_t t = from > l->start ? from : l->start, a, b;
	long k, d, d0;
	int rc;

	if (t >= to)
		return 0;
	if (l->rotation == SLA_ROT_CUSTOM) {
		k = (long)((t - l->start) / l->length);
		a = l->start + (time_t)k * l->length;
		d = 0;
		b = a + l->length;
	} else {
		time_t ignored;
		if ((rc = rot_floor(l, l->start, &d0, &ignored)) || (rc = rot_floor(l, t, &d, &a)))
			return rc;
		k = (d - d0) / rot_step(l);
		if (a < l->start)
			a = l->start;
		if ((rc = sla_local_instant(l->zone, d + rot_step(l), l->handoff, &b)))
			return rc;
	}
	while (a < to) {
		if (b <= a) /* cannot happen with real zones; never loop forever on a broken one */
			b = a + 3600;
		if ((rc = push(out, a > from ? a : from, b < to ? b : to, l->users[k % (long)l->n_users], 0)))
			return rc;
		k++;
		a = b;
		if (l->rotation == SLA_ROT_CUSTOM) {
			b = a + l->length;
		} else {
			d += rot_step(l);
			if ((rc = sla_local_instant(l->zone, d + rot_step(l), l->handoff, &b)))
				return rc;
		}
	}
	return 0;
}

static int cmp_piece(const void *x, const void *y)
{
	const struct piece *p = x, *q = y;
	return p->a < q->a ? -1 : p->a > q->a;
}

/* The layer's restriction windows overlapping [from, to), merged, clipped and in order. */
static int restriction_windows(const struct sla_layer *l, time_t from, time_t to, struct pieces *out)
{
	long d0, d1;
	int secs, rc;
	size_t n = 0;

	if (l->n_restrictions == 0)
		return push(out, from, to, NULL, 0);
	if ((rc = sla_local_day(l->zone, from, &d0, &secs)) || (rc = sla_local_day(l->zone, to, &d1, &secs)))
		return rc;
	for (long d = d0 - 1; d <= d1; d++) {
		for (size_t i = 0; i < l->n_restrictions; i++) {
			const struct sla_restriction *r = &l->restrictions[i];
			time_t a, b;
			if (!(r->days & (1u << sla_weekday_of(d))))
				continue;
			if ((rc = sla_local_instant(l->zone, d, r->start, &a)) ||
			    (rc = sla_local_instant(l->zone, d, r->end + (r->end <= r->start ? SLA_DAY_SECONDS : 0),
						    &b)))
				return rc;
			if (a < from)
				a = from;
			if (b > to)
				b = to;
			if (b > a && (rc = push(out, a, b, NULL, 0)))
				return rc;
		}
	}
	qsort(out->v, out->n, sizeof(*out->v), cmp_piece);
	for (size_t i = 0; i < out->n; i++) {
		if (n && out->v[i].a <= out->v[n - 1].b) {
			if (out->v[i].b > out->v[n - 1].b)
				out->v[n - 1].b = out->v[i].b;
		} else {
			out->v[n++] = out->v[i];
		}
	}
	out->n = n;
	return 0;
}

/* The layer's pieces in [from, to): its rotation intersected with its restriction windows. */
static int layer_pieces(const struct sla_layer *l, int src, time_t from, time_t to, struct pieces *out)
{
	struct pieces shifts = { 0 }, win = { 0 };
	size_t i = 0, j = 0;
	int rc;

	if ((rc = rotation_shifts(l, from, to, &shifts)) || (rc = restriction_windows(l, from, to, &win)))
		goto out;
	while (i < shifts.n && j < win.n) {
		time_t a = shifts.v[i].a > win.v[j].a ? shifts.v[i].a : win.v[j].a;
		time_t b = shifts.v[i].b < win.v[j].b ? shifts.v[i].b : win.v[j].b;
		if (b > a && (rc = push(out, a, b, shifts.v[i].user, src)))
			goto out;
		if (shifts.v[i].b < win.v[j].b)
			i++;
		else
			j++;
	}
out:
	free(shifts.v);
	free(win.v);
	return rc;
}

static int cmp_time(const void *x, const void *y)
{
	time_t a = *(const time_t *)x, b = *(const time_t *)y;
	return a < b ? -1 : a > b;
}

static bool same_user(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The resolved schedule over [from, to) as consecutive shifts and gaps (user NULL) covering it exactly. */
static int timeline(const struct sla_schedule *s, time_t from, time_t to, struct sla_shift **res,
		    size_t *n_res)
{
	struct pieces *lp = calloc(s->n_layers ? s->n_layers : 1, sizeof(*lp));
	size_t *cur = calloc(s->n_layers ? s->n_layers : 1, sizeof(*cur));
	time_t *cuts = NULL;
	size_t n_cuts = 2, k = 0;
	struct sla_shift *out = NULL;
	int rc = 0;

	*res = NULL;
	*n_res = 0;
	if (!lp || !cur) {
		rc = FW_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->n_layers; i++) {
		if ((rc = layer_pieces(&s->layers[i], (int)i, from, to, &lp[i])))
			goto out;
		n_cuts += 2 * lp[i].n;
	}
	n_cuts += 2 * s->n_overrides;
	cuts = malloc(n_cuts * sizeof(*cuts));
	if (!cuts) {
		rc = FW_ENOMEM;
		goto out;
	}
	cuts[k++] = from;
	cuts[k++] = to;
	for (size_t i = 0; i < s->n_layers; i++)
		for (size_t j = 0; j < lp[i].n; j++) {
			cuts[k++] = lp[i].v[j].a;
			cuts[k++] = lp[i].v[j].b;
		}
	for (size_t i = 0; i < s->n_overrides; i++) {
		const struct sla_override *o = &s->overrides[i];
		if (o->start > from && o->start < to)
			cuts[k++] = o->start;
		if (o->end > from && o->end < to)
			cuts[k++] = o->end;
	}
	qsort(cuts, k, sizeof(*cuts), cmp_time);
	n_cuts = 0;
	for (size_t i = 0; i < k; i++)
		if (!n_cuts || cuts[i] != cuts[n_cuts - 1])
			cuts[n_cuts++] = cuts[i];
	out = malloc(n_cuts * sizeof(*out));
	if (!out) {
		rc = FW_ENOMEM;
		goto out;
	}
	/* Each elementary interval between cuts has one owner: the latest override covering it, else the
	 * topmost layer with someone there. Consecutive intervals with the same owner are one shift. */
	for (size_t c = 0; c + 1 < n_cuts; c++) {
		time_t x = cuts[c];
		const char *user = NULL;
		int src = SLA_GAP;

		for (size_t i = s->n_overrides; i-- > 0;)
			if (s->overrides[i].start <= x && x < s->overrides[i].end) {
				user = s->overrides[i].user;
				src = SLA_OVERRIDE;
				break;
			}
		for (size_t i = s->n_layers; i-- > 0;) {
			while (cur[i] < lp[i].n && lp[i].v[cur[i]].b <= x)
				cur[i]++;
			if (!user && cur[i] < lp[i].n && lp[i].v[cur[i]].a <= x) {
				user = lp[i].v[cur[i]].user;
				src = (int)i;
			}
		}
		if (*n_res && out[*n_res - 1].layer == src && same_user(out[*n_res - 1].user, user)) {
			out[*n_res - 1].end = cuts[c + 1];
		} else {
			out[*n_res] = (struct sla_shift){ user, x, cuts[c + 1], src };
			(*n_res)++;
		}
	}
	*res = out;
	out = NULL;
out:
	if (lp)
		for (size_t i = 0; i < s->n_layers; i++)
			free(lp[i].v);
	free(lp);
	free(cur);
	free(cuts);
	free(out);
	return rc;
}

static time_t add_clamped(time_t t, long d)
{
	if (d > 0 && t > INT64_MAX - d)
		return INT64_MAX;
	if (d < 0 && t < INT64_MIN - d)
		return INT64_MIN;
	return t + d;
}

int sla_oncall_at(const struct sla_schedule *s, time_t t, struct sla_shift *out)
{
	for (long w = FIRST_WINDOW;; w *= 2) {
		struct sla_shift *tl;
		size_t n, i;
		time_t from, to;
		int rc;

		if (w > SLA_ONCALL_HORIZON)
			w = SLA_ONCALL_HORIZON;
		from = add_clamped(t, -w);
		to = add_clamped(t, w);
		if ((rc = timeline(s, from, to, &tl, &n)))
			return rc;
		for (i = 0; i + 1 < n && tl[i].end <= t; i++)
			;
		*out = tl[i]; /* the timeline covers [from, to) exactly, and from <= t < to */
		free(tl);
		if ((out->start > from && out->end < to) || w == SLA_ONCALL_HORIZON)
			return 0;
	}
}

int sla_oncall_next(const struct sla_schedule *s, time_t from, size_t max, struct sla_shift *out, size_t *n)
{
	struct sla_shift first;
	time_t t, horizon = add_clamped(from, SLA_ONCALL_HORIZON);
	int rc;

	*n = 0;
	if (max == 0)
		return 0;
	if ((rc = sla_oncall_at(s, from, &first)))
		return rc;
	if (first.user)
		out[(*n)++] = first;
	t = first.end;
	for (long w = FIRST_WINDOW; *n < max && t < horizon; w *= 2) {
		time_t to = add_clamped(t, w);
		struct sla_shift *tl;
		size_t m, complete = 0;

		if (to > horizon)
			to = horizon;
		if ((rc = timeline(s, t, to, &tl, &m)))
			return rc;
		for (size_t i = 0; i < m; i++)
			if (tl[i].user && (tl[i].end < to || to == horizon))
				complete++;
		if (*n + complete >= max || to == horizon) {
			for (size_t i = 0; i < m && *n < max; i++)
				if (tl[i].user && (tl[i].end < to || to == horizon))
					out[(*n)++] = tl[i];
			free(tl);
			break;
		}
		free(tl);
	}
	return 0;
}

int sla_oncall_gaps(const struct sla_schedule *s, time_t from, time_t to, struct sla_gap **out, size_t *n,
		    struct fw_error *e)
{
	struct sla_shift *tl;
	size_t m, k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (to <= from || to - from > SLA_ONCALL_HORIZON)
		return fw_fail(e, 422, "invalid_range", "the range must end after it starts and span at most %ld days",
			       SLA_ONCALL_HORIZON / 86400);
	if ((rc = timeline(s, from, to, &tl, &m)))
		return rc;
	for (size_t i = 0; i < m; i++)
		k += !tl[i].user;
	if (k) {
		*out = malloc(k * sizeof(**out));
		if (!*out) {
			free(tl);
			return FW_ENOMEM;
		}
		for (size_t i = 0; i < m; i++)
			if (!tl[i].user)
				(*out)[(*n)++] = (struct sla_gap){ tl[i].start, tl[i].end };
	}
	free(tl);
	return 0;
}

/* ---- parsing ---- */

#define FAIL(...) fw_fail(e, 422, __VA_ARGS__)

/* RFC 3339 date-time ("2024-03-04T09:00:00Z", "...+01:00", fractions dropped) to Unix seconds. */
static int parse_rfc3339(const char *s, time_t *out)
{
	int v[6], off = 0;
	const int at[6] = { 0, 5, 8, 11, 14, 17 }, len[6] = { 4, 2, 2, 2, 2, 2 };
	const char *p;

	if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return FW_EINVAL;
	for (int i = 0; i < 6; i++) {
		v[i] = 0;
		for (int j = 0; j < len[i]; j++) {
			if (!isdigit((unsigned char)s[at[i] + j]))
				return FW_EINVAL;
			v[i] = v[i] * 10 + (s[at[i] + j] - '0');
		}
	}
	p = s + 19;
	if (*p == '.') {
		do
			p++;
		while (isdigit((unsigned char)*p));
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
		   p[3] == ':' && isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5])) {
		int h = (p[1] - '0') * 10 + (p[2] - '0'), m = (p[4] - '0') * 10 + (p[5] - '0');
		if (h > 23 || m > 59)
			return FW_EINVAL;
		off = (h * 60 + m) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return FW_EINVAL;
	}
	if (*p || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
		return FW_EINVAL;
	{
		long day = tz_days_from_civil(v[0], v[1], v[2]);
		int y, m, d;
		tz_civil_from_days(day, &y, &m, &d);
		if (d != v[2])
			return FW_EINVAL;
		*out = (time_t)day * 86400 + v[3] * 3600 + v[4] * 60 + (v[5] > 59 ? 59 : v[5]) - off;
	}
	return 0;
}

static int parse_instant(const json_t *v, const char *where, time_t *out, struct fw_error *e)
{
	if (json_is_integer(v)) {
		*out = (time_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && parse_rfc3339(json_string_value(v), out) == 0)
		return 0;
	return FAIL("invalid_time", "%s must be an RFC 3339 date-time such as \"2024-03-04T08:00:00Z\" "
				    "(or Unix seconds)", where);
}

static int dup_name(const json_t *v, const char *where, char **out, struct fw_error *e)
{
	const char *s = json_string_value(v);
	if (!s || !*s || strlen(s) > MAX_NAME)
		return FAIL("invalid_schedule", "%s must be a non-empty string of at most %d bytes", where, MAX_NAME);
	*out = strdup(s);
	return *out ? 0 : FW_ENOMEM;
}

static int parse_days(const json_t *arr, const char *where, unsigned *days, struct fw_error *e)
{
	const json_t *v;
	size_t i;

	if (!arr) {
		*days = 0x7f;
		return 0;
	}
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return FAIL("invalid_schedule", "%s must be a non-empty array of day names (\"mon\" .. \"sun\")", where);
	*days = 0;
	json_array_foreach(arr, i, v) {
		int d = sla_weekday_parse(json_string_value(v));
		if (d < 0)
			return FAIL("invalid_schedule", "%s[%zu] is not a day name; use \"mon\" .. \"sun\"", where, i);
		*days |= 1u << d;
	}
	return 0;
}

static int parse_restrictions(const json_t *arr, const char *lw, struct sla_layer *l, struct fw_error *e)
{
	const json_t *v;
	size_t i;
	char where[96];
	int rc;

	if (!json_is_array(arr) || json_array_size(arr) > MAX_RESTRICTIONS)
		return FAIL("invalid_schedule", "%s.restrictions must be an array of at most %d "
						"{\"days\",\"start\",\"end\"} windows", lw, MAX_RESTRICTIONS);
	if (json_array_size(arr) == 0)
		return 0;
	l->restrictions = calloc(json_array_size(arr), sizeof(*l->restrictions));
	if (!l->restrictions)
		return FW_ENOMEM;
	json_array_foreach(arr, i, v) {
		struct sla_restriction *r = &l->restrictions[i];
		const char *s = json_string_value(json_object_get(v, "start"));
		const char *en = json_string_value(json_object_get(v, "end"));

		snprintf(where, sizeof(where), "%s.restrictions[%zu]", lw, i);
		if (!json_is_object(v) || !s || !en)
			return FAIL("invalid_schedule", "%s needs \"start\" and \"end\" as \"HH:MM\" strings", where);
		if (sla_time_of_day_parse(s, false, &r->start))
			return FAIL("invalid_time", "%s.start '%.20s' is not a time of day (HH:MM)", where, s);
		if (sla_time_of_day_parse(en, true, &r->end))
			return FAIL("invalid_time", "%s.end '%.20s' is not a time of day (HH:MM, up to 24:00)", where, en);
		if (r->end == r->start)
			return FAIL("invalid_interval", "%s starts and ends at %s; use 00:00 to 24:00 for a whole day",
				    where, s);
		snprintf(where, sizeof(where), "%s.restrictions[%zu].days", lw, i);
		if ((rc = parse_days(json_object_get(v, "days"), where, &r->days, e)))
			return rc;
		l->n_restrictions++;
	}
	return 0;
}

static int parse_layer(const json_t *v, size_t idx, struct sla_layer *l, struct fw_error *e)
{
	const json_t *users, *u, *x;
	const char *zone, *rot, *hs;
	char lw[32], where[64];
	size_t i;
	long day;
	int secs, rc;

	snprintf(lw, sizeof(lw), "layers[%zu]", idx);
	if (!json_is_object(v))
		return FAIL("invalid_schedule", "%s must be an object", lw);
	if ((x = json_object_get(v, "name"))) {
		snprintf(where, sizeof(where), "%s.name", lw);
		if ((rc = dup_name(x, where, &l->name, e)))
			return rc;
	}
	zone = json_string_value(json_object_get(v, "timezone"));
	if (!zone)
		return FAIL("invalid_schedule", "%s.timezone is required: an IANA zone such as \"Asia/Tokyo\"", lw);
	if (strlen(zone) >= sizeof(l->zone) || !tz_valid(zone))
		return FAIL("unknown_time_zone", "%s.timezone '%.100s' is not a known IANA time zone", lw, zone);
	snprintf(l->zone, sizeof(l->zone), "%s", zone);

	users = json_object_get(v, "users");
	if (!json_is_array(users) || json_array_size(users) == 0 || json_array_size(users) > MAX_USERS)
		return FAIL("invalid_schedule", "%s.users must be an array of 1 to %d user names", lw, MAX_USERS);
	l->users = calloc(json_array_size(users), sizeof(*l->users));
	if (!l->users)
		return FW_ENOMEM;
	json_array_foreach(users, i, u) {
		snprintf(where, sizeof(where), "%s.users[%zu]", lw, i);
		if ((rc = dup_name(u, where, &l->users[i], e)))
			return rc;
		l->n_users++;
	}

	snprintf(where, sizeof(where), "%s.start", lw);
	if ((rc = parse_instant(json_object_get(v, "start"), where, &l->start, e)))
		return rc;
	if ((rc = sla_local_day(l->zone, l->start, &day, &secs)))
		return FAIL("invalid_time", "%s.start cannot be shown in %s", lw, l->zone);

	rot = json_string_value(json_object_get(v, "rotation"));
	if (rot && strcmp(rot, "daily") == 0) {
		l->rotation = SLA_ROT_DAILY;
	} else if (rot && strcmp(rot, "weekly") == 0) {
		l->rotation = SLA_ROT_WEEKLY;
	} else if (rot && strcmp(rot, "custom") == 0) {
		l->rotation = SLA_ROT_CUSTOM;
		x = json_object_get(v, "length");
		if (!json_is_integer(x) || json_integer_value(x) < 60 || json_integer_value(x) > 366L * 86400)
			return FAIL("invalid_schedule", "%s.length must be the shift length in seconds (60 to 31622400) "
							"for a custom rotation", lw);
		l->length = (long)json_integer_value(x);
	} else {
		return FAIL("invalid_schedule", "%s.rotation must be \"daily\", \"weekly\" or \"custom\"", lw);
	}

	l->handoff = secs;
	hs = json_string_value(json_object_get(v, "handoff"));
	if (json_object_get(v, "handoff") && (!hs || sla_time_of_day_parse(hs, false, &l->handoff)))
		return FAIL("invalid_time", "%s.handoff must be a local time of day \"HH:MM\"", lw);
	l->handoff_day = sla_weekday_of(day);
	if ((x = json_object_get(v, "handoff_day"))) {
		l->handoff_day = sla_weekday_parse(json_string_value(x));
		if (l->handoff_day < 0)
			return FAIL("invalid_schedule", "%s.handoff_day must be a day name (\"mon\" .. \"sun\")", lw);
	}
	if ((x = json_object_get(v, "restrictions")) && (rc = parse_restrictions(x, lw, l, e)))
		return rc;
	return 0;
}

static int parse_body(const json_t *obj, struct sla_schedule *s, struct fw_error *e)
{
	const json_t *layers, *ovs, *v;
	char where[48];
	size_t i;
	int rc;

	if (!json_is_object(obj))
		return FAIL("invalid_schedule", "a schedule must be a JSON object with \"layers\"");
	layers = json_object_get(obj, "layers");
	if (!json_is_array(layers) || json_array_size(layers) == 0 || json_array_size(layers) > MAX_LAYERS)
		return FAIL("invalid_schedule", "layers must be an array of 1 to %d layers", MAX_LAYERS);
	s->layers = calloc(json_array_size(layers), sizeof(*s->layers));
	if (!s->layers)
		return FW_ENOMEM;
	json_array_foreach(layers, i, v) {
		s->n_layers++;
		if ((rc = parse_layer(v, i, &s->layers[i], e)))
			return rc;
	}
	ovs = json_object_get(obj, "overrides");
	if (!ovs)
		return 0;
	if (!json_is_array(ovs) || json_array_size(ovs) > MAX_OVERRIDES)
		return FAIL("invalid_schedule", "overrides must be an array of at most %d overrides", MAX_OVERRIDES);
	if (json_array_size(ovs) == 0)
		return 0;
	s->overrides = calloc(json_array_size(ovs), sizeof(*s->overrides));
	if (!s->overrides)
		return FW_ENOMEM;
	json_array_foreach(ovs, i, v) {
		struct sla_override *o = &s->overrides[i];
		s->n_overrides++;
		snprintf(where, sizeof(where), "overrides[%zu].user", i);
		if ((rc = dup_name(json_object_get(v, "user"), where, &o->user, e)))
			return rc;
		snprintf(where, sizeof(where), "overrides[%zu].start", i);
		if ((rc = parse_instant(json_object_get(v, "start"), where, &o->start, e)))
			return rc;
		snprintf(where, sizeof(where), "overrides[%zu].end", i);
		if ((rc = parse_instant(json_object_get(v, "end"), where, &o->end, e)))
			return rc;
		if (o->end <= o->start)
			return FAIL("invalid_interval", "overrides[%zu] ends before it starts", i);
	}
	return 0;
}

int sla_oncall_parse(const json_t *obj, struct sla_schedule *out, struct fw_error *e)
{
	struct sla_schedule s = { 0 };
	int rc = parse_body(obj, &s, e);

	if (rc) {
		sla_oncall_release(&s);
		memset(out, 0, sizeof(*out));
		return rc;
	}
	*out = s;
	return 0;
}

void sla_oncall_release(struct sla_schedule *s)
{
	for (size_t i = 0; i < s->n_layers; i++) {
		struct sla_layer *l = &s->layers[i];
		free(l->name);
		for (size_t j = 0; j < l->n_users; j++)
			free(l->users[j]);
		free(l->users);
		free(l->restrictions);
	}
	for (size_t i = 0; i < s->n_overrides; i++)
		free(s->overrides[i].user);
	free(s->layers);
	free(s->overrides);
	memset(s, 0, sizeof(*s));
}
