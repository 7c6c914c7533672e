#include "catalog/engagement.h"

#include "audit/audit.h"
#include "store/store.h"
#include "util/err.h"
#include "util/timeutil.h"
#include "util/tz.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Months a single run allocates per line at most; a scheduler down longer catches up next run. */
#define CATCHUP 36

static bool digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

int cat_period_parse(const char *s, struct cat_period *p)
{
	if (!s || strlen(s) != 7 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2))
		return FW_EINVAL;
	p->year = atoi(s);
	p->month = atoi(s + 5);
	return p->year >= 1970 && p->month >= 1 && p->month <= 12 ? 0 : FW_EINVAL;
}

void cat_period_fmt(struct cat_period p, char *out, size_t cap)
{
	snprintf(out, cap, "%04d-%02d", p.year % 10000, p.month % 100);
}

int cat_date_parse(const char *s, int *y, int *m, int *d)
{
	if (!s || strlen(s) != 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
	    !digits(s + 8, 2))
		return FW_EINVAL;
	*y = atoi(s);
	*m = atoi(s + 5);
	*d = atoi(s + 8);
	return 0;
}

int cat_today_start(const char *tz, int64_t now_ms, time_t *out)
{
	struct tm tm;
	if (tz_local(tz, (time_t)(now_ms / 1000), &tm))
		return FW_EINVAL;
	return cat_day_start(tz, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, out, NULL);
}

void cat_line_terms_release(struct cat_line_terms *lt)
{
	free(lt->changes);
	lt->changes = NULL;
	lt->t.changes = NULL;
	lt->t.n_changes = 0;
}

int cat_line_terms_load(struct store_conn *c, const char *eng, const char *offering, const char *account,
                        struct cat_line_terms *out)
{
	struct store_rows *rows;
	int rc = store_query(
	    c,
	    "SELECT e.start_at, l.approved, e.timezone FROM cat_lines l JOIN cat_engagements e "
	    "ON e.id = l.engagement WHERE l.engagement = $1 AND l.offering = $2 AND l.account = $3 "
	    "AND e.start_at IS NOT NULL AND l.approved > 0",
	    SARGS(ST(eng), ST(offering), ST(account)), &rows);
	if (rc)
		return rc;
	if (store_next(rows) != 1) {
		store_rows_free(rows);
		return FW_ENOTFOUND;
	}
	*out = (struct cat_line_terms)CAT_LINE_TERMS_INIT;
	out->t.start = (time_t)(store_int(rows, 0) / 1000);
	out->t.blocks = (int)store_int(rows, 1);
	snprintf(out->tz, sizeof(out->tz), "%s", store_text(rows, 2));
	store_rows_free(rows);
	rc = store_query(
	    c,
	    "SELECT effective_at, blocks FROM cat_line_changes WHERE engagement = $1 AND offering = $2 "
	    "AND account = $3 ORDER BY seq",
	    SARGS(ST(eng), ST(offering), ST(account)), &rows);
	if (rc)
		return rc;
	size_t cap = 0;
	while (store_next(rows) == 1) {
		if (out->t.n_changes == cap) {
			cap = cap ? cap * 2 : 4;
			struct cat_alloc_change *nc = realloc(out->changes, cap * sizeof(*nc));
			if (!nc) {
				rc = FW_ENOMEM;
				break;
			}
			out->changes = nc;
		}
		out->changes[out->t.n_changes++] =
		    (struct cat_alloc_change){(time_t)(store_int(rows, 0) / 1000), (int)store_int(rows, 1)};
	}
	store_rows_free(rows);
	out->t.changes = out->changes;
	if (rc)
		cat_line_terms_release(out);
	return rc;
}

struct line_key {
	char eng[32], offering[72], account[16];
};

/* The started lines (of eng, or all). *out is malloc()ed. */
static int started_lines(struct store_conn *c, const char *eng, struct line_key **out, size_t *n)
{
	struct store_rows *rows;
	*out = NULL;
	*n = 0;
	int rc = store_query(
	    c,
	    "SELECT l.engagement, l.offering, l.account FROM cat_lines l JOIN cat_engagements e "
	    "ON e.id = l.engagement WHERE e.start_at IS NOT NULL AND l.approved > 0 "
	    "AND (CAST($1 AS TEXT) IS NULL OR l.engagement = $1) ORDER BY e.seq, l.offering, l.account",
	    SARGS(ST(eng)), &rows);
	if (rc)
		return rc;
	size_t cap = 0;
	while (store_next(rows) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			struct line_key *nk = realloc(*out, cap * sizeof(*nk));
			if (!nk) {
				rc = FW_ENOMEM;
				break;
			}
			*out = nk;
		}
		struct line_key *k = &(*out)[(*n)++];
		snprintf(k->eng, sizeof(k->eng), "%s", store_text(rows, 0));
		snprintf(k->offering, sizeof(k->offering), "%s", store_text(rows, 1));
		snprintf(k->account, sizeof(k->account), "%s", store_text(rows, 2));
	}
	store_rows_free(rows);
	return rc;
}

