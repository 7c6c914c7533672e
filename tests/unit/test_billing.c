/* Unit tests for the Operations-on-Demand billing rules (src/catalog/billing.c). Each test pins one rule
 * of docs/internals/billing.md with a worked example. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "catalog/billing.h"
#include "util/err.h"
#include "util/tz.h"

#define RATE 150000LL /* 1,500.00 per block, in cents */

static time_t utc(int y, int mo, int d, int h, int mi)
{
	return (time_t)tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

/* Wall-clock time in zone tz, on a day without a DST change. */
static time_t at(const char *tz, int y, int mo, int d, int h, int mi)
{
	time_t t = 0;
	assert_int_equal(cat_day_start(tz, y, mo, d, &t, NULL), 0);
	return t + h * 3600 + mi * 60;
}

static struct cat_period P(int y, int m)
{
	return (struct cat_period){ y, m };
}

/* "YYYY-MM" so a failure prints both periods. */
static const char *ym(struct cat_period p, char *buf, size_t len)
{
	snprintf(buf, len, "%04d-%02d", p.year, p.month);
	return buf;
}

#define assert_period(p, y, m)                                                                              \
	do {                                                                                                \
		char got_[16], want_[16];                                                                   \
		assert_string_equal(ym((p), got_, sizeof(got_)), ym(P((y), (m)), want_, sizeof(want_))); \
	} while (0)

static struct cat_period month_of(const char *tz, time_t t)
{
	struct cat_period p = { 0, 0 };
	assert_int_equal(cat_month_of(tz, t, &p, NULL), 0);
	return p;
}

static int alloc(const char *tz, const struct cat_terms *t, int y, int m)
{
	int blocks = -1;
	struct fw_error e = { 0 };
	assert_int_equal(cat_terms_validate(t, &e), 0);
	assert_int_equal(cat_allocated_blocks(tz, t, P(y, m), &blocks, &e), 0);
	return blocks;
}

/* Asserts a 422 with the given code and, when `needle` is set, a message containing it. */
static void assert_refused(int rc, const struct fw_error *e, const char *code, const char *needle)
{
	assert_int_equal(rc, FW_EINVAL);
	assert_int_equal(e->status, 422);
	assert_string_equal(e->code, code);
	if (needle && !strstr(e->message, needle))
		fail_msg("message \"%s\" lacks \"%s\"", e->message, needle);
}

/* ---- months and time zones ---- */

static void test_month_of_berlin_last_day_evening(void **state)
{
	/* 2026-01-31T23:30 in Berlin (CET, +1) is 22:30Z: still January. */
	assert_period(month_of("Europe/Berlin", utc(2026, 1, 31, 22, 30)), 2026, 1);
	assert_period(month_of("Europe/Berlin", utc(2026, 1, 31, 22, 59)), 2026, 1);
	/* Local midnight of 1 February is 23:00Z. */
	assert_period(month_of("Europe/Berlin", utc(2026, 1, 31, 23, 0)), 2026, 2);
	assert_period(month_of("UTC", utc(2026, 1, 31, 23, 30)), 2026, 1);
}

static void test_month_of_tokyo_last_day(void **state)
{
	/* 2026-01-31T23:30Z is 08:30 on 1 February in Tokyo (+9). */
	assert_period(month_of("Asia/Tokyo", utc(2026, 1, 31, 23, 30)), 2026, 2);
	assert_period(month_of("Asia/Tokyo", utc(2026, 1, 31, 14, 59)), 2026, 1);
	assert_period(month_of("Asia/Tokyo", utc(2026, 1, 31, 15, 0)), 2026, 2);
}

static void test_month_bounds_dst_start_month(void **state)
{
	time_t s = 0, e = 0;
	/* Berlin moves to CEST on 2026-03-29: March starts at +1 and ends at +2, an hour short. */
	assert_int_equal(cat_month_bounds("Europe/Berlin", P(2026, 3), &s, &e, NULL), 0);
	assert_int_equal(s, utc(2026, 2, 28, 23, 0));
	assert_int_equal(e, utc(2026, 3, 31, 22, 0));
	assert_int_equal(e - s, 31 * 86400 - 3600);
	/* 23:30 CEST on 31 March is March; 00:00 CEST on 1 April is April. */
	assert_period(month_of("Europe/Berlin", utc(2026, 3, 31, 21, 30)), 2026, 3);
	assert_period(month_of("Europe/Berlin", e - 1), 2026, 3);
	assert_period(month_of("Europe/Berlin", e), 2026, 4);
}

static void test_month_bounds_dst_end_month(void **state)
{
	time_t s = 0, e = 0;
	/* Back to CET on 2026-10-25: October is an hour long. */
	assert_int_equal(cat_month_bounds("Europe/Berlin", P(2026, 10), &s, &e, NULL), 0);
	assert_int_equal(s, utc(2026, 9, 30, 22, 0));
	assert_int_equal(e, utc(2026, 10, 31, 23, 0));
	assert_int_equal(e - s, 31 * 86400 + 3600);
}

static void test_month_bounds_midnight_in_dst_gap_or_overlap(void **state)
{
	time_t s = 0, e = 0;
	/* Paraguay sprang forward at 00:00 on 2017-10-01: local midnight never happened, so the month
	 * starts at 01:00 -03, the first instant that did. */
	assert_int_equal(cat_month_bounds("America/Asuncion", P(2017, 10), &s, &e, NULL), 0);
	assert_int_equal(s, utc(2017, 10, 1, 4, 0));
	assert_period(month_of("America/Asuncion", s - 1), 2017, 9);
	assert_period(month_of("America/Asuncion", s), 2017, 10);
	/* Havana falls back from 01:00 CDT to 00:00 CST on 2026-11-01, so midnight happens twice
	 * (04:00Z and 05:00Z): November starts at the first. */
	assert_int_equal(cat_month_bounds("America/Havana", P(2026, 11), &s, &e, NULL), 0);
	assert_int_equal(s, utc(2026, 11, 1, 4, 0));
	assert_period(month_of("America/Havana", s - 1), 2026, 10);
	assert_period(month_of("America/Havana", s), 2026, 11);
}

static void test_month_bounds_year_end_and_leap_february(void **state)
{
	time_t s = 0, e = 0;
	assert_int_equal(cat_month_bounds("UTC", P(2026, 12), &s, &e, NULL), 0);
	assert_int_equal(s, utc(2026, 12, 1, 0, 0));
	assert_int_equal(e, utc(2027, 1, 1, 0, 0));
	assert_int_equal(cat_month_bounds("UTC", P(2028, 2), &s, &e, NULL), 0);
	assert_int_equal(e - s, 29 * 86400);
	assert_period(cat_period_next(P(2026, 12)), 2027, 1);
	assert_period(cat_period_next(P(2026, 1)), 2026, 2);
	assert_true(cat_period_cmp(P(2026, 12), P(2027, 1)) < 0);
	assert_true(cat_period_cmp(P(2027, 2), P(2027, 1)) > 0);
	assert_int_equal(cat_period_cmp(P(2027, 2), P(2027, 2)), 0);
}

static void test_day_start_in_summer_and_winter(void **state)
{
	time_t t = 0;
	struct fw_error e = { 0 };
	/* Berlin is +2 in July and +1 in January; Tokyo is +9 all year. */
	assert_int_equal(cat_day_start("Europe/Berlin", 2026, 7, 1, &t, NULL), 0);
	assert_int_equal(t, utc(2026, 6, 30, 22, 0));
	assert_int_equal(cat_day_start("Europe/Berlin", 2026, 1, 15, &t, NULL), 0);
	assert_int_equal(t, utc(2026, 1, 14, 23, 0));
	assert_int_equal(cat_day_start("Asia/Tokyo", 2026, 7, 1, &t, NULL), 0);
	assert_int_equal(t, utc(2026, 6, 30, 15, 0));
	/* New York: -4 in summer, -5 in winter. */
	assert_int_equal(cat_day_start("America/New_York", 2026, 8, 1, &t, NULL), 0);
	assert_int_equal(t, utc(2026, 8, 1, 4, 0));
	assert_int_equal(cat_day_start("America/New_York", 2026, 12, 1, &t, NULL), 0);
	assert_int_equal(t, utc(2026, 12, 1, 5, 0));
	assert_refused(cat_day_start("UTC", 2026, 2, 29, &t, &e), &e, "invalid_date", "2026-02-29");
	memset(&e, 0, sizeof(e));
	assert_refused(cat_day_start("UTC", 2026, 4, 31, &t, &e), &e, "invalid_date", NULL);
	assert_int_equal(cat_day_start("UTC", 2028, 2, 29, &t, NULL), 0);
}

static void test_unknown_zone_refused(void **state)
{
	struct fw_error e = { 0 };
	struct cat_period p;
	time_t s, end;
	int blocks;
	struct cat_terms t = { .start = utc(2026, 1, 1, 0, 0), .blocks = 2 };

	assert_refused(cat_month_of("Mars/Olympus", 0, &p, &e), &e, "unknown_time_zone", "'Mars/Olympus'");
	memset(&e, 0, sizeof(e));
	assert_refused(cat_month_bounds("../../etc/passwd", P(2026, 1), &s, &end, &e), &e,
		       "unknown_time_zone", "IANA");
	memset(&e, 0, sizeof(e));
	assert_refused(cat_allocated_blocks("Nowhere/City", &t, P(2026, 1), &blocks, &e), &e,
		       "unknown_time_zone", NULL);
	memset(&e, 0, sizeof(e));
	assert_refused(cat_worklog_admit(NULL, &t, utc(2026, 1, 5, 0, 0), 60, 0, &p, &e), &e,
		       "unknown_time_zone", NULL);
}

static void test_invalid_period_refused(void **state)
{
	struct fw_error e = { 0 };
	time_t s, end;
	assert_refused(cat_month_bounds("UTC", P(2026, 13), &s, &end, &e), &e, "invalid_period", "2026-13");
	memset(&e, 0, sizeof(e));
	assert_refused(cat_month_bounds("UTC", P(2026, 0), &s, &end, &e), &e, "invalid_period", NULL);
	memset(&e, 0, sizeof(e));
	assert_refused(cat_month_bounds("UTC", P(1969, 12), &s, &end, &e), &e, "invalid_period", NULL);
}

/* ---- billing a month ---- */

static struct cat_bill_line bill(int allocated, long used, long long rate)
{
	struct cat_bill_line l;
	memset(&l, 0xff, sizeof(l));
	assert_int_equal(cat_bill_month(allocated, used, rate, &l, NULL), 0);
	return l;
}

static void test_bill_zero_hours_bills_one_block(void **state)
{
	struct cat_bill_line l = bill(2, 0, RATE);
	assert_int_equal(l.allocated_blocks, 2);
	assert_int_equal(l.used_minutes, 0);
	assert_int_equal(l.billed_blocks, 1);
	assert_int_equal(l.rate_minor_per_block, RATE);
	assert_int_equal(l.amount_minor, RATE);
}

static void test_bill_partial_block(void **state)
{
	/* 5 hours of 2 blocks: one block had hours used, the other is not billed. */
	struct cat_bill_line l = bill(2, 5 * 60, RATE);
	assert_int_equal(l.billed_blocks, 1);
	assert_int_equal(l.amount_minor, RATE);
}

static void test_bill_several_blocks(void **state)
{
	/* 45 hours of 3 blocks: ceil(45 / 20) = 3. */
	struct cat_bill_line l = bill(3, 45 * 60, RATE);
	assert_int_equal(l.billed_blocks, 3);
	assert_int_equal(l.amount_minor, 3 * RATE);
}

static void test_bill_exactly_twenty_hours(void **state)
{
	assert_int_equal(bill(2, 20 * 60, RATE).billed_blocks, 1);
	/* One minute into the second block bills it. */
	assert_int_equal(bill(2, 20 * 60 + 1, RATE).billed_blocks, 2);
	assert_int_equal(bill(2, 1, RATE).billed_blocks, 1);
}

static void test_bill_forty_hours_of_three(void **state)
{
	/* The third, unused block is allocated but not billed. */
	struct cat_bill_line l = bill(3, 40 * 60, RATE);
	assert_int_equal(l.billed_blocks, 2);
	assert_int_equal(l.amount_minor, 2 * RATE);
}

static void test_bill_capped_at_allocation(void **state)
{
	/* Usage above the allocation (e.g. a later retroactive cut) never bills more than allocated. */
	assert_int_equal(bill(3, 70 * 60, RATE).billed_blocks, 3);
	assert_int_equal(bill(3, 70 * 60, RATE).amount_minor, 3 * RATE);
}

static void test_bill_inactive_month_bills_nothing(void **state)
{
	struct fw_error e = { 0 };
	struct cat_bill_line l = bill(0, 0, RATE);
	assert_int_equal(l.billed_blocks, 0);
	assert_int_equal(l.amount_minor, 0);
	assert_refused(cat_bill_month(0, 60, RATE, &l, &e), &e, "usage_without_allocation", "60 minutes");
}

static void test_bill_rejects_bad_input(void **state)
{
	struct fw_error e = { 0 };
	struct cat_bill_line l;
	assert_refused(cat_bill_month(2, -1, RATE, &l, &e), &e, "invalid_minutes", "-1");
	memset(&e, 0, sizeof(e));
	assert_refused(cat_bill_month(2, 0, -5, &l, &e), &e, "invalid_rate", "-5");
	memset(&e, 0, sizeof(e));
	assert_refused(cat_bill_month(-1, 0, RATE, &l, &e), &e, "invalid_blocks", NULL);
	memset(&e, 0, sizeof(e));
	assert_refused(cat_bill_month(CAT_MAX_BLOCKS + 1, 0, RATE, &l, &e), &e, "invalid_blocks", NULL);
	memset(&e, 0, sizeof(e));
	/* 3 blocks at a rate near the top of long long would overflow the amount. */
	assert_refused(cat_bill_month(3, 45 * 60, 4000000000000000000LL, &l, &e), &e, "invalid_rate",
		       "overflow");
	assert_int_equal(bill(3, 45 * 60, 0).amount_minor, 0); /* a free offering is fine */
}

/* ---- terms ---- */

static void test_terms_new_engagement_needs_blocks(void **state)
{
	struct fw_error e = { 0 };
	struct cat_terms t = { .start = utc(2026, 1, 1, 0, 0), .blocks = 0 };
	assert_refused(cat_terms_validate(&t, &e), &e, "invalid_blocks", "opt-out");
	t.blocks = -3;
	memset(&e, 0, sizeof(e));
	assert_refused(cat_terms_validate(&t, &e), &e, "invalid_blocks", "-3");
	t.blocks = CAT_MAX_BLOCKS + 1;
	memset(&e, 0, sizeof(e));
	assert_refused(cat_terms_validate(&t, &e), &e, "invalid_blocks", NULL);
	t.blocks = 1;
	assert_int_equal(cat_terms_validate(&t, &e), 0);
}

static void test_terms_change_blocks_in_range(void **state)
{
	struct fw_error e = { 0 };
	struct cat_alloc_change ch[] = { { utc(2026, 3, 1, 0, 0), -2 } };
	struct cat_terms t = { .start = utc(2026, 1, 1, 0, 0), .blocks = 2, .changes = ch, .n_changes = 1 };
	assert_refused(cat_terms_validate(&t, &e), &e, "invalid_blocks", "-2");
	ch[0].blocks = 0; /* an opt-out is a valid change */
	assert_int_equal(cat_terms_validate(&t, &e), 0);
}

static void test_terms_cannot_resume_after_opt_out(void **state)
{
	struct fw_error e = { 0 };
	struct cat_alloc_change ch[] = {
		{ utc(2026, 3, 1, 0, 0), 0 }, /* opt-out from March */
		{ utc(2026, 4, 1, 0, 0), 3 }, /* approved later: would restart in April */
	};
	struct cat_terms t = { .start = utc(2026, 1, 1, 0, 0), .blocks = 2, .changes = ch, .n_changes = 2 };
	assert_refused(cat_terms_validate(&t, &e), &e, "engagement_ended", "new engagement");
}

static void test_terms_opt_out_superseded_before_it_takes_effect(void **state)
{
	struct cat_alloc_change ch[] = {
		{ utc(2026, 3, 1, 0, 0), 0 },  /* opt-out from March, approved first */
		{ utc(2026, 2, 15, 0, 0), 3 }, /* approved later, effective earlier: supersedes the opt-out */
	};
	struct cat_terms t = { .start = utc(2026, 1, 1, 0, 0), .blocks = 2, .changes = ch, .n_changes = 2 };
	assert_int_equal(alloc("UTC", &t, 2026, 2), 3);
	assert_int_equal(alloc("UTC", &t, 2026, 3), 3);
	assert_int_equal(alloc("UTC", &t, 2027, 3), 3);
}

/* ---- allocation per month ---- */

static void test_alloc_every_month_from_start(void **state)
{
	struct cat_terms t = { .start = at("Europe/Berlin", 2026, 1, 1, 0, 0), .blocks = 2 };
	assert_int_equal(alloc("Europe/Berlin", &t, 2025, 12), 0);
	assert_int_equal(alloc("Europe/Berlin", &t, 2026, 1), 2);
	assert_int_equal(alloc("Europe/Berlin", &t, 2026, 7), 2);
	assert_int_equal(alloc("Europe/Berlin", &t, 2030, 12), 2);
	/* In UTC the Berlin start (2025-12-31T23:00Z) is still December. */
	assert_int_equal(alloc("UTC", &t, 2025, 12), 2);
}

static void test_alloc_mid_month_start(void **state)
{
	struct cat_bill_line l;
	struct cat_rate r = { 0, RATE };
	struct cat_terms t = { .start = at("Europe/Berlin", 2026, 1, 15, 0, 0), .blocks = 2 };
	assert_int_equal(alloc("Europe/Berlin", &t, 2025, 12), 0);
	assert_int_equal(alloc("Europe/Berlin", &t, 2026, 1), 2);
	/* A partial first month bills by the same rules: at least one block. */
	assert_int_equal(cat_bill_period("Europe/Berlin", &t, &r, 1, P(2026, 1), 0, &l, NULL), 0);
	assert_int_equal(l.billed_blocks, 1);
	assert_int_equal(l.amount_minor, RATE);
	assert_int_equal(cat_bill_period("Europe/Berlin", &t, &r, 1, P(2025, 12), 0, &l, NULL), 0);
	assert_int_equal(l.billed_blocks, 0);
	assert_int_equal(l.amount_minor, 0);
}

static void test_alloc_raise_mid_month_covers_whole_month(void **state)
{
	const char *tz = "Europe/Berlin";
	struct cat_alloc_change ch[] = { { at(tz, 2026, 2, 15, 0, 0), 4 } };
	struct cat_terms t = { .start = at(tz, 2026, 1, 1, 0, 0), .blocks = 2, .changes = ch,
			       .n_changes = 1 };
	struct cat_period p;

	assert_int_equal(alloc(tz, &t, 2026, 1), 2);
	assert_int_equal(alloc(tz, &t, 2026, 2), 4);
	assert_int_equal(alloc(tz, &t, 2026, 3), 4);
	assert_int_equal(cat_blocks_at(&t, at(tz, 2026, 2, 14, 23, 59)), 2);
	assert_int_equal(cat_blocks_at(&t, at(tz, 2026, 2, 15, 0, 0)), 4);
	assert_int_equal(cat_blocks_at(&t, t.start - 1), 0);
	/* A log on 3 February, before the raise, counts against February's raised allocation. */
	assert_int_equal(cat_worklog_admit(tz, &t, at(tz, 2026, 2, 3, 9, 0), 60, 2400, &p, NULL), 0);
	assert_period(p, 2026, 2);
}

static void test_alloc_cut_mid_month_keeps_hours_logged(void **state)
{
	const char *tz = "Europe/Berlin";
	struct cat_alloc_change ch[] = { { at(tz, 2026, 2, 15, 0, 0), 1 } };
	struct cat_terms t = { .start = at(tz, 2026, 1, 1, 0, 0), .blocks = 4, .changes = ch,
			       .n_changes = 1 };
	struct cat_rate r = { 0, RATE };
	struct cat_bill_line l;
	struct fw_error e = { 0 };

	assert_int_equal(alloc(tz, &t, 2026, 2), 4);
	assert_int_equal(alloc(tz, &t, 2026, 3), 1);
	/* 60 hours logged in early February stay covered: February keeps 4 blocks and bills 3. */
	assert_int_equal(cat_worklog_admit(tz, &t, at(tz, 2026, 2, 20, 9, 0), 60, 60 * 60, NULL, NULL), 0);
	assert_int_equal(cat_bill_period(tz, &t, &r, 1, P(2026, 2), 61 * 60, &l, NULL), 0);
	assert_int_equal(l.allocated_blocks, 4);
	assert_int_equal(l.billed_blocks, 4);
	assert_int_equal(cat_bill_period(tz, &t, &r, 1, P(2026, 2), 60 * 60, &l, NULL), 0);
	assert_int_equal(l.billed_blocks, 3);
	/* March has the cut allocation: 20 hours. */
	assert_refused(cat_worklog_admit(tz, &t, at(tz, 2026, 3, 2, 9, 0), 60, 20 * 60, NULL, &e), &e,
		       "allocation_exceeded", "2026-03");
}

static void test_alloc_latest_approval_supersedes(void **state)
{
	/* Approved first: 5 blocks from March. Approved later: 3 blocks from February, which supersedes
	 * everything from February on, the March change included. */
	struct cat_alloc_change a[] = { { utc(2026, 3, 1, 0, 0), 5 }, { utc(2026, 2, 1, 0, 0), 3 } };
	struct cat_terms t = { .start = utc(2026, 1, 1, 0, 0), .blocks = 2, .changes = a, .n_changes = 2 };
	assert_int_equal(alloc("UTC", &t, 2026, 1), 2);
	assert_int_equal(alloc("UTC", &t, 2026, 2), 3);
	assert_int_equal(alloc("UTC", &t, 2026, 3), 3);

	/* Approved in effective order, each applies from its date. */
	struct cat_alloc_change b[] = { { utc(2026, 2, 1, 0, 0), 3 }, { utc(2026, 3, 1, 0, 0), 5 } };
	t.changes = b;
	assert_int_equal(alloc("UTC", &t, 2026, 2), 3);
	assert_int_equal(alloc("UTC", &t, 2026, 3), 5);
}

static void test_alloc_change_before_start_applies_from_start(void **state)
{
	struct cat_alloc_change ch[] = { { utc(2026, 1, 1, 0, 0), 3 } };
	struct cat_terms t = { .start = utc(2026, 3, 1, 0, 0), .blocks = 2, .changes = ch, .n_changes = 1 };
	assert_int_equal(alloc("UTC", &t, 2026, 1), 0);
	assert_int_equal(alloc("UTC", &t, 2026, 2), 0);
	assert_int_equal(alloc("UTC", &t, 2026, 3), 3);
}

static void test_opt_out_mid_month(void **state)
{
	const char *tz = "Europe/Berlin";
	struct cat_alloc_change ch[] = { { at(tz, 2026, 3, 15, 0, 0), 0 } };
	struct cat_terms t = { .start = at(tz, 2026, 1, 1, 0, 0), .blocks = 2, .changes = ch,
			       .n_changes = 1 };
	struct cat_rate r = { 0, RATE };
	struct cat_bill_line l;
	struct fw_error e = { 0 };

	assert_int_equal(alloc(tz, &t, 2026, 3), 2);
	assert_int_equal(alloc(tz, &t, 2026, 4), 0);
	assert_int_equal(alloc(tz, &t, 2027, 1), 0);
	/* The opt-out month bills by the rules: at least one block; later months bill nothing. */
	assert_int_equal(cat_bill_period(tz, &t, &r, 1, P(2026, 3), 0, &l, NULL), 0);
	assert_int_equal(l.billed_blocks, 1);
	assert_int_equal(l.amount_minor, RATE);
	assert_int_equal(cat_bill_period(tz, &t, &r, 1, P(2026, 3), 25 * 60, &l, NULL), 0);
	assert_int_equal(l.billed_blocks, 2);
	assert_int_equal(cat_bill_period(tz, &t, &r, 1, P(2026, 4), 0, &l, NULL), 0);
	assert_int_equal(l.billed_blocks, 0);
	assert_int_equal(l.amount_minor, 0);
	/* Time can be logged before the opt-out, not after. */
	assert_int_equal(cat_worklog_admit(tz, &t, at(tz, 2026, 3, 14, 23, 0), 30, 0, NULL, NULL), 0);
	assert_refused(cat_worklog_admit(tz, &t, at(tz, 2026, 3, 15, 0, 0), 30, 0, NULL, &e), &e,
		       "engagement_not_active", "2026-03-15");
}

static void test_opt_out_on_first_of_month(void **state)
{
	const char *tz = "Asia/Tokyo";
	struct cat_alloc_change ch[] = { { at(tz, 2026, 4, 1, 0, 0), 0 } };
	struct cat_terms t = { .start = at(tz, 2026, 1, 1, 0, 0), .blocks = 2, .changes = ch,
			       .n_changes = 1 };
	assert_int_equal(alloc(tz, &t, 2026, 3), 2);
	/* Effective at local midnight of 1 April: April has no active instant. */
	assert_int_equal(alloc(tz, &t, 2026, 4), 0);
	/* One second later it would still be active for a second of April. */
	ch[0].effective += 1;
	assert_int_equal(alloc(tz, &t, 2026, 4), 2);
}

/* ---- work logs ---- */

static void test_worklog_exactly_at_allocation_allowed(void **state)
{
	assert_int_equal(cat_check_worklog(2, 2340, 60, NULL), 0);
	assert_int_equal(cat_check_worklog(2, 0, 2400, NULL), 0);
	assert_int_equal(cat_check_worklog(1, 1199, 1, NULL), 0);
}

static void test_worklog_one_minute_over_refused(void **state)
{
	struct fw_error e = { 0 };
	assert_refused(cat_check_worklog(2, 2340, 61, &e), &e, "allocation_exceeded",
		       "log at most 60 minutes");
	if (!strstr(e.message, "raise the allocation"))
		fail_msg("message \"%s\" does not say how to proceed", e.message);
	memset(&e, 0, sizeof(e));
	assert_refused(cat_check_worklog(2, 0, 2401, &e), &e, "allocation_exceeded",
		       "2400 minutes allocated");
	memset(&e, 0, sizeof(e));
	assert_refused(cat_check_worklog(1, 1200, 1, &e), &e, "allocation_exceeded", "0 remain");
}

static void test_worklog_fits_once_allocation_raised(void **state)
{
	struct fw_error e = { 0 };
	assert_refused(cat_check_worklog(2, 2400, 90, &e), &e, "allocation_exceeded", NULL);
	assert_int_equal(cat_check_worklog(3, 2400, 90, NULL), 0);
	memset(&e, 0, sizeof(e));
	assert_refused(cat_check_worklog(0, 0, 1, &e), &e, "allocation_exceeded", "no hours are allocated");
}

static void test_worklog_rejects_bad_minutes(void **state)
{
	struct fw_error e = { 0 };
	struct cat_terms t = { .start = utc(2026, 1, 1, 0, 0), .blocks = 2 };
	assert_refused(cat_check_worklog(2, 0, 0, &e), &e, "invalid_duration", "at least 1 minute");
	memset(&e, 0, sizeof(e));
	assert_refused(cat_check_worklog(2, 0, -30, &e), &e, "invalid_duration", "-30");
	memset(&e, 0, sizeof(e));
	assert_refused(cat_check_worklog(2, -1, 30, &e), &e, "invalid_minutes", "-1");
	memset(&e, 0, sizeof(e));
	assert_refused(cat_worklog_admit("UTC", &t, utc(2026, 1, 5, 0, 0), -15, 0, NULL, &e), &e,
		       "invalid_duration", "-15");
}

static void test_worklog_month_in_berlin(void **state)
{
	const char *tz = "Europe/Berlin";
	struct cat_terms t = { .start = at(tz, 2026, 1, 1, 0, 0), .blocks = 2 };
	struct cat_period p = { 0, 0 };
	struct fw_error e = { 0 };

	/* 23:30 local on 31 January belongs to January: refused when January is used up. */
	assert_int_equal(cat_worklog_admit(tz, &t, utc(2026, 1, 31, 22, 30), 30, 0, &p, NULL), 0);
	assert_period(p, 2026, 1);
	assert_refused(cat_worklog_admit(tz, &t, utc(2026, 1, 31, 22, 30), 30, 2400, &p, &e), &e,
		       "allocation_exceeded", "2026-01");
	/* Local midnight: February, with its own fresh allocation. */
	assert_int_equal(cat_worklog_admit(tz, &t, utc(2026, 1, 31, 23, 0), 30, 0, &p, NULL), 0);
	assert_period(p, 2026, 2);
}

static void test_worklog_month_in_tokyo(void **state)
{
	const char *tz = "Asia/Tokyo";
	struct cat_terms t = { .start = at(tz, 2026, 1, 1, 0, 0), .blocks = 1 };
	struct cat_period p = { 0, 0 };
	/* 2026-01-31T23:30Z is 1 February in Tokyo. */
	assert_int_equal(cat_worklog_admit(tz, &t, utc(2026, 1, 31, 23, 30), 60, 0, &p, NULL), 0);
	assert_period(p, 2026, 2);
}

static void test_worklog_month_in_dst_month(void **state)
{
	const char *tz = "Europe/Berlin";
	struct cat_terms t = { .start = at(tz, 2026, 1, 1, 0, 0), .blocks = 1 };
	struct cat_period p = { 0, 0 };
	/* After the spring change Berlin is +2: 21:30Z on 31 March is 23:30 local, still March. */
	assert_int_equal(cat_worklog_admit(tz, &t, utc(2026, 3, 31, 21, 30), 60, 0, &p, NULL), 0);
	assert_period(p, 2026, 3);
	assert_int_equal(cat_worklog_admit(tz, &t, utc(2026, 3, 31, 22, 0), 60, 0, &p, NULL), 0);
	assert_period(p, 2026, 4);
}

static void test_worklog_before_start_refused(void **state)
{
	const char *tz = "Europe/Berlin";
	struct cat_terms t = { .start = at(tz, 2026, 1, 15, 0, 0), .blocks = 2 };
	struct fw_error e = { 0 };
	assert_refused(cat_worklog_admit(tz, &t, at(tz, 2026, 1, 10, 9, 0), 60, 0, NULL, &e), &e,
		       "engagement_not_active", "starts on 2026-01-15");
	assert_int_equal(cat_worklog_admit(tz, &t, at(tz, 2026, 1, 15, 9, 0), 60, 0, NULL, NULL), 0);
}

/* ---- allocation runs ---- */

static size_t due(const char *tz, const struct cat_terms *t, const struct cat_period *last, time_t now,
		  struct cat_period *out, size_t cap)
{
	size_t n = 99;
	assert_int_equal(cat_periods_due(tz, t, last, now, out, cap, &n, NULL), 0);
	return n;
}

static void test_due_nothing_before_start(void **state)
{
	const char *tz = "Europe/Berlin";
	struct cat_terms t = { .start = at(tz, 2026, 1, 15, 0, 0), .blocks = 2 };
	struct cat_period out[4];
	/* The start's month is not owed until the start itself, even though the month has begun. */
	assert_int_equal(due(tz, &t, NULL, at(tz, 2025, 12, 20, 0, 0), out, 4), 0);
	assert_int_equal(due(tz, &t, NULL, at(tz, 2026, 1, 14, 23, 59), out, 4), 0);
	assert_int_equal(due(tz, &t, NULL, t.start, out, 4), 1);
	assert_period(out[0], 2026, 1);
}

static void test_due_running_twice_allocates_once(void **state)
{
	const char *tz = "Europe/Berlin";
	struct cat_terms t = { .start = at(tz, 2026, 1, 1, 0, 0), .blocks = 2 };
	struct cat_period out[4], last = { 0, 0 };
	int allocations[13] = { 0 };
	bool have_last = false;
	time_t runs[] = { at(tz, 2026, 1, 1, 0, 5), at(tz, 2026, 1, 1, 0, 5), at(tz, 2026, 1, 20, 0, 0),
			  at(tz, 2026, 2, 1, 0, 0), at(tz, 2026, 2, 1, 0, 0), at(tz, 2026, 2, 2, 0, 0) };

	/* A scheduler that records the last month it allocated, run repeatedly. */
	for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
		size_t n = due(tz, &t, have_last ? &last : NULL, runs[r], out, 4);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(out[i].year, 2026);
			allocations[out[i].month]++;
			last = out[i];
			have_last = true;
		}
	}
	assert_int_equal(allocations[1], 1);
	assert_int_equal(allocations[2], 1);
	assert_int_equal(allocations[3], 0);
}

