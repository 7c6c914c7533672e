/* Unit tests for src/events/window.c: weekly and cron windows across midnight and DST, next occurrences,
 * invalid schedules, flap counting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "events/window.h"
#include "util/err.h"
#include "util/tz.h"

/* A UTC instant from its civil parts. */
static time_t utc(int y, int mo, int d, int h, int mi)
{
	return (time_t)tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

/* Parses a window from a JSON literal and expects success. */
static struct evt_window W(const char *text) {
	struct evt_window w;
	struct fw_error e = { 0 };
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	assert_non_null(j);
	int rc = evt_window_from_json(&w, j, &e);
	if (rc != 0)
		print_error("%s: %s\n", text, e.message);
	assert_int_equal(rc, 0);
	json_decref(j);
	return w;
}

/* Expects the JSON to be rejected with this status and code, and a message containing `part`. */
static void
rejected(const char *text, int status, const char *code, const char *part)
{
	struct evt_window w;
	struct fw_error e = { 0 };
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	assert_non_null(j);
	assert_int_equal(evt_window_from_json(&w, j, &e), FW_EINVAL);
	json_decref(j);
	if (e.status != status || strcmp(e.code, code) != 0 || !strstr(e.message, part))
		print_error("%s: got %d %s \"%s\"\n", text, e.status, e.code, e.message);
	assert_int_equal(e.status, status);
	assert_string_equal(e.code, code);
	assert_non_null(strstr(e.message, part));
}

/* Asserts the next occurrence after `after` starts at `start`. */
static void next_is(const struct evt_window *w, time_t after, time_t start)
{
	time_t s = 0, end = 0;
	assert_int_equal(evt_window_next(w, after, &s, &end), 0);
	if (s != start) {
		char got[32], want[32];
		struct tm tg, tw;
		gmtime_r(&s, &tg);
		gmtime_r(&start, &tw);
		strftime(got, sizeof(got), "%Y-%m-%dT%H:%M:%SZ", &tg);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tw);
		print_error("next start %s, expected %s\n", got, want);
	}
	assert_int_equal(s, start);
	assert_int_equal(end, start + w->duration);
}

static void weekly_across_midnight(void **state)
{
	/* 2024-05-04 is a Saturday. */
	struct evt_window w =
		W("{\"timezone\":\"UTC\",\"days\":[\"sat\"],\"start\":\"22:00\",\"duration\":\"4h\"}");
	time_t ends = 0;
	assert_false(evt_window_active(&w, utc(2024, 5, 4, 21, 59), &ends));
	assert_true(evt_window_active(&w, utc(2024, 5, 4, 22, 0), &ends));
	assert_int_equal(ends, utc(2024, 5, 5, 2, 0));
	assert_true(evt_window_active(&w, utc(2024, 5, 5, 1, 59), &ends));
	assert_int_equal(ends, utc(2024, 5, 5, 2, 0));
	assert_false(evt_window_active(&w, utc(2024, 5, 5, 2, 0), &ends));  /* the end is exclusive */
	assert_false(evt_window_active(&w, utc(2024, 5, 8, 23, 0), &ends)); /* a Wednesday */
	next_is(&w, utc(2024, 5, 5, 1, 0), utc(2024, 5, 11, 22, 0));
}

static void weekly_keeps_local_time_across_dst_berlin(void **state)
{
	/* Every day at 09:00 Berlin time: 08:00 UTC in winter (CET), 07:00 UTC in summer (CEST).
	 * The clocks went forward on Sunday 2024-03-31 at 02:00 CET. */
	struct evt_window w =
		W("{\"timezone\":\"Europe/Berlin\",\"days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\","
		  "\"sat\",\"sun\"],\"start\":\"09:00\",\"duration\":\"1h\"}");
	next_is(&w, utc(2024, 3, 29, 12, 0), utc(2024, 3, 30, 8, 0));
	next_is(&w, utc(2024, 3, 30, 8, 0), utc(2024, 3, 31, 7, 0));
	time_t ends = 0;
	assert_true(evt_window_active(&w, utc(2024, 3, 31, 7, 30), &ends));
	assert_int_equal(ends, utc(2024, 3, 31, 8, 0));
	assert_false(evt_window_active(&w, utc(2024, 3, 31, 8, 30), &ends)); /* 10:30 CEST */
	/* And back on Sunday 2024-10-27 at 03:00 CEST. */
	next_is(&w, utc(2024, 10, 26, 12, 0), utc(2024, 10, 27, 8, 0));
}