static int allocate_line(struct store_conn *c, const struct line_key *k, int64_t now_ms, int *count)
{
	struct cat_line_terms lt = CAT_LINE_TERMS_INIT;
	int rc = cat_line_terms_load(c, k->eng, k->offering, k->account, &lt);
	if (rc)
		return rc == FW_ENOTFOUND ? 0 : rc;
	char *last_s = NULL;
	struct cat_period last, due[CATCHUP];
	size_t n = 0;
	rc =
	    store_query_str(c,
	                    "SELECT MAX(period) FROM cat_allocations WHERE engagement = $1 AND offering = $2 "
	                    "AND account = $3",
	                    SARGS(ST(k->eng), ST(k->offering), ST(k->account)), &last_s);
	bool has_last = !rc && last_s && cat_period_parse(last_s, &last) == 0;
	free(last_s);
	rc = cat_periods_due(lt.tz, &lt.t, has_last ? &last : NULL, (time_t)(now_ms / 1000), due, CATCHUP, &n,
	                     NULL);
	for (size_t i = 0; !rc && i < n; i++) {
		int blocks = 0;
		char ps[16];
		int64_t changed = 0;
		cat_period_fmt(due[i], ps, sizeof(ps));
		if ((rc = cat_allocated_blocks(lt.tz, &lt.t, due[i], &blocks, NULL)))
			break;
		rc = store_exec(
		    c,
		    "INSERT INTO cat_allocations (engagement, offering, account, period, blocks, "
		    "allocated_at) "
		    "VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (engagement, offering, account, period) DO "
		    "NOTHING",
		    SARGS(ST(k->eng), ST(k->offering), ST(k->account), ST(ps), SI(blocks), SI(now_ms)),
		    &changed);
		if (!rc && changed == 1) {
			char obj[160];
			snprintf(obj, sizeof(obj), "%s/%s/%s/%s", k->eng, k->offering, k->account, ps);
			json_t *after =
			    json_pack("{s:s,s:s,s:s,s:s,s:i}", "engagement", k->eng, "offering", k->offering,
			              "account", k->account, "period", ps, "blocks", blocks);
			rc = audit_append(c, "system", k->account, "allocation.create", obj, NULL, after);
			json_decref(after);
			(*count)++;
		}
	}
	cat_line_terms_release(&lt);
	return rc;
}

int cat_allocate(struct store_conn *c, const char *eng, int64_t now_ms, int *n)
{
	struct line_key *keys;
	size_t nk;
	*n = 0;
	int rc = started_lines(c, eng, &keys, &nk);
	for (size_t i = 0; !rc && i < nk; i++)
		rc = allocate_line(c, &keys[i], now_ms, n);
	free(keys);
	return rc;
}

int cat_allocation_refresh(struct store_conn *c, const char *eng)
{
	struct line_key *keys;
	size_t nk;
	int rc = started_lines(c, eng, &keys, &nk);
	for (size_t i = 0; !rc && i < nk; i++) {
		struct cat_line_terms lt = CAT_LINE_TERMS_INIT;
		struct store_rows *rows;
		if ((rc = cat_line_terms_load(c, keys[i].eng, keys[i].offering, keys[i].account, &lt)))
			break;
		rc = store_query(
		    c,
		    "SELECT period, blocks FROM cat_allocations WHERE engagement = $1 AND offering = $2 "
		    "AND account = $3",
		    SARGS(ST(keys[i].eng), ST(keys[i].offering), ST(keys[i].account)), &rows);
		char periods[CATCHUP * 4][8];
		int nper = 0;
		while (!rc && store_next(rows) == 1 && nper < CATCHUP * 4) {
			struct cat_period p;
			int blocks = 0;
			if (cat_period_parse(store_text(rows, 0), &p) ||
			    cat_allocated_blocks(lt.tz, &lt.t, p, &blocks, NULL))
				continue;
			if (blocks != store_int(rows, 1))
				snprintf(periods[nper++], 8, "%s", store_text(rows, 0));
		}
		if (!rc)
			store_rows_free(rows);
		for (int j = 0; !rc && j < nper; j++) {
			struct cat_period p;
			int blocks = 0;
			cat_period_parse(periods[j], &p);
			cat_allocated_blocks(lt.tz, &lt.t, p, &blocks, NULL);
			rc = store_exec(
			    c,
			    "UPDATE cat_allocations SET blocks = $5 WHERE engagement = $1 AND offering = $2 "
			    "AND account = $3 AND period = $4",
			    SARGS(ST(keys[i].eng), ST(keys[i].offering), ST(keys[i].account), ST(periods[j]),
			          SI(blocks)),
			    NULL);
		}
		cat_line_terms_release(&lt);
	}
	free(keys);
	return rc;
}

