/* Business-hours calendars: parsing, business seconds and due dates across weekends, holidays, DST and
 * zones east of UTC. Instants are written in UTC; comments give the local wall-clock time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sla/calendar.h"
#include "util/err.h"
#include "util/tz.h"

#define H 3600L

static time_t utc(int y, int mo, int d, int h, int mi)
{
	return (time_t)tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static void load(const char *text, struct sla_calendar *cal)
{
	struct fw_error e = { 0 };
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	int rc;

	assert_non_null(j);
	rc = sla_cal_parse(j, cal, &e);
	if (rc)
		print_error("unexpected calendar error: %s: %s\n", e.code, e.message);
	assert_int_equal(rc, 0);
	json_decref(j);
}

static void fails(const char *text, const char *code, const char *in_message)
{
	struct fw_error e = { 0 };
	struct sla_calendar cal;
	json_t *j = json_loads(text, 0, NULL);
	int rc;

	assert_non_null(j);
	rc = sla_cal_parse(j, &cal, &e);
	json_decref(j);
	assert_int_equal(rc, FW_EINVAL);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, code);
	if (!strstr(e.message, in_message))
		fail_msg("message \"%s\" lacks \"%s\"", e.message, in_message);
	/* A failed parse leaves nothing to release. */
	assert_null(cal.holidays);
	assert_int_equal(cal.n_holidays, 0);
}

static long bsecs(const struct sla_calendar *cal, time_t a, time_t b)
{
	long n = -1;
	assert_int_equal(sla_cal_business_seconds(cal, a, b, &n), 0);
	return n;
}

static time_t due(const struct sla_calendar *cal, time_t start, long secs)
{
	time_t t = 0;
	assert_int_equal(sla_cal_add(cal, start, secs, &t), 0);
	/* The defining property of a due date: exactly secs of business time lie before it. */
	assert_int_equal(bsecs(cal, start, t), secs);
	return t;
}

#define OFFICE_UTC                                                                                   \
	"{\"timezone\":\"UTC\",\"working_hours\":[{\"start\":\"09:00\",\"end\":\"17:00\"}]}"

static void test_weekend(void **state)
{
	struct sla_calendar cal;
	load(OFFICE_UTC, &cal);
	/* 2024-03-08 is a Friday. */
	assert_int_equal(bsecs(&cal, utc(2024, 3, 8, 9, 0), utc(2024, 3, 8, 17, 0)), 8 * H);
	assert_int_equal(bsecs(&cal, utc(2024, 3, 8, 16, 0), utc(2024, 3, 11, 10, 0)), 2 * H);
	assert_int_equal(bsecs(&cal, utc(2024, 3, 9, 0, 0), utc(2024, 3, 11, 0, 0)), 0);
	assert_int_equal(bsecs(&cal, utc(2024, 3, 4, 0, 0), utc(2024, 3, 11, 0, 0)), 40 * H);
	assert_int_equal(bsecs(&cal, utc(2024, 3, 11, 0, 0), utc(2024, 3, 4, 0, 0)), 0);
	assert_true(sla_cal_is_open(&cal, utc(2024, 3, 8, 9, 0)));
	assert_false(sla_cal_is_open(&cal, utc(2024, 3, 8, 17, 0)));
	assert_false(sla_cal_is_open(&cal, utc(2024, 3, 9, 12, 0)));
	sla_cal_release(&cal);
}

