/* Unit tests for the ticket state machines and the ITIL priority matrix (src/tickets/ticket.c).
 * The transition tables are checked exhaustively: every (from, to) pair of every kind is either
 * in the expected edge list below (with the permission it needs) or refused with 409. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "http/auth.h"
#include "tickets/ticket.h"
#include "util/err.h"

struct exp_edge {
	const char *from, *to;
	unsigned perm;
};

/* The lifecycles the issue specifies, written out independently of ticket.c. */
static const struct exp_edge inc[] = {
	{ "new", "acknowledged", PERM_WORK },
	{ "new", "investigating", PERM_WORK },
	{ "new", "resolved", PERM_WORK },
	{ "acknowledged", "investigating", PERM_WORK },
	{ "acknowledged", "resolved", PERM_WORK },
	{ "investigating", "resolved", PERM_WORK },
	{ "resolved", "closed", PERM_WORK },
	{ "resolved", "investigating", PERM_SUBMIT }, /* reopen */
	{ NULL, NULL, 0 },
};
static const struct exp_edge prb[] = {
	{ "open", "root_cause_identified", PERM_WORK },
	{ "open", "known_error", PERM_WORK },
	{ "open", "resolved", PERM_WORK },
	{ "root_cause_identified", "known_error", PERM_WORK },
	{ "root_cause_identified", "resolved", PERM_WORK },
	{ "known_error", "resolved", PERM_WORK },
	{ "resolved", "closed", PERM_WORK },
	{ "resolved", "open", PERM_WORK },
	{ NULL, NULL, 0 },
};
static const struct exp_edge req[] = {
	{ "submitted", "approved", PERM_APPROVE },
	{ "submitted", "partially_approved", PERM_APPROVE },
	{ "submitted", "denied", PERM_APPROVE },
	{ "submitted", "cancelled", PERM_SUBMIT },
	{ "approved", "in_progress", PERM_WORK },
	{ "approved", "cancelled", PERM_SUBMIT },
	{ "partially_approved", "in_progress", PERM_WORK },
	{ "partially_approved", "cancelled", PERM_SUBMIT },
	{ "in_progress", "fulfilled", PERM_WORK },
	{ "in_progress", "cancelled", PERM_SUBMIT },
	{ "fulfilled", "closed", PERM_WORK },
	{ "denied", "closed", PERM_WORK },
	{ NULL, NULL, 0 },
};
static const struct exp_edge chg[] = {
	{ "draft", "submitted", PERM_SUBMIT },
	{ "draft", "cancelled", PERM_SUBMIT },
	{ "submitted", "in_review", PERM_WORK },
	{ "submitted", "cancelled", PERM_SUBMIT },
	{ "in_review", "approved", PERM_APPROVE },
	{ "in_review", "rejected", PERM_APPROVE },
	{ "in_review", "cancelled", PERM_SUBMIT },
	{ "approved", "scheduled", PERM_WORK },
	{ "approved", "executing", PERM_WORK },
	{ "approved", "cancelled", PERM_SUBMIT },
	{ "scheduled", "executing", PERM_WORK },
	{ "scheduled", "cancelled", PERM_SUBMIT },
	{ "executing", "completed", PERM_WORK },
	{ "executing", "failed", PERM_WORK },
	{ "failed", "rolled_back", PERM_WORK },
	{ NULL, NULL, 0 },
};

static const struct exp_edge *find(const struct exp_edge *t, const char *from, const char *to)
{
	for (; t->from; t++)
		if (!strcmp(t->from, from) && !strcmp(t->to, to))
			return t;
	return NULL;
}

