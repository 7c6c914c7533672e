/* On-call schedules: rotations with hand-off times, restrictions, layering, overrides, next shifts and
 * gaps. JSON is written with single quotes for readability and converted before parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sla/oncall.h"
#include "util/err.h"
#include "util/tz.h"

#define H 3600L

static time_t utc(int y, int mo, int d, int h, int mi)
{
	return (time_t)tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static json_t *json_q(const char *text)
{
	char *s = strdup(text);
	json_error_t je;
	json_t *j;

	assert_non_null(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(s, 0, &je);
	if (!j)
		print_error("bad test JSON at %d: %s\n", je.position, je.text);
	assert_non_null(j);
	free(s);
	return j;
}

static void load(const char *text, struct sla_schedule *s)
{
	struct fw_error e = { 0 };
	json_t *j = json_q(text);
	int rc = sla_oncall_parse(j, s, &e);

	if (rc)
		print_error("unexpected schedule error: %s: %s\n", e.code, e.message);
	assert_int_equal(rc, 0);
	json_decref(j);
}

/* Asserts who is on call at t and the shift's bounds (user NULL: a gap). */
static void expect_at(const struct sla_schedule *s, time_t t, const char *user, time_t start, time_t end,
		      int layer)
{
	struct sla_shift sh;
	assert_int_equal(sla_oncall_at(s, t, &sh), 0);
	if (user)
		assert_string_equal(sh.user ? sh.user : "(nobody)", user);
	else
		assert_null(sh.user);
	assert_int_equal(sh.start, start);
	assert_int_equal(sh.end, end);
	assert_int_equal(sh.layer, layer);
}

/* Berlin, hand-off at 09:00 local, from Monday 2024-03-04 09:00 CET. */
#define DAILY                                                                                        \
	"{'layers':[{'name':'emea','timezone':'Europe/Berlin','users':['alice','bob','carol'],"      \
	"'rotation':'daily','handoff':'09:00','start':'2024-03-04T09:00:00+01:00'}]"

static void test_daily(void **state)
{
	struct sla_schedule s;
	load(DAILY "}", &s);
	assert_int_equal(s.layers[0].handoff, 9 * 3600);
	expect_at(&s, utc(2024, 3, 4, 11, 0), "alice", utc(2024, 3, 4, 8, 0), utc(2024, 3, 5, 8, 0), 0);
	expect_at(&s, utc(2024, 3, 6, 8, 0) - 1, "bob", utc(2024, 3, 5, 8, 0), utc(2024, 3, 6, 8, 0), 0);
	expect_at(&s, utc(2024, 3, 6, 8, 0), "carol", utc(2024, 3, 6, 8, 0), utc(2024, 3, 7, 8, 0), 0);
	expect_at(&s, utc(2024, 3, 7, 20, 0), "alice", utc(2024, 3, 7, 8, 0), utc(2024, 3, 8, 8, 0), 0);
	/* Day 26 (Saturday 30 March) is carol's; the hand-off on Sunday is at 09:00 CEST: a 23-hour shift. */
	expect_at(&s, utc(2024, 3, 30, 12, 0), "carol", utc(2024, 3, 30, 8, 0), utc(2024, 3, 31, 7, 0), 0);
	expect_at(&s, utc(2024, 3, 31, 7, 0), "alice", utc(2024, 3, 31, 7, 0), utc(2024, 4, 1, 7, 0), 0);
	/* Before the start nobody is on call, and that is a gap. */
	expect_at(&s, utc(2024, 3, 4, 7, 0), NULL, utc(2024, 3, 4, 7, 0) - SLA_ONCALL_HORIZON,
		  utc(2024, 3, 4, 8, 0), SLA_GAP);
	sla_oncall_release(&s);
	assert_null(s.layers);
}

static void test_weekly(void **state)
{
	struct sla_schedule s;
	/* Starts on a Wednesday; hand-offs on Mondays 10:00 New York time. The first shift is short. */
	load("{'layers':[{'timezone':'America/New_York','users':['xavier','yasmin'],'rotation':'weekly',"
	     "'handoff':'10:00','handoff_day':'mon','start':'2024-01-03T15:00:00Z'}]}", &s);
	expect_at(&s, utc(2024, 1, 5, 0, 0), "xavier", utc(2024, 1, 3, 15, 0), utc(2024, 1, 8, 15, 0), 0);
	expect_at(&s, utc(2024, 1, 8, 15, 0), "yasmin", utc(2024, 1, 8, 15, 0), utc(2024, 1, 15, 15, 0), 0);
	expect_at(&s, utc(2024, 1, 20, 0, 0), "xavier", utc(2024, 1, 15, 15, 0), utc(2024, 1, 22, 15, 0), 0);
	/* US clocks go forward on 10 March: the week ends at 10:00 EDT = 14:00Z, an hour early. */
	expect_at(&s, utc(2024, 3, 10, 12, 0), "yasmin", utc(2024, 3, 4, 15, 0), utc(2024, 3, 11, 14, 0), 0);
	expect_at(&s, utc(2024, 3, 11, 14, 0), "xavier", utc(2024, 3, 11, 14, 0), utc(2024, 3, 18, 14, 0), 0);
	sla_oncall_release(&s);

	/* Without handoff and handoff_day they come from the start: Wednesday, 10:00 EST. */
	load("{'layers':[{'timezone':'America/New_York','users':['xavier','yasmin'],'rotation':'weekly',"
	     "'start':'2024-01-03T15:00:00Z'}]}", &s);
	expect_at(&s, utc(2024, 1, 10, 16, 0), "yasmin", utc(2024, 1, 10, 15, 0), utc(2024, 1, 17, 15, 0), 0);
	sla_oncall_release(&s);
}

