#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* time_fmt_ms() computes the civil date itself; it writes what gmtime_r() and the format it replaced
 * write, at the calendar's edges (leap days, centuries, the last millisecond of 9999) and at random
 * times, and cuts the text to the buffer it is given. */
static void reference_fmt(int64_t ms, char *out, size_t cap)
{
	if (ms < 0) {
		out[0] = '\0';
		return;
	}
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static void test_fmt_like_gmtime(void **s)
{
	(void)s;
	static const int64_t edges[] = { 0, 1, 999, 1000, 86399999, 86400000, 951782400000 /* 2000-02-29 */,
					 951868800000, 4107542400000 /* 2100-03-01 */, 1709164800123, 253402300799999,
					 253402300800000, 253402300800000 * 3, -1, -86400000 };
	char a[48], b[48];
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		time_fmt_ms(edges[i], a, sizeof(a));
		reference_fmt(edges[i], b, sizeof(b));
		assert_string_equal(a, b);
	}
	unsigned seed = 7;
	for (int i = 0; i < 200000; i++) {
		int64_t ms = ((int64_t)rand_r(&seed) << 31 | rand_r(&seed)) % 253402300800000;
		time_fmt_ms(ms, a, sizeof(a));
		reference_fmt(ms, b, sizeof(b));
		if (strcmp(a, b))
			fail_msg("%lld: time_fmt_ms %s, gmtime_r %s", (long long)ms, a, b);
	}
	time_fmt_ms(1714564800123LL, a, 11);
	assert_string_equal(a, "2024-05-01");
	a[0] = 'x';
	time_fmt_ms(1714564800123LL, a, 0);
	assert_int_equal(a[0], 'x');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mktime_summer_and_winter), cmocka_unit_test(test_mktime_gap_and_overlap),
		cmocka_unit_test(test_local_roundtrip), cmocka_unit_test(test_civil), cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_fmt_like_gmtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
