#include "events/window.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/tz.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Every UTC offset in the tz database lies within [-12h, +14h], so the instant of a local wall-clock
 * time differs from that wall time read as UTC by at most this much in either direction. It lets the
 * searches below skip candidates without asking the tz database. */
#define MAX_OFFSET_SPREAD (26L * 3600)

/* How far evt_window_next() looks ahead: 29 years covers the 28-year cycle in which a date such as
 * Feb 29 returns to each weekday. */
#define SEARCH_DAYS (29L * 366)

static const char *const day_names[7] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
};

static const char *const month_abbr[12] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
};

/* ---------------------------------------------------------------------------------------------------
 * Cron expressions. */

struct cron_field {
	const char *what; /* for messages */
	int min, max;
	const char *const *names; /* three-letter names for min.., or NULL */
	int nnames;
};

static const char *const dow_abbr[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static const struct cron_field cron_fields[5] = {
	{ "minute", 0, 59, NULL, 0 },	      /* field 1 */
	{ "hour", 0, 23, NULL, 0 },	      /* field 2 */
	{ "day of month", 1, 31, NULL, 0 },   /* field 3 */
	{ "month", 1, 12, month_abbr, 12 },   /* field 4 */
	{ "day of week", 0, 7, dow_abbr, 7 }, /* field 5; 7 is Sunday too */
};

/* Reads a number or a name of field f at *p. Returns 0 or -1 (message in err). */
static int cron_value(const struct cron_field *f, int idx, const char **p, int *out, char *err, size_t errsz)
{
	const char *s = *p;
	if (isdigit((unsigned char)*s)) {
		long v = 0;
		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (*s - '0');
			if (v > 1000)
				break;
			s++;
		}
		if (v < f->min || v > f->max) {
			snprintf(err, errsz, "field %d (%s): %ld is out of range %d-%d", idx + 1, f->what, v,
				 f->min, f->max);
			return -1;
		}
		*out = (int)v;
		*p = s;
		return 0;
	}
	for (int i = 0; i < f->nnames; i++) {
		if (strncasecmp(s, f->names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
			*out = f->min + i;
			*p = s + 3;
			return 0;
		}
	}
	snprintf(err, errsz, "field %d (%s): expected a number%s at \"%.20s\"", idx + 1, f->what,
		 f->nnames ? " or a name" : "", s);
	return -1;
}

/* Parses one field (no blanks inside) into the bit set *bits. */
static int cron_parse_field(const struct cron_field *f, int idx, const char *s, uint64_t *bits, char *err,
			    size_t errsz)
{
	*bits = 0;
	for (;;) {
		int lo, hi, step = 1;
		if (*s == '*') {
			lo = f->min;
			hi = f->max; /* for weekdays 7 is Sunday again, which * already has */
			s++;
		} else {
			if (cron_value(f, idx, &s, &lo, err, errsz) < 0)
				return -1;
			hi = lo;
			if (*s == '-') {
				s++;
				if (cron_value(f, idx, &s, &hi, err, errsz) < 0)
					return -1;
				if (hi < lo) {
					snprintf(err, errsz, "field %d (%s): range %d-%d is backwards",
						 idx + 1, f->what, lo, hi);
					return -1;
				}
			} else if (*s == '/') {
				hi = f->max; /* "a/n": from a to the end, stepping by n */
			}
		}
		if (*s == '/') {
			long v = 0;
			s++;
			if (!isdigit((unsigned char)*s)) {
				snprintf(err, errsz, "field %d (%s): a step needs a number after '/'",
					 idx + 1, f->what);
				return -1;
			}
			while (isdigit((unsigned char)*s) && v <= 1000)
				v = v * 10 + (*s++ - '0');
			if (v == 0 || v > f->max) {
				snprintf(err, errsz, "field %d (%s): step must be between 1 and %d", idx + 1,
					 f->what, f->max);
				return -1;
			}
			step = (int)v;
		}
		for (int v = lo; v <= hi; v += step)
			*bits |= UINT64_C(1) << (f->max == 7 && v == 7 ? 0 : v);
		if (*s == '\0')
			return 0;
		if (*s != ',') {
			snprintf(err, errsz, "field %d (%s): unexpected \"%.20s\"", idx + 1, f->what, s);
			return -1;
		}
		s++;
	}
}

static int days_in_month(int year, int month)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		return 29;
	return dim[month - 1];
}

