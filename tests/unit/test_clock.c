/* SLA clocks on an office-hours calendar (UTC, Monday to Friday 09:00-17:00) unless said otherwise:
 * a 4-hour target with warnings at 50, 75 and 90 % (2 h, 3 h, 3 h 36 min). 2024-03-04 is a Monday. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sla/calendar.h"
#include "sla/clock.h"
#include "util/err.h"
#include "util/tz.h"

#define H 3600L
#define M 60L

static time_t utc(int y, int mo, int d, int h, int mi)
{
	return (time_t)tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static time_t mon(int h, int mi)
{
	return utc(2024, 3, 4, h, mi);
}

static struct sla_calendar office;

static int setup(void **state)
{
	json_t *j = json_loads("{\"timezone\":\"UTC\",\"working_hours\":[{\"start\":\"09:00\",\"end\":\"17:00\"}]}",
			       0, NULL);
	int rc = sla_cal_parse(j, &office, NULL);
	json_decref(j);
	return rc;
}

static int teardown(void **state)
{
	sla_cal_release(&office);
	return 0;
}

static void start_clock(struct sla_clock *c, time_t start)
{
	/* Given out of order on purpose: the clock keeps them ascending. */
	const double w[] = { 0.9, 0.5, 0.75 };
	assert_int_equal(sla_clock_init(c, &office, SLA_RESPONSE, 4 * H, start, NULL), 0);
	assert_int_equal(sla_clock_set_warnings(c, w, 3, NULL), 0);
	assert_true(c->warnings[0] == 0.5 && c->warnings[2] == 0.9);
}

static void eval(const struct sla_clock *c, time_t now, struct sla_status *st)
{
	struct fw_error e = { 0 };
	int rc = sla_clock_eval(c, now, st, &e);
	if (rc)
		print_error("eval: %s: %s\n", e.code, e.message);
	assert_int_equal(rc, 0);
	/* Invariants of every evaluation. */
	assert_int_equal(st->remaining, c->target - st->elapsed);
	assert_true(st->elapsed >= 0 && st->paused >= 0);
	assert_int_equal(st->breached, st->elapsed >= c->target);
	if (st->next_event != SLA_NONE)
		assert_true(st->next_event > now);
}

static void test_warnings_fire_in_order(void **state)
{
	struct sla_clock c;
	struct sla_status st;

	start_clock(&c, mon(9, 0));
	eval(&c, mon(10, 30), &st);
	assert_true(st.running);
	assert_int_equal(st.elapsed, 90 * M);
	assert_int_equal(st.paused, 0);
	assert_int_equal(st.remaining, 150 * M);
	assert_int_equal(st.due, mon(13, 0));
	assert_int_equal(st.n_warnings, 3);
	assert_int_equal(st.warning_at[0], mon(11, 0));
	assert_int_equal(st.warning_at[1], mon(12, 0));
	assert_int_equal(st.warning_at[2], mon(12, 36));
	assert_int_equal(st.warned, 0);
	assert_int_equal(st.next_event, mon(11, 0));
	assert_int_equal(st.next_warning, 0);
	assert_false(st.breached);

	/* An event counts at its instant: at 12:00 the 75 % warning has fired and 90 % is next. */
	eval(&c, mon(12, 0), &st);
	assert_int_equal(st.warned, 0x3);
	assert_int_equal(st.next_event, mon(12, 36));
	assert_int_equal(st.next_warning, 2);

	eval(&c, mon(12, 40), &st);
	assert_int_equal(st.warned, 0x7);
	assert_int_equal(st.next_event, mon(13, 0));
	assert_int_equal(st.next_warning, -1);
	sla_clock_release(&c);
}

static void test_breach(void **state)
{
	struct sla_clock c;
	struct sla_status st;

	start_clock(&c, mon(9, 0));
	eval(&c, mon(13, 0) - 1, &st);
	assert_false(st.breached);
	assert_int_equal(st.remaining, 1);
	assert_int_equal(st.next_event, mon(13, 0));

	eval(&c, mon(13, 0), &st);
	assert_true(st.breached);
	assert_int_equal(st.remaining, 0);
	assert_int_equal(st.next_event, SLA_NONE);

	/* Overdue time is business time: the evening and night do not add to it. */
	eval(&c, utc(2024, 3, 5, 10, 0), &st);
	assert_true(st.breached);
	assert_int_equal(st.remaining, -5 * H);
	assert_int_equal(st.due, mon(13, 0));
	sla_clock_release(&c);
}

static void test_friday_afternoon(void **state)
{
	struct sla_clock c;
	struct sla_status st;

	start_clock(&c, utc(2024, 3, 8, 15, 0));
	eval(&c, utc(2024, 3, 9, 12, 0), &st); /* Saturday */
	assert_int_equal(st.elapsed, 2 * H);
	assert_int_equal(st.warning_at[0], utc(2024, 3, 8, 17, 0));
	assert_int_equal(st.warning_at[1], utc(2024, 3, 11, 10, 0));
	assert_int_equal(st.due, utc(2024, 3, 11, 11, 0));
	assert_int_equal(st.warned, 0x1);
	/* The scheduler sleeps over the weekend. */
	assert_int_equal(st.next_event, utc(2024, 3, 11, 10, 0));
	assert_int_equal(st.next_warning, 1);
	sla_clock_release(&c);
}