static void test_custom_length(void **state)
{
	struct sla_schedule s;
	load("{'layers':[{'timezone':'UTC','users':['pat','quinn'],'rotation':'custom','length':43200,"
	     "'start':1709532000}]}", &s); /* 2024-03-04T06:00:00Z */
	/* 37 hours in: the fourth 12-hour shift, quinn's. */
	expect_at(&s, utc(2024, 3, 5, 19, 0), "quinn", utc(2024, 3, 5, 18, 0), utc(2024, 3, 6, 6, 0), 0);
	expect_at(&s, utc(2024, 3, 6, 6, 0), "pat", utc(2024, 3, 6, 6, 0), utc(2024, 3, 6, 18, 0), 0);
	sla_oncall_release(&s);
}

#define WITH_OVERRIDE                                                                                \
	DAILY ",'overrides':[{'user':'carol','start':'2024-03-05T11:00:00Z','end':'2024-03-05T13:00:00Z'},"  \
	"{'user':'dave','start':'2024-03-04T06:00:00Z','end':'2024-03-04T08:30:00Z'}]}"

static void test_overrides(void **state)
{
	struct sla_schedule s;
	load(WITH_OVERRIDE, &s);
	/* Carol covers two hours of bob's Tuesday; bob's day is split around it. */
	expect_at(&s, utc(2024, 3, 5, 10, 0), "bob", utc(2024, 3, 5, 8, 0), utc(2024, 3, 5, 11, 0), 0);
	expect_at(&s, utc(2024, 3, 5, 12, 0), "carol", utc(2024, 3, 5, 11, 0), utc(2024, 3, 5, 13, 0),
		  SLA_OVERRIDE);
	expect_at(&s, utc(2024, 3, 5, 13, 0), "bob", utc(2024, 3, 5, 13, 0), utc(2024, 3, 6, 8, 0), 0);
	/* Dave's override starts before the rotation does and runs into alice's first shift. */
	expect_at(&s, utc(2024, 3, 4, 7, 0), "dave", utc(2024, 3, 4, 6, 0), utc(2024, 3, 4, 8, 30),
		  SLA_OVERRIDE);
	expect_at(&s, utc(2024, 3, 4, 9, 0), "alice", utc(2024, 3, 4, 8, 30), utc(2024, 3, 5, 8, 0), 0);
	sla_oncall_release(&s);
}

