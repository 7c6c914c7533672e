#ifndef FW_CATALOG_OFFERING_H
#define FW_CATALOG_OFFERING_H
/* Catalog offerings in the store. An offering is handled as its API JSON form:
 *   {"id","title","description","expected_outcomes":[…],"plans":["accelerate","advanced"],
 *    "rate_per_block":"3200.00","rate_minor":320000,"currency":"USD","prerequisites":[…],
 *    "status":"available|retired","response_objective":"8h"|null}
 * Prices are kept as a history of rates (catalog/billing.h struct cat_rate) so a month is billed at
 * the rate in force when it began; changing "rate_per_block" adds a rate effective from the change. */

#include "catalog/billing.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_conn;
struct fw_error;

extern const char *const cat_plans[];    /* "accelerate", "advanced" */
extern const char *const cat_statuses[]; /* "available", "retired" */

/* Parses a money amount in major units (JSON integer, real, or a string like "3200.00" with at most
 * two decimals) into minor units. Returns 0 or FW_EINVAL. */
int cat_parse_money(const json_t *v, long long *minor);
/* Writes minor units as "3200.00" into out (cap ≥ 32). */
void cat_fmt_money(long long minor, char *out, size_t cap);

/* Validates an offering in API form and normalizes it in place: defaults (currency USD, status
 * available, empty lists), "rate_minor" derived from "rate_per_block", unknown fields refused.
 * Errors are 422 with a sentence naming the field. */
int cat_offering_check(json_t *o, struct fw_error *e);

/* Inside a store_write function: inserts or updates offering o (already checked). A new offering's
 * first rate is effective from the epoch; a changed rate is effective from rate_at_ms. *changed says
 * whether anything differed from the stored offering. No audit entry: the caller appends it. */
int cat_offering_put(struct store_conn *c, const json_t *o, const char *source, int64_t rate_at_ms,
                     bool *changed);

/* Loads offering id in API form (the rate in force now). *out is a new reference. FW_ENOTFOUND when
 * there is none. */
int cat_offering_get(struct store_conn *c, const char *id, json_t **out);

/* Every offering, ordered by id, filtered by plan and status when they are not NULL. New reference. */
json_t *cat_offering_list(struct store_conn *c, const char *plan, const char *status);

/* The rate history of an offering; *out is malloc()ed (caller frees), *n its length. */
int cat_offering_rates(struct store_conn *c, const char *id, struct cat_rate **out, size_t *n);

/* True when the offering's "plans" names plan. */
bool cat_offering_allows_plan(const json_t *o, const char *plan);

#endif
