#include "catalog/billing.h"

#include "util/err.h"
#include "util/tz.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

/* Every rule here is small arithmetic over a handful of changes per engagement, so the month scans
 * are quadratic in the number of changes and allocate nothing. */

static int fail_zone(const char *tz, struct fw_error *err)
{
	return fw_fail(err, 422, "unknown_time_zone",
		       "time zone '%s' is unknown; use an IANA zone name such as Europe/Berlin or UTC",
		       tz ? tz : "(none)");
}

static bool period_valid(struct cat_period p)
{
	return p.year >= 1970 && p.year <= 9999 && p.month >= 1 && p.month <= 12;
}

static int fail_period(struct cat_period p, struct fw_error *err)
{
	return fw_fail(err, 422, "invalid_period",
		       "month %d-%02d is not a valid billing month; use a year from 1970 to 9999 and a "
		       "month from 1 to 12",
		       p.year, p.month);
}

/* YYYY-MM-DD of instant t in zone tz, for messages. */
static void fmt_day(const char *tz, time_t t, char *buf, size_t len)
{
	struct tm tm;
	if (tz_local(tz, t, &tm) != 0)
		snprintf(buf, len, "(unknown date)");
	else
		snprintf(buf, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int cat_period_cmp(struct cat_period a, struct cat_period b)
{
	if (a.year != b.year)
		return a.year < b.year ? -1 : 1;
	if (a.month != b.month)
		return a.month < b.month ? -1 : 1;
	return 0;
}

struct cat_period cat_period_next(struct cat_period p)
{
	if (p.month >= 12)
		return (struct cat_period){ p.year + 1, 1 };
	return (struct cat_period){ p.year, p.month + 1 };
}

int cat_month_of(const char *tz, time_t t, struct cat_period *out, struct fw_error *err)
{
	struct tm tm;
	if (!tz_valid(tz) || tz_local(tz, t, &tm) != 0)
		return fail_zone(tz, err);
	out->year = tm.tm_year + 1900;
	out->month = tm.tm_mon + 1;
	return 0;
}

static int offset_at(const char *tz, time_t t, long *off)
{
	struct tm tm;
	if (tz_local(tz, t, &tm) != 0)
		return FW_EINVAL;
	*off = tm.tm_gmtoff;
	return 0;
}

/* The first instant of local date y-m-d. Built on tz_local() alone: tz_mktime() currently returns
 * an instant an hour late for wall-clock times in summer time, which would move every month boundary
 * of a DST zone. A zone changes its offset at most once within a day either side of midnight, so
 * midnight is w - o for o the offset a day before or a day after; in an overlap the earlier instant
 * wins, and when midnight falls in a gap the day starts at the transition, found by bisection. */
static int day_start(const char *tz, int y, int m, int d, time_t *out)
{
	time_t w = (time_t)tz_days_from_civil(y, m, d) * 86400; /* local midnight read as UTC */
	long o1, o2, o;
	bool found = false;

	if (offset_at(tz, w - 86400, &o1) != 0 || offset_at(tz, w + 86400, &o2) != 0)
		return FW_EINVAL;
	time_t cand[2] = { w - o1, w - o2 };
	for (int i = 0; i < 2; i++) {
		if (offset_at(tz, cand[i], &o) != 0)
			return FW_EINVAL;
		if (cand[i] + o == w && (!found || cand[i] < *out)) {
			*out = cand[i];
			found = true;
		}
	}
	if (found)
		return 0;
	/* Gap: the offset is still o1 at w - o2 and already o2 at w - o1. */
	time_t lo = w - o2, hi = w - o1;
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;
		if (offset_at(tz, mid, &o) != 0)
			return FW_EINVAL;
		if (o == o1)
			lo = mid;
		else
			hi = mid;
	}
	*out = hi;
	return 0;
}

int cat_day_start(const char *tz, int year, int month, int day, time_t *out, struct fw_error *err)
{
	int y, m, d;
	if (!tz_valid(tz))
		return fail_zone(tz, err);
	tz_civil_from_days(tz_days_from_civil(year, month, day), &y, &m, &d);
	if (year < 1970 || year > 9999 || y != year || m != month || d != day)
		return fw_fail(err, 422, "invalid_date",
			       "%04d-%02d-%02d is not a calendar date from 1970 to 9999; give a date as "
			       "YYYY-MM-DD",
			       year, month, day);
	if (day_start(tz, year, month, day, out) != 0)
		return fail_zone(tz, err);
	return 0;
}

int cat_month_bounds(const char *tz, struct cat_period p, time_t *start, time_t *end, struct fw_error *err)
{
	time_t s, e;
	if (!tz_valid(tz))
		return fail_zone(tz, err);
	if (!period_valid(p))
		return fail_period(p, err);
	struct cat_period n = cat_period_next(p);
	if (day_start(tz, p.year, p.month, 1, &s) != 0 || day_start(tz, n.year, n.month, 1, &e) != 0)
		return fail_zone(tz, err);
	*start = s;
	*end = e;
	return 0;
}

/* A change's effective instant as the timeline sees it: nothing happens before the start. */
static time_t change_at(const struct cat_terms *t, size_t i)
{
	return t->changes[i].effective < t->start ? t->start : t->changes[i].effective;
}

/* The block count in force at `at`: the last approved change effective by then wins, because each
 * approval supersedes everything before it from its effective date on. */
static int in_force(const struct cat_terms *t, time_t at)
{
	if (at < t->start)
		return 0;
	int blocks = t->blocks;
	for (size_t i = 0; i < t->n_changes; i++)
		if (change_at(t, i) <= at)
			blocks = t->changes[i].blocks;
	return blocks;
}

/* Over [from, to): the highest block count in force and the first instant with a positive count.
 * The count only changes at change instants, so checking `from` and each change inside is enough. */
static void scan(const struct cat_terms *t, time_t from, time_t to, int *max, time_t *first_active)
{
	*max = 0;
	*first_active = to;
	if (from < t->start)
		from = t->start;
	if (from >= to)
		return;
	int b = in_force(t, from);
	if (b > 0) {
		*max = b;
		*first_active = from;
	}
	for (size_t i = 0; i < t->n_changes; i++) {
		time_t at = change_at(t, i);
		if (at <= from || at >= to)
			continue;
		b = in_force(t, at);
		if (b > *max)
			*max = b;
		if (b > 0 && at < *first_active)
			*first_active = at;
	}
}

static int scan_month(const char *tz, const struct cat_terms *t, struct cat_period p, int *max,
		      time_t *first_active, struct fw_error *err)
{
	time_t s, e;
	int rc = cat_month_bounds(tz, p, &s, &e, err);
	if (rc != 0)
		return rc;
	scan(t, s, e, max, first_active);
	return 0;
}

int cat_terms_validate(const struct cat_terms *t, struct fw_error *err)
{
	if (t->blocks <= 0 || t->blocks > CAT_MAX_BLOCKS)
		return fw_fail(err, 422, "invalid_blocks",
			       "an engagement needs 1 to %d blocks per month, got %d; to end an engagement, "
			       "request an opt-out instead",
			       CAT_MAX_BLOCKS, t->blocks);
	if (t->n_changes && !t->changes)
		return fw_fail(err, 422, "invalid_blocks", "the allocation changes are missing");
	for (size_t i = 0; i < t->n_changes; i++) {
		int b = t->changes[i].blocks;
		if (b < 0 || b > CAT_MAX_BLOCKS)
			return fw_fail(err, 422, "invalid_blocks",
				       "a modification must set 0 (opt-out) to %d blocks per month, got %d",
				       CAT_MAX_BLOCKS, b);
	}
	/* The timeline must not come back to life once an opt-out is in force: earliest instant with
	 * nothing in force versus the latest instant something is. */
	bool ended = false;
	time_t end = 0, last_active = t->start;
	for (size_t i = 0; i < t->n_changes; i++) {
		time_t at = change_at(t, i);
		int b = in_force(t, at);
		if (b == 0 && (!ended || at < end)) {
			ended = true;
			end = at;
		} else if (b > 0 && at > last_active) {
			last_active = at;
		}
	}
	if (ended && last_active > end)
		return fw_fail(err, 422, "engagement_ended",
			       "the engagement's opt-out took effect before a later allocation would; an "
			       "ended engagement cannot resume, so request a new engagement instead");
	return 0;
}

int cat_blocks_at(const struct cat_terms *t, time_t at)
{
	return in_force(t, at);
}

int cat_allocated_blocks(const char *tz, const struct cat_terms *t, struct cat_period p, int *blocks,
			 struct fw_error *err)
{
	time_t first;
	return scan_month(tz, t, p, blocks, &first, err);
}

/* The minute check behind cat_check_worklog; p names the month in messages when known. */
static int check_fit(const struct cat_period *p, int allocated, long used, long add, struct fw_error *err)
{
	char month[32];
	if (p)
		snprintf(month, sizeof(month), "%04d-%02d", p->year, p->month);
	else
		snprintf(month, sizeof(month), "this month");
	if (allocated < 0 || allocated > CAT_MAX_BLOCKS)
		return fw_fail(err, 422, "invalid_blocks",
			       "an allocation of %d blocks is out of range 0 to %d", allocated,
			       CAT_MAX_BLOCKS);
	if (used < 0)
		return fw_fail(err, 422, "invalid_minutes",
			       "minutes already logged cannot be negative, got %ld", used);
	if (add <= 0)
		return fw_fail(err, 422, "invalid_duration",
			       "a work log must last at least 1 minute, got %ld; give the duration in "
			       "minutes",
			       add);
	long cap = (long)allocated * CAT_BLOCK_MINUTES;
	if (allocated == 0)
		return fw_fail(err, 422, "allocation_exceeded",
			       "no hours are allocated for %s; raise the allocation with a modification "
			       "before logging time",
			       month);
	if (add > cap || used > cap - add) {
		long left = used >= cap ? 0 : cap - used;
		return fw_fail(err, 422, "allocation_exceeded",
			       "%s has %ld minutes allocated (%d blocks of %d hours), %ld are already logged "
			       "and %ld remain, so a work log of %ld minutes does not fit; log at most %ld "
			       "minutes or raise the allocation with a modification",
			       month, cap, allocated, CAT_BLOCK_HOURS, used, left, add, left);
	}
	return 0;
}

int cat_check_worklog(int allocated_blocks, long used_minutes, long add_minutes, struct fw_error *err)
{
	return check_fit(NULL, allocated_blocks, used_minutes, add_minutes, err);
}

int cat_worklog_admit(const char *tz, const struct cat_terms *t, time_t log_start, long minutes,
		      long used_minutes, struct cat_period *period, struct fw_error *err)
{
	struct cat_period p;
	int allocated, rc;
	char day[32], since[32];

	if ((rc = cat_month_of(tz, log_start, &p, err)) != 0)
		return rc;
	if (minutes <= 0 || used_minutes < 0)
		return check_fit(&p, 0, used_minutes, minutes, err);
	if (in_force(t, log_start) == 0) {
		fmt_day(tz, log_start, day, sizeof(day));
		if (log_start < t->start) {
			fmt_day(tz, t->start, since, sizeof(since));
			return fw_fail(err, 422, "engagement_not_active",
				       "the work log starts on %s, before the engagement starts on %s; "
				       "log time from the start date on",
				       day, since);
		}
		return fw_fail(err, 422, "engagement_not_active",
			       "the work log starts on %s, after the engagement's opt-out took effect; "
			       "no more time can be logged against it",
			       day);
	}
	if ((rc = cat_allocated_blocks(tz, t, p, &allocated, err)) != 0)
		return rc;
	if ((rc = check_fit(&p, allocated, used_minutes, minutes, err)) != 0)
		return rc;
	if (period)
		*period = p;
	return 0;
}

int cat_bill_month(int allocated_blocks, long used_minutes, long long rate_minor_per_block,
		   struct cat_bill_line *out, struct fw_error *err)
{
	if (allocated_blocks < 0 || allocated_blocks > CAT_MAX_BLOCKS)
		return fw_fail(err, 422, "invalid_blocks",
			       "an allocation of %d blocks is out of range 0 to %d", allocated_blocks,
			       CAT_MAX_BLOCKS);
	if (used_minutes < 0)
		return fw_fail(err, 422, "invalid_minutes", "minutes used cannot be negative, got %ld",
			       used_minutes);
	if (rate_minor_per_block < 0)
		return fw_fail(err, 422, "invalid_rate",
			       "a block's rate cannot be negative, got %lld minor units",
			       rate_minor_per_block);
	*out = (struct cat_bill_line){ .allocated_blocks = allocated_blocks, .used_minutes = used_minutes,
				       .rate_minor_per_block = rate_minor_per_block };
	if (allocated_blocks == 0) {
		if (used_minutes > 0)
			return fw_fail(err, 422, "usage_without_allocation",
				       "%ld minutes are logged in a month without allocation; check the "
				       "work logs against the engagement's start and opt-out",
				       used_minutes);
		return 0;
	}
	long blocks = used_minutes / CAT_BLOCK_MINUTES + (used_minutes % CAT_BLOCK_MINUTES != 0);
	if (blocks > allocated_blocks)
		blocks = allocated_blocks;
	if (blocks < 1)
		blocks = 1;
	if (rate_minor_per_block > LLONG_MAX / blocks)
		return fw_fail(err, 422, "invalid_rate",
			       "%ld blocks at %lld minor units each overflow the amount; check the "
			       "offering's rate",
			       blocks, rate_minor_per_block);
	out->billed_blocks = (int)blocks;
	out->amount_minor = blocks * rate_minor_per_block;
	return 0;
}

int cat_rate_for(const struct cat_rate *rates, size_t n, time_t at, long long *rate_minor_per_block,
		 struct fw_error *err)
{
	const struct cat_rate *best = NULL;
	for (size_t i = 0; i < n; i++)
		if (rates[i].effective <= at && (!best || rates[i].effective >= best->effective))
			best = &rates[i];
	if (!best)
		return fw_fail(err, 422, "no_rate",
			       "the offering has no rate in force for the month being billed; give it a rate "
			       "effective from that month or earlier");
	if (best->minor_per_block < 0)
		return fw_fail(err, 422, "invalid_rate",
			       "a block's rate cannot be negative, got %lld minor units",
			       best->minor_per_block);
	*rate_minor_per_block = best->minor_per_block;
	return 0;
}

int cat_bill_period(const char *tz, const struct cat_terms *t, const struct cat_rate *rates, size_t n_rates,
		    struct cat_period p, long used_minutes, struct cat_bill_line *out, struct fw_error *err)
{
	int allocated, rc;
	time_t first;
	long long rate = 0;

	if ((rc = scan_month(tz, t, p, &allocated, &first, err)) != 0)
		return rc;
	if (allocated > 0 && (rc = cat_rate_for(rates, n_rates, first, &rate, err)) != 0)
		return rc;
	return cat_bill_month(allocated, used_minutes, rate, out, err);
}

int cat_periods_due(const char *tz, const struct cat_terms *t, const struct cat_period *last, time_t now,
		    struct cat_period *out, size_t cap, size_t *n, struct fw_error *err)
{
	struct cat_period p, first_month, through;
	int rc;

	*n = 0;
	if (last && !period_valid(*last))
		return fail_period(*last, err);
	if ((rc = cat_month_of(tz, t->start, &first_month, err)) != 0 ||
	    (rc = cat_month_of(tz, now, &through, err)) != 0)
		return rc;
	p = first_month;
	if (last && cat_period_cmp(cat_period_next(*last), p) > 0)
		p = cat_period_next(*last);
	for (; *n < cap && cat_period_cmp(p, through) <= 0; p = cat_period_next(p)) {
		int blocks;
		time_t first;
		if ((rc = scan_month(tz, t, p, &blocks, &first, err)) != 0)
			return rc;
		/* Valid terms never resume after an opt-out, so the first inactive month ends the run. */
		if (blocks == 0 || first > now)
			break;
		out[(*n)++] = p;
	}
	return 0;
}
