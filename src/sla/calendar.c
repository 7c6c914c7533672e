#include "sla/calendar.h"

#include "util/err.h"
#include "util/tz.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HOLIDAYS 10000
#define MAX_DAYS_AHEAD 36525L /* sla_cal_add gives up after 100 years */

static const char *const day_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
static const char *const day_long[7] = { "sunday", "monday", "tuesday", "wednesday",
					 "thursday", "friday", "saturday" };

int sla_weekday_parse(const char *s)
{
	if (!s)
		return -1;
	for (int i = 0; i < 7; i++)
		if (strcasecmp(s, day_names[i]) == 0 || strcasecmp(s, day_long[i]) == 0)
			return i;
	return -1;
}

int sla_weekday_of(long day)
{
	/* 1970-01-01 was a Thursday. */
	long w = (day + 4) % 7;
	return (int)(w < 0 ? w + 7 : w);
}

static int two_digits(const char *s)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

int sla_time_of_day_parse(const char *s, bool allow_24, int *secs)
{
	int h, m, sec = 0;
	size_t len = s ? strlen(s) : 0;

	if (len != 5 && len != 8)
		return FW_EINVAL;
	h = two_digits(s);
	m = two_digits(s + 3);
	if (s[2] != ':' || h < 0 || m < 0 || h > 24 || m > 59)
		return FW_EINVAL;
	if (len == 8) {
		sec = two_digits(s + 6);
		if (s[5] != ':' || sec < 0 || sec > 59)
			return FW_EINVAL;
	}
	if (h == 24 && (m || sec || !allow_24))
		return FW_EINVAL;
	*secs = h * 3600 + m * 60 + sec;
	return 0;
}

/* "YYYY-MM-DD" to a day number; rejects dates that do not exist (2023-02-29). */
static int parse_date(const char *s, long *day)
{
	int y, mo, d, ry, rmo, rd;

	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return FW_EINVAL;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return FW_EINVAL;
	y = atoi(s);
	mo = two_digits(s + 5);
	d = two_digits(s + 8);
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return FW_EINVAL;
	*day = tz_days_from_civil(y, mo, d);
	tz_civil_from_days(*day, &ry, &rmo, &rd);
	return ry == y && rmo == mo && rd == d ? 0 : FW_EINVAL;
}

static void format_day(long day, char *buf, size_t size)
{
	int y, m, d;
	tz_civil_from_days(day, &y, &m, &d);
	snprintf(buf, size, "%04d-%02d-%02d", y, m, d);
}

int sla_local_day(const char *zone, time_t t, long *day, int *secs)
{
	struct tm tm;
	int rc = tz_local(zone, t, &tm);
	if (rc)
		return rc;
	*day = tz_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	*secs = tm.tm_hour * 3600 + tm.tm_min * 60 + (tm.tm_sec > 59 ? 59 : tm.tm_sec);
	return 0;
}

static int offset_at(const char *zone, time_t t, long *off)
{
	struct tm tm;
	int rc = tz_local(zone, t, &tm);
	if (rc)
		return rc;
	*off = tm.tm_gmtoff;
	return 0;
}

/* Local to UTC through tz_local() offsets alone, so the gap and overlap rules are explicit here rather
 * than left to mktime's tm_isdst guesses (when this was written, tz_mktime() read summer wall clocks
 * as standard time: 09:00 on 2024-03-31 in Berlin came back as 08:00Z, not 07:00Z).
 * Every real zone changes its offset at most once within two days, so the offsets a day before and a
 * day after the wall-clock reading are the only candidates. */
