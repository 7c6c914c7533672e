/* Notification routing rules: subscription filters, backoff with jitter, which outbox topics notify;
 * and SLA policy parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "notify/route.h"
#include "sla/escalation.h"
#include "sla/policy.h"
#include "util/err.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	assert_non_null(j);
	return j;
}

static void test_filter_match(void **state)
{
	(void)state;
	json_t *f = J("{\"events\":[\"ticket.*\",\"sla.breached\"],\"accounts\":[\"111111111111\"],"
		      "\"severities\":[\"critical\"]}");
	assert_true(ntf_filter_match(f, "ticket.status_changed", "111111111111", "critical"));
	assert_true(ntf_filter_match(f, "sla.breached", "111111111111", "critical"));
	assert_false(ntf_filter_match(f, "sla.warning", "111111111111", "critical"));
	assert_false(ntf_filter_match(f, "ticket.commented", "222222222222", "critical"));
	assert_false(ntf_filter_match(f, "ticket.commented", "111111111111", "low"));
	assert_false(ntf_filter_match(f, "ticket.commented", "111111111111", NULL)); /* no severity: no match */
	assert_false(ntf_filter_match(f, "tickets", "111111111111", "critical"));   /* "ticket.*" needs the dot */
	assert_true(ntf_filter_match(NULL, "anything", NULL, NULL));
	json_t *empty = J("{}");
	assert_true(ntf_filter_match(empty, "x.y", NULL, NULL));
	json_decref(empty);
	json_decref(f);
}

static void test_filter_check(void **state)
{
	(void)state;
	struct fw_error e;
	json_t *bad = J("{\"colour\":[\"red\"]}");
	assert_int_equal(ntf_filter_check(bad, &e), FW_EINVAL);
	assert_string_equal(e.code, "invalid_filter");
	json_decref(bad);
	bad = J("{\"events\":\"ticket.*\"}");
	assert_int_equal(ntf_filter_check(bad, &e), FW_EINVAL);
	json_decref(bad);
	bad = J("{\"events\":[\"\"]}");
	assert_int_equal(ntf_filter_check(bad, &e), FW_EINVAL);
	json_decref(bad);
	json_t *ok = J("{\"events\":[\"sla.*\"],\"severities\":[\"high\"]}");
	assert_int_equal(ntf_filter_check(ok, &e), 0);
	json_decref(ok);
}

static void test_backoff(void **state)
{
	(void)state;
	/* Equal jitter: between half and the whole nominal delay, doubling each attempt up to the cap. */
	assert_int_equal(ntf_backoff_ms(1, 1000, 60000, 0.0), 500);
	assert_int_equal(ntf_backoff_ms(1, 1000, 60000, 0.999999), 999);
	assert_int_equal(ntf_backoff_ms(2, 1000, 60000, 0.0), 1000);
	assert_int_equal(ntf_backoff_ms(3, 1000, 60000, 0.0), 2000);
	assert_int_equal(ntf_backoff_ms(30, 1000, 60000, 0.0), 30000); /* capped: no overflow */
	assert_true(ntf_backoff_ms(30, 1000, 60000, 0.5) <= 60000);
	for (int a = 1; a < 10; a++) {
		int64_t lo = ntf_backoff_ms(a, 100, 5000, 0.0), hi = ntf_backoff_ms(a, 100, 5000, 0.99);
		assert_true(lo <= hi);
		assert_true(hi <= 5000);
	}
}

static void test_topics(void **state)
{
	(void)state;
	assert_true(ntf_topic_is_notification("ticket.status_changed"));
	assert_true(ntf_topic_is_notification("sla.breached"));
	assert_true(ntf_topic_is_notification("topic:top-1"));
	assert_false(ntf_topic_is_notification("runbook.run"));
	assert_false(ntf_topic_is_notification("ticketing"));
}

