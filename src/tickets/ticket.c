#include "tickets/ticket.h"
#include "http/auth.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

struct edge {
	const char *from, *to;
	unsigned perm;
};

static const char *const inc_statuses[] = { "new", "acknowledged", "investigating", "resolved", "closed",
					    "reclassified", NULL };
static const char *const prb_statuses[] = { "open", "root_cause_identified", "known_error", "resolved", "closed", NULL };
static const char *const req_statuses[] = { "submitted", "approved", "partially_approved", "denied", "in_progress",
					    "fulfilled", "closed", "cancelled", NULL };
static const char *const chg_statuses[] = { "draft", "submitted", "in_review", "approved", "rejected", "scheduled",
					    "executing", "completed", "failed", "rolled_back", "cancelled", NULL };

static const struct edge inc_edges[] = {
	{ "new", "acknowledged", PERM_WORK },
	{ "new", "investigating", PERM_WORK },
	{ "new", "resolved", PERM_WORK },
	{ "acknowledged", "investigating", PERM_WORK },
	{ "acknowledged", "resolved", PERM_WORK },
	{ "investigating", "resolved", PERM_WORK },
	{ "resolved", "closed", PERM_WORK },
	{ "resolved", "investigating", PERM_SUBMIT }, /* reopen: the requester may say it is not fixed */
	{ NULL, NULL, 0 },
};
static const struct edge prb_edges[] = {
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
static const struct edge req_edges[] = {
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
static const struct edge chg_edges[] = {
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

static const struct tkt_kind_info kinds[TKT_NKINDS] = {
	{ TKT_INCIDENT, "incident", "incidents", "INC", "new", inc_statuses },
	{ TKT_PROBLEM, "problem", "problems", "PRB", "open", prb_statuses },
	{ TKT_REQUEST, "request", "requests", "SR", "submitted", req_statuses },
	{ TKT_CHANGE, "change", "changes", "CHG", "draft", chg_statuses },
};
static const struct edge *const edges[TKT_NKINDS] = { inc_edges, prb_edges, req_edges, chg_edges };

const char *const tkt_levels[] = { "high", "medium", "low", NULL };
const char *const tkt_severities[] = { "critical", "high", "medium", "low", NULL };
const char *const tkt_sources[] = { "customer", "monitoring", "api", NULL };
const char *const tkt_risks[] = { "low", "medium", "high", NULL };

const struct tkt_kind_info *tkt_kind(enum tkt_kind k)
{
	return (unsigned)k < TKT_NKINDS ? &kinds[k] : NULL;
}

const struct tkt_kind_info *tkt_kind_by_collection(const char *c)
{
	for (int i = 0; c && i < TKT_NKINDS; i++)
		if (strcmp(kinds[i].collection, c) == 0)
			return &kinds[i];
	return NULL;
}

const struct tkt_kind_info *tkt_kind_by_name(const char *n)
{
	for (int i = 0; n && i < TKT_NKINDS; i++)
		if (strcmp(kinds[i].name, n) == 0)
			return &kinds[i];
	return NULL;
}

const struct tkt_kind_info *tkt_kind_of_id(const char *id)
{
	for (int i = 0; id && i < TKT_NKINDS; i++) {
		size_t pl = strlen(kinds[i].prefix);
		if (strncmp(id, kinds[i].prefix, pl) == 0 && id[pl] == '-' && id[pl + 1])
			return &kinds[i];
	}
	return NULL;
}

bool tkt_status_valid(enum tkt_kind k, const char *status)
{
	for (const char *const *s = kinds[k].statuses; *s; s++)
		if (strcmp(*s, status) == 0)
			return true;
	return false;
}

bool tkt_status_final(enum tkt_kind k, const char *s)
{
	switch (k) {
	case TKT_INCIDENT: return !strcmp(s, "closed") || !strcmp(s, "reclassified");
	case TKT_PROBLEM: return !strcmp(s, "closed");
	case TKT_REQUEST: return !strcmp(s, "closed") || !strcmp(s, "cancelled");
	case TKT_CHANGE:
		return !strcmp(s, "completed") || !strcmp(s, "rolled_back") || !strcmp(s, "cancelled") ||
		       !strcmp(s, "rejected");
	default: return false;
	}
}

void tkt_next_statuses(enum tkt_kind k, const char *from, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (const struct edge *e = edges[k]; e->from; e++) {
		if (strcmp(e->from, from) != 0)
			continue;
		int w = snprintf(out + n, cap - n, "%s%s", n ? ", " : "", e->to);
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
	if (!n)
		snprintf(out, cap, "none (final status)");
}

int tkt_check_transition(enum tkt_kind k, const char *from, const char *to, unsigned perms, struct fw_error *e)
{
	char allowed[256];
	if (!tkt_status_valid(k, to)) {
		char all[400];
		size_t n = 0;
		all[0] = '\0';
		for (const char *const *s = kinds[k].statuses; *s; s++) {
			int w = snprintf(all + n, sizeof(all) - n, "%s%s", n ? ", " : "", *s);
			n += w > 0 ? (size_t)w : 0;
		}
		return fw_fail(e, 422, "invalid_field", "status '%.40s' is not a %s status; statuses: %s", to,
			       kinds[k].name, all);
	}
	for (const struct edge *ed = edges[k]; ed->from; ed++) {
		if (strcmp(ed->from, from) != 0 || strcmp(ed->to, to) != 0)
			continue;
		if ((perms & ed->perm) != ed->perm)
			return fw_fail(e, 403, "forbidden", "your role does not allow moving a %s from '%s' to '%s'",
				       kinds[k].name, from, to);
		return 0;
	}
	tkt_next_statuses(k, from, allowed, sizeof(allowed));
	return fw_fail(e, 409, "invalid_transition", "status '%s' is not reachable from '%s'; allowed: %s", to, from,
		       allowed);
}

static int level(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "high"))
		return 0;
	if (!strcmp(s, "medium"))
		return 1;
	if (!strcmp(s, "low"))
		return 2;
	return -1;
}

const char *tkt_priority(const char *impact, const char *urgency)
{
	/* rows: impact high/medium/low; columns: urgency high/medium/low */
	static const char *const m[3][3] = {
		{ "P1", "P2", "P3" },
		{ "P2", "P3", "P4" },
		{ "P3", "P4", "P4" },
	};
	int i = level(impact), u = level(urgency);
	return i < 0 || u < 0 ? NULL : m[i][u];
}

const char *tkt_default_severity(const char *p)
{
	if (!p)
		return "medium";
	switch (p[1]) {
	case '1': return "critical";
	case '2': return "high";
	case '3': return "medium";
	default: return "low";
	}
}

int tkt_change_approvals_needed(const char *risk)
{
	return risk && strcmp(risk, "high") == 0 ? 2 : 1;
}