static void test_due_catches_up_in_order_within_cap(void **state)
{
	const char *tz = "Europe/Berlin";
	struct cat_terms t = { .start = at(tz, 2026, 1, 15, 0, 0), .blocks = 2 };
	struct cat_period out[4], jan = P(2026, 1);

	assert_int_equal(due(tz, &t, &jan, at(tz, 2026, 2, 28, 23, 59), out, 4), 1);
	assert_period(out[0], 2026, 2);
	assert_int_equal(due(tz, &t, &jan, at(tz, 2026, 3, 1, 0, 0), out, 4), 2);
	assert_period(out[0], 2026, 2);
	assert_period(out[1], 2026, 3);
	/* With room for one, the run returns February; the next call, from February, returns March. */
	assert_int_equal(due(tz, &t, &jan, at(tz, 2026, 3, 1, 0, 0), out, 1), 1);
	assert_period(out[0], 2026, 2);
	assert_int_equal(due(tz, &t, &out[0], at(tz, 2026, 3, 1, 0, 0), out + 1, 1), 1);
	assert_period(out[1], 2026, 3);
	/* A last period from before the start starts the run at the start's month. */
	struct cat_period old = P(2025, 6);
	assert_int_equal(due(tz, &t, &old, at(tz, 2026, 1, 20, 0, 0), out, 4), 1);
	assert_period(out[0], 2026, 1);
}

