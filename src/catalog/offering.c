#include "catalog/offering.h"

#include "store/store.h"
#include "util/err.h"
#include "util/jsonv.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const cat_plans[] = {"accelerate", "advanced", NULL};
const char *const cat_statuses[] = {"available", "retired", NULL};

/* 1e13 minor units: far above any real block price, far below overflow in billing arithmetic. */
#define MONEY_MAX 10000000000000LL

int cat_parse_money(const json_t *v, long long *minor)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0 || i > MONEY_MAX / 100)
			return FW_EINVAL;
		*minor = (long long)i * 100;
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v) * 100.0;
		if (!(d >= 0) || d > (double)MONEY_MAX || fabs(d - round(d)) > 1e-6)
			return FW_EINVAL;
		*minor = llround(d);
		return 0;
	}
	if (!json_is_string(v))
		return FW_EINVAL;
	const char *s = json_string_value(v);
	long long major = 0, cents = 0;
	int digits = 0, decimals = 0;
	const char *p = s;
	for (; isdigit((unsigned char)*p); p++, digits++) {
		if (major > MONEY_MAX / 1000)
			return FW_EINVAL;
		major = major * 10 + (*p - '0');
	}
	if (!digits)
		return FW_EINVAL;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, decimals++) {
			if (decimals == 2)
				return FW_EINVAL;
			cents = cents * 10 + (*p - '0');
		}
		if (!decimals)
			return FW_EINVAL;
		if (decimals == 1)
			cents *= 10;
	}
	if (*p)
		return FW_EINVAL;
	*minor = major * 100 + cents;
	return 0;
}

void cat_fmt_money(long long minor, char *out, size_t cap)
{
	snprintf(out, cap, "%s%lld.%02lld", minor < 0 ? "-" : "", llabs(minor) / 100, llabs(minor) % 100);
}

static const struct jv_field offering_fields[] = {
    {"id", JV_STRING, JV_REQUIRED | JV_NONEMPTY, 64, NULL},
    {"title", JV_STRING, JV_REQUIRED | JV_NONEMPTY, 200, NULL},
    {"description", JV_STRING, JV_REQUIRED | JV_NONEMPTY, 8000, NULL},
    {"expected_outcomes", JV_ARRAY, JV_REQUIRED | JV_NONEMPTY, 50, NULL},
    {"plans", JV_ARRAY, JV_REQUIRED | JV_NONEMPTY, 10, NULL},
    {"rate_per_block", JV_ANY, JV_REQUIRED, 0, NULL},
    {"rate_minor", JV_INT, 0, 0, NULL},
    {"currency", JV_STRING, 0, 3, NULL},
    {"prerequisites", JV_ARRAY, 0, 50, NULL},
    {"status", JV_STRING, 0, 0, cat_statuses},
    {"response_objective", JV_STRING, JV_NULLABLE, 20, NULL},
    {NULL},
};

static int check_strings(json_t *a, const char *field, size_t maxlen, struct fw_error *e)
{
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *s = json_array_get(a, i);
		if (!json_is_string(s) || !json_string_length(s) || json_string_length(s) > maxlen)
			return fw_fail(e, 422, "invalid_field",
			               "field '%s' item %zu must be a non-empty string of at most %zu bytes",
			               field, i, maxlen);
	}
	return 0;
}

