#include "catalog/invoice.h"

#include "catalog/engagement.h"
#include "catalog/offering.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fmt_hours(long minutes, char *out, size_t cap)
{
	snprintf(out, cap, "%ld.%02ld", minutes / 60, (minutes % 60) * 100 / 60);
}

static json_t *worklogs(struct store_conn *c, const char *eng, const char *o, const char *acc, const char *ps)
{
	json_t *items = json_array();
	struct store_rows *rows;
	if (store_query(
	        c,
	        "SELECT id, start_at, minutes, description, ticket, operator FROM cat_worklogs WHERE "
	        "engagement = $1 AND offering = $2 AND account = $3 AND period = $4 ORDER BY start_at, seq",
	        SARGS(ST(eng), ST(o), ST(acc), ST(ps)), &rows))
		return items;
	while (store_next(rows) == 1) {
		char ts[32], h[32];
		time_fmt_ms(store_int(rows, 1), ts, sizeof(ts));
		fmt_hours((long)store_int(rows, 2), h, sizeof(h));
		json_array_append_new(items,
		                      json_pack("{s:s,s:s,s:I,s:s,s:s,s:s?,s:s}", "id", store_text(rows, 0),
		                                "start", ts, "minutes", (json_int_t)store_int(rows, 2),
		                                "hours", h, "description", store_text(rows, 3), "ticket",
		                                store_text(rows, 4), "operator", store_text(rows, 5)));
	}
	store_rows_free(rows);
	return items;
}

struct key {
	char eng[32], req[32], offering[72], account[16];
};

int cat_invoice_build(struct store_conn *c, const char *account, struct cat_period p, json_t **out,
                      struct fw_error *err)
{
	char ps[16];
	cat_period_fmt(p, ps, sizeof(ps));
	struct store_rows *rows;
	int rc =
	    store_query(c,
	                "SELECT l.engagement, e.request, l.offering, l.account FROM cat_lines l "
	                "JOIN cat_engagements e ON e.id = l.engagement JOIN cat_allocations a ON "
	                "a.engagement = l.engagement AND a.offering = l.offering AND a.account = l.account "
	                "AND a.period = $2 WHERE (l.account = $1 OR e.account = $1) "
	                "ORDER BY l.offering, l.account, e.seq",
	                SARGS(ST(account), ST(ps)), &rows);
	if (rc)
		return rc;
	struct key *keys = NULL;
	size_t n = 0, cap = 0;
	while (store_next(rows) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct key *nk = realloc(keys, cap * sizeof(*nk));
			if (!nk) {
				rc = FW_ENOMEM;
				break;
			}
			keys = nk;
		}
		snprintf(keys[n].eng, sizeof(keys[n].eng), "%s", store_text(rows, 0));
		snprintf(keys[n].req, sizeof(keys[n].req), "%s", store_text(rows, 1));
		snprintf(keys[n].offering, sizeof(keys[n].offering), "%s", store_text(rows, 2));
		snprintf(keys[n].account, sizeof(keys[n].account), "%s", store_text(rows, 3));
		n++;
	}
	store_rows_free(rows);
	json_t *lines = json_array(), *totals = json_object();
	for (size_t i = 0; !rc && i < n; i++) {
		struct key *k = &keys[i];
		struct cat_line_terms lt = CAT_LINE_TERMS_INIT;
		struct cat_rate *rates = NULL;
		size_t nrates = 0;
		long used = 0;
		json_t *o = NULL;
		struct cat_bill_line bl;
		if ((rc = cat_line_terms_load(c, k->eng, k->offering, k->account, &lt))) {
			if (rc == FW_ENOTFOUND)
				rc = 0;
			continue;
		}
		if (!(rc = cat_offering_rates(c, k->offering, &rates, &nrates)) &&
		    !(rc = cat_used_minutes(c, k->eng, k->offering, k->account, p, &used)))
			rc = cat_bill_period(lt.tz, &lt.t, rates, nrates, p, used, &bl, err);
		if (!rc && cat_offering_get(c, k->offering, &o))
			o = NULL;
		if (!rc) {
			char rate[32], amount[32], hours[32];
			const char *cur = o ? jv_str(o, "currency") : "USD";
			cat_fmt_money(bl.rate_minor_per_block, rate, sizeof(rate));
			cat_fmt_money(bl.amount_minor, amount, sizeof(amount));
			fmt_hours(used, hours, sizeof(hours));
			json_array_append_new(
			    lines,
			    json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:s,s:i,s:s,s:s,s:I,s:s,s:o}",
			              "engagement", k->eng, "request", k->req, "offering", k->offering,
			              "offering_title", o ? jv_str(o, "title") : k->offering, "account",
			              k->account, "allocated_blocks", bl.allocated_blocks, "used_minutes",
			              (json_int_t)used, "hours_used", hours, "billed_blocks",
			              bl.billed_blocks, "rate_per_block", rate, "amount", amount,
			              "amount_minor", (json_int_t)bl.amount_minor, "currency", cur,
			              "worklogs", worklogs(c, k->eng, k->offering, k->account, ps)));
			json_t *t = json_object_get(totals, cur);
			json_object_set_new(totals, cur,
			                    json_integer((t ? json_integer_value(t) : 0) + bl.amount_minor));
		}
		json_decref(o);
		free(rates);
		cat_line_terms_release(&lt);
	}
	free(keys);
	if (rc) {
		json_decref(lines);
		json_decref(totals);
		return rc;
	}
	/* Totals as money strings, per currency. */
	json_t *tot = json_object();
	const char *cur;
	json_t *v;
	json_object_foreach(totals, cur, v)
	{
		char m[32];
		cat_fmt_money(json_integer_value(v), m, sizeof(m));
		json_object_set_new(tot, cur, json_string(m));
	}
	json_decref(totals);
	*out = json_pack("{s:s,s:s,s:o,s:o}", "account", account, "month", ps, "lines", lines, "totals", tot);
	return *out ? 0 : FW_ENOMEM;
}