static void test_holidays(void **state)
{
	struct sla_calendar cal;
	load("{\"timezone\":\"UTC\",\"working_hours\":[{\"start\":\"09:00\",\"end\":\"17:00\"}],"
	     "\"holidays\":[\"2025-01-01\",{\"start\":\"2024-12-25\",\"end\":\"2024-12-26\",\"name\":\"Xmas\"}]}",
	     &cal);
	assert_int_equal(cal.n_holidays, 2);
	/* Tue 24 Dec 09:00 to Fri 27 Dec 17:00: Wednesday and Thursday are off. */
	assert_int_equal(bsecs(&cal, utc(2024, 12, 24, 9, 0), utc(2024, 12, 27, 17, 0)), 16 * H);
	assert_int_equal(bsecs(&cal, utc(2024, 12, 31, 9, 0), utc(2025, 1, 2, 17, 0)), 16 * H);
	assert_false(sla_cal_is_open(&cal, utc(2024, 12, 25, 12, 0)));
	assert_true(sla_cal_is_open(&cal, utc(2024, 12, 24, 12, 0)));
	/* 2 h left on Tuesday, then Friday. */
	assert_int_equal(due(&cal, utc(2024, 12, 24, 15, 0), 4 * H), utc(2024, 12, 27, 11, 0));
	sla_cal_release(&cal);
}

#define OFFICE_BERLIN                                                                                \
	"{\"timezone\":\"Europe/Berlin\",\"working_hours\":[{\"start\":\"09:00\",\"end\":\"17:00\"}]}"

static void test_dst_berlin(void **state)
{
	struct sla_calendar cal;
	load(OFFICE_BERLIN, &cal);
	/* Clocks go forward on Sunday 2024-03-31. Fri 09:00 CET (08:00Z) to Mon 17:00 CEST (15:00Z). */
	assert_int_equal(bsecs(&cal, utc(2024, 3, 29, 8, 0), utc(2024, 4, 1, 15, 0)), 16 * H);
	/* Monday's hours are 07:00Z-15:00Z after the change, 08:00Z-16:00Z before it. */
	assert_true(sla_cal_is_open(&cal, utc(2024, 4, 1, 7, 30)));
	assert_false(sla_cal_is_open(&cal, utc(2024, 3, 25, 7, 30)));
	/* Friday 15:00 CET + 4 h: 2 h on Friday, 2 h on Monday = 11:00 CEST = 09:00Z. */
	assert_int_equal(due(&cal, utc(2024, 3, 29, 14, 0), 4 * H), utc(2024, 4, 1, 9, 0));
	sla_cal_release(&cal);
}

static void test_dst_short_and_long_days(void **state)
{
	struct sla_calendar cal;
	/* Only Sundays count, all day: the spring Sunday has 23 hours, the autumn one 25. */
	load("{\"timezone\":\"Europe/Berlin\",\"working_days\":[],"
	     "\"days\":{\"sun\":[{\"start\":\"00:00\",\"end\":\"24:00\"}]}}", &cal);
	assert_int_equal(bsecs(&cal, utc(2024, 3, 29, 0, 0), utc(2024, 4, 2, 0, 0)), 23 * H);
	assert_int_equal(bsecs(&cal, utc(2024, 10, 25, 0, 0), utc(2024, 10, 29, 0, 0)), 25 * H);
	assert_int_equal(bsecs(&cal, utc(2024, 3, 22, 0, 0), utc(2024, 3, 26, 0, 0)), 24 * H);
	/* 23 h from Sunday 00:00 CET (Sat 23:00Z) ends at Monday 00:00 CEST (Sun 22:00Z). */
	assert_int_equal(due(&cal, utc(2024, 3, 30, 23, 0), 23 * H), utc(2024, 3, 31, 22, 0));
	sla_cal_release(&cal);

	/* An interval spanning the skipped hour 02:00-03:00 is an hour shorter that day. */
	load("{\"timezone\":\"Europe/Berlin\",\"working_days\":[],"
	     "\"days\":{\"sun\":[{\"start\":\"01:00\",\"end\":\"04:00\"}]}}", &cal);
	assert_int_equal(bsecs(&cal, utc(2024, 3, 30, 0, 0), utc(2024, 4, 1, 0, 0)), 2 * H);
	assert_int_equal(bsecs(&cal, utc(2024, 10, 26, 0, 0), utc(2024, 10, 28, 0, 0)), 4 * H);
	sla_cal_release(&cal);
}