static void test_due_month_turns_in_account_zone(void **state)
{
	struct cat_terms berlin = { .start = at("Europe/Berlin", 2026, 1, 1, 0, 0), .blocks = 2 };
	struct cat_terms tokyo = { .start = at("Asia/Tokyo", 2026, 1, 1, 0, 0), .blocks = 2 };
	struct cat_period out[4], jan = P(2026, 1);

	assert_int_equal(due("Europe/Berlin", &berlin, &jan, utc(2026, 1, 31, 22, 30), out, 4), 0);
	assert_int_equal(due("Europe/Berlin", &berlin, &jan, utc(2026, 1, 31, 23, 0), out, 4), 1);
	assert_period(out[0], 2026, 2);
	assert_int_equal(due("Asia/Tokyo", &tokyo, &jan, utc(2026, 1, 31, 14, 59), out, 4), 0);
	assert_int_equal(due("Asia/Tokyo", &tokyo, &jan, utc(2026, 1, 31, 23, 30), out, 4), 1);
	assert_period(out[0], 2026, 2);
}

static void test_due_stops_at_opt_out(void **state)
{
	struct cat_alloc_change ch[] = { { utc(2026, 4, 10, 0, 0), 0 } };
	struct cat_terms t = { .start = utc(2026, 1, 1, 0, 0), .blocks = 2, .changes = ch, .n_changes = 1 };
	struct cat_period out[8], mar = P(2026, 3), apr = P(2026, 4);

	assert_int_equal(due("UTC", &t, &mar, utc(2026, 8, 1, 0, 0), out, 8), 1);
	assert_period(out[0], 2026, 4);
	assert_int_equal(due("UTC", &t, &apr, utc(2026, 8, 1, 0, 0), out, 8), 0);

	/* Opted out before it began: never owed. */
	ch[0].effective = t.start;
	assert_int_equal(due("UTC", &t, NULL, utc(2026, 8, 1, 0, 0), out, 8), 0);
	assert_int_equal(alloc("UTC", &t, 2026, 1), 0);
}

