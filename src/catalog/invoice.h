#ifndef FW_CATALOG_INVOICE_H
#define FW_CATALOG_INVOICE_H
/* Monthly statements of Operations on Demand. cat_invoice_build() reads the store and bills each
 * engagement line of an account for one month by the rules of catalog/billing.h; the renderers turn
 * that JSON into CSV and a readable HTML page and touch nothing else (they are pure). */

#include "catalog/billing.h"

#include <jansson.h>

struct store_conn;
struct buf;
struct fw_error;

/* The statement of account for month p: every allocated engagement line that covers the account or
 * that the account submitted (a management account sees its members' lines), as
 *   {"account","month","lines":[{"engagement","request","offering","offering_title","account",
 *     "allocated_blocks","used_minutes","hours_used","billed_blocks","rate_per_block","amount",
 *     "amount_minor","currency","worklogs":[…]}],"totals":{"USD":"…"}}
 * *out is a new reference. */
int cat_invoice_build(struct store_conn *c, const char *account, struct cat_period p, json_t **out,
                      struct fw_error *err);

/* One row per work log (and one per line without work logs), with a header; RFC 4180 quoting. */
int cat_invoice_csv(const json_t *inv, struct buf *out);
/* A self-contained HTML page: a table of lines, the work logs behind each, totals. Text is escaped. */
int cat_invoice_html(const json_t *inv, struct buf *out);

#endif