int cat_offering_check(json_t *o, struct fw_error *e)
{
	int rc = jv_check(o, offering_fields, e);
	if (rc)
		return rc;
	const char *id = jv_str(o, "id");
	for (const char *p = id; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-'))
			return fw_fail(e, 422, "invalid_field",
			               "field 'id' '%.64s' may use only lower-case letters, digits and '-'",
			               id);
	if ((rc = check_strings(json_object_get(o, "expected_outcomes"), "expected_outcomes", 2000, e)) ||
	    (rc = check_strings(json_object_get(o, "prerequisites"), "prerequisites", 2000, e)))
		return rc;
	json_t *plans = json_object_get(o, "plans");
	for (size_t i = 0; i < json_array_size(plans); i++) {
		const char *p = json_string_value(json_array_get(plans, i));
		if (!p || !jv_in(p, cat_plans))
			return fw_fail(e, 422, "invalid_field",
			               "field 'plans' item %zu must be one of: accelerate, advanced", i);
	}
	long long minor;
	if (cat_parse_money(json_object_get(o, "rate_per_block"), &minor))
		return fw_fail(
		    e, 422, "invalid_field",
		    "field 'rate_per_block' must be a non-negative amount with at most two decimals, "
		    "like \"3200.00\"");
	const char *cur = jv_str_or(o, "currency", "USD");
	if (strlen(cur) != 3 || !isupper((unsigned char)cur[0]) || !isupper((unsigned char)cur[1]) ||
	    !isupper((unsigned char)cur[2]))
		return fw_fail(e, 422, "invalid_field", "field 'currency' must be an ISO 4217 code like USD");
	const char *ro = jv_str(o, "response_objective");
	int64_t ms;
	if (ro && (time_parse_duration(ro, &ms) || ms <= 0))
		return fw_fail(e, 422, "invalid_field",
		               "field 'response_objective' must be a duration like 8h");
	char money[32];
	cat_fmt_money(minor, money, sizeof(money));
	json_object_set_new(o, "rate_per_block", json_string(money));
	json_object_set_new(o, "rate_minor", json_integer(minor));
	json_object_set_new(o, "currency", json_string(cur));
	if (!json_object_get(o, "status"))
		json_object_set_new(o, "status", json_string("available"));
	if (!json_object_get(o, "prerequisites"))
		json_object_set_new(o, "prerequisites", json_array());
	if (json_is_null(json_object_get(o, "response_objective")))
		json_object_del(o, "response_objective");
	return 0;
}

static char *dump(const json_t *v)
{
	return json_dumps(v ? v : json_array(), JSON_COMPACT);
}

int cat_offering_put(struct store_conn *c, const json_t *o, const char *source, int64_t rate_at_ms,
                     bool *changed)
{
	json_t *cur = NULL;
	const char *id = jv_str(o, "id");
	int rc = cat_offering_get(c, id, &cur);
	if (rc && rc != FW_ENOTFOUND)
		return rc;
	*changed = !cur;
	if (cur) {
		static const char *const keys[] = {
		    "title",         "description", "expected_outcomes",  "plans",      "currency",
		    "prerequisites", "status",      "response_objective", "rate_minor", NULL};
		for (int i = 0; keys[i]; i++) {
			json_t *a = json_object_get(cur, keys[i]), *b = json_object_get(o, keys[i]);
			if (!a != !b || (a && !json_equal(a, b)))
				*changed = true;
		}
	}
	int64_t now = time_now_ms();
	char *outcomes = dump(json_object_get(o, "expected_outcomes")),
	     *plans = dump(json_object_get(o, "plans")), *pre = dump(json_object_get(o, "prerequisites"));
	if (!outcomes || !plans || !pre) {
		rc = FW_ENOMEM;
		goto out;
	}
	rc = 0;
	if (!cur)
		rc = store_exec(
		    c,
		    "INSERT INTO cat_offerings (id, title, description, outcomes, plans, prerequisites, "
		    "currency, response_objective, status, source, created_at, updated_at) "
		    "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)",
		    SARGS(ST(id), ST(jv_str(o, "title")), ST(jv_str(o, "description")), ST(outcomes),
		          ST(plans), ST(pre), ST(jv_str(o, "currency")), ST(jv_str(o, "response_objective")),
		          ST(jv_str(o, "status")), ST(source), SI(now)),
		    NULL);
	else if (*changed)
		rc = store_exec(
		    c,
		    "UPDATE cat_offerings SET title=$2, description=$3, outcomes=$4, plans=$5, "
		    "prerequisites=$6, currency=$7, response_objective=$8, status=$9, source=$10, "
		    "updated_at=$11 WHERE id=$1",
		    SARGS(ST(id), ST(jv_str(o, "title")), ST(jv_str(o, "description")), ST(outcomes),
		          ST(plans), ST(pre), ST(jv_str(o, "currency")), ST(jv_str(o, "response_objective")),
		          ST(jv_str(o, "status")), ST(source), SI(now)),
		    NULL);
	long long minor = json_integer_value(json_object_get(o, "rate_minor"));
	if (!rc && (!cur || minor != json_integer_value(json_object_get(cur, "rate_minor"))))
		rc = store_exec(c,
		                "INSERT INTO cat_rates (offering, effective, minor) VALUES ($1,$2,$3) "
		                "ON CONFLICT (offering, effective) DO UPDATE SET minor = excluded.minor",
		                SARGS(ST(id), SI(cur ? rate_at_ms : 0), SI(minor)), NULL);
out:
	free(outcomes);
	free(plans);
	free(pre);
	json_decref(cur);
	return rc;
}

#define OFFERING_COLS                                                                                        \
	"o.id, o.title, o.description, o.outcomes, o.plans, o.prerequisites, o.currency, "                   \
	"o.response_objective, o.status, (SELECT minor FROM cat_rates r WHERE r.offering = o.id AND "        \
	"r.effective <= $1 ORDER BY r.effective DESC LIMIT 1)"

static json_t *offering_row(struct store_rows *rows)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:s,s:s}", "id", store_text(rows, 0), "title",
	                      store_text(rows, 1), "description", store_text(rows, 2), "expected_outcomes",
	                      json_loads(store_text(rows, 3), 0, NULL), "plans",
	                      json_loads(store_text(rows, 4), 0, NULL), "prerequisites",
	                      json_loads(store_text(rows, 5), 0, NULL), "currency", store_text(rows, 6),
	                      "status", store_text(rows, 8));
	if (!o)
		return NULL;
	if (store_text(rows, 7))
		json_object_set_new(o, "response_objective", json_string(store_text(rows, 7)));
	long long minor = store_isnull(rows, 9) ? 0 : store_int(rows, 9);
	char money[32];
	cat_fmt_money(minor, money, sizeof(money));
	json_object_set_new(o, "rate_per_block", json_string(money));
	json_object_set_new(o, "rate_minor", json_integer(minor));
	return o;
}