int evt_window_parse_cron(struct evt_window *w, const char *expr, struct fw_error *e)
{
	static const struct {
		const char *name, *expansion;
	} macros[] = {
		{ "@hourly", "0 * * * *" },   { "@daily", "0 0 * * *" },   { "@midnight", "0 0 * * *" },
		{ "@weekly", "0 0 * * 0" },   { "@monthly", "0 0 1 * *" }, { "@yearly", "0 0 1 1 *" },
		{ "@annually", "0 0 1 1 *" },
	};
	char buf[128], err[160];
	char *fields[5];
	uint64_t bits[5];
	int nf = 0;
	const char *src = expr;

	while (isspace((unsigned char)*src))
		src++;
	if (strlen(expr) >= sizeof(w->cron))
		return fw_fail(e, 400, "invalid_schedule",
			       "cron: the expression is longer than %zu characters", sizeof(w->cron) - 1);
	if (*src == '@') {
		size_t i, n = strcspn(src, " \t");
		for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
			if (strlen(macros[i].name) == n && strncasecmp(src, macros[i].name, n) == 0)
				break;
		}
		if (i == sizeof(macros) / sizeof(macros[0]) || src[n + strspn(src + n, " \t")] != '\0')
			return fw_fail(e, 400, "invalid_schedule",
				       "cron: unknown macro \"%.20s\"; use @hourly, @daily, @weekly, "
				       "@monthly or @yearly",
				       src);
		src = macros[i].expansion;
	}
	snprintf(buf, sizeof(buf), "%s", src);
	for (char *p = buf;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (nf == 5)
			return fw_fail(e, 400, "invalid_schedule",
				       "cron: expected 5 fields (minute hour day-of-month month "
				       "day-of-week), got more");
		fields[nf++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
	if (nf != 5)
		return fw_fail(e, 400, "invalid_schedule",
			       "cron: expected 5 fields (minute hour day-of-month month day-of-week), got %d",
			       nf);
	for (int i = 0; i < 5; i++) {
		if (cron_parse_field(&cron_fields[i], i, fields[i], &bits[i], err, sizeof(err)) < 0)
			return fw_fail(e, 400, "invalid_schedule", "cron: %s", err);
	}
	bool mday_star = fields[2][0] == '*', wday_star = fields[4][0] == '*';
	if (mday_star || wday_star) {
		/* The day must satisfy both fields: some selected month must have a selected day of month
		 * (in a leap year; the weekday then comes round within 28 years). */
		bool possible = false;
		for (int m = 1; m <= 12 && !possible; m++) {
			if (!(bits[3] >> m & 1))
				continue;
			for (int d = 1; d <= days_in_month(2000, m); d++) {
				if (bits[2] >> d & 1) {
					possible = true;
					break;
				}
			}
		}
		if (!possible)
			return fw_fail(
				e, 400, "invalid_schedule",
				"cron: \"%s\" never fires: no selected month has the selected day of month",
				expr);
	}
	w->kind = EVT_WINDOW_CRON;
	snprintf(w->cron, sizeof(w->cron), "%s", expr);
	w->minutes = bits[0];
	w->hours = (uint32_t)bits[1];
	w->mdays = (uint32_t)bits[2];
	w->months = (uint16_t)bits[3];
	w->wdays = (uint8_t)bits[4];
	w->mday_star = mday_star;
	w->wday_star = wday_star;
	w->days = 0;
	w->start_minute = 0;
	return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * JSON. */

/* Parses "4h", "1h30m", "90m", "45s", "2d" (whole numbers, units d h m s) into seconds. */
static int parse_duration(const char *s, long *out)
{
	long total = 0;
	if (*s == '\0')
		return -1;
	while (*s) {
		long v = 0, unit;
		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (*s++ - '0');
			if (v > EVT_WINDOW_MAX_DURATION)
				return -1;
		}
		switch (*s++) {
		case 'd': unit = 86400; break;
		case 'h': unit = 3600; break;
		case 'm': unit = 60; break;
		case 's': unit = 1; break;
		default: return -1;
		}
		total += v * unit;
		if (total > EVT_WINDOW_MAX_DURATION)
			return -1;
	}
	*out = total;
	return 0;
}

static int day_index(const char *s)
{
	for (int i = 0; i < 7; i++) {
		if (strcasecmp(s, day_names[i]) == 0 ||
		    (strlen(s) == 3 && strncasecmp(s, day_names[i], 3) == 0))
			return i;
	}
	return -1;
}

int evt_window_from_json(struct evt_window *w, const json_t *obj, struct fw_error *e)
{
	struct evt_window nw;
	memset(&nw, 0, sizeof(nw));

	if (!json_is_object(obj))
		return fw_fail(e, 422, "invalid_type", "the schedule must be an object");
	const json_t *zone = json_object_get(obj, "timezone"), *days = json_object_get(obj, "days");
	const json_t *start = json_object_get(obj, "start"), *cron = json_object_get(obj, "cron");
	const json_t *dur = json_object_get(obj, "duration");

	if (zone && !json_is_null(zone)) {
		if (!json_is_string(zone))
			return fw_fail(e, 422, "invalid_type",
				       "timezone must be a string such as \"Europe/Berlin\"");
		const char *z = json_string_value(zone);
		if (strlen(z) >= sizeof(nw.zone) || !tz_valid(z))
			return fw_fail(e, 400, "invalid_timezone",
				       "timezone \"%.80s\" is not a known IANA time zone (e.g. "
				       "\"Europe/Berlin\", \"UTC\")",
				       z);
		snprintf(nw.zone, sizeof(nw.zone), "%s", z);
	} else {
		snprintf(nw.zone, sizeof(nw.zone), "UTC");
	}

	if (!dur || json_is_null(dur))
		return fw_fail(e, 422, "missing_field", "duration is required, e.g. \"2h\" or \"1h30m\"");
	if (json_is_integer(dur)) {
		json_int_t v = json_integer_value(dur);
		if (v < 60 || v > EVT_WINDOW_MAX_DURATION)
			return fw_fail(e, 400, "invalid_duration",
				       "duration must be between 60 seconds and 31 days, got %lld seconds",
				       (long long)v);
		nw.duration = (long)v;
	} else if (json_is_string(dur)) {
		const char *s = json_string_value(dur);
		if (parse_duration(s, &nw.duration) < 0)
			return fw_fail(
				e, 400, "invalid_duration",
				"duration \"%.40s\" is not a duration such as \"2h\", \"1h30m\" or \"90m\" "
				"(units d, h, m, s; at most 31 days)",
				s);
		if (nw.duration < 60)
			return fw_fail(e, 400, "invalid_duration",
				       "duration must be at least one minute, got \"%s\"", s);
	} else {
		return fw_fail(e, 422, "invalid_type",
			       "duration must be a string such as \"2h\" or a number of "
			       "seconds, got %s",
			       jv_kind(dur));
	}

	bool has_cron = cron && !json_is_null(cron);
	bool has_weekly = (days && !json_is_null(days)) || (start && !json_is_null(start));
	if (has_cron && has_weekly)
		return fw_fail(e, 400, "invalid_schedule", "give either cron, or days and start, not both");
	if (has_cron) {
		if (!json_is_string(cron))
			return fw_fail(e, 422, "invalid_type", "cron must be a string such as \"0 2 * * 0\"");
		int rc = evt_window_parse_cron(&nw, json_string_value(cron), e);
		if (rc < 0)
			return rc;
		*w = nw;
		return 0;
	}
	if (!has_weekly)
		return fw_fail(e, 422, "missing_field", "a schedule needs cron, or days and start");
	if (!days || json_is_null(days))
		return fw_fail(e, 422, "missing_field",
			       "days is required with start, e.g. [\"sat\", \"sun\"]");
	if (!start || json_is_null(start))
		return fw_fail(e, 422, "missing_field", "start is required with days, e.g. \"22:00\"");
	if (!json_is_array(days))
		return fw_fail(e, 422, "invalid_type", "days must be an array of day names, got %s",
			       jv_kind(days));
	if (json_array_size(days) == 0)
		return fw_fail(e, 400, "invalid_schedule", "days must name at least one day");
	for (size_t i = 0; i < json_array_size(days); i++) {
		const json_t *d = json_array_get(days, i);
		if (!json_is_string(d))
			return fw_fail(e, 422, "invalid_type", "days[%zu] must be a string, got %s", i,
				       jv_kind(d));
		int di = day_index(json_string_value(d));
		if (di < 0)
			return fw_fail(
				e, 400, "invalid_schedule",
				"days[%zu]: unknown day \"%.20s\"; use mon, tue, wed, thu, fri, sat or sun",
				i, json_string_value(d));
		nw.days |= (uint8_t)(1u << di);
	}
	if (!json_is_string(start))
		return fw_fail(e, 422, "invalid_type", "start must be a string \"HH:MM\", got %s",
			       jv_kind(start));
	const char *s = json_string_value(start);
	int h = -1, m = -1;
	size_t sl = strlen(s);
	if ((sl == 5 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) && s[2] == ':' &&
	     isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4]))) {
		h = (s[0] - '0') * 10 + (s[1] - '0');
		m = (s[3] - '0') * 10 + (s[4] - '0');
	} else if (sl == 4 && isdigit((unsigned char)s[0]) && s[1] == ':' && isdigit((unsigned char)s[2]) &&
		   isdigit((unsigned char)s[3])) {
		h = s[0] - '0';
		m = (s[2] - '0') * 10 + (s[3] - '0');
	}
	if (h < 0 || h > 23 || m < 0 || m > 59)
		return fw_fail(e, 400, "invalid_schedule",
			       "start must be a local time HH:MM from 00:00 to 23:59, got \"%.20s\"", s);
	nw.kind = EVT_WINDOW_WEEKLY;
	nw.start_minute = h * 60 + m;
	/* The cron form of the same schedule, for the shared evaluator. */
	nw.minutes = UINT64_C(1) << m;
	nw.hours = UINT32_C(1) << h;
	nw.mdays = UINT32_C(0xFFFFFFFE);
	nw.months = UINT16_C(0x1FFE);
	nw.wdays = nw.days;
	nw.mday_star = true;
	nw.wday_star = false;
	*w = nw;
	return 0;
}