static void weekly_window_spanning_the_dst_change(void **state)
{
	/* Saturday 23:00 Berlin for 4 hours on the night the clocks go forward: it starts at 22:00 UTC
	 * and lasts 4 elapsed hours, so it ends at 02:00 UTC = 04:00 CEST (not 03:00 local). */
	struct evt_window w = W("{\"timezone\":\"Europe/"
				"Berlin\",\"days\":[\"Saturday\"],\"start\":\"23:00\",\"duration\":\"4h\"}");
	time_t ends = 0;
	assert_true(evt_window_active(&w, utc(2024, 3, 31, 1, 30), &ends));
	assert_int_equal(ends, utc(2024, 3, 31, 2, 0));
	assert_false(evt_window_active(&w, utc(2024, 3, 31, 2, 0), &ends));
	next_is(&w, utc(2024, 3, 30, 12, 0), utc(2024, 3, 30, 22, 0));
	/* The next Saturday is in summer time: 23:00 CEST = 21:00 UTC. */
	next_is(&w, utc(2024, 3, 30, 22, 0), utc(2024, 4, 6, 21, 0));
}

static void start_in_gap_and_overlap(void **state)
{
	/* 02:30 does not exist in Berlin on 2024-03-31: the window starts at the jump, 03:00 CEST = 01:00
	 * UTC. */
	struct evt_window w =
		W("{\"timezone\":\"Europe/Berlin\",\"days\":[\"sun\"],\"start\":\"02:30\",\"duration\":"
		  "\"30m\"}");
	next_is(&w, utc(2024, 3, 30, 0, 0), utc(2024, 3, 31, 1, 0));
	time_t ends = 0;
	assert_true(evt_window_active(&w, utc(2024, 3, 31, 1, 10), &ends));
	assert_int_equal(ends, utc(2024, 3, 31, 1, 30));
	/* 02:30 happens twice on 2024-10-27: the first time, 02:30 CEST = 00:30 UTC, and only then. */
	next_is(&w, utc(2024, 10, 26, 0, 0), utc(2024, 10, 27, 0, 30));
	next_is(&w, utc(2024, 10, 27, 0, 30), utc(2024, 11, 3, 1, 30));
	assert_false(evt_window_active(&w, utc(2024, 10, 27, 1, 40), &ends)); /* the second 02:40 */
}

static void cron_weekly_sunday_2am(void **state)
{
	struct evt_window w = W("{\"cron\":\"0 2 * * 0\",\"duration\":\"1h\"}");
	assert_int_equal(w.kind, EVT_WINDOW_CRON);
	assert_string_equal(w.zone, "UTC");
	/* 2024-05-01 is a Wednesday; the next Sunday is 2024-05-05. */
	next_is(&w, utc(2024, 5, 1, 0, 0), utc(2024, 5, 5, 2, 0));
	next_is(&w, utc(2024, 5, 5, 2, 0), utc(2024, 5, 12, 2, 0));
	time_t ends = 0;
	assert_true(evt_window_active(&w, utc(2024, 5, 5, 2, 30), &ends));
	assert_int_equal(ends, utc(2024, 5, 5, 3, 0));
	assert_false(evt_window_active(&w, utc(2024, 5, 5, 3, 0), &ends));
	assert_false(evt_window_active(&w, utc(2024, 5, 6, 2, 30), &ends));
	/* 7 is Sunday too, and names work. */
	struct evt_window w7 = W("{\"cron\":\"0 2 * * 7\",\"duration\":\"1h\"}");
	next_is(&w7, utc(2024, 5, 1, 0, 0), utc(2024, 5, 5, 2, 0));
	struct evt_window wn = W("{\"cron\":\"0 2 * * SUN\",\"duration\":\"1h\"}");
	next_is(&wn, utc(2024, 5, 1, 0, 0), utc(2024, 5, 5, 2, 0));
}