static void test_policy(void **state)
{
	(void)state;
	struct sla_policy p;
	struct fw_error e;
	json_t *j = J("{\"kinds\":[\"incident\",\"request\"],\"targets\":{\"P1\":{\"response\":\"15m\",\"resolution\":\"4h\"},"
		      "\"low\":{\"resolution\":\"5d\"}},\"warnings\":[0.9,0.5],\"pause_statuses\":[\"approved\"],"
		      "\"calendar\":{\"timezone\":\"Europe/Berlin\",\"working_hours\":[{\"start\":\"09:00\",\"end\":\"17:00\"}]}}");
	assert_int_equal(sla_policy_parse(j, &p, &e), 0);
	const struct sla_target *t = sla_policy_target(&p, "P1", "critical");
	assert_non_null(t);
	assert_int_equal(t->response, 900);
	assert_int_equal(t->resolution, 4 * 3600);
	t = sla_policy_target(&p, "P4", "low"); /* falls back to severity */
	assert_non_null(t);
	assert_int_equal(t->response, 0);
	assert_null(sla_policy_target(&p, "P3", "medium"));
	assert_true(p.warnings[0] < p.warnings[1]); /* sorted */
	assert_true(sla_policy_pauses(&p, "approved"));
	assert_false(sla_policy_pauses(&p, "in_progress"));
	assert_string_equal(p.cal.zone, "Europe/Berlin");
	sla_policy_release(&p);
	json_decref(j);

	static const char *const bad[][2] = {
		{ "{\"targets\":{}}", "missing_field" },
		{ "{\"targets\":{\"P1\":{\"response\":\"soon\"}}}", "invalid_target" },
		{ "{\"targets\":{\"P1\":{\"response\":\"2h\",\"resolution\":\"1h\"}}}", "invalid_target" },
		{ "{\"targets\":{\"P1\":{\"response\":\"1h\"}},\"kinds\":[\"ticket\"]}", "invalid_field" },
		{ "{\"targets\":{\"P1\":{\"response\":\"1h\"}},\"pause_statuses\":[\"approved\"]}", "invalid_field" },
		{ "{\"targets\":{\"P1\":{\"response\":\"1h\"}},\"calendar\":{\"timezone\":\"Nope/Nope\",\"24x7\":true}}",
		  "unknown_time_zone" },
		{ "{\"type\":\"ola\",\"targets\":{\"P1\":{\"response\":\"1h\"}}}", "missing_field" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = J(bad[i][0]);
		memset(&e, 0, sizeof(e));
		assert_int_equal(sla_policy_parse(j, &p, &e), FW_EINVAL);
		assert_string_equal(e.code, bad[i][1]);
		sla_policy_release(&p);
		json_decref(j);
	}
}

static void test_escalation_parse(void **state)
{
	(void)state;
	struct esc_policy p;
	struct fw_error e;
	json_t *j = J("{\"levels\":[{\"targets\":[{\"type\":\"schedule\",\"id\":\"sch-1\"}],\"delay\":\"5m\"},"
		      "{\"targets\":[{\"type\":\"user\",\"id\":\"bob\"},{\"type\":\"group\",\"id\":\"dba\"}],\"delay\":600}],"
		      "\"repeat\":2}");
	assert_int_equal(sla_esc_parse(j, &p, &e), 0);
	assert_int_equal(p.n_levels, 2);
	assert_int_equal(p.levels[0].delay, 300);
	assert_int_equal(p.levels[1].delay, 600);
	assert_int_equal(p.levels[1].targets[1].type, ESC_GROUP);
	assert_int_equal(p.repeat, 2);
	json_decref(j);
	j = J("{\"levels\":[]}");
	assert_int_equal(sla_esc_parse(j, &p, &e), FW_EINVAL);
	json_decref(j);
	j = J("{\"levels\":[{\"targets\":[{\"type\":\"user\",\"id\":\"a\"}],\"delay\":\"0s\"}]}");
	assert_int_equal(sla_esc_parse(j, &p, &e), FW_EINVAL);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_match), cmocka_unit_test(test_filter_check), cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_topics),       cmocka_unit_test(test_policy),       cmocka_unit_test(test_escalation_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