static void test_east_of_utc(void **state)
{
	struct sla_calendar cal;
	load("{\"timezone\":\"Asia/Tokyo\",\"working_hours\":[{\"start\":\"09:00\",\"end\":\"18:00\"}]}", &cal);
	/* Mon 2024-03-04 09:00-18:00 JST is 00:00Z-09:00Z. */
	assert_int_equal(bsecs(&cal, utc(2024, 3, 4, 0, 0), utc(2024, 3, 4, 9, 0)), 9 * H);
	/* Friday 23:00Z is already Saturday in Tokyo; Sunday 23:00Z is Monday 08:00 JST. */
	assert_int_equal(bsecs(&cal, utc(2024, 3, 8, 23, 0), utc(2024, 3, 10, 23, 0)), 0);
	assert_int_equal(bsecs(&cal, utc(2024, 3, 10, 23, 0), utc(2024, 3, 11, 1, 0)), 1 * H);
	/* Sunday 23:30Z - Monday 00:30Z holds half an hour of Tokyo's Monday. */
	assert_true(sla_cal_is_open(&cal, utc(2024, 3, 11, 0, 10)));
	assert_false(sla_cal_is_open(&cal, utc(2024, 3, 10, 23, 50)));
	/* Friday 17:00 JST (08:00Z) + 2 h: 1 h on Friday, 1 h on Monday = 10:00 JST = 01:00Z. */
	assert_int_equal(due(&cal, utc(2024, 3, 8, 8, 0), 2 * H), utc(2024, 3, 11, 1, 0));
	sla_cal_release(&cal);

	load("{\"timezone\":\"Asia/Kolkata\",\"working_hours\":[{\"start\":\"09:00\",\"end\":\"17:00\"}]}",
	     &cal);
	/* 09:00 IST is 03:30Z. */
	assert_int_equal(bsecs(&cal, utc(2024, 3, 4, 0, 0), utc(2024, 3, 4, 4, 0)), 30 * 60);
	sla_cal_release(&cal);
}

static void test_due_friday_afternoon(void **state)
{
	struct sla_calendar cal;
	time_t fri = utc(2024, 3, 8, 15, 0);
	load(OFFICE_UTC, &cal);
	assert_int_equal(due(&cal, fri, 4 * H), utc(2024, 3, 11, 11, 0));
	/* A budget that runs out at closing time is due at closing time, not on Monday morning. */
	assert_int_equal(due(&cal, fri, 2 * H), utc(2024, 3, 8, 17, 0));
	assert_int_equal(due(&cal, fri, 2 * H + 1), utc(2024, 3, 11, 9, 0) + 1);
	assert_int_equal(due(&cal, fri, 0), fri);
	/* A start on Saturday begins counting on Monday at 09:00; two weeks is ten business days. */
	assert_int_equal(due(&cal, utc(2024, 3, 9, 12, 0), 1), utc(2024, 3, 11, 9, 0) + 1);
	assert_int_equal(due(&cal, fri, 80 * H), utc(2024, 3, 22, 15, 0));
	time_t t;
	assert_int_equal(sla_cal_add(&cal, fri, -1, &t), FW_EINVAL);
	sla_cal_release(&cal);
}

static void test_split_day(void **state)
{
	struct sla_calendar cal;
	load("{\"timezone\":\"UTC\",\"working_days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\"],"
	     "\"working_hours\":[{\"start\":\"13:00\",\"end\":\"17:00\"},{\"start\":\"09:00\",\"end\":\"12:00\"}],"
	     "\"days\":{\"sat\":[{\"start\":\"10:00\",\"end\":\"12:00\"}]}}", &cal);
	assert_int_equal(bsecs(&cal, utc(2024, 3, 4, 0, 0), utc(2024, 3, 5, 0, 0)), 7 * H);
	assert_int_equal(bsecs(&cal, utc(2024, 3, 9, 0, 0), utc(2024, 3, 10, 0, 0)), 2 * H);
	/* 10:00 + 3 h skips lunch. */
	assert_int_equal(due(&cal, utc(2024, 3, 4, 10, 0), 3 * H), utc(2024, 3, 4, 14, 0));
	assert_false(sla_cal_is_open(&cal, utc(2024, 3, 4, 12, 30)));
	sla_cal_release(&cal);
}