json_t *evt_window_to_json(const struct evt_window *w)
{
	char dur[48];
	long d = w->duration;
	int o = 0;
	if (d >= 3600)
		o += snprintf(dur + o, sizeof(dur) - (size_t)o, "%ldh", d / 3600);
	if (d % 3600 >= 60)
		o += snprintf(dur + o, sizeof(dur) - (size_t)o, "%ldm", d % 3600 / 60);
	if (d % 60 || o == 0)
		snprintf(dur + o, sizeof(dur) - (size_t)o, "%lds", d % 60);

	json_t *j = json_pack("{s:s, s:s}", "timezone", w->zone, "duration", dur);
	if (!j)
		return NULL;
	if (w->kind == EVT_WINDOW_CRON) {
		if (json_object_set_new(j, "cron", json_string(w->cron)) < 0)
			goto fail;
		return j;
	}
	char start[8];
	json_t *days = json_array();
	if (json_object_set_new(j, "days", days) < 0)
		goto fail;
	for (int i = 1; i <= 7; i++) { /* Monday first, as people list them */
		if (w->days >> (i % 7) & 1) {
			char abbr[4];
			snprintf(abbr, sizeof(abbr), "%.3s", day_names[i % 7]);
			if (json_array_append_new(days, json_string(abbr)) < 0)
				goto fail;
		}
	}
	snprintf(start, sizeof(start), "%02d:%02d", w->start_minute / 60 % 100, w->start_minute % 60);
	if (json_object_set_new(j, "start", json_string(start)) < 0)
		goto fail;
	return j;
fail:
	json_decref(j);
	return NULL;
}

