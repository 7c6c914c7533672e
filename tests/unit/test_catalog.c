/* Unit tests for the catalog's pure parts: YAML → JSON, money, offering validation, months and dates,
 * and the CSV/HTML statement renderers. (The billing rules are in test_billing.c.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_yaml.h"
#include "catalog/engagement.h"
#include "catalog/invoice.h"
#include "catalog/offering.h"
#include "util/buf.h"
#include "util/err.h"

static json_t *yaml(const char *text)
{
	json_t *j = NULL;
	char err[256] = "";
	int rc = cat_yaml_parse(text, strlen(text), &j, err, sizeof(err));
	if (rc)
		fail_msg("yaml failed: %s", err);
	return j;
}

static void test_yaml_types(void **state)
{
	json_t *j = yaml("id: x\nblocks: 3\nneg: -4\nrate: \"3200.00\"\nplain: 3200.00\nok: true\nnone: ~\n"
	                 "list: [a, b]\nnested:\n  - k: v\n");
	assert_int_equal(json_integer_value(json_object_get(j, "blocks")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "neg")), -4);
	assert_string_equal(json_string_value(json_object_get(j, "rate")), "3200.00");
	/* A decimal stays a string so money is exact. */
	assert_string_equal(json_string_value(json_object_get(j, "plain")), "3200.00");
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_true(json_is_null(json_object_get(j, "none")));
	assert_int_equal(json_array_size(json_object_get(j, "list")), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(json_object_get(j, "nested"), 0), "k")), "v");
	json_decref(j);
}

static void test_yaml_refuses(void **state)
{
	static const char *const bad[] = {"a: &x 1\nb: *x\n", "a: 1\n---\nb: 2\n", "a: [1, 2\n",
	                                  "? [1]\n: v\n", NULL};
	for (int i = 0; bad[i]; i++) {
		json_t *j = NULL;
		char err[256] = "";
		assert_int_equal(cat_yaml_parse(bad[i], strlen(bad[i]), &j, err, sizeof(err)), FW_EINVAL);
		assert_null(j);
		if (!strstr(err, "line "))
			fail_msg("error '%s' for case %d does not name a line", err, i);
	}
}

static void test_money(void **state)
{
	long long m = -1;
	json_t *v;
	char out[32];
	v = json_string("3200.00");
	assert_int_equal(cat_parse_money(v, &m), 0);
	assert_int_equal(m, 320000);
	json_decref(v);
	v = json_string("12.5");
	assert_int_equal(cat_parse_money(v, &m), 0);
	assert_int_equal(m, 1250);
	json_decref(v);
	v = json_integer(7);
	assert_int_equal(cat_parse_money(v, &m), 0);
	assert_int_equal(m, 700);
	json_decref(v);
	v = json_real(2100.5);
	assert_int_equal(cat_parse_money(v, &m), 0);
	assert_int_equal(m, 210050);
	json_decref(v);
	static const char *const bad[] = {
	    "", "1.234", "-5", "1,000", "1.", ".5", "12abc", "99999999999999999999", NULL};
	for (int i = 0; bad[i]; i++) {
		v = json_string(bad[i]);
		if (cat_parse_money(v, &m) != FW_EINVAL)
			fail_msg("'%s' was accepted as money", bad[i]);
		json_decref(v);
	}
	cat_fmt_money(320005, out, sizeof(out));
	assert_string_equal(out, "3200.05");
	cat_fmt_money(0, out, sizeof(out));
	assert_string_equal(out, "0.00");
}

static json_t *offering(void)
{
	return json_pack("{s:s,s:s,s:s,s:[s],s:[s,s],s:s}", "id", "eks-x", "title", "EKS", "description", "d",
	                 "expected_outcomes", "o", "plans", "accelerate", "advanced", "rate_per_block",
	                 "3200");
}

static void test_offering_check(void **state)
{
	struct fw_error e = {0};
	json_t *o = offering();
	assert_int_equal(cat_offering_check(o, &e), 0);
	assert_string_equal(json_string_value(json_object_get(o, "rate_per_block")), "3200.00");
	assert_int_equal(json_integer_value(json_object_get(o, "rate_minor")), 320000);
	assert_string_equal(json_string_value(json_object_get(o, "currency")), "USD");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "available");
	assert_true(cat_offering_allows_plan(o, "accelerate"));
	assert_false(cat_offering_allows_plan(o, "gold"));
	assert_false(cat_offering_allows_plan(o, NULL));
	json_decref(o);

	struct {
		const char *key;
		json_t *value;
		const char *needle;
	} cases[] = {
	    {"plans", json_pack("[s]", "gold"), "plans"},
	    {"plans", json_array(), "plans"},
	    {"id", json_string("EKS X"), "id"},
	    {"rate_per_block", json_string("1.999"), "rate_per_block"},
	    {"currency", json_string("usd"), "currency"},
	    {"status", json_string("paused"), "status"},
	    {"expected_outcomes", json_pack("[i]", 3), "expected_outcomes"},
	    {"response_objective", json_string("soon"), "response_objective"},
	    {"colour", json_string("red"), "colour"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = offering();
		json_object_set_new(o, cases[i].key, cases[i].value);
		e = (struct fw_error){0};
		assert_int_equal(cat_offering_check(o, &e), FW_EINVAL);
		assert_int_equal(e.status, 422);
		if (!strstr(e.message, cases[i].needle))
			fail_msg("case %zu: message '%s' does not name '%s'", i, e.message, cases[i].needle);
		json_decref(o);
	}
}