static void test_24x7(void **state)
{
	struct sla_calendar cal, init = SLA_CALENDAR_INIT;
	load("{\"timezone\":\"UTC\",\"24x7\":true}", &cal);
	assert_true(cal.always);
	assert_int_equal(bsecs(&cal, utc(2024, 3, 9, 0, 0), utc(2024, 3, 10, 6, 0)), 30 * H);
	assert_int_equal(due(&cal, utc(2024, 3, 9, 23, 0), 4 * H), utc(2024, 3, 10, 3, 0));
	assert_true(sla_cal_is_open(&cal, utc(2024, 3, 10, 3, 0)));
	sla_cal_release(&cal);
	assert_int_equal(bsecs(&init, 100, 200), 100);

	/* 24x7 in Berlin with Christmas Day off: the rest of the time counts, DST or not. */
	load("{\"timezone\":\"Europe/Berlin\",\"24x7\":true,\"holidays\":[\"2024-12-25\"]}", &cal);
	assert_int_equal(bsecs(&cal, utc(2024, 12, 23, 23, 0), utc(2024, 12, 25, 23, 0)), 24 * H);
	assert_int_equal(due(&cal, utc(2024, 12, 24, 22, 0), 2 * H), utc(2024, 12, 25, 23, 0) + H);
	assert_int_equal(bsecs(&cal, utc(2024, 3, 30, 23, 0), utc(2024, 3, 31, 22, 0)), 23 * H);
	sla_cal_release(&cal);
}

static void test_invalid(void **state)
{
	fails("{\"timezone\":\"Mars/Olympus_Mons\",\"24x7\":true}", "unknown_time_zone", "Mars/Olympus_Mons");
	fails("{\"timezone\":\"../../etc/passwd\",\"24x7\":true}", "unknown_time_zone", "timezone");
	fails("{\"24x7\":true}", "invalid_calendar", "timezone is required");
	fails("{\"timezone\":\"UTC\",\"24x7\":true,\"holidays\":[\"2024-12-24\","
	      "{\"start\":\"2024-12-20\",\"end\":\"2024-12-27\"}]}",
	      "overlapping_holidays", "holidays[0] and holidays[1] overlap on 2024-12-24");
	fails("{\"timezone\":\"UTC\",\"24x7\":true,\"holidays\":[\"2024-12-24\",\"2024-12-24\"]}",
	      "overlapping_holidays", "overlap");
	fails("{\"timezone\":\"UTC\",\"24x7\":true,"
	      "\"holidays\":[{\"start\":\"2024-12-27\",\"end\":\"2024-12-20\"}]}",
	      "invalid_interval", "holidays[0] ends on 2024-12-20");
	fails("{\"timezone\":\"UTC\",\"24x7\":true,\"holidays\":[\"2023-02-29\"]}", "invalid_date", "2023-02-29");
	fails("{\"timezone\":\"UTC\",\"working_hours\":[{\"start\":\"17:00\",\"end\":\"09:00\"}]}",
	      "invalid_interval", "working_hours[0] ends at 09:00");
	fails("{\"timezone\":\"UTC\",\"working_hours\":[{\"start\":\"25:00\",\"end\":\"26:00\"}]}",
	      "invalid_time", "working_hours[0].start '25:00'");
	fails("{\"timezone\":\"UTC\",\"working_hours\":[{\"start\":\"9am\",\"end\":\"17:00\"}]}",
	      "invalid_time", "9am");
	fails("{\"timezone\":\"UTC\",\"working_hours\":[{\"start\":\"09:00\",\"end\":\"12:00\"},"
	      "{\"start\":\"11:00\",\"end\":\"17:00\"}]}", "overlapping_hours", "working_hours");
	fails("{\"timezone\":\"UTC\"}", "no_working_hours", "no working time");
	fails("{\"timezone\":\"UTC\",\"working_days\":[\"someday\"],\"working_hours\":[]}", "invalid_calendar",
	      "working_days[0]");
	fails("{\"timezone\":\"UTC\",\"24x7\":true,\"working_hours\":[]}", "invalid_calendar", "24x7");
	fails("[]", "invalid_calendar", "object");
}