/* ---- rates ---- */

static void test_rate_for_picks_rate_in_force(void **state)
{
	struct fw_error e = { 0 };
	long long rate = -1;
	struct cat_rate r[] = { { utc(2026, 3, 1, 0, 0), 12000 }, { utc(2026, 1, 1, 0, 0), 10000 } };

	assert_int_equal(cat_rate_for(r, 2, utc(2026, 2, 10, 0, 0), &rate, NULL), 0);
	assert_int_equal(rate, 10000);
	assert_int_equal(cat_rate_for(r, 2, utc(2026, 3, 1, 0, 0), &rate, NULL), 0);
	assert_int_equal(rate, 12000);
	assert_refused(cat_rate_for(r, 2, utc(2025, 12, 31, 23, 59), &rate, &e), &e, "no_rate", NULL);
	/* Two rates from the same instant: the later one in the list wins. */
	struct cat_rate same[] = { { utc(2026, 1, 1, 0, 0), 10000 }, { utc(2026, 1, 1, 0, 0), 11000 } };
	assert_int_equal(cat_rate_for(same, 2, utc(2026, 1, 5, 0, 0), &rate, NULL), 0);
	assert_int_equal(rate, 11000);
}

static void test_bill_period_uses_rate_of_month(void **state)
{
	const char *tz = "Europe/Berlin";
	struct cat_rate r[] = { { at(tz, 2026, 1, 1, 0, 0), 10000 }, { at(tz, 2026, 3, 15, 0, 0), 12000 } };
	struct cat_terms t = { .start = at(tz, 2026, 1, 1, 0, 0), .blocks = 2 };
	struct cat_bill_line l;

	assert_int_equal(cat_bill_period(tz, &t, r, 2, P(2026, 2), 0, &l, NULL), 0);
	assert_int_equal(l.rate_minor_per_block, 10000);
	assert_int_equal(l.amount_minor, 10000);
	/* A price change on 15 March applies from April. */
	assert_int_equal(cat_bill_period(tz, &t, r, 2, P(2026, 3), 30 * 60, &l, NULL), 0);
	assert_int_equal(l.billed_blocks, 2);
	assert_int_equal(l.amount_minor, 20000);
	assert_int_equal(cat_bill_period(tz, &t, r, 2, P(2026, 4), 30 * 60, &l, NULL), 0);
	assert_int_equal(l.rate_minor_per_block, 12000);
	assert_int_equal(l.amount_minor, 24000);
}