int cat_offering_get(struct store_conn *c, const char *id, json_t **out)
{
	struct store_rows *rows;
	int rc = store_query(c, "SELECT " OFFERING_COLS " FROM cat_offerings o WHERE o.id = $2",
	                     SARGS(SI(time_now_ms()), ST(id)), &rows);
	if (rc)
		return rc;
	*out = NULL;
	if (store_next(rows) == 1)
		*out = offering_row(rows);
	store_rows_free(rows);
	return *out ? 0 : FW_ENOTFOUND;
}

json_t *cat_offering_list(struct store_conn *c, const char *plan, const char *status)
{
	json_t *items = json_array();
	struct store_rows *rows;
	if (store_query(c,
	                "SELECT " OFFERING_COLS
	                " FROM cat_offerings o WHERE (CAST($2 AS TEXT) IS NULL OR o.status = $2) "
	                "ORDER BY o.id",
	                SARGS(SI(time_now_ms()), ST(status)), &rows))
		return items;
	while (store_next(rows) == 1) {
		json_t *o = offering_row(rows);
		if (o && (!plan || cat_offering_allows_plan(o, plan)))
			json_array_append_new(items, o);
		else
			json_decref(o);
	}
	store_rows_free(rows);
	return items;
}

int cat_offering_rates(struct store_conn *c, const char *id, struct cat_rate **out, size_t *n)
{
	struct store_rows *rows;
	*out = NULL;
	*n = 0;
	int rc =
	    store_query(c, "SELECT effective, minor FROM cat_rates WHERE offering = $1 ORDER BY effective",
	                SARGS(ST(id)), &rows);
	if (rc)
		return rc;
	size_t cap = 0;
	while (store_next(rows) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			struct cat_rate *nr = realloc(*out, cap * sizeof(*nr));
			if (!nr) {
				rc = FW_ENOMEM;
				break;
			}
			*out = nr;
		}
		(*out)[(*n)++] = (struct cat_rate){(time_t)(store_int(rows, 0) / 1000), store_int(rows, 1)};
	}
	store_rows_free(rows);
	return rc;
}

bool cat_offering_allows_plan(const json_t *o, const char *plan)
{
	json_t *plans = json_object_get(o, "plans");
	for (size_t i = 0; plan && i < json_array_size(plans); i++)
		if (!strcmp(json_string_value(json_array_get(plans, i)), plan))
			return true;
	return false;
}