static void cron_lists_ranges_steps(void **state)
{
	/* Every 15 minutes from 09:00 to 17:45 on weekdays. 2024-05-03 is a Friday. */
	struct evt_window w = W("{\"cron\":\"*/15 9-17 * * 1-5\",\"duration\":\"5m\",\"timezone\":\"UTC\"}");
	next_is(&w, utc(2024, 5, 3, 17, 40), utc(2024, 5, 3, 17, 45));
	next_is(&w, utc(2024, 5, 3, 17, 45), utc(2024, 5, 6, 9, 0));
	next_is(&w, utc(2024, 5, 6, 9, 0), utc(2024, 5, 6, 9, 15));

	struct evt_window l = W("{\"cron\":\"30 4 1,15 * *\",\"duration\":\"1h\"}");
	next_is(&l, utc(2024, 5, 1, 4, 30), utc(2024, 5, 15, 4, 30));
	next_is(&l, utc(2024, 5, 15, 4, 30), utc(2024, 6, 1, 4, 30));

	struct evt_window m = W("{\"cron\":\"0 3 * JAN-MAR,dec mon\",\"duration\":\"1h\"}");
	next_is(&m, utc(2024, 3, 26, 0, 0), utc(2024, 12, 2, 3, 0));

	/* "a/n" runs from a to the end of the range. */
	struct evt_window s = W("{\"cron\":\"50/5 * * * *\",\"duration\":\"1m\"}");
	next_is(&s, utc(2024, 5, 1, 10, 56), utc(2024, 5, 1, 11, 50));
}

static void cron_day_fields_follow_vixie(void **state)
{
	/* Both day fields restricted: either may match (the 13th, or any Friday). 2024-06-06 is a Thursday.
	 */
	struct evt_window w = W("{\"cron\":\"0 0 13 * 5\",\"duration\":\"1h\"}");
	next_is(&w, utc(2024, 6, 6, 0, 0), utc(2024, 6, 7, 0, 0));
	next_is(&w, utc(2024, 6, 7, 0, 0), utc(2024, 6, 13, 0, 0));
	/* A day-of-month starting with '*' makes both required: odd days that are Mondays. */
	struct evt_window a = W("{\"cron\":\"0 0 */2 * 1\",\"duration\":\"1h\"}");
	next_is(&a, utc(2024, 6, 1, 0, 0), utc(2024, 6, 3, 0, 0));
	next_is(&a, utc(2024, 6, 3, 0, 0), utc(2024, 6, 17, 0, 0)); /* not Monday the 10th */
	/* Feb 29 comes every four years. */
	struct evt_window f = W("{\"cron\":\"0 0 29 2 *\",\"duration\":\"1h\"}");
	next_is(&f, utc(2024, 3, 1, 0, 0), utc(2028, 2, 29, 0, 0));
}

static void cron_in_time_zone_across_dst(void **state)
{
	/* @daily in Berlin: local midnight, 23:00 UTC the day before in winter, 22:00 UTC in summer. */
	struct evt_window w = W("{\"cron\":\"@daily\",\"timezone\":\"Europe/Berlin\",\"duration\":\"2h\"}");
	next_is(&w, utc(2024, 3, 29, 12, 0), utc(2024, 3, 29, 23, 0));
	next_is(&w, utc(2024, 3, 30, 12, 0), utc(2024, 3, 30, 23, 0));
	next_is(&w, utc(2024, 3, 31, 12, 0), utc(2024, 3, 31, 22, 0));
	/* Every 20 minutes during 02:xx: on the night of the jump, 02:00, 02:20 and 02:40 all start at the
	 * jump. */
	struct evt_window g =
		W("{\"cron\":\"*/20 2 * * *\",\"timezone\":\"Europe/Berlin\",\"duration\":\"10m\"}");
	next_is(&g, utc(2024, 3, 30, 12, 0), utc(2024, 3, 31, 1, 0));
	next_is(&g, utc(2024, 3, 31, 1, 0), utc(2024, 4, 1, 0, 0));
}

static void next_from_a_calendar_start(void **state)
{
	struct evt_window w = W("{\"days\":[\"mon\",\"wed\"],\"start\":\"10:00\",\"duration\":\"2h\"}");
	/* 2024-05-06 is a Monday. after = t - duration finds the occurrence running at t. */
	time_t t = utc(2024, 5, 6, 11, 0);
	next_is(&w, t - w.duration, utc(2024, 5, 6, 10, 0));
	next_is(&w, t, utc(2024, 5, 8, 10, 0));
	next_is(&w, utc(2024, 5, 8, 10, 0), utc(2024, 5, 13, 10, 0));
}

