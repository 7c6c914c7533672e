#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/timeutil.h"
#include "util/tz.h"

static time_t local(const char *zone, int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi };
	time_t t = 0;
	assert_int_equal(tz_mktime(zone, &tm, &t), 0);
	return t;
}

static void test_mktime_summer_and_winter(void **s)
{
	/* 2026-07-01 12:00 CEST = 10:00 UTC; 2026-01-15 12:00 CET = 11:00 UTC */
	assert_int_equal(local("Europe/Berlin", 2026, 7, 1, 12, 0), 1782900000);
	assert_int_equal(local("Europe/Berlin", 2026, 1, 15, 12, 0), 1768474800);
	assert_int_equal(local("UTC", 2026, 7, 1, 12, 0), 1782907200);
}

static void test_mktime_gap_and_overlap(void **s)
{
	/* 2026-03-29 02:30 does not exist in Berlin: the later instant (03:30 CEST = 01:30 UTC). */
	assert_int_equal(local("Europe/Berlin", 2026, 3, 29, 2, 30), 1774747800);
	/* 2026-10-25 02:30 happens twice: the earlier (CEST, 00:30 UTC). */
	assert_int_equal(local("Europe/Berlin", 2026, 10, 25, 2, 30), 1792888200);
}

static void test_local_roundtrip(void **s)
{
	struct tm tm;
	assert_int_equal(tz_local("Asia/Tokyo", 1769902200, &tm), 0); /* 2026-01-31T23:30Z */
	assert_int_equal(tm.tm_mon, 1);
	assert_int_equal(tm.tm_mday, 1);
	assert_int_equal(tm.tm_hour, 8);
	assert_int_not_equal(tz_local("Not/AZone", 0, &tm), 0);
	assert_false(tz_valid("../etc/passwd"));
	assert_true(tz_valid("America/New_York"));
}

static void test_civil(void **s)
{
	int y, m, d;
	assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(tz_days_from_civil(2000, 3, 1), 11017);
	tz_civil_from_days(11017, &y, &m, &d);
	assert_int_equal(y * 10000 + m * 100 + d, 20000301);
}

static void test_rfc3339(void **s)
{
	int64_t ms;
	char out[32];
	assert_int_equal(time_parse_rfc3339("2024-05-01T12:00:00.123Z", &ms), 0);
	assert_int_equal(ms, 1714564800123LL);
	assert_int_equal(time_parse_rfc3339("2024-05-01T14:00:00+02:00", &ms), 0);
	assert_int_equal(ms, 1714564800000LL);
	assert_int_equal(time_parse_rfc3339("2024-05-01T12:00:00.123456789Z", &ms), 0);
	assert_int_equal(ms, 1714564800123LL);
	assert_int_not_equal(time_parse_rfc3339("2024-05-01 12:00", &ms), 0);
	assert_int_not_equal(time_parse_rfc3339("2024-13-01T12:00:00Z", &ms), 0);
	assert_int_not_equal(time_parse_rfc3339("2026-02-30T12:00:00Z", &ms), 0);
	assert_int_not_equal(time_parse_rfc3339("2025-02-29T12:00:00Z", &ms), 0);
	assert_int_not_equal(time_parse_rfc3339("2026-04-31T12:00:00Z", &ms), 0);
	assert_int_equal(time_parse_rfc3339("2024-02-29T12:00:00Z", &ms), 0);
	time_fmt_ms(1714564800123LL, out, sizeof(out));
	assert_string_equal(out, "2024-05-01T12:00:00.123Z");
	assert_int_equal(time_parse_duration("30d", &ms), 0);
	assert_int_equal(ms, 30LL * 86400000);
	assert_int_equal(time_parse_duration("1h30m", &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_not_equal(time_parse_duration("5x", &ms), 0);
	assert_int_not_equal(time_parse_duration("", &ms), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mktime_summer_and_winter), cmocka_unit_test(test_mktime_gap_and_overlap),
		cmocka_unit_test(test_local_roundtrip), cmocka_unit_test(test_civil), cmocka_unit_test(test_rfc3339),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