static time_t local(const char *zone, int y, int mo, int d, int h, int mi)
{
	time_t t = 0;
	assert_int_equal(sla_local_instant(zone, tz_days_from_civil(y, mo, d), h * 3600 + mi * 60, &t), 0);
	return t;
}

static void test_local_instant(void **state)
{
	long day = 0;
	int secs = -1;

	/* Summer time uses the summer offset. */
	assert_int_equal(local("Europe/Berlin", 2024, 3, 31, 9, 0), utc(2024, 3, 31, 7, 0));
	assert_int_equal(local("America/New_York", 2024, 7, 1, 9, 0), utc(2024, 7, 1, 13, 0));
	assert_int_equal(local("Europe/Berlin", 2024, 1, 15, 9, 0), utc(2024, 1, 15, 8, 0));
	/* 02:30 does not exist on 2024-03-31 in Berlin: the later valid instant, 03:30 CEST. */
	assert_int_equal(local("Europe/Berlin", 2024, 3, 31, 2, 30), utc(2024, 3, 31, 1, 30));
	/* 02:30 happens twice on 2024-10-27: the earlier one, still CEST. */
	assert_int_equal(local("Europe/Berlin", 2024, 10, 27, 2, 30), utc(2024, 10, 27, 0, 30));
	/* Southern hemisphere: Sydney leaves summer time on 2024-04-07. */
	assert_int_equal(local("Australia/Sydney", 2024, 4, 6, 12, 0), utc(2024, 4, 6, 1, 0));
	assert_int_equal(local("Australia/Sydney", 2024, 4, 8, 12, 0), utc(2024, 4, 8, 2, 0));
	/* 24:00 rolls into the next day. */
	assert_int_equal(local("Asia/Tokyo", 2024, 3, 4, 24, 0), utc(2024, 3, 4, 15, 0));

	assert_int_equal(sla_local_day("Asia/Tokyo", utc(2024, 3, 8, 23, 0), &day, &secs), 0);
	assert_int_equal(day, tz_days_from_civil(2024, 3, 9));
	assert_int_equal(secs, 8 * 3600);
	assert_int_equal(sla_local_day("Nowhere/Atall", 0, &day, &secs), FW_EINVAL);
}

static void test_helpers(void **state)
{
	int s = -1;
	assert_int_equal(sla_time_of_day_parse("09:30", false, &s), 0);
	assert_int_equal(s, 9 * 3600 + 30 * 60);
	assert_int_equal(sla_time_of_day_parse("23:59:59", false, &s), 0);
	assert_int_equal(s, 86399);
	assert_int_equal(sla_time_of_day_parse("24:00", false, &s), FW_EINVAL);
	assert_int_equal(sla_time_of_day_parse("24:00", true, &s), 0);
	assert_int_equal(s, 86400);
	assert_int_equal(sla_time_of_day_parse("24:01", true, &s), FW_EINVAL);
	assert_int_equal(sla_time_of_day_parse("9:30", false, &s), FW_EINVAL);
	assert_int_equal(sla_weekday_parse("Mon"), 1);
	assert_int_equal(sla_weekday_parse("sunday"), 0);
	assert_int_equal(sla_weekday_parse("funday"), -1);
	assert_int_equal(sla_weekday_of(tz_days_from_civil(2024, 3, 8)), 5);
	assert_int_equal(sla_weekday_of(tz_days_from_civil(1969, 12, 28)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weekend),
		cmocka_unit_test(test_holidays),
		cmocka_unit_test(test_dst_berlin),
		cmocka_unit_test(test_dst_short_and_long_days),
		cmocka_unit_test(test_east_of_utc),
		cmocka_unit_test(test_due_friday_afternoon),
		cmocka_unit_test(test_split_day),
		cmocka_unit_test(test_24x7),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_local_instant),
		cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
