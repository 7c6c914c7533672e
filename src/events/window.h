#ifndef EVT_WINDOW_H
#define EVT_WINDOW_H
/* Recurring windows (maintenance windows) and flap counting.
 *
 * A window is a schedule of start times in an IANA time zone plus a duration. The schedule is either
 * weekly (days of the week and a local start time HH:MM) or a 5-field cron expression
 * (minute hour day-of-month month day-of-week). Start times are local wall-clock times; the duration is
 * elapsed time, so a window always lasts exactly its duration, also across a DST change.
 * A start time that falls into a DST gap (02:30 on the night clocks jump from 02:00 to 03:00) starts at
 * the jump, when the clock first shows a later time, as cron does; one that occurs twice (the night
 * clocks go back) starts at its first occurrence. Times are whole seconds (time_t, UTC). */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct fw_error;

enum evt_window_kind {
	EVT_WINDOW_WEEKLY,
	EVT_WINDOW_CRON,
};

/* Durations are limited to this (31 days), at least one minute. */
#define EVT_WINDOW_MAX_DURATION (31L * 86400)

/* A parsed window. A plain value: it owns no memory, can be copied with =, needs no release. */
struct evt_window {
	enum evt_window_kind kind;
	char zone[64]; /* IANA name, valid per tz_valid() when parsed */
	long duration; /* seconds, 60..EVT_WINDOW_MAX_DURATION */
	/* Weekly. */
	uint8_t days;	  /* bit d set = weekday d, 0 = Sunday … 6 = Saturday */
	int start_minute; /* minutes after local midnight, 0..1439 */
	/* Cron (also filled for weekly windows, so one evaluator serves both). */
	char cron[128];	  /* the expression as given (cron windows only) */
	uint64_t minutes; /* bit m: minute m (0-59) */
	uint32_t hours;	  /* bit h: hour h (0-23) */
	uint32_t mdays;	  /* bit d: day of month d (1-31) */
	uint16_t months;  /* bit m: month m (1-12) */
	uint8_t wdays;	  /* bit d: weekday d (0-6, Sunday = 0) */
	bool mday_star;	  /* the day-of-month field started with '*' (cron's day rule, see window.c) */
	bool wday_star;
};

/* Parses a window from a JSON object, reading only these members:
 *   "timezone": IANA zone name, default "UTC";
 *   either "days": ["mon", "tuesday", …] (case-insensitive, three-letter or full names) with
 *          "start": "HH:MM" (00:00-23:59),
 *   or     "cron": "m h dom mon dow" (*, lists, ranges, steps, JAN-DEC, SUN-SAT, 7 = Sunday, and the
 *          macros @hourly @daily @midnight @weekly @monthly @yearly @annually);
 *   "duration": a string of whole units h/m/s like "4h", "1h30m", "90m", or an integer of seconds.
 * Errors (e may be NULL): 422 missing_field / invalid_type for absent or mistyped members; 400
 * invalid_timezone, invalid_schedule (naming the cron field or the day) or invalid_duration.
 * Returns 0 or FW_EINVAL; *w is fully written on success only. obj is not consumed. */
int evt_window_from_json(struct evt_window *w, const json_t *obj, struct fw_error *e);

/* Parses a cron expression alone into the cron fields of *w (kind = EVT_WINDOW_CRON; zone and duration are
 * left as they are). 400 invalid_schedule, also for expressions that can never fire ("0 0 31 2 *").
 * Returns 0 or FW_EINVAL. */
int evt_window_parse_cron(struct evt_window *w, const char *expr, struct fw_error *e);

/* Returns a new reference to the JSON form that evt_window_from_json() reads back (duration as a string
 * such as "1h30m"), or NULL on allocation failure. The caller owns it. */
json_t *evt_window_to_json(const struct evt_window *w);

/* True when an occurrence covers now (start <= now < start + duration). Then *ends_at (when not NULL)
 * is when the latest-starting covering occurrence ends; an overlapping later occurrence may keep the
 * window active past it, so a scheduler should evaluate again at *ends_at. False when not active, and
 * also when the zone can no longer be loaded (the tz database changed): a window that cannot be
 * evaluated does not suppress anything. */
bool evt_window_active(const struct evt_window *w, time_t now, time_t *ends_at);

/* The first occurrence that starts strictly after `after`: *start and *end = *start + duration.
 * Iterate with after = *start. As all occurrences have the same duration, after = t - duration
 * yields the first occurrence still running or starting after t (for a calendar view from t).
 * Returns 0, FW_ENOTFOUND when there is none within ~11 years, or FW_EINVAL (zone not loadable). */
int evt_window_next(const struct evt_window *w, time_t after, time_t *start, time_t *end);

/* Flap detection: the times of an alarm's recent state changes in a fixed ring. A value: copy with =. */
#define EVT_FLAP_RING 32

struct evt_flap {
	time_t at[EVT_FLAP_RING]; /* change times in the order recorded; only the last `count` are valid */
	unsigned head;		  /* slot the next change is written to */
	unsigned count;		  /* valid entries, at most EVT_FLAP_RING */
};

#define EVT_FLAP_INIT       \
	{                   \
		{ 0 }, 0, 0 \
	}

/* Records a state change at `at`, overwriting the oldest record when the ring is full. */
void evt_flap_record(struct evt_flap *f, time_t at);

/* The number of recorded changes in (now - window, now]; changes recorded with a time after now are not
 * counted. 0 when window <= 0. At most EVT_FLAP_RING. */
unsigned evt_flap_count(const struct evt_flap *f, time_t now, time_t window);

/* True when evt_flap_count() >= threshold. A threshold of 0 disables detection (always false); one above
 * EVT_FLAP_RING can never be reached. */
bool evt_flap_is_flapping(const struct evt_flap *f, time_t now, time_t window, unsigned threshold);

#endif