int sla_local_instant(const char *zone, long day, int secs, time_t *out)
{
	time_t wall = (time_t)(day + secs / SLA_DAY_SECONDS) * SLA_DAY_SECONDS + secs % SLA_DAY_SECONDS;
	long o1, o2, c1, c2;
	int rc;

	if ((rc = offset_at(zone, wall - SLA_DAY_SECONDS, &o1)) ||
	    (rc = offset_at(zone, wall + SLA_DAY_SECONDS, &o2)))
		return rc;
	if (o1 == o2) {
		*out = wall - o1;
		return 0;
	}
	if ((rc = offset_at(zone, wall - o1, &c1)) || (rc = offset_at(zone, wall - o2, &c2)))
		return rc;
	if (c1 == o1 && c2 == o2) /* repeated wall-clock time: the earlier instant */
		*out = wall - o1 < wall - o2 ? wall - o1 : wall - o2;
	else if (c1 == o1)
		*out = wall - o1;
	else if (c2 == o2)
		*out = wall - o2;
	else /* skipped wall-clock time: read with the old offset it lands just after the gap */
		*out = wall - o1;
	return 0;
}

/* ---- evaluation ---- */

static bool is_holiday(const struct sla_calendar *cal, long day)
{
	size_t lo = 0, hi = cal->n_holidays;

	while (lo < hi) { /* first holiday whose last day is >= day */
		size_t mid = lo + (hi - lo) / 2;
		if (cal->holidays[mid].last < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < cal->n_holidays && cal->holidays[lo].first <= day;
}

/* Midnights are asked for in day order, each twice (as the end of one day and the start of the next),
 * so one remembered value halves the tz conversions. */
struct midnight_cache {
	long day;
	time_t t;
	bool valid;
};

static int midnight(const struct sla_calendar *cal, long day, struct midnight_cache *c, time_t *out)
{
	int rc;
	if (c->valid && c->day == day) {
		*out = c->t;
		return 0;
	}
	rc = sla_local_instant(cal->zone, day, 0, out);
	if (rc)
		return rc;
	c->day = day;
	c->t = *out;
	c->valid = true;
	return 0;
}

/* The working intervals of local date day as instants, ascending; *n = 0 on days off. */
static int day_spans(const struct sla_calendar *cal, long day, struct midnight_cache *c,
		     time_t spans[][2], int *n)
{
	int wd = sla_weekday_of(day), rc;
	time_t m0, m1;

	*n = 0;
	if (!cal->n_hours[wd] || is_holiday(cal, day))
		return 0;
	if ((rc = midnight(cal, day, c, &m0)) || (rc = midnight(cal, day + 1, c, &m1)))
		return rc;
	for (int i = 0; i < cal->n_hours[wd]; i++) {
		const struct sla_hours *h = &cal->hours[wd][i];
		time_t a, b;
		if (m1 - m0 == SLA_DAY_SECONDS) {
			a = m0 + h->start;
			b = m0 + h->end;
		} else { /* a DST change (or another offset change) happens on this day */
			if ((rc = sla_local_instant(cal->zone, day, h->start, &a)) ||
			    (rc = sla_local_instant(cal->zone, day, h->end, &b)))
				return rc;
			if (*n && a < spans[*n - 1][1])
				a = spans[*n - 1][1];
		}
		if (b > a) {
			spans[*n][0] = a;
			spans[*n][1] = b;
			(*n)++;
		}
	}
	return 0;
}

static bool plain_24x7(const struct sla_calendar *cal)
{
	return cal->always && cal->n_holidays == 0;
}

int sla_cal_business_seconds(const struct sla_calendar *cal, time_t from, time_t to, long *out)
{
	struct midnight_cache c = { 0 };
	time_t spans[SLA_CAL_MAX_INTERVALS][2];
	long first, last, total = 0;
	int secs, n, rc;

	*out = 0;
	if (to <= from)
		return 0;
	if (plain_24x7(cal)) {
		*out = (long)(to - from);
		return 0;
	}
	if ((rc = sla_local_day(cal->zone, from, &first, &secs)) ||
	    (rc = sla_local_day(cal->zone, to, &last, &secs)))
		return rc;
	for (long day = first; day <= last; day++) {
		if ((rc = day_spans(cal, day, &c, spans, &n)))
			return rc;
		for (int i = 0; i < n; i++) {
			time_t a = spans[i][0] > from ? spans[i][0] : from;
			time_t b = spans[i][1] < to ? spans[i][1] : to;
			if (b > a)
				total += (long)(b - a);
		}
	}
	*out = total;
	return 0;
}

int sla_cal_add(const struct sla_calendar *cal, time_t start, long seconds, time_t *out)
{
	struct midnight_cache c = { 0 };
	time_t spans[SLA_CAL_MAX_INTERVALS][2];
	long day, left = seconds;
	int secs, n, rc;

	if (seconds < 0)
		return FW_EINVAL;
	if (seconds == 0 || plain_24x7(cal)) {
		*out = start + seconds;
		return 0;
	}
	if ((rc = sla_local_day(cal->zone, start, &day, &secs)))
		return rc;
	for (long end = day + MAX_DAYS_AHEAD; day < end; day++) {
		if ((rc = day_spans(cal, day, &c, spans, &n)))
			return rc;
		for (int i = 0; i < n; i++) {
			time_t a = spans[i][0] > start ? spans[i][0] : start;
			if (spans[i][1] <= a)
				continue;
			if (left <= spans[i][1] - a) {
				*out = a + left;
				return 0;
			}
			left -= (long)(spans[i][1] - a);
		}
	}
	return FW_EINVAL;
}

bool sla_cal_is_open(const struct sla_calendar *cal, time_t t)
{
	struct midnight_cache c = { 0 };
	time_t spans[SLA_CAL_MAX_INTERVALS][2];
	long day;
	int secs, n;

	if (plain_24x7(cal))
		return true;
	if (sla_local_day(cal->zone, t, &day, &secs) || day_spans(cal, day, &c, spans, &n))
		return false;
	for (int i = 0; i < n; i++)
		if (t >= spans[i][0] && t < spans[i][1])
			return true;
	return false;
}

/* ---- parsing ---- */

#define FAIL(code, ...) fw_fail(e, 422, code, __VA_ARGS__)

/* Parses an array of {"start","end"} into hours; where names the field for messages. */
static int parse_hours(const json_t *arr, const char *where, struct sla_hours *hours, unsigned char *n,
		       struct fw_error *e)
{
	size_t i;
	const json_t *iv;

	if (!json_is_array(arr))
		return FAIL("invalid_calendar", "%s must be an array of {\"start\":\"HH:MM\",\"end\":\"HH:MM\"}",
			    where);
	if (json_array_size(arr) > SLA_CAL_MAX_INTERVALS)
		return FAIL("invalid_calendar", "%s has %zu intervals; at most %d are allowed per day", where,
			    json_array_size(arr), SLA_CAL_MAX_INTERVALS);
	*n = 0;
	json_array_foreach(arr, i, iv) {
		const char *s = json_string_value(json_object_get(iv, "start"));
		const char *en = json_string_value(json_object_get(iv, "end"));
		struct sla_hours h;

		if (!s || !en)
			return FAIL("invalid_calendar", "%s[%zu] needs \"start\" and \"end\" as \"HH:MM\" strings",
				    where, i);
		if (sla_time_of_day_parse(s, false, &h.start))
			return FAIL("invalid_time", "%s[%zu].start '%s' is not a time of day (HH:MM, 00:00 to 23:59)",
				    where, i, s);
		if (sla_time_of_day_parse(en, true, &h.end))
			return FAIL("invalid_time", "%s[%zu].end '%s' is not a time of day (HH:MM, 00:00 to 24:00)",
				    where, i, en);
		if (h.end <= h.start)
			return FAIL("invalid_interval",
				    "%s[%zu] ends at %s, not after its start %s; split a shift over midnight into "
				    "two days' intervals",
				    where, i, en, s);
		hours[(*n)++] = h;
	}
	/* Sort by start (insertion: at most 8), then reject overlaps. */
	for (int a = 1; a < *n; a++)
		for (int b = a; b > 0 && hours[b].start < hours[b - 1].start; b--) {
			struct sla_hours t = hours[b];
			hours[b] = hours[b - 1];
			hours[b - 1] = t;
		}
	for (int a = 1; a < *n; a++)
		if (hours[a].start < hours[a - 1].end)
			return FAIL("overlapping_hours", "%s has overlapping intervals; merge them into one", where);
	return 0;
}

struct holiday_in {
	struct sla_holiday h;
	size_t index;
};

static int cmp_holiday(const void *a, const void *b)
{
	const struct holiday_in *x = a, *y = b;
	if (x->h.first != y->h.first)
		return x->h.first < y->h.first ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int parse_holidays(const json_t *arr, struct sla_calendar *cal, struct fw_error *e)
{
	struct holiday_in *in = NULL;
	const json_t *v;
	size_t i, n = json_array_size(arr);
	int rc = 0;

	if (!json_is_array(arr))
		return FAIL("invalid_calendar", "holidays must be an array of \"YYYY-MM-DD\" dates or "
						"{\"start\",\"end\"} date ranges");
	if (n > MAX_HOLIDAYS)
		return FAIL("invalid_calendar", "holidays has %zu entries; at most %d are allowed", n,
			    MAX_HOLIDAYS);
	if (n == 0)
		return 0;
	in = calloc(n, sizeof(*in));
	if (!in)
		return FW_ENOMEM;
	json_array_foreach(arr, i, v) {
		const char *s, *en;
		if (json_is_string(v)) {
			s = en = json_string_value(v);
		} else if (json_is_object(v)) {
			s = json_string_value(json_object_get(v, "start"));
			en = json_object_get(v, "end") ? json_string_value(json_object_get(v, "end")) : s;
			if (!s || !en) {
				rc = FAIL("invalid_calendar", "holidays[%zu] needs \"start\" (and optionally \"end\") "
							      "as \"YYYY-MM-DD\" strings", i);
				goto out;
			}
		} else {
			rc = FAIL("invalid_calendar", "holidays[%zu] must be a \"YYYY-MM-DD\" string or a "
						      "{\"start\",\"end\"} object", i);
			goto out;
		}
		if (parse_date(s, &in[i].h.first) || parse_date(en, &in[i].h.last)) {
			rc = FAIL("invalid_date", "holidays[%zu] '%s' is not a calendar date (YYYY-MM-DD)", i,
				  parse_date(s, &in[i].h.first) ? s : en);
			goto out;
		}
		if (in[i].h.last < in[i].h.first) {
			rc = FAIL("invalid_interval", "holidays[%zu] ends on %s, before its start %s", i, en, s);
			goto out;
		}
		in[i].index = i;
	}
	qsort(in, n, sizeof(*in), cmp_holiday);
	for (i = 1; i < n; i++) {
		if (in[i].h.first <= in[i - 1].h.last) {
			char d[16];
			format_day(in[i].h.first, d, sizeof(d));
			rc = FAIL("overlapping_holidays",
				  "holidays[%zu] and holidays[%zu] overlap on %s; list each day off once or merge "
				  "the ranges",
				  in[i - 1].index < in[i].index ? in[i - 1].index : in[i].index,
				  in[i - 1].index < in[i].index ? in[i].index : in[i - 1].index, d);
			goto out;
		}
	}
	cal->holidays = malloc(n * sizeof(*cal->holidays));
	if (!cal->holidays) {
		rc = FW_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		cal->holidays[i] = in[i].h;
	cal->n_holidays = n;
out:
	free(in);
	return rc;
}

static int parse_body(const json_t *obj, struct sla_calendar *cal, struct fw_error *e)
{
	const json_t *tz, *always, *wd, *wh, *days, *hol, *v;
	const char *key;
	bool working[7] = { false, true, true, true, true, true, false };
	unsigned char n_default = 0;
	struct sla_hours dflt[SLA_CAL_MAX_INTERVALS];
	size_t i;
	int rc, any = 0;

	if (!json_is_object(obj))
		return FAIL("invalid_calendar", "calendar must be a JSON object");
	tz = json_object_get(obj, "timezone");
	if (!json_is_string(tz))
		return FAIL("invalid_calendar", "timezone is required: an IANA zone name such as \"Europe/Berlin\"");
	if (strlen(json_string_value(tz)) >= sizeof(cal->zone) || !tz_valid(json_string_value(tz)))
		return FAIL("unknown_time_zone", "timezone '%.100s' is not a known IANA time zone "
						 "(for example \"Europe/Berlin\" or \"UTC\")", json_string_value(tz));
	snprintf(cal->zone, sizeof(cal->zone), "%s", json_string_value(tz));

	always = json_object_get(obj, "24x7");
	if (always && !json_is_boolean(always))
		return FAIL("invalid_calendar", "24x7 must be true or false");
	cal->always = json_is_true(always);
	wd = json_object_get(obj, "working_days");
	wh = json_object_get(obj, "working_hours");
	days = json_object_get(obj, "days");
	if (cal->always && (wd || wh || days))
		return FAIL("invalid_calendar", "a 24x7 calendar takes no working_days, working_hours or days");

	if (cal->always) {
		for (int d = 0; d < 7; d++) {
			cal->n_hours[d] = 1;
			cal->hours[d][0] = (struct sla_hours){ 0, SLA_DAY_SECONDS };
		}
	} else {
		if (wd) {
			if (!json_is_array(wd))
				return FAIL("invalid_calendar", "working_days must be an array of day names (\"mon\" .. \"sun\")");
			memset(working, 0, sizeof(working));
			json_array_foreach(wd, i, v) {
				int d = sla_weekday_parse(json_string_value(v));
				if (d < 0)
					return FAIL("invalid_calendar", "working_days[%zu] is not a day name; use \"mon\" .. \"sun\"", i);
				working[d] = true;
			}
		}
		if (wh && (rc = parse_hours(wh, "working_hours", dflt, &n_default, e)))
			return rc;
		for (int d = 0; d < 7; d++) {
			cal->n_hours[d] = working[d] ? n_default : 0;
			memcpy(cal->hours[d], dflt, n_default * sizeof(dflt[0]));
		}
		if (days) {
			if (!json_is_object(days))
				return FAIL("invalid_calendar", "days must be an object keyed by day name, e.g. {\"sat\": [...]}");
			json_object_foreach((json_t *)days, key, v) {
				char where[48];
				int d = sla_weekday_parse(key);
				if (d < 0)
					return FAIL("invalid_calendar", "days.%.20s is not a day name; use \"mon\" .. \"sun\"", key);
				snprintf(where, sizeof(where), "days.%s", key);
				if ((rc = parse_hours(v, where, cal->hours[d], &cal->n_hours[d], e)))
					return rc;
			}
		}
		for (int d = 0; d < 7; d++)
			any |= cal->n_hours[d];
		if (!any)
			return FAIL("no_working_hours", "the calendar has no working time: give working_hours (and "
							"working_days), per-day hours in days, or set 24x7");
	}
	hol = json_object_get(obj, "holidays");
	if (hol && (rc = parse_holidays(hol, cal, e)))
		return rc;
	return 0;
}

int sla_cal_parse(const json_t *obj, struct sla_calendar *out, struct fw_error *e)
{
	struct sla_calendar init = SLA_CALENDAR_INIT, cal = { 0 };
	int rc = parse_body(obj, &cal, e);

	if (rc) {
		free(cal.holidays);
		*out = init;
		return rc;
	}
	*out = cal;
	return 0;
}

void sla_cal_release(struct sla_calendar *cal)
{
	struct sla_calendar init = SLA_CALENDAR_INIT;
	free(cal->holidays);
	*cal = init;
}