static void overlapping_occurrences(void **state)
{
	/* Hourly for 90 minutes: two occurrences overlap; ends_at belongs to the later one. */
	struct evt_window w = W("{\"cron\":\"0 * * * *\",\"duration\":\"90m\"}");
	time_t ends = 0;
	assert_true(evt_window_active(&w, utc(2024, 5, 1, 10, 15), &ends));
	assert_int_equal(ends, utc(2024, 5, 1, 11, 30));
	assert_true(evt_window_active(&w, utc(2024, 5, 1, 10, 45), NULL));
}

static void parse_forms_and_round_trip(void **state)
{
	struct evt_window w =
		W("{\"timezone\":\"Europe/Berlin\",\"days\":[\"SUN\",\"monday\"],\"start\":\"7:05\","
		  "\"duration\":\"1h30m\"}");
	assert_int_equal(w.kind, EVT_WINDOW_WEEKLY);
	assert_int_equal(w.days, 0x03);
	assert_int_equal(w.start_minute, 7 * 60 + 5);
	assert_int_equal(w.duration, 5400);
	json_t *j = evt_window_to_json(&w);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "start")), "07:05");
	assert_string_equal(json_string_value(json_object_get(j, "duration")), "1h30m");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "days"), 0)), "mon");
	struct evt_window back;
	assert_int_equal(evt_window_from_json(&back, j, NULL), 0);
	assert_int_equal(back.days, w.days);
	assert_int_equal(back.start_minute, w.start_minute);
	assert_int_equal(back.duration, w.duration);
	json_decref(j);

	struct evt_window c = W("{\"cron\":\"0 2 * * 0\",\"duration\":7200}");
	assert_int_equal(c.duration, 7200);
	j = evt_window_to_json(&c);
	assert_string_equal(json_string_value(json_object_get(j, "cron")), "0 2 * * 0");
	assert_string_equal(json_string_value(json_object_get(j, "duration")), "2h");
	json_decref(j);
}

static void invalid_schedules(void **state)
{
	rejected("{\"cron\":\"60 * * * *\",\"duration\":\"1h\"}", 400, "invalid_schedule",
		 "field 1 (minute): 60 is out of range 0-59");
	rejected("{\"cron\":\"* * 0 * *\",\"duration\":\"1h\"}", 400, "invalid_schedule",
		 "field 3 (day of month)");
	rejected("{\"cron\":\"* * * *\",\"duration\":\"1h\"}", 400, "invalid_schedule", "expected 5 fields");
	rejected("{\"cron\":\"* * * * * *\",\"duration\":\"1h\"}", 400, "invalid_schedule",
		 "expected 5 fields");
	rejected("{\"cron\":\"5-1 * * * *\",\"duration\":\"1h\"}", 400, "invalid_schedule", "backwards");
	rejected("{\"cron\":\"*/0 * * * *\",\"duration\":\"1h\"}", 400, "invalid_schedule", "step");
	rejected("{\"cron\":\"1,,2 * * * *\",\"duration\":\"1h\"}", 400, "invalid_schedule", "field 1");
	rejected("{\"cron\":\"0 0 * FOO *\",\"duration\":\"1h\"}", 400, "invalid_schedule",
		 "field 4 (month)");
	rejected("{\"cron\":\"0 0 31 2 *\",\"duration\":\"1h\"}", 400, "invalid_schedule", "never fires");
	rejected("{\"cron\":\"@reboot\",\"duration\":\"1h\"}", 400, "invalid_schedule", "unknown macro");
	rejected("{\"days\":[\"funday\"],\"start\":\"10:00\",\"duration\":\"1h\"}", 400, "invalid_schedule",
		 "days[0]: unknown day \"funday\"");
	rejected("{\"days\":[],\"start\":\"10:00\",\"duration\":\"1h\"}", 400, "invalid_schedule",
		 "at least one");
	rejected("{\"days\":[\"mon\"],\"start\":\"24:00\",\"duration\":\"1h\"}", 400, "invalid_schedule",
		 "HH:MM");
	rejected("{\"days\":[\"mon\"],\"start\":\"9:5\",\"duration\":\"1h\"}", 400, "invalid_schedule",
		 "HH:MM");
	rejected("{\"days\":[\"mon\"],\"duration\":\"1h\"}", 422, "missing_field", "start is required");
	rejected("{\"days\":\"mon\",\"start\":\"10:00\",\"duration\":\"1h\"}", 422, "invalid_type",
		 "days must be");
	rejected("{\"days\":[\"mon\"],\"start\":\"10:00\"}", 422, "missing_field", "duration is required");
	rejected("{\"days\":[\"mon\"],\"start\":\"10:00\",\"duration\":\"soon\"}", 400, "invalid_duration",
		 "soon");
	rejected("{\"days\":[\"mon\"],\"start\":\"10:00\",\"duration\":\"30s\"}", 400, "invalid_duration",
		 "at least one minute");
	rejected("{\"days\":[\"mon\"],\"start\":\"10:00\",\"duration\":\"32d\"}", 400, "invalid_duration",
		 "32d");
	rejected("{\"days\":[\"mon\"],\"start\":\"10:00\",\"duration\":true}", 422, "invalid_type",
		 "duration");
	rejected("{\"cron\":\"0 2 * * 0\",\"days\":[\"mon\"],\"duration\":\"1h\"}", 400, "invalid_schedule",
		 "not both");
	rejected("{\"duration\":\"1h\"}", 422, "missing_field", "cron, or days and start");
	rejected("{\"timezone\":\"Mars/Olympus\",\"cron\":\"0 2 * * 0\",\"duration\":\"1h\"}", 400,
		 "invalid_timezone", "Mars/Olympus");
	rejected("{\"timezone\":\"../etc/passwd\",\"cron\":\"0 2 * * 0\",\"duration\":\"1h\"}", 400,
		 "invalid_timezone", "not a known");
}