static void check_kind(enum tkt_kind k, const struct exp_edge *table)
{
	const struct tkt_kind_info *ki = tkt_kind(k);
	int edges = 0;
	for (const char *const *from = ki->statuses; *from; from++) {
		for (const char *const *to = ki->statuses; *to; to++) {
			struct fw_error e = { 0 };
			const struct exp_edge *x = find(table, *from, *to);
			int rc = tkt_check_transition(k, *from, *to, PERM_ALL, &e);
			if (x) {
				edges++;
				if (rc)
					print_error("%s: %s -> %s refused: %s\n", ki->name, *from, *to, e.message);
				assert_int_equal(rc, 0);
				/* The permission the edge needs, and nothing less, is what lets it through. */
				assert_int_equal(tkt_check_transition(k, *from, *to, x->perm | PERM_READ, &e), 0);
				rc = tkt_check_transition(k, *from, *to, PERM_ALL & ~x->perm, &e);
				assert_int_equal(rc, FW_EFORBIDDEN);
				assert_int_equal(e.status, 403);
				assert_string_equal(e.code, "forbidden");
			} else {
				if (!rc)
					print_error("%s: %s -> %s allowed but not specified\n", ki->name, *from, *to);
				assert_int_equal(rc, FW_ECONFLICT);
				assert_int_equal(e.status, 409);
				assert_string_equal(e.code, "invalid_transition");
				/* The message names the target and where one may go instead. */
				assert_non_null(strstr(e.message, *to));
				assert_non_null(strstr(e.message, "allowed:"));
			}
		}
	}
	int n = 0;
	for (const struct exp_edge *x = table; x->from; x++)
		n++;
	assert_int_equal(edges, n); /* every expected edge names real statuses */
}

static void test_incident_machine(void **s)
{
	check_kind(TKT_INCIDENT, inc);
	assert_string_equal(tkt_kind(TKT_INCIDENT)->initial, "new");
}

static void test_problem_machine(void **s)
{
	check_kind(TKT_PROBLEM, prb);
	assert_string_equal(tkt_kind(TKT_PROBLEM)->initial, "open");
}

static void test_request_machine(void **s)
{
	check_kind(TKT_REQUEST, req);
	assert_string_equal(tkt_kind(TKT_REQUEST)->initial, "submitted");
}

static void test_change_machine(void **s)
{
	check_kind(TKT_CHANGE, chg);
	assert_string_equal(tkt_kind(TKT_CHANGE)->initial, "draft");
}

static void test_unknown_status(void **s)
{
	struct fw_error e = { 0 };
	assert_int_equal(tkt_check_transition(TKT_INCIDENT, "new", "done", PERM_ALL, &e), FW_EINVAL);
	assert_int_equal(e.status, 422);
	assert_non_null(strstr(e.message, "'done'"));
	assert_non_null(strstr(e.message, "acknowledged")); /* lists the statuses there are */
	/* A status of another kind is not a status of this one. */
	assert_int_equal(tkt_check_transition(TKT_INCIDENT, "new", "known_error", PERM_ALL, &e), FW_EINVAL);
}

static void test_allowed_message(void **s)
{
	struct fw_error e = { 0 };
	assert_int_equal(tkt_check_transition(TKT_INCIDENT, "new", "closed", PERM_ALL, &e), FW_ECONFLICT);
	assert_string_equal(e.message,
			    "status 'closed' is not reachable from 'new'; allowed: acknowledged, investigating, resolved");
	char out[256];
	tkt_next_statuses(TKT_INCIDENT, "closed", out, sizeof(out));
	assert_string_equal(out, "none (final status)");
	tkt_next_statuses(TKT_REQUEST, "submitted", out, sizeof(out));
	assert_string_equal(out, "approved, partially_approved, denied, cancelled");
	/* A tiny buffer is truncated, never overrun. */
	char tiny[8];
	tkt_next_statuses(TKT_REQUEST, "submitted", tiny, sizeof(tiny));
	assert_true(strlen(tiny) < sizeof(tiny));
}