static void test_closed_pause(void **state)
{
	struct sla_clock c;
	struct sla_status st;

	start_clock(&c, mon(9, 0));
	assert_int_equal(sla_clock_pause(&c, mon(10, 0), NULL), 0);
	assert_int_equal(sla_clock_resume(&c, mon(10, 30), NULL), 0);
	eval(&c, mon(11, 0), &st);
	assert_int_equal(st.elapsed, 90 * M);
	assert_int_equal(st.paused, 30 * M);
	assert_int_equal(st.warning_at[0], mon(11, 30));
	assert_int_equal(st.due, mon(13, 30));
	assert_int_equal(st.next_event, mon(11, 30));

	/* A pause over the night only holds back its business hours: 16:00-17:00 and 09:00-10:00. */
	assert_int_equal(sla_clock_pause(&c, mon(16, 0), NULL), 0);
	assert_int_equal(sla_clock_resume(&c, utc(2024, 3, 5, 10, 0), NULL), 0);
	eval(&c, utc(2024, 3, 5, 11, 0), &st);
	assert_int_equal(st.paused, 30 * M + 2 * H);
	assert_true(st.breached); /* 13:30 came before the second pause */
	assert_int_equal(st.due, mon(13, 30));
	sla_clock_release(&c);
}

static void test_open_pause(void **state)
{
	struct sla_clock c;
	struct sla_status st;

	start_clock(&c, mon(9, 0));
	assert_int_equal(sla_clock_pause(&c, mon(11, 30), NULL), 0);
	eval(&c, mon(15, 0), &st);
	assert_true(st.paused_now);
	assert_false(st.running);
	assert_int_equal(st.elapsed, 150 * M);
	assert_int_equal(st.paused, 210 * M);
	/* What happened before the pause is known; what comes after depends on when it ends. */
	assert_int_equal(st.warning_at[0], mon(11, 0));
	assert_int_equal(st.warned, 0x1);
	assert_int_equal(st.warning_at[1], SLA_NONE);
	assert_int_equal(st.due, SLA_NONE);
	assert_int_equal(st.next_event, SLA_NONE);
	assert_false(st.breached);

	/* Resumed on Tuesday 10:00: 90 min remain, due 11:30. */
	assert_int_equal(sla_clock_resume(&c, utc(2024, 3, 5, 10, 0), NULL), 0);
	eval(&c, utc(2024, 3, 5, 10, 0), &st);
	assert_true(st.running);
	assert_int_equal(st.due, utc(2024, 3, 5, 11, 30));
	assert_int_equal(st.warning_at[1], utc(2024, 3, 5, 10, 30));
	assert_int_equal(st.next_event, utc(2024, 3, 5, 10, 30));
	sla_clock_release(&c);
}

static void test_stop(void **state)
{
	struct sla_clock c;
	struct sla_status st;

	start_clock(&c, mon(9, 0));
	assert_int_equal(sla_clock_stop(&c, mon(12, 30), NULL), 0);
	eval(&c, utc(2024, 3, 6, 9, 0), &st);
	assert_true(st.stopped);
	assert_true(st.met);
	assert_false(st.breached);
	assert_int_equal(st.elapsed, 210 * M);
	assert_int_equal(st.warned, 0x3); /* 90 % (12:36) never came */
	assert_int_equal(st.due, mon(13, 0));
	assert_int_equal(st.next_event, SLA_NONE);
	sla_clock_release(&c);

	start_clock(&c, mon(9, 0));
	assert_int_equal(sla_clock_stop(&c, mon(13, 30), NULL), 0);
	eval(&c, mon(14, 0), &st);
	assert_true(st.stopped && st.breached);
	assert_false(st.met);
	assert_int_equal(st.remaining, -30 * M);
	sla_clock_release(&c);

	/* Stopped while waiting for the customer: the pause ends with the clock. */
	start_clock(&c, mon(9, 0));
	assert_int_equal(sla_clock_pause(&c, mon(10, 0), NULL), 0);
	assert_int_equal(sla_clock_stop(&c, mon(11, 0), NULL), 0);
	eval(&c, mon(16, 0), &st);
	assert_true(st.met);
	assert_false(st.paused_now);
	assert_int_equal(st.elapsed, 1 * H);
	assert_int_equal(st.paused, 1 * H);
	assert_int_equal(st.next_event, SLA_NONE);
	sla_clock_release(&c);
}

static void test_not_started_yet(void **state)
{
	struct sla_clock c;
	struct sla_status st;

	start_clock(&c, mon(9, 0));
	eval(&c, mon(8, 0), &st);
	assert_false(st.running);
	assert_int_equal(st.elapsed, 0);
	assert_int_equal(st.next_event, mon(11, 0));
	sla_clock_release(&c);
}

