/* Unit tests for the pure parts of the AWS adapters: case ids, case status and severity mappings
 * (compat/aws_support), OpsItem status, OperationalData checks and filters (compat/aws_ssm), and the
 * sealed storage of access-key secrets (api/access_keys). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/access_keys.h"
#include "compat/aws_ssm.h"
#include "compat/aws_support.h"
#include "util/err.h"

static void test_case_id_round_trip(void **state)
{
	char id[64], acc[16];
	int year;
	int64_t seq;
	(void)state;
	/* 2024-03-01T00:00:00Z */
	assert_int_equal(aws_case_id("123456789012", 1709251200000LL, 42, id, sizeof(id)), 0);
	assert_string_equal(id, "case-123456789012-2024-000000000000002a");
	assert_int_equal(aws_case_parse(id, acc, &year, &seq), 0);
	assert_string_equal(acc, "123456789012");
	assert_int_equal(year, 2024);
	assert_int_equal(seq, 42);
	assert_int_equal(aws_case_id("123456789012", 0, 1, id, 20), FW_ETOOBIG);
}

static void test_case_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"case-12345678901-2024-000000000000002a",   /* 11-digit account */
		"case-123456789012-2024-000000000000002A",  /* upper-case hex */
		"case-123456789012-2024-0000000000000000",  /* seq 0 */
		"case-123456789012-20x4-000000000000002a",
		"case-123456789012-2024-000000000000002a0",
		"case-12345678901a-2024-000000000000002a",
		"incident-123456789012-2024-00000000000002a",
		"case-123456789012-2024-ffffffffffffffff",  /* beyond int64 */
	};
	char acc[16];
	int year;
	int64_t seq;
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(aws_case_parse(bad[i], acc, &year, &seq), FW_EINVAL);
	assert_int_equal(aws_case_parse(NULL, acc, &year, &seq), FW_EINVAL);
}

static void test_case_status(void **state)
{
	(void)state;
	assert_string_equal(aws_case_status("incident", "new", false), "opened");
	assert_string_equal(aws_case_status("incident", "acknowledged", false), "work-in-progress");
	assert_string_equal(aws_case_status("incident", "investigating", false), "work-in-progress");
	assert_string_equal(aws_case_status("incident", "investigating", true), "reopened");
	assert_string_equal(aws_case_status("incident", "resolved", true), "resolved");
	assert_string_equal(aws_case_status("incident", "closed", true), "resolved");
	assert_string_equal(aws_case_status("incident", "reclassified", false), "resolved");
	assert_string_equal(aws_case_status("request", "submitted", false), "opened");
	assert_string_equal(aws_case_status("request", "approved", false), "work-in-progress");
	assert_string_equal(aws_case_status("request", "in_progress", false), "work-in-progress");
	assert_string_equal(aws_case_status("request", "fulfilled", false), "resolved");
	assert_string_equal(aws_case_status("request", "cancelled", false), "resolved");
	assert_string_equal(aws_case_status("request", "denied", false), "resolved");
	assert_string_equal(aws_case_status("request", "in_progress", true), "work-in-progress");
	assert_true(aws_case_resolved("fulfilled"));
	assert_false(aws_case_resolved("new"));
}

static void test_severity_round_trip(void **state)
{
	static const char *const codes[] = { "low", "normal", "high", "urgent", "critical" };
	static const char *const prio[] = { "P4", "P3", "P2", "P1", "P1" };
	(void)state;
	for (size_t i = 0; i < 5; i++) {
		const char *sev, *impact, *urgency;
		char p[4];
		assert_int_equal(aws_severity_to_ticket(codes[i], &sev, &impact, &urgency), 0);
		/* The priority the ticket gets (impact × urgency, ITIL matrix). */
		snprintf(p, sizeof(p), "%s", prio[i]);
		assert_string_equal(aws_severity_of_ticket(sev, p), codes[i]);
	}
	const char *s, *im, *u;
	assert_int_equal(aws_severity_to_ticket("apocalyptic", &s, &im, &u), FW_EINVAL);
	assert_int_equal(aws_severity_to_ticket(NULL, &s, &im, &u), FW_EINVAL);
	assert_string_equal(aws_severity_of_ticket("medium", "P3"), "normal");
	assert_string_equal(aws_severity_of_ticket(NULL, NULL), "normal");
}