static void flap_counting(void **state)
{
	struct evt_flap f = EVT_FLAP_INIT;
	time_t t0 = utc(2024, 5, 1, 12, 0);
	assert_int_equal(evt_flap_count(&f, t0, 600), 0);
	for (int i = 0; i < 6; i++)
		evt_flap_record(&f, t0 + i * 60); /* changes at +0 … +5 min */
	assert_int_equal(evt_flap_count(&f, t0 + 300, 600), 6);
	assert_int_equal(evt_flap_count(&f, t0 + 300, 150), 3); /* (+150 s, +300 s]: +180, +240, +300 */
	assert_int_equal(evt_flap_count(&f, t0 + 120, 600), 3); /* later changes are in its future */
	assert_int_equal(evt_flap_count(&f, t0 + 3600, 600), 0);
	assert_int_equal(evt_flap_count(&f, t0 + 300, 0), 0);
	assert_true(evt_flap_is_flapping(&f, t0 + 300, 600, 5));
	assert_true(evt_flap_is_flapping(&f, t0 + 300, 600, 6));
	assert_false(evt_flap_is_flapping(&f, t0 + 300, 600, 7));
	assert_false(evt_flap_is_flapping(&f, t0 + 300, 600, 0));
}

static void flap_ring_overwrites_oldest(void **state)
{
	struct evt_flap f = EVT_FLAP_INIT;
	time_t t0 = utc(2024, 5, 1, 12, 0);
	for (int i = 0; i < EVT_FLAP_RING + 8; i++)
		evt_flap_record(&f, t0 + i);
	assert_int_equal(f.count, EVT_FLAP_RING);
	time_t now = t0 + EVT_FLAP_RING + 7;
	assert_int_equal(evt_flap_count(&f, now, 3600), EVT_FLAP_RING);
	/* Only the newest 32 (t0+8 … t0+39) remain: a window reaching back to t0+8 sees them all,
	 * one starting after t0+8 one fewer. */
	assert_int_equal(evt_flap_count(&f, now, now - (t0 + 7)), EVT_FLAP_RING);
	assert_int_equal(evt_flap_count(&f, now, now - (t0 + 8)), EVT_FLAP_RING - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(weekly_across_midnight),
		cmocka_unit_test(weekly_keeps_local_time_across_dst_berlin),
		cmocka_unit_test(weekly_window_spanning_the_dst_change),
		cmocka_unit_test(start_in_gap_and_overlap),
		cmocka_unit_test(cron_weekly_sunday_2am),
		cmocka_unit_test(cron_lists_ranges_steps),
		cmocka_unit_test(cron_day_fields_follow_vixie),
		cmocka_unit_test(cron_in_time_zone_across_dst),
		cmocka_unit_test(next_from_a_calendar_start),
		cmocka_unit_test(overlapping_occurrences),
		cmocka_unit_test(parse_forms_and_round_trip),
		cmocka_unit_test(invalid_schedules),
		cmocka_unit_test(flap_counting),
		cmocka_unit_test(flap_ring_overwrites_oldest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