/* ---------------------------------------------------------------------------------------------------
 * Evaluation.
 *
 * Occurrences are enumerated by local date and local time of day. The instant of each is non-decreasing
 * in that order: ordinary times map monotonically, a repeated time takes its first instant (before the
 * second pass of the hour), and a time in a gap maps to the instant of the jump. So a forward scan can
 * stop at the first start after a given instant and a backward scan at the first start at or before it.
 */

/* Days since 1970-01-01 -> weekday, 0 = Sunday (1970-01-01 was a Thursday). */
static int weekday(long days)
{
	long r = (days + 4) % 7;
	return (int)(r < 0 ? r + 7 : r);
}

static bool day_matches(const struct evt_window *w, long days)
{
	int y, m, d;
	tz_civil_from_days(days, &y, &m, &d);
	if (!(w->months >> m & 1))
		return false;
	bool dm = w->mdays >> d & 1, wm = w->wdays >> weekday(days) & 1;
	/* Vixie cron: when either day field starts with '*', a day must match both; otherwise either. */
	return (w->mday_star || w->wday_star) ? (dm && wm) : (dm || wm);
}

/* Local wall-clock time as seconds since 1970-01-01 00:00 read as UTC. */
static long long wall_of_tm(const struct tm *tm)
{
	return (long long)tz_days_from_civil(tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday) * 86400 +
	       tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
}