static void test_final_statuses(void **s)
{
	assert_true(tkt_status_final(TKT_INCIDENT, "closed"));
	assert_true(tkt_status_final(TKT_INCIDENT, "reclassified"));
	assert_false(tkt_status_final(TKT_INCIDENT, "resolved")); /* it can be reopened */
	assert_true(tkt_status_final(TKT_PROBLEM, "closed"));
	assert_false(tkt_status_final(TKT_PROBLEM, "known_error"));
	assert_true(tkt_status_final(TKT_REQUEST, "cancelled"));
	assert_true(tkt_status_final(TKT_REQUEST, "closed"));
	assert_false(tkt_status_final(TKT_REQUEST, "denied"));
	assert_true(tkt_status_final(TKT_CHANGE, "rolled_back"));
	assert_true(tkt_status_final(TKT_CHANGE, "completed"));
	assert_true(tkt_status_final(TKT_CHANGE, "rejected"));
	assert_false(tkt_status_final(TKT_CHANGE, "failed"));
	/* Final statuses have no way out. */
	static const enum tkt_kind kinds[] = { TKT_INCIDENT, TKT_PROBLEM, TKT_REQUEST, TKT_CHANGE };
	for (size_t i = 0; i < 4; i++) {
		const struct tkt_kind_info *ki = tkt_kind(kinds[i]);
		for (const char *const *from = ki->statuses; *from; from++) {
			if (!tkt_status_final(kinds[i], *from))
				continue;
			char out[256];
			tkt_next_statuses(kinds[i], *from, out, sizeof(out));
			if (strcmp(out, "none (final status)"))
				print_error("%s %s is final but leads to %s\n", ki->name, *from, out);
			assert_string_equal(out, "none (final status)");
		}
	}
}

static void test_priority_matrix(void **s)
{
	/* ITIL: impact (rows) × urgency (columns). */
	static const char *const lv[] = { "high", "medium", "low" };
	static const char *const want[3][3] = {
		{ "P1", "P2", "P3" },
		{ "P2", "P3", "P4" },
		{ "P3", "P4", "P4" },
	};
	for (int i = 0; i < 3; i++)
		for (int u = 0; u < 3; u++)
			assert_string_equal(tkt_priority(lv[i], lv[u]), want[i][u]);
	assert_null(tkt_priority("critical", "high"));
	assert_null(tkt_priority("high", NULL));
	assert_null(tkt_priority(NULL, "low"));
	assert_string_equal(tkt_default_severity("P1"), "critical");
	assert_string_equal(tkt_default_severity("P2"), "high");
	assert_string_equal(tkt_default_severity("P3"), "medium");
	assert_string_equal(tkt_default_severity("P4"), "low");
	assert_string_equal(tkt_default_severity(NULL), "medium");
}

static void test_two_person_rule(void **s)
{
	assert_int_equal(tkt_change_approvals_needed("high"), 2);
	assert_int_equal(tkt_change_approvals_needed("medium"), 1);
	assert_int_equal(tkt_change_approvals_needed("low"), 1);
	assert_int_equal(tkt_change_approvals_needed(NULL), 1);
}

static void test_kind_lookup(void **s)
{
	assert_ptr_equal(tkt_kind_of_id("INC-42"), tkt_kind(TKT_INCIDENT));
	assert_ptr_equal(tkt_kind_of_id("PRB-7"), tkt_kind(TKT_PROBLEM));
	assert_ptr_equal(tkt_kind_of_id("SR-19"), tkt_kind(TKT_REQUEST));
	assert_ptr_equal(tkt_kind_of_id("CHG-3"), tkt_kind(TKT_CHANGE));
	assert_null(tkt_kind_of_id("INC-"));
	assert_null(tkt_kind_of_id("INC42"));
	assert_null(tkt_kind_of_id("KB-1"));
	assert_null(tkt_kind_of_id(""));
	assert_ptr_equal(tkt_kind_by_collection("requests"), tkt_kind(TKT_REQUEST));
	assert_null(tkt_kind_by_collection("request"));
	assert_ptr_equal(tkt_kind_by_name("change"), tkt_kind(TKT_CHANGE));
	assert_null(tkt_kind(TKT_NKINDS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incident_machine), cmocka_unit_test(test_problem_machine),
		cmocka_unit_test(test_request_machine),  cmocka_unit_test(test_change_machine),
		cmocka_unit_test(test_unknown_status),   cmocka_unit_test(test_allowed_message),
		cmocka_unit_test(test_final_statuses),   cmocka_unit_test(test_priority_matrix),
		cmocka_unit_test(test_two_person_rule),  cmocka_unit_test(test_kind_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