static void test_opsitem_status(void **state)
{
	(void)state;
	assert_string_equal(aws_opsitem_status("incident", "new", "Open"), "Open");
	assert_string_equal(aws_opsitem_status("incident", "investigating", "Open"), "InProgress");
	assert_string_equal(aws_opsitem_status("incident", "resolved", "InProgress"), "Resolved");
	assert_string_equal(aws_opsitem_status("problem", "open", "InProgress"), "InProgress");
	assert_string_equal(aws_opsitem_status("problem", "open", "Open"), "Open");
	assert_string_equal(aws_opsitem_status("problem", "known_error", "Open"), "InProgress");
	assert_string_equal(aws_opsitem_status("problem", "closed", "InProgress"), "Resolved");
}

static json_t *od(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	return j;
}

static void test_opsitem_incident(void **state)
{
	(void)state;
	json_t *a = od("{\"/aws/resources\":{\"Value\":\"[{\\\"arn\\\":\\\"arn:aws:cloudwatch:x:1:alarm:a\\\"}]\"}}");
	json_t *b = od("{\"/aws/resources\":{\"Value\":\"[]\"},\"host\":{\"Value\":\"x\"}}");
	json_t *c = od("{\"/flywheel/alarms\":{\"Value\":\"ALM-3\",\"Type\":\"String\"}}");
	assert_true(aws_opsitem_is_incident(a));
	assert_false(aws_opsitem_is_incident(b));
	assert_true(aws_opsitem_is_incident(c));
	assert_false(aws_opsitem_is_incident(NULL));
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void test_opsdata_check(void **state)
{
	struct fw_error e;
	(void)state;
	static const char *const good[] = {
		"{}",
		"{\"/aws/resources\":{\"Value\":\"[]\",\"Type\":\"SearchableString\"}}",
		"{\"/aws/dedup\":{\"Value\":\"{}\",\"Type\":\"SearchableString\"}}",
		"{\"team\":{\"Value\":\"db\",\"Type\":\"String\"}}",
		"{\"awesome\":{\"Value\":\"x\"}}", /* starts with "aw", not "aws" */
	};
	static const char *const bad[] = {
		"{\"aws:x\":{\"Value\":\"v\"}}",
		"{\"/amazon/x\":{\"Value\":\"v\"}}",
		"{\"SSM\":{\"Value\":\"v\"}}",
		"{\"/aws/other\":{\"Value\":\"v\"}}",
		"{\"k\":{\"Value\":3}}",
		"{\"k\":{\"Value\":\"v\",\"Type\":\"Number\"}}",
		"{\"k\":{\"Value\":\"v\",\"Extra\":1}}",
		"{\"k\":\"v\"}",
		"[]",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		json_t *j = od(good[i]);
		assert_int_equal(aws_opsdata_check(j, &e), 0);
		json_decref(j);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = od(bad[i]);
		assert_int_equal(aws_opsdata_check(j, &e), FW_EINVAL);
		assert_string_equal(e.code, "OpsItemInvalidParameterException");
		json_decref(j);
	}
	/* 20 KB values pass, one byte more does not. */
	char *big = malloc(20 * 1024 + 2);
	memset(big, 'x', 20 * 1024 + 1);
	big[20 * 1024 + 1] = '\0';
	json_t *j = json_pack("{s:{s:s}}", "k", "Value", big + 1);
	assert_int_equal(aws_opsdata_check(j, &e), 0);
	json_decref(j);
	j = json_pack("{s:{s:s}}", "k", "Value", big);
	assert_int_equal(aws_opsdata_check(j, &e), FW_EINVAL);
	json_decref(j);
	free(big);
}

static bool matches(const char *item, const char *filters)
{
	struct fw_error e;
	json_t *i = od(item), *f = od(filters);
	assert_int_equal(aws_opsitem_filters_check(f, &e), 0);
	bool m = aws_opsitem_match(i, f);
	json_decref(i);
	json_decref(f);
	return m;
}

#define ITEM                                                                                                   \
	"{\"OpsItemId\":\"oi-0123456789ab\",\"Title\":\"CPU high on db-1\",\"Source\":\"flywheel\",\"Status\":"  \
	"\"Open\",\"Priority\":2,\"AccountId\":\"111111111111\",\"CreatedTime\":1700000000.5,\"OperationalData\":{" \
	"\"/aws/resources\":{\"Value\":\"[{\\\"arn\\\":\\\"arn:aws:cloudwatch:r:1:alarm:cpu\\\"}]\"},\"host\":{"    \
	"\"Value\":\"db-1\"}}}"

static void test_filters(void **state)
{
	(void)state;
	assert_true(matches(ITEM, "[]"));
	assert_true(matches(ITEM, "[{\"Key\":\"Status\",\"Values\":[\"Resolved\",\"Open\"],\"Operator\":\"Equal\"}]"));
	assert_false(matches(ITEM, "[{\"Key\":\"Status\",\"Values\":[\"Resolved\"],\"Operator\":\"Equal\"}]"));
	assert_true(matches(ITEM, "[{\"Key\":\"Priority\",\"Values\":[\"2\"],\"Operator\":\"Equal\"}]"));
	assert_false(matches(ITEM, "[{\"Key\":\"Priority\",\"Values\":[\"1\"],\"Operator\":\"Equal\"}]"));
	assert_true(matches(ITEM, "[{\"Key\":\"Title\",\"Values\":[\"cpu HIGH\"],\"Operator\":\"Contains\"}]"));
	assert_false(matches(ITEM, "[{\"Key\":\"Title\",\"Values\":[\"CPU high\"],\"Operator\":\"Equal\"}]"));
	assert_true(matches(ITEM, "[{\"Key\":\"Source\",\"Values\":[\"flywheel\"],\"Operator\":\"Equal\"}]"));
	assert_true(matches(ITEM, "[{\"Key\":\"OperationalData\",\"Values\":[\"{\\\"key\\\":\\\"host\\\",\\\"value\\\":"
				  "\\\"db-1\\\"}\"],\"Operator\":\"Equal\"}]"));
	assert_false(matches(ITEM, "[{\"Key\":\"OperationalData\",\"Values\":[\"{\\\"key\\\":\\\"host\\\",\\\"value\\\":"
				   "\\\"db-2\\\"}\"],\"Operator\":\"Equal\"}]"));
	assert_true(matches(ITEM, "[{\"Key\":\"OperationalDataKey\",\"Values\":[\"host\"],\"Operator\":\"Equal\"}]"));
	assert_true(matches(ITEM, "[{\"Key\":\"OperationalDataValue\",\"Values\":[\"db-\"],\"Operator\":\"Contains\"}]"));
	assert_false(matches(ITEM, "[{\"Key\":\"OperationalDataValue\",\"Values\":[\"db-\"],\"Operator\":\"Equal\"}]"));
	assert_true(matches(ITEM, "[{\"Key\":\"ResourceId\",\"Values\":[\"alarm:cpu\"],\"Operator\":\"Contains\"}]"));
	assert_true(matches(ITEM, "[{\"Key\":\"AccountId\",\"Values\":[\"111111111111\"],\"Operator\":\"Equal\"}]"));
	assert_true(matches(ITEM, "[{\"Key\":\"CreatedTime\",\"Values\":[\"2023-11-14T22:13:20Z\"],\"Operator\":\"GreaterThan\"}]"));
	assert_false(matches(ITEM, "[{\"Key\":\"CreatedTime\",\"Values\":[\"2023-11-14T22:13:21Z\"],\"Operator\":\"GreaterThan\"}]"));
	assert_true(matches(ITEM, "[{\"Key\":\"CreatedTime\",\"Values\":[\"1700000001\"],\"Operator\":\"LessThan\"}]"));
	/* AND across filters */
	assert_false(matches(ITEM, "[{\"Key\":\"Status\",\"Values\":[\"Open\"],\"Operator\":\"Equal\"},"
				   "{\"Key\":\"Priority\",\"Values\":[\"3\"],\"Operator\":\"Equal\"}]"));
}

static void test_filters_check(void **state)
{
	struct fw_error e;
	(void)state;
	static const char *const bad[] = {
		"{}",
		"[{\"Key\":\"Nope\",\"Values\":[\"x\"],\"Operator\":\"Equal\"}]",
		"[{\"Key\":\"Status\",\"Values\":[\"x\"],\"Operator\":\"Contains\"}]",
		"[{\"Key\":\"Status\",\"Values\":[],\"Operator\":\"Equal\"}]",
		"[{\"Key\":\"Status\",\"Values\":[1],\"Operator\":\"Equal\"}]",
		"[{\"Key\":\"CreatedTime\",\"Values\":[\"x\"],\"Operator\":\"Equal\"}]",
		"[{\"Key\":\"OperationalData\",\"Values\":[\"not json\"],\"Operator\":\"Equal\"}]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = od(bad[i]);
		assert_int_equal(aws_opsitem_filters_check(j, &e), FW_EINVAL);
		json_decref(j);
	}
}

static void test_seal_open(void **state)
{
	char dir[] = "/tmp/fw-test-aws-XXXXXX", path[64], out[AKEY_SECRET_MAX];
	char *sealed = NULL, *again = NULL;
	struct stat st;
	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(akey_seal(dir, "AKFW0000000000000001", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &sealed), 0);
	snprintf(path, sizeof(path), "%s/keys.secret", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_null(strstr(sealed, "wJalr"));
	assert_int_equal(akey_open(dir, "AKFW0000000000000001", sealed, out, sizeof(out)), 0);
	assert_string_equal(out, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
	/* Fresh nonce each time. */
	assert_int_equal(akey_seal(dir, "AKFW0000000000000001", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &again), 0);
	assert_string_not_equal(sealed, again);
	/* Bound to its key id (GCM additional data). */
	assert_int_equal(akey_open(dir, "AKFW0000000000000002", sealed, out, sizeof(out)), FW_EIO);
	/* Tampering is detected. */
	size_t n = strlen(sealed);
	sealed[n / 2] = sealed[n / 2] == 'A' ? 'B' : 'A';
	assert_int_equal(akey_open(dir, "AKFW0000000000000001", sealed, out, sizeof(out)), FW_EIO);
	assert_int_equal(akey_open(dir, "AKFW0000000000000001", "v1:", out, sizeof(out)), FW_EIO);
	assert_int_equal(akey_open(dir, "AKFW0000000000000001", "plain", out, sizeof(out)), FW_EIO);
	assert_int_equal(akey_open(dir, "AKFW0000000000000001", again, out, 8), FW_ETOOBIG);
	/* Another data dir has another key. */
	char dir2[] = "/tmp/fw-test-aws-XXXXXX";
	assert_non_null(mkdtemp(dir2));
	assert_int_equal(akey_open(dir2, "AKFW0000000000000001", again, out, sizeof(out)), FW_EIO);
	free(sealed);
	free(again);
	unlink(path);
	rmdir(dir);
	rmdir(dir2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case_id_round_trip), cmocka_unit_test(test_case_parse_rejects),
		cmocka_unit_test(test_case_status),        cmocka_unit_test(test_severity_round_trip),
		cmocka_unit_test(test_opsitem_status),     cmocka_unit_test(test_opsitem_incident),
		cmocka_unit_test(test_opsdata_check),      cmocka_unit_test(test_filters),
		cmocka_unit_test(test_filters_check),      cmocka_unit_test(test_seal_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