/* The instant at which local time of zone first reaches minute `minute` of local date `days`. */
static int local_start(const char *zone, long days, int minute, time_t *out)
{
	struct tm tm, lt;
	int y, m, d;
	time_t r;

	tz_civil_from_days(days, &y, &m, &d);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = minute / 60;
	tm.tm_min = minute % 60;
	tm.tm_isdst = -1;
	if (tz_mktime(zone, &tm, &r) < 0 || tz_local(zone, r, &lt) < 0)
		return FW_EINVAL;
	long long want = (long long)days * 86400 + minute * 60, got = wall_of_tm(&lt);
	if (got <= want) {
		*out = r;
		return 0;
	}
	/* Guard against a tz_mktime that normalized a time that does exist: then r - g shows it. */
	time_t exact = (time_t)(r - (got - want));
	if (tz_local(zone, exact, &lt) < 0)
		return FW_EINVAL;
	if (wall_of_tm(&lt) == want) {
		*out = exact;
		return 0;
	}
	if (tz_local(zone, r, &lt) < 0)
		return FW_EINVAL;
	/* A gap: tz_mktime moved forward by g = got - want, so the jump lies in (r - g, r]. Find it: the
	 * first instant there with the UTC offset that r has. */
	time_t lo = (time_t)(r - (got - want)), hi = r;
	long off = lt.tm_gmtoff;
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;
		if (tz_local(zone, mid, &lt) < 0)
			return FW_EINVAL;
		if (lt.tm_gmtoff == off)
			hi = mid;
		else
			lo = mid;
	}
	*out = hi;
	return 0;
}

/* The start times of one matching day, minutes after local midnight, ascending. */
static int day_minutes(const struct evt_window *w, int mins[1440])
{
	int n = 0;
	for (int h = 0; h < 24; h++) {
		if (!(w->hours >> h & 1))
			continue;
		for (int mi = 0; mi < 60; mi++) {
			if (w->minutes >> mi & 1)
				mins[n++] = h * 60 + mi;
		}
	}
	return n;
}

/* First start strictly after `after`. Days wholly before it are skipped (by the offset bound, else by
 * their last start), then the first start in the day is found by bisection: O(log n) tz lookups. */
