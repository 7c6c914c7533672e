#ifndef FW_TICKET_H
#define FW_TICKET_H
/* Ticket kinds, their state machines and the ITIL priority matrix. Pure: no I/O.
 *
 * Each kind has a table of transitions; a transition names the permission it needs (http/auth.h
 * PERM_*). Anything not in the table is refused with the list of allowed next statuses. */

#include <stdbool.h>
#include <stddef.h>

struct fw_error;

enum tkt_kind { TKT_INCIDENT, TKT_PROBLEM, TKT_REQUEST, TKT_CHANGE, TKT_NKINDS };

struct tkt_kind_info {
	enum tkt_kind kind;
	const char *name;       /* "incident" */
	const char *collection; /* "incidents": the API path segment */
	const char *prefix;     /* "INC" */
	const char *initial;    /* "new" */
	const char *const *statuses;
};

const struct tkt_kind_info *tkt_kind(enum tkt_kind k);
/* By collection ("incidents"), name ("incident") or id prefix ("INC-42"); NULL when unknown or NULL. */
const struct tkt_kind_info *tkt_kind_by_collection(const char *collection);
const struct tkt_kind_info *tkt_kind_by_name(const char *name);
const struct tkt_kind_info *tkt_kind_of_id(const char *id);

/* Checks status `to` is reachable from `from` for kind k with permissions perms. Returns 0, or
 * fills e: 409 invalid_transition naming the allowed statuses, or 403 when the transition exists
 * but needs a permission the caller lacks. */
int tkt_check_transition(enum tkt_kind k, const char *from, const char *to, unsigned perms, struct fw_error *e);
/* Writes the statuses reachable from `from` as "a, b" into out. */
void tkt_next_statuses(enum tkt_kind k, const char *from, char *out, size_t cap);
bool tkt_status_valid(enum tkt_kind k, const char *status);
/* True for statuses that end the ticket's life (closed, cancelled, …). */
bool tkt_status_final(enum tkt_kind k, const char *status);

extern const char *const tkt_levels[];     /* "high", "medium", "low" */
extern const char *const tkt_severities[]; /* "critical", "high", "medium", "low" */
extern const char *const tkt_sources[];    /* "customer", "monitoring", "api" */
extern const char *const tkt_risks[];      /* "low", "medium", "high" */

/* ITIL impact × urgency → "P1".."P4"; NULL for unknown levels. */
const char *tkt_priority(const char *impact, const char *urgency);
/* Default severity of a priority: P1 critical, P2 high, P3 medium, P4 low. */
const char *tkt_default_severity(const char *priority);
/* Approvals a change needs: 2 for high risk (two-person rule), otherwise 1. */
int tkt_change_approvals_needed(const char *risk);

#endif