static void csv_field(struct buf *b, const char *s, bool last)
{
	if (!s)
		s = "";
	if (strpbrk(s, ",\"\r\n")) {
		buf_puts(b, "\"");
		for (const char *p = s; *p; p++)
			buf_puts(b, *p == '"' ? "\"\"" : (char[]){*p, '\0'});
		buf_puts(b, "\"");
	} else {
		buf_puts(b, s);
	}
	buf_puts(b, last ? "\r\n" : ",");
}

int cat_invoice_csv(const json_t *inv, struct buf *out)
{
	static const char *const head[] = {"month",
	                                   "account",
	                                   "engagement",
	                                   "offering",
	                                   "allocated_blocks",
	                                   "hours_used",
	                                   "billed_blocks",
	                                   "rate_per_block",
	                                   "amount",
	                                   "currency",
	                                   "worklog",
	                                   "worklog_start",
	                                   "worklog_hours",
	                                   "worklog_description",
	                                   "ticket",
	                                   "operator",
	                                   NULL};
	for (int i = 0; head[i]; i++)
		csv_field(out, head[i], !head[i + 1]);
	json_t *lines = json_object_get(inv, "lines");
	for (size_t i = 0; i < json_array_size(lines); i++) {
		json_t *l = json_array_get(lines, i), *wl = json_object_get(l, "worklogs");
		char alloc[16], billed[16];
		snprintf(alloc, sizeof(alloc), "%lld",
		         (long long)json_integer_value(json_object_get(l, "allocated_blocks")));
		snprintf(billed, sizeof(billed), "%lld",
		         (long long)json_integer_value(json_object_get(l, "billed_blocks")));
		size_t nw = json_array_size(wl);
		for (size_t j = 0; j < (nw ? nw : 1); j++) {
			json_t *w = nw ? json_array_get(wl, j) : NULL;
			const char *row[] = {jv_str(inv, "month"),
			                     jv_str(l, "account"),
			                     jv_str(l, "engagement"),
			                     jv_str(l, "offering"),
			                     alloc,
			                     jv_str(l, "hours_used"),
			                     billed,
			                     jv_str(l, "rate_per_block"),
			                     jv_str(l, "amount"),
			                     jv_str(l, "currency"),
			                     jv_str(w, "id"),
			                     jv_str(w, "start"),
			                     jv_str(w, "hours"),
			                     jv_str(w, "description"),
			                     jv_str(w, "ticket"),
			                     jv_str(w, "operator")};
			size_t nr = sizeof(row) / sizeof(row[0]);
			for (size_t k = 0; k < nr; k++)
				csv_field(out, row[k], k + 1 == nr);
		}
	}
	return out->len < out->max ? 0 : FW_ETOOBIG;
}

