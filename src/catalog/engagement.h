#ifndef FW_CATALOG_ENGAGEMENT_H
#define FW_CATALOG_ENGAGEMENT_H
/* Engagements in the store: an engagement (ENG-n) is the detail of a service request (SR-n) for
 * catalog offerings. It has lines (offering × covered account) with requested and approved blocks per
 * month, an agreed start, approved modifications (catalog/billing.h struct cat_alloc_change per line,
 * in approval order), monthly allocations (one row per engagement-offering-account-month, which is
 * what makes allocation runs idempotent) and work logs. The pure rules are in catalog/billing.h;
 * this module loads their inputs and records their results. Writers run inside a store_write
 * function and leave the audit entry of the request to their caller (allocation rows get their
 * own "allocation.create" entries). */

#include "catalog/billing.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_conn;
struct fw_error;

/* "2026-03" ⇄ struct cat_period. parse returns 0 or FW_EINVAL; out of fmt needs 8 bytes. */
int cat_period_parse(const char *s, struct cat_period *p);
void cat_period_fmt(struct cat_period p, char *out, size_t cap);
/* "2026-03-15" → year, month, day (shape only; cat_day_start checks the calendar). 0 or FW_EINVAL. */
int cat_date_parse(const char *s, int *y, int *m, int *d);
/* Today's date in zone tz as the instant of its local midnight. */
int cat_today_start(const char *tz, int64_t now_ms, time_t *out);

/* The terms of one line, loaded from the store. changes is owned (cat_line_terms_release). */
struct cat_line_terms {
	struct cat_terms t;
	struct cat_alloc_change *changes;
	char tz[64];
};
#define CAT_LINE_TERMS_INIT                                                                                  \
	{                                                                                                    \
		{0, 0, NULL, 0}, NULL, ""                                                                    \
	}

/* Loads the terms of (engagement, offering, account). FW_ENOTFOUND when the line does not exist,
 * was not approved (0 blocks), or the engagement has no agreed start. */
int cat_line_terms_load(struct store_conn *c, const char *eng, const char *offering, const char *account,
                        struct cat_line_terms *out);
void cat_line_terms_release(struct cat_line_terms *lt);

/* The allocation run: for every started line (of engagement eng, or of all when eng is NULL) inserts
 * the months due at now_ms that are not allocated yet. Running it twice allocates once. *n gets the
 * number of month allocations made. */
int cat_allocate(struct store_conn *c, const char *eng, int64_t now_ms, int *n);
/* Recomputes the blocks of months already allocated to eng from its current terms (after an
 * approved modification raised them). */
int cat_allocation_refresh(struct store_conn *c, const char *eng);

/* The engagement in API form with lines, modifications and allocations; NULL when there is none.
 * New reference. */
json_t *cat_engagement_json(struct store_conn *c, const char *id);

/* Minutes already logged against a line in month p. */
int cat_used_minutes(struct store_conn *c, const char *eng, const char *offering, const char *account,
                     struct cat_period p, long *minutes);

#endif