static void test_24x7_across_dst(void **state)
{
	struct sla_calendar cal;
	struct sla_clock c;
	struct sla_status st;
	json_t *j = json_loads("{\"timezone\":\"Europe/Berlin\",\"24x7\":true}", 0, NULL);

	assert_int_equal(sla_cal_parse(j, &cal, NULL), 0);
	json_decref(j);
	/* A 24-hour resolution target from Saturday 12:00 CET ends Sunday 13:00 CEST: 24 real hours. */
	assert_int_equal(sla_clock_init(&c, &cal, SLA_RESOLUTION, 24 * H, utc(2024, 3, 30, 11, 0), NULL), 0);
	eval(&c, utc(2024, 3, 31, 10, 0), &st);
	assert_int_equal(st.due, utc(2024, 3, 31, 11, 0));
	assert_int_equal(st.elapsed, 23 * H);
	assert_int_equal(st.next_event, utc(2024, 3, 31, 11, 0));
	assert_string_equal(sla_kind_name(c.kind), "resolution");
	sla_clock_release(&c);
	sla_cal_release(&cal);
}

static void expect_error(int rc, int want_rc, const struct fw_error *e, int status, const char *code)
{
	assert_int_equal(rc, want_rc);
	assert_int_equal(e->status, status);
	assert_string_equal(e->code, code);
	assert_true(strlen(e->message) > 10);
}

static void test_misuse(void **state)
{
	struct sla_clock c;
	struct fw_error e = { 0 };
	const double bad[] = { 0.5, 1.5 }, dup[] = { 0.5, 0.5 };

	expect_error(sla_clock_init(&c, &office, SLA_RESPONSE, 0, mon(9, 0), &e), FW_EINVAL, &e, 422,
		     "invalid_target");
	start_clock(&c, mon(9, 0));
	expect_error(sla_clock_set_warnings(&c, bad, 2, &e), FW_EINVAL, &e, 422, "invalid_warnings");
	expect_error(sla_clock_set_warnings(&c, dup, 2, &e), FW_EINVAL, &e, 422, "invalid_warnings");
	assert_int_equal(c.n_warnings, 3); /* unchanged */
	expect_error(sla_clock_resume(&c, mon(10, 0), &e), FW_ECONFLICT, &e, 409, "clock_not_paused");
	expect_error(sla_clock_pause(&c, mon(8, 0), &e), FW_EINVAL, &e, 422, "invalid_pause");
	assert_int_equal(sla_clock_pause(&c, mon(10, 0), &e), 0);
	expect_error(sla_clock_pause(&c, mon(10, 5), &e), FW_ECONFLICT, &e, 409, "clock_paused");
	expect_error(sla_clock_resume(&c, mon(9, 30), &e), FW_EINVAL, &e, 422, "invalid_pause");
	assert_int_equal(sla_clock_resume(&c, mon(10, 30), &e), 0);
	expect_error(sla_clock_pause(&c, mon(10, 15), &e), FW_EINVAL, &e, 422, "invalid_pause");
	expect_error(sla_clock_stop(&c, mon(10, 15), &e), FW_EINVAL, &e, 422, "invalid_stop");
	assert_int_equal(sla_clock_stop(&c, mon(11, 0), &e), 0);
	expect_error(sla_clock_stop(&c, mon(12, 0), &e), FW_ECONFLICT, &e, 409, "clock_stopped");
	expect_error(sla_clock_pause(&c, mon(12, 0), &e), FW_ECONFLICT, &e, 409, "clock_stopped");
	assert_int_equal(c.n_pauses, 1);
	sla_clock_release(&c);
}

static void test_many_pauses(void **state)
{
	struct sla_clock c;
	struct sla_status st;

	/* Ten 6-minute pauses between 09:00 and 11:00 hold the clock back by an hour. */
	start_clock(&c, mon(9, 0));
	for (int i = 0; i < 10; i++) {
		assert_int_equal(sla_clock_pause(&c, mon(9, 0) + i * 12 * M, NULL), 0);
		assert_int_equal(sla_clock_resume(&c, mon(9, 0) + i * 12 * M + 6 * M, NULL), 0);
	}
	eval(&c, mon(11, 0), &st);
	assert_int_equal(st.elapsed, 1 * H);
	assert_int_equal(st.paused, 1 * H);
	assert_int_equal(st.due, mon(14, 0));
	/* 50 % = 2 h of counted time: 1 h by 11:00, the second hour 11:00-12:00. */
	assert_int_equal(st.warning_at[0], mon(12, 0));
	sla_clock_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_warnings_fire_in_order),
		cmocka_unit_test(test_breach),
		cmocka_unit_test(test_friday_afternoon),
		cmocka_unit_test(test_closed_pause),
		cmocka_unit_test(test_open_pause),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_not_started_yet),
		cmocka_unit_test(test_24x7_across_dst),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_many_pauses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