static void esc(struct buf *b, const char *s)
{
	for (const char *p = s ? s : ""; *p; p++) {
		switch (*p) {
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '&': buf_puts(b, "&amp;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&#39;"); break;
		default: buf_append(b, p, 1);
		}
	}
}

static void td(struct buf *b, const char *cls, const char *s)
{
	buf_printf(b, "<td%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
	esc(b, s);
	buf_puts(b, "</td>");
}

int cat_invoice_html(const json_t *inv, struct buf *out)
{
	buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Statement ");
	esc(out, jv_str(inv, "account"));
	buf_puts(out, " ");
	esc(out, jv_str(inv, "month"));
	buf_puts(
	    out,
	    "</"
	    "title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
	    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}td.n{text-align:right}"
	    "tr.wl td{color:#555;font-size:90%}</style></head><body>\n<h1>Operations on Demand "
	    "statement</h1>\n<p>Account ");
	esc(out, jv_str(inv, "account"));
	buf_puts(out, ", month ");
	esc(out, jv_str(inv, "month"));
	buf_puts(out,
	         ". A block is 20 hours, valid for its calendar month; each month bills the blocks that had "
	         "hours used, and at least "
	         "one.</p>\n<table>\n<thead><tr><th>Offering</th><th>Account</th><th>Engagement</th>"
	         "<th>Allocated blocks</th><th>Hours used</th><th>Billed blocks</th><th>Rate per block</th>"
	         "<th>Amount</th></tr></thead>\n<tbody>\n");
	json_t *lines = json_object_get(inv, "lines");
	for (size_t i = 0; i < json_array_size(lines); i++) {
		json_t *l = json_array_get(lines, i), *wl = json_object_get(l, "worklogs");
		char alloc[16], billed[16], rate[64], amount[64];
		snprintf(alloc, sizeof(alloc), "%lld",
		         (long long)json_integer_value(json_object_get(l, "allocated_blocks")));
		snprintf(billed, sizeof(billed), "%lld",
		         (long long)json_integer_value(json_object_get(l, "billed_blocks")));
		snprintf(rate, sizeof(rate), "%s %s", jv_str_or(l, "rate_per_block", ""),
		         jv_str_or(l, "currency", ""));
		snprintf(amount, sizeof(amount), "%s %s", jv_str_or(l, "amount", ""),
		         jv_str_or(l, "currency", ""));
		buf_puts(out, "<tr class=\"line\">");
		td(out, NULL, jv_str(l, "offering_title"));
		td(out, NULL, jv_str(l, "account"));
		td(out, NULL, jv_str(l, "engagement"));
		td(out, "n", alloc);
		td(out, "n", jv_str(l, "hours_used"));
		td(out, "n", billed);
		td(out, "n", rate);
		td(out, "n", amount);
		buf_puts(out, "</tr>\n");
		for (size_t j = 0; j < json_array_size(wl); j++) {
			json_t *w = json_array_get(wl, j);
			buf_puts(out, "<tr class=\"wl\"><td colspan=\"3\">");
			esc(out, jv_str(w, "id"));
			buf_puts(out, " ");
			esc(out, jv_str(w, "start"));
			buf_puts(out, " by ");
			esc(out, jv_str(w, "operator"));
			if (jv_str(w, "ticket")) {
				buf_puts(out, " (");
				esc(out, jv_str(w, "ticket"));
				buf_puts(out, ")");
			}
			buf_puts(out, "</td><td colspan=\"4\">");
			esc(out, jv_str(w, "description"));
			buf_puts(out, "</td>");
			td(out, "n", jv_str(w, "hours"));
			buf_puts(out, "</tr>\n");
		}
	}
	if (!json_array_size(lines))
		buf_puts(out, "<tr><td colspan=\"8\">No engagement was allocated this month.</td></tr>\n");
	buf_puts(out, "</tbody>\n<tfoot>");
	const char *cur;
	json_t *v;
	json_object_foreach(json_object_get(inv, "totals"), cur, v)
	{
		char t[80];
		snprintf(t, sizeof(t), "%s %s", json_string_value(v), cur);
		buf_puts(out, "<tr class=\"total\"><th colspan=\"7\">Total</th>");
		td(out, "n", t);
		buf_puts(out, "</tr>");
	}
	buf_puts(out, "</tfoot>\n</table>\n</body></html>\n");
	return out->len < out->max ? 0 : FW_ETOOBIG;
}