static int next_start(const struct evt_window *w, time_t after, time_t *out)
{
	struct tm lt;
	int mins[1440], n = day_minutes(w, mins);
	if (n == 0 || tz_local(w->zone, after, &lt) < 0)
		return FW_EINVAL;
	long long wall = wall_of_tm(&lt);
	long today = tz_days_from_civil(lt.tm_year + 1900, lt.tm_mon + 1, lt.tm_mday);

	for (long day = today - 2; day <= today + SEARCH_DAYS; day++) {
		time_t s, hs;
		if (!day_matches(w, day))
			continue;
		if ((long long)day * 86400 + mins[n - 1] * 60 < wall - MAX_OFFSET_SPREAD)
			continue; /* its last start is certainly <= after */
		if (local_start(w->zone, day, mins[n - 1], &hs) < 0)
			return FW_EINVAL;
		if (hs <= after)
			continue;
		int lo = -1,
		    hi = n - 1; /* invariant: start(hi) > after, start(lo) <= after (lo = -1: none) */
		while (hi - lo > 1) {
			int mid = lo + (hi - lo) / 2;
			if (local_start(w->zone, day, mins[mid], &s) < 0)
				return FW_EINVAL;
			if (s > after) {
				hi = mid;
				hs = s;
			} else {
				lo = mid;
			}
		}
		*out = hs;
		return 0;
	}
	return FW_ENOTFOUND;
}

/* Latest start at or before `now` that is later than `floor`. */
static int last_start(const struct evt_window *w, time_t now, time_t floor, time_t *out)
{
	struct tm lt;
	int mins[1440], n = day_minutes(w, mins);
	if (n == 0 || tz_local(w->zone, now, &lt) < 0)
		return FW_EINVAL;
	long long wall = wall_of_tm(&lt);
	long today = tz_days_from_civil(lt.tm_year + 1900, lt.tm_mon + 1, lt.tm_mday);
	long long floor_wall = wall - (long long)(now - floor);

	for (long day = today + 2;; day--) {
		time_t s, ls;
		if ((long long)(day + 1) * 86400 < floor_wall - MAX_OFFSET_SPREAD)
			return FW_ENOTFOUND; /* every start from here back is certainly <= floor */
		if (!day_matches(w, day))
			continue;
		if ((long long)day * 86400 + mins[0] * 60 > wall + MAX_OFFSET_SPREAD)
			continue; /* its first start is certainly > now */
		if (local_start(w->zone, day, mins[0], &ls) < 0)
			return FW_EINVAL;
		if (ls > now)
			continue;
		int lo = 0, hi = n; /* invariant: start(lo) <= now, start(hi) > now (hi = n: none) */
		while (hi - lo > 1) {
			int mid = lo + (hi - lo) / 2;
			if (local_start(w->zone, day, mins[mid], &s) < 0)
				return FW_EINVAL;
			if (s <= now) {
				lo = mid;
				ls = s;
			} else {
				hi = mid;
			}
		}
		if (ls <= floor)
			return FW_ENOTFOUND;
		*out = ls;
		return 0;
	}
}

bool evt_window_active(const struct evt_window *w, time_t now, time_t *ends_at)
{
	time_t s;
	if (last_start(w, now, now - w->duration, &s) < 0)
		return false;
	if (ends_at)
		*ends_at = s + w->duration;
	return true;
}

int evt_window_next(const struct evt_window *w, time_t after, time_t *start, time_t *end)
{
	time_t s;
	int rc = next_start(w, after, &s);
	if (rc < 0)
		return rc;
	*start = s;
	*end = s + w->duration;
	return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Flap detection. */

void evt_flap_record(struct evt_flap *f, time_t at)
{
	f->at[f->head] = at;
	f->head = (f->head + 1) % EVT_FLAP_RING;
	if (f->count < EVT_FLAP_RING)
		f->count++;
}

unsigned evt_flap_count(const struct evt_flap *f, time_t now, time_t window)
{
	unsigned n = 0;
	if (window <= 0)
		return 0;
	/* The valid entries are the `count` slots before head; their order does not matter for counting. */
	for (unsigned i = 0; i < f->count && i < EVT_FLAP_RING; i++) {
		time_t t = f->at[(f->head + EVT_FLAP_RING - 1 - i) % EVT_FLAP_RING];
		if (t <= now && t > now - window)
			n++;
	}
	return n;
}

bool evt_flap_is_flapping(const struct evt_flap *f, time_t now, time_t window, unsigned threshold)
{
	return threshold > 0 && evt_flap_count(f, now, window) >= threshold;
}