static void test_bill_period_mid_month_start_pays_start_price(void **state)
{
	const char *tz = "Europe/Berlin";
	struct cat_rate r[] = { { at(tz, 2026, 1, 1, 0, 0), 10000 }, { at(tz, 2026, 3, 15, 0, 0), 12000 } };
	struct cat_terms t = { .start = at(tz, 2026, 3, 20, 0, 0), .blocks = 2 };
	struct cat_bill_line l;
	assert_int_equal(cat_bill_period(tz, &t, r, 2, P(2026, 3), 0, &l, NULL), 0);
	assert_int_equal(l.billed_blocks, 1);
	assert_int_equal(l.amount_minor, 12000);
}

static void test_bill_period_rate_needed_only_when_active(void **state)
{
	struct cat_terms t = { .start = utc(2026, 3, 1, 0, 0), .blocks = 2 };
	struct cat_bill_line l;
	struct fw_error e = { 0 };
	assert_int_equal(cat_bill_period("UTC", &t, NULL, 0, P(2026, 2), 0, &l, NULL), 0);
	assert_int_equal(l.billed_blocks, 0);
	assert_int_equal(l.amount_minor, 0);
	assert_refused(cat_bill_period("UTC", &t, NULL, 0, P(2026, 3), 0, &l, &e), &e, "no_rate", "rate");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_month_of_berlin_last_day_evening),
		cmocka_unit_test(test_month_of_tokyo_last_day),
		cmocka_unit_test(test_month_bounds_dst_start_month),
		cmocka_unit_test(test_month_bounds_dst_end_month),
		cmocka_unit_test(test_month_bounds_midnight_in_dst_gap_or_overlap),
		cmocka_unit_test(test_month_bounds_year_end_and_leap_february),
		cmocka_unit_test(test_day_start_in_summer_and_winter),
		cmocka_unit_test(test_unknown_zone_refused),
		cmocka_unit_test(test_invalid_period_refused),
		cmocka_unit_test(test_bill_zero_hours_bills_one_block),
		cmocka_unit_test(test_bill_partial_block),
		cmocka_unit_test(test_bill_several_blocks),
		cmocka_unit_test(test_bill_exactly_twenty_hours),
		cmocka_unit_test(test_bill_forty_hours_of_three),
		cmocka_unit_test(test_bill_capped_at_allocation),
		cmocka_unit_test(test_bill_inactive_month_bills_nothing),
		cmocka_unit_test(test_bill_rejects_bad_input),
		cmocka_unit_test(test_terms_new_engagement_needs_blocks),
		cmocka_unit_test(test_terms_change_blocks_in_range),
		cmocka_unit_test(test_terms_cannot_resume_after_opt_out),
		cmocka_unit_test(test_terms_opt_out_superseded_before_it_takes_effect),
		cmocka_unit_test(test_alloc_every_month_from_start),
		cmocka_unit_test(test_alloc_mid_month_start),
		cmocka_unit_test(test_alloc_raise_mid_month_covers_whole_month),
		cmocka_unit_test(test_alloc_cut_mid_month_keeps_hours_logged),
		cmocka_unit_test(test_alloc_latest_approval_supersedes),
		cmocka_unit_test(test_alloc_change_before_start_applies_from_start),
		cmocka_unit_test(test_opt_out_mid_month),
		cmocka_unit_test(test_opt_out_on_first_of_month),
		cmocka_unit_test(test_worklog_exactly_at_allocation_allowed),
		cmocka_unit_test(test_worklog_one_minute_over_refused),
		cmocka_unit_test(test_worklog_fits_once_allocation_raised),
		cmocka_unit_test(test_worklog_rejects_bad_minutes),
		cmocka_unit_test(test_worklog_month_in_berlin),
		cmocka_unit_test(test_worklog_month_in_tokyo),
		cmocka_unit_test(test_worklog_month_in_dst_month),
		cmocka_unit_test(test_worklog_before_start_refused),
		cmocka_unit_test(test_due_nothing_before_start),
		cmocka_unit_test(test_due_running_twice_allocates_once),
		cmocka_unit_test(test_due_catches_up_in_order_within_cap),
		cmocka_unit_test(test_due_month_turns_in_account_zone),
		cmocka_unit_test(test_due_stops_at_opt_out),
		cmocka_unit_test(test_rate_for_picks_rate_in_force),
		cmocka_unit_test(test_bill_period_uses_rate_of_month),
		cmocka_unit_test(test_bill_period_mid_month_start_pays_start_price),
		cmocka_unit_test(test_bill_period_rate_needed_only_when_active),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