/* The shipped catalog parses and validates: ten offerings, the documented plans. */
static void test_shipped_catalog(void **state)
{
	const char *root = getenv("FW_ROOT");
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/etc/catalog.d", root ? root : ".");
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".yaml"))
			continue;
		char path[1400], text[8192];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		size_t len = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[len] = '\0';
		json_t *o = yaml(text);
		struct fw_error e = {0};
		if (cat_offering_check(o, &e))
			fail_msg("%s: %s", path, e.message);
		if (!strcmp(json_string_value(json_object_get(o, "id")), "priority-rfc-execution")) {
			assert_false(cat_offering_allows_plan(o, "accelerate"));
			assert_string_equal(json_string_value(json_object_get(o, "response_objective")),
			                    "8h");
		}
		if (!strcmp(json_string_value(json_object_get(o, "id")), "eks-cluster-maintenance"))
			assert_true(cat_offering_allows_plan(o, "accelerate") &&
			            cat_offering_allows_plan(o, "advanced"));
		json_decref(o);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 10);
}

static void test_periods_and_dates(void **state)
{
	struct cat_period p;
	char out[16];
	int y, m, d;
	assert_int_equal(cat_period_parse("2026-02", &p), 0);
	assert_int_equal(p.year, 2026);
	assert_int_equal(p.month, 2);
	cat_period_fmt(p, out, sizeof(out));
	assert_string_equal(out, "2026-02");
	static const char *const badp[] = {"2026-13", "2026-00",  "2026-2", "26-02",
	                                   "2026/02", "2026-02x", "",       NULL};
	for (int i = 0; badp[i]; i++)
		if (cat_period_parse(badp[i], &p) != FW_EINVAL)
			fail_msg("period '%s' accepted", badp[i]);
	assert_int_equal(cat_date_parse("2026-03-15", &y, &m, &d), 0);
	assert_int_equal(y * 10000 + m * 100 + d, 20260315);
	assert_int_equal(cat_date_parse("2026-3-15", &y, &m, &d), FW_EINVAL);
	assert_int_equal(cat_date_parse("next week", &y, &m, &d), FW_EINVAL);
}

static json_t *statement(void)
{
	return json_pack("{s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:i,s:s,s:i,s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:s}]},"
	                 "{s:s,s:s,s:s,s:s,s:i,s:s,s:i,s:s,s:s,s:s,s:[]}],s:{s:s}}",
	                 "account", "100000000001", "month", "2026-03", "lines", "engagement", "ENG-1",
	                 "offering", "eks-cluster-maintenance", "offering_title", "EKS <maintenance>",
	                 "account", "100000000002", "allocated_blocks", 2, "hours_used", "25.00",
	                 "billed_blocks", 2, "rate_per_block", "3200.00", "amount", "6400.00", "currency",
	                 "USD", "worklogs", "id", "WL-1", "start", "2026-03-02T09:00:00.000Z", "hours",
	                 "25.00", "description", "upgrade, \"blue\"", "operator", "prn-1", "engagement",
	                 "ENG-1", "offering", "sap-cluster-assist", "offering_title", "SAP", "account",
	                 "100000000003", "allocated_blocks", 1, "hours_used", "0.00", "billed_blocks", 1,
	                 "rate_per_block", "4200.00", "amount", "4200.00", "currency", "USD", "worklogs",
	                 "totals", "USD", "10600.00");
}

static void test_invoice_csv(void **state)
{
	json_t *inv = statement();
	struct buf b = BUF_INIT(1 << 16);
	assert_int_equal(cat_invoice_csv(inv, &b), 0);
	const char *s = buf_str(&b);
	assert_non_null(
	    strstr(s, "month,account,engagement,offering,allocated_blocks,hours_used,billed_blocks,"));
	assert_non_null(strstr(
	    s, "\r\n2026-03,100000000002,ENG-1,eks-cluster-maintenance,2,25.00,2,3200.00,6400.00,USD,WL-1,"
	       "2026-03-02T09:00:00.000Z,25.00,\"upgrade, \"\"blue\"\"\",,prn-1\r\n"));
	/* A line without work logs still gets its row. */
	assert_non_null(strstr(
	    s, "\r\n2026-03,100000000003,ENG-1,sap-cluster-assist,1,0.00,1,4200.00,4200.00,USD,,,,,,\r\n"));
	buf_release(&b);
	json_decref(inv);
}

static void test_invoice_html(void **state)
{
	json_t *inv = statement();
	struct buf b = BUF_INIT(1 << 16);
	assert_int_equal(cat_invoice_html(inv, &b), 0);
	const char *s = buf_str(&b);
	assert_non_null(
	    strstr(s, "<tr class=\"line\"><td>EKS &lt;maintenance&gt;</td><td>100000000002</td>"));
	assert_non_null(strstr(s, "<td class=\"n\">6400.00 USD</td>"));
	assert_non_null(strstr(s, "upgrade, &quot;blue&quot;"));
	assert_non_null(strstr(s, "10600.00 USD"));
	assert_null(strstr(s, "<maintenance>"));
	buf_release(&b);
	json_decref(inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_yaml_types),      cmocka_unit_test(test_yaml_refuses),
	    cmocka_unit_test(test_money),           cmocka_unit_test(test_offering_check),
	    cmocka_unit_test(test_shipped_catalog), cmocka_unit_test(test_periods_and_dates),
	    cmocka_unit_test(test_invoice_csv),     cmocka_unit_test(test_invoice_html),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
