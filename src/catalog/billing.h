#ifndef FW_CATALOG_BILLING_H
#define FW_CATALOG_BILLING_H
/* The pure rules of Operations on Demand: calendar months in a time zone, the blocks allocated to an
 * engagement-offering in a month, whether a work log fits the month's allocation, which months an
 * allocation run owes, and what a month bills. No store, no HTTP, no heap: every function works on what
 * it is given; those that can fail return 0 or a negative FW_E* code and fill *err (which may be NULL)
 * with a 422 and a snake_case code when the input breaks a rule. Thread-safe (zone lookups go through
 * util/tz, which serializes them). Design and worked examples:
 * docs/internals/billing.md.
 *
 * All month arithmetic uses one zone per engagement: the zone of the account the engagement belongs to
 * (its billing account). Work logs against any covered account fall into that zone's months. */

#include <stddef.h>
#include <time.h>

struct fw_error;

#define CAT_BLOCK_HOURS 20
#define CAT_BLOCK_MINUTES (CAT_BLOCK_HOURS * 60)
/* Upper bound on blocks per month for one offering (200,000 hours): keeps minute and money arithmetic
 * far from overflow. */
#define CAT_MAX_BLOCKS 10000

/* A calendar month in the engagement's zone. Valid years are 1970..9999, months 1..12. */
struct cat_period {
	int year, month;
};

/* One approved change of the monthly block count. blocks 0 is an opt-out. */
struct cat_alloc_change {
	time_t effective; /* first instant it applies; one before the engagement start means the start */
	int blocks;
};

/* The allocation terms of one engagement-offering. The struct borrows `changes`; the caller keeps the
 * array alive while calling in.
 *
 * `changes` is in approval order, oldest first. The most recently approved change supersedes every
 * earlier one from its effective date on, so at instant t the block count in force is that of the last
 * approved change whose effective date is <= t (the initial approval counts as approved first). */
struct cat_terms {
	time_t start; /* agreed start date: first instant the engagement is active */
	int blocks;   /* blocks per month approved at start (after partial approval); must be > 0 */
	const struct cat_alloc_change *changes;
	size_t n_changes;
};

/* What a month bills. used_minutes is echoed from the input; amount_minor is in the rate's minor
 * unit (cents). billed_blocks 0 and amount 0 mean the month is not billed (engagement inactive). */
struct cat_bill_line {
	int allocated_blocks;
	long used_minutes;
	int billed_blocks;
	long long rate_minor_per_block;
	long long amount_minor;
};

/* One price of an offering: from `effective` on, a block costs minor_per_block minor units. */
struct cat_rate {
	time_t effective;
	long long minor_per_block;
};

/* <0, 0, >0 as a is before, equal to, after b. */
int cat_period_cmp(struct cat_period a, struct cat_period b);

/* The month after p (December rolls into January of the next year). */
struct cat_period cat_period_next(struct cat_period p);

/* The calendar month containing instant t in zone tz. Fails on an unknown zone. */
int cat_month_of(const char *tz, time_t t, struct cat_period *out, struct fw_error *err);

/* The first instant of local date year-month-day in zone tz (local midnight; the earlier one if midnight
 * happens twice, the first instant after it if a DST gap skips it). Turns an agreed start or effective
 * date into an instant. Fails with invalid_date on a date that does not exist (2026-02-30). */
int cat_day_start(const char *tz, int year, int month, int day, time_t *out, struct fw_error *err);

/* The month p in zone tz as the half-open instant range [*start, *end): local midnight of the 1st to
 * local midnight of the next 1st, as cat_day_start() finds them. */
int cat_month_bounds(const char *tz, struct cat_period p, time_t *start, time_t *end, struct fw_error *err);

/* Checks the terms: start blocks in 1..CAT_MAX_BLOCKS, each change in 0..CAT_MAX_BLOCKS, and no block
 * count in force after an opt-out has taken effect (an ended engagement cannot resume; an opt-out that
 * a later-approved change supersedes before it takes effect is fine). Callers validate the terms with
 * a proposed change appended before approving it. The other functions assume valid terms. */
int cat_terms_validate(const struct cat_terms *t, struct fw_error *err);

/* The block count in force at instant `at` (it cannot fail): 0 before the start and after an opt-out. */
int cat_blocks_at(const struct cat_terms *t, time_t at);

/* Blocks allocated in month p: the highest block count in force at any instant of the month on or
 * after the start, so a raise mid-month applies to the whole month and a cut (or an opt-out) mid-month
 * applies from the next month. 0 means the engagement is not active in p at all. */
int cat_allocated_blocks(const char *tz, const struct cat_terms *t, struct cat_period p, int *blocks,
			 struct fw_error *err);

/* May add_minutes more be logged in a month with allocated_blocks when used_minutes are already logged?
 * Exactly reaching the allocation is allowed; one minute over fails with allocation_exceeded. */
int cat_check_worklog(int allocated_blocks, long used_minutes, long add_minutes, struct fw_error *err);

/* Admits a work log starting at log_start, lasting minutes: it belongs wholly to the month of its start
 * (stored in *period when not NULL), the engagement must be active at log_start, and used_minutes (what
 * is already logged against this engagement-offering in that month) plus minutes must fit the month's
 * allocation. Callers find the month first with cat_month_of() to count used_minutes. */
int cat_worklog_admit(const char *tz, const struct cat_terms *t, time_t log_start, long minutes,
		      long used_minutes, struct cat_period *period, struct fw_error *err);

/* Bills one month from its allocation: ceil(used / 20 h) blocks, capped at allocated_blocks, and never
 * fewer than one; allocated_blocks 0 (inactive month) bills nothing and must have no usage. */
int cat_bill_month(int allocated_blocks, long used_minutes, long long rate_minor_per_block,
		   struct cat_bill_line *out, struct fw_error *err);

/* The price of a block at instant `at`: the rate with the latest effective instant <= at (among equal
 * instants the later array element wins). Fails with no_rate when none is in force yet. */
int cat_rate_for(const struct cat_rate *rates, size_t n, time_t at, long long *rate_minor_per_block,
		 struct fw_error *err);

/* Bills month p of one engagement-offering: cat_allocated_blocks, then the rate in force at the month's
 * first active instant (when its allocation run is due: a price change mid-month applies from the next
 * month, and a mid-month start pays the price of its start), then cat_bill_month. An inactive month
 * bills nothing and needs no rate. */
int cat_bill_period(const char *tz, const struct cat_terms *t, const struct cat_rate *rates, size_t n_rates,
		    struct cat_period p, long used_minutes, struct cat_bill_line *out, struct fw_error *err);

/* The months an allocation run owes at `now`: every month after *last (or from the start's month when
 * last is NULL) in which the engagement is active and whose first active instant is <= now, in order.
 * Writes at most cap periods to out and their number to *n. The caller records the last period it
 * allocated and passes it next time, so no month is ever allocated twice; when *n == cap, call again. */
int cat_periods_due(const char *tz, const struct cat_terms *t, const struct cat_period *last, time_t now,
		    struct cat_period *out, size_t cap, size_t *n, struct fw_error *err);

#endif
