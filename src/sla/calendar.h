#ifndef FW_SLA_CALENDAR_H
#define FW_SLA_CALENDAR_H
/* Business-hours calendars: which instants count toward an SLA target. A calendar has an IANA time
 * zone, working intervals per weekday in local wall-clock time, and holidays (local dates, whole
 * days off). Everything is computed on UTC instants (time_t), so results stay right across DST
 * changes: a Berlin 09:00-17:00 day is 8 hours on both sides of the last Sunday of March, and a
 * 24-hour working day on that Sunday is 23 hours. Pure logic: no I/O besides the tz database. */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

struct fw_error;

#define SLA_CAL_MAX_INTERVALS 8 /* working intervals per weekday */
#define SLA_DAY_SECONDS 86400

/* [start, end) in seconds since local midnight; end may be SLA_DAY_SECONDS (24:00). */
struct sla_hours {
	int start;
	int end;
};

/* Inclusive range of local dates, as days since 1970-01-01 (tz_days_from_civil). */
struct sla_holiday {
	long first;
	long last;
};

/* Invariants after sla_cal_parse(): zone is valid; hours[d] (d = 0 Sunday .. 6 Saturday) holds
 * n_hours[d] sorted, non-overlapping intervals with start < end; at least one weekday has hours;
 * holidays are sorted and disjoint. `always` (24x7) means every weekday is 00:00-24:00. */
struct sla_calendar {
	char zone[64];
	bool always;
	unsigned char n_hours[7];
	struct sla_hours hours[7][SLA_CAL_MAX_INTERVALS];
	struct sla_holiday *holidays; /* owned; freed by sla_cal_release() */
	size_t n_holidays;
};

/* A 24x7 UTC calendar without holidays; valid as is and needs no release. */
#define SLA_CALENDAR_INIT                                                                             \
	{                                                                                            \
		.zone = "UTC", .always = true, .n_hours = { 1, 1, 1, 1, 1, 1, 1 },                   \
		.hours = { { { 0, SLA_DAY_SECONDS } }, { { 0, SLA_DAY_SECONDS } },                  \
			   { { 0, SLA_DAY_SECONDS } }, { { 0, SLA_DAY_SECONDS } },                  \
			   { { 0, SLA_DAY_SECONDS } }, { { 0, SLA_DAY_SECONDS } },                  \
			   { { 0, SLA_DAY_SECONDS } } },                                            \
	}

/* Parses a calendar object into *out; the caller releases it with sla_cal_release(). The JSON is only
 * read (no reference taken). On failure *out is left as SLA_CALENDAR_INIT (nothing to release) and e
 * says which field is wrong (status 422). Accepted form (unknown keys are ignored):
 *   {"timezone": "Europe/Berlin",                       required
 *    "24x7": false,                                     true: every day 00:00-24:00
 *    "working_days": ["mon","tue","wed","thu","fri"],   default Monday to Friday
 *    "working_hours": [{"start":"09:00","end":"17:00"}], required unless 24x7 or "days" covers it
 *    "days": {"sat": [{"start":"10:00","end":"14:00"}], "fri": []},  per-day replacement
 *    "holidays": ["2024-12-25", {"start":"2024-12-31","end":"2025-01-01","name":"New Year"}]} */
int sla_cal_parse(const json_t *obj, struct sla_calendar *out, struct fw_error *e);

/* Frees what the calendar owns and resets it to SLA_CALENDAR_INIT. */
void sla_cal_release(struct sla_calendar *cal);

/* Business seconds in [from, to) into *out (0 when to <= from). Returns 0 or FW_EINVAL. */
int sla_cal_business_seconds(const struct sla_calendar *cal, time_t from, time_t to, long *out);

/* The earliest instant t >= start with sla_cal_business_seconds(start, t) == seconds, into *out: the due
 * instant of a target. A budget that runs out exactly at 17:00 on Friday is due at 17:00 on Friday,
 * not at 09:00 on Monday; seconds == 0 gives start. Returns 0, or FW_EINVAL for negative seconds or
 * a due date more than 100 years away. */
int sla_cal_add(const struct sla_calendar *cal, time_t start, long seconds, time_t *out);

/* True when t is inside working hours (and not on a holiday). */
bool sla_cal_is_open(const struct sla_calendar *cal, time_t t);

/* Helpers shared with the on-call schedules. */

/* Parses "HH:MM" or "HH:MM:SS" into seconds since midnight; "24:00" only when allow_24.
 * Returns 0 or FW_EINVAL. */
int sla_time_of_day_parse(const char *s, bool allow_24, int *secs);

/* "sun".."sat" (or full English names, any case) to 0..6; -1 when not a weekday. */
int sla_weekday_parse(const char *s);

/* Weekday (0 = Sunday) of a day number counted from 1970-01-01. */
int sla_weekday_of(long day);

/* The local date (days since 1970-01-01) and seconds since local midnight of t in zone.
 * Returns 0 or FW_EINVAL. */
int sla_local_day(const char *zone, time_t t, long *day, int *secs);

/* The instant of local date day at secs after midnight (secs may be SLA_DAY_SECONDS or more: it
 * rolls into the next days). Wall-clock times skipped by DST resolve to the later valid instant,
 * repeated ones to the earlier. Computed from tz_local() offsets. Returns 0 or FW_EINVAL. */
int sla_local_instant(const char *zone, long day, int secs, time_t *out);

#endif