static void test_next_shifts(void **state)
{
	struct sla_schedule s;
	struct sla_shift sh[8];
	size_t n = 0;

	load(WITH_OVERRIDE, &s);
	assert_int_equal(sla_oncall_next(&s, utc(2024, 3, 4, 11, 0), 5, sh, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(sh[0].user, "alice");
	assert_int_equal(sh[0].start, utc(2024, 3, 4, 8, 30)); /* the shift on at `from`, whole */
	assert_string_equal(sh[1].user, "bob");
	assert_int_equal(sh[1].end, utc(2024, 3, 5, 11, 0));
	assert_string_equal(sh[2].user, "carol");
	assert_int_equal(sh[2].layer, SLA_OVERRIDE);
	assert_string_equal(sh[3].user, "bob");
	assert_string_equal(sh[4].user, "carol");
	assert_int_equal(sh[4].layer, 0);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(sh[i].start, sh[i - 1].end);

	/* From inside the gap before the start, the first shift is dave's. */
	assert_int_equal(sla_oncall_next(&s, utc(2024, 3, 1, 0, 0), 2, sh, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(sh[0].user, "dave");
	assert_string_equal(sh[1].user, "alice");
	sla_oncall_release(&s);
}

/* Five regions, each on call 08:00-16:00 on its own weekdays, stacked west over east so that the
 * region starting its day takes over. Each rotates weekly between two people from Monday 2024-01-01
 * 08:00 local time. */
static const char *const regions[5][3] = {
	{ "tokyo", "Asia/Tokyo", "+09:00" },
	{ "kolkata", "Asia/Kolkata", "+05:30" },
	{ "berlin", "Europe/Berlin", "+01:00" },
	{ "newyork", "America/New_York", "-05:00" },
	{ "la", "America/Los_Angeles", "-08:00" },
};

static void load_follow_the_sun(struct sla_schedule *s)
{
	char buf[4096];
	size_t len = 0;

	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "{'layers':[");
	for (int i = 0; i < 5; i++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"%s{'name':'%s','timezone':'%s','users':['%s-a','%s-b'],'rotation':'weekly',"
					"'handoff':'08:00','handoff_day':'mon','start':'2024-01-01T08:00:00%s',"
					"'restrictions':[{'days':['mon','tue','wed','thu','fri'],"
					"'start':'08:00','end':'16:00'}]}",
					i ? "," : "", regions[i][0], regions[i][1], regions[i][0], regions[i][0],
					regions[i][2]);
		assert_true(len < sizeof(buf));
	}
	snprintf(buf + len, sizeof(buf) - len, "]}");
	load(buf, s);
}

static void test_follow_the_sun(void **state)
{
	struct sla_schedule s;
	struct sla_shift sh[6];
	struct sla_gap *gaps = NULL;
	size_t n = 0;

	load_follow_the_sun(&s);
	assert_int_equal(s.n_layers, 5);
	/* Tuesday 9 January (winter, week 2: the "-b" people). 09:00 JST = 00:00Z, 08:00 IST = 02:30Z,
	 * 08:00 CET = 07:00Z, 08:00 EST = 13:00Z, 08:00 PST = 16:00Z. */
	assert_int_equal(sla_oncall_next(&s, utc(2024, 1, 9, 1, 0), 5, sh, &n), 0);
	assert_int_equal(n, 5);
	const char *want[5] = { "tokyo-b", "kolkata-b", "berlin-b", "newyork-b", "la-b" };
	const time_t bounds[6] = { utc(2024, 1, 9, 0, 0),  utc(2024, 1, 9, 2, 30), utc(2024, 1, 9, 7, 0),
				   utc(2024, 1, 9, 13, 0), utc(2024, 1, 9, 16, 0), utc(2024, 1, 10, 0, 0) };
	for (int i = 0; i < 5; i++) {
		assert_string_equal(sh[i].user, want[i]);
		assert_int_equal(sh[i].layer, i);
		assert_int_equal(sh[i].start, bounds[i]);
		assert_int_equal(sh[i].end, bounds[i + 1]);
	}
	assert_int_equal(sla_oncall_gaps(&s, utc(2024, 1, 9, 0, 0), utc(2024, 1, 10, 0, 0), &gaps, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_null(gaps);

	/* In July (week 28: "-b" again) Berlin, New York and Los Angeles are on summer time: each takes
	 * over an hour earlier in UTC. */
	expect_at(&s, utc(2024, 7, 9, 6, 30), "berlin-b", utc(2024, 7, 9, 6, 0), utc(2024, 7, 9, 12, 0), 2);
	expect_at(&s, utc(2024, 7, 9, 22, 30), "la-b", utc(2024, 7, 9, 15, 0), utc(2024, 7, 9, 23, 0), 4);
	assert_int_equal(sla_oncall_gaps(&s, utc(2024, 7, 8, 0, 0), utc(2024, 7, 12, 0, 0), &gaps, &n, NULL), 0);
	assert_int_equal(n, 0);

	/* The restrictions are weekdays only, so the weekend is a gap, and it is reported: from the end of
	 * Friday in Los Angeles to the start of Monday in Tokyo. */
	assert_int_equal(sla_oncall_gaps(&s, utc(2024, 1, 8, 0, 0), utc(2024, 1, 15, 0, 0), &gaps, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(gaps[0].start, utc(2024, 1, 13, 0, 0));
	assert_int_equal(gaps[0].end, utc(2024, 1, 14, 23, 0));
	free(gaps);
	sla_oncall_release(&s);
}

static void test_gaps(void **state)
{
	struct sla_schedule s;
	struct sla_gap *gaps = NULL;
	struct fw_error e = { 0 };
	size_t n = 0;

	/* One person, office hours only, and a night layer that starts on Wednesday. */
	load("{'layers':[{'timezone':'UTC','users':['ana'],'rotation':'daily','start':'2024-03-04T00:00:00Z',"
	     "'restrictions':[{'days':['mon','tue','wed','thu','fri'],'start':'09:00','end':'17:00'}]},"
	     "{'timezone':'UTC','users':['nils'],'rotation':'daily','start':'2024-03-06T00:00:00Z',"
	     "'restrictions':[{'start':'17:00','end':'09:00'}]}]}", &s);
	assert_int_equal(sla_oncall_gaps(&s, utc(2024, 3, 4, 0, 0), utc(2024, 3, 7, 0, 0), &gaps, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(gaps[0].start, utc(2024, 3, 4, 0, 0));
	assert_int_equal(gaps[0].end, utc(2024, 3, 4, 9, 0));
	assert_int_equal(gaps[1].start, utc(2024, 3, 4, 17, 0));
	assert_int_equal(gaps[1].end, utc(2024, 3, 5, 9, 0));
	assert_int_equal(gaps[2].start, utc(2024, 3, 5, 17, 0));
	assert_int_equal(gaps[2].end, utc(2024, 3, 6, 0, 0)); /* nils starts at midnight */
	free(gaps);
	expect_at(&s, utc(2024, 3, 4, 20, 0), NULL, utc(2024, 3, 4, 17, 0), utc(2024, 3, 5, 9, 0), SLA_GAP);
	/* The night window runs past midnight: Wednesday 17:00 to Thursday 09:00 is one shift. */
	expect_at(&s, utc(2024, 3, 7, 2, 0), "nils", utc(2024, 3, 6, 17, 0), utc(2024, 3, 7, 9, 0), 1);
	/* A one-person daily rotation is one shift per restriction window, not one per day. */
	expect_at(&s, utc(2024, 3, 7, 12, 0), "ana", utc(2024, 3, 7, 9, 0), utc(2024, 3, 7, 17, 0), 0);

	assert_int_equal(sla_oncall_gaps(&s, utc(2024, 3, 7, 0, 0), utc(2024, 3, 6, 0, 0), &gaps, &n, &e),
			 FW_EINVAL);
	assert_string_equal(e.code, "invalid_range");
	assert_int_equal(sla_oncall_gaps(&s, 0, 2 * SLA_ONCALL_HORIZON, &gaps, &n, &e), FW_EINVAL);
	sla_oncall_release(&s);
}

static void fails(const char *text, const char *code, const char *in_message)
{
	struct sla_schedule s;
	struct fw_error e = { 0 };
	json_t *j = json_q(text);
	int rc = sla_oncall_parse(j, &s, &e);

	json_decref(j);
	assert_int_equal(rc, FW_EINVAL);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, code);
	if (!strstr(e.message, in_message))
		fail_msg("message \"%s\" lacks \"%s\"", e.message, in_message);
	assert_null(s.layers);
	assert_int_equal(s.n_layers, 0);
}

#define L0 "{'layers':[{'timezone':'UTC','users':['a'],'start':'2024-03-04T00:00:00Z',"

static void test_invalid(void **state)
{
	fails("{'layers':[]}", "invalid_schedule", "layers");
	fails("{'layers':[{'timezone':'Asia/Atlantis','users':['a'],'rotation':'daily','start':0}]}",
	      "unknown_time_zone", "layers[0].timezone 'Asia/Atlantis'");
	fails(L0 "'rotation':'custom'}]}", "invalid_schedule", "layers[0].length");
	fails(L0 "'rotation':'hourly'}]}", "invalid_schedule", "layers[0].rotation");
	fails(L0 "'rotation':'daily','handoff':'9:00'}]}", "invalid_time", "layers[0].handoff");
	fails(L0 "'rotation':'daily','restrictions':[{'start':'08:00','end':'25:00'}]}]}", "invalid_time",
	      "layers[0].restrictions[0].end '25:00'");
	fails(L0 "'rotation':'daily','restrictions':[{'start':'08:00','end':'08:00'}]}]}", "invalid_interval",
	      "restrictions[0]");
	fails(L0 "'rotation':'daily','restrictions':[{'days':['xyz'],'start':'08:00','end':'09:00'}]}]}",
	      "invalid_schedule", "restrictions[0].days[0]");
	fails("{'layers':[{'timezone':'UTC','users':[],'rotation':'daily','start':0}]}", "invalid_schedule",
	      "layers[0].users");
	fails("{'layers':[{'timezone':'UTC','users':['a'],'rotation':'daily','start':'2024-13-01T00:00:00Z'}]}",
	      "invalid_time", "layers[0].start");
	fails(L0 "'rotation':'daily'}],'overrides':[{'user':'b','start':'2024-03-05T10:00:00Z',"
	      "'end':'2024-03-05T09:00:00Z'}]}", "invalid_interval", "overrides[0] ends before it starts");
	fails(L0 "'rotation':'daily'}],'overrides':[{'user':'','start':0,'end':1}]}", "invalid_schedule",
	      "overrides[0].user");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daily),
		cmocka_unit_test(test_weekly),
		cmocka_unit_test(test_custom_length),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_next_shifts),
		cmocka_unit_test(test_follow_the_sun),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