int cat_used_minutes(struct store_conn *c, const char *eng, const char *offering, const char *account,
                     struct cat_period p, long *minutes)
{
	char ps[16];
	int64_t v = 0;
	cat_period_fmt(p, ps, sizeof(ps));
	int rc =
	    store_query_int(c,
	                    "SELECT COALESCE(SUM(minutes), 0) FROM cat_worklogs WHERE engagement = $1 AND "
	                    "offering = $2 AND account = $3 AND period = $4",
	                    SARGS(ST(eng), ST(offering), ST(account), ST(ps)), &v);
	*minutes = (long)v;
	return rc == FW_ENOTFOUND ? 0 : rc;
}

static void set_ms(json_t *o, const char *key, struct store_rows *rows, int col)
{
	if (store_isnull(rows, col)) {
		json_object_set_new(o, key, json_null());
		return;
	}
	char ts[32];
	time_fmt_ms(store_int(rows, col), ts, sizeof(ts));
	json_object_set_new(o, key, json_string(ts));
}

json_t *cat_engagement_json(struct store_conn *c, const char *id)
{
	struct store_rows *rows;
	if (store_query(c,
	                "SELECT id, account, request, status, timezone, proposed_start, start_date, "
	                "end_date, reason, "
	                "created_by, reviewed_by, created_at, updated_at, start_at FROM cat_engagements "
	                "WHERE id = $1",
	                SARGS(ST(id)), &rows))
		return NULL;
	json_t *e = NULL;
	if (store_next(rows) == 1) {
		e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?}", "id",
		              store_text(rows, 0), "account", store_text(rows, 1), "request",
		              store_text(rows, 2), "status", store_text(rows, 3), "timezone",
		              store_text(rows, 4), "proposed_start", store_text(rows, 5), "start_date",
		              store_text(rows, 6), "end_date", store_text(rows, 7), "reason",
		              store_text(rows, 8), "created_by", store_text(rows, 9), "reviewed_by",
		              store_text(rows, 10));
		set_ms(e, "created_at", rows, 11);
		set_ms(e, "updated_at", rows, 12);
		set_ms(e, "starts_at", rows, 13);
	}
	store_rows_free(rows);
	if (!e)
		return NULL;
	json_t *lines = json_array();
	if (!store_query(c,
	                 "SELECT offering, account, requested, approved FROM cat_lines WHERE engagement = $1 "
	                 "ORDER BY offering, account",
	                 SARGS(ST(id)), &rows)) {
		while (store_next(rows) == 1) {
			json_t *l = json_pack("{s:s,s:s,s:I}", "offering", store_text(rows, 0), "account",
			                      store_text(rows, 1), "requested_blocks",
			                      (json_int_t)store_int(rows, 2));
			json_object_set_new(l, "approved_blocks",
			                    store_isnull(rows, 3) ? json_null()
			                                          : json_integer(store_int(rows, 3)));
			json_array_append_new(lines, l);
		}
		store_rows_free(rows);
	}
	json_object_set_new(e, "lines", lines);
	json_t *mods = json_array();
	if (!store_query(
	        c,
	        "SELECT id, kind, request, status, effective_date, lines, reason, review_reason, created_by, "
	        "reviewed_by FROM cat_modifications WHERE engagement = $1 ORDER BY seq",
	        SARGS(ST(id)), &rows)) {
		while (store_next(rows) == 1)
			json_array_append_new(
			    mods,
			    json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s?,s:s?,s:s?,s:s?}", "id",
			              store_text(rows, 0), "kind", store_text(rows, 1), "request",
			              store_text(rows, 2), "status", store_text(rows, 3), "effective_date",
			              store_text(rows, 4), "lines", json_loads(store_text(rows, 5), 0, NULL),
			              "reason", store_text(rows, 6), "review_reason", store_text(rows, 7),
			              "created_by", store_text(rows, 8), "reviewed_by", store_text(rows, 9)));
		store_rows_free(rows);
	}
	json_object_set_new(e, "modifications", mods);
	json_t *allocs = json_array();
	if (!store_query(
	        c,
	        "SELECT period, offering, account, blocks FROM cat_allocations WHERE engagement = $1 "
	        "ORDER BY period, offering, account",
	        SARGS(ST(id)), &rows)) {
		while (store_next(rows) == 1)
			json_array_append_new(
			    allocs, json_pack("{s:s,s:s,s:s,s:I}", "month", store_text(rows, 0), "offering",
			                      store_text(rows, 1), "account", store_text(rows, 2), "blocks",
			                      (json_int_t)store_int(rows, 3)));
		store_rows_free(rows);
	}
	json_object_set_new(e, "allocations", allocs);
	return e;
}
